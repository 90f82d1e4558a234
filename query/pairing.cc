#include "query/pairing.h"

#include <deque>

namespace resyncwatch {
namespace {

enum class Family { kNone, kResync, kUpgrade };

Family FamilyOf(EventKind k) {
  switch (k) {
    case EventKind::kResyncRequest:
    case EventKind::kResyncSuccess:
    case EventKind::kResyncFailure:
      return Family::kResync;
    case EventKind::kUpgradeRequest:
    case EventKind::kUpgradeSuccess:
    case EventKind::kUpgradeFailure:
      return Family::kUpgrade;
    default:
      return Family::kNone;
  }
}

bool IsRequest(EventKind k) {
  return k == EventKind::kResyncRequest || k == EventKind::kUpgradeRequest;
}
bool IsFailure(EventKind k) {
  return k == EventKind::kResyncFailure || k == EventKind::kUpgradeFailure;
}

}  // namespace

std::vector<Pairing> PairAttempts(const std::vector<Event>& events, int64_t timeout_us,
                                  int64_t now_us) {
  std::vector<Pairing> out(events.size());
  std::deque<int> pending;  // unpaired requests, oldest first
  auto expire = [&](int64_t t) {
    while (!pending.empty() && t - events[pending.front()].event_time_us > timeout_us) {
      out[pending.front()].outcome = Pairing::Outcome::kNoOutcome;
      pending.pop_front();
    }
  };
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    const Event& e = events[i];
    Family family = FamilyOf(e.kind);
    if (family == Family::kNone) continue;
    expire(e.event_time_us);
    if (IsRequest(e.kind)) {
      // A new request for the same URL means the phone gave up on the older one.
      for (auto it = pending.begin(); it != pending.end(); ++it) {
        if (events[*it].kind == e.kind && events[*it].url == e.url) {
          out[*it].outcome = Pairing::Outcome::kNoOutcome;
          pending.erase(it);
          break;
        }
      }
      pending.push_back(i);
      continue;
    }
    // An outcome. A success answers the oldest request for its URL (any request when
    // either URL is unknown); a failure carries no URL and answers the newest request.
    auto match = pending.end();
    for (auto it = pending.begin(); it != pending.end(); ++it) {
      const Event& req = events[*it];
      if (FamilyOf(req.kind) != family) continue;
      if (IsFailure(e.kind)) {
        match = it;  // keep going: the newest one wins
        continue;
      }
      if (!e.url.empty() && !req.url.empty() && e.url != req.url) continue;
      match = it;
      break;
    }
    if (match == pending.end()) continue;
    const Event& req = events[*match];
    Pairing& p = out[*match];
    p.outcome = IsFailure(e.kind) ? Pairing::Outcome::kFailure : Pairing::Outcome::kSuccess;
    p.duration_us = e.event_time_us - req.event_time_us;
    p.partner = i;
    out[i].partner = *match;
    out[i].duration_us = p.duration_us;
    pending.erase(match);
  }
  for (int i : pending) {
    out[i].outcome = now_us - events[i].event_time_us <= timeout_us ? Pairing::Outcome::kPending
                                                                    : Pairing::Outcome::kNoOutcome;
  }
  return out;
}

std::string_view ToString(Pairing::Outcome outcome) {
  switch (outcome) {
    case Pairing::Outcome::kNone:
      return "";
    case Pairing::Outcome::kSuccess:
      return "success";
    case Pairing::Outcome::kFailure:
      return "failure";
    case Pairing::Outcome::kNoOutcome:
      return "no outcome";
    case Pairing::Outcome::kPending:
      return "pending";
  }
  return "";
}

}  // namespace resyncwatch
