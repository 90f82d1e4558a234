// StoreWriter: the writer thread. Takes chunks from the IngestQueue, parses each datagram,
// attributes it to a device, and stores events and raw datagrams in batches through
// Store::Write together with the counter deltas (one atomic write). A failed write (a full
// disk) is not dropped: the batch is retried with back-off (10 ms doubling to 1 s) until
// the store takes it, while new datagrams wait in the bounded queue (beyond its bound they
// are dropped and counted as queue_drops). Only at shutdown, after retrying for
// shutdown_retry_us in all, are the remaining batches given up and counted as
// store_errors. Failures are logged
// at most once a minute. Start/Stop from one thread; SetTemplates and the accessors from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "collector/attribution.h"
#include "collector/counters.h"
#include "collector/ingest_queue.h"
#include "common/clock.h"
#include "parsers/parsers.h"
#include "store/store.h"

namespace resyncwatch {

struct StoreWriterOptions {
  int64_t batch_size = 512;
  bool use_message_time = false;
  int64_t retention_us = 0;  // 0: never apply retention
  int64_t retention_interval_us = 3600LL * 1'000'000;
  int64_t tick_interval_us = 1'000'000;
  // A trickle waits up to this long to fill a batch (fewer writes and wake-ups). Bounds
  // what a SIGKILL can lose: datagrams sit un-stored for about this long plus one write.
  // 5 rather than 2: at 100,000 datagrams/s, batches of ~500 instead of ~200 cost the
  // writer about 6% less CPU per message (docs/performance.md, round of 8 Dec).
  int linger_ms = 5;
  // Back-off between retries of a failed store write.
  int retry_min_ms = 10;
  int retry_max_ms = 1000;
  // After the queue was closed (shutdown), how long a failing batch is still retried.
  int64_t shutdown_retry_us = 10'000'000;
};

class StoreWriter {
 public:
  // Called on the writer thread with each batch of stored events, and about once a second.
  using EventFn = std::function<void(std::span<const Event>)>;
  using TickFn = std::function<void(int64_t now_us)>;
  // Called on the writer thread with every datagram taken from the queue, parsed or not.
  using DatagramFn = std::function<void(const PeerAddress& peer, int64_t received_us)>;
  // Called on the writer thread after EventFn with the stored batch's Events: it may swap
  // them for other Events (even none), whose buffers the writer then refills, so that a
  // consumer takes a batch without copying it.
  using BatchTakerFn = std::function<void(std::vector<Event>* events)>;

  StoreWriter(Store* store, IngestQueue* queue, Counters* counters, const Clock* clock,
              TemplateSet templates, StoreWriterOptions options);
  ~StoreWriter();

  // REQUIRES: before Start.
  void SetObservers(EventFn on_event, TickFn on_tick);
  // REQUIRES: before Start.
  void SetDatagramObserver(DatagramFn on_datagram);
  // REQUIRES: before Start.
  void SetBatchTaker(BatchTakerFn take_batch) { take_batch_ = std::move(take_batch); }
  void SetTemplates(TemplateSet templates);
  // Thread-safe: writes a batch that did not come through the queue (an import through
  // the query socket) between the writer's own batches, and returns what the store did.
  // No retry: the caller (the importing client) sees the error and can run again.
  Result<WriteResult> WriteImported(WriteBatch& batch);

  void Start();
  // Returns after the queue was closed and everything in it was written (or counted as a
  // store error), with the counters persisted.
  void Join();
  // Last time the thread was alive (for the systemd watchdog), microseconds.
  int64_t heartbeat_us() const { return heartbeat_us_.load(std::memory_order_relaxed); }
  // Datagrams taken from the queue and not yet written.
  int64_t in_hand() const { return in_hand_.load(std::memory_order_relaxed); }
  // Since when store writes fail (clock microseconds; 0 while they succeed), and the
  // latest failure's text.
  int64_t store_failing_since_us() const {
    return failing_since_us_.load(std::memory_order_relaxed);
  }
  std::string last_store_error() const;

 private:
  void Run();
  void Process(const Chunk& chunk, const DatagramRef& d, const TemplateSet& templates);
  void Commit();
  // Writes batch_ until the store takes it; false when it was given up (shutdown).
  bool WriteWithRetry();
  void OnWriteFailed(const Status& status, int64_t now_us);
  Event& NextEvent();
  const std::string& SourceText(const PeerAddress& peer);
  void Periodic(int64_t now_us, bool force_counters);

  Store* store_;
  IngestQueue* queue_;
  Counters* counters_;
  const Clock* clock_;
  StoreWriterOptions options_;
  EventFn on_event_;
  TickFn on_tick_;
  DatagramFn on_datagram_;
  BatchTakerFn take_batch_;

  // Store::Write takes one caller at a time: the writer thread and WriteImported.
  std::mutex write_mu_;
  std::mutex templates_mu_;
  std::shared_ptr<const TemplateSet> templates_;

  DeviceAttribution attribution_;
  PeerAddress last_peer_;
  std::string last_source_;
  ParsedMessage parsed_;
  // batch_.events keeps the previous batch's Events between batches: the next batch
  // overwrites them in place (their strings keep their buffers), the first events_used_
  // of them being its own. Before a write the rest go to spare_events_, from which a
  // longer batch takes them back.
  WriteBatch batch_;
  size_t events_used_ = 0;
  std::vector<Event> spare_events_;
  // Moves the Events past events_used_ to spare_events_: batch_.events is then the batch.
  void SpareUnusedEvents();
  std::array<int64_t, kEventKindCount> batch_kinds_{};
  int64_t batch_datagrams_ = 0;
  int64_t last_tick_us_ = 0;
  int64_t last_retention_us_ = 0;
  Counters::Carried carried_;  // what batch_ holds, persisted with it
  RateLimiter error_log_{60'000'000};
  std::atomic<int64_t> failing_since_us_{0};
  bool shutdown_retry_started_ = false;
  std::chrono::steady_clock::time_point shutdown_retry_since_;
  mutable std::mutex error_mu_;
  std::string last_error_;

  std::atomic<int64_t> heartbeat_us_{0};
  std::atomic<int64_t> in_hand_{0};
  std::thread thread_;
};

}  // namespace resyncwatch
