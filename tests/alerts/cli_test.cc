// `resyncwatch alerts` run as a process against a real store written by the test.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "alerts/alerts.h"
#include "common/time_format.h"
#include "store/store.h"
#include "tests/testlib/testlib.h"

using namespace resyncwatch;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSec = 1'000'000;

struct CommandResult {
  int status = -1;
  std::string out;
};

CommandResult Resyncwatch(const std::string& args) {
  std::string cmd = std::string(RESYNCWATCH_BIN) + " alerts " + args + " 2>&1";
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int rc = ::pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

Alert MakeAlert(AlertRule rule, std::string group, int64_t started_us, bool firing) {
  Alert a;
  a.rule = rule;
  a.group_value = std::move(group);
  a.state = firing ? Alert::State::kFiring : Alert::State::kResolved;
  a.window_us = 300 * kSec;
  a.threshold = 50;
  a.failures = 73;
  a.incident_failures = 120;
  a.first_us = started_us - 30 * kSec;
  a.last_us = started_us + 60 * kSec;
  a.started_us = started_us;
  a.updated_us = started_us + 60 * kSec;
  a.resolved_us = firing ? 0 : started_us + 600 * kSec;
  a.last_error = "http_get failed";
  a.sample_macs = {0x000e08aaaa01ULL, 0x000e08aaaa02ULL};
  a.id = std::string(ToString(rule)) + "/" + a.group_value + "/" + std::to_string(started_us);
  return a;
}

struct TempStore {
  resyncwatch::testing::TempDir tmp;
  std::string dir = tmp.path();
};

}  // namespace

TEST_CASE("resyncwatch alerts lists stored alerts as a table, JSON lines, and filtered") {
  TempStore tmp;
  const int64_t t1 = *ParseIso8601("2026-11-24T08:00:00Z");
  const int64_t t2 = *ParseIso8601("2026-11-25T08:00:00Z");
  Alert old_one = MakeAlert(AlertRule::kServerFailures, "prov-a.example.net", t1, false);
  Alert new_one = MakeAlert(AlertRule::kDeviceConsecutive, "000e08aaaa01", t2, true);
  {
    auto store = Store::Open(tmp.dir, StoreOptions());
    REQUIRE(store.ok());
    // The firing alert as first persisted, then its resolution: the record is replaced.
    Alert firing_then = old_one;
    firing_then.state = Alert::State::kFiring;
    firing_then.resolved_us = 0;
    REQUIRE((*store)->PutAlert(ToAlertRecord(firing_then)).ok());
    REQUIRE((*store)->PutAlert(ToAlertRecord(old_one)).ok());
    REQUIRE((*store)->PutAlert(ToAlertRecord(new_one)).ok());
    REQUIRE((*store)->Flush().ok());
  }
  std::string db = " --db " + tmp.dir + " --utc";

  CommandResult table = Resyncwatch(db);
  INFO(table.out);
  CHECK(table.status == 0);
  size_t pos_new = table.out.find("device_consecutive_failures");
  size_t pos_old = table.out.find("server_failures");
  CHECK(pos_new != std::string::npos);
  CHECK(pos_old != std::string::npos);
  CHECK(pos_new < pos_old);  // newest first
  CHECK(table.out.find("FIRING") != std::string::npos);
  CHECK(table.out.find("resolved") != std::string::npos);
  CHECK(table.out.find("prov-a.example.net") != std::string::npos);
  CHECK(table.out.find("000e08aaaa01,000e08aaaa02") != std::string::npos);
  CHECK(table.out.find("10m 00s") != std::string::npos);  // the resolved one lasted 10 minutes

  CommandResult active = Resyncwatch(db + " --active --json");
  CHECK(active.status == 0);
  CHECK(active.out == AlertToJson(new_one) + "\n");

  CommandResult since = Resyncwatch(db + " --since 2026-11-25 --json");
  CHECK(since.status == 0);
  CHECK(since.out == AlertToJson(new_one) + "\n");

  CommandResult all = Resyncwatch(db + " --json");
  CHECK(all.out == AlertToJson(new_one) + "\n" + AlertToJson(old_one) + "\n");

  CommandResult none = Resyncwatch(db + " --since 2026-11-26");
  CHECK(none.status == 1);
  CommandResult bad = Resyncwatch(db + " --since yesterdayish");
  CHECK(bad.status == 2);
  CHECK(bad.out.find("yesterdayish") != std::string::npos);
}

TEST_CASE("resyncwatch alerts counts phones for a schedule rule, failures for the others") {
  TempStore tmp;
  const int64_t t = *ParseIso8601("2026-11-25T08:00:00Z");
  Alert overdue = MakeAlert(AlertRule::kScheduleOverdue, "", t, true);
  overdue.failures = 0;
  overdue.incident_failures = 0;
  overdue.phones = 61;
  overdue.fleet_phones = 1000;
  {
    auto store = Store::Open(tmp.dir, StoreOptions());
    REQUIRE(store.ok());
    REQUIRE((*store)->PutAlert(ToAlertRecord(overdue)).ok());
    REQUIRE((*store)->Flush().ok());
  }
  CommandResult table = Resyncwatch(" --db " + tmp.dir + " --utc");
  INFO(table.out);
  CHECK(table.status == 0);
  CHECK(table.out.find("schedule_overdue") != std::string::npos);
  CHECK(table.out.find("61 phones of 1000") != std::string::npos);
}
