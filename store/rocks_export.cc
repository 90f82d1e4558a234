// The export journal: which seqs each Write stored and when they happened, so that an
// exporter reads what it has not sent yet without scanning the store, and its cursor, kept
// in the store beside the records (spec: docs/clickhouse.md, "The export journal").
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <random>

#include "common/counter_names.h"
#include "store/event_codec.h"
#include "store/event_record.h"
#include "store/rocks_options.h"
#include "store/rocks_store.h"

namespace resyncwatch::store_format {
namespace {

// A span is closed at this many seqs (unless its first entry alone is larger): the unit
// the cursor moves by when a span is done, and the most sent again after a crash.
constexpr uint64_t kSpanSeqs = 65'536;
constexpr size_t kSpanEntries = 4'096;

struct JournalEntry {
  uint64_t first = 0, end = 0;
  int64_t ev_min = 0, ev_max = -1, raw_min = 0, raw_max = -1;
};

std::string EncodeJournalValue(const JournalEntry& e) {
  std::string v;
  PutFixed64(&v, e.end);
  for (int64_t t : {e.ev_min, e.ev_max, e.raw_min, e.raw_max}) PutFixed64(&v, BiasTime(t));
  return v;
}

bool DecodeJournal(std::string_view key, std::string_view value, JournalEntry* e) {
  if (key.size() != kMetaJournalPrefix.size() + 8 || value.size() != 40) return false;
  e->first = GetFixed64(key.data() + kMetaJournalPrefix.size());
  e->end = GetFixed64(value.data());
  e->ev_min = UnbiasTime(GetFixed64(value.data() + 8));
  e->ev_max = UnbiasTime(GetFixed64(value.data() + 16));
  e->raw_min = UnbiasTime(GetFixed64(value.data() + 24));
  e->raw_max = UnbiasTime(GetFixed64(value.data() + 32));
  return true;
}

std::string EncodeCursor(const ExportCursor& c) {
  std::string v;
  PutFixed64(&v, c.seq);
  PutFixed64(&v, c.span_end);
  v.push_back(static_cast<char>(c.phase));
  for (int64_t t : {c.events_since_us, c.events_until_us, c.raw_since_us, c.raw_until_us}) {
    PutFixed64(&v, BiasTime(t));
  }
  v += c.after_key;
  return v;
}

Result<ExportCursor> DecodeCursor(std::string_view v) {
  if (v.size() < 49) return Status::Corruption("export cursor of wrong size");
  ExportCursor c;
  c.seq = GetFixed64(v.data());
  c.span_end = GetFixed64(v.data() + 8);
  c.phase = static_cast<uint8_t>(v[16]);
  c.events_since_us = UnbiasTime(GetFixed64(v.data() + 17));
  c.events_until_us = UnbiasTime(GetFixed64(v.data() + 25));
  c.raw_since_us = UnbiasTime(GetFixed64(v.data() + 33));
  c.raw_until_us = UnbiasTime(GetFixed64(v.data() + 41));
  c.after_key = std::string(v.substr(49));
  return c;
}

bool IsJournalKey(std::string_view key) { return key.starts_with(kMetaJournalPrefix); }

}  // namespace

void AppendJournalEntry(rocksdb::WriteBatch* wb, rocksdb::ColumnFamilyHandle* meta, uint64_t first,
                        uint64_t end, int64_t ev_min, int64_t ev_max, int64_t raw_min,
                        int64_t raw_max) {
  JournalEntry e{first, end, ev_min, ev_max, raw_min, raw_max};
  wb->Put(meta, JournalKey(first), EncodeJournalValue(e));
}

// At a writer's open: a store id when there is none, and one entry covering every seq the
// journal does not (written before the journal was kept), with all of time as its range.
Status RocksStore::OpenExportJournal() {
  rocksdb::ReadOptions ro;
  rocksdb::WriteBatch wb;
  std::string v;
  rocksdb::Status s = db_->Get(ro, cf(kCfDefault), kMetaStoreId, &v);
  if (s.IsNotFound()) {
    std::random_device rd;
    const uint64_t id = (uint64_t{rd()} << 32 | rd()) | 1;  // never 0
    v.clear();
    PutFixed64(&v, id);
    wb.Put(cf(kCfDefault), kMetaStoreId, v);
  } else if (!s.ok()) {
    return FromRocks(s, "reading the store id");
  }
  Result<ExportCursor> cursor = LoadExportCursor();
  if (!cursor.ok()) return cursor.status();
  uint64_t covered = std::max(cursor->seq, cursor->span_end);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kCfDefault)));
  it->SeekForPrev(JournalKey(UINT64_MAX));
  JournalEntry last;
  if (it->Valid() && IsJournalKey(it->key().ToStringView()) &&
      DecodeJournal(it->key().ToStringView(), it->value().ToStringView(), &last)) {
    covered = std::max(covered, last.end);
  }
  if (covered < next_seq_) {
    AppendJournalEntry(&wb, cf(kCfDefault), covered, next_seq_, INT64_MIN, INT64_MAX, INT64_MIN,
                       INT64_MAX);
  }
  if (wb.Count() == 0) return Status::Ok();
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &wb), "starting the export journal");
}

Result<ExportCursor> RocksStore::LoadExportCursor() const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kCfDefault), kMetaExportCursor, &v);
  if (s.IsNotFound()) return ExportCursor();
  if (!s.ok()) return FromRocks(s, "reading the export cursor");
  return DecodeCursor(v);
}

Status RocksStore::SaveExportCursor(const ExportCursor& cursor) {
  if (read_only()) return Status::Unsupported("a reader cannot write to the store");
  std::lock_guard lock(write_mu_);
  rocksdb::WriteBatch wb;
  wb.Put(cf(kCfDefault), kMetaExportCursor, EncodeCursor(cursor));
  // RocksDB (7.8) fragments the range tombstones of the mutable memtable anew on every
  // read of the column family, and this one holds every meta key: one tombstone per
  // exported batch made each NextSeq or tail read slower as they piled up. Every reader
  // of the journal starts at the cursor, so the entries below it can wait: forget them in
  // one range at most every kJournalForgetUs.
  const int64_t now_us = options_.clock->NowMicros();
  const bool forget =
      journal_forgotten_us_ == 0 || now_us - journal_forgotten_us_ >= kJournalForgetUs;
  if (forget) wb.DeleteRange(cf(kCfDefault), JournalKey(0), JournalKey(cursor.seq));
  Status st = CommitBatch(&wb);
  if (st.ok() && forget) journal_forgotten_us_ = now_us;
  return st;
}

Result<uint64_t> RocksStore::NextSeq() const {
  // A writer knows it without a read (the exporter asks several times a second).
  if (const uint64_t committed = committed_next_seq_.load(std::memory_order_acquire)) {
    return committed;
  }
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kCfDefault), kMetaNextSeq, &v);
  if (s.IsNotFound()) return uint64_t{1};
  if (!s.ok()) return FromRocks(s, "reading next seq");
  return v.size() == 8 ? GetFixed64(v.data()) : 1;
}

Result<uint64_t> RocksStore::ExportStoreId() const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kCfDefault), kMetaStoreId, &v);
  if (s.IsNotFound()) return Status::NotFound("the store has no id (no export journal yet)");
  if (!s.ok()) return FromRocks(s, "reading the store id");
  if (v.size() != 8) return Status::Corruption("store id of wrong size");
  return GetFixed64(v.data());
}

Status RocksStore::TrimExportJournal(int64_t cutoff_us) {
  Result<ExportCursor> cursor = LoadExportCursor();
  if (!cursor.ok()) return cursor.status();
  rocksdb::WriteBatch wb;
  uint64_t expired = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kCfDefault)));
  for (it->Seek(JournalKey(std::max(cursor->seq, cursor->span_end))); it->Valid(); it->Next()) {
    JournalEntry e;
    if (!IsJournalKey(it->key().ToStringView())) break;
    if (!DecodeJournal(it->key().ToStringView(), it->value().ToStringView(), &e)) {
      return Status::Corruption("export journal entry of wrong size");
    }
    // An empty kind (min > max) holds nothing that could still be there.
    if ((e.ev_min > e.ev_max || e.ev_max < cutoff_us) &&
        (e.raw_min > e.raw_max || e.raw_max < cutoff_us)) {
      wb.Delete(cf(kCfDefault), it->key());
      expired += e.end - e.first;
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the export journal");
  if (wb.Count() == 0) return Status::Ok();
  wb.Merge(cf(kCfCounters), std::string(CounterName(Counter::kExportExpired)),
           EncodeCounter(static_cast<int64_t>(expired)));
  std::lock_guard lock(write_mu_);
  if (Status resumed = ResumeIfNeeded(); !resumed.ok()) return resumed;
  Status committed = CommitBatch(&wb);
  if (committed.ok() && export_tap_ != nullptr) export_tap_->JournalTrimmed();
  return committed;
}

Status RocksStore::SetExportTap(ExportTap* tap) {
  if (read_only() || !options_.export_journal) {
    return Status::Unsupported("only a writer keeping the export journal hands records over");
  }
  std::lock_guard lock(write_mu_);
  export_tap_ = tap;
  return Status::Ok();
}

// Opens the span that starts at c->seq from the journal entries there; false when the
// journal holds nothing at or after it.
Result<bool> RocksStore::OpenExportSpan(ExportCursor* c) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kCfDefault)));
  JournalEntry span;
  size_t entries = 0;
  for (it->Seek(JournalKey(c->seq)); it->Valid(); it->Next()) {
    JournalEntry e;
    if (!IsJournalKey(it->key().ToStringView())) break;
    if (!DecodeJournal(it->key().ToStringView(), it->value().ToStringView(), &e)) {
      return Status::Corruption("export journal entry of wrong size");
    }
    if (entries > 0 && (entries >= kSpanEntries || e.end - c->seq > kSpanSeqs)) break;
    if (entries == 0) span = e;
    span.end = e.end;
    if (e.ev_min <= e.ev_max) {
      span.ev_min = span.ev_min <= span.ev_max ? std::min(span.ev_min, e.ev_min) : e.ev_min;
      span.ev_max = std::max(span.ev_max, e.ev_max);
    }
    if (e.raw_min <= e.raw_max) {
      span.raw_min = span.raw_min <= span.raw_max ? std::min(span.raw_min, e.raw_min) : e.raw_min;
      span.raw_max = std::max(span.raw_max, e.raw_max);
    }
    ++entries;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the export journal");
  if (entries == 0) return false;
  c->span_end = span.end;
  c->phase = 0;
  c->after_key.clear();
  c->events_since_us = span.ev_min;
  c->events_until_us = span.ev_max;
  c->raw_since_us = span.raw_min;
  c->raw_until_us = span.raw_max;
  return true;
}

// Reads the open span's records of c->phase after c->after_key, at most *room of them.
// Returns whether the phase is done; else c->after_key is the last key read.
Result<bool> RocksStore::ReadSpanPhase(ExportCursor* c, size_t* room, ExportScratch* out) const {
  const bool events = c->phase == 0;
  const int64_t since = events ? c->events_since_us : c->raw_since_us;
  const int64_t until = events ? c->events_until_us : c->raw_until_us;
  if (since > until) return true;
  rocksdb::ReadOptions ro;
  std::string upper;
  rocksdb::Slice upper_slice;
  if (until != INT64_MAX) {
    upper = TimeBoundKey(until + 1);
    upper_slice = upper;
    ro.iterate_upper_bound = &upper_slice;
  }
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(events ? kCfEvents : kCfRaw)));
  const std::string start = TimeBoundKey(since);
  // after_key names the last record read, or an event within a group: the group's key is
  // at or before it.
  if (c->after_key.empty() || c->after_key < start) {
    it->Seek(start);
  } else {
    it->SeekForPrev(c->after_key);
    if (!it->Valid() && it->status().ok()) it->Seek(c->after_key);
  }
  std::vector<std::string_view> split;
  for (; it->Valid(); it->Next()) {
    auto k = ParseTimeSeqKey(it->key().ToStringView());
    if (!k) return Status::Corruption("record key of wrong size");
    if (events) {
      Status st = SplitEventRecord(it->value().ToStringView(), &split);
      if (!st.ok()) return st;
    } else {
      split.assign(1, it->value().ToStringView());
    }
    for (size_t i = 0; i < split.size(); ++i) {
      const TimeSeq at{k->time_us, k->seq + i};
      if (at.seq < c->seq || at.seq >= c->span_end) continue;
      const TimeSeqKeyBuf key(at.time_us, at.seq);
      if (!c->after_key.empty() && key.view() <= std::string_view(c->after_key)) continue;
      if (*room == 0) return false;
      Status st;
      // Decoded into the same objects every time: their strings keep their capacity.
      if (events) {
        Event& e = out->event;
        e.seq = at.seq;
        e.event_time_us = at.time_us;
        st = DecodeEvent(split[i], &e);
        if (st.ok()) out->visit->event(e);
      } else {
        RawDatagram& r = out->raw;
        r.seq = at.seq;
        r.received_us = at.time_us;
        st = DecodeRaw(split[i], &r);
        if (st.ok()) out->visit->raw(r);
      }
      if (!st.ok()) return st;
      c->after_key.assign(key.view());
      --*room;
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading records to export");
  return true;
}

Status RocksStore::VisitForExport(const ExportCursor& from, size_t max_records,
                                  const ExportVisitor& visit, ExportCursor* next) const {
  ExportCursor c = from;
  size_t room = max_records;
  ExportScratch scratch{&visit, {}, {}};
  while (room > 0) {
    if (c.span_end == 0) {
      Result<bool> opened = OpenExportSpan(&c);
      if (!opened.ok()) return opened.status();
      if (!*opened) break;
    }
    Result<bool> done = ReadSpanPhase(&c, &room, &scratch);
    if (!done.ok()) return done.status();
    if (!*done) break;
    c.after_key.clear();
    if (++c.phase == 2) {
      const uint64_t next = c.span_end;
      c = ExportCursor();
      c.seq = next;
    }
  }
  *next = std::move(c);
  return Status::Ok();
}

}  // namespace resyncwatch::store_format
