// The benchmarks' fleet: `events` events over `devices` phones that each resync hourly
// at their own phase (request, then success 0.2-2 s later, or in 5% of cycles a failure
// from a few errors), on four servers and eight models, the last cycle ending at
// kFleetEnd; written through Store::Write in batches of 4096, then compacted.
#pragma once

#include <cstdint>
#include <string>

#include "common/flags.h"

namespace resyncwatch::bench {

// 2026-11-25T08:00:00Z: benchmarks give commands --now so relative ranges are reproducible.
constexpr int64_t kFleetEnd = 1'795'593'600'000'000;

// Device i's MAC, model and provisioning server.
uint64_t FleetMac(int64_t i);
const char* FleetModel(int64_t i);
const char* FleetServer(int64_t i);

// Exits the process (code 2) when the store cannot be opened or written.
void FillFleet(const std::string& dir, int64_t events, int64_t devices);

// The options of a benchmark that fills this fleet (join them with its own: JoinFlags).
inline constexpr FlagSpec kFleetFlags[] = {
    {"db", FlagType::kString, "", "DIR", "store directory (filled unless --no-fill)"},
    {"events", FlagType::kInt, "10000000", "N", "events to write"},
    {"devices", FlagType::kInt, "100000", "N", "devices in the fleet"},
    {"no-fill", FlagType::kBool, "", "", "reuse a store filled by an earlier run"},
};

// Empties --db and fills it with --events over --devices, unless --no-fill.
void FillFleetUnlessReused(const FlagSet& flags);

}  // namespace resyncwatch::bench
