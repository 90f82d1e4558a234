// Judging one device's resync attempts against its schedule. docs/schedule.md gives the
// rules and the reasoning; in short, every behaviour the provisioning guide allows a
// healthy phone (restarts without a message, copies from a second syslog target, several
// profiles per cycle, calls that hold a resync back, on-demand resyncs) is read as such, so
// that `early`, `hammering` and `overdue` are said of phones that really misbehave.
#include <algorithm>
#include <cctype>
#include <functional>

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
    case Verdict::kDeferred:
      return "deferred";
  }
  return "on_time";
}

std::string_view ToString(ScheduleState state) {
  switch (state) {
    case ScheduleState::kOk:
      return "ok";
    case ScheduleState::kHammering:
      return "hammering";
    case ScheduleState::kDeepBackoff:
      return "deep_backoff";
    case ScheduleState::kOverdue:
      return "overdue";
    case ScheduleState::kGaveUp:
      return "gave_up";
    case ScheduleState::kUnknown:
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

namespace {

bool EqualsNoCase(std::string_view text, size_t pos, std::string_view lower) {
  if (text.size() - pos < lower.size()) return false;
  for (size_t i = 0; i < lower.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != lower[i]) return false;
  }
  return true;
}

}  // namespace

bool IsSipNotifyResync(std::string_view message) {
  // Debug level 2 and above sends every SIP message: no copy, no lowering of the text.
  size_t notify = message.find("NOTIFY ");
  if (notify == std::string_view::npos) return false;
  for (size_t pos = notify; pos + 6 <= message.size(); ++pos) {
    if (!EqualsNoCase(message, pos, "event:")) continue;
    size_t v = pos + 6;
    while (v < message.size() && message[v] == ' ') ++v;
    if (EqualsNoCase(message, v, "resync")) return true;
  }
  return false;
}

bool MattersToSchedule(const Event& event) {
  switch (event.kind) {
    case EventKind::kResyncRequest:
    case EventKind::kResyncSuccess:
    case EventKind::kResyncFailure:
    case EventKind::kUpgradeRequest:
    case EventKind::kUpgradeSuccess:
    case EventKind::kUpgradeFailure:
      return true;
    case EventKind::kDebug:
      return IsSipNotifyResync(event.message);
    default:
      return false;
  }
}

namespace {

bool ContainsNoCase(std::string_view text, std::string_view lower_needle) {
  auto it =
      std::search(text.begin(), text.end(), lower_needle.begin(), lower_needle.end(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it != text.end();
}

// 32 bits (the analysis compares hashes of one device within seconds), never 0, so that
// 0 can mean "no text" in synthetic events; a smaller event keeps fleet scans in cache.
uint32_t Fold(uint64_t h) { return static_cast<uint32_t>(h ^ (h >> 32)) | 1; }

uint64_t Mix(uint64_t h, std::string_view part) {
  return (h ^ std::hash<std::string_view>{}(part)) * 0x100000001B3ULL;
}

// The requested URL by its parts (what a whole event and a scanned head both carry).
uint64_t UrlHash(const Event& e) {
  uint64_t h = Mix(Mix(0xcbf29ce484222325ULL, e.scheme), e.server);
  h = Mix(h, std::string_view(reinterpret_cast<const char*>(&e.port), sizeof e.port));
  return Mix(h, e.path);
}

}  // namespace

bool IsFileNotFound(std::string_view error) {
  return ContainsNoCase(error, "not found") || ContainsNoCase(error, "404");
}

ResyncEvent ToResyncEvent(const Event& event) {
  ResyncEvent r;
  r.time_us = event.event_time_us;
  r.kind = event.kind;
  r.sip_notify_resync = event.kind == EventKind::kDebug && IsSipNotifyResync(event.message);
  r.file_not_found = event.kind == EventKind::kResyncFailure && IsFileNotFound(event.error);
  // A message's text is its template's with these fields: the same URL and $ERR in the
  // same kind is the same text (a copy, when it comes again within seconds).
  bool has_url = !event.scheme.empty() || !event.server.empty() || !event.path.empty();
  uint64_t url = has_url ? UrlHash(event) : 0;
  if (event.kind == EventKind::kResyncRequest && has_url) r.url_hash = Fold(url);
  r.text_hash = event.kind == EventKind::kDebug ? Fold(std::hash<std::string_view>{}(event.message))
                                                : Fold(Mix(url, event.error));
  return r;
}

namespace {

bool IsResync(EventKind kind) {
  return kind == EventKind::kResyncRequest || kind == EventKind::kResyncSuccess ||
         kind == EventKind::kResyncFailure;
}

bool IsUpgrade(EventKind kind) {
  return kind == EventKind::kUpgradeRequest || kind == EventKind::kUpgradeSuccess ||
         kind == EventKind::kUpgradeFailure;
}

// Drops copies: the same kind and text from the device within the duplicate window.
class CopyFilter {
 public:
  explicit CopyFilter(int64_t window_us) : window_us_(window_us) {}
  bool IsCopy(const ResyncEvent& e) {
    while (!recent_.empty() && e.time_us - recent_.front().time_us > window_us_) {
      recent_.erase(recent_.begin());
    }
    for (const ResyncEvent& r : recent_) {
      if (r.kind == e.kind && r.text_hash == e.text_hash && e.text_hash != 0) return true;
    }
    recent_.push_back(e);
    return false;
  }

 private:
  int64_t window_us_;
  std::vector<ResyncEvent> recent_;
};

// The latest upgrade or SIP NOTIFY and how long after it an attempt is on demand.
struct Trigger {
  int64_t time_us = INT64_MIN;
  int64_t reach_us = 0;
  bool Covers(int64_t prev_end_us, int64_t start_us) const {
    return time_us != INT64_MIN && time_us > prev_end_us && start_us - time_us <= reach_us;
  }
};

// One cycle being collected: its profiles' requests and outcomes.
class CycleBuilder {
 public:
  CycleBuilder(const ScheduleConfig& config, const AnalysisOptions& options)
      : config_(config), options_(options), cycle_gap_us_(CycleGapUs(config, options)) {}

  bool open() const { return open_; }
  const Attempt& attempt() const { return cur_; }

  // Whether e belongs to the open cycle.
  bool Joins(const ResyncEvent& e) const {
    if (!open_) return false;
    bool is_request = e.kind == EventKind::kResyncRequest;
    if (!is_request && pending_requests_ > 0 &&
        e.time_us - last_request_us_ <= options_.outcome_wait_us) {
      return true;  // the outcome of an open request
    }
    if (e.time_us - cur_.end_us > cycle_gap_us_) return false;
    // Each profile is fetched once per cycle: the same URL again is the next attempt
    // (templates may leave the URL out: then time alone decides).
    return !is_request || e.url_hash == 0 ||
           std::find(urls_.begin(), urls_.end(), e.url_hash) == urls_.end();
  }

  void Start(const ResyncEvent& e, bool on_demand) {
    open_ = true;
    cur_ = Attempt{e.time_us, e.time_us, Outcome::kUnknown, on_demand};
    pending_requests_ = 0;
    last_request_us_ = 0;
    urls_.clear();
    failed_ = false;
    fetched_ = false;
  }

  void Add(const ResyncEvent& e) {
    cur_.end_us = e.time_us;
    switch (e.kind) {
      case EventKind::kResyncRequest:
        ++pending_requests_;
        last_request_us_ = e.time_us;
        urls_.push_back(e.url_hash);
        break;
      case EventKind::kResyncFailure:
        Answer();
        if (e.file_not_found && !config_.fails_on_fnf) {
          fetched_ = true;  // Resync_Fails_On_FNF No: not found counts as fetched
        } else {
          failed_ = true;
        }
        break;
      default:
        Answer();
        fetched_ = true;
        break;
    }
  }

  // The attempt with its outcome. A request left unanswered means the kind of outcome the
  // fleet does not send.
  Attempt Finish() const {
    Attempt a = cur_;
    const MessagesSent& sent = config_.sent;
    bool silent_failure = pending_requests_ > 0 && !sent.failure && sent.success;
    bool silent_success = pending_requests_ > 0 && !sent.success && sent.failure;
    if (failed_ || silent_failure) {
      a.outcome = Outcome::kFailure;
    } else if (fetched_ || silent_success) {
      a.outcome = Outcome::kSuccess;
    }
    return a;
  }

 private:
  void Answer() {
    if (pending_requests_ > 0) --pending_requests_;
  }
  // Never as long as the shortest configured wait: two attempts are never one cycle.
  static int64_t CycleGapUs(const ScheduleConfig& config, const AnalysisOptions& options) {
    int64_t gap = options.cycle_gap_us;
    for (const RetrySchedule* list : {&config.retry, &config.periodic}) {
      for (const DelaySpec& d : list->delays()) {
        gap = std::min(gap, d.min_s * kMicrosPerSecond / 2);
      }
    }
    return gap;
  }

  const ScheduleConfig& config_;
  const AnalysisOptions& options_;
  int64_t cycle_gap_us_;
  bool open_ = false;
  Attempt cur_;
  int pending_requests_ = 0;
  int64_t last_request_us_ = 0;
  std::vector<uint32_t> urls_;
  bool failed_ = false;
  bool fetched_ = false;
};

}  // namespace

std::vector<Attempt> GroupAttempts(std::span<const ResyncEvent> events,
                                   const ScheduleConfig& config, const AnalysisOptions& options) {
  std::vector<Attempt> out;
  CopyFilter copies(options.duplicate_window_us);
  Trigger trigger;
  CycleBuilder cycle(config, options);
  int64_t reboot_us = options.on_demand_window_us + config.RandomDelaySeconds() * kMicrosPerSecond;
  int64_t idle_us = options.on_demand_window_us + config.forced_resync_delay_s * kMicrosPerSecond;
  for (const ResyncEvent& e : events) {
    if (IsUpgrade(e.kind) || e.sip_notify_resync) {
      if (copies.IsCopy(e)) continue;
      trigger = Trigger{e.time_us, IsUpgrade(e.kind) ? reboot_us : idle_us};
      continue;
    }
    if (!IsResync(e.kind) || copies.IsCopy(e)) continue;
    if (!cycle.Joins(e)) {
      int64_t prev_end = INT64_MIN;
      if (cycle.open()) {
        out.push_back(cycle.Finish());
        prev_end = out.back().end_us;
      }
      cycle.Start(e, trigger.Covers(prev_end, e.time_us));
    }
    cycle.Add(e);
  }
  if (cycle.open()) out.push_back(cycle.Finish());
  return out;
}

Verdict Judge(const Window& window, int64_t from_us, int64_t to_us,
              const std::optional<Window>& after, int64_t allowance_us,
              const AnalysisOptions& options) {
  int64_t tol = ToleranceUs(window, from_us, options);
  if (to_us < window.earliest_us - tol) return Verdict::kEarly;
  if (to_us <= window.latest_us + tol) return Verdict::kOnTime;
  if (to_us <= window.latest_us + allowance_us + tol) return Verdict::kDeferred;
  if (after) {
    int64_t tol2 = ToleranceUs(*after, window.latest_us, options);
    if (to_us > after->latest_us + allowance_us + tol + tol2) return Verdict::kMissing;
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

int64_t AllowanceUs(const ScheduleConfig& config) {
  return config.forced_resync_delay_s * kMicrosPerSecond;
}

// The verdict of the attempt `cur` after `prev` with back-off state st, before restarts
// are told from early attempts. expected is left empty when nothing was scheduled.
Gap JudgeScheduled(const ScheduleConfig& config, const Attempt& prev, const Attempt& cur,
                   const BackoffState& st, const AnalysisOptions& options) {
  Gap g;
  g.from_us = prev.end_us;
  g.to_us = cur.start_us;
  g.outcome = cur.outcome;
  std::optional<Window> w = NextWindow(config, prev.outcome, st, prev.end_us);
  if (!w) return g;
  BackoffState presumed = st;
  presumed.Apply(prev.outcome);
  std::optional<Window> after = NextWindow(config, prev.outcome, presumed, w->latest_us);
  g.verdict = Judge(*w, g.from_us, g.to_us, after, AllowanceUs(config), options);
  g.tolerance_us = ToleranceUs(*w, g.from_us, options);
  g.rule = w->rule;
  g.retry_step = w->rule == Rule::kRetry ? w->step : 0;
  g.expected = w;
  return g;
}

// Whether the attempt after `cur` keeps to the schedule if cur was a restart (fresh
// back-off): inside its window, on demand, or there is none yet. A restart followed by a
// resync that a call also held back reads as early (docs/schedule.md).
bool OnScheduleAfterRestart(const ScheduleConfig& config, const Attempt& cur, const Attempt* next,
                            const AnalysisOptions& options) {
  if (next == nullptr || next->on_demand) return true;
  BackoffState fresh;
  fresh.Apply(cur.outcome);
  Gap after = JudgeScheduled(config, cur, *next, fresh, options);
  return !after.expected || after.verdict == Verdict::kOnTime;
}

// What the gaps before the current one say about reading it as a restart.
struct RecentGaps {
  bool previous_early = false;
  int since_restart = INT32_MAX;  // gaps since the latest restart read from an early gap
};
// Restarts read from early gaps come at least this many gaps apart: a phone that keeps
// "restarting" right after its first retry or resync is retrying too fast.
constexpr int kMinGapsBetweenRestarts = 2;

// Turns the scheduled verdict into the final one: on demand, restart, early. Returns
// whether the attempt restarts the back-off.
bool Settle(const ScheduleConfig& config, const Attempt& cur, const Attempt* next,
            RecentGaps* recent, const AnalysisOptions& options, Gap* g) {
  if (cur.on_demand || !g->expected) {
    g->rule = cur.on_demand ? Rule::kOnDemand : Rule::kPowerOn;
    g->retry_step = 0;
    g->verdict = Verdict::kOnTime;
    return true;
  }
  if (g->verdict == Verdict::kMissing) {
    g->rule = Rule::kPowerOn;  // back after a silence: the phone was off or cut off
    g->retry_step = 0;
    return true;
  }
  if (g->verdict != Verdict::kEarly) return false;
  bool isolated = config.resync_on_reset && !recent->previous_early &&
                  recent->since_restart >= kMinGapsBetweenRestarts &&
                  OnScheduleAfterRestart(config, cur, next, options);
  if (!isolated) return false;
  g->rule = Rule::kPowerOn;  // a restart leaves no message
  g->retry_step = 0;
  g->verdict = Verdict::kOnTime;
  recent->since_restart = -1;  // counted up to 0 by this gap
  return true;
}

// The latest retry wait of the list: where a failure of unknown step may lead.
int64_t LongestRetryS(const ScheduleConfig& config) {
  int64_t longest = 0;
  for (const DelaySpec& d : config.retry.delays()) longest = std::max(longest, d.max_s);
  return longest;
}

// step_unknown: the range holds one failed attempt and nothing before it, so the phone
// may be deep in its back-off: its next retry may come as late as the longest wait.
void FinishDevice(const ScheduleConfig& config, const Attempt& last, const BackoffState& st,
                  bool step_unknown, int64_t now_us, const AnalysisOptions& options,
                  DeviceAnalysis* a) {
  a->last_attempt_us = last.end_us;
  a->last_outcome = last.outcome;
  a->backoff_step = st.failures;
  a->resyncs_disabled = !config.provision_enable;
  a->next = NextWindow(config, last.outcome, st, last.end_us);
  if (a->next && step_unknown && a->next->rule == Rule::kRetry) {
    a->next->latest_us = last.end_us + LongestRetryS(config) * kMicrosPerSecond;
  }
  if (a->next) {
    a->next_due_us = a->next->latest_us + ToleranceUs(*a->next, last.end_us, options);
    a->deferral_allowance_us = AllowanceUs(config);
    a->overdue_us = std::max<int64_t>(0, now_us - *a->next_due_us - a->deferral_allowance_us);
  }
  a->state = ClassifyDevice(*a, now_us, options);
}

}  // namespace

DeviceAnalysis AnalyzeDevice(std::span<const ResyncEvent> events, const ScheduleConfig& config,
                             int64_t now_us, const AnalysisOptions& options) {
  DeviceAnalysis a;
  std::vector<Attempt> attempts = GroupAttempts(events, config, options);
  a.attempts = static_cast<int64_t>(attempts.size());
  if (attempts.empty()) {
    a.resyncs_disabled = !config.provision_enable;
    a.state = ScheduleState::kUnknown;
    return a;
  }
  BackoffState st;
  st.Apply(attempts[0].outcome);
  if (options.infer_initial_step && attempts.size() >= 2) {
    InferInitialStep(config, attempts[0], attempts[1], options, &st);
  }
  a.gaps.reserve(attempts.size() - 1);
  RecentGaps recent;
  for (size_t i = 1; i < attempts.size(); ++i) {
    const Attempt& cur = attempts[i];
    const Attempt* next = i + 1 < attempts.size() ? &attempts[i + 1] : nullptr;
    Gap g = JudgeScheduled(config, attempts[i - 1], cur, st, options);
    if (Settle(config, cur, next, &recent, options, &g)) st = BackoffState{};
    st.Apply(cur.outcome);
    recent.previous_early = g.verdict == Verdict::kEarly;
    if (recent.since_restart < INT32_MAX) ++recent.since_restart;
    ++a.verdicts[static_cast<int>(g.verdict)];
    a.gaps.push_back(g);
  }
  bool step_unknown = options.infer_initial_step && attempts.size() == 1 &&
                      attempts[0].outcome == Outcome::kFailure;
  FinishDevice(config, attempts.back(), st, step_unknown, now_us, options, &a);
  return a;
}

ScheduleState ClassifyDevice(const DeviceAnalysis& a, int64_t now_us,
                             const AnalysisOptions& options) {
  if (a.attempts == 0) return ScheduleState::kUnknown;
  if (a.resyncs_disabled) return ScheduleState::kOk;  // Provision_Enable No: nothing expected
  if (a.last_outcome == Outcome::kFailure && !a.next) return ScheduleState::kGaveUp;
  if (a.next_due_us && now_us - *a.next_due_us - a.deferral_allowance_us > options.grace_us) {
    return ScheduleState::kOverdue;
  }
  int early = 0;
  size_t from = a.gaps.size() > kHammeringWindow ? a.gaps.size() - kHammeringWindow : 0;
  for (size_t i = from; i < a.gaps.size(); ++i) early += a.gaps[i].verdict == Verdict::kEarly;
  if (early >= options.hammering_min_early) return ScheduleState::kHammering;
  if (a.next && a.next->rule == Rule::kRetry &&
      a.next->earliest_us - a.last_attempt_us >= options.deep_backoff_us) {
    return ScheduleState::kDeepBackoff;
  }
  return ScheduleState::kOk;
}

}  // namespace resyncwatch
