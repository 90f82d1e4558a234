// The fleet rules: schedule_overdue and schedule_hammering on schedule summaries (fake
// ones, and one analysed from a small real store), fleet_silence and network_silence on
// datagrams with explicit receive times and a fake clock driving Tick. No sleeps.
#include <arpa/inet.h>
#include <simdjson.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "alerts/alerts.h"
#include "common/clock.h"
#include "schedule/schedule.h"
#include "store/store.h"
#include "tests/testlib/testlib.h"

using namespace resyncwatch;
using resyncwatch::testing::TempDir;

namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kT0 = 1'795'000'000LL * kSec;  // 2026-11-18T11:06:40Z

struct Recorder {
  std::vector<AlertChange> changes;
  AlertListener Listener() {
    return [this](const AlertChange& c) { changes.push_back(c); };
  }
  int Count(AlertChange::Kind kind, AlertRule rule) const {
    int n = 0;
    for (const auto& c : changes) n += c.kind == kind && c.alert.rule == rule;
    return n;
  }
  const Alert* Last(AlertRule rule) const {
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      if (it->alert.rule == rule) return &it->alert;
    }
    return nullptr;
  }
};

// Only the fleet rules: the failure rules are off.
AlertConfig FleetRulesOnly() {
  AlertConfig c;
  c.failures_enabled = false;
  c.ratio_enabled = false;
  c.device_enabled = false;
  return c;
}

FleetScheduleSummary Summary(int64_t now_us, int64_t phones, int64_t overdue,
                             int64_t hammering = 0) {
  FleetScheduleSummary s;
  s.now_us = now_us;
  s.phones = phones;
  s.overdue = overdue;
  s.hammering = hammering;
  for (int64_t i = 0; i < std::min<int64_t>(overdue, 3); ++i) s.worst_overdue.push_back(100 + i);
  for (int64_t i = 0; i < std::min<int64_t>(hammering, 3); ++i) {
    s.worst_hammering.push_back(200 + i);
  }
  return s;
}

SenderNetwork V4(const char* text) {
  uint8_t a[4];
  REQUIRE(inet_pton(AF_INET, text, a) == 1);
  return SenderNetwork::FromIpv4(a);
}

SenderNetwork V6(const char* text) {
  uint8_t a[16];
  REQUIRE(inet_pton(AF_INET6, text, a) == 1);
  return SenderNetwork::FromIpv6(a);
}

// A summary in which one phone's next window opened at window_start_us.
FleetScheduleSummary DueSummary(int64_t now_us, int64_t window_start_us) {
  FleetScheduleSummary s = Summary(now_us, 10, 0);
  s.window_starts = {window_start_us};
  return s;
}

// Runs the fake clock from its time to until_us in one-second ticks; each sender network
// in `sending` sends one datagram every 10 s.
void Run(ManualClock* clock, AlertEngine* engine, int64_t until_us,
         const std::vector<SenderNetwork>& sending) {
  while (clock->NowMicros() < until_us) {
    clock->Advance(kSec);
    int64_t now = clock->NowMicros();
    if ((now / kSec) % 10 == 0) {
      for (const SenderNetwork& n : sending) engine->ObserveDatagram(n, now);
    }
    engine->Tick(now);
  }
}

}  // namespace

TEST_CASE("Phones overdue at the count threshold raise one alert that updates and resolves once") {
  AlertConfig c = FleetRulesOnly();
  c.overdue_min_phones = 50;
  c.overdue_min_share = 0;  // the count alone
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  int64_t t = kT0;
  for (int64_t overdue : {10, 49, 50, 80, 80, 60, 49, 30, 49}) {
    engine.SetFleetSchedule(Summary(t, 10'000, overdue));
    engine.Tick(t);
    t += 5 * kMin;
  }
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kScheduleOverdue) == 1);
  CHECK(rec.Count(AlertChange::Kind::kUpdated, AlertRule::kScheduleOverdue) == 2);  // 80, 60
  CHECK(rec.Count(AlertChange::Kind::kResolved, AlertRule::kScheduleOverdue) == 1);
  CHECK(engine.ActiveCount(AlertRule::kScheduleOverdue) == 0);
  REQUIRE(rec.changes.size() == 4);
  const Alert& fired = rec.changes[0].alert;
  CHECK(fired.phones == 50);
  CHECK(fired.fleet_phones == 10'000);
  CHECK(fired.started_us == kT0 + 10 * kMin);
  CHECK(fired.sample_macs == std::vector<MacAddress>{100, 101, 102});
  CHECK(rec.changes[3].alert.id == fired.id);
  CHECK(rec.changes[3].alert.resolved_us == kT0 + 30 * kMin);
}

TEST_CASE("An overdue share of the fleet fires below the phone count threshold") {
  AlertConfig c = FleetRulesOnly();
  c.overdue_min_phones = 50;
  c.overdue_min_share = 0.05;
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  engine.SetFleetSchedule(Summary(kT0, 200, 9));  // 4.5 %
  engine.Tick(kT0);
  CHECK(engine.ActiveCount(AlertRule::kScheduleOverdue) == 0);
  engine.SetFleetSchedule(Summary(kT0 + 5 * kMin, 200, 10));  // 5 %
  engine.Tick(kT0 + 5 * kMin);
  REQUIRE(engine.ActiveCount(AlertRule::kScheduleOverdue) == 1);

  std::string json = AlertToJson(*rec.Last(AlertRule::kScheduleOverdue));
  simdjson::dom::parser parser;
  auto doc = parser.parse(json).value();
  CHECK(std::string_view(doc["rule"]) == "schedule_overdue");
  CHECK(int64_t(doc["phones"]) == 10);
  CHECK(int64_t(doc["fleet_phones"]) == 200);
  CHECK(double(doc["share"]) == Approx(0.05));
  CHECK(double(doc["share_threshold"]) == Approx(0.05));
  CHECK(std::string_view(doc["sample_macs"].at(0)) == "000000000064");
  auto back = AlertFromJson(json);
  REQUIRE(back.ok());
  CHECK(back->phones == 10);
  CHECK(back->fleet_phones == 200);
  CHECK(back->share_threshold == Approx(0.05));

  engine.SetFleetSchedule(Summary(kT0 + 10 * kMin, 200, 9));
  engine.Tick(kT0 + 10 * kMin);
  CHECK(engine.ActiveCount(AlertRule::kScheduleOverdue) == 0);
  CHECK(rec.Count(AlertChange::Kind::kResolved, AlertRule::kScheduleOverdue) == 1);
}

TEST_CASE("One hammering phone raises one alert carrying the worst MACs, resolved once") {
  Recorder rec;
  AlertEngine engine(FleetRulesOnly(), rec.Listener());
  int64_t t = kT0;
  for (int64_t hammering : {0, 1, 1, 2, 0, 0}) {
    engine.SetFleetSchedule(Summary(t, 100, 0, hammering));
    engine.Tick(t);
    t += 5 * kMin;
  }
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kScheduleHammering) == 1);
  CHECK(rec.Count(AlertChange::Kind::kUpdated, AlertRule::kScheduleHammering) == 1);
  CHECK(rec.Count(AlertChange::Kind::kResolved, AlertRule::kScheduleHammering) == 1);
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kScheduleOverdue) == 0);
  REQUIRE(rec.changes.size() == 3);
  CHECK(rec.changes[0].alert.sample_macs == std::vector<MacAddress>{200});
  CHECK(rec.changes[1].alert.sample_macs == std::vector<MacAddress>{200, 201});
  CHECK(AlertSummary(rec.changes[0].alert) ==
        "FIRING schedule_hammering: the fleet: 1 of 100 phones hammering (>= 1)");
}

TEST_CASE("Fleet silence fires once while a phone is due and resolves on the next datagram") {
  Recorder rec;
  AlertEngine engine(FleetRulesOnly(), rec.Listener());
  ManualClock clock(kT0);
  SenderNetwork relay = V4("10.1.2.3");
  engine.SetFleetSchedule(DueSummary(kT0, kT0 + 30 * kMin));
  Run(&clock, &engine, kT0 + 10 * kMin, {relay});
  // Silent from here; no phone is due for the first 20 minutes.
  Run(&clock, &engine, kT0 + 30 * kMin - kSec, {});
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kFleetSilence) == 0);
  Run(&clock, &engine, kT0 + 60 * kMin, {});
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kFleetSilence) == 1);
  REQUIRE(engine.ActiveCount(AlertRule::kFleetSilence) == 1);
  const Alert* fired = rec.Last(AlertRule::kFleetSilence);
  CHECK(fired->started_us == kT0 + 30 * kMin);
  CHECK(fired->first_us == kT0 + 10 * kMin);
  CHECK(fired->phones == 1);
  Run(&clock, &engine, kT0 + 61 * kMin, {relay});
  CHECK(rec.Count(AlertChange::Kind::kResolved, AlertRule::kFleetSilence) == 1);
  CHECK(engine.ActiveCount(AlertRule::kFleetSilence) == 0);
  // The silent network was silent too, but the fleet was: no network alert.
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kNetworkSilence) == 0);
}

TEST_CASE("Without a schedule analysis showing a phone due, fleet silence raises nothing") {
  Recorder rec;
  AlertEngine engine(FleetRulesOnly(), rec.Listener());
  ManualClock clock(kT0);
  Run(&clock, &engine, kT0 + 5 * kMin, {V4("10.1.2.3")});
  Run(&clock, &engine, kT0 + 60 * kMin, {});
  CHECK(rec.changes.empty());
}

TEST_CASE("One silent network raises one alert while the others send; it resolves on sending") {
  Recorder rec;
  AlertEngine engine(FleetRulesOnly(), rec.Listener());
  ManualClock clock(kT0);
  SenderNetwork a = V4("10.1.2.3"), b = V4("10.1.3.3"), relay6 = V6("2001:db8:0:7::5");
  Run(&clock, &engine, kT0 + 30 * kMin, {a, b, relay6});
  Run(&clock, &engine, kT0 + 40 * kMin - kSec, {a, b});  // relay6 silent 10 min - 1 s
  CHECK(rec.changes.empty());
  Run(&clock, &engine, kT0 + 90 * kMin, {a, b});
  REQUIRE(rec.changes.size() == 1);
  const Alert fired = rec.changes[0].alert;  // a copy: more changes are coming
  CHECK(rec.changes[0].kind == AlertChange::Kind::kFired);
  CHECK(fired.rule == AlertRule::kNetworkSilence);
  CHECK(fired.group_value == "2001:db8:0:7::/64");
  CHECK(fired.first_us == kT0 + 30 * kMin);
  CHECK(fired.phones == 180);  // datagrams in the hour before the silence
  CHECK(engine.ActiveCount(AlertRule::kNetworkSilence) == 1);
  CHECK(engine.ActiveAlerts().size() == 1);

  Run(&clock, &engine, kT0 + 91 * kMin, {a, b, relay6});
  REQUIRE(rec.changes.size() == 2);
  CHECK(rec.changes[1].kind == AlertChange::Kind::kResolved);
  CHECK(rec.changes[1].alert.id == fired.id);
  CHECK(engine.ActiveCount(AlertRule::kNetworkSilence) == 0);
}

TEST_CASE("A network that was never active raises no silence alert") {
  Recorder rec;
  AlertConfig c = FleetRulesOnly();
  c.network_min_datagrams = 5;
  AlertEngine engine(c, rec.Listener());
  ManualClock clock(kT0);
  SenderNetwork busy = V4("10.1.2.3"), once = V4("192.0.2.7");
  Run(&clock, &engine, kT0 + 30 * kSec, {busy, once});  // `once` sends 3 datagrams
  Run(&clock, &engine, kT0 + 60 * kMin, {busy});
  CHECK(rec.changes.empty());
  CHECK(engine.tracked_networks() == 2);
}

TEST_CASE("A network silent past forget_after is forgotten and its alert resolves") {
  Recorder rec;
  AlertConfig c = FleetRulesOnly();
  c.network_forget_us = 60 * kMin;
  AlertEngine engine(c, rec.Listener());
  ManualClock clock(kT0);
  SenderNetwork a = V4("10.1.2.3"), gone = V4("10.9.9.9");
  Run(&clock, &engine, kT0 + 10 * kMin, {a, gone});
  Run(&clock, &engine, kT0 + 80 * kMin, {a});
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kNetworkSilence) == 1);
  CHECK(rec.Count(AlertChange::Kind::kResolved, AlertRule::kNetworkSilence) == 1);
  CHECK(engine.tracked_networks() == 1);
}

TEST_CASE("At most max_networks are tracked: the longest silent is evicted and counted") {
  AlertConfig c = FleetRulesOnly();
  c.max_networks = 3;
  AlertEngine engine(c, {});
  int64_t t = kT0;
  for (const char* ip : {"10.0.1.1", "10.0.2.1", "10.0.3.1", "10.0.1.2", "10.0.4.1"}) {
    engine.ObserveDatagram(V4(ip), t);
    t += 2 * kSec;
  }
  CHECK(engine.tracked_networks() == 3);
  CHECK(engine.evicted_networks() == 1);  // 10.0.2.0/24, silent the longest
  std::string metrics = RenderActiveAlertsMetrics(engine);
  CHECK(metrics.find("resyncwatch_alert_networks 3\n") != std::string::npos);
  CHECK(metrics.find("resyncwatch_alert_networks_evicted_total 1\n") != std::string::npos);
  CHECK(metrics.find("resyncwatch_active_alerts{rule=\"network_silence\"} 0\n") !=
        std::string::npos);
}

TEST_CASE("Sender networks are the /24 of IPv4 and the /64 of IPv6, mapped IPv4 as IPv4") {
  CHECK(V4("192.0.2.77").ToString() == "192.0.2.0/24");
  CHECK(V4("192.0.2.77") == V4("192.0.2.1"));
  CHECK_FALSE(V4("192.0.2.77") == V4("192.0.3.77"));
  CHECK(V6("2001:db8:0:1:aaaa::1").ToString() == "2001:db8:0:1::/64");
  CHECK(V6("2001:db8:0:1:aaaa::1") == V6("2001:db8:0:1::2"));
  CHECK(V6("::ffff:192.0.2.9") == V4("192.0.2.200"));
  CHECK_FALSE(V6("::c000:209") == V4("192.0.2.9"));
}

namespace {

Event Resync(EventKind kind, int64_t t, MacAddress mac) {
  Event e;
  e.kind = kind;
  e.format = SyslogFormat::kRfc3164;
  e.event_time_us = e.received_us = t;
  e.mac = mac;
  e.model = "CP-8851-3PCC";
  e.source = "10.1.2.3:514";
  if (kind == EventKind::kResyncFailure) e.error = "http_get failed";
  return e;
}

}  // namespace

TEST_CASE("The schedule analysis of a real store finds the overdue and the hammering phone") {
  TempDir dir;
  auto store = Store::Open(dir.path(), StoreOptions());
  REQUIRE(store.ok());
  const int64_t now = kT0 + 12 * 3600 * kSec;
  constexpr MacAddress kOnTime = 0x000e08000001, kSilent = 0x000e08000002,
                       kHammering = 0x000e08000003;
  WriteBatch batch;
  for (int64_t t = kT0; t < now; t += 3600 * kSec) {
    batch.events.push_back(Resync(EventKind::kResyncSuccess, t, kOnTime));
    if (t < now - 5 * 3600 * kSec)
      batch.events.push_back(Resync(EventKind::kResyncSuccess, t + kSec, kSilent));
  }
  // Failures every 40 s (apart enough to be attempts of their own) against a retry
  // schedule starting at 60 s.
  for (int64_t t = now - 10 * kMin; t < now; t += 40 * kSec) {
    batch.events.push_back(Resync(EventKind::kResyncFailure, t, kHammering));
  }
  std::sort(batch.events.begin(), batch.events.end(),
            [](const Event& x, const Event& y) { return x.event_time_us < y.event_time_us; });
  REQUIRE((*store)->Write(batch).ok());

  AlertConfig c = FleetRulesOnly();
  c.overdue_min_phones = 1;
  auto summary = AnalyzeFleetSchedule(**store, ScheduleConfigSet(), c, now);
  REQUIRE(summary.ok());
  CHECK(summary->phones == 3);
  CHECK(summary->overdue == 1);
  CHECK(summary->worst_overdue == std::vector<MacAddress>{kSilent});
  CHECK(summary->hammering == 1);
  CHECK(summary->worst_hammering == std::vector<MacAddress>{kHammering});
  CHECK(summary->DueAt(now) >= 1);

  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  ManualClock clock(now);
  FleetScheduleWatcher watcher(store->get(), ScheduleConfigSet(), c, &engine, &clock);
  REQUIRE(watcher.RunOnce(now).ok());
  engine.Tick(now);
  CHECK(engine.ActiveCount(AlertRule::kScheduleOverdue) == 1);
  CHECK(engine.ActiveCount(AlertRule::kScheduleHammering) == 1);
  CHECK(watcher.RenderMetrics().find("resyncwatch_schedule_analyses_total{result=\"ok\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("A due schedule analysis waits while a burst is written, at most one interval") {
  TempDir dir;
  auto store = Store::Open(dir.path(), StoreOptions());
  REQUIRE(store.ok());
  Recorder rec;
  AlertConfig c = FleetRulesOnly();
  AlertEngine engine(c, rec.Listener());
  const int64_t now = kT0;
  ManualClock clock(now);
  FleetScheduleWatcher watcher(store->get(), ScheduleConfigSet(), c, &engine, &clock);
  watcher.Start();
  // The first run is due at once, but ingest is busy: it waits...
  CHECK_FALSE(watcher.Tick(now, true));
  CHECK_FALSE(watcher.Tick(now + c.schedule_interval_us - 1, true));
  // ...until one interval has passed since it fell due, busy or not.
  CHECK(watcher.Tick(now + c.schedule_interval_us, true));
  watcher.Stop();

  FleetScheduleWatcher idle(store->get(), ScheduleConfigSet(), c, &engine, &clock);
  idle.Start();
  CHECK(idle.Tick(now, false));
  idle.Stop();
}
