#include "store/record_codec.h"

#include <algorithm>

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

void EncodeIndexList(const std::vector<TimeSeq>& entries, std::string* out) {
  out->push_back(static_cast<char>(kIndexCodecVersion));
  if (entries.empty()) return;
  PutSigned(out, entries.front().time_us);
  PutVarint(out, entries.front().seq);
  PutVarint(out, entries.size() - 1);
  for (size_t i = 1; i < entries.size(); ++i) {
    PutSigned(out, entries[i].time_us - entries[i - 1].time_us);
    PutSigned(out, static_cast<int64_t>(entries[i].seq - entries[i - 1].seq));
  }
}

Status DecodeIndexList(std::string_view value, std::vector<TimeSeq>* entries) {
  ByteReader r(value);
  uint8_t version;
  if (!r.GetByte(&version) || version != kIndexCodecVersion) {
    return Status::Corruption("device index: unknown encoding version");
  }
  while (!r.done()) {
    TimeSeq e;
    uint64_t rest;
    if (!r.GetSigned(&e.time_us) || !r.GetVarint(&e.seq) || !r.GetVarint(&rest) ||
        rest > r.remaining()) {
      return Status::Corruption("device index: bad run header");
    }
    entries->push_back(e);
    for (uint64_t i = 0; i < rest; ++i) {
      int64_t dt, ds;
      if (!r.GetSigned(&dt) || !r.GetSigned(&ds)) {
        return Status::Corruption("device index: truncated run");
      }
      e.time_us += dt;
      e.seq += static_cast<uint64_t>(ds);
      entries->push_back(e);
    }
  }
  return Status::Ok();
}

Status MergeIndexLists(const std::string_view* lists, size_t n, std::string* out) {
  std::vector<TimeSeq> entries;
  for (size_t i = 0; i < n; ++i) {
    Status s = DecodeIndexList(lists[i], &entries);
    if (!s.ok()) return s;
  }
  std::sort(entries.begin(), entries.end(),
            [](const TimeSeq& a, const TimeSeq& b) { return a.seq < b.seq; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const TimeSeq& a, const TimeSeq& b) { return a.seq == b.seq; }),
                entries.end());
  out->clear();
  EncodeIndexList(entries, out);
  return Status::Ok();
}

}  // namespace resyncwatch::store_format
