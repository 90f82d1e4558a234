#include "collector/receive_sink.h"

#include <spdlog/spdlog.h>

namespace resyncwatch {

ReceiveSink::ReceiveSink(IngestQueue* queue, Counters* counters, const Clock* clock)
    : queue_(queue), counters_(counters), clock_(clock), chunk_(std::make_unique<Chunk>()) {}

void ReceiveSink::Accept(std::string_view data, const PeerAddress& peer, bool truncated) {
  Accept(data, peer, truncated, clock_->NowMicros());
}

void ReceiveSink::Accept(std::string_view data, const PeerAddress& peer, bool truncated,
                         int64_t received_us) {
  if (allow_ != nullptr && !allow_->Allows(peer)) {
    counters_->Add(Counter::kDeniedDatagrams);
    int64_t suppressed = 0;
    if (denied_log_.Allow(received_us, &suppressed)) {
      spdlog::warn(
          "datagram from {} dropped: not in --allow, counted as denied_datagrams ({} more not "
          "logged in the last 10 s)",
          peer.ToString(), suppressed);
    }
    return;
  }
  counters_->Add(Counter::kReceivedDatagrams);
  new_networks_.Observe(peer, data.size());
  if (!queue_->HasRoom(static_cast<int64_t>(chunk_->items.size()))) {
    counters_->Add(Counter::kQueueDrops);
    counters_->last_queue_drop_us.store(received_us, std::memory_order_relaxed);
    int64_t suppressed = 0;
    if (drop_log_.Allow(received_us, &suppressed)) {
      spdlog::warn(
          "writer queue full ({} datagrams held for the store, --queue-size): dropping "
          "datagrams, {} dropped so far ({} more since the last warning)",
          queue_->capacity(), counters_->Get(Counter::kQueueDrops), suppressed);
    }
    return;
  }
  // Bytes and truncations count what is queued: the writer persists them with the batch
  // that stores these datagrams (Counters::TakeDeltas).
  counters_->Add(Counter::kReceivedBytes, static_cast<int64_t>(data.size()));
  if (truncated) counters_->Add(Counter::kTruncated);
  chunk_->Append(data, received_us, peer, truncated);
  if (chunk_->items.size() >= kChunkDatagrams) Flush();
}

void ReceiveSink::Flush() {
  if (chunk_->items.empty()) return;
  queue_->Push(std::move(chunk_));
  chunk_ = queue_->TakeFree();
  chunk_->bytes.reserve(kChunkDatagrams * 192);
  chunk_->items.reserve(kChunkDatagrams);
}

}  // namespace resyncwatch
