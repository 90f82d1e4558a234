// The wall's /api/fleet panels answered from the daemon's per-minute rollups are byte for
// byte what the scan (resyncwatch fleet --json) prints for the same store and parameters:
// while events arrive, after a restart (rebuild), at minute boundaries, and when the
// rollups must give way to the scan.
#include "query/fleet_rollup.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/time_format.h"
#include "query/fleet_stats.h"
#include "store/store.h"
#include "tests/testlib/testlib.h"
#include "web/api.h"

namespace resyncwatch {
namespace {

using testing::TempDir;

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kMin = 60 * kSec;
// 2026-11-25T08:00:00Z
constexpr int64_t kT0 = 1'795'593'600'000'000;

Event MakeEvent(EventKind kind, MacAddress mac, int64_t t, std::string server,
                std::string error = "") {
  Event e;
  e.event_time_us = t;
  e.received_us = t;
  e.kind = kind;
  e.format = SyslogFormat::kRfc3164;
  e.mac = mac;
  e.model = mac == 0 ? "" : (mac % 3 == 0 ? "CP-8851-3PCC" : "SPA504G");
  if (!server.empty()) {
    e.scheme = "http";
    e.server = server;
    e.path = "/cfg.xml";
    e.url = "http://" + server + "/cfg.xml";
  }
  e.error = std::move(error);
  e.message = "resync line";
  return e;
}

// A fleet's events from start for minutes, in time order: phones that request and then
// succeed or fail (some outcomes naming their server, some not, some with no request seen),
// upgrades, debug lines, lines of no phone, and events on exact minute boundaries.
// switching: phones that move to another server halfway (every fifth one).
std::vector<Event> Fleet(uint32_t seed, int phones, int64_t start, int64_t minutes,
                         bool switching = false) {
  std::mt19937 rng(seed);
  const char* servers[] = {"prov1.example.net", "prov2.example.net", "10.1.0.5"};
  const char* errors[] = {"http_get failed", "corrupt file", "timeout", ""};
  std::vector<Event> out;
  for (int p = 0; p < phones; ++p) {
    const MacAddress mac = 0x000e08000000 + p;
    int64_t t = start + static_cast<int64_t>(rng() % (20 * kMin));
    while (t < start + minutes * kMin) {
      if (rng() % 7 == 0) t = t / kMin * kMin;  // on the minute
      const bool moved = switching && p % 5 == 0 && t > start + minutes * kMin / 2;
      const std::string server = servers[(p + moved) % 3];
      const bool upgrade = rng() % 10 == 0;
      if (rng() % 8 != 0) {
        out.push_back(MakeEvent(upgrade ? EventKind::kUpgradeRequest : EventKind::kResyncRequest,
                                mac, t, server));
      }
      // The outcome at once, seconds, or a minute or more later.
      const int64_t lag = std::array<int64_t, 4>{0, 2 * kSec, 70 * kSec, 185 * kSec}[rng() % 4];
      if (rng() % 3 == 0) {
        out.push_back(MakeEvent(upgrade ? EventKind::kUpgradeFailure : EventKind::kResyncFailure,
                                mac, t + lag, "", errors[rng() % 4]));
      } else if (rng() % 5 != 0) {
        out.push_back(MakeEvent(upgrade ? EventKind::kUpgradeSuccess : EventKind::kResyncSuccess,
                                mac, t + lag, rng() % 2 ? server : ""));
      }
      if (rng() % 6 == 0) out.push_back(MakeEvent(EventKind::kDebug, mac, t + lag + kSec, ""));
      if (rng() % 5 == 0) out.back().model.clear();
      t += lag + static_cast<int64_t>(5 * kMin + rng() % (40 * kMin));
    }
  }
  for (int64_t m = 0; m < minutes; m += 13) {
    out.push_back(MakeEvent(EventKind::kResyncFailure, 0, start + m * kMin + 7 * kSec, "", "x"));
    out.push_back(MakeEvent(EventKind::kUnknown, 0, start + m * kMin + 9 * kSec, ""));
  }
  std::stable_sort(out.begin(), out.end(), [](const Event& a, const Event& b) {
    return a.event_time_us < b.event_time_us;
  });
  return out;
}

// Writes events in batches like the collector's writer, each observed once stored.
void Ingest(Store& store, FleetRollup* rollup, std::vector<Event> events, size_t batch = 97) {
  for (size_t i = 0; i < events.size(); i += batch) {
    WriteBatch b;
    b.events.assign(events.begin() + i, events.begin() + std::min(events.size(), i + batch));
    REQUIRE(store.Write(b).ok());
    if (rollup != nullptr) rollup->Observe(b.events);
  }
}

std::string Api(Store& store, const FleetRollup* rollup, const std::string& query) {
  ApiContext context;
  context.store = &store;
  context.fleet_rollup = rollup;
  ApiRequest request;
  request.path = "/api/fleet";
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string kv = query.substr(start, amp - start);
    size_t eq = kv.find('=');
    request.params.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    start = amp + 1;
  }
  ApiReply reply = HandleApi(context, request);
  REQUIRE(reply.status == 200);
  return reply.body;
}

// The wall's fleet panels (the console asks with now= on a whole minute) and others.
std::vector<std::string> Queries(int64_t now) {
  const std::string n = "&now=" + FormatIso8601Utc(now);
  return {"since=1h" + n,
          "since=2h&until=1h" + n,
          "since=24h&top=10" + n,
          "since=48h&until=24h" + n,
          "since=24h&by=hour" + n,
          "since=24h&by=server" + n,
          "since=24h&by=model" + n,
          "since=47m&by=server" + n,
          "since=2h&until=73m&by=model" + n,
          "since=90m&by=hour" + n,
          "since=3h&until=47m&by=hour" + n,
          "since=" + FormatIso8601Utc(kT0 + 37 * kMin) +
              "&until=" + FormatIso8601Utc(kT0 + 38 * kMin) + n,
          "since=" + FormatIso8601Utc(kT0 + 61 * kMin) + "&top=100" + n};
}

// Every query answers alike through the rollup and the scan, and the rollup answered
// the aligned ones itself.
void CheckAgrees(Store& store, const FleetRollup& rollup, int64_t now, int empty = 1) {
  size_t answered = 0;
  for (const std::string& q : Queries(now)) {
    INFO(q);
    const std::string scanned = Api(store, nullptr, q);
    CHECK(Api(store, &rollup, q) == scanned);
    answered += !scanned.empty();
  }
  if (empty >= 0) CHECK(answered + empty == Queries(now).size());
  CHECK(rollup.Answer({now - 24 * 60 * kMin, INT64_MAX}, GroupBy::kNone).has_value());
  CHECK(rollup.Answer({now - 2 * 60 * kMin, now - 60 * kMin}, GroupBy::kHour).has_value());
  CHECK(rollup.Answer({now - 24 * 60 * kMin, INT64_MAX}, GroupBy::kServer).has_value());
  CHECK(rollup.Answer({now - 24 * 60 * kMin, INT64_MAX}, GroupBy::kModel).has_value());
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<Store> store;
  ManualClock clock{kT0 + 4 * 60 * kMin};
  FleetRollup::Options Options() {
    FleetRollup::Options o;
    o.clock = &clock;
    return o;
  }
  Fixture() {
    Result<std::unique_ptr<Store>> s = Store::Open(dir.path() + "/db", StoreOptions());
    REQUIRE(s.ok());
    store = std::move(*s);
  }
};

}  // namespace

TEST_CASE("Fleet panels from the rollup equal the scan while events arrive") {
  Fixture f;
  FleetRollup rollup(f.Options());
  REQUIRE(rollup.Rebuild(*f.store).ok());  // empty store: built, nothing in it
  Ingest(*f.store, &rollup, Fleet(11, 100, kT0 - 30 * 60 * kMin, 60));  // for 48h..24h
  std::vector<Event> events = Fleet(1, 300, kT0, 4 * 60);
  const size_t half = events.size() / 2;
  Ingest(*f.store, &rollup, {events.begin(), events.begin() + half});
  CheckAgrees(*f.store, rollup, kT0 + 4 * 60 * kMin, -1);
  Ingest(*f.store, &rollup, {events.begin() + half, events.end()});
  CheckAgrees(*f.store, rollup, kT0 + 4 * 60 * kMin, 0);
  CHECK(rollup.out_of_order() == 0);
}

TEST_CASE("Fleet rollups rebuilt from the store after a restart equal the scan") {
  Fixture f;
  Ingest(*f.store, nullptr, Fleet(12, 100, kT0 - 30 * 60 * kMin, 60));
  Ingest(*f.store, nullptr, Fleet(2, 250, kT0, 4 * 60));
  FleetRollup rollup(f.Options());
  CHECK(!rollup.Answer({kT0, INT64_MAX}, GroupBy::kNone).has_value());  // not built yet
  CHECK(Api(*f.store, &rollup, "since=1h&now=2026-11-25T12:00:00Z") ==
        Api(*f.store, nullptr, "since=1h&now=2026-11-25T12:00:00Z"));
  REQUIRE(rollup.Rebuild(*f.store).ok());
  CheckAgrees(*f.store, rollup, kT0 + 4 * 60 * kMin, 0);
}

TEST_CASE("Fleet rollups rebuilt while batches are stored count each event once") {
  Fixture f;
  std::vector<Event> events = Fleet(3, 300, kT0, 4 * 60);
  const size_t first = events.size() * 2 / 3;
  Ingest(*f.store, nullptr, {events.begin(), events.begin() + first});
  FleetRollup rollup(f.Options());
  std::thread rebuild([&] { REQUIRE(rollup.Rebuild(*f.store).ok()); });
  Ingest(*f.store, &rollup, {events.begin() + first, events.end()}, 11);
  rebuild.join();
  CheckAgrees(*f.store, rollup, kT0 + 4 * 60 * kMin);
}

TEST_CASE("A batch stored before a rebuild and observed after it is counted once") {
  // The writer stores a batch, then hands it to Observe: a rebuild can run in between.
  Fixture f;
  std::vector<Event> events = Fleet(4, 120, kT0, 4 * 60);
  const size_t first = events.size() - 40;
  Ingest(*f.store, nullptr, {events.begin(), events.begin() + first});
  FleetRollup rollup(f.Options());
  WriteBatch last;
  last.events.assign(events.begin() + first, events.end());
  REQUIRE(f.store->Write(last).ok());
  REQUIRE(rollup.Rebuild(*f.store).ok());
  rollup.Observe(last.events);
  CheckAgrees(*f.store, rollup, kT0 + 4 * 60 * kMin);
}

TEST_CASE("Fleet rollups give way to the scan for what they cannot answer exactly") {
  Fixture f;
  FleetRollup rollup(f.Options());
  REQUIRE(rollup.Rebuild(*f.store).ok());
  Ingest(*f.store, &rollup, Fleet(4, 100, kT0, 4 * 60));
  const int64_t now = kT0 + 4 * 60 * kMin;
  CHECK(!rollup.Answer({now - 60 * kMin + kSec, INT64_MAX}, GroupBy::kNone));  // odd since
  CHECK(!rollup.Answer({now - 60 * kMin, now - kSec}, GroupBy::kNone));        // odd until
  CHECK(!rollup.Answer({INT64_MIN, INT64_MAX}, GroupBy::kNone));               // open since
  CHECK(!rollup.Answer({now - 60 * kMin, INT64_MAX}, GroupBy::kError));
  CHECK(!rollup.Answer({now - 50 * 60 * kMin, INT64_MAX}, GroupBy::kNone));  // before window
  const std::string n = "&now=2026-11-25T11:59:30Z";
  for (std::string q : {"since=1h", "since=24h&by=server", "since=24h&by=model",
                        "since=24h&by=error", "since=2h&until=1h"}) {
    INFO(q);
    CHECK(Api(*f.store, &rollup, q + n) == Api(*f.store, nullptr, q + n));
  }

  // A phone's event stored out of time order: scanned until rebuilt.
  Ingest(*f.store, &rollup,
         {MakeEvent(EventKind::kResyncFailure, 0x000e08000001, kT0 + 5 * kMin, "", "late")});
  CHECK(rollup.out_of_order() == 1);
  CHECK(!rollup.Answer({now - 60 * kMin, INT64_MAX}, GroupBy::kNone));
  CHECK(Api(*f.store, &rollup, "since=4h" + n) == Api(*f.store, nullptr, "since=4h" + n));
  REQUIRE(rollup.Rebuild(*f.store).ok());
  CheckAgrees(*f.store, rollup, now);
}

TEST_CASE("Fleet rollups drop minutes as the window moves and keep agreeing") {
  Fixture f;
  FleetRollup::Options o = f.Options();
  o.window_us = 3 * 60 * kMin;  // three hours
  FleetRollup rollup(o);
  REQUIRE(rollup.Rebuild(*f.store).ok());
  std::vector<Event> events = Fleet(5, 200, kT0, 4 * 60);
  Ingest(*f.store, &rollup, events);
  const int64_t now = kT0 + 4 * 60 * kMin;
  // The store holds four hours; the rollup the last three (the first was pruned).
  CHECK(!rollup.Answer({now - 4 * 60 * kMin, INT64_MAX}, GroupBy::kNone));
  CHECK(Api(*f.store, &rollup, "since=4h&now=2026-11-25T12:00:00Z") ==
        Api(*f.store, nullptr, "since=4h&now=2026-11-25T12:00:00Z"));
  for (std::string q : {"since=1h", "since=2h&until=1h", "since=150m&by=hour"}) {
    q += "&now=2026-11-25T12:00:00Z";
    INFO(q);
    CHECK(Api(*f.store, &rollup, q) == Api(*f.store, nullptr, q));
  }
  CHECK(rollup.Answer({now - 2 * 60 * kMin, INT64_MAX}, GroupBy::kHour).has_value());
}

TEST_CASE("Fleet rollups forget phones gone quiet past the window and reuse their records") {
  Fixture f;
  FleetRollup::Options o = f.Options();
  o.window_us = 2 * 60 * kMin;
  FleetRollup rollup(o);
  f.clock.Set(kT0 + 60 * kMin);
  REQUIRE(rollup.Rebuild(*f.store).ok());
  Ingest(*f.store, &rollup, Fleet(7, 100, kT0, 60));
  // Three hours on, other phones (some records of the first ones are reused for them).
  f.clock.Set(kT0 + 4 * 60 * kMin);
  std::vector<Event> later = Fleet(8, 150, kT0 + 3 * 60 * kMin, 60, true);
  for (Event& e : later) {
    if (e.mac != 0) e.mac += 0x1000;
  }
  Ingest(*f.store, &rollup, later);
  REQUIRE(rollup.Answer({kT0 + 3 * 60 * kMin, INT64_MAX}, GroupBy::kNone).has_value());
  for (std::string q :
       {"since=1h", "since=90m&by=hour", "since=2h&by=server", "since=1h&by=model"}) {
    q += "&now=2026-11-25T12:00:00Z";
    INFO(q);
    CHECK(Api(*f.store, &rollup, q) == Api(*f.store, nullptr, q));
  }
}

TEST_CASE("Fleet stats merged from time slices equal one scan wherever the cut falls") {
  std::vector<Event> events = Fleet(6, 60, kT0, 3 * 60, true);
  for (GroupBy by : {GroupBy::kNone, GroupBy::kHour, GroupBy::kServer, GroupBy::kModel}) {
    FleetStats whole(by);
    for (const Event& e : events) whole.Add(e);
    const FleetSummary want = whole.Summarize();
    for (size_t cut : {events.size() / 3, events.size() / 2, events.size() - 5}) {
      FleetStats merged(by), first(by), second(by);
      for (size_t i = 0; i < events.size(); ++i) (i < cut ? first : second).Add(events[i]);
      merged.MergeLater(first);
      merged.MergeLater(second);
      const FleetSummary got = merged.Summarize();
      INFO("cut " << cut);
      CHECK(got.servers == want.servers);
      CHECK(got.errors == want.errors);
      CHECK(got.devices_last_failed == want.devices_last_failed);
      CHECK(got.devices == want.devices);
      CHECK(got.groups.size() == want.groups.size());
      for (size_t i = 0; i < std::min(got.groups.size(), want.groups.size()); ++i) {
        INFO("group " << want.groups[i].key);
        CHECK(got.groups[i].key == want.groups[i].key);
        CHECK(got.groups[i].devices == want.groups[i].devices);
        CHECK(got.groups[i].counts == want.groups[i].counts);
        CHECK(got.groups[i].devices_last_failed == want.groups[i].devices_last_failed);
      }
    }
  }
}

TEST_CASE("Fleet rollups scan by server while a phone that changed server is in range") {
  Fixture f;
  FleetRollup rollup(f.Options());
  REQUIRE(rollup.Rebuild(*f.store).ok());
  Ingest(*f.store, &rollup, Fleet(7, 200, kT0, 4 * 60, /*switching=*/true));
  const int64_t now = kT0 + 4 * 60 * kMin;
  // Phones moved in the second half (after 10:00): ranges from 11:59 on are after the moves.
  CHECK(!rollup.Answer({now - 3 * 60 * kMin, INT64_MAX}, GroupBy::kServer));
  CHECK(rollup.Answer({now - 3 * 60 * kMin, INT64_MAX}, GroupBy::kModel).has_value());
  CHECK(rollup.Answer({now - 3 * 60 * kMin, INT64_MAX}, GroupBy::kNone).has_value());
  for (std::string q : {"since=3h&by=server", "since=24h&by=server", "since=1m&by=server",
                        "since=3h", "since=3h&by=model"}) {
    q += "&now=2026-11-25T12:00:00Z";
    INFO(q);
    CHECK(Api(*f.store, &rollup, q) == Api(*f.store, nullptr, q));
  }
}

}  // namespace resyncwatch

namespace resyncwatch {

TEST_CASE("Fleet rollups leave ranges near the store's retention edge to the scan") {
  Fixture f;
  FleetRollup::Options o = f.Options();
  o.retention_us = 3 * 60 * kMin;
  FleetRollup rollup(o);
  REQUIRE(rollup.Rebuild(*f.store).ok());
  Ingest(*f.store, &rollup, Fleet(8, 100, kT0, 4 * 60));
  const int64_t now = kT0 + 4 * 60 * kMin;
  // Retention drops events older than 3 h on its own schedule: within an hour of that
  // edge the rollups cannot know what the store still holds.
  CHECK(!rollup.Answer({now - 150 * kMin, INT64_MAX}, GroupBy::kNone));
  CHECK(rollup.Answer({now - 120 * kMin, INT64_MAX}, GroupBy::kNone).has_value());
  for (std::string q : {"since=150m", "since=2h"}) {
    q += "&now=2026-11-25T12:00:00Z";
    INFO(q);
    CHECK(Api(*f.store, &rollup, q) == Api(*f.store, nullptr, q));
  }
}

TEST_CASE("Fleet rollups rebuilt after an import into the stopped daemon's store") {
  Fixture f;
  Ingest(*f.store, nullptr, Fleet(9, 150, kT0, 2 * 60));
  {
    // resyncwatch import: older lines, message-time stamped, skipping what is stored.
    WriteBatch b;
    b.skip_duplicates = true;
    b.events = Fleet(10, 150, kT0 + 2 * 60 * kMin, 2 * 60);
    REQUIRE(f.store->Write(b).ok());
  }
  FleetRollup rollup(f.Options());
  REQUIRE(rollup.Rebuild(*f.store).ok());
  CheckAgrees(*f.store, rollup, kT0 + 4 * 60 * kMin);
}

}  // namespace resyncwatch
