// The store-free pieces of `firmware` and `recovery`: URL hosts, addresses, force URLs,
// retry buckets, and upgrade states merged from time slices in any order.
#include <catch2/catch.hpp>
#include <map>

#include "common/file_text.h"
#include "common/net_address.h"
#include "query/firmware.h"
#include "query/recovery.h"
#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch {
namespace {

Event Upgrade(EventKind kind, int64_t t, uint64_t seq, std::string error, std::string path) {
  Event e;
  e.kind = kind;
  e.event_time_us = t;
  e.seq = seq;
  e.error = std::move(error);
  e.path = std::move(path);
  return e;
}

}  // namespace

TEST_CASE("The server of a URL is its bare host, without credentials, port or brackets") {
  CHECK(UrlHost("http://10.23.45.67:80/8851-3PCC.xml") == "10.23.45.67");
  CHECK(UrlHost("tftp://[2001:db8::5]:69/c.cfg") == "2001:db8::5");
  CHECK(UrlHost("https://***:***@prov.example.net/cisco/x.xml") == "prov.example.net");
  CHECK(UrlHost("tftp://192.168.1.200") == "192.168.1.200");
  CHECK(UrlHost("").empty());
  CHECK(UrlHost("not a url").empty());
}

TEST_CASE("Only IP literals are phone addresses; IPv6 force URLs get brackets") {
  CHECK(IsIpAddress("10.1.0.51"));
  CHECK(IsIpAddress("2001:db8::21"));
  CHECK_FALSE(IsIpAddress("relay01"));
  CHECK_FALSE(IsIpAddress("CP-6841-3PCC"));
  CHECK_FALSE(IsIpAddress("10.1.0.51:5060"));
  CHECK_FALSE(IsIpAddress(""));
  CHECK(ForceResyncUrl("10.1.0.51") == "http://10.1.0.51/admin/resync");
  CHECK(ForceResyncUrl("2001:db8::21") == "http://[2001:db8::21]/admin/resync");
}

TEST_CASE("Retry buckets are cumulative, count past due as due now and null as never") {
  const int64_t now = 1'000'000'000'000'000;
  const int64_t s = 1'000'000;
  RetryBuckets b;
  b.Add(now - 60 * s, now);         // past due
  b.Add(now + 600 * s, now);        // exactly 10 min
  b.Add(now + 601 * s, now);        // just over
  b.Add(now + 7 * 3600 * s, now);   // 7 h
  b.Add(now + 25 * 3600 * s, now);  // later than a day
  b.Add(std::nullopt, now);         // retries disabled
  CHECK(b.phones == 6);
  CHECK(b.within == std::array<int64_t, 4>{2, 3, 3, 4});
  CHECK(b.never == 1);
}

TEST_CASE("Upgrade states from time slices merge to the same result in either order") {
  UpgradeState early, late;
  ApplyUpgradeEvent(Upgrade(EventKind::kUpgradeRequest, 100, 1, "", "/fw/a.loads"), &early);
  ApplyUpgradeEvent(Upgrade(EventKind::kUpgradeSuccess, 200, 2, "ver-a", "/fw/a.loads"), &early);
  ApplyUpgradeEvent(Upgrade(EventKind::kUpgradeRequest, 300, 3, "", "/fw/b.loads"), &late);
  ApplyUpgradeEvent(Upgrade(EventKind::kUpgradeFailure, 400, 4, "http_get failed", ""), &late);
  for (bool early_first : {true, false}) {
    UpgradeState merged;
    MergeUpgradeState(early_first ? early : late, &merged);
    MergeUpgradeState(early_first ? late : early, &merged);
    CHECK(merged.firmware == "ver-a");
    CHECK(merged.upgraded_us == 200);
    CHECK(LastUpgradeText(merged) == "failure");
  }
}

TEST_CASE("A success without $ERR names the file of its path, query string dropped") {
  CHECK(FirmwareOf(Upgrade(EventKind::kUpgradeSuccess, 1, 1, "", "/fw/sip88xx.loads?x=1")) ==
        "sip88xx.loads");
  Event from_url = Upgrade(EventKind::kUpgradeSuccess, 1, 1, "", "");
  from_url.url = "tftp://10.2.3.200:69/spa2102.bin";
  CHECK(FirmwareOf(from_url) == "spa2102.bin");
  CHECK(FirmwareOf(Upgrade(EventKind::kUpgradeSuccess, 1, 1, "5.1.10", "/spa2102.bin")) ==
        "5.1.10");
}

TEST_CASE("Failure hosts read by History lookups or by one scan give the same addresses") {
  testing::TempDir dir;
  std::string db = dir.path() + "/store";
  REQUIRE(testing::RunCli({"import", "--db", db, RESYNCWATCH_QUERY_DATA "/outage.log"}).exit_code ==
          0);
  StoreOptions so;
  so.mode = StoreOptions::Mode::kReadOnlyView;
  auto store = Store::Open(db, so);
  REQUIRE(store.ok());
  auto config = ReadFileText(RESYNCWATCH_QUERY_DATA "/outage-schedule.json");
  REQUIRE(config.ok());
  auto configs = ScheduleConfigSet::Parse(*config);
  REQUIRE(configs.ok());
  const int64_t now = testing::kT0 + 300 * testing::kSec;  // 08:05
  auto collect = [&](double scan_us_per_event, double lookup_us) {
    RecoveryQuery q{.configs = &*configs,
                    .range = {now - 86400 * testing::kSec, now + 1},
                    .now_us = now,
                    .scan_us_per_event = scan_us_per_event,
                    .lookup_us = lookup_us};
    std::vector<FailingPhone> phones;
    REQUIRE(CollectRecovery(**store, q, &phones).ok());
    std::map<MacAddress, std::string> ip;
    for (const FailingPhone& p : phones) ip[p.mac] = p.ip + "|" + p.host;
    return ip;
  };
  auto scanned = collect(0, 1e9);    // scanning is free
  auto looked_up = collect(1e9, 0);  // lookups are free
  CHECK(scanned.size() == 7);
  CHECK(scanned == looked_up);
  CHECK(scanned.at(0x000e08abcd02) == "2001:db8::21|2001:db8::21");
  CHECK(scanned.at(0x001234000002) == "|relay01");
}

}  // namespace resyncwatch
