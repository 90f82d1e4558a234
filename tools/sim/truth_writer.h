// The simulator's ground truth as JSON lines: one "phone" line per phone (its configured
// and actual schedule), one "gap" line per gap (the shape of `resyncwatch schedule --json`)
// and one "final" line per phone (the shape of `resyncwatch schedule --fleet --json`).
#pragma once

#include <string>

#include "common/status.h"
#include "tools/sim/fleet_sim.h"

namespace resyncwatch {

Status WriteTruth(const FleetSim& sim, const std::string& path);

}  // namespace resyncwatch
