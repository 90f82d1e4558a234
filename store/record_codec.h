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

// A chunk of one device's index: pointers (event time, seq) to its events, in the order
// they were written. The key holds the first entry (IndexKey); the value its max time
// (for retention) and every entry as deltas from the first.
void EncodeIndexChunk(const std::vector<TimeSeq>& entries, std::string* out);
// The chunk's latest event time, without decoding the entries.
Result<int64_t> IndexChunkMaxTime(const IndexKeyParts& key, std::string_view value);
Status DecodeIndexChunk(const IndexKeyParts& key, std::string_view value,
                        std::vector<TimeSeq>* entries);

}  // namespace resyncwatch::store_format
