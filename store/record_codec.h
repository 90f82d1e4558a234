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
constexpr uint8_t kIndexCodecVersion = 1;

void EncodeSummary(const DeviceSummary& summary, std::string* out);
// REQUIRES: summary->mac already set from the key.
Status DecodeSummary(std::string_view value, DeviceSummary* summary);

void EncodeAlert(const AlertRecord& alert, std::string* out);
Status DecodeAlert(std::string_view value, AlertRecord* alert);

// One device's index: pointers (event time, seq) to its events. A value is a version
// byte and one or more runs; a run is its first entry in full and the others as deltas
// from their predecessor. Runs concatenate (the writer merges one run per flush), and
// NormalizeIndexList rewrites any number of runs as one run sorted by seq.
void EncodeIndexList(const std::vector<TimeSeq>& entries, std::string* out);
// Appends the entries of every run in value.
Status DecodeIndexList(std::string_view value, std::vector<TimeSeq>* entries);
// Concatenation of encoded lists, re-encoded as one run in seq order (duplicates dropped).
Status MergeIndexLists(const std::string_view* lists, size_t n, std::string* out);

}  // namespace resyncwatch::store_format
