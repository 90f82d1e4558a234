// Healthy phones doing what the provisioning guide allows (reboots without a message, a
// second syslog target, several profiles per cycle, upgrades, calls, a removed failure
// template, Resync_At with a short random delay, Provision_Enable No), each as an
// rsyslog archive under tests/data/schedule/, imported and judged by the real binary.
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {
namespace {

const std::string kData = RESYNCWATCH_SCHEDULE_DATA;

struct Gap {
  std::string rule;
  int64_t retry_step = 0;
  std::string verdict;
};

struct Judged {
  std::vector<Gap> gaps;
  std::string state;
  int64_t backoff_step = -1;
  int64_t attempts = -1;
  std::string last_outcome;
  bool next_due_null = false;
  std::string next_earliest;
  std::string next_due;
  std::string text;  // the table output, for notes
};

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  return e[key].get(v) ? std::string() : std::string(v);
}

class CaseStore {
 public:
  CaseStore(const std::vector<std::string>& archives, const std::string& config)
      : config_(kData + "/" + config) {
    std::vector<std::string> args = {"import", "--db", db(), "--config", config_};
    for (const auto& a : archives) args.push_back(kData + "/" + a);
    CliRun run = RunCli(args);
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
  }

  Judged Schedule(const std::string& mac, const std::string& now) {
    std::vector<std::string> common = {"--db",  db(), "--config", config_,
                                       "--now", now,  "--since",  "2026-11-17T00:00:00Z"};
    std::vector<std::string> args = {"schedule", mac, "--json"};
    args.insert(args.end(), common.begin(), common.end());
    CliRun run = RunCli(args);
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    Judged j;
    simdjson::dom::parser parser;
    for (const std::string& line : run.OutLines()) {
      if (line.empty()) continue;
      simdjson::dom::element e = parser.parse(line);
      if (Str(e, "type") == "gap") {
        j.gaps.push_back({Str(e, "rule"), int64_t(e["retry_step"]), Str(e, "verdict")});
      } else {
        j.state = Str(e, "state");
        j.backoff_step = int64_t(e["backoff_step"]);
        j.attempts = int64_t(e["attempts"]);
        j.last_outcome = Str(e, "last_outcome");
        j.next_due_null = e["next_due"].is_null();
        j.next_earliest = Str(e, "next_earliest");
        j.next_due = Str(e, "next_due");
      }
    }
    args = {"schedule", mac};
    args.insert(args.end(), common.begin(), common.end());
    j.text = RunCli(args).out;
    CheckFleetAgrees(mac, common, j);
    return j;
  }

  // The fleet path (a scan of event heads) judges the device as its own History does.
  void CheckFleetAgrees(const std::string& mac, const std::vector<std::string>& common,
                        const Judged& j) {
    std::vector<std::string> args = {"schedule", "--fleet", "--gaps", "--json"};
    args.insert(args.end(), common.begin(), common.end());
    CliRun run = RunCli(args);
    REQUIRE(run.exit_code == 0);
    std::string want(mac);
    std::erase(want, ':');
    simdjson::dom::parser parser;
    std::vector<std::string> fleet_gaps, own_gaps;
    for (const Gap& g : j.gaps) {
      own_gaps.push_back(g.rule + " " + std::to_string(g.retry_step) + " " + g.verdict);
    }
    std::string state;
    for (const std::string& line : run.OutLines()) {
      if (line.empty()) continue;
      simdjson::dom::element e = parser.parse(line);
      if (Str(e, "mac") != want) continue;
      if (Str(e, "type") == "gap") {
        fleet_gaps.push_back(Str(e, "rule") + " " + std::to_string(int64_t(e["retry_step"])) + " " +
                             Str(e, "verdict"));
      } else {
        state = Str(e, "state");
        CHECK(int64_t(e["backoff_step"]) == j.backoff_step);
      }
    }
    CHECK(fleet_gaps == own_gaps);
    CHECK(state == j.state);
  }

 private:
  std::string db() const { return dir_.path() + "/db"; }
  TempDir dir_;
  std::string config_;
};

std::vector<std::string> Verdicts(const Judged& j) {
  std::vector<std::string> v;
  for (const Gap& g : j.gaps) v.push_back(g.verdict);
  return v;
}

std::vector<std::string> Rules(const Judged& j) {
  std::vector<std::string> v;
  for (const Gap& g : j.gaps) v.push_back(g.rule);
  return v;
}

using Strings = std::vector<std::string>;

TEST_CASE("Reboots 20 and 35 minutes after periodic resyncs are restarts, not hammering") {
  CaseStore s({"reboots.log"}, "fleet.json");
  Judged j = s.Schedule("00:12:34:ab:45:de", "2026-11-25T07:00:00Z");
  CHECK(Rules(j) == Strings{"periodic", "periodic", "power_on", "periodic", "periodic", "power_on",
                            "periodic", "periodic"});
  CHECK(Verdicts(j) == Strings(8, "on_time"));
  CHECK(j.state == "ok");
}

TEST_CASE("Lines received twice through Syslog_Server and Debug_Server are one attempt each") {
  CaseStore s({"dual_delivery.log"}, "fleet.json");
  Judged j = s.Schedule("00:0e:08:12:34:56", "2026-11-25T01:00:00Z");
  CHECK(j.attempts == 6);
  CHECK(j.backoff_step == 6);
  CHECK(Verdicts(j) == Strings(5, "on_time"));
  REQUIRE(j.gaps.size() == 5);
  CHECK(j.gaps[4].retry_step == 5);
  CHECK(j.state == "ok");
}

TEST_CASE("A missing per-phone profile and a common profile are one attempt per cycle") {
  CaseStore s({"profiles.log"}, "fleet.json");
  SECTION("Resync_Fails_On_FNF No: every cycle is a success, hourly") {
    Judged j = s.Schedule("00:0e:08:aa:bb:01", "2026-11-25T13:30:00Z");
    CHECK(j.attempts == 14);
    CHECK(Verdicts(j) == Strings(13, "on_time"));
    CHECK(Rules(j) == Strings(13, "periodic"));
    CHECK(j.backoff_step == 0);
    CHECK(j.state == "ok");
  }
  SECTION("Resync_Fails_On_FNF Yes: every cycle fails and the phone backs off") {
    Judged j = s.Schedule("00:0e:08:aa:bb:02", "2026-11-25T03:00:00Z");
    CHECK(j.attempts == 8);
    CHECK(Verdicts(j) == Strings(7, "on_time"));
    CHECK(Rules(j) == Strings(7, "retry"));
    CHECK(j.backoff_step == 8);
    CHECK(j.last_outcome == "failure");
    CHECK(j.state == "deep_backoff");
  }
}

TEST_CASE("The resync after an upgrade comes after the reboot and is on demand") {
  CaseStore s({"upgrade.log"}, "fleet.json");
  Judged j = s.Schedule("00:0e:08:ab:cd:01", "2026-11-25T02:00:00Z");
  CHECK(Rules(j) == Strings{"on_demand", "periodic"});
  CHECK(Verdicts(j) == Strings{"on_time", "on_time"});
  CHECK(j.state == "ok");
}

TEST_CASE("A resync held back by a call is deferred, and a phone in a call is not overdue") {
  CaseStore s({"calls.log"}, "fleet.json");
  Judged held = s.Schedule("00:0e:08:cc:00:01", "2026-11-25T03:30:00Z");
  CHECK(Verdicts(held) == Strings{"deferred", "on_time"});
  CHECK(Rules(held) == Strings{"periodic", "periodic"});
  CHECK(held.state == "ok");
  Judged in_call = s.Schedule("00:0e:08:cc:00:02", "2026-11-25T09:30:00Z");
  CHECK(in_call.state == "ok");
  Judged gone = s.Schedule("00:0e:08:cc:00:02", "2026-11-25T13:30:00Z");
  CHECK(gone.state == "overdue");
}

TEST_CASE("With Log_Failure_Msg removed, requests alone are a failing retry series") {
  CaseStore s({"no_failure_template.log"}, "no_failure_template.json");
  Judged j = s.Schedule("00:0e:08:dd:00:01", "2026-11-25T00:16:00Z");
  CHECK(Verdicts(j) == Strings(4, "on_time"));
  CHECK(Rules(j) == Strings(4, "retry"));
  CHECK(j.last_outcome == "failure");
  CHECK(j.backoff_step == 5);
  CHECK(j.state == "ok");
}

TEST_CASE("Resync_At_Random_Delay below 600 gives a 600 s window after HHmm") {
  CaseStore s({"resync_at.log"}, "fleet.json");
  Judged j = s.Schedule("00:0e:08:ee:00:01", "2026-11-25T03:00:00Z");
  REQUIRE(j.gaps.size() == 1);
  CHECK(j.gaps[0].rule == "at_hhmm");
  CHECK(j.gaps[0].verdict == "on_time");
  // Tomorrow 02:30 .. 02:40, plus 5 s and 0.5 % of the 86409.6 s wait as tolerance.
  CHECK(j.next_earliest == "2026-11-26T02:30:00.000000Z");
  CHECK(j.next_due == "2026-11-26T02:47:17.048000Z");
}

TEST_CASE("Provision_Enable No: never overdue; Resync_Trigger_1 is reported, not evaluated") {
  CaseStore s({"provision_disabled.log"}, "fleet.json");
  Judged j = s.Schedule("00:0e:08:ff:00:01", "2026-11-25T09:30:00Z");
  CHECK(j.state == "ok");
  CHECK(j.next_due_null);
  CHECK(j.text.find("Provision_Enable is No") != std::string::npos);
  CHECK(j.text.find("Resync_Trigger_1/2") != std::string::npos);
}

}  // namespace
}  // namespace resyncwatch::testing
