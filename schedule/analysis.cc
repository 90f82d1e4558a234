// Judging one device's resync attempts against its schedule.
//
// How attempts that are outside the schedule are recognised (they are never judged early):
// - on_demand: an upgrade message (request, success or failure: Resync_After_Upgrade_Attempt)
//   or a debug SIP NOTIFY "Event: resync" (Resync_From_SIP) from the device after the
//   previous attempt and at most on_demand_window before this one; also any attempt when
//   nothing was scheduled (retries or periodic resync disabled: a forced resync).
// - power_on: an attempt after a silence in which more than one expected attempt never came
//   (verdict missing): the phone was off or cut off, and this is its first attempt after
//   power-on. A reboot that leaves no trace and comes back inside one window cannot be told
//   from an early attempt.
// Both restart the back-off: the attempt after them counts as the first of its kind.
#include <algorithm>
#include <cctype>

#include "common/time_format.h"
#include "schedule/schedule.h"
#include "store/store.h"

namespace resyncwatch {

std::string_view ToString(Rule rule) {
  switch (rule) {
    case Rule::kPeriodic:
      return "periodic";
    case Rule::kRetry:
      return "retry";
    case Rule::kAtHhmm:
      return "at_hhmm";
    case Rule::kPowerOn:
      return "power_on";
    case Rule::kOnDemand:
      return "on_demand";
  }
  return "periodic";
}

std::string_view ToString(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOnTime:
      return "on_time";
    case Verdict::kEarly:
      return "early";
    case Verdict::kLate:
      return "late";
    case Verdict::kMissing:
      return "missing";
  }
  return "on_time";
}

std::string_view ToString(DeviceState state) {
  switch (state) {
    case DeviceState::kOk:
      return "ok";
    case DeviceState::kHammering:
      return "hammering";
    case DeviceState::kDeepBackoff:
      return "deep_backoff";
    case DeviceState::kOverdue:
      return "overdue";
    case DeviceState::kGaveUp:
      return "gave_up";
    case DeviceState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view ToString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kUnknown:
      return "unknown";
    case Outcome::kSuccess:
      return "success";
    case Outcome::kFailure:
      return "failure";
  }
  return "unknown";
}

bool IsSipNotifyResync(std::string_view message) {
  size_t notify = message.find("NOTIFY ");
  if (notify == std::string_view::npos) return false;
  std::string lower(message.substr(notify));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t pos = 0;
  while ((pos = lower.find("event:", pos)) != std::string::npos) {
    pos += 6;
    while (pos < lower.size() && lower[pos] == ' ') ++pos;
    if (lower.compare(pos, 6, "resync") == 0) return true;
  }
  return false;
}

ResyncEvent ToResyncEvent(const Event& event) {
  ResyncEvent r;
  r.time_us = event.event_time_us;
  r.kind = event.kind;
  r.sip_notify_resync = event.kind == EventKind::kDebug && IsSipNotifyResync(event.message);
  return r;
}

std::vector<Attempt> GroupAttempts(std::span<const ResyncEvent> events,
                                   const AnalysisOptions& options) {
  std::vector<Attempt> out;
  int64_t trigger_us = INT64_MIN;  // latest upgrade / NOTIFY
  bool open = false;
  Attempt cur;
  for (const ResyncEvent& e : events) {
    switch (e.kind) {
      case EventKind::kUpgradeRequest:
      case EventKind::kUpgradeSuccess:
      case EventKind::kUpgradeFailure:
        trigger_us = e.time_us;
        continue;
      case EventKind::kDebug:
        if (e.sip_notify_resync) trigger_us = e.time_us;
        continue;
      case EventKind::kResyncRequest:
      case EventKind::kResyncSuccess:
      case EventKind::kResyncFailure:
        break;
      default:
        continue;
    }
    int64_t since_last = open ? e.time_us - cur.end_us : 0;
    bool answers_request = open && cur.outcome == Outcome::kUnknown &&
                           e.kind != EventKind::kResyncRequest &&
                           since_last <= options.outcome_wait_us;
    bool fresh = !open || cur.outcome == Outcome::kFailure ||
                 (since_last > options.cycle_gap_us && !answers_request);
    if (fresh) {
      int64_t prev_end = open ? cur.end_us : INT64_MIN;
      if (open) out.push_back(cur);
      cur = Attempt{e.time_us, e.time_us, Outcome::kUnknown, false};
      cur.on_demand = trigger_us != INT64_MIN && trigger_us > prev_end &&
                      e.time_us - trigger_us <= options.on_demand_window_us;
      open = true;
    }
    cur.end_us = e.time_us;
    if (e.kind == EventKind::kResyncFailure) {
      cur.outcome = Outcome::kFailure;
    } else if (e.kind == EventKind::kResyncSuccess) {
      cur.outcome = Outcome::kSuccess;
    }
  }
  if (open) out.push_back(cur);
  return out;
}

Verdict Judge(const Window& window, int64_t from_us, int64_t to_us,
              const std::optional<Window>& after, const AnalysisOptions& options) {
  int64_t tol = ToleranceUs(window, from_us, options);
  if (to_us < window.earliest_us - tol) return Verdict::kEarly;
  if (to_us <= window.latest_us + tol) return Verdict::kOnTime;
  if (after) {
    int64_t tol2 = ToleranceUs(*after, window.latest_us, options);
    if (to_us > after->latest_us + tol + tol2) return Verdict::kMissing;
  }
  return Verdict::kLate;
}

namespace {

// At the start of a range the back-off may already be deep: take the step whose window fits.
void InferInitialStep(const ScheduleConfig& config, const Attempt& first, const Attempt& second,
                      const AnalysisOptions& options, BackoffState* st) {
  if (second.on_demand) return;
  double observed_s = static_cast<double>(second.start_us - first.end_us) / kMicrosPerSecond;
  double tol_s = static_cast<double>(options.tolerance_us) / kMicrosPerSecond;
  const RetrySchedule& list = first.outcome == Outcome::kFailure ? config.retry : config.periodic;
  if (list.disabled() || list.delays().size() < 2) return;
  if (first.outcome != Outcome::kFailure && config.at_minute) return;
  int step = list.StepFitting(observed_s, tol_s + observed_s * options.tolerance_ratio);
  if (step <= 1) return;
  if (first.outcome == Outcome::kFailure) {
    st->failures = step;
  } else {
    st->successes = step;
  }
}

}  // namespace

DeviceAnalysis AnalyzeDevice(std::span<const ResyncEvent> events, const ScheduleConfig& config,
                             int64_t now_us, const AnalysisOptions& options) {
  DeviceAnalysis a;
  std::vector<Attempt> attempts = GroupAttempts(events, options);
  a.attempts = static_cast<int64_t>(attempts.size());
  if (attempts.empty()) {
    a.state = DeviceState::kUnknown;
    return a;
  }
  BackoffState st;
  st.Apply(attempts[0].outcome);
  if (options.infer_initial_step && attempts.size() >= 2) {
    InferInitialStep(config, attempts[0], attempts[1], options, &st);
  }
  a.gaps.reserve(attempts.size() - 1);
  for (size_t i = 1; i < attempts.size(); ++i) {
    const Attempt& prev = attempts[i - 1];
    const Attempt& cur = attempts[i];
    Gap g;
    g.from_us = prev.end_us;
    g.to_us = cur.start_us;
    g.outcome = cur.outcome;
    std::optional<Window> w = NextWindow(config, prev.outcome, st, prev.end_us);
    bool reset = false;
    if (w) {
      BackoffState presumed = st;
      presumed.Apply(prev.outcome);
      std::optional<Window> after = NextWindow(config, prev.outcome, presumed, w->latest_us);
      g.verdict = Judge(*w, g.from_us, g.to_us, after, options);
      g.tolerance_us = ToleranceUs(*w, g.from_us, options);
      g.rule = w->rule;
      g.retry_step = w->rule == Rule::kRetry ? w->step : 0;
      g.expected = w;
      if (cur.on_demand) {
        g.rule = Rule::kOnDemand;
        if (g.verdict == Verdict::kEarly) g.verdict = Verdict::kOnTime;
        reset = true;
      } else if (g.verdict == Verdict::kMissing) {
        g.rule = Rule::kPowerOn;
        reset = true;
      }
    } else {
      g.rule = Rule::kOnDemand;  // nothing was scheduled: a forced resync
      g.verdict = Verdict::kOnTime;
      reset = true;
    }
    if (reset) st = BackoffState{};
    st.Apply(cur.outcome);
    ++a.verdicts[static_cast<int>(g.verdict)];
    a.gaps.push_back(g);
  }
  const Attempt& last = attempts.back();
  a.last_attempt_us = last.end_us;
  a.last_outcome = last.outcome;
  a.backoff_step = st.failures;
  a.next = NextWindow(config, last.outcome, st, last.end_us);
  if (a.next) {
    a.next_due_us = a.next->latest_us + ToleranceUs(*a.next, last.end_us, options);
    a.overdue_us = std::max<int64_t>(0, now_us - *a.next_due_us);
  }
  a.state = ClassifyDevice(a, now_us, options);
  return a;
}

DeviceState ClassifyDevice(const DeviceAnalysis& a, int64_t now_us,
                           const AnalysisOptions& options) {
  if (a.attempts == 0) return DeviceState::kUnknown;
  if (a.last_outcome == Outcome::kFailure && !a.next) return DeviceState::kGaveUp;
  if (a.next_due_us && now_us - *a.next_due_us > options.grace_us) return DeviceState::kOverdue;
  int early = 0;
  size_t from = a.gaps.size() > kHammeringWindow ? a.gaps.size() - kHammeringWindow : 0;
  for (size_t i = from; i < a.gaps.size(); ++i) early += a.gaps[i].verdict == Verdict::kEarly;
  if (early >= options.hammering_min_early) return DeviceState::kHammering;
  if (a.next && a.next->rule == Rule::kRetry &&
      a.next->earliest_us - a.last_attempt_us >= options.deep_backoff_us) {
    return DeviceState::kDeepBackoff;
  }
  return DeviceState::kOk;
}

}  // namespace resyncwatch
