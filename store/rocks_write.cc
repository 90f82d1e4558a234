// The write path: one rocksdb::WriteBatch per Store::Write, with events appended in
// ascending (event time, seq) order and the per-device index and summaries written in
// chunks, together with the watermark that says which events they cover.
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <unordered_map>

#include "store/event_codec.h"
#include "store/record_codec.h"
#include "store/rocks_options.h"
#include "store/rocks_store.h"

namespace resyncwatch::store_format {
namespace {

// What identifies an imported event regardless of when it was imported.
uint64_t DedupHash(const Event& e, int occurrence) {
  std::string buf;
  PutFixed64(&buf, BiasTime(e.event_time_us));
  PutFixed64(&buf, e.mac);
  buf.push_back(static_cast<char>(e.kind));
  for (const std::string* s : {&e.host, &e.app, &e.identifier, &e.timestamp_text, &e.message}) {
    PutFixed32(&buf, static_cast<uint32_t>(s->size()));
    buf += *s;
  }
  PutFixed32(&buf, static_cast<uint32_t>(occurrence));
  return ContentHash(buf);
}

uint64_t RawDedupHash(const RawDatagram& r, int occurrence) {
  std::string buf = "raw";
  for (const std::string* s : {&r.source, &r.reason, &r.bytes}) {
    PutFixed32(&buf, static_cast<uint32_t>(s->size()));
    buf += *s;
  }
  PutFixed32(&buf, static_cast<uint32_t>(occurrence));
  return ContentHash(buf);
}

}  // namespace

Status RocksStore::ResumeIfNeeded() {
  if (!needs_resume_) return Status::Ok();
  // Resuming flushes the memtables; a flush that fails again during recovery makes the
  // error fatal, after which RocksDB refuses every later Resume. So resume only once the
  // disk has room for what that flush writes (file systems that cannot tell are tried).
  uint64_t free_bytes = 0;
  uint64_t memtables = 0;
  db_->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &memtables);
  const uint64_t needed = memtables + (uint64_t{4} << 20);
  if (db_->GetEnv()->GetFreeSpace(dir_, &free_bytes).ok() && free_bytes < needed) {
    return Status::IoError("store still failing after a write error: No space left on device (" +
                           std::to_string(free_bytes) + " bytes free, " + std::to_string(needed) +
                           " needed to resume)");
  }
  // A failed write (disk full) leaves RocksDB in a background-error state until resumed;
  // the in-memory writer state is rebuilt from what the store really holds.
  rocksdb::Status rs = db_->Resume();
  if (!rs.ok()) return Status::IoError("store still failing after a write error: " + rs.ToString());
  Status st = LoadWriterState();
  if (st.ok()) needs_resume_ = false;
  return st;
}

Status RocksStore::CommitBatch(rocksdb::WriteBatch* wb) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  rocksdb::Status s = db_->Write(wo, wb);
  if (!s.ok()) {
    needs_resume_ = true;
    return FromRocks(s, "writing to the store");
  }
  return Status::Ok();
}

void RocksStore::AppendIndexFlush(rocksdb::WriteBatch* wb) {
  // In key order: the chunks and summaries land in the memtable as ordered runs.
  std::sort(dirty_macs_.begin(), dirty_macs_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  constexpr size_t kAhead = 4;
  std::string value;
  for (size_t i = 0; i < dirty_macs_.size(); ++i) {
    if (i + kAhead < dirty_macs_.size()) {
      const DeviceState* ahead = dirty_macs_[i + kAhead].second;
      __builtin_prefetch(ahead);
      __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 64);
    }
    const DeviceState& state = *dirty_macs_[i].second;
    if (state.pending.empty()) continue;
    value.clear();
    EncodeIndexList(state.pending, &value);
    wb->Merge(cf(kCfDeviceIndex), MacKey(dirty_macs_[i].first), value);
  }
  for (size_t i = 0; i < dirty_macs_.size(); ++i) {
    if (i + kAhead < dirty_macs_.size()) {
      const char* ahead = reinterpret_cast<const char*>(dirty_macs_[i + kAhead].second);
      for (size_t line = 0; line < sizeof(DeviceState); line += 64)
        __builtin_prefetch(ahead + line);
    }
    value.clear();
    EncodeSummary(dirty_macs_[i].second->summary, &value);
    wb->Put(cf(kCfDevices), MacKey(dirty_macs_[i].first), value);
  }
  std::string mark;
  PutFixed64(&mark, next_seq_);
  wb->Put(cf(kCfDefault), kMetaIndexWatermark, mark);
  wb->Delete(cf(kCfDefault), kMetaTailStart);
}

Status RocksStore::FlushIndex() {
  Status resumed = ResumeIfNeeded();
  if (!resumed.ok()) return resumed;
  if (dirty_macs_.empty()) return Status::Ok();
  rocksdb::WriteBatch wb;
  AppendIndexFlush(&wb);
  Status st = CommitBatch(&wb);
  if (!st.ok()) return st;
  ForgetWrittenChunks();
  watermark_ = next_seq_;
  tail_start_.clear();
  last_index_flush_us_ = options_.clock->NowMicros();
  return Status::Ok();
}

void RocksStore::AppendJournal(const std::vector<Event*>& stored,
                               const std::vector<RawDatagram>& raw, uint64_t first, uint64_t end,
                               rocksdb::WriteBatch* wb) {
  int64_t ev_min = INT64_MAX, ev_max = INT64_MIN, raw_min = INT64_MAX, raw_max = INT64_MIN;
  for (const Event* e : stored) {
    ev_min = std::min(ev_min, e->event_time_us);
    ev_max = std::max(ev_max, e->event_time_us);
  }
  for (const RawDatagram& r : raw) {
    if (r.seq < first) continue;  // a duplicate skipped on import (seq 0)
    raw_min = std::min(raw_min, r.received_us);
    raw_max = std::max(raw_max, r.received_us);
  }
  AppendJournalEntry(wb, cf(kCfDefault), first, end, ev_min, ev_max, raw_min, raw_max);
}

Result<WriteResult> RocksStore::Write(WriteBatch& batch) {
  if (read_only()) return Status::Unsupported("a reader cannot write to the store");
  std::lock_guard lock(write_mu_);
  Status resumed = ResumeIfNeeded();
  if (!resumed.ok()) return resumed;
  WriteResult result;
  // Sized for the events up front (key, value and framing are ~150 bytes each): growing a
  // batch of ~150 KiB by doubling copies it about twice over.
  rocksdb::WriteBatch wb(batch.events.size() * 160 + batch.raw.size() * 320 + 256);
  const uint64_t first_seq = next_seq_;
  std::string tail_start = tail_start_;
  std::string value;
  std::unordered_map<uint64_t, int> seen_in_batch;
  // Imports only: claims a record's dedup key in this batch, false (and counted) when an
  // earlier import stored the same record. The n-th identical record in one file hashes
  // with n, so that a file's own repeated lines are all kept.
  auto first_import = [&](int64_t time_us, const auto& hash) -> Result<bool> {
    const uint64_t base = hash(0);
    const int occurrence = seen_in_batch[base]++;
    const std::string key = DedupKey(time_us, occurrence ? hash(occurrence) : base);
    std::string unused;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kCfDedup), key, &unused);
    if (s.ok()) {
      ++result.duplicates_skipped;
      return false;
    }
    if (!s.IsNotFound()) return FromRocks(s, "checking for duplicates");
    wb.Put(cf(kCfDedup), key, rocksdb::Slice());
    return true;
  };
  std::vector<Event*> stored;
  stored.reserve(batch.events.size());
  uint64_t seq = first_seq;
  // Which events name a serial number the store already maps to their MAC: looked up in a
  // tight loop first, so that the map's cache misses overlap (see the device states below).
  std::vector<uint8_t> serial_known(batch.events.size(), 0);
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const Event& e = batch.events[i];
    if (e.mac == 0 || e.sn.empty()) continue;
    auto it = serials_.find(e.sn);
    serial_known[i] = it != serials_.end() && it->second == e.mac;
  }
  bool serials_changed = false;  // then serial_known may be stale: look up again

  for (size_t i = 0; i < batch.events.size(); ++i) {
    Event& e = batch.events[i];
    if (batch.skip_duplicates) {
      Result<bool> first =
          first_import(e.event_time_us, [&e](int occurrence) { return DedupHash(e, occurrence); });
      if (!first.ok()) return first.status();
      if (!*first) continue;
    }
    e.seq = seq++;
    const TimeSeqKeyBuf key(e.event_time_us, e.seq);
    if (tail_start.empty() || key.view() < std::string_view(tail_start)) {
      tail_start.assign(key.view());
    }
    value.clear();
    EncodeEvent(e, &value);
    wb.Put(cf(kCfEvents), rocksdb::Slice(key.bytes, kTimeSeqKeySize), value);
    stored.push_back(&e);
    if (e.mac != 0 && !e.sn.empty() && (!serial_known[i] || serials_changed)) {
      auto it = serials_.find(e.sn);
      if (it == serials_.end() || it->second != e.mac) {
        wb.Put(cf(kCfSerials), e.sn, MacKey(e.mac));
        serials_[e.sn] = e.mac;  // provisional; rolled back with the state on failure
        serials_changed = true;
      }
    }
  }
  uint64_t raw_stored = 0;
  for (RawDatagram& r : batch.raw) {
    if (batch.skip_duplicates) {
      Result<bool> first =
          first_import(r.received_us, [&r](int occurrence) { return RawDedupHash(r, occurrence); });
      if (!first.ok()) return first.status();
      if (!*first) {
        r.seq = 0;
        continue;
      }
    }
    ++raw_stored;
    r.seq = seq++;
    value.clear();
    EncodeRaw(r, &value);
    wb.Put(cf(kCfRaw), TimeSeqKey(r.received_us, r.seq), value);
  }
  result.events_stored = stored.size();
  result.raw_stored = raw_stored;

  auto counters = batch.counter_deltas;
  if (result.events_stored) counters["stored_events"] += result.events_stored;
  if (result.raw_stored) counters["stored_raw"] += result.raw_stored;
  if (result.duplicates_skipped) counters["duplicates_skipped"] += result.duplicates_skipped;
  for (const auto& [name, delta] : counters) {
    if (delta != 0) wb.Merge(cf(kCfCounters), name, EncodeCounter(delta));
  }
  if (seq == first_seq && wb.Count() == 0) return result;

  // Apply the events to the in-memory index and summaries; on a failed commit the whole
  // writer state is reloaded from the store, so nothing provisional survives.
  Status st;
  // With 100,000 devices their states are cache misses scattered over the heap. Look them
  // all up first, in a tight loop whose independent misses overlap, then apply each event
  // with the states a few events ahead already on their way into the cache.
  std::vector<DeviceState*> states(stored.size(), nullptr);
  for (size_t i = 0; i < stored.size(); ++i) {
    auto it = devices_.find(stored[i]->mac);
    if (it != devices_.end()) states[i] = &it->second;
  }
  constexpr size_t kAhead = 4;
  for (size_t i = 0; i < stored.size(); ++i) {
    if (i + kAhead < stored.size() && states[i + kAhead]) {
      const char* p = reinterpret_cast<const char*>(states[i + kAhead]);
      for (size_t line = 0; line < sizeof(DeviceState); line += 64) __builtin_prefetch(p + line);
    }
    if (i + 1 < stored.size() && states[i + 1]) __builtin_prefetch(states[i + 1]->pending.data());
    st = ApplyToDevice(*stored[i], states[i]);
    if (!st.ok()) break;
  }
  next_seq_ = seq;
  if (options_.export_journal && seq != first_seq)
    AppendJournal(stored, batch.raw, first_seq, seq, &wb);
  std::string next;
  PutFixed64(&next, next_seq_);
  wb.Put(cf(kCfDefault), kMetaNextSeq, next);
  const int64_t now = options_.clock->NowMicros();
  // Each flush costs one merge and one put per dirty device: at low rates flush on the
  // interval (the tail stays tiny); at high rates let chunks grow to index_flush_events
  // (or 30 intervals) so that a flush covers many events per device.
  const int64_t since_flush = now - last_index_flush_us_;
  const bool flush_index = st.ok() && !dirty_macs_.empty() &&
                           (pending_count_ >= options_.index_flush_events ||
                            (since_flush >= options_.index_flush_interval_us &&
                             pending_count_ <= options_.index_flush_events / 20) ||
                            since_flush >= 30 * options_.index_flush_interval_us);
  if (flush_index) {
    AppendIndexFlush(&wb);
  } else if (tail_start != tail_start_ && !tail_start.empty()) {
    wb.Put(cf(kCfDefault), kMetaTailStart, tail_start);
  }
  if (st.ok()) st = CommitBatch(&wb);
  if (!st.ok()) {
    needs_resume_ = true;  // reloads the writer state before the next write
    for (Event* e : stored) e->seq = 0;
    return st;
  }
  if (flush_index) {
    ForgetWrittenChunks();
    watermark_ = next_seq_;
    tail_start_.clear();
    last_index_flush_us_ = now;
  } else {
    tail_start_ = tail_start;
  }
  return result;
}

Status RocksStore::AddCounters(const std::map<std::string, int64_t>& deltas) {
  if (read_only()) return Status::Unsupported("a reader cannot write to the store");
  std::lock_guard lock(write_mu_);
  Status resumed = ResumeIfNeeded();
  if (!resumed.ok()) return resumed;
  rocksdb::WriteBatch wb;
  for (const auto& [name, delta] : deltas) {
    if (delta != 0) wb.Merge(cf(kCfCounters), name, EncodeCounter(delta));
  }
  if (wb.Count() == 0) return Status::Ok();
  return CommitBatch(&wb);
}

Status RocksStore::PutAlert(const AlertRecord& alert) {
  if (read_only()) return Status::Unsupported("a reader cannot write to the store");
  std::lock_guard lock(write_mu_);
  Status resumed = ResumeIfNeeded();
  if (!resumed.ok()) return resumed;
  rocksdb::WriteBatch wb;
  std::string value;
  EncodeAlert(alert, &value);
  wb.Put(cf(kCfAlerts), AlertKey(alert.started_us, alert.id), value);
  return CommitBatch(&wb);
}

}  // namespace resyncwatch::store_format
