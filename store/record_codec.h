// record_codec: versioned value encodings of device summaries, alerts and device-index
// chunks (spec: docs/store-format.md). Pure functions: thread-safe.
#pragma once

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

// One device's index: the milliseconds ("slots") in which it has events. The events key is
// (time, seq); a reader scans each listed millisecond of `events` and keeps the events there
// that carry the device's MAC, so the index names neither the seq (whose deltas were 40% of
// a list) nor the microseconds (another 60% of what was left), and costs a reader a few
// more keys to skip: those of the same millisecond. A value is a version byte and one or
// more runs; a run is its first slot in full, a count, and the others as ascending
// deltas. Runs concatenate (the writer merges one run per flush), and MergeIndexLists
// rewrites any number of runs as one. Version 1 lists ((time, seq) pairs) still decode, to
// the slots of their times.
constexpr int64_t kIndexSlotUs = 1000;
// The slot of a time: floor(time_us / 1000), for negative times too.
int64_t IndexSlotOf(int64_t time_us);
// The first and last microsecond of a slot, clamped to the int64 range.
int64_t IndexSlotFirstUs(int64_t slot);
int64_t IndexSlotLastUs(int64_t slot);

// Encodes `slots` (any order, repeats allowed) as one run of its distinct slots.
void EncodeIndexList(std::vector<int64_t> slots, std::string* out);
// Appends the slots of every run in value (not sorted across runs).
Status DecodeIndexList(std::string_view value, std::vector<int64_t>* slots);
// Concatenation of encoded lists, re-encoded as one run of their distinct slots.
Status MergeIndexLists(const std::string_view* lists, size_t n, std::string* out);

}  // namespace resyncwatch::store_format
