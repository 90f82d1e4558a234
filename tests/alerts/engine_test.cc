// AlertEngine on crafted event streams with explicit event times: no sleeps, no sockets.
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "alerts/alerts.h"

using namespace resyncwatch;

namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kT0 = 1'795'000'000LL * kSec;  // 2026-11-18T11:06:40Z

Event Ev(EventKind kind, int64_t t, MacAddress mac, std::string server, std::string error = "",
         std::string model = "CP-8851-3PCC") {
  Event e;
  e.kind = kind;
  e.event_time_us = t;
  e.received_us = t;
  e.mac = mac;
  e.server = std::move(server);
  e.error = std::move(error);
  e.model = std::move(model);
  return e;
}

struct Recorder {
  std::vector<AlertChange> changes;
  AlertListener Listener() {
    return [this](const AlertChange& c) { changes.push_back(c); };
  }
  // "rule|group" of each change of this kind, in order.
  std::vector<std::string> Keys(AlertChange::Kind kind) const {
    std::vector<std::string> out;
    for (const auto& c : changes) {
      if (c.kind == kind)
        out.push_back(std::string(ToString(c.alert.rule)) + "|" + c.alert.group_value);
    }
    return out;
  }
  int Count(AlertChange::Kind kind, AlertRule rule) const {
    int n = 0;
    for (const auto& c : changes) n += c.kind == kind && c.alert.rule == rule;
    return n;
  }
};

AlertConfig OnlyCountRule(int64_t window_us, int64_t min_failures) {
  AlertConfig c;
  c.failures_window_us = window_us;
  c.failures_min = min_failures;
  c.ratio_enabled = false;
  c.device_enabled = false;
  return c;
}

std::multiset<std::string> AsSet(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE(
    "A provisioning-server outage raises one alert per affected group, resolved after recovery") {
  AlertConfig c = OnlyCountRule(5 * 60 * kSec, 20);
  c.failures_group_by = AlertGrouping{true, true, true, false};
  c.ratio_enabled = true;
  c.ratio_min = 0.5;
  c.ratio_min_attempts = 20;
  c.ratio_group_by = AlertGrouping{false, true, false, false};
  c.resolve_after_us = 60 * kSec;
  Recorder rec;
  AlertEngine engine(c, rec.Listener());

  // 100 phones resync from prov-a, 100 from prov-b, each once a minute (staggered).
  // prov-a fails from minute 5 to minute 15; prov-b stays healthy throughout.
  const int64_t outage_start = kT0 + 5 * 60 * kSec, outage_end = kT0 + 15 * 60 * kSec;
  const int64_t end = kT0 + 35 * 60 * kSec;
  for (int64_t t = kT0; t < end; t += kSec) {
    int64_t second = (t - kT0) / kSec;
    for (int phone = 0; phone < 200; ++phone) {
      if (second % 60 != (phone * 7) % 60) continue;
      bool on_a = phone < 100;
      MacAddress mac = 0x000e08000000ULL + phone;
      bool fail = on_a && t >= outage_start && t < outage_end;
      engine.Observe(Ev(fail ? EventKind::kResyncFailure : EventKind::kResyncSuccess, t, mac,
                        on_a ? "prov-a.example.net" : "prov-b.example.net",
                        fail ? "http_get failed" : ""));
    }
    engine.Tick(t);
  }

  std::multiset<std::string> expected = {"fleet_failures|", "server_failures|prov-a.example.net",
                                         "error_failures|http_get failed",
                                         "server_failure_ratio|prov-a.example.net"};
  CHECK(AsSet(rec.Keys(AlertChange::Kind::kFired)) == expected);
  CHECK(AsSet(rec.Keys(AlertChange::Kind::kResolved)) == expected);
  for (int i = 0; i < kAlertRuleCount; ++i)
    CHECK(engine.ActiveCount(static_cast<AlertRule>(i)) == 0);

  for (const auto& ch : rec.changes) {
    const Alert& a = ch.alert;
    INFO(ToString(ch.kind) << " " << AlertToJson(a));
    CHECK(a.first_us >= outage_start);
    CHECK(a.started_us >= outage_start);
    // Count rules fire within seconds; ratio rules once failures outweigh the window's
    // earlier successes.
    CHECK(a.started_us < outage_start + (a.window_us == 0 ? 0 : a.window_us / 2 + 60 * kSec));
    if (a.rule == AlertRule::kServerFailures) CHECK(a.started_us < outage_start + 30 * kSec);
    CHECK(!a.sample_macs.empty());
    CHECK(a.sample_macs.size() <= 10);
    for (MacAddress mac : a.sample_macs) CHECK(mac < 0x000e08000000ULL + 100);  // prov-a phones
    if (ch.kind == AlertChange::Kind::kResolved) {
      CHECK(a.resolved_us > outage_end);
      CHECK(a.last_us < outage_end);
      CHECK(a.incident_failures >= 20);
      CHECK(a.last_error == "http_get failed");
    }
  }
}

TEST_CASE("A failure rate hovering near the threshold fires once and does not flap") {
  auto run = [](double resolve_fraction, int64_t resolve_after_us) {
    AlertConfig c = OnlyCountRule(60 * kSec, 10);
    c.failures_group_by = AlertGrouping{true, false, false, false};
    c.resolve_fraction = resolve_fraction;
    c.resolve_after_us = resolve_after_us;
    Recorder rec;
    AlertEngine engine(c, rec.Listener());
    // Alternating minutes of 12 and 8 failures (threshold 10), for 20 minutes.
    int64_t t = kT0;
    for (int minute = 0; minute < 20; ++minute) {
      int per_minute = minute % 2 == 0 ? 12 : 8;
      int64_t step = 60 * kSec / per_minute;
      for (int i = 0; i < per_minute; ++i, t += step) {
        engine.Observe(Ev(EventKind::kResyncFailure, t, 0x1000 + i, "prov", "corrupt file"));
        engine.Tick(t);
      }
    }
    int fired_while_hovering = rec.Count(AlertChange::Kind::kFired, AlertRule::kFleetFailures);
    int resolved_while_hovering =
        rec.Count(AlertChange::Kind::kResolved, AlertRule::kFleetFailures);
    for (int64_t end = t + 10 * 60 * kSec; t < end; t += kSec) engine.Tick(t);
    return std::tuple{fired_while_hovering, resolved_while_hovering,
                      rec.Count(AlertChange::Kind::kResolved, AlertRule::kFleetFailures)};
  };
  auto [fired, resolved_early, resolved] = run(0.5, 60 * kSec);
  CHECK(fired == 1);
  CHECK(resolved_early == 0);
  CHECK(resolved == 1);
  // The same stream without hysteresis flaps: the test above would notice a regression.
  auto [fired_no_h, resolved_early_no_h, resolved_no_h] = run(1.0, 0);
  CHECK(fired_no_h > 1);
  CHECK(resolved_early_no_h > 0);
  (void)resolved_no_h;
}

TEST_CASE("The per-device rule fires for one failing phone and not for its healthy neighbours") {
  AlertConfig c;
  c.failures_enabled = false;
  c.ratio_enabled = false;
  c.device_consecutive_min = 5;
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  const MacAddress bad = 0x000e08aaa005ULL;
  int64_t t = kT0;
  for (int round = 0; round < 8; ++round) {
    for (MacAddress mac = 0x000e08aaa000ULL; mac < 0x000e08aaa00aULL; ++mac, t += kSec) {
      // Neighbours fail now and then (4 in a row at most), then recover.
      bool fail = mac == bad ? round < 6 : (round % 5) != 4;
      engine.Observe(Ev(fail ? EventKind::kResyncFailure : EventKind::kResyncSuccess, t, mac,
                        "prov", fail ? "http_get failed" : ""));
    }
    engine.Tick(t);
  }
  REQUIRE(rec.Keys(AlertChange::Kind::kFired) ==
          std::vector<std::string>{"device_consecutive_failures|000e08aaa005"});
  const Alert& fired = rec.changes.front().alert;
  CHECK(fired.failures == 5);
  CHECK(fired.sample_macs == std::vector<MacAddress>{bad});
  CHECK(fired.last_error == "http_get failed");
  // Round 6 brought the phone's first success: resolved, once.
  CHECK(rec.Keys(AlertChange::Kind::kResolved) ==
        std::vector<std::string>{"device_consecutive_failures|000e08aaa005"});
  CHECK(engine.ActiveCount(AlertRule::kDeviceConsecutive) == 0);
}

TEST_CASE("A firing alert is re-persisted at most once per update interval") {
  AlertConfig c = OnlyCountRule(60 * kSec, 3);
  c.failures_group_by = AlertGrouping{true, false, false, false};
  c.update_interval_us = 30 * kSec;
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  int64_t t = kT0;
  for (int i = 0; i < 120; ++i, t += kSec) {
    engine.Observe(Ev(EventKind::kResyncFailure, t, 0x10 + i, "prov", "corrupt file"));
    engine.Tick(t);
  }
  int updates = rec.Count(AlertChange::Kind::kUpdated, AlertRule::kFleetFailures);
  CHECK(updates >= 3);
  CHECK(updates <= 4);
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kFleetFailures) == 1);
  CHECK(engine.ActiveAlerts().size() == 1);
  CHECK(engine.ActiveAlerts()[0].incident_failures == 120);
}

TEST_CASE("Groups are bounded: idle groups are evicted, firing ones are kept") {
  AlertConfig c = OnlyCountRule(60 * kSec, 2);
  c.failures_group_by = AlertGrouping{false, true, false, false};
  c.max_groups = 5;
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  int64_t t = kT0;
  engine.Observe(Ev(EventKind::kResyncFailure, t, 1, "hot"));
  engine.Observe(Ev(EventKind::kResyncFailure, t, 2, "hot"));
  REQUIRE(engine.ActiveCount(AlertRule::kServerFailures) == 1);
  for (int i = 0; i < 100; ++i) {
    engine.Observe(Ev(EventKind::kResyncSuccess, t + i, 3, "server-" + std::to_string(i)));
  }
  CHECK(engine.evicted_groups() >= 95);
  engine.Observe(Ev(EventKind::kResyncFailure, t + 200, 4, "hot"));
  CHECK(engine.ActiveCount(AlertRule::kServerFailures) == 1);
  CHECK(rec.Count(AlertChange::Kind::kFired, AlertRule::kServerFailures) == 1);
}

TEST_CASE("Alert JSON carries rule, group, counts, times and sample MACs") {
  Alert a;
  a.id = "server_failures/prov/1";
  a.rule = AlertRule::kServerFailures;
  a.group_value = "prov \"a\"";
  a.window_us = 300 * kSec;
  a.threshold = 50;
  a.failures = 61;
  a.first_us = kT0;
  a.last_us = kT0 + 10 * kSec;
  a.started_us = kT0 + 5 * kSec;
  a.updated_us = a.started_us;
  a.sample_macs = {0x000e08abcdefULL};
  std::string json = AlertToJson(a);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(!parser.parse(json).get(doc));
  CHECK(std::string_view(doc["rule"]) == "server_failures");
  CHECK(std::string_view(doc["group"]["by"]) == "server");
  CHECK(std::string_view(doc["group"]["value"]) == "prov \"a\"");
  CHECK(std::string_view(doc["state"]) == "firing");
  CHECK(int64_t(doc["failures"]) == 61);
  CHECK(int64_t(doc["window_s"]) == 300);
  CHECK(int64_t(doc["started_us"]) == a.started_us);
  CHECK(std::string_view(doc["first"]) == "2026-11-18T11:06:40.000000Z");
  CHECK(std::string_view(doc["sample_macs"].at(0)) == "000e08abcdef");
  AlertRecord r = ToAlertRecord(a);
  CHECK(r.active);
  CHECK(r.id == a.id);
  CHECK(r.json == json);

  AlertEngine engine(AlertConfig(), {});
  std::string text = RenderActiveAlertsMetrics(engine);
  CHECK(text.find("# TYPE resyncwatch_active_alerts gauge\n") != std::string::npos);
  CHECK(text.find("resyncwatch_active_alerts{rule=\"device_consecutive_failures\"} 0\n") !=
        std::string::npos);
}

TEST_CASE(
    "During a server outage its phones raise no per-device alerts: the server alert covers them") {
  AlertConfig c = OnlyCountRule(5 * 60 * kSec, 20);
  c.failures_group_by = AlertGrouping{false, true, false, false};
  c.device_enabled = true;
  c.device_consecutive_min = 3;
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  int64_t t = kT0;
  // 50 phones of prov-a fail once a minute for 10 minutes; a phone of prov-b fails too.
  for (int minute = 0; minute < 10; ++minute) {
    for (int phone = 0; phone < 50; ++phone, t += kSec) {
      engine.Observe(
          Ev(EventKind::kResyncFailure, t, 0x000e08000000ULL + phone, "prov-a", "http_get failed"));
    }
    engine.Observe(Ev(EventKind::kResyncFailure, t, 0x000e08bbbbbbULL, "prov-b", "corrupt file"));
    engine.Tick(t);
  }
  CHECK(rec.Keys(AlertChange::Kind::kFired) ==
        std::vector<std::string>{"server_failures|prov-a",
                                 "device_consecutive_failures|000e08bbbbbb"});
}

TEST_CASE("Failures, which name no server, count for the server of the phone's latest request") {
  AlertConfig c = OnlyCountRule(5 * 60 * kSec, 10);
  c.failures_group_by = AlertGrouping{false, true, false, false};
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  int64_t t = kT0;
  for (int round = 0; round < 3; ++round) {
    for (int phone = 0; phone < 10; ++phone, t += kSec) {
      MacAddress mac = 0x000e08000000ULL + phone;
      bool on_a = phone < 5;
      engine.Observe(Ev(EventKind::kResyncRequest, t, mac, on_a ? "prov-a" : "prov-b"));
      if (on_a) {
        engine.Observe(Ev(EventKind::kResyncFailure, t + 1, mac, "", "http_get failed"));
      } else {
        engine.Observe(Ev(EventKind::kResyncSuccess, t + 1, mac, "prov-b"));
      }
    }
    engine.Tick(t);
  }
  CHECK(rec.Keys(AlertChange::Kind::kFired) == std::vector<std::string>{"server_failures|prov-a"});
}

TEST_CASE("The ratio rule by error text divides by all of the fleet's attempts") {
  AlertConfig c;
  c.failures_enabled = false;
  c.device_enabled = false;
  c.ratio_window_us = 5 * 60 * kSec;
  c.ratio_min = 0.5;
  c.ratio_min_attempts = 50;
  c.ratio_group_by = AlertGrouping{false, false, true, false};
  Recorder rec;
  AlertEngine engine(c, rec.Listener());
  // Per 100 outcomes: 60 "corrupt file", 10 "http_get failed", 30 successes.
  int64_t t = kT0;
  for (int i = 0; i < 200; ++i, t += kSec) {
    int k = i % 100;
    MacAddress mac = 0x000e08000000ULL + k;
    if (k < 60) {
      engine.Observe(Ev(EventKind::kResyncFailure, t, mac, "", "corrupt file"));
    } else if (k < 70) {
      engine.Observe(Ev(EventKind::kResyncFailure, t, mac, "", "http_get failed"));
    } else {
      engine.Observe(Ev(EventKind::kResyncSuccess, t, mac, "prov"));
    }
    engine.Tick(t);
  }
  REQUIRE(rec.Keys(AlertChange::Kind::kFired) ==
          std::vector<std::string>{"error_failure_ratio|corrupt file"});
  const Alert& a = rec.changes.front().alert;
  CHECK(a.attempts >= 50);
  CHECK(static_cast<double>(a.failures) / a.attempts >= 0.5);
}

TEST_CASE("Observing a batch of events fires the same alerts as observing them one by one") {
  AlertConfig c = OnlyCountRule(5 * 60 * kSec, 20);
  c.failures_group_by = AlertGrouping{true, true, true, false};
  c.device_enabled = true;
  c.device_consecutive_min = 3;
  std::vector<Event> events;
  // 300 phones on two servers; prov-b fails for a while, and phone 7 fails alone later.
  for (int minute = 0; minute < 30; ++minute) {
    for (int phone = 0; phone < 300; ++phone) {
      const int64_t t = kT0 + minute * 60 * kSec + phone * 100'000;
      const MacAddress mac = 0x000e08100000ULL + phone;
      const bool on_b = phone % 2 == 1;
      const bool fail = (on_b && minute >= 5 && minute < 12) || (phone == 7 && minute >= 20);
      events.push_back(Ev(EventKind::kResyncRequest, t, mac, on_b ? "prov-b" : "prov-a"));
      events.push_back(fail
                           ? Ev(EventKind::kResyncFailure, t + 1, mac, "", "http_get failed")
                           : Ev(EventKind::kResyncSuccess, t + 1, mac, on_b ? "prov-b" : "prov-a"));
    }
  }
  Recorder one_by_one, batched;
  AlertEngine a(c, one_by_one.Listener()), b(c, batched.Listener());
  constexpr size_t kBatch = 512;
  for (size_t i = 0; i < events.size(); i += kBatch) {
    const size_t n = std::min(kBatch, events.size() - i);
    for (size_t k = i; k < i + n; ++k) a.Observe(events[k]);
    b.Observe(std::span<const Event>(events).subspan(i, n));
    a.Tick(events[i + n - 1].event_time_us);
    b.Tick(events[i + n - 1].event_time_us);
  }
  const auto fired = one_by_one.Keys(AlertChange::Kind::kFired);
  // fleet, server prov-b and error during the outage; phone 7's own alert later.
  CHECK(fired.size() >= 4);
  CHECK(std::count(fired.begin(), fired.end(), "device_consecutive_failures|000e08100007") == 1);
  CHECK(batched.Keys(AlertChange::Kind::kFired) == fired);
  CHECK(batched.Keys(AlertChange::Kind::kResolved) ==
        one_by_one.Keys(AlertChange::Kind::kResolved));
}
