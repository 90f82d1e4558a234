// Collector counters: every datagram, byte, truncation, drop and error counted under a
// fixed, low-cardinality name (common/counter_names.h; docs/collector.md lists them). Lock-free
// atomics: any thread may add; the writer persists the deltas with each store batch.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/counter_names.h"
#include "parsers/parsers.h"

namespace resyncwatch {

// The counter of events of this kind (names and help: common/counter_names.h).
Counter EventCounter(EventKind kind);

// Store write latency in fixed buckets (seconds), for the Prometheus histogram.
constexpr std::array<double, 12> kLatencyBucketsSeconds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

class Counters {
 public:
  void Add(Counter c, int64_t n = 1) {
    values_[static_cast<int>(c)].fetch_add(n, std::memory_order_relaxed);
  }
  void Set(Counter c, int64_t v) {
    values_[static_cast<int>(c)].store(v, std::memory_order_relaxed);
  }
  int64_t Get(Counter c) const {
    return values_[static_cast<int>(c)].load(std::memory_order_relaxed);
  }

  // Current queue depth (datagrams waiting for the writer), a gauge.
  std::atomic<int64_t> queue_depth{0};
  // When a datagram was last dropped for a full queue (clock microseconds; 0 = never).
  std::atomic<int64_t> last_queue_drop_us{0};

  void ObserveWriteLatency(int64_t micros);
  struct Histogram {
    std::array<uint64_t, kLatencyBucketsSeconds.size()> cumulative{};
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  Histogram WriteLatency() const;

  // What one store batch carries: its datagrams, their bytes and how many were truncated.
  struct Carried {
    int64_t datagrams = 0;
    int64_t bytes = 0;
    int64_t truncated = 0;
  };
  // The counter increments to persist with a store batch that carries `carried`. So that
  // the persisted counters add up exactly after any crash (received_datagrams =
  // stored_events + stored_raw + queue_drops + store_errors), received_datagrams,
  // received_bytes and truncated are not taken from the live values (which count datagrams
  // still in the queue) but from what the batch carries, plus the queue drops persisted in
  // the same batch; every other counter (but CountedByStore) is its increment since the
  // previous call. REQUIRES: one caller (the writer); Rewind() undoes the last call when
  // the store write that carried the deltas failed for good.
  std::map<std::string, int64_t> TakeDeltas(const Carried& carried);
  void Rewind();

  // One line: "received 120 datagrams (14.2 KiB), stored 118 events + 2 raw, ...".
  std::string Summary() const;

 private:
  std::array<std::atomic<int64_t>, kCounterCount> values_{};
  std::array<int64_t, kCounterCount> persisted_{};
  std::array<int64_t, kCounterCount> previous_{};
  std::array<std::atomic<uint64_t>, kLatencyBucketsSeconds.size() + 1> buckets_{};
  std::atomic<uint64_t> latency_sum_us_{0};
};

// An error log that speaks at most once per interval and tells how much it kept quiet.
class RateLimiter {
 public:
  explicit RateLimiter(int64_t interval_us) : interval_us_(interval_us) {}
  // True when the caller should log now; *suppressed is how many were skipped since.
  bool Allow(int64_t now_us, int64_t* suppressed);

 private:
  std::mutex mu_;
  int64_t interval_us_;
  int64_t last_us_ = INT64_MIN / 2;
  int64_t suppressed_ = 0;
};

}  // namespace resyncwatch
