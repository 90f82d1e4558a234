// The write path: one rocksdb::WriteBatch per Store::Write, with events appended in
// ascending (event time, seq) order and the per-device index and summaries written in
// chunks, together with the watermark that says which events they cover.
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "common/counter_names.h"
#include "common/prefetch.h"
#include "common/time_format.h"
#include "store/event_codec.h"
#include "store/record_codec.h"
#include "store/rocks_options.h"
#include "store/rocks_store.h"

namespace resyncwatch::store_format {
namespace {

// What identifies an imported event regardless of when it was imported (the seq, the
// source and the parsed fields are not part of it: they follow from these).
uint64_t DedupHash(const Event& e) {
  std::string buf;
  PutFixed64(&buf, BiasTime(e.event_time_us));
  PutFixed64(&buf, e.mac);
  buf.push_back(static_cast<char>(e.kind));
  for (const std::string* s : {&e.host, &e.app, &e.identifier, &e.timestamp_text, &e.message}) {
    PutFixed32(&buf, static_cast<uint32_t>(s->size()));
    buf += *s;
  }
  return ContentHash(buf);
}

// Not the source: an archive renamed by log rotation is the same archive.
uint64_t RawDedupHash(const RawDatagram& r) {
  std::string buf = "raw";
  for (const std::string* s : {&r.reason, &r.bytes}) {
    PutFixed32(&buf, static_cast<uint32_t>(s->size()));
    buf += *s;
  }
  return ContentHash(buf);
}

// What a record's key holds, which its decoding requires.
void SetFromKey(const TimeSeq& key, Event* e) {
  e->event_time_us = key.time_us;
  e->seq = key.seq;
}
void SetFromKey(const TimeSeq& key, RawDatagram* r) {
  r->received_us = key.time_us;
  r->seq = key.seq;
}

// The time of the newest record in `it`'s column family (INT64_MIN when it holds none).
Result<int64_t> NewestTime(rocksdb::Iterator* it) {
  it->SeekToLast();
  if (!it->Valid()) {
    if (!it->status().ok()) return FromRocks(it->status(), "checking for duplicates");
    return INT64_MIN;
  }
  std::optional<TimeSeq> key = ParseTimeSeqKey(it->key().ToStringView());
  if (!key) return Status::Corruption("checking for duplicates: a malformed record key");
  return key->time_us;
}

// Calls add with the content hash of each record stored in `it`'s column family at exactly
// time_us.
template <typename Record, typename Decode, typename Hash>
Status LoadStoredAt(rocksdb::Iterator* it, int64_t time_us, const Decode& decode,
                    const Hash& hash_of, const std::function<void(uint64_t)>& add) {
  Record record;
  std::vector<std::string_view> split;
  for (it->Seek(TimeBoundKey(time_us)); it->Valid(); it->Next()) {
    std::optional<TimeSeq> key = ParseTimeSeqKey(it->key().ToStringView());
    if (!key || key->time_us != time_us) break;
    // Raw datagrams have a record each; events may share one (store/event_record.h).
    Status st = Status::Ok();
    if constexpr (std::is_same_v<Record, Event>) {
      st = SplitEventRecord(it->value().ToStringView(), &split);
    } else {
      split.assign(1, it->value().ToStringView());
    }
    for (size_t i = 0; st.ok() && i < split.size(); ++i) {
      SetFromKey(TimeSeq{key->time_us, key->seq + i}, &record);
      st = decode(split[i], &record);
      if (st.ok()) add(hash_of(record));
    }
    if (!st.ok()) {
      return Status::Corruption("checking for duplicates at " + FormatIso8601Utc(time_us) + ": " +
                                st.message());
    }
  }
  return FromRocks(it->status(), "checking for duplicates at " + FormatIso8601Utc(time_us));
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

void RocksStore::AppendIndexFlush(rocksdb::WriteBatch* wb, uint64_t watermark) {
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
    EncodeIndexList(state.pending, &value);  // copied: kept until the batch commits
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
  PutFixed64(&mark, watermark);
  wb->Put(cf(kCfDefault), kMetaIndexWatermark, mark);
  wb->Delete(cf(kCfDefault), kMetaTailStart);
}

void RocksStore::IndexFlushed(int64_t now_us) {
  ForgetWrittenChunks();
  watermark_ = next_seq_;
  tail_start_.clear();
  last_index_flush_us_ = now_us;
}

Status RocksStore::FlushIndex() {
  Status resumed = ResumeIfNeeded();
  if (!resumed.ok()) return resumed;
  if (dirty_macs_.empty()) return Status::Ok();
  rocksdb::WriteBatch wb;
  AppendIndexFlush(&wb, next_seq_);
  Status st = CommitBatch(&wb);
  if (!st.ok()) return st;
  IndexFlushed(options_.clock->NowMicros());
  return Status::Ok();
}

// What one Write has staged and not yet committed. Until CommitWrite succeeds, the only
// writer state it changed is the device states (devices_applied), which AbandonWrite
// rebuilds from the store; the serial numbers it maps reach serials_ only on commit.
struct RocksStore::StagedWrite {
  explicit StagedWrite(rocksdb::WriteBatch& batch) : wb(batch) { wb.Clear(); }
  rocksdb::WriteBatch& wb;  // the store's, reused: its buffer keeps its capacity
  WriteResult result;
  uint64_t first_seq = 0;
  uint64_t next_seq = 0;
  std::string tail_start;         // lowest event key at or above the watermark
  std::vector<Event*> events;     // stored, in batch order, seq assigned
  std::vector<RawDatagram*> raw;  // stored, seq assigned
  // Import dedup, per kind of record: a reader as of the batch's start, and the checks.
  std::unique_ptr<rocksdb::Iterator> import_readers[ImportSessions::kKinds];
  std::optional<ImportSessions::Check> import_checks[ImportSessions::kKinds];
  uint64_t import_run = 0;
  std::unordered_map<std::string, MacAddress> new_serials;  // SN -> MAC this batch writes
  bool devices_applied = false;
  bool flush_index = false;
  int64_t now_us = 0;
};

// Imports only: whether a record is new, false (and counted) when the store already held
// it (store/import_dedup.h).
template <typename Record, typename Decode, typename Hash>
Result<bool> RocksStore::ClaimImport(StagedWrite* w, ImportKind kind, const Record& record,
                                     int64_t time_us, const Decode& decode, const Hash& hash_of) {
  std::unique_ptr<rocksdb::Iterator>& reader = w->import_readers[kind];
  auto open_reader = [&] {
    if (!reader) {
      reader.reset(
          db_->NewIterator(rocksdb::ReadOptions(), cf(kind == kImportEvents ? kCfEvents : kCfRaw)));
    }
    return reader.get();
  };
  std::optional<ImportSessions::Check>& check = w->import_checks[kind];
  if (!check) {
    Result<ImportSessions::Check> begun =
        import_sessions_.Begin(w->import_run, kind, [&] { return NewestTime(open_reader()); });
    if (!begun.ok()) return begun.status();
    check = std::move(*begun);
  }
  auto load = [&](int64_t t, const std::function<void(uint64_t)>& add) {
    return LoadStoredAt<Record>(open_reader(), t, decode, hash_of, add);
  };
  Result<bool> fresh = check->IsNew(time_us, hash_of(record), load);
  if (!fresh.ok()) return fresh.status();
  if (!*fresh) ++w->result.duplicates_skipped;
  return *fresh;
}

// Stages the SN -> MAC entry of an event whose serial number the store does not already
// map to its MAC (as of the committed state and this batch's earlier events).
void RocksStore::StageSerial(const Event& e, StagedWrite* w) {
  auto staged = w->new_serials.find(e.sn);
  if (staged != w->new_serials.end()) {
    if (staged->second == e.mac) return;
  } else {
    auto it = serials_.find(e.sn);
    if (it != serials_.end() && it->second == e.mac) return;
  }
  w->wb.Put(cf(kCfSerials), e.sn, MacKey(e.mac));
  w->new_serials[e.sn] = e.mac;
}

Status RocksStore::StageEvents(WriteBatch& batch, StagedWrite* w) {
  w->events.reserve(batch.events.size());
  // Which events name a serial number the store already maps to their MAC: looked up in a
  // tight loop first, so that the map's cache misses overlap (see ApplyToDevices).
  std::vector<uint8_t> serial_known(batch.events.size(), 0);
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const Event& e = batch.events[i];
    if (e.mac == 0 || e.sn.empty()) continue;
    auto it = serials_.find(e.sn);
    serial_known[i] = it != serials_.end() && it->second == e.mac;
  }
  // Consecutive events at one time (seqs are consecutive too) share a record.
  EventRecordBuilder& record = event_record_;
  record.Clear();
  TimeSeqKeyBuf record_key(0, 0);
  auto put_record = [&] {
    if (record.empty()) return;
    record.Finish();
    const rocksdb::Slice key(record_key.bytes, kTimeSeqKeySize);
    const rocksdb::Slice parts[2] = {record.header(), record.body()};
    w->wb.Put(cf(kCfEvents), rocksdb::SliceParts(&key, 1), rocksdb::SliceParts(parts, 2));
    record.Clear();
  };
  for (size_t i = 0; i < batch.events.size(); ++i) {
    Event& e = batch.events[i];
    if (batch.skip_duplicates) {
      Result<bool> first =
          ClaimImport(w, kImportEvents, e, e.event_time_us, DecodeEvent, DedupHash);
      if (!first.ok()) return first.status();
      if (!*first) continue;
    }
    e.seq = w->next_seq++;
    if (!record.Takes(e.event_time_us, e.message.size())) {
      put_record();
      record_key = TimeSeqKeyBuf(e.event_time_us, e.seq);
      if (w->tail_start.empty() || record_key.view() < std::string_view(w->tail_start)) {
        w->tail_start.assign(record_key.view());
      }
    }
    EncodeEvent(e, record.BeginEvent(e.event_time_us));
    record.EndEvent();
    w->events.push_back(&e);
    // A batch that maps a serial anew may map it back later on: then check every event.
    if (e.mac != 0 && !e.sn.empty() && (!serial_known[i] || !w->new_serials.empty())) {
      StageSerial(e, w);
    }
  }
  put_record();
  w->result.events_stored = w->events.size();
  return Status::Ok();
}

Status RocksStore::StageRaw(WriteBatch& batch, StagedWrite* w) {
  std::string value;
  for (RawDatagram& r : batch.raw) {
    if (batch.skip_duplicates) {
      Result<bool> first = ClaimImport(w, kImportRaw, r, r.received_us, DecodeRaw, RawDedupHash);
      if (!first.ok()) return first.status();
      if (!*first) {
        r.seq = 0;
        continue;
      }
    }
    r.seq = w->next_seq++;
    value.clear();
    EncodeRaw(r, &value);
    w->wb.Put(cf(kCfRaw), TimeSeqKey(r.received_us, r.seq), value);
    w->raw.push_back(&r);
  }
  w->result.raw_stored = w->raw.size();
  return Status::Ok();
}

void RocksStore::StageCounters(const WriteBatch& batch, StagedWrite* w) {
  auto counters = batch.counter_deltas;
  auto add = [&](Counter c, uint64_t n) {
    if (n != 0) counters[std::string(CounterName(c))] += static_cast<int64_t>(n);
  };
  add(Counter::kStoredEvents, w->result.events_stored);
  add(Counter::kStoredRaw, w->result.raw_stored);
  add(Counter::kDuplicatesSkipped, w->result.duplicates_skipped);
  for (const auto& [name, delta] : counters) {
    if (delta != 0) w->wb.Merge(cf(kCfCounters), name, EncodeCounter(delta));
  }
}

// Adds the stored events to the in-memory index and summaries. With 100,000 devices their
// states are cache misses scattered over the heap: look them all up first, in a tight loop
// whose independent misses overlap, then apply each event with the states a few events
// ahead already on their way into the cache.
Status RocksStore::ApplyToDevices(StagedWrite* w) {
  const std::vector<Event*>& stored = w->events;
  std::vector<DeviceState*> states(stored.size(), nullptr);
  // Where each known device's next index entry goes, read here, where the misses of
  // independent lookups overlap (a hint only: an earlier event of the batch may move it).
  std::vector<const IndexEntry*> pending_ends(stored.size(), nullptr);
  constexpr size_t kLookupAhead = 8;
  for (size_t i = 0; i < stored.size(); ++i) {
    if (i + kLookupAhead < stored.size() && stored[i + kLookupAhead]->mac != 0) {
      devices_.Prefetch(stored[i + kLookupAhead]->mac);
    }
    DeviceState* const* found = stored[i]->mac != 0 ? devices_.Find(stored[i]->mac) : nullptr;
    if (found == nullptr) continue;
    states[i] = *found;
    const std::vector<IndexEntry>& pending = states[i]->pending;
    if (pending.size() < pending.capacity()) pending_ends[i] = pending.data() + pending.size();
  }
  w->devices_applied = !stored.empty();
  // The states' lines 8 events ahead, the ends of their pending entries 4 ahead.
  constexpr size_t kAhead = 8, kPendingAhead = 4;
  for (size_t i = 0; i < stored.size(); ++i) {
    if (i + kAhead < stored.size() && states[i + kAhead]) {
      const char* p = reinterpret_cast<const char*>(states[i + kAhead]);
      for (size_t line = 0; line < sizeof(DeviceState); line += 64) PrefetchForRead(p + line);
    }
    if (i + kPendingAhead < stored.size() && pending_ends[i + kPendingAhead]) {
      PrefetchForRead(pending_ends[i + kPendingAhead]);
    }
    Status st = ApplyToDevice(*stored[i], states[i]);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// Each flush costs one merge and one put per dirty device: at low rates flush on the
// interval (the tail stays tiny); at high rates let chunks grow to index_flush_events
// (or 30 intervals) so that a flush covers many events per device.
bool RocksStore::IndexFlushDue(int64_t now_us) const {
  if (dirty_macs_.empty()) return false;
  const int64_t since_flush = now_us - last_index_flush_us_;
  const int64_t interval = options_.index_flush_interval_us;
  return pending_count_ >= options_.index_flush_events ||
         (since_flush >= interval && pending_count_ <= options_.index_flush_events / 20) ||
         since_flush >= 30 * interval;
}

// The export journal's entry for one Write: its seqs and the time span of its records.
void RocksStore::AppendJournal(const StagedWrite& w, rocksdb::WriteBatch* wb) {
  int64_t ev_min = INT64_MAX, ev_max = INT64_MIN, raw_min = INT64_MAX, raw_max = INT64_MIN;
  for (const Event* e : w.events) {
    ev_min = std::min(ev_min, e->event_time_us);
    ev_max = std::max(ev_max, e->event_time_us);
  }
  for (const RawDatagram* r : w.raw) {
    raw_min = std::min(raw_min, r->received_us);
    raw_max = std::max(raw_max, r->received_us);
  }
  AppendJournalEntry(wb, cf(kCfDefault), w.first_seq, w.next_seq, ev_min, ev_max, raw_min, raw_max);
}

// The meta keys of the batch: next seq, and either the index flush (which empties the
// tail) or the tail's new start.
void RocksStore::StageMeta(StagedWrite* w) {
  std::string next;
  PutFixed64(&next, w->next_seq);
  w->wb.Put(cf(kCfDefault), kMetaNextSeq, next);
  if (options_.export_journal && w->next_seq != w->first_seq) AppendJournal(*w, &w->wb);
  w->now_us = options_.clock->NowMicros();
  w->flush_index = IndexFlushDue(w->now_us);
  if (w->flush_index) {
    AppendIndexFlush(&w->wb, w->next_seq);
  } else if (w->tail_start != tail_start_ && !w->tail_start.empty()) {
    w->wb.Put(cf(kCfDefault), kMetaTailStart, w->tail_start);
  }
}

// The writer state follows what the store now holds.
void RocksStore::WriteCommitted(StagedWrite* w) {
  next_seq_ = w->next_seq;
  committed_next_seq_.store(next_seq_, std::memory_order_release);
  for (int kind = 0; kind < ImportSessions::kKinds; ++kind) {
    if (w->import_checks[kind])
      import_sessions_.Commit(w->import_run, kind, &*w->import_checks[kind]);
  }
  for (auto& [sn, mac] : w->new_serials) serials_[sn] = mac;
  if (w->flush_index) {
    IndexFlushed(w->now_us);
  } else {
    tail_start_ = std::move(w->tail_start);
  }
}

// The one way out of a failed Write: the batch's records get no seq, and device states
// it touched are rebuilt from the store before the next write.
Status RocksStore::AbandonWrite(StagedWrite* w, Status st) {
  for (Event* e : w->events) e->seq = 0;
  for (RawDatagram* r : w->raw) r->seq = 0;
  if (w->devices_applied) needs_resume_ = true;
  return st;
}

Result<WriteResult> RocksStore::Write(WriteBatch& batch) {
  if (read_only()) return Status::Unsupported("a reader cannot write to the store");
  std::lock_guard lock(write_mu_);
  Status resumed = ResumeIfNeeded();
  if (!resumed.ok()) return resumed;
  // After an import's large batch, give its memory back rather than keep it for good.
  if (write_batch_.GetDataSize() > kKeptWriteBatchBytes) write_batch_ = rocksdb::WriteBatch();
  StagedWrite w(write_batch_);
  w.import_run = batch.import_session;
  w.first_seq = w.next_seq = next_seq_;
  w.tail_start = tail_start_;
  Status st = StageEvents(batch, &w);
  if (st.ok()) st = StageRaw(batch, &w);
  if (!st.ok()) return AbandonWrite(&w, st);
  StageCounters(batch, &w);
  if (w.next_seq == w.first_seq && w.wb.Count() == 0) return w.result;
  st = ApplyToDevices(&w);
  if (!st.ok()) return AbandonWrite(&w, st);
  StageMeta(&w);
  st = CommitBatch(&w.wb);
  if (!st.ok()) return AbandonWrite(&w, st);
  WriteCommitted(&w);
  if (export_tap_ != nullptr && w.next_seq != w.first_seq) {
    export_tap_->Stored(w.first_seq, w.next_seq, w.events, w.raw);
  }
  return w.result;
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
