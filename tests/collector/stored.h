// What a collector test finds in the store once the daemon has stopped: every event and
// the persisted counters. Header-only; the REQUIREs belong to the calling test.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "store/store.h"

namespace resyncwatch::testing {

inline std::vector<Event> StoredEvents(const std::string& db) {
  std::vector<Event> out;
  auto store = Store::Open(db, StoreOptions{});
  REQUIRE(store.ok());
  REQUIRE((*store)->Scan(TimeRange{}, [&](const Event& e) { return out.push_back(e), true; }).ok());
  return out;
}

inline std::map<std::string, int64_t> StoredCounters(const std::string& db) {
  auto store = Store::Open(db, StoreOptions{});
  REQUIRE(store.ok());
  auto counters = (*store)->Counters();
  REQUIRE(counters.ok());
  return *counters;
}

}  // namespace resyncwatch::testing
