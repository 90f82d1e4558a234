// The records a collector's writer just stored, handed to the exporter in memory as the
// TabSeparated rows of their INSERTs (internal to clickhouse/), so that in the steady
// state the exporter sends them without reading them back from the store, decoding and
// encoding them. The store stays the truth: the handoff holds at most about max_bytes of
// rows, and a Write it cannot take at once (the bound is reached, or the exporter holds
// the lock that instant) is simply not kept; the exporter then finds a gap before its next
// chunk and reads the store up to there, as it does for the backlog after an outage or a
// restart.
//
// Ownership: the chunks belong to the Handoff (recycled, so that their buffers keep their
// capacity). Thread safety: Stored and JournalTrimmed are called by the store's writer,
// the rest by the one export thread; the writer only try-locks the mutex, and the export
// thread holds it only to move chunk pointers.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "clickhouse/rows.h"
#include "store/store.h"

namespace resyncwatch::clickhouse {

class Handoff final : public ExportTap {
 public:
  // One Write's records: seqs [first, end), as n_events rows of `events` and n_raw of `raw`.
  struct Chunk {
    uint64_t first = 0, end = 0;
    RowBuffer events, raw;
    size_t n_events = 0, n_raw = 0;
    size_t records() const { return n_events + n_raw; }
    size_t bytes() const { return events.size() + raw.size(); }
    size_t capacity() const { return events.capacity() + raw.capacity(); }
  };

  // origin_columns: the rows' first columns (OriginColumns).
  Handoff(std::string origin_columns, size_t max_bytes)
      : origin_columns_(std::move(origin_columns)), max_bytes_(max_bytes) {}

  // The writer's side (ExportTap).
  void Stored(uint64_t first_seq, uint64_t end_seq, std::span<const Event* const> events,
              std::span<const RawDatagram* const> raw) override;
  void JournalTrimmed() override;

  // The exporter's side. Forgets the chunks that end at or before seq (the store path sent
  // them), then sets *out to the chunks that continue seq without a gap, in seq order,
  // with at most max_records records in all but at least one chunk; *out is empty when the
  // next chunk does not start at seq (it was not kept, or none is there yet). The chunks
  // stay the handoff's, unchanged, until Release.
  void Take(uint64_t seq, size_t max_records, std::vector<const Chunk*>* out);
  // The first n chunks Take gave were sent and acknowledged: recycles them.
  void Release(size_t n);

  uint64_t kept_records() const { return kept_records_.load(); }      // handed over
  uint64_t passed_records() const { return passed_records_.load(); }  // left to the store

 private:
  // REQUIRES: mu_ held.
  std::unique_ptr<Chunk> FreeChunk();
  void Recycle(std::unique_ptr<Chunk> chunk);  // out of the queue: kept for reuse or freed

  const std::string origin_columns_;
  const size_t max_bytes_;
  std::mutex mu_;
  std::deque<std::unique_ptr<Chunk>> queue_;  // seq order; the first taken_ are being sent
  std::vector<std::unique_ptr<Chunk>> free_;
  size_t queued_bytes_ = 0;     // rows in the queue
  size_t allocated_bytes_ = 0;  // buffer capacity held, queued or free
  size_t taken_ = 0;
  std::atomic<uint64_t> kept_records_{0}, passed_records_{0};
};

}  // namespace resyncwatch::clickhouse
