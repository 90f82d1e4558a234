// upgrade_state: what `resyncwatch firmware` keeps per phone from its upgrade messages:
// the firmware named by its latest successful upgrade and the outcome of its latest
// upgrade attempt. Pure functions over events, in any order (the latest (time, seq)
// wins), so that parallel time slices can be merged. Not thread-safe per state object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.h"

namespace resyncwatch {

// Bits of Store::ScanKinds for the three upgrade kinds.
constexpr uint32_t kUpgradeKindMask = 1u << static_cast<unsigned>(EventKind::kUpgradeRequest) |
                                      1u << static_cast<unsigned>(EventKind::kUpgradeSuccess) |
                                      1u << static_cast<unsigned>(EventKind::kUpgradeFailure);

struct UpgradeState {
  bool upgraded = false;      // a successful upgrade was seen
  std::string firmware;       // what it installed ("" when the message named nothing)
  int64_t upgraded_us = 0;    // its time
  uint64_t upgraded_seq = 0;  // its seq (orders messages of the same microsecond)
  EventKind last_kind = EventKind::kUnknown;  // latest upgrade message; kUnknown = none
  int64_t last_us = 0;
  uint64_t last_seq = 0;
};

// The firmware a successful upgrade names: its $ERR (the new version) when not empty,
// else the file name, the last segment of its URL's path ("sip88xx.12-0-1MPP-14.loads").
std::string FirmwareOf(const Event& upgrade_success);

// REQUIRES: event is an upgrade kind.
void ApplyUpgradeEvent(const Event& event, UpgradeState* state);
// Folds other (another time slice of the same phone) into *state.
void MergeUpgradeState(const UpgradeState& other, UpgradeState* state);

// "success", "failure", "requested" (no outcome after the latest request), or "" when the
// phone was never seen upgrading.
std::string_view LastUpgradeText(const UpgradeState& state);

}  // namespace resyncwatch
