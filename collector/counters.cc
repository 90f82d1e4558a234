#include "collector/counters.h"

#include <spdlog/fmt/fmt.h>

namespace resyncwatch {
namespace {

std::string HumanBytes(int64_t b) {
  if (b < 1024) return fmt::format("{} B", b);
  if (b < (1 << 20)) return fmt::format("{:.1f} KiB", b / 1024.0);
  if (b < (1LL << 30)) return fmt::format("{:.1f} MiB", b / 1048576.0);
  return fmt::format("{:.2f} GiB", b / 1073741824.0);
}

}  // namespace

Counter EventCounter(EventKind kind) {
  int k = static_cast<int>(kind);
  if (k < 0 || k >= kEventKindCount) k = 0;
  return static_cast<Counter>(static_cast<int>(Counter::kEventsUnknown) + k);
}

void Counters::ObserveWriteLatency(int64_t micros) {
  double seconds = micros / 1e6;
  size_t i = 0;
  while (i < kLatencyBucketsSeconds.size() && seconds > kLatencyBucketsSeconds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(static_cast<uint64_t>(micros < 0 ? 0 : micros),
                            std::memory_order_relaxed);
}

Counters::Histogram Counters::WriteLatency() const {
  Histogram h;
  uint64_t running = 0;
  for (size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    h.cumulative[i] = running;
  }
  h.count = running + buckets_.back().load(std::memory_order_relaxed);
  h.sum_seconds = latency_sum_us_.load(std::memory_order_relaxed) / 1e6;
  return h;
}

std::map<std::string, int64_t> Counters::TakeDeltas(const Carried& carried) {
  std::map<std::string, int64_t> out;
  previous_ = persisted_;
  int64_t queue_drops = 0;
  for (int i = 0; i < kCounterCount; ++i) {
    Counter c = static_cast<Counter>(i);
    if (Info(c).counted_by != CountedBy::kCollector || c == Counter::kReceivedDatagrams ||
        c == Counter::kReceivedBytes || c == Counter::kTruncated) {
      continue;
    }
    int64_t now = values_[i].load(std::memory_order_relaxed);
    if (now != persisted_[i]) out.emplace(std::string(CounterName(c)), now - persisted_[i]);
    if (c == Counter::kQueueDrops) queue_drops = now - persisted_[i];
    persisted_[i] = now;
  }
  auto put = [&](Counter c, int64_t delta) {
    if (delta != 0) out.emplace(std::string(CounterName(c)), delta);
  };
  put(Counter::kReceivedDatagrams, carried.datagrams + queue_drops);
  put(Counter::kReceivedBytes, carried.bytes);
  put(Counter::kTruncated, carried.truncated);
  return out;
}

void Counters::Rewind() { persisted_ = previous_; }

std::string Counters::Summary() const {
  return fmt::format(
      "received {} datagrams ({}), stored {} events + {} raw; drops: kernel {}, queue {}; "
      "store errors {}; truncated {}; tcp oversize {}, evicted {}, idle timeouts {}, framing "
      "errors {}; denied {} datagrams, {} connections; queue depth {}",
      Get(Counter::kReceivedDatagrams), HumanBytes(Get(Counter::kReceivedBytes)),
      Get(Counter::kStoredEvents), Get(Counter::kStoredRaw), Get(Counter::kKernelDrops),
      Get(Counter::kQueueDrops), Get(Counter::kStoreErrors), Get(Counter::kTruncated),
      Get(Counter::kTcpOversize), Get(Counter::kTcpEvicted), Get(Counter::kTcpIdleTimeouts),
      Get(Counter::kTcpFramingErrors), Get(Counter::kDeniedDatagrams),
      Get(Counter::kDeniedConnections), queue_depth.load(std::memory_order_relaxed));
}

bool RateLimiter::Allow(int64_t now_us, int64_t* suppressed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (now_us - last_us_ >= interval_us_) {
    *suppressed = suppressed_;
    suppressed_ = 0;
    last_us_ = now_us;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace resyncwatch
