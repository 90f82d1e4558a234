// device_state: how one event changes its device's summary, and the writer's per-device
// state (summary plus device-index entries not yet written as a chunk) (internal to store/). Plain
// values owned by the single writer (or built per read by a reader): not thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/key_format.h"
#include "store/record_codec.h"
#include "store/store.h"

namespace resyncwatch::store_format {

// REQUIRES: event.mac == summary->mac. Idempotence is not given: apply each event once.
void ApplyEventToSummary(const Event& event, DeviceSummary* summary);

// What the writer keeps per device: the summary (as of every event it applied) and the
// index entries not yet written as a chunk.
struct DeviceState {
  DeviceSummary summary;
  std::vector<IndexEntry> pending;  // the events' index entries (IndexEntryOf)
  bool dirty = false;               // summary and pending not yet written
};

}  // namespace resyncwatch::store_format
