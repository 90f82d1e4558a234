// AlertConfig from the config file's "alerts" object: defaults, values, errors naming keys.
#include <catch2/catch.hpp>
#include <string>

#include "alerts/alerts.h"

using namespace resyncwatch;

TEST_CASE("An absent alerts key gives the documented defaults and other keys are ignored") {
  auto c = AlertConfigFromJson(R"({"db": "/var/lib/resyncwatch", "listen": ["udp://[::]:514"]})");
  REQUIRE(c.ok());
  CHECK(c->enabled);
  CHECK(c->failures_min == 50);
  CHECK(c->failures_window_us == 300'000'000);
  CHECK(c->ratio_min == 0.5);
  CHECK(c->device_consecutive_min == 5);
  REQUIRE(c->sinks.size() == 1);
  CHECK(c->sinks[0].type == AlertConfig::Sink::Type::kLog);
  CHECK(AlertConfigFromAlertsJson("").ok());
}

TEST_CASE("Alert rules and sinks are read from the alerts object") {
  auto c = AlertConfigFromJson(R"({
    "db": "x",
    "alerts": {
      "rules": {
        "failures": {"window": "2m", "min_failures": 30, "group_by": ["server", "model"]},
        "ratio": {"enabled": false, "min_ratio": 0.25, "min_attempts": 40},
        "device": {"consecutive_failures": 3, "idle_resolve": "12h"}
      },
      "resolve_after": 90, "resolve_fraction": 0.4, "sample_macs": 4,
      "sinks": [
        {"type": "log"},
        {"type": "file", "path": "/var/lib/resyncwatch/alerts.jsonl"},
        {"type": "exec", "command": "/usr/local/bin/page", "timeout": "10s"},
        {"type": "webhook", "url": "http://noc.example.net:8080/hook"},
        {"type": "syslog", "target": "nms.example.net:514", "facility": 17}
      ],
      "retry_initial": 0.5, "retry_max": "10m"
    }})");
  REQUIRE(c.ok());
  CHECK(c->failures_window_us == 120'000'000);
  CHECK(c->failures_min == 30);
  CHECK_FALSE(c->failures_group_by.fleet);
  CHECK(c->failures_group_by.server);
  CHECK_FALSE(c->failures_group_by.error);
  CHECK(c->failures_group_by.model);
  CHECK_FALSE(c->ratio_enabled);
  CHECK(c->ratio_min == 0.25);
  CHECK(c->ratio_min_attempts == 40);
  CHECK(c->device_consecutive_min == 3);
  CHECK(c->device_idle_resolve_us == 12 * 3600'000'000LL);
  CHECK(c->resolve_after_us == 90'000'000);
  CHECK(c->resolve_fraction == 0.4);
  CHECK(c->sample_macs == 4);
  REQUIRE(c->sinks.size() == 5);
  CHECK(c->sinks[1].target == "/var/lib/resyncwatch/alerts.jsonl");
  CHECK(c->sinks[2].type == AlertConfig::Sink::Type::kExec);
  CHECK(c->sinks[2].timeout_us == 10'000'000);
  CHECK(c->sinks[3].target == "http://noc.example.net:8080/hook");
  CHECK(c->sinks[4].type == AlertConfig::Sink::Type::kSyslog);
  CHECK(c->syslog_facility == 17);
  CHECK(c->retry_initial_us == 500'000);
  CHECK(c->retry_max_us == 600'000'000);
}

TEST_CASE("Alert config errors name the key and the value") {
  auto error_of = [](const char* json) {
    auto c = AlertConfigFromJson(json);
    REQUIRE_FALSE(c.ok());
    return c.status().message();
  };
  std::string m = error_of(R"({"alerts": {"rules": {"failures": {"window": "5x"}}}})");
  CHECK(m.find("alerts.rules.failures.window") != std::string::npos);
  CHECK(m.find("\"5x\"") != std::string::npos);
  m = error_of(R"({"alerts": {"rulez": {}}})");
  CHECK(m.find("alerts.rulez: unknown key (expected enabled, resolve_fraction, ") == 0);
  CHECK(m.find("schedule_range, rules, sinks)") != std::string::npos);
  CHECK(error_of(R"({"alerts": {"rules": {"failure": {}}}})") ==
        "alerts.rules.failure: unknown key (expected failures, ratio, device, overdue, hammering, "
        "fleet_silence, network_silence)");
  CHECK(error_of(R"({"alerts": {"sinks": [{"type": "log", "path": "/x"}]}})") ==
        "alerts.sinks[0].path: unknown key (a log sink takes type)");
  CHECK(error_of(R"({"alerts": {"sinks": [{"type": "file", "path": "/x", "url": "y"}]}})") ==
        "alerts.sinks[0].url: unknown key (a file sink takes type, path, timeout)");
  m = error_of(R"({"alerts": {"rules": {"ratio": {"min_ratio": 2}}}})");
  CHECK(m.find("alerts.rules.ratio.min_ratio: 2") == 0);
  m = error_of(R"({"alerts": {"rules": {"failures": {"group_by": ["site"]}}}})");
  CHECK(m.find("alerts.rules.failures.group_by: \"site\"") == 0);
  m = error_of(R"({"alerts": {"sinks": [{"type": "webhook", "url": "ftp://x/"}]}})");
  CHECK(m.find("alerts.sinks[0].url") == 0);
  CHECK(m.find("http(s)://") != std::string::npos);
  CHECK(error_of(R"({"alerts": {"sinks": [{"type": "webhook", "url": "https://x/",)"
                 R"( "verify_tls": "no"}]}})")
            .find("alerts.sinks[0].verify_tls") == 0);
  CHECK(error_of(R"({"alerts": {"sinks": [{"type": "exec"}]}})") ==
        "alerts.sinks[0].command: missing");
  CHECK(error_of(R"({"alerts": {"sinks": [{"type": "pager"}]}})").find("alerts.sinks[0].type") ==
        0);
  CHECK(error_of(R"({"alerts": {"max_groups": -1}})").find("alerts.max_groups: -1") == 0);
  CHECK(error_of(R"({"alerts": 5})").find("alerts: 5 is not an object") == 0);
  CHECK(error_of("{not json").find("config: not valid JSON") == 0);
}

TEST_CASE("The schedule and silence rules have documented defaults") {
  auto c = AlertConfigFromJson(R"({"schedule": {"defaults": {"Resync_Periodic": 3600}}})");
  REQUIRE(c.ok());
  CHECK(c->overdue_enabled);
  CHECK(c->overdue_min_phones == 50);
  CHECK(c->overdue_min_share == 0.05);
  CHECK(c->hammering_min_phones == 1);
  CHECK(c->schedule_interval_us == 300'000'000);
  CHECK(c->schedule_range_us == 2 * 86400'000'000LL);
  CHECK(c->fleet_silence_us == 600'000'000);
  CHECK(c->network_silence_us == 600'000'000);
  CHECK(c->network_min_datagrams == 5);
  CHECK(c->network_active_window_us == 3600'000'000LL);
  CHECK(c->network_forget_us == 86400'000'000LL);
  CHECK(c->max_networks == 4096);
}

TEST_CASE("The schedule and silence rules are read from alerts.rules") {
  auto c = AlertConfigFromJson(R"({"alerts": {
      "rules": {"overdue": {"min_phones": 200, "min_percent": 2.5},
                "hammering": {"enabled": false, "min_phones": 3},
                "fleet_silence": {"after": "15m"},
                "network_silence": {"after": 300, "min_datagrams": 20, "active_window": "2h",
                                    "forget_after": "3d", "max_networks": 100}},
      "schedule_interval": "10m", "schedule_range": "1d"}})");
  REQUIRE(c.ok());
  CHECK(c->overdue_min_phones == 200);
  CHECK(c->overdue_min_share == Approx(0.025));
  CHECK_FALSE(c->hammering_enabled);
  CHECK(c->hammering_min_phones == 3);
  CHECK(c->fleet_silence_us == 900'000'000);
  CHECK(c->network_silence_us == 300'000'000);
  CHECK(c->network_min_datagrams == 20);
  CHECK(c->network_active_window_us == 7200'000'000LL);
  CHECK(c->network_forget_us == 3 * 86400'000'000LL);
  CHECK(c->max_networks == 100);
  CHECK(c->schedule_interval_us == 600'000'000);
  CHECK(c->schedule_range_us == 86400'000'000LL);
}

TEST_CASE("Schedule and silence rule errors are one line naming the key") {
  auto error_of = [](const char* json) {
    auto c = AlertConfigFromJson(json);
    REQUIRE_FALSE(c.ok());
    return c.status().message();
  };
  CHECK(error_of(R"({"alerts": {"rules": {"overdue": {"min_percent": 150}}}})")
            .find("alerts.rules.overdue.min_percent: 150 is outside") == 0);
  CHECK(error_of(R"({"alerts": {"rules": {"overdue": {"min_phones": 0}}}})")
            .find("alerts.rules.overdue.min_phones: 0 is below the minimum 1") == 0);
  CHECK(error_of(R"({"alerts": {"rules": {"hammering": {"phones": 2}}}})") ==
        "alerts.rules.hammering.phones: unknown key (expected enabled, min_phones)");
  CHECK(error_of(R"({"alerts": {"rules": {"fleet_silence": {"after": "0s"}}}})")
            .find("alerts.rules.fleet_silence.after: \"0s\" must be more than zero") == 0);
  CHECK(error_of(R"({"alerts": {"rules": {"network_silence": {"max_networks": "many"}}}})")
            .find("alerts.rules.network_silence.max_networks: \"many\" is not an integer") == 0);
  CHECK(error_of(R"({"alerts": {"rules": {"network_silence": {"after": "2d"}}}})")
            .find("alerts.rules.network_silence.forget_after: must be longer than") == 0);
  CHECK(error_of(R"({"alerts": {"schedule_interval": "soon"}})")
            .find("alerts.schedule_interval: \"soon\" is not a duration") == 0);
  for (const char* json : {R"({"alerts": {"rules": {"overdue": {"min_percent": 150}}}})",
                           R"({"alerts": {"schedule_range": -1}})"}) {
    CHECK(error_of(json).find('\n') == std::string::npos);
  }
}
