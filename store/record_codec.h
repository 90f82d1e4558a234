// record_codec: versioned value encodings of device summaries, alerts and device-index
// chunks (spec: docs/store-format.md). Pure functions: thread-safe.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/key_format.h"
#include "store/store.h"

namespace resyncwatch::store_format {

constexpr uint8_t kSummaryCodecVersion = 1;
constexpr uint8_t kAlertCodecVersion = 1;
constexpr uint8_t kIndexCodecVersion = 2;  // 1: (time, seq) pairs, still read

void EncodeSummary(const DeviceSummary& summary, std::string* out);
// REQUIRES: summary->mac already set from the key.
Status DecodeSummary(std::string_view value, DeviceSummary* summary);

void EncodeAlert(const AlertRecord& alert, std::string* out);
Status DecodeAlert(std::string_view value, AlertRecord* alert);

// One device's index: where its events are, as entries of two kinds. An event whose time is
// not a whole millisecond is listed by its millisecond ("slot") alone: a reader scans that
// millisecond of `events` and keeps the events there that carry the device's MAC, a few
// keys in the block it reads anyway. An event at a whole millisecond is listed with its seq
// (an exact entry): whole-second timestamps (RFC 3164 archives) put a fleet's events of a
// second on the same microsecond, where a scan would read them all. Neither kind names the
// microseconds, and the first not the seq, which together were most of a (time, seq) list.
// A value is a version byte and one or more runs; runs concatenate (the writer merges one
// run per flush), and MergeIndexLists rewrites any number of runs as one. Version 1 lists
// ((time, seq) pairs) still decode, to entries.
constexpr int64_t kIndexSlotUs = 1000;
// The slot of a time: floor(time_us / 1000), for negative times too.
int64_t IndexSlotOf(int64_t time_us);
// The first and last microsecond of a slot, clamped to the int64 range.
int64_t IndexSlotFirstUs(int64_t slot);
int64_t IndexSlotLastUs(int64_t slot);

struct IndexEntry {
  int64_t slot = 0;
  bool exact = false;  // the event is at IndexSlotFirstUs(slot) with this seq
  uint64_t seq = 0;    // 0 unless exact
  auto operator<=>(const IndexEntry&) const = default;
};
// The entry that lists the event at (time_us, seq).
IndexEntry IndexEntryOf(int64_t time_us, uint64_t seq);

// Encodes `entries` (any order, repeats allowed) as one run of its distinct entries.
void EncodeIndexList(std::vector<IndexEntry> entries, std::string* out);
// Appends the entries of every run in value (not sorted across runs).
Status DecodeIndexList(std::string_view value, std::vector<IndexEntry>* entries);
// Concatenation of encoded lists, re-encoded as one run of their distinct entries.
Status MergeIndexLists(const std::string_view* lists, size_t n, std::string* out);

}  // namespace resyncwatch::store_format
