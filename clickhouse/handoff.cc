#include "clickhouse/handoff.h"

namespace resyncwatch::clickhouse {

std::unique_ptr<Handoff::Chunk> Handoff::FreeChunk() {
  if (free_.empty()) return std::make_unique<Chunk>();
  std::unique_ptr<Chunk> chunk = std::move(free_.back());
  free_.pop_back();
  return chunk;
}

void Handoff::Recycle(std::unique_ptr<Chunk> chunk) {
  queued_bytes_ -= chunk->bytes();
  // Keep buffers for at most max_bytes in all: the memory stays bounded whatever the
  // sizes of the writes were.
  if (allocated_bytes_ > max_bytes_) {
    allocated_bytes_ -= chunk->capacity();
    return;
  }
  free_.push_back(std::move(chunk));
}

void Handoff::Stored(uint64_t first_seq, uint64_t end_seq, std::span<const Event* const> events,
                     std::span<const RawDatagram* const> raw) {
  // Never wait for the exporter: what is not kept now is read from the store later.
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || queued_bytes_ >= max_bytes_) {
    passed_records_ += events.size() + raw.size();
    return;
  }
  std::unique_ptr<Chunk> chunk = FreeChunk();
  const size_t capacity = chunk->capacity();
  chunk->first = first_seq;
  chunk->end = end_seq;
  chunk->events.clear();
  chunk->raw.clear();
  for (const Event* e : events) AppendEventRow(origin_columns_, *e, &chunk->events);
  for (const RawDatagram* r : raw) AppendRawRow(origin_columns_, *r, &chunk->raw);
  chunk->n_events = events.size();
  chunk->n_raw = raw.size();
  allocated_bytes_ += chunk->capacity() - capacity;
  queued_bytes_ += chunk->bytes();
  kept_records_ += chunk->records();
  queue_.push_back(std::move(chunk));
}

void Handoff::JournalTrimmed() {
  // The trimmed entries' records must not be sent from here: forget every chunk not being
  // sent (the store path exports whatever the journal still lists).
  std::lock_guard lock(mu_);
  while (queue_.size() > taken_) {
    std::unique_ptr<Chunk> chunk = std::move(queue_.back());
    queue_.pop_back();
    Recycle(std::move(chunk));
  }
}

void Handoff::Take(uint64_t seq, size_t max_records, std::vector<const Chunk*>* out) {
  out->clear();
  std::lock_guard lock(mu_);
  taken_ = 0;
  while (!queue_.empty() && queue_.front()->end <= seq) {
    std::unique_ptr<Chunk> chunk = std::move(queue_.front());
    queue_.pop_front();
    Recycle(std::move(chunk));
  }
  size_t records = 0;
  uint64_t next = seq;
  for (const std::unique_ptr<Chunk>& chunk : queue_) {
    if (chunk->first != next) break;
    if (!out->empty() && records + chunk->records() > max_records) break;
    out->push_back(chunk.get());
    records += chunk->records();
    next = chunk->end;
  }
  taken_ = out->size();
}

void Handoff::Release(size_t n) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < n && !queue_.empty(); ++i) {
    std::unique_ptr<Chunk> chunk = std::move(queue_.front());
    queue_.pop_front();
    Recycle(std::move(chunk));
  }
  taken_ = 0;
}

}  // namespace resyncwatch::clickhouse
