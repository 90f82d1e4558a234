#include "query/pairing.h"

#include <catch2/catch.hpp>

namespace resyncwatch {
namespace {

constexpr int64_t kS = 1'000'000;

Event Ev(EventKind kind, int64_t t, std::string url = "", std::string error = "") {
  Event e;
  e.kind = kind;
  e.event_time_us = t;
  e.url = std::move(url);
  e.error = std::move(error);
  return e;
}

}  // namespace

TEST_CASE("each profile request of a cycle is paired with the success for its URL") {
  std::vector<Event> ev = {
      Ev(EventKind::kResyncRequest, 0, "http://p/a.xml"),
      Ev(EventKind::kResyncRequest, 1 * kS, "http://p/b.xml"),
      Ev(EventKind::kResyncSuccess, 2 * kS, "http://p/b.xml"),
      Ev(EventKind::kResyncSuccess, 3 * kS, "http://p/a.xml"),
  };
  auto p = PairAttempts(ev, 120 * kS, 1000 * kS);
  CHECK(p[0].outcome == Pairing::Outcome::kSuccess);
  CHECK(p[0].partner == 3);
  CHECK(p[0].duration_us == 3 * kS);
  CHECK(p[1].partner == 2);
  CHECK(p[1].duration_us == 1 * kS);
  CHECK(p[2].partner == 1);
}

TEST_CASE("a failure answers the newest open request of its family") {
  std::vector<Event> ev = {
      Ev(EventKind::kUpgradeRequest, 0, "tftp://s/fw.bin"),
      Ev(EventKind::kResyncRequest, 1 * kS, "http://p/a.xml"),
      Ev(EventKind::kResyncFailure, 2 * kS, "", "http_get failed"),
      Ev(EventKind::kUpgradeFailure, 3 * kS, "", "corrupt file"),
  };
  auto p = PairAttempts(ev, 120 * kS, 1000 * kS);
  CHECK(p[1].outcome == Pairing::Outcome::kFailure);
  CHECK(p[1].partner == 2);
  CHECK(p[0].outcome == Pairing::Outcome::kFailure);
  CHECK(p[0].partner == 3);
}

TEST_CASE("a request without outcome within the timeout has no outcome, later ones pending") {
  std::vector<Event> ev = {
      Ev(EventKind::kResyncRequest, 0, "http://p/a.xml"),
      Ev(EventKind::kResyncSuccess, 200 * kS, "http://p/a.xml"),
      Ev(EventKind::kResyncRequest, 900 * kS, "http://p/a.xml"),
  };
  auto p = PairAttempts(ev, 120 * kS, 950 * kS);
  CHECK(p[0].outcome == Pairing::Outcome::kNoOutcome);
  CHECK(p[1].partner == -1);
  CHECK(p[2].outcome == Pairing::Outcome::kPending);
  auto later = PairAttempts(ev, 120 * kS, 2000 * kS);
  CHECK(later[2].outcome == Pairing::Outcome::kNoOutcome);
}

TEST_CASE("a repeated request for the same URL closes the older one without outcome") {
  std::vector<Event> ev = {
      Ev(EventKind::kResyncRequest, 0, "http://p/a.xml"),
      Ev(EventKind::kResyncRequest, 30 * kS, "http://p/a.xml"),
      Ev(EventKind::kResyncSuccess, 31 * kS, "http://p/a.xml"),
  };
  auto p = PairAttempts(ev, 120 * kS, 1000 * kS);
  CHECK(p[0].outcome == Pairing::Outcome::kNoOutcome);
  CHECK(p[1].outcome == Pairing::Outcome::kSuccess);
  CHECK(p[1].duration_us == 1 * kS);
}

}  // namespace resyncwatch
