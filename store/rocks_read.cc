// The read path: history through the device index plus the unindexed tail, fleet scans
// in key order, summaries with the tail applied, serials, counters and alerts.
#include <algorithm>
#include <map>
#include <optional>

#include "store/event_codec.h"
#include "store/record_codec.h"
#include "store/rocks_options.h"
#include "store/rocks_store.h"

namespace resyncwatch::store_format {
namespace {

// Holds a snapshot for the duration of one read (none on a reader, which has no
// concurrent writer inside the process).
class ReadView {
 public:
  ReadView(rocksdb::DB* db, bool read_only) : db_(db) {
    if (!read_only) snap_ = db_->GetSnapshot();
    ro_.snapshot = snap_;
  }
  // Takes over a snapshot the caller got from db.
  ReadView(rocksdb::DB* db, const rocksdb::Snapshot* adopted) : db_(db), snap_(adopted) {
    ro_.snapshot = snap_;
  }
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  ~ReadView() {
    if (snap_) db_->ReleaseSnapshot(snap_);
  }
  const rocksdb::ReadOptions& ro() const { return ro_; }
  const rocksdb::Snapshot* snapshot() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_ = nullptr;
  rocksdb::ReadOptions ro_;
};

Status DecodeEventAt(const TimeSeq& at, std::string_view encoded, Event* e) {
  *e = Event();
  e->seq = at.seq;
  e->event_time_us = at.time_us;
  return DecodeEvent(encoded, e);
}

}  // namespace

Result<RocksStore::Tail> RocksStore::ReadTail(const rocksdb::Snapshot* snap) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  Tail tail;
  std::string v;
  rocksdb::Status s = db_->Get(ro, cf(kCfDefault), kMetaIndexWatermark, &v);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading index watermark");
  tail.watermark = s.ok() && v.size() == 8 ? GetFixed64(v.data()) : 1;
  s = db_->Get(ro, cf(kCfDefault), kMetaTailStart, &tail.start_key);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading tail start");
  if (s.IsNotFound()) tail.start_key.clear();
  return tail;
}

Status RocksStore::ScanTail(
    const Tail& tail, const rocksdb::Snapshot* snap, TimeRange range,
    const std::function<bool(const TimeSeq&, std::string_view)>& visit) const {
  if (tail.start_key.empty()) return Status::Ok();
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::string upper = TimeBoundKey(range.until_us);
  rocksdb::Slice upper_slice(upper);
  if (range.until_us != INT64_MAX) ro.iterate_upper_bound = &upper_slice;
  std::string start = std::max(tail.start_key, TimeBoundKey(range.since_us));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kCfEvents)));
  std::vector<std::string_view> split;
  for (it->Seek(start); it->Valid(); it->Next()) {
    bool more = true;
    Status st = ForEachEventIn(it->key().ToStringView(), it->value().ToStringView(), &split, &more,
                               [&](const TimeSeq& at, std::string_view encoded, bool* go_on) {
                                 *go_on = at.seq < tail.watermark || visit(at, encoded);
                                 return Status::Ok();
                               });
    if (!st.ok()) return st;
    if (!more) break;
  }
  return FromRocks(it->status(), "scanning the unindexed tail");
}

namespace {

// The device's index entries that may list events within `range`, ascending and distinct.
Status ReadIndexEntries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* index,
                        const rocksdb::ReadOptions& ro, MacAddress mac, TimeRange range,
                        std::vector<IndexEntry>* entries) {
  std::string list;
  rocksdb::Status rs = db->Get(ro, index, MacKey(mac), &list);
  if (rs.IsNotFound()) return Status::Ok();
  if (!rs.ok()) return FromRocks(rs, "reading the device index");
  Status st = DecodeIndexList(list, entries);
  if (!st.ok()) return st;
  std::erase_if(*entries, [&](const IndexEntry& e) {
    const int64_t first = IndexSlotFirstUs(e.slot);
    const int64_t last = e.exact ? first : IndexSlotLastUs(e.slot);
    return last < range.since_us || first >= range.until_us;
  });
  // Lists merged from version 1 runs (seq order) are out of time order.
  std::sort(entries->begin(), entries->end());
  entries->erase(std::unique(entries->begin(), entries->end()), entries->end());
  return Status::Ok();
}

// Hands a history's events to the visitor in (time, seq) order: the device's events from the
// unindexed tail (already in that order) are slipped in before each indexed one they precede.
class HistoryMerge {
 public:
  using TailEvents = std::vector<std::pair<TimeSeq, std::string>>;
  HistoryMerge(TailEvents tail, const EventVisitor& visit)
      : tail_(std::move(tail)), visit_(visit) {}

  // Visits the tail events before `limit` (all that are left when null). std::nullopt when
  // one does not decode, false when the visitor stopped.
  std::optional<bool> EmitTailBefore(const TimeSeq* limit) {
    while (next_ < tail_.size() &&
           (!limit || std::pair(tail_[next_].first.time_us, tail_[next_].first.seq) <
                          std::pair(limit->time_us, limit->seq))) {
      const auto& [at, value] = tail_[next_];
      Status s = DecodeEventAt(at, value, &event_);
      ++next_;
      if (!s.ok()) return std::nullopt;
      if (!visit_(event_)) return false;
    }
    return true;
  }

  // Decodes and visits one indexed event; *more is false when the visitor stopped.
  Status EmitIndexed(const TimeSeq& at, std::string_view value, bool* more) {
    Status st = DecodeEventAt(at, value, &event_);
    if (!st.ok()) return st;
    *more = visit_(event_);
    return Status::Ok();
  }

 private:
  TailEvents tail_;
  size_t next_ = 0;
  Event event_;
  const EventVisitor& visit_;
};

struct IndexedEvent {
  TimeSeq at;
  std::string value;
};

// Finds a device's indexed events from its index entries. A slot entry is a seek to the
// slot's first key (unless the iterator already rests there) and a scan to its last: of the
// events there, those with the device's MAC and a seq below the watermark are its indexed
// ones (the rest are other devices', or the tail's, which History scans apart). An exact
// entry is a seek to its key. One iterator, one thread: splitting the seeks over two
// threads, as the MultiGet batches were, measured no better (docs/performance.md, round of
// 7 Dec, night).
struct IndexedFetch {
  rocksdb::DB* db;
  rocksdb::ColumnFamilyHandle* events;
  const rocksdb::ReadOptions& ro;
  MacAddress mac;
  TimeRange range;
  uint64_t watermark;
  std::vector<IndexedEvent> found;
  // The last slot scanned whole: its exact entries (sorted after it) were found by the scan.
  std::optional<int64_t> scanned_slot;
  std::vector<std::string_view> split;

  // REQUIRES: entries ascending and distinct, each overlapping `range`, and after those of
  // earlier calls.
  Status Fetch(const IndexEntry* entries, size_t n) {
    found.clear();
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events));
    for (size_t i = 0; i < n; ++i) {
      const IndexEntry& e = entries[i];
      if (e.exact && scanned_slot == e.slot) continue;
      Status st = e.exact ? FetchExact(it.get(), e) : ScanSlot(it.get(), e.slot);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

 private:
  // Keeps the event when it is one of the device's indexed events.
  Status KeepIfOurs(const TimeSeq& at, std::string_view encoded) {
    if (at.seq >= watermark) return Status::Ok();
    Result<MacAddress> m = PeekEventMac(encoded);
    if (!m.ok()) return m.status();
    if (*m == mac) found.push_back({at, std::string(encoded)});
    return Status::Ok();
  }

  Status ScanSlot(rocksdb::Iterator* it, int64_t slot) {
    scanned_slot = slot;
    const int64_t first = std::max(IndexSlotFirstUs(slot), range.since_us);
    const int64_t last = std::min(IndexSlotLastUs(slot), range.until_us - 1);
    std::optional<TimeSeq> at;
    if (it->Valid()) at = ParseTimeSeqKey(it->key().ToStringView());
    if (!at || at->time_us < first) it->Seek(TimeBoundKey(first));
    for (; it->Valid(); it->Next()) {
      at = ParseTimeSeqKey(it->key().ToStringView());
      if (!at) return Status::Corruption("event key of wrong size");
      if (at->time_us > last) break;
      Status st =
          ForEachEventIn(it->key().ToStringView(), it->value().ToStringView(), &split, nullptr,
                         [&](const TimeSeq& event_at, std::string_view encoded, bool*) {
                           return KeepIfOurs(event_at, encoded);
                         });
      if (!st.ok()) return st;
    }
    return FromRocks(it->status(), "reading an event");
  }

  // The record holding an event is the iterator's, or has a key from (time, seq - 63) to
  // the event's own (a group holds at most kMaxGroupEvents consecutive seqs and is keyed by
  // its first): a seek there and a step or two forward find it. Forward only: a step back
  // after a seek (SeekForPrev) decodes a block's entries again from a restart point.
  Status FetchExact(rocksdb::Iterator* it, const IndexEntry& e) {
    const TimeSeq want{IndexSlotFirstUs(e.slot), e.seq};
    std::string_view encoded;
    Status st = FindAtIterator(it, want, &encoded);
    if (!st.ok()) return st;
    if (!encoded.empty()) return KeepIfOurs(want, encoded);
    const uint64_t from = want.seq >= kMaxGroupEvents ? want.seq - (kMaxGroupEvents - 1) : 0;
    for (it->Seek(TimeSeqKey(want.time_us, from)); it->Valid(); it->Next()) {
      std::optional<TimeSeq> key = ParseTimeSeqKey(it->key().ToStringView());
      if (!key) return Status::Corruption("event key of wrong size");
      if (key->time_us != want.time_us || key->seq > want.seq) break;
      st = FindAtIterator(it, want, &encoded);
      if (!st.ok()) return st;
      if (!encoded.empty()) return KeepIfOurs(want, encoded);
    }
    return FromRocks(it->status(), "reading an event");  // not there: retention
  }

  // The encoding of the event `want` when the record at the iterator holds it (else "").
  Status FindAtIterator(rocksdb::Iterator* it, const TimeSeq& want, std::string_view* encoded) {
    *encoded = {};
    if (!it->Valid()) return Status::Ok();
    std::optional<TimeSeq> key = ParseTimeSeqKey(it->key().ToStringView());
    if (!key) return Status::Corruption("event key of wrong size");
    if (key->time_us != want.time_us || key->seq > want.seq) return Status::Ok();
    Status st = SplitEventRecord(it->value().ToStringView(), &split);
    if (!st.ok()) return st;
    const uint64_t i = want.seq - key->seq;
    if (i < split.size()) *encoded = split[i];
    return Status::Ok();
  }
};

// Merges the indexed events (fetched in batches of index entries) with the tail's in
// (time, seq) order.
Status MergeHistory(IndexedFetch& fetch, const std::vector<IndexEntry>& entries,
                    HistoryMerge& merge) {
  constexpr size_t kBatch = 256;
  for (size_t begin = 0; begin < entries.size(); begin += kBatch) {
    Status st = fetch.Fetch(entries.data() + begin, std::min(kBatch, entries.size() - begin));
    if (!st.ok()) return st;
    for (const IndexedEvent& e : fetch.found) {
      auto more = merge.EmitTailBefore(&e.at);
      if (!more) return Status::Corruption("undecodable event in the unindexed tail");
      if (!*more) return Status::Ok();
      bool go_on = true;
      st = merge.EmitIndexed(e.at, e.value, &go_on);
      if (!st.ok()) return st;
      if (!go_on) return Status::Ok();
    }
  }
  auto more = merge.EmitTailBefore(nullptr);
  if (!more) return Status::Corruption("undecodable event in the unindexed tail");
  return Status::Ok();
}

}  // namespace

Status RocksStore::History(MacAddress mac, TimeRange range, const EventVisitor& visit) const {
  ReadView view(db_.get(), read_only());
  auto tail = ReadTail(view.snapshot());
  if (!tail.ok()) return tail.status();
  std::vector<IndexEntry> entries;
  Status st = ReadIndexEntries(db_.get(), cf(kCfDeviceIndex), view.ro(), mac, range, &entries);
  if (!st.ok()) return st;
  // Events after the watermark are not indexed yet: find this device's among them.
  HistoryMerge::TailEvents tail_events;
  st = ScanTail(*tail, view.snapshot(), range, [&](const TimeSeq& at, std::string_view v) {
    auto m = PeekEventMac(v);
    if (m.ok() && *m == mac) tail_events.push_back({at, std::string(v)});
    return true;
  });
  if (!st.ok()) return st;
  HistoryMerge merge(std::move(tail_events), visit);
  // Without a tail every event is indexed, whatever the watermark says.
  const uint64_t indexed_below = tail->start_key.empty() ? UINT64_MAX : tail->watermark;
  IndexedFetch fetch{db_.get(), cf(kCfEvents), view.ro(), mac, range, indexed_below, {}, {}, {}};
  return MergeHistory(fetch, entries, merge);
}

Status RocksStore::Scan(TimeRange range, const EventVisitor& visit) const {
  Event e;
  return ForEachEventInTimeRange(range,
                                 [&](const TimeSeq& at, std::string_view encoded, bool* more) {
                                   Status st = DecodeEventAt(at, encoded, &e);
                                   if (st.ok()) *more = visit(e);
                                   return st;
                                 });
}

Status RocksStore::ScanHeads(TimeRange range, const EventVisitor& visit) const {
  return ScanHeadsOf(range, nullptr, visit);
}

Status RocksStore::ScanHeadsOf(TimeRange range, const std::function<bool(MacAddress)>& want,
                               const EventVisitor& visit) const {
  Event head;  // only the leading fields are ever set
  Event full;  // debug events, decoded whole
  return ForEachEventInTimeRange(range,
                                 [&](const TimeSeq& at, std::string_view encoded, bool* more) {
                                   if (want) {
                                     Result<MacAddress> mac = PeekEventMac(encoded);
                                     if (!mac.ok()) return mac.status();
                                     if (!want(*mac)) return Status::Ok();
                                   }
                                   head.seq = at.seq;
                                   head.event_time_us = at.time_us;
                                   Status st = DecodeEventHead(encoded, &head);
                                   if (!st.ok()) return st;
                                   if (head.kind != EventKind::kDebug) {
                                     *more = visit(head);
                                     return st;
                                   }
                                   st = DecodeEventAt(at, encoded, &full);
                                   if (st.ok()) *more = visit(full);
                                   return st;
                                 });
}

Status RocksStore::ScanKinds(TimeRange range, uint32_t kind_mask, const EventVisitor& visit) const {
  Event e;
  return ForEachEventInTimeRange(range,
                                 [&](const TimeSeq& at, std::string_view encoded, bool* more) {
                                   Result<EventKind> kind = PeekEventKind(encoded);
                                   if (!kind.ok()) return kind.status();
                                   if ((kind_mask >> static_cast<unsigned>(*kind) & 1u) == 0)
                                     return Status::Ok();
                                   Status st = DecodeEventAt(at, encoded, &e);
                                   if (st.ok()) *more = visit(e);
                                   return st;
                                 });
}

Status RocksStore::ScanRaw(TimeRange range,
                           const std::function<bool(const RawDatagram&)>& visit) const {
  RawDatagram raw;
  return ForEachInTimeRange(kCfRaw, range, "scanning raw datagrams",
                            [&](std::string_view key, std::string_view value, bool* more) {
                              auto k = ParseTimeSeqKey(key);
                              if (!k) return Status::Corruption("raw key of wrong size");
                              raw = RawDatagram();
                              raw.seq = k->seq;
                              raw.received_us = k->time_us;
                              Status st = DecodeRaw(value, &raw);
                              if (st.ok()) *more = visit(raw);
                              return st;
                            });
}

Status RocksStore::ForEachInTimeRange(
    int cf_index, TimeRange range, const char* what,
    const std::function<Status(std::string_view key, std::string_view value, bool* more)>& on_entry)
    const {
  ReadView view(db_.get(), read_only());
  rocksdb::ReadOptions ro = view.ro();
  std::string upper = TimeBoundKey(range.until_us);
  rocksdb::Slice upper_slice(upper);
  if (range.until_us != INT64_MAX) ro.iterate_upper_bound = &upper_slice;
  ro.readahead_size = 1 << 20;
  // A scan reads each block once: caching them only costs fresh memory (page faults) and
  // cache inserts, and evicts the blocks that point reads reuse.
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(cf_index)));
  bool more = true;
  for (it->Seek(TimeBoundKey(range.since_us)); more && it->Valid(); it->Next()) {
    Status st = on_entry(it->key().ToStringView(), it->value().ToStringView(), &more);
    if (!st.ok()) return st;
  }
  return more ? FromRocks(it->status(), what) : Status::Ok();
}

Status RocksStore::ForEachEventInTimeRange(
    TimeRange range,
    const std::function<Status(const TimeSeq& at, std::string_view encoded, bool* more)>& on_event)
    const {
  std::vector<std::string_view> split;
  return ForEachInTimeRange(kCfEvents, range, "scanning events",
                            [&](std::string_view key, std::string_view value, bool* more) {
                              return ForEachEventIn(key, value, &split, more, on_event);
                            });
}

Result<DeviceSummary> RocksStore::GetDevice(MacAddress mac) const {
  auto never_seen = [mac] {
    return Status::NotFound("device " + std::to_string(mac) + " never seen");
  };
  // MAC 0 marks events of no device: no summary, whichever path answers.
  if (mac == 0) return never_seen();
  // The writer holds every device with events in the tail; any other device's stored
  // summary is current, and the tail need not be scanned.
  bool tail_has_none = false;
  if (!read_only()) {
    std::unique_lock lock(write_mu_);
    if (!needs_resume_) {
      DeviceState* const* state = devices_.Find(mac);
      if (state != nullptr) {
        DeviceSummary s = (*state)->summary;
        lock.unlock();
        if (s.events == 0) return never_seen();
        return s;
      }
      tail_has_none = true;
    }
  }
  ReadView view(db_.get(), read_only());
  DeviceSummary s;
  s.mac = mac;
  std::string v;
  rocksdb::Status rs = db_->Get(view.ro(), cf(kCfDevices), MacKey(mac), &v);
  if (!rs.ok() && !rs.IsNotFound()) return FromRocks(rs, "reading device summary");
  if (rs.ok()) {
    Status st = DecodeSummary(v, &s);
    if (!st.ok()) return st;
  }
  if (tail_has_none) {
    if (s.events == 0) return never_seen();
    return s;
  }
  auto tail = ReadTail(view.snapshot());
  if (!tail.ok()) return tail.status();
  Status st = Status::Ok();
  Status scan =
      ScanTail(*tail, view.snapshot(), TimeRange{}, [&](const TimeSeq& at, std::string_view val) {
        auto m = PeekEventMac(val);
        if (!m.ok() || *m != mac) return true;
        Event e;
        st = DecodeEventAt(at, val, &e);
        if (!st.ok()) return false;
        ApplyEventToSummary(e, &s);
        return true;
      });
  if (!scan.ok()) return scan;
  if (!st.ok()) return st;
  if (s.events == 0) return never_seen();
  return s;
}

std::optional<RocksStore::WriterDevices> RocksStore::TakeWriterDevices() const {
  if (read_only()) return std::nullopt;
  WriterDevices out;
  {
    std::lock_guard lock(write_mu_);
    if (needs_resume_) return std::nullopt;
    out.unindexed.reserve(dirty_macs_.size());
    for (const auto& [mac, state] : dirty_macs_) out.unindexed.push_back(state->summary);
    out.snapshot = db_->GetSnapshot();  // between two writes: what the summaries cover
  }
  std::sort(out.unindexed.begin(), out.unindexed.end(),
            [](const DeviceSummary& a, const DeviceSummary& b) { return a.mac < b.mac; });
  return out;
}

// In the writer's process the summaries of the devices with unindexed events are in
// memory: they replace the stored ones, and the tail is not read (decoding every tail
// event was most of a fleet schedule analysis while the tail is large).
Status RocksStore::ForEachDevice(const std::function<bool(const DeviceSummary&)>& visit) const {
  std::optional<WriterDevices> writer = TakeWriterDevices();
  if (!writer) return ForEachDeviceFromTail(visit);
  ReadView view(db_.get(), writer->snapshot);
  const std::vector<DeviceSummary>& unindexed = writer->unindexed;
  size_t next = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(view.ro(), cf(kCfDevices)));
  DeviceSummary s;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto mac = ParseMacKey(it->key().ToStringView());
    if (!mac) return Status::Corruption("device key of wrong size");
    for (; next < unindexed.size() && unindexed[next].mac < *mac; ++next) {
      if (!visit(unindexed[next])) return Status::Ok();
    }
    if (next < unindexed.size() && unindexed[next].mac == *mac) {
      if (!visit(unindexed[next++])) return Status::Ok();
      continue;
    }
    s = DeviceSummary();
    s.mac = *mac;
    if (Status st = DecodeSummary(it->value().ToStringView(), &s); !st.ok()) return st;
    if (!visit(s)) return Status::Ok();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading device summaries");
  for (; next < unindexed.size(); ++next) {
    if (!visit(unindexed[next])) return Status::Ok();
  }
  return Status::Ok();
}

Status RocksStore::ForEachDeviceFromTail(
    const std::function<bool(const DeviceSummary&)>& visit) const {
  ReadView view(db_.get(), read_only());
  auto tail = ReadTail(view.snapshot());
  if (!tail.ok()) return tail.status();
  // Tail events per device, applied on top of each stored summary (or alone).
  std::map<MacAddress, std::vector<Event>> pending;
  Status st = Status::Ok();
  Status scan =
      ScanTail(*tail, view.snapshot(), TimeRange{}, [&](const TimeSeq& at, std::string_view val) {
        Event e;
        st = DecodeEventAt(at, val, &e);
        if (!st.ok()) return false;
        if (e.mac != 0) pending[e.mac].push_back(std::move(e));
        return true;
      });
  if (!scan.ok()) return scan;
  if (!st.ok()) return st;
  auto next_pending = pending.begin();
  auto emit_pending_before = [&](MacAddress limit, bool all) {
    while (next_pending != pending.end() && (all || next_pending->first < limit)) {
      DeviceSummary s;
      s.mac = next_pending->first;
      for (const Event& e : next_pending->second) ApplyEventToSummary(e, &s);
      ++next_pending;
      if (!visit(s)) return false;
    }
    return true;
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(view.ro(), cf(kCfDevices)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto mac = ParseMacKey(it->key().ToStringView());
    if (!mac) return Status::Corruption("device key of wrong size");
    if (!emit_pending_before(*mac, false)) return Status::Ok();
    DeviceSummary s;
    s.mac = *mac;
    st = DecodeSummary(it->value().ToStringView(), &s);
    if (!st.ok()) return st;
    if (next_pending != pending.end() && next_pending->first == *mac) {
      for (const Event& e : next_pending->second) ApplyEventToSummary(e, &s);
      ++next_pending;
    }
    if (!visit(s)) return Status::Ok();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading device summaries");
  emit_pending_before(0, true);
  return Status::Ok();
}

Result<MacAddress> RocksStore::MacForSerial(std::string_view sn) const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kCfSerials), sn, &v);
  if (s.IsNotFound()) return Status::NotFound("no device with serial number " + std::string(sn));
  if (!s.ok()) return FromRocks(s, "reading serial numbers");
  auto mac = ParseMacKey(v);
  if (!mac || v.size() != kMacKeySize) return Status::Corruption("bad serial -> MAC record");
  return *mac;
}

Result<std::map<std::string, int64_t>> RocksStore::Counters() const {
  std::map<std::string, int64_t> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kCfCounters)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out[it->key().ToString()] = DecodeCounter(it->value());
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading counters");
  return out;
}

Status RocksStore::ScanAlerts(TimeRange started, bool active_only,
                              const std::function<bool(const AlertRecord&)>& visit) const {
  rocksdb::ReadOptions ro;
  std::string upper = AlertKey(started.until_us, "");
  rocksdb::Slice upper_slice(upper);
  if (started.until_us != INT64_MAX) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kCfAlerts)));
  AlertRecord a;
  for (it->Seek(AlertKey(started.since_us, "")); it->Valid(); it->Next()) {
    Status st = DecodeAlert(it->value().ToStringView(), &a);
    if (!st.ok()) return st;
    if (active_only && !a.active) continue;
    if (!visit(a)) return Status::Ok();
  }
  return FromRocks(it->status(), "reading alerts");
}

}  // namespace resyncwatch::store_format
