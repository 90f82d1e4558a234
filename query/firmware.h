// firmware: what `resyncwatch firmware` knows per phone from its upgrade messages: the
// firmware named by its latest successful upgrade and the outcome of its latest upgrade
// attempt. The per-event functions take events in any order (the latest (time, seq)
// wins), so that parallel time slices merge. CollectFirmware reads a store (thread-safe
// reads); an UpgradeState is a plain value, not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

struct PhoneFirmware {
  MacAddress mac = 0;
  std::string model;
  UpgradeState upgrade;
  // A successful upgrade named what it installed.
  bool known() const { return upgrade.upgraded && !upgrade.firmware.empty(); }
};

// Every phone of the store (only those of model, case-insensitive, when not empty), in
// MAC order, with its state from the upgrade messages of range. Reads the summaries, then
// only the upgrade messages (Store::ScanKinds) in parallel time slices.
Status CollectFirmware(const Store& store, TimeRange range, std::string_view model,
                       std::vector<PhoneFirmware>* phones);

}  // namespace resyncwatch
