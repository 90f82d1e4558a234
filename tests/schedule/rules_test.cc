#include <catch2/catch.hpp>

#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

TEST_CASE("A plain integer delay is an exact wait") {
  auto d = ParseDelaySpec("3000");
  REQUIRE(d.ok());
  CHECK(*d == DelaySpec{3000, 3000});
}

TEST_CASE("The guide's range 2400+30 waits between 2400 and 2430 seconds") {
  auto d = ParseDelaySpec("2400+30");
  REQUIRE(d.ok());
  CHECK(d->min_s == 2400);
  CHECK(d->max_s == 2430);
}

TEST_CASE("Malformed delays are rejected with the text in the error") {
  for (const char* bad : {"", "abc", "-5", "60+", "+30", "1.5", "60++3", "60 s"}) {
    auto d = ParseDelaySpec(bad);
    CHECK_FALSE(d.ok());
  }
  auto d = ParseDelaySpec("12x");
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("12x") != std::string::npos);
}

TEST_CASE("The guide's list 600,1200,300 applies the n-th value to the n-th wait") {
  auto s = RetrySchedule::Parse("600,1200,300");
  REQUIRE(s.ok());
  CHECK_FALSE(s->disabled());
  CHECK(s->At(1).min_s == 600);
  CHECK(s->At(2).min_s == 1200);
  CHECK(s->At(3).min_s == 300);
  CHECK(s->At(4).min_s == 300);  // the last value repeats
  CHECK(s->At(50).max_s == 300);
}

TEST_CASE("The default MPP retry list doubles from 60 s and stays at 86400 s") {
  auto s = RetrySchedule::Parse(kDefaultRetryMpp);
  REQUIRE(s.ok());
  REQUIRE(s->delays().size() == 12);
  int64_t expected = 60;
  for (int n = 1; n <= 11; ++n) {
    CHECK(s->At(n).min_s == expected);
    expected *= 2;
  }
  CHECK(s->At(12).min_s == 86400);
  CHECK(s->At(13).min_s == 86400);
  CHECK(s->ToString() == kDefaultRetryMpp);
}

TEST_CASE("Ranges inside a list keep their width") {
  auto s = RetrySchedule::Parse("30+10, 60+20,3600");
  REQUIRE(s.ok());
  CHECK(s->At(1) == DelaySpec{30, 40});
  CHECK(s->At(2) == DelaySpec{60, 80});
  CHECK(s->At(3) == DelaySpec{3600, 3600});
  CHECK(s->ToString() == "30+10,60+20,3600");
}

TEST_CASE("A lone 0 disables the schedule, a 0 inside a list is refused") {
  auto off = RetrySchedule::Parse("0");
  REQUIRE(off.ok());
  CHECK(off->disabled());
  CHECK(off->ToString() == "0");
  CHECK_FALSE(RetrySchedule::Parse("60,0").ok());
  CHECK_FALSE(RetrySchedule::Parse("").ok());
  CHECK_FALSE(RetrySchedule::Parse("60,,120").ok());
}

TEST_CASE("StepFitting finds the back-off step a gap belongs to") {
  auto s = RetrySchedule::Parse(kDefaultRetryMpp).value();
  CHECK(s.StepFitting(60, 5) == 1);
  CHECK(s.StepFitting(7680, 5) == 8);
  CHECK(s.StepFitting(86400, 5) == 12);
  CHECK(s.StepFitting(5000, 5) == 0);
}

TEST_CASE("Resync_At accepts 0000 to 2400 and the guide's 0959") {
  CHECK(ParseResyncAt("0959") == 9 * 60 + 59);
  CHECK(ParseResyncAt("0000") == 0);
  CHECK(ParseResyncAt("2400") == 1440);
  CHECK(ParseResyncAt("2359") == 1439);
}

TEST_CASE("An invalid Resync_At value is ignored like the phone ignores it") {
  for (const char* bad : {"", "959", "2401", "2460", "1260", "09:59", "abcd", "10000"}) {
    CHECK_FALSE(ParseResyncAt(bad).has_value());
  }
}

TEST_CASE("Resync_At_Random_Delay is rounded to whole minutes, below 600 the window is 600 s") {
  CHECK(ResyncAtWindowSeconds(600) == 600);  // the guide's "600 s (10 minutes)"
  CHECK(ResyncAtWindowSeconds(900) == 900);
  CHECK(ResyncAtWindowSeconds(0) == 600);
  CHECK(ResyncAtWindowSeconds(599) == 600);
  CHECK(ResyncAtWindowSeconds(629) == 600);  // (629 + 30) / 60 = 10 whole minutes
  CHECK(ResyncAtWindowSeconds(630) == 660);  // (630 + 30) / 60 = 11
  CHECK(ResyncAtWindowSeconds(3600) == 3600);
}

TEST_CASE("Resync_Random_Delay counts in units of 20 seconds") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  CHECK(c.random_delay == 2);
  CHECK(c.RandomDelaySeconds() == 40);
  c.random_delay = 600;
  CHECK(c.RandomDelaySeconds() == 12000);
}

TEST_CASE("Factory defaults are periodic 3600 and the MPP retry list") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  CHECK(c.periodic.ToString() == "3600");
  CHECK(c.retry.ToString() == kDefaultRetryMpp);
  CHECK_FALSE(c.at_minute.has_value());
  CHECK(c.at_random_delay_s == 600);
}

constexpr int64_t kS = 1'000'000;
// 2026-11-25T00:00:00Z
constexpr int64_t kMidnight = 1795564800LL * kS;

TEST_CASE("The periodic window follows a success by the configured delay") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.periodic = RetrySchedule::Parse("2400+30").value();
  BackoffState st;
  st.Apply(Outcome::kSuccess);
  auto w = NextWindow(c, Outcome::kSuccess, st, kMidnight);
  REQUIRE(w);
  CHECK(w->rule == Rule::kPeriodic);
  CHECK(w->earliest_us == kMidnight + 2400 * kS);
  CHECK(w->latest_us == kMidnight + 2430 * kS);
}

TEST_CASE("The n-th consecutive failure waits the n-th retry delay") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  BackoffState st;
  for (int n = 1; n <= 3; ++n) st.Apply(Outcome::kFailure);
  auto w = NextWindow(c, Outcome::kFailure, st, kMidnight);
  REQUIRE(w);
  CHECK(w->rule == Rule::kRetry);
  CHECK(w->step == 3);
  CHECK(w->earliest_us - kMidnight == 240 * kS);
  st.Apply(Outcome::kSuccess);
  CHECK(st.failures == 0);
}

TEST_CASE("Retry delay 0 schedules nothing after a failure") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.retry = RetrySchedule();
  BackoffState st;
  st.Apply(Outcome::kFailure);
  CHECK_FALSE(NextWindow(c, Outcome::kFailure, st, kMidnight).has_value());
}

TEST_CASE("A valid Resync_At overrides periodic: the next 0959 in the phone's time zone") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.at_text = "0959";
  c.at_minute = ParseResyncAt("0959");
  BackoffState st;
  st.Apply(Outcome::kSuccess);
  auto w = NextWindow(c, Outcome::kSuccess, st, kMidnight + 8 * 3600 * kS);
  REQUIRE(w);
  CHECK(w->rule == Rule::kAtHhmm);
  CHECK(w->earliest_us == kMidnight + (9 * 3600 + 59 * 60) * kS);
  CHECK(w->latest_us == w->earliest_us + 600 * kS);
  // After today's slot, the next is tomorrow's.
  auto w2 = NextWindow(c, Outcome::kSuccess, st, kMidnight + 10 * 3600 * kS);
  CHECK(w2->earliest_us == kMidnight + (86400 + 9 * 3600 + 59 * 60) * kS);
  // At UTC+01:00, 09:59 local is 08:59 UTC.
  c.utc_offset_minutes = 60;
  auto w3 = NextWindow(c, Outcome::kSuccess, st, kMidnight);
  CHECK(w3->earliest_us == kMidnight + (8 * 3600 + 59 * 60) * kS);
}

TEST_CASE("Resync_At 2400 is midnight at the end of the day") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.at_minute = ParseResyncAt("2400");
  BackoffState st;
  st.Apply(Outcome::kSuccess);
  auto w = NextWindow(c, Outcome::kSuccess, st, kMidnight + 3600 * kS);
  CHECK(w->earliest_us == kMidnight + 86400 * kS);
}

TEST_CASE("Failures still retry by Resync_Error_Retry_Delay when Resync_At is set") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.at_minute = ParseResyncAt("0959");
  BackoffState st;
  st.Apply(Outcome::kFailure);
  auto w = NextWindow(c, Outcome::kFailure, st, kMidnight);
  CHECK(w->rule == Rule::kRetry);
  CHECK(w->earliest_us - kMidnight == 60 * kS);
}

}  // namespace
}  // namespace resyncwatch
