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

// One device's index: the distinct times of its events. The events key is (time, seq); a
// reader seeks to each time and keeps the events there that carry the device's MAC, so the
// index need not name the seq, whose deltas were 40% of the index's bytes. A value is a
// version byte and one or more runs; a run is its first time in full, a count, and the
// others as ascending deltas. Runs concatenate (the writer merges one run per flush), and
// MergeIndexLists rewrites any number of runs as one. Version 1 lists ((time, seq) pairs)
// still decode, to their times.
//
// Encodes `times` (any order, repeats allowed) as one run of its distinct times.
void EncodeIndexList(std::vector<int64_t> times, std::string* out);
// Appends the times of every run in value (not sorted across runs).
Status DecodeIndexList(std::string_view value, std::vector<int64_t>* times);
// Concatenation of encoded lists, re-encoded as one run of their distinct times.
Status MergeIndexLists(const std::string_view* lists, size_t n, std::string* out);

}  // namespace resyncwatch::store_format
