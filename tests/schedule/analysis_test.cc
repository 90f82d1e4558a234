#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kT0 = 1795564800LL * kS;  // 2026-11-25T00:00:00Z

// A device's event list written in seconds after kT0. Messages carry the hash of their
// text as the store's events do: a request's text and URL follow its profile.
class Seq {
 public:
  Seq& Req(double t, int profile = 0) {
    ResyncEvent& e = Add(t, EventKind::kResyncRequest, 100 + profile);
    e.url_hash = 200 + profile;
    return *this;
  }
  Seq& Ok(double t, int profile = 0) {
    Add(t, EventKind::kResyncSuccess, 300 + profile);
    return *this;
  }
  // A request of a template without $SCHEME://...$PATH: no URL to tell profiles apart.
  Seq& ReqNoUrl(double t) {
    Add(t, EventKind::kResyncRequest, 100);
    return *this;
  }
  Seq& Fail(double t) {
    Add(t, EventKind::kResyncFailure, 400);
    return *this;
  }
  Seq& NotFound(double t) {
    Add(t, EventKind::kResyncFailure, 401).file_not_found = true;
    return *this;
  }
  Seq& Upgrade(double t) {
    Add(t, EventKind::kUpgradeRequest, 500);
    return *this;
  }
  // A request answered after 0.5 s.
  Seq& Good(double t) { return Req(t).Ok(t + 0.5); }
  Seq& Bad(double t) { return Req(t).Fail(t + 0.5); }
  Seq& Notify(double t) {
    Add(t, EventKind::kDebug, 600).sip_notify_resync = true;
    return *this;
  }
  // Every message so far again, `delay` s later (Syslog_Server and Debug_Server).
  Seq& Doubled(double delay) {
    std::vector<ResyncEvent> both;
    for (const ResyncEvent& e : events_) {
      both.push_back(e);
      both.push_back(e);
      both.back().time_us += static_cast<int64_t>(delay * kS);
    }
    std::stable_sort(both.begin(), both.end(),
                     [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
    events_ = std::move(both);
    return *this;
  }
  std::span<const ResyncEvent> events() const { return events_; }
  static int64_t At(double t) { return kT0 + static_cast<int64_t>(t * kS); }

 private:
  ResyncEvent& Add(double t, EventKind kind, uint64_t text) {
    ResyncEvent e;
    e.time_us = At(t);
    e.kind = kind;
    e.text_hash = text;
    events_.push_back(e);
    return events_.back();
  }
  std::vector<ResyncEvent> events_;
};

int64_t Count(const DeviceAnalysis& a, Verdict v) { return a.verdicts[static_cast<int>(v)]; }

AnalysisOptions Opts() {
  AnalysisOptions o;
  o.infer_initial_step = false;
  return o;
}

DeviceAnalysis Run(const Seq& s, double now_s, ScheduleConfig c = ScheduleConfig::FactoryDefault(),
                   AnalysisOptions o = Opts()) {
  return AnalyzeDevice(s.events(), c, Seq::At(now_s), o);
}

TEST_CASE("A periodic resync inside its window is on time") {
  auto a = Run(Seq().Good(0).Good(3600.5 + 3), 4000);
  REQUIRE(a.gaps.size() == 1);
  CHECK(a.gaps[0].rule == Rule::kPeriodic);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
  CHECK(a.gaps[0].observed_us() == 3603 * kS);
  CHECK(a.gaps[0].expected->earliest_us - a.gaps[0].from_us == 3600 * kS);
  CHECK(a.state == ScheduleState::kOk);
  CHECK(a.backoff_step == 0);
  REQUIRE(a.next_due_us);
}

// A phone that neither restarts nor takes calls: every deviation is the schedule's.
ScheduleConfig Strict() {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.resync_on_reset = false;
  c.forced_resync_delay_s = 0;
  return c;
}

TEST_CASE("A periodic resync well before its window is early when restarts are ruled out") {
  auto a = Run(Seq().Good(0).Good(1800), 2000, Strict());
  CHECK(a.gaps[0].verdict == Verdict::kEarly);
}

TEST_CASE("A resync after one missed window is late, after two it is missing") {
  auto late = Run(Seq().Good(0).Good(4500), 5000, Strict());
  CHECK(late.gaps[0].verdict == Verdict::kLate);
  CHECK(late.gaps[0].rule == Rule::kPeriodic);
  auto missing = Run(Seq().Good(0).Good(3 * 3600), 4 * 3600, Strict());
  CHECK(missing.gaps[0].verdict == Verdict::kMissing);
}

TEST_CASE("Tolerance absorbs jitter at both edges of the window") {
  AnalysisOptions o = Opts();  // 5 s + 0.5 % of 3600 s = 23 s
  ScheduleConfig c = Strict();
  CHECK(Run(Seq().Good(0).Good(0.5 + 3600 - 22), 9000, c).gaps[0].verdict == Verdict::kOnTime);
  CHECK(Run(Seq().Good(0).Good(0.5 + 3600 - 24), 9000, c).gaps[0].verdict == Verdict::kEarly);
  CHECK(Run(Seq().Good(0).Good(0.5 + 3600 + 22), 9000, c).gaps[0].verdict == Verdict::kOnTime);
  CHECK(Run(Seq().Good(0).Good(0.5 + 3600 + 24), 9000, c).gaps[0].verdict == Verdict::kLate);
  o.tolerance_us = 60 * kS;
  auto a = Run(Seq().Good(0).Good(0.5 + 3600 + 70), 9000, c, o);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
}

TEST_CASE("A reboot between periodic resyncs is a restart, not an early attempt") {
  // Periodic resyncs, then reboots 20 and 35 minutes after two of them: each power-on
  // attempt restarts the periodic timer, and the next resync is an hour after it.
  Seq s;
  s.Good(0).Good(3600.5).Good(3600.5 + 1200);  // reboot 20 min after the second
  double t = 4801 + 3600;
  s.Good(t).Good(t + 3600.5).Good(t + 3600.5 + 3600.5).Good(t + 7201.5 + 2100);  // 35 min
  s.Good(t + 9301.5 + 3600.5);
  auto a = Run(s, t + 9302 + 3700);
  REQUIRE(a.gaps.size() == 7);
  CHECK(a.gaps[1].rule == Rule::kPowerOn);
  CHECK(a.gaps[1].verdict == Verdict::kOnTime);
  CHECK(a.gaps[5].rule == Rule::kPowerOn);
  CHECK(Count(a, Verdict::kEarly) == 0);
  CHECK(a.state == ScheduleState::kOk);
}

TEST_CASE("A reboot as the latest attempt is a restart") {
  auto a = Run(Seq().Good(0).Good(1800), 2000);
  CHECK(a.gaps[0].rule == Rule::kPowerOn);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
}

TEST_CASE("Early attempts in a row are early: a phone retrying too fast is hammering") {
  Seq s;
  s.Good(0).Good(600).Good(1200).Good(1800);  // periodic 600 where 3600 is configured
  auto a = Run(s, 1900);
  CHECK(Count(a, Verdict::kEarly) == 3);
  CHECK(a.state == ScheduleState::kHammering);
}

TEST_CASE("A phone that retries every 60 s whatever its back-off is hammering") {
  // Read alone, each early retry could be a restart; restarts do not come one retry apart.
  Seq s;
  for (int i = 0; i < 60; ++i) s.Bad(i * 60.5);
  auto a = Run(s, 60 * 60.5);
  CHECK(Count(a, Verdict::kEarly) >= 20);
  CHECK(a.state == ScheduleState::kHammering);
}

TEST_CASE("Restarts two scheduled attempts apart are each a restart") {
  Seq s;
  s.Good(0).Good(3600.5).Good(3600.5 + 900);  // restart
  double t = 4501.5;
  s.Good(t + 3600).Good(t + 7200.5).Good(t + 7201 + 1200);  // restart two gaps later
  s.Good(t + 8401.5 + 3600);
  auto a = Run(s, t + 8402 + 3700);
  CHECK(Count(a, Verdict::kEarly) == 0);
  CHECK(a.gaps[1].rule == Rule::kPowerOn);
  CHECK(a.gaps[4].rule == Rule::kPowerOn);
  CHECK(a.state == ScheduleState::kOk);
}

TEST_CASE("One failed attempt in range: the next retry may be as late as the longest wait") {
  // Nothing before the range says how deep the phone is in its back-off.
  AnalysisOptions o = Opts();
  o.infer_initial_step = true;
  auto a = Run(Seq().Bad(0), 6 * 3600, ScheduleConfig::FactoryDefault(), o);
  CHECK(a.state == ScheduleState::kOk);
  REQUIRE(a.next_due_us);
  CHECK(*a.next_due_us - a.last_attempt_us >= 86400 * kS);
  auto gone = Run(Seq().Bad(0), 86400 + 14400 + 2000, ScheduleConfig::FactoryDefault(), o);
  CHECK(gone.state == ScheduleState::kOverdue);
}

TEST_CASE("Templates without a URL: profile requests seconds apart are one cycle") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.periodic = RetrySchedule::Parse("600,1200,300").value();
  Seq s;
  double t = 0;
  for (double wait : {600.0, 1200.0, 300.0, 300.0}) {
    s.ReqNoUrl(t).Ok(t + 0.5).ReqNoUrl(t + 3.5).Ok(t + 4.0);
    t += 4.0 + wait;
  }
  s.ReqNoUrl(t).Ok(t + 0.5).ReqNoUrl(t + 3.5).Ok(t + 4.0);
  auto a = Run(s, t + 10, c);
  CHECK(a.attempts == 5);
  CHECK(Count(a, Verdict::kOnTime) == 4);
  CHECK(a.state == ScheduleState::kOk);
}

TEST_CASE("A resync held back by a call is deferred, up to Forced_Resync_Delay") {
  auto a = Run(Seq().Good(0).Good(3600.5 + 3960), 9000);  // 66 minutes after the window
  CHECK(a.gaps[0].verdict == Verdict::kDeferred);
  CHECK(a.gaps[0].rule == Rule::kPeriodic);
  auto b = Run(Seq().Good(0).Good(3600.5 + 14400 - 60), 20000);
  CHECK(b.gaps[0].verdict == Verdict::kDeferred);
  auto c = Run(Seq().Good(0).Good(3600.5 + 14400 + 600), 20000);
  CHECK(c.gaps[0].verdict == Verdict::kLate);
}

TEST_CASE("A phone in a call when its resync is due is not overdue yet") {
  // Due at 3600 (+23 s tolerance); a call may hold it back for Forced_Resync_Delay.
  auto a = Run(Seq().Good(0), 3600 + 23 + 3600);
  CHECK(a.state == ScheduleState::kOk);
  CHECK(a.overdue_us == 0);
  auto b = Run(Seq().Good(0), 3600 + 23 + 14400 + 901);
  CHECK(b.state == ScheduleState::kOverdue);
  CHECK(b.overdue_us > 900 * kS);
}

TEST_CASE("Every line received twice from Syslog_Server and Debug_Server counts once") {
  Seq s;
  s.Bad(0).Bad(60.5).Bad(181.5).Bad(422).Bad(902.5).Bad(1863).Doubled(0.004);
  auto a = Run(s, 1900);
  CHECK(a.attempts == 6);
  CHECK(a.backoff_step == 6);
  CHECK(Count(a, Verdict::kOnTime) == 5);
  CHECK(a.state == ScheduleState::kOk);
}

TEST_CASE("A missing per-phone profile then a common profile is one failed attempt") {
  // Resync_Fails_On_FNF Yes (default): the cycle failed; the next comes after retry 1.
  Seq s;
  s.Req(0, 0).NotFound(0.3).Req(0.4, 1).Ok(0.9, 1);
  s.Req(60.9, 0).NotFound(61.2).Req(61.3, 1).Ok(61.8, 1);
  auto a = Run(s, 100);
  CHECK(a.attempts == 2);
  REQUIRE(a.gaps.size() == 1);
  CHECK(a.gaps[0].rule == Rule::kRetry);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
  CHECK(a.backoff_step == 2);
}

TEST_CASE("With Resync_Fails_On_FNF No a missing profile does not fail the cycle") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.fails_on_fnf = false;
  Seq s;
  for (int i = 0; i < 14; ++i) {
    double t = i * 3601.0;
    s.Req(t, 0).NotFound(t + 0.3).Req(t + 0.4, 1).Ok(t + 1.0, 1);
  }
  auto a = Run(s, 14 * 3601, c);
  CHECK(a.attempts == 14);
  CHECK(Count(a, Verdict::kOnTime) == 13);
  CHECK(a.backoff_step == 0);
  CHECK(a.state == ScheduleState::kOk);
}

TEST_CASE("A request for a profile already fetched in the cycle starts the next attempt") {
  Seq s;
  s.Req(0).Fail(0.2).Req(8).Fail(8.2).Req(16).Fail(16.2);  // retrying every 8 s
  auto a = Run(s, 20);
  CHECK(a.attempts == 3);
  CHECK(a.state == ScheduleState::kHammering);
}

TEST_CASE("Requests alone are failures when the fleet does not send failures") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.sent.failure = false;
  Seq s;
  s.Req(0).Req(60).Req(180).Req(420).Req(900);
  auto a = Run(s, 1000, c);
  CHECK(a.attempts == 5);
  CHECK(Count(a, Verdict::kOnTime) == 4);
  CHECK(a.last_outcome == Outcome::kFailure);
  CHECK(a.backoff_step == 5);
  CHECK(a.state == ScheduleState::kOk);
}

TEST_CASE("Provision_Enable No: the phone is never overdue") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.provision_enable = false;
  auto a = Run(Seq().Good(0), 30 * 86400, c);
  CHECK(a.state == ScheduleState::kOk);
  CHECK_FALSE(a.next_due_us.has_value());
  CHECK(a.resyncs_disabled);
}

TEST_CASE("Consecutive failures follow the retry list step by step") {
  Seq s;
  s.Bad(0).Bad(60.5).Bad(60.5 + 0.5 + 120).Bad(181.5 + 0.5 + 240);
  auto a = Run(s, 500);
  REQUIRE(a.gaps.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(a.gaps[i].rule == Rule::kRetry);
    CHECK(a.gaps[i].retry_step == i + 1);
    CHECK(a.gaps[i].verdict == Verdict::kOnTime);
  }
  CHECK(a.backoff_step == 4);
  REQUIRE(a.next);
  CHECK(a.next->rule == Rule::kRetry);
  CHECK(a.next->earliest_us - a.last_attempt_us == 480 * kS);
}

TEST_CASE("A success resets the back-off; the next failure retries after 60 s again") {
  Seq s;
  s.Bad(0).Bad(60.5).Good(181).Bad(181.5 + 3600).Bad(3782 + 60);
  auto a = Run(s, 4000);
  REQUIRE(a.gaps.size() == 4);
  CHECK(a.gaps[2].rule == Rule::kPeriodic);
  CHECK(a.gaps[3].rule == Rule::kRetry);
  CHECK(a.gaps[3].retry_step == 1);
  CHECK(a.verdicts[static_cast<int>(Verdict::kOnTime)] == 4);
}

TEST_CASE("Profiles fetched seconds apart in one cycle are one attempt") {
  Seq s;
  s.Req(0, 0).Ok(0.4, 0).Req(1.0, 1).Ok(1.3, 1).Req(2.0, 2).Ok(2.2, 2);
  s.Req(2.2 + 3600, 0).Ok(3602.5, 0).Req(3603, 1).Ok(3603.4, 1);
  auto a = Run(s, 4000);
  CHECK(a.attempts == 2);
  REQUIRE(a.gaps.size() == 1);
  CHECK(a.gaps[0].from_us == Seq::At(2.2));
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
}

TEST_CASE("A failure that comes long after its request still belongs to it") {
  Seq s;
  s.Good(0).Req(3600.5).Fail(3600.5 + 75).Bad(3675.5 + 60);
  auto a = Run(s, 4000);
  CHECK(a.attempts == 3);
  REQUIRE(a.gaps.size() == 2);
  CHECK(a.gaps[0].outcome == Outcome::kFailure);
  CHECK(a.gaps[1].rule == Rule::kRetry);
  CHECK(a.gaps[1].verdict == Verdict::kOnTime);
}

TEST_CASE("Requests without outcomes far apart are separate attempts") {
  Seq s;
  s.Req(0).Req(3600).Req(7200);
  auto a = Run(s, 7300);
  CHECK(a.attempts == 3);
  CHECK(a.verdicts[static_cast<int>(Verdict::kOnTime)] == 2);
}

TEST_CASE("A fleet that sends failures only is judged on its bare failures") {
  Seq s;
  s.Fail(0).Fail(60).Fail(180).Fail(300).Fail(420);
  auto a = Run(s, 500);
  REQUIRE(a.gaps.size() == 4);
  CHECK(a.gaps[1].verdict == Verdict::kOnTime);
  CHECK(a.gaps[2].retry_step == 3);
  CHECK(a.gaps[2].verdict == Verdict::kEarly);  // 120 s where 240 s were due
  CHECK(a.gaps[3].verdict == Verdict::kEarly);  // and again: not a restart
}

TEST_CASE("A resync right after a firmware upgrade is on demand, not early") {
  Seq s;
  s.Good(0).Upgrade(900).Good(1000).Good(1000.5 + 3600);
  auto a = Run(s, 5000);
  REQUIRE(a.gaps.size() == 2);
  CHECK(a.gaps[0].rule == Rule::kOnDemand);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
  CHECK(a.gaps[1].rule == Rule::kPeriodic);
  CHECK(a.gaps[1].verdict == Verdict::kOnTime);
}

TEST_CASE("An upgrade long before the attempt does not make it on demand") {
  Seq s;
  s.Good(0).Upgrade(10).Good(2000);
  auto a = Run(s, 2100, Strict());
  CHECK(a.gaps[0].rule != Rule::kOnDemand);
  CHECK(a.gaps[0].verdict == Verdict::kEarly);
}

TEST_CASE("A resync after an upgrade comes within the reboot and Resync_Random_Delay") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.random_delay = 60;  // up to 1200 s after the reboot
  Seq s;
  s.Good(0).Upgrade(1000).Good(1000 + 1900).Good(2900.5 + 3600);
  auto a = Run(s, 7000, c);
  REQUIRE(a.gaps.size() == 2);
  CHECK(a.gaps[0].rule == Rule::kOnDemand);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
  CHECK(a.gaps[1].verdict == Verdict::kOnTime);
}

TEST_CASE("A SIP NOTIFY Event: resync before the attempt makes it on demand") {
  CHECK(IsSipNotifyResync("NOTIFY sip:1001@10.0.0.5:5060 SIP/2.0\r\nEvent: resync\r\n"));
  CHECK(IsSipNotifyResync("NOTIFY sip:x SIP/2.0\nevent:Resync\n"));
  CHECK_FALSE(IsSipNotifyResync("NOTIFY sip:x SIP/2.0\nEvent: check-sync\n"));
  CHECK_FALSE(IsSipNotifyResync("INVITE sip:x SIP/2.0\nEvent: resync\n"));
  Seq s;
  s.Good(0).Notify(299).Good(300);
  auto a = Run(s, 400);
  CHECK(a.gaps[0].rule == Rule::kOnDemand);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
}

TEST_CASE("After a long silence the attempt is a power-on and the back-off restarts") {
  Seq s;
  // Deep in back-off (4 failures), then the phone is off for a day.
  s.Fail(0).Fail(60).Fail(180).Fail(420);
  s.Fail(420 + 86400).Fail(420 + 86400 + 60);
  auto a = Run(s, 420 + 86400 + 100);
  REQUIRE(a.gaps.size() == 5);
  CHECK(a.gaps[3].rule == Rule::kPowerOn);
  CHECK(a.gaps[3].verdict == Verdict::kMissing);
  CHECK(a.gaps[4].rule == Rule::kRetry);
  CHECK(a.gaps[4].retry_step == 1);
  CHECK(a.gaps[4].verdict == Verdict::kOnTime);
}

TEST_CASE("Retry delay 0: the phone gives up and has no next attempt") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.retry = RetrySchedule();
  auto a = Run(Seq().Good(0).Bad(3600.5), 9000, c);
  CHECK(a.state == ScheduleState::kGaveUp);
  CHECK_FALSE(a.next_due_us.has_value());
  // A resync later is a restart or a forced resync from the web page (no message).
  auto b = Run(Seq().Good(0).Bad(3600.5).Good(7000), 7100, c);
  CHECK(b.gaps[1].rule == Rule::kPowerOn);
  CHECK(b.gaps[1].verdict == Verdict::kOnTime);
  CHECK(b.state == ScheduleState::kOk);
}

TEST_CASE("Resync_At phones are judged against the daily HHmm window") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.at_minute = ParseResyncAt("0959");
  double slot = 9 * 3600 + 59 * 60;
  Seq s;
  s.Good(8 * 3600).Good(slot + 300).Good(86400 + slot + 30).Good(2 * 86400 + slot + 2000);
  auto a = Run(s, 3 * 86400, c);
  REQUIRE(a.gaps.size() == 3);
  CHECK(a.gaps[0].rule == Rule::kAtHhmm);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
  CHECK(a.gaps[1].verdict == Verdict::kOnTime);
  CHECK(a.gaps[2].verdict == Verdict::kDeferred);  // 2000 s after 0959: a call
}

TEST_CASE("The periodic list 600,1200,300 is followed wait by wait") {
  ScheduleConfig c = ScheduleConfig::FactoryDefault();
  c.periodic = RetrySchedule::Parse("600,1200,300").value();
  Seq s;
  s.Ok(0).Ok(600).Ok(1800).Ok(2100).Ok(2400).Ok(2800).Ok(4000);
  c.forced_resync_delay_s = 0;
  auto a = Run(s, 4100, c);
  REQUIRE(a.gaps.size() == 6);
  for (int i = 0; i < 4; ++i) CHECK(a.gaps[i].verdict == Verdict::kOnTime);
  CHECK(a.gaps[4].verdict == Verdict::kLate);     // 400 s where 300 s were due
  CHECK(a.gaps[5].verdict == Verdict::kMissing);  // 1200 s: two 300 s waits passed
}

TEST_CASE("A phone retrying every 15 s is hammering") {
  Seq s;
  for (int i = 0; i < 10; ++i) s.Fail(i * 15);
  auto a = Run(s, 150);
  CHECK(a.verdicts[static_cast<int>(Verdict::kEarly)] >= 2);
  CHECK(a.state == ScheduleState::kHammering);
}

TEST_CASE("A phone whose next retry is an hour or more away is deep in back-off") {
  Seq s;
  double t = 0;
  s.Fail(t);
  for (int n = 1; n <= 6; ++n) {
    t += 60 << (n - 1);
    s.Fail(t);
  }
  auto a = Run(s, t + 10);
  CHECK(a.backoff_step == 7);
  CHECK(a.next->earliest_us - a.last_attempt_us == 3840 * kS);
  CHECK(a.state == ScheduleState::kDeepBackoff);
}

TEST_CASE("A phone whose next attempt is past due by more than the grace is overdue") {
  auto a = Run(Seq().Good(0), 3600 + 23 + 901, Strict());
  CHECK(a.state == ScheduleState::kOverdue);
  CHECK(a.overdue_us > 900 * kS);
  auto b = Run(Seq().Good(0), 3600 + 23 + 899, Strict());
  CHECK(b.state == ScheduleState::kOk);
}

TEST_CASE("A device without resync attempts is unknown") {
  Seq s;
  s.Upgrade(5);
  auto a = Run(s, 100);
  CHECK(a.state == ScheduleState::kUnknown);
  CHECK(a.attempts == 0);
}

TEST_CASE("The first failure of a range takes the back-off step its gap fits") {
  AnalysisOptions o;
  o.infer_initial_step = true;
  Seq s;
  s.Fail(0).Fail(7680).Fail(7680 + 15360);
  auto a = Run(s, 30000, ScheduleConfig::FactoryDefault(), o);
  REQUIRE(a.gaps.size() == 2);
  CHECK(a.gaps[0].retry_step == 8);
  CHECK(a.gaps[0].verdict == Verdict::kOnTime);
  CHECK(a.gaps[1].retry_step == 9);
  CHECK(a.gaps[1].verdict == Verdict::kOnTime);
}

}  // namespace
}  // namespace resyncwatch
