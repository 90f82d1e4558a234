// Catch2 checks shared by the store tests: open a store or fail the test, read one
// device's history whole, and compare two events field by field; and the tests' clock.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace resyncwatch::testing {

constexpr int64_t kT0 = 1'795'680'000'000'000;  // 2026-11-25T00:00:00Z
constexpr int64_t kSec = 1'000'000;

inline std::unique_ptr<Store> OpenOrDie(const std::string& dir, StoreOptions options = {}) {
  auto store = Store::Open(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

inline std::vector<Event> History(const DeviceReader& store, MacAddress mac, TimeRange range = {}) {
  std::vector<Event> out;
  Status s = store.History(mac, range, [&](const Event& e) {
    out.push_back(e);
    return true;
  });
  INFO(s.ToString());
  REQUIRE(s.ok());
  return out;
}

inline void CheckSame(const Event& a, const Event& b) {
  CHECK(a.seq == b.seq);
  CHECK(a.event_time_us == b.event_time_us);
  CHECK(a.received_us == b.received_us);
  CHECK(a.message_time_us == b.message_time_us);
  CHECK(a.kind == b.kind);
  CHECK(a.format == b.format);
  CHECK(a.facility == b.facility);
  CHECK(a.severity == b.severity);
  CHECK(a.mac == b.mac);
  CHECK(a.sn == b.sn);
  CHECK(a.model == b.model);
  CHECK(a.host == b.host);
  CHECK(a.app == b.app);
  CHECK(a.identifier == b.identifier);
  CHECK(a.timestamp_text == b.timestamp_text);
  CHECK(a.url == b.url);
  CHECK(a.scheme == b.scheme);
  CHECK(a.server == b.server);
  CHECK(a.port == b.port);
  CHECK(a.path == b.path);
  CHECK(a.error == b.error);
  CHECK(a.message == b.message);
  CHECK(a.source == b.source);
}

}  // namespace resyncwatch::testing
