// One phone's life on the simulated clock (internal to the simulator): the state machine
// of the guide's section 5 and the truth labels docs/schedule.md asks for.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tools/sim/sim.h"

namespace resyncwatch::sim {

struct Outage {
  int64_t from_us;
  int64_t to_us;
};

// Everything one phone's run reads: shared and read-only.
struct PhoneWorld {
  const Options* options;
  const std::vector<std::vector<Outage>>* outages;  // per server
};

// What one phone's run produced. On a truth decision too close to one of the analysis'
// boundaries the run says `ambiguous` (with the reason) and the caller runs the phone
// again with fresh draws.
struct PhoneResult {
  std::vector<SimLine> lines;
  std::vector<TruthGap> gaps;
  TruthDevice device{};
  bool ambiguous = false;
  std::string ambiguity;
  std::map<std::string, int64_t> local_redraws;
};

PhoneResult SimulatePhone(const Phone& phone, uint32_t index, const PhoneWorld& world,
                          std::mt19937_64& rng);

// The next Resync_At__HHmm_ instant strictly after t_us (UTC micros).
int64_t NextHhmm(const PhoneParams& p, int64_t t_us);
// The HHmm window length in seconds: (value + 30) / 60 whole minutes; 600 s below 600.
int64_t HhmmWindowSeconds(const PhoneParams& p);

}  // namespace resyncwatch::sim
