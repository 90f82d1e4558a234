// A Write that fails part-way leaves the writer's in-memory state as it was: nothing the
// failed batch staged (SN -> MAC, device states, seq numbers) survives into later writes.
#include <catch2/catch.hpp>

#include "store/store.h"
#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

Event WithSerial(MacAddress mac, int64_t t, std::string sn) {
  Event e = PhoneEvent(mac, t, EventKind::kResyncRequest);
  e.sn = std::move(sn);
  return e;
}

}  // namespace

TEST_CASE("An import that fails on a duplicate check leaves no serial number behind in memory") {
  TempDir tmp;
  auto faults = std::make_shared<StoreFaults>();
  StoreOptions options;
  options.faults = faults;
  auto store = OpenOrDie(tmp.path(), options);

  // An earlier import, flushed to a table file, so that checking one of its events for a
  // duplicate reads the disk.
  const Event earlier = PhoneEvent(0xb2, kT0 + 10 * kSec, EventKind::kResyncSuccess);
  WriteBatch first;
  first.skip_duplicates = true;
  first.events = {earlier, PhoneEvent(0xb2, kT0 + 20 * kSec, EventKind::kResyncSuccess)};
  REQUIRE(store->Write(first).ok());
  REQUIRE(store->Flush().ok());

  // A new phone with its serial number (its dedup key lies before the table file's keys,
  // so checking it reads no file), then the earlier event again, whose check reads the
  // failing disk.
  WriteBatch failing;
  failing.skip_duplicates = true;
  failing.events = {WithSerial(0xa1, kT0, "FCH2251A1B2"), earlier};
  faults->read_error = true;
  auto failed = store->Write(failing);
  faults->read_error = false;
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message().find("Input/output error") != std::string::npos);
  CHECK(failing.events[0].seq == 0);  // nothing of the batch was stored
  CHECK(store->MacForSerial("FCH2251A1B2").status().IsNotFound());

  // The same phone again: its serial number must be written now.
  WriteBatch again;
  again.events = {WithSerial(0xa1, kT0 + kSec, "FCH2251A1B2")};
  REQUIRE(store->Write(again).ok());
  auto mac = store->MacForSerial("FCH2251A1B2");
  INFO(mac.status().ToString());
  REQUIRE(mac.ok());
  CHECK(*mac == 0xa1);
  CHECK(History(*store, 0xa1).size() == 1);
}

TEST_CASE("A raw datagram whose duplicate check fails leaves the batch's serials unwritten") {
  TempDir tmp;
  auto faults = std::make_shared<StoreFaults>();
  StoreOptions options;
  options.faults = faults;
  auto store = OpenOrDie(tmp.path(), options);

  const RawDatagram garbage{0, kT0 + 10 * kSec, "file:messages", "no syslog header", "junk"};
  WriteBatch first;
  first.skip_duplicates = true;
  first.raw = {garbage, RawDatagram{0, kT0 + 20 * kSec, "file:messages", "no syslog header", "x"}};
  REQUIRE(store->Write(first).ok());
  REQUIRE(store->Flush().ok());

  WriteBatch failing;
  failing.skip_duplicates = true;
  failing.events = {WithSerial(0xa1, kT0, "FCH2251A1B2")};
  // At a time the previous import batch did not have, between two stored ones: its check
  // reads the stored block.
  failing.raw = {RawDatagram{0, kT0 + 15 * kSec, "file:messages", "no syslog header", "junk"}};
  faults->read_error = true;
  auto failed = store->Write(failing);
  faults->read_error = false;
  REQUIRE_FALSE(failed.ok());

  WriteBatch again;
  again.events = {WithSerial(0xa1, kT0 + kSec, "FCH2251A1B2")};
  REQUIRE(store->Write(again).ok());
  auto mac = store->MacForSerial("FCH2251A1B2");
  INFO(mac.status().ToString());
  REQUIRE(mac.ok());
  CHECK(*mac == 0xa1);
}
