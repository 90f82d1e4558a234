#include <catch2/catch.hpp>

#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

TEST_CASE("A config file without a schedule section gives the factory defaults") {
  auto set = ScheduleConfigSet::Parse(R"({"templates": {}, "alerts": [1, 2]})");
  REQUIRE(set.ok());
  ScheduleConfig c = set->For(0x000e08abcdef, "CP-8851-3PCC");
  CHECK(c.periodic.ToString() == "3600");
  CHECK(c.retry.ToString() == kDefaultRetryMpp);
}

TEST_CASE("Fleet defaults, model and MAC overrides layer in that order") {
  auto set = ScheduleConfigSet::Parse(R"({
    "schedule": {
      "defaults": {"Resync_Periodic": "600,1200,300", "Resync_Random_Delay": 3},
      "models": {"SPA112": {"Resync_Error_Retry_Delay": 3600},
                 "CP-7841-3PCC": {"Resync_At__HHmm_": "0959", "Resync_At_Random_Delay": 900}},
      "macs": {"00:0E:08:AB:CD:EF": {"Resync_Error_Retry_Delay": "0"},
               "000e08aaa010": {"Resync_Periodic": "2400+30", "utc_offset": "+01:00"}}
    }})");
  REQUIRE(set.ok());
  ScheduleConfig spa = set->For(0x000e08111111, "SPA112");
  CHECK(spa.periodic.ToString() == "600,1200,300");
  CHECK(spa.retry.ToString() == "3600");
  CHECK(spa.random_delay == 3);
  ScheduleConfig spa_mac = set->For(0x000e08abcdef, "SPA112");
  CHECK(spa_mac.retry.disabled());
  ScheduleConfig at = set->For(0x000e08222222, "CP-7841-3PCC");
  CHECK(at.at_minute == 599);
  CHECK(at.at_random_delay_s == 900);
  ScheduleConfig mac = set->For(0x000e08aaa010, "CP-8851-3PCC");
  CHECK(mac.periodic.At(1) == DelaySpec{2400, 2430});
  CHECK(mac.utc_offset_minutes == 60);
  CHECK(mac.retry.ToString() == kDefaultRetryMpp);
}

TEST_CASE("Invalid schedule values are rejected with the key and the value") {
  struct Case {
    const char* json;
    const char* key;
    const char* value;
  };
  const Case cases[] = {
      {R"({"schedule": {"defaults": {"Resync_Periodic": "60x"}}})", "Resync_Periodic", "60x"},
      {R"({"schedule": {"models": {"SPA112": {"Resync_Error_Retry_Delay": "60,,5"}}}})",
       "Resync_Error_Retry_Delay", "60,,5"},
      {R"({"schedule": {"defaults": {"Resync_Random_Delay": 70000}}})", "Resync_Random_Delay",
       "70000"},
      {R"({"schedule": {"defaults": {"Resync_At_Random_Delay": "-1"}}})", "Resync_At_Random_Delay",
       "-1"},
      {R"({"schedule": {"macs": {"00:zz": {"Resync_Periodic": 60}}}})", "macs", "00:zz"},
      {R"({"schedule": {"defaults": {"Resync_Periodik": 60}}})", "Resync_Periodik", ""},
      {R"({"schedule": {"defaults": {"utc_offset": "CET"}}})", "utc_offset", "CET"},
      {R"({"schedule": {"defaults": {"Resync_Periodic": [60]}}})", "Resync_Periodic", "[60]"},
  };
  for (const Case& c : cases) {
    auto set = ScheduleConfigSet::Parse(c.json);
    INFO(c.json);
    REQUIRE_FALSE(set.ok());
    CHECK(set.status().message().find(c.key) != std::string::npos);
    CHECK(set.status().message().find(c.value) != std::string::npos);
  }
}

TEST_CASE("An invalid Resync_At__HHmm_ is accepted and ignored, periodic stays in force") {
  auto set = ScheduleConfigSet::Parse(
      R"({"schedule": {"defaults": {"Resync_At__HHmm_": "2500", "Resync_Periodic": 1800}}})");
  REQUIRE(set.ok());
  ScheduleConfig c = set->For(1, "");
  CHECK(c.at_text == "2500");
  CHECK_FALSE(c.at_minute.has_value());
  CHECK(c.periodic.ToString() == "1800");
}

TEST_CASE("SPA models keep their own factory retry delay unless the fleet sets one") {
  auto plain = ScheduleConfigSet::Parse(R"({"schedule": {"defaults": {"Resync_Periodic": 600}}})");
  REQUIRE(plain.ok());
  CHECK(plain->For(1, "SPA504G").retry.ToString() == kDefaultRetrySpa);
  CHECK(plain->For(1, "CP-8851-3PCC").retry.ToString() == kDefaultRetryMpp);
  auto fleet = ScheduleConfigSet::Parse(
      R"({"schedule": {"defaults": {"Resync_Error_Retry_Delay": "30,60"}}})");
  REQUIRE(fleet.ok());
  CHECK(fleet->For(1, "SPA504G").retry.ToString() == "30,60");
  CHECK(ScheduleConfigSet().For(1, "SPA112").retry.ToString() == kDefaultRetrySpa);
}

TEST_CASE("The guide's keys for resets, calls, FNF, provisioning and triggers are accepted") {
  auto set = ScheduleConfigSet::Parse(R"({"schedule": {
      "defaults": {"Forced_Resync_Delay": 600, "Resync_On_Reset": "No",
                   "Resync_Fails_On_FNF": "no", "Resync_Trigger_1": "$PRVTMR ge 600"},
      "macs": {"00:0e:08:ab:cd:ef": {"Provision_Enable": false, "Resync_On_Reset": "Yes"}}}})");
  REQUIRE(set.ok());
  ScheduleConfig c = set->For(0x000e08111111, "CP-8851-3PCC");
  CHECK(c.forced_resync_delay_s == 600);
  CHECK_FALSE(c.resync_on_reset);
  CHECK_FALSE(c.fails_on_fnf);
  CHECK(c.provision_enable);
  CHECK(c.has_trigger_conditions);
  ScheduleConfig m = set->For(0x000e08abcdef, "CP-8851-3PCC");
  CHECK_FALSE(m.provision_enable);
  CHECK(m.resync_on_reset);
  ScheduleConfig factory = ScheduleConfig::FactoryDefault();
  CHECK(factory.forced_resync_delay_s == 14400);
  CHECK(factory.resync_on_reset);
  CHECK(factory.fails_on_fnf);
}

TEST_CASE("A Yes/No key with another value is an error naming it") {
  auto set =
      ScheduleConfigSet::Parse(R"({"schedule": {"defaults": {"Resync_Fails_On_FNF": "maybe"}}})");
  REQUIRE_FALSE(set.ok());
  CHECK(set.status().message().find("schedule.defaults.Resync_Fails_On_FNF") != std::string::npos);
  CHECK(set.status().message().find("maybe") != std::string::npos);
}

TEST_CASE("A removed failure template tells the analysis that failures are not sent") {
  auto set = ScheduleConfigSet::Parse(
      R"({"templates": {"resync_failure": []}, "schedule": {"models": {"SPA112": {}}}})");
  REQUIRE(set.ok());
  for (std::string_view model : {"CP-8851-3PCC", "SPA112"}) {
    ScheduleConfig c = set->For(0x000e08111111, model);
    CHECK(c.sent.request);
    CHECK(c.sent.success);
    CHECK_FALSE(c.sent.failure);
  }
  auto none = ScheduleConfigSet::Parse(R"({"templates": {"resync_request": ""}})");
  REQUIRE(none.ok());
  CHECK_FALSE(none->defaults().sent.request);
}

TEST_CASE("A bad template in the same file is an error of the schedule config too") {
  auto set = ScheduleConfigSet::Parse(R"({"templates": {"resync_failur": ["$PN"]}})");
  CHECK_FALSE(set.ok());
}

TEST_CASE("A config that is not JSON is an error") {
  CHECK_FALSE(ScheduleConfigSet::Parse("{\"schedule\": ").ok());
  CHECK_FALSE(ScheduleConfigSet::Parse(R"({"schedule": 5})").ok());
}

}  // namespace
}  // namespace resyncwatch
