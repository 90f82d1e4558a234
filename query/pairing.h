// Pairs resync/upgrade requests of one device with their outcomes, for `history`.
// A request is paired with the next outcome of its family (resync or upgrade) that is a
// failure or names the same URL, within a timeout; pure function, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace resyncwatch {

struct Pairing {
  enum class Outcome { kNone, kSuccess, kFailure, kNoOutcome, kPending };
  Outcome outcome = Outcome::kNone;  // set on requests only
  int64_t duration_us = -1;          // request -> outcome, when paired
  int partner = -1;                  // index of the paired request or outcome, -1 = none
};

// events: one device's events in time order. A request without an outcome within
// timeout_us is kNoOutcome, or kPending when now_us is still within its timeout.
std::vector<Pairing> PairAttempts(const std::vector<Event>& events, int64_t timeout_us,
                                  int64_t now_us);

std::string_view ToString(Pairing::Outcome outcome);  // "success", "no outcome", ...

}  // namespace resyncwatch
