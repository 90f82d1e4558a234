// event_record: the records of the events column family (spec: docs/store-format.md,
// "Event records"). A record holds one event's encoding (event_codec.h), or a group: the
// encodings of events of one write that share the key's time and have consecutive seqs
// from the key's. Receive times are one per recvmmsg call, so under load most events come
// in groups, and a group costs RocksDB one key, one memtable insert and one block entry
// instead of one per event. Pure functions and a caller-owned builder: thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/key_format.h"

namespace resyncwatch::store_format {

// The first byte of a group; an event's encoding starts with its codec version (1 or 2).
constexpr uint8_t kEventGroupTag = 0xE7;
// A history read decodes one event of a group but reads the group whole: groups stay
// well below a block (12 KiB) so that such a read still touches one block. An event joins
// a group only when the group's encodings and the event's message fit in kMaxGroupBytes
// (a long debug message gets a record of its own).
constexpr size_t kMaxGroupEvents = 64;
constexpr size_t kMaxGroupBytes = 4096;

// Builds one record from the encodings of its events, appended in seq order.
class EventRecordBuilder {
 public:
  bool empty() const { return lengths_.empty(); }
  size_t size() const { return lengths_.size(); }
  int64_t time_us() const { return time_us_; }
  // Whether an event at time_us whose message has message_bytes may join the record being
  // built (its encoding is about that long: the rest is short or refers into the message).
  bool Takes(int64_t time_us, size_t message_bytes) const {
    return !empty() && time_us == time_us_ && lengths_.size() < kMaxGroupEvents &&
           body_.size() + message_bytes <= kMaxGroupBytes;
  }
  // Starts the next event: the caller appends its encoding to *the returned string, then
  // calls EndEvent. REQUIRES: empty() or Takes(time_us, ...).
  std::string* BeginEvent(int64_t time_us) {
    time_us_ = time_us;
    begin_ = body_.size();
    return &body_;
  }
  void EndEvent() { lengths_.push_back(static_cast<uint32_t>(body_.size() - begin_)); }
  // The record's value is header() then body(); a single event's header is empty, so its
  // record is its encoding alone (the form written before groups). Valid until Clear.
  void Finish();
  std::string_view header() const { return header_; }
  std::string_view body() const { return body_; }
  void Clear();

 private:
  int64_t time_us_ = 0;
  size_t begin_ = 0;
  std::vector<uint32_t> lengths_;
  std::string header_;
  std::string body_;
};

// The encodings of the events in a record's value, in seq order: (*events)[i] is the event
// with the key's seq + i. Corruption when a group's framing is broken.
Status SplitEventRecord(std::string_view value, std::vector<std::string_view>* events);

// Calls visit(at, encoding, more) -> Status for each event of the record at (key, value),
// in seq order, until visit fails or clears *more (true on entry; a caller that never
// stops passes none). Returns the record's or visit's error. `scratch` holds the split
// between calls.
template <typename Visit>
Status ForEachEventIn(std::string_view key, std::string_view value,
                      std::vector<std::string_view>* scratch, bool* more, Visit&& visit) {
  std::optional<TimeSeq> at = ParseTimeSeqKey(key);
  if (!at) return Status::Corruption("event key of wrong size");
  if (Status st = SplitEventRecord(value, scratch); !st.ok()) return st;
  bool go_on = true;
  if (more == nullptr) more = &go_on;
  *more = true;
  for (size_t i = 0; i < scratch->size() && *more; ++i) {
    Status st = visit(TimeSeq{at->time_us, at->seq + i}, (*scratch)[i], more);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace resyncwatch::store_format
