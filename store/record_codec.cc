#include "store/record_codec.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "store/varint.h"

namespace resyncwatch::store_format {

void EncodeSummary(const DeviceSummary& s, std::string* out) {
  out->push_back(static_cast<char>(kSummaryCodecVersion));
  PutString(out, s.model);
  PutString(out, s.sn);
  PutString(out, s.last_ip);
  for (int64_t t :
       {s.first_seen_us, s.last_seen_us, s.last_request_us, s.last_success_us, s.last_failure_us}) {
    PutSigned(out, t);
  }
  PutVarint(out, s.consecutive_failures);
  PutString(out, s.last_error);
  PutString(out, s.last_url);
  out->push_back(static_cast<char>(s.last_kind));
  for (uint64_t n : {s.requests, s.successes, s.failures, s.events}) PutVarint(out, n);
}

Status DecodeSummary(std::string_view value, DeviceSummary* s) {
  ByteReader r(value);
  uint8_t version, kind;
  if (!r.GetByte(&version) || version != kSummaryCodecVersion) {
    return Status::Corruption("device summary: unknown encoding version");
  }
  uint64_t consecutive;
  bool ok = r.GetString(&s->model) && r.GetString(&s->sn) && r.GetString(&s->last_ip) &&
            r.GetSigned(&s->first_seen_us) && r.GetSigned(&s->last_seen_us) &&
            r.GetSigned(&s->last_request_us) && r.GetSigned(&s->last_success_us) &&
            r.GetSigned(&s->last_failure_us) && r.GetVarint(&consecutive) &&
            r.GetString(&s->last_error) && r.GetString(&s->last_url) && r.GetByte(&kind) &&
            r.GetVarint(&s->requests) && r.GetVarint(&s->successes) && r.GetVarint(&s->failures) &&
            r.GetVarint(&s->events) && r.done();
  if (!ok || kind >= kEventKindCount) return Status::Corruption("device summary: truncated");
  s->consecutive_failures = static_cast<uint32_t>(consecutive);
  s->last_kind = static_cast<EventKind>(kind);
  return Status::Ok();
}

void EncodeAlert(const AlertRecord& a, std::string* out) {
  out->push_back(static_cast<char>(kAlertCodecVersion));
  PutString(out, a.id);
  PutSigned(out, a.started_us);
  PutSigned(out, a.updated_us);
  out->push_back(a.active ? 1 : 0);
  PutString(out, a.json);
}

Status DecodeAlert(std::string_view value, AlertRecord* a) {
  ByteReader r(value);
  uint8_t version, active;
  if (!r.GetByte(&version) || version != kAlertCodecVersion) {
    return Status::Corruption("alert record: unknown encoding version");
  }
  if (!r.GetString(&a->id) || !r.GetSigned(&a->started_us) || !r.GetSigned(&a->updated_us) ||
      !r.GetByte(&active) || !r.GetString(&a->json) || !r.done() || active > 1) {
    return Status::Corruption("alert record: truncated");
  }
  a->active = active == 1;
  return Status::Ok();
}

int64_t IndexSlotOf(int64_t time_us) {
  const int64_t q = time_us / kIndexSlotUs;
  return time_us % kIndexSlotUs < 0 ? q - 1 : q;
}

int64_t IndexSlotFirstUs(int64_t slot) {
  const __int128 first = static_cast<__int128>(slot) * kIndexSlotUs;
  return first < INT64_MIN   ? INT64_MIN
         : first > INT64_MAX ? INT64_MAX
                             : static_cast<int64_t>(first);
}

int64_t IndexSlotLastUs(int64_t slot) {
  const __int128 last = static_cast<__int128>(slot) * kIndexSlotUs + (kIndexSlotUs - 1);
  return last < INT64_MIN ? INT64_MIN : last > INT64_MAX ? INT64_MAX : static_cast<int64_t>(last);
}

IndexEntry IndexEntryOf(int64_t time_us, uint64_t seq) {
  IndexEntry e;
  e.slot = IndexSlotOf(time_us);
  e.exact = time_us % kIndexSlotUs == 0;
  e.seq = e.exact ? seq : 0;
  return e;
}

// A run: signed first slot, varint count, then per entry varint (slot delta << 1 | exact)
// and, for an exact entry, its seq as a signed delta from the run's previous exact seq.
void EncodeIndexList(std::vector<IndexEntry> entries, std::string* out) {
  out->push_back(static_cast<char>(kIndexCodecVersion));
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  if (entries.empty()) return;
  PutSigned(out, entries.front().slot);
  PutVarint(out, entries.size());
  int64_t slot = entries.front().slot;
  uint64_t seq = 0;
  for (const IndexEntry& e : entries) {
    const uint64_t delta = static_cast<uint64_t>(e.slot) - static_cast<uint64_t>(slot);
    PutVarint(out, delta << 1 | (e.exact ? 1 : 0));
    if (e.exact) {
      PutSigned(out, static_cast<int64_t>(e.seq - seq));
      seq = e.seq;
    }
    slot = e.slot;
  }
}

namespace {

// Version 1: runs of (time, seq) entries, deltas signed.
Status DecodeIndexListV1(ByteReader& r, std::vector<IndexEntry>* entries) {
  while (!r.done()) {
    int64_t time_us;
    uint64_t seq, rest;
    if (!r.GetSigned(&time_us) || !r.GetVarint(&seq) || !r.GetVarint(&rest) ||
        rest > r.remaining()) {
      return Status::Corruption("device index: bad run header");
    }
    entries->push_back(IndexEntryOf(time_us, seq));
    for (uint64_t i = 0; i < rest; ++i) {
      int64_t dt, ds;
      if (!r.GetSigned(&dt) || !r.GetSigned(&ds)) {
        return Status::Corruption("device index: truncated run");
      }
      time_us = static_cast<int64_t>(static_cast<uint64_t>(time_us) + static_cast<uint64_t>(dt));
      seq += static_cast<uint64_t>(ds);
      entries->push_back(IndexEntryOf(time_us, seq));
    }
  }
  return Status::Ok();
}

// Version 2: runs of ascending entries. A slot delta that passes INT64_MAX is corruption.
Status DecodeIndexListV2(ByteReader& r, std::vector<IndexEntry>* entries) {
  while (!r.done()) {
    int64_t slot;
    uint64_t count;
    if (!r.GetSigned(&slot) || !r.GetVarint(&count) || count == 0 || count > r.remaining()) {
      return Status::Corruption("device index: bad run header");
    }
    uint64_t seq = 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t head;
      if (!r.GetVarint(&head)) return Status::Corruption("device index: truncated run");
      const uint64_t delta = head >> 1;
      // Unsigned arithmetic: the distance from slot to INT64_MAX fits a uint64.
      if (delta > static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(slot)) {
        return Status::Corruption("device index: slot past the int64 range");
      }
      slot = static_cast<int64_t>(static_cast<uint64_t>(slot) + delta);
      IndexEntry e;
      e.slot = slot;
      e.exact = (head & 1) != 0;
      if (e.exact) {
        int64_t ds;
        if (!r.GetSigned(&ds)) return Status::Corruption("device index: truncated run");
        seq += static_cast<uint64_t>(ds);
        e.seq = seq;
      }
      entries->push_back(e);
    }
  }
  return Status::Ok();
}

}  // namespace

Status DecodeIndexList(std::string_view value, std::vector<IndexEntry>* entries) {
  ByteReader r(value);
  uint8_t version;
  if (!r.GetByte(&version)) return Status::Corruption("device index: empty value");
  if (version == 1) return DecodeIndexListV1(r, entries);
  if (version == 2) return DecodeIndexListV2(r, entries);
  return Status::Corruption("device index: unknown encoding version " + std::to_string(version));
}

Status MergeIndexLists(const std::string_view* lists, size_t n, std::string* out) {
  std::vector<IndexEntry> entries;
  for (size_t i = 0; i < n; ++i) {
    Status s = DecodeIndexList(lists[i], &entries);
    if (!s.ok()) return s;
  }
  out->clear();
  EncodeIndexList(std::move(entries), out);
  return Status::Ok();
}

}  // namespace resyncwatch::store_format
