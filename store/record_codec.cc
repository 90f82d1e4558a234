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

void EncodeIndexList(std::vector<int64_t> slots, std::string* out) {
  out->push_back(static_cast<char>(kIndexCodecVersion));
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  if (slots.empty()) return;
  PutSigned(out, slots.front());
  PutVarint(out, slots.size() - 1);
  for (size_t i = 1; i < slots.size(); ++i) {
    PutVarint(out, static_cast<uint64_t>(slots[i]) - static_cast<uint64_t>(slots[i - 1]));
  }
}

namespace {

// Version 1: runs of (time, seq) entries, deltas signed; appended as the times' slots.
Status DecodeIndexListV1(ByteReader& r, std::vector<int64_t>* slots) {
  while (!r.done()) {
    int64_t time_us;
    uint64_t seq, rest;
    if (!r.GetSigned(&time_us) || !r.GetVarint(&seq) || !r.GetVarint(&rest) ||
        rest > r.remaining()) {
      return Status::Corruption("device index: bad run header");
    }
    slots->push_back(IndexSlotOf(time_us));
    for (uint64_t i = 0; i < rest; ++i) {
      int64_t dt, ds;
      if (!r.GetSigned(&dt) || !r.GetSigned(&ds)) {
        return Status::Corruption("device index: truncated run");
      }
      time_us = static_cast<int64_t>(static_cast<uint64_t>(time_us) + static_cast<uint64_t>(dt));
      slots->push_back(IndexSlotOf(time_us));
    }
  }
  return Status::Ok();
}

// Version 2: runs of ascending distinct slots. A delta that passes INT64_MAX is corruption.
Status DecodeIndexListV2(ByteReader& r, std::vector<int64_t>* slots) {
  while (!r.done()) {
    int64_t slot;
    uint64_t rest;
    if (!r.GetSigned(&slot) || !r.GetVarint(&rest) || rest > r.remaining()) {
      return Status::Corruption("device index: bad run header");
    }
    slots->push_back(slot);
    for (uint64_t i = 0; i < rest; ++i) {
      uint64_t dt;
      if (!r.GetVarint(&dt)) return Status::Corruption("device index: truncated run");
      // Unsigned arithmetic: the distance from slot to INT64_MAX fits a uint64.
      const uint64_t room = static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(slot);
      if (dt == 0 || dt > room) return Status::Corruption("device index: slots out of order");
      slot = static_cast<int64_t>(static_cast<uint64_t>(slot) + dt);
      slots->push_back(slot);
    }
  }
  return Status::Ok();
}

}  // namespace

Status DecodeIndexList(std::string_view value, std::vector<int64_t>* slots) {
  ByteReader r(value);
  uint8_t version;
  if (!r.GetByte(&version)) return Status::Corruption("device index: empty value");
  if (version == 1) return DecodeIndexListV1(r, slots);
  if (version == 2) return DecodeIndexListV2(r, slots);
  return Status::Corruption("device index: unknown encoding version " + std::to_string(version));
}

Status MergeIndexLists(const std::string_view* lists, size_t n, std::string* out) {
  std::vector<int64_t> slots;
  for (size_t i = 0; i < n; ++i) {
    Status s = DecodeIndexList(lists[i], &slots);
    if (!s.ok()) return s;
  }
  out->clear();
  EncodeIndexList(std::move(slots), out);
  return Status::Ok();
}

}  // namespace resyncwatch::store_format
