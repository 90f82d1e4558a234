#include "collector/writer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/thread_priority.h"

namespace resyncwatch {

StoreWriter::StoreWriter(Store* store, IngestQueue* queue, Counters* counters, const Clock* clock,
                         TemplateSet templates, StoreWriterOptions options)
    : store_(store),
      queue_(queue),
      counters_(counters),
      clock_(clock),
      options_(options),
      templates_(std::make_shared<const TemplateSet>(std::move(templates))) {}

StoreWriter::~StoreWriter() {
  if (thread_.joinable()) {
    queue_->Close();
    thread_.join();
  }
}

void StoreWriter::SetObservers(EventFn on_event, TickFn on_tick) {
  on_event_ = std::move(on_event);
  on_tick_ = std::move(on_tick);
}

void StoreWriter::SetDatagramObserver(DatagramFn on_datagram) {
  on_datagram_ = std::move(on_datagram);
}

void StoreWriter::SetTemplates(TemplateSet templates) {
  auto fresh = std::make_shared<const TemplateSet>(std::move(templates));
  std::lock_guard<std::mutex> lock(templates_mu_);
  templates_ = std::move(fresh);
}

void StoreWriter::Start() {
  attribution_.Seed(*store_);
  heartbeat_us_.store(clock_->NowMicros());
  last_tick_us_ = last_retention_us_ = clock_->NowMicros();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "rw-writer");
    // Under a burst the receiving thread must keep its core; this thread catches up
    // from the queue afterwards.
    LowerThisThreadPriority(kWriterNice);
    Run();
  });
}

void StoreWriter::Join() {
  if (thread_.joinable()) thread_.join();
}

void StoreWriter::Run() {
  std::vector<std::unique_ptr<Chunk>> chunks;
  bool open = true;
  while (open) {
    chunks.clear();
    open = queue_->PopAll(&chunks, 200, options_.batch_size, options_.linger_ms);
    std::shared_ptr<const TemplateSet> templates;
    {
      std::lock_guard<std::mutex> lock(templates_mu_);
      templates = templates_;
    }
    int64_t in_hand = 0;
    for (const auto& chunk : chunks) in_hand += static_cast<int64_t>(chunk->items.size());
    in_hand_.store(in_hand, std::memory_order_relaxed);
    for (const auto& chunk : chunks) {
      const size_t n = chunk->items.size();
      for (size_t k = 0; k < n; ++k) {
        constexpr size_t kAhead = 4;
        if (k + kAhead < n) attribution_.Prefetch(chunk->items[k + kAhead].peer);
        Process(*chunk, chunk->items[k], *templates);
        if (batch_datagrams_ >= options_.batch_size) Commit();
      }
      in_hand -= static_cast<int64_t>(chunk->items.size());
      // The gauge counts what waits in the queue and what this thread took but has not
      // written yet.
      in_hand_.store(in_hand, std::memory_order_relaxed);
      counters_->queue_depth.store(queue_->Depth() + in_hand, std::memory_order_relaxed);
      heartbeat_us_.store(clock_->NowMicros(), std::memory_order_relaxed);
    }
    if (batch_datagrams_ > 0) Commit();
    int64_t taken = 0;
    for (auto& chunk : chunks) {
      taken += static_cast<int64_t>(chunk->items.size());
      queue_->Recycle(std::move(chunk));
    }
    queue_->Release(taken);
    const int64_t now_us = clock_->NowMicros();
    heartbeat_us_.store(now_us, std::memory_order_relaxed);
    Periodic(now_us, false);
  }
  Periodic(clock_->NowMicros(), true);
}

const std::string& StoreWriter::SourceText(const PeerAddress& peer) {
  // Consecutive datagrams mostly come from the same sender (a phone's burst, a relay).
  if (!(peer == last_peer_) || last_source_.empty()) {
    last_peer_ = peer;
    peer.FormatTo(&last_source_);
  }
  return last_source_;
}

void StoreWriter::Process(const Chunk& chunk, const DatagramRef& d, const TemplateSet& templates) {
  std::string_view bytes = chunk.Bytes(d);
  if (on_datagram_) on_datagram_(d.peer, d.received_us);
  ParseContext ctx;
  ctx.reference_us = d.received_us;
  Parse(bytes, templates, ctx, &parsed_);
  ++batch_datagrams_;
  ++carried_.datagrams;
  carried_.bytes += d.length;
  carried_.truncated += d.truncated ? 1 : 0;
  if (parsed_.format == SyslogFormat::kRaw) {
    RawDatagram raw;
    raw.received_us = d.received_us;
    raw.source = SourceText(d.peer);
    raw.reason = std::string(parsed_.raw_reason);
    // The parser's raw body is the whole datagram with URL credentials and --key values
    // replaced by ***: secrets never reach the disk, everything else is kept byte for byte.
    raw.bytes = std::string(parsed_.message);
    batch_.raw.push_back(std::move(raw));
    return;
  }
  Event& event = NextEvent();
  EventFromParsed(parsed_, d.received_us, SourceText(d.peer), options_.use_message_time, &event);
  attribution_.Attribute(d.peer, &event, store_);
  ++batch_kinds_[static_cast<size_t>(event.kind) % kEventKindCount];
}

Event& StoreWriter::NextEvent() {
  if (events_used_ < batch_.events.size()) return batch_.events[events_used_++];
  ++events_used_;
  if (spare_events_.empty()) return batch_.events.emplace_back();
  Event& event = batch_.events.emplace_back(std::move(spare_events_.back()));
  spare_events_.pop_back();
  return event;
}

void StoreWriter::SpareUnusedEvents() {
  while (batch_.events.size() > events_used_) {
    spare_events_.push_back(std::move(batch_.events.back()));
    batch_.events.pop_back();
  }
}

Result<WriteResult> StoreWriter::WriteImported(WriteBatch& batch) {
  std::lock_guard<std::mutex> lock(write_mu_);
  return store_->Write(batch);
}

std::string StoreWriter::last_store_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

void StoreWriter::Commit() {
  for (int k = 0; k < kEventKindCount; ++k) {
    counters_->Add(EventCounter(static_cast<EventKind>(k)), batch_kinds_[k]);
  }
  batch_.counter_deltas = counters_->TakeDeltas(carried_);
  if (batch_datagrams_ == 0 && batch_.counter_deltas.empty()) return;
  SpareUnusedEvents();
  if (WriteWithRetry()) {
    carried_ = {};
  } else {
    // Given up at shutdown: the datagrams are lost and counted as such; the counters go
    // with the next write (the carried datagrams with their store_errors).
    counters_->Rewind();
    for (int k = 0; k < kEventKindCount; ++k) {
      counters_->Add(EventCounter(static_cast<EventKind>(k)), -batch_kinds_[k]);
    }
    counters_->Add(Counter::kStoreErrors, batch_datagrams_);
  }
  // The written Events stay, for the next batch to overwrite in place.
  events_used_ = 0;
  batch_.raw.clear();
  batch_.counter_deltas.clear();
  batch_kinds_.fill(0);
  batch_datagrams_ = 0;
}

bool StoreWriter::WriteWithRetry() {
  int backoff_ms = options_.retry_min_ms;
  for (;;) {
    const int64_t start_us = clock_->NowMicros();
    Result<WriteResult> result = [&] {
      std::lock_guard<std::mutex> lock(write_mu_);
      return store_->Write(batch_);
    }();
    const int64_t end_us = clock_->NowMicros();
    counters_->ObserveWriteLatency(end_us - start_us);
    heartbeat_us_.store(end_us, std::memory_order_relaxed);
    if (result.ok()) {
      counters_->Add(Counter::kStoredEvents, static_cast<int64_t>(result->events_stored));
      counters_->Add(Counter::kStoredRaw, static_cast<int64_t>(result->raw_stored));
      if (failing_since_us_.exchange(0, std::memory_order_relaxed) != 0) {
        spdlog::info("store writes succeed again; the {} datagrams held meanwhile are stored",
                     batch_datagrams_ + queue_->Depth());
      }
      if (on_event_) on_event_(batch_.events);
      if (take_batch_) take_batch_(&batch_.events);
      return true;
    }
    OnWriteFailed(result.status(), end_us);
    if (queue_->closed()) {
      // Shutting down: one retry budget for all that is left (a wall-clock bound on how
      // long the stop may take, not part of the collector's logic, hence steady_clock).
      const auto now = std::chrono::steady_clock::now();
      if (!shutdown_retry_started_) {
        shutdown_retry_started_ = true;
        shutdown_retry_since_ = now;
      }
      if (now - shutdown_retry_since_ >= std::chrono::microseconds(options_.shutdown_retry_us)) {
        return false;
      }
    }
    queue_->WaitClosed(backoff_ms);
    backoff_ms = std::min(backoff_ms * 2, options_.retry_max_ms);
  }
}

void StoreWriter::OnWriteFailed(const Status& status, int64_t now_us) {
  int64_t expected = 0;
  failing_since_us_.compare_exchange_strong(expected, now_us, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = status.ToString();
  }
  int64_t suppressed = 0;
  if (error_log_.Allow(now_us, &suppressed)) {
    spdlog::error(
        "store write failed, retrying with back-off; {} datagrams in hand, {} waiting in the "
        "queue (new ones are dropped once --queue-size is reached; {} failed writes not "
        "logged in the last minute): {}",
        batch_datagrams_, queue_->Depth(), suppressed, status.ToString());
  }
}

void StoreWriter::Periodic(int64_t now_us, bool force_counters) {
  if (now_us - last_tick_us_ >= options_.tick_interval_us || force_counters) {
    last_tick_us_ = now_us;
    if (on_tick_) on_tick_(now_us);
    // Counters that moved without a datagram to carry them (kernel drops, TCP
    // connections, store errors) are persisted with an empty batch.
    Commit();
  }
  if (options_.retention_us > 0 && now_us - last_retention_us_ >= options_.retention_interval_us) {
    last_retention_us_ = now_us;
    std::unique_lock<std::mutex> lock(write_mu_);
    Status s = store_->ApplyRetention();
    lock.unlock();
    if (!s.ok()) {
      spdlog::error("retention failed (will retry in {} s): {}",
                    options_.retention_interval_us / 1'000'000, s.ToString());
    }
  }
}

}  // namespace resyncwatch
