// The phone state machine. Times are UTC microseconds. Every decision that the truth
// depends on is kept clear of the analysis' boundaries (docs/schedule.md: tolerance 5 s +
// 0.5 % of the wait, cycle gap 10 s, duplicate window 2 s, grace 15 min, on-demand
// windows) by a safety margin; a draw that lands inside the margin is drawn again and
// counted.
#include "tools/sim/phone.h"

#include <algorithm>
#include <cmath>

namespace resyncwatch::sim {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kHour = 3600 * kS;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kGraceUs = 15 * kMin;
constexpr int64_t kOverdueMarginUs = 5 * kMin;

// The analysis' tolerance for a wait of `wait_s` seconds.
double Tolerance(double wait_s) { return 5.0 + 0.005 * wait_s; }
// How far a truth decision must stay from a tolerance boundary.
double Margin(double wait_s) { return 20.0 + 0.01 * wait_s; }

struct Window {
  bool none = true;
  int64_t lo = 0;
  int64_t hi = 0;
  Rule rule = Rule::kPeriodic;
  int step = 0;
};

enum class Cls { kOnTime, kEarly, kDeferred, kAmbiguous, kBeyond };

struct Pending {
  Rule rule = Rule::kPowerOn;
  int step = 0;
  Verdict verdict = Verdict::kOnTime;
  bool restart = true;  // power-on and on-demand attempts start the sequences afresh
};

class PhoneSim {
 public:
  PhoneSim(const Phone& phone, uint32_t index, const PhoneWorld& world, std::mt19937_64& rng,
           PhoneResult* out)
      : phone_(phone), index_(index), world_(world), o_(*world.options), rng_(rng), out_(out) {
    end_ = o_.start_us + o_.duration_us;
  }

  void Run() {
    if (!phone_.actual.provision_enable) {
      RunProvisionOff();
    } else {
      RunScheduled();
    }
    Finish();
  }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  int64_t Seconds(double lo, double hi) {
    return Uniform(static_cast<int64_t>(lo * kS), static_cast<int64_t>(hi * kS));
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int64_t PowerOnDelay() {
    return Seconds(0, 20.0 * static_cast<double>(phone_.actual.random_delay));
  }
  int64_t BootTime() { return Seconds(30, 120); }
  bool Is(const char* behaviour) const { return phone_.behaviour == behaviour; }

  // The window of the next attempt by params p after an attempt that ended at `from`.
  Window Expected(const PhoneParams& p, int64_t from) const {
    Window w;
    if (!p.provision_enable) return w;
    if (!last_ok_) {
      if (Disabled(p.retry)) return w;
      const DelaySpec& d = NthDelay(p.retry, n_fail_);
      w = {false, from + d.base_s * kS, from + (d.base_s + d.span_s) * kS, Rule::kRetry, n_fail_};
    } else if (p.hhmm >= 0) {
      int64_t at = NextHhmm(p, from);
      w = {false, at, at + HhmmWindowSeconds(p) * kS, Rule::kAtHhmm, 0};
    } else {
      if (Disabled(p.periodic)) return w;
      const DelaySpec& d = NthDelay(p.periodic, n_succ_);
      w = {false, from + d.base_s * kS, from + (d.base_s + d.span_s) * kS, Rule::kPeriodic,
           n_succ_};
    }
    return w;
  }

  // How docs/schedule.md judges an attempt at t against window w (judged from `from`).
  Cls Classify(int64_t t, const Window& w, int64_t from, int64_t frd_s) const {
    double wait_hi = static_cast<double>(w.hi - from) / kS;
    double observed = static_cast<double>(t - from) / kS;
    double tol = Tolerance(std::max(wait_hi, observed));
    double m = Margin(wait_hi);
    // 1.5 s: an unlogged failure ends a cycle up to 1 s after its last logged request.
    if (t >= w.lo && t <= w.hi + 3 * kS / 2) return Cls::kOnTime;
    if (t < w.lo) {
      return t < w.lo - static_cast<int64_t>((tol + m) * kS) ? Cls::kEarly : Cls::kAmbiguous;
    }
    if (t <= w.hi + static_cast<int64_t>((tol + m) * kS)) return Cls::kAmbiguous;
    if (t <= w.hi + (frd_s - 2) * kS) return Cls::kDeferred;
    return Cls::kBeyond;
  }

  void Emit(int64_t t, MsgKind kind, int profile) {
    bool is_failure = kind == MsgKind::kFailHttp || kind == MsgKind::kFailCorrupt ||
                      kind == MsgKind::kFailNotFound;
    if (is_failure && o_.no_failure_template) return;
    out_->lines.push_back({t, index_, kind, static_cast<uint8_t>(profile), false});
    if (phone_.dual) {
      out_->lines.push_back(
          {t + Uniform(1000, 300'000), index_, kind, static_cast<uint8_t>(profile), true});
    }
    if (kind == MsgKind::kRequest || kind == MsgKind::kSuccess || is_failure) {
      cycle_logged_end_ = std::max(cycle_logged_end_, t);
    }
  }

  bool InOutage(int64_t t) const {
    for (const Outage& o : (*world_.outages)[static_cast<size_t>(phone_.server)]) {
      if (t >= o.from_us && t < o.to_us) return true;
    }
    return false;
  }

  // One resync cycle starting at t: every profile in order, each with its outcome.
  void Cycle(int64_t t, const Pending& pending) {
    if (pending.restart) {
      n_fail_ = 0;
      n_succ_ = 0;
      sched_since_restart_ = 0;
    }
    if (attempts_ > 0) {
      // retry_step is the back-off step of a retry; 0 for every other rule.
      int step = pending.rule == Rule::kRetry ? pending.step : 0;
      out_->gaps.push_back({index_, prev_logged_end_, t, pending.rule, step, pending.verdict});
      early_.push_back(pending.verdict == Verdict::kEarly);
      last_gap_early_ = pending.verdict == Verdict::kEarly;
    }
    if (!pending.restart) ++sched_since_restart_;
    after_reboot_ = pending.rule == Rule::kPowerOn && pending.verdict == Verdict::kOnTime;
    bool outage = InOutage(t);
    bool forced = (Is("gave_up") && t >= t_event_) ||
                  (Is("hammer_retry") && t >= t_event_ && t < t_event_end_);
    bool random_ok = phone_.actual.provision_enable && !Is("hammer_retry") &&
                     !Is("hammer_periodic") && !(o_.no_failure_template && phone_.profiles > 1);
    bool ok = true;
    cycle_logged_end_ = t;
    for (int p = 0; p < phone_.profiles; ++p) {
      if (p > 0) t += Seconds(0.05, 1.0);
      Emit(t, MsgKind::kRequest, p);
      MsgKind result = MsgKind::kSuccess;
      if (outage) {
        result = MsgKind::kFailHttp;
      } else if (forced && p == 0) {
        result = MsgKind::kFailCorrupt;
      } else if (p == phone_.fnf_profile) {
        result = MsgKind::kFailNotFound;
      } else if (random_ok && Chance(o_.shares.corrupt_per_fetch)) {
        result = MsgKind::kFailCorrupt;
      }
      if (result == MsgKind::kSuccess) {
        t += Seconds(0.05, 2.0);
      } else if (o_.no_failure_template) {
        t += Seconds(0.05, 1.0);
      } else {
        // Failures with the same text in one cycle stay more than the 2 s duplicate
        // window apart.
        t += Seconds(2.6, 6.0);
      }
      Emit(t, result, p);
      bool fetched = result == MsgKind::kSuccess ||
                     (result == MsgKind::kFailNotFound && !phone_.actual.fails_on_fnf);
      ok = ok && fetched;
    }
    ++attempts_;
    last_ok_ = ok;
    if (ok) {
      ++n_succ_;
      n_fail_ = 0;
    } else {
      ++n_fail_;
      n_succ_ = 0;
    }
    prev_logged_end_ = cycle_logged_end_;
    prev_actual_end_ = t;
  }

  // An upgrade at tu; returns when the phone's resync after its reboot starts.
  int64_t Upgrade(int64_t tu) {
    Emit(tu, MsgKind::kUpgradeRequest, 0);
    int64_t t = tu + Seconds(3, 8);
    bool fail = InOutage(tu) || Chance(0.15);
    Emit(t, fail ? MsgKind::kUpgradeFailure : MsgKind::kUpgradeSuccess, 0);
    int64_t reboot = t + Seconds(1, 5);
    return reboot + BootTime() + PowerOnDelay();
  }

  void RunProvisionOff() {
    int64_t t = o_.start_us + Seconds(600, 20 * 3600);
    while (t < end_ - kHour) {
      int64_t ta = Upgrade(t);
      Cycle(ta, {Rule::kOnDemand, 0, Verdict::kOnTime, true});
      t = prev_actual_end_ + Seconds(8 * 3600, 30 * 3600);
    }
  }

  void RunScheduled() {
    int64_t dur = o_.duration_us;
    if (Is("offline_return") || Is("offline_never")) {
      t_event_ = o_.start_us + Uniform(4 * kHour, dur * 6 / 10);
    } else if (Is("gave_up")) {
      t_event_ = o_.start_us + Uniform(2 * kHour, dur * 8 / 10);
    } else if (Is("hammer_retry")) {
      t_event_ = o_.start_us + Uniform(kHour, dur - 30 * kMin);
      t_event_end_ = t_event_ + Uniform(kHour, 3 * kHour);
    }
    int64_t ta = o_.start_us + Seconds(0, 1800) + PowerOnDelay();
    Pending pending;
    while (ta <= end_ - kMin && !out_->ambiguous) {
      Cycle(ta, pending);
      if (!Next(&ta, &pending)) break;
    }
  }

  // Decides the phone's next attempt: its timer, or a call holding it back, an upgrade,
  // a reboot, or an offline period. False when the phone will not try again.
  bool Next(int64_t* ta, Pending* pending) {
    const PhoneParams& declared = phone_.declared;
    Window dw = Expected(declared, prev_logged_end_);
    Window aw = Expected(phone_.actual, prev_actual_end_);
    if (aw.none) return false;
    bool plain = Is("plain") || Is("fnf");
    int64_t due = Uniform(aw.lo, aw.hi);
    if ((Is("offline_return") || Is("offline_never")) && !went_off_ && due > t_event_ && last_ok_) {
      went_off_ = true;
      if (Is("offline_never")) return false;
      return Offline(dw, ta, pending);
    }
    if (plain && attempts_ >= 2 && due < end_ - kHour && due - prev_actual_end_ >= 10 * kMin &&
        Chance(o_.shares.upgrade_per_attempt)) {
      int64_t tu = prev_actual_end_ + Uniform(60 * kS, due - prev_actual_end_ - 200 * kS);
      *ta = Upgrade(tu);
      *pending = {Rule::kOnDemand, 0, Verdict::kOnTime, true};
      return true;
    }
    if (plain && sched_since_restart_ >= 2 && !last_gap_early_ &&
        Chance(o_.shares.reboot_per_attempt) && Reboot(dw, ta, pending)) {
      return true;
    }
    return Scheduled(dw, aw, due, ta, pending);
  }

  // A reboot that leaves no trace: the power-on attempt comes clearly before the window
  // that was due, so docs/schedule.md reads it as a restart.
  bool Reboot(const Window& dw, int64_t* ta, Pending* pending) {
    double wait_hi = static_cast<double>(dw.hi - prev_logged_end_) / kS;
    int64_t latest = dw.lo - static_cast<int64_t>((Tolerance(wait_hi) + Margin(wait_hi)) * kS);
    int64_t rb_min = prev_actual_end_ + 10 * kS;
    int64_t rb_max = latest - 120 * kS - phone_.actual.random_delay * 20 * kS;
    if (rb_max <= rb_min) return false;
    int64_t t = Uniform(rb_min, rb_max) + BootTime() + PowerOnDelay();
    if (t < prev_logged_end_ + 30 * kS) return false;
    *ta = t;
    *pending = {Rule::kPowerOn, 0, Verdict::kOnTime, true};
    return true;
  }

  // Off for longer than the window, Forced_Resync_Delay and one more period: the return
  // is the phone coming back (power_on, missing).
  bool Offline(const Window& dw, int64_t* ta, Pending* pending) {
    const PhoneParams& d = phone_.declared;
    double wait1 = static_cast<double>(dw.hi - prev_logged_end_) / kS;
    const DelaySpec& p2 = NthDelay(d.periodic, n_succ_ + 1);
    double wait2 = static_cast<double>(p2.base_s + p2.span_s);
    if (!Disabled(d.retry)) {
      const DelaySpec& r1 = NthDelay(d.retry, 1);
      wait2 = std::max(wait2, static_cast<double>(r1.base_s + r1.span_s));
    }
    double bound_s = Tolerance(wait1) + static_cast<double>(d.forced_resync_delay) + wait2 +
                     Tolerance(wait2) + Margin(wait1 + wait2) + 60;
    int64_t back = dw.hi + static_cast<int64_t>(bound_s * kS) + Uniform(0, 12 * kHour);
    *ta = back + BootTime() + PowerOnDelay();
    *pending = {Rule::kPowerOn, 0, Verdict::kMissing, true};
    return true;
  }

  bool Scheduled(const Window& dw, const Window& aw, int64_t due, int64_t* ta, Pending* pending) {
    const PhoneParams& declared = phone_.declared;
    int64_t frd = phone_.actual.forced_resync_delay;
    bool calls = !Is("hammer_retry") && !Is("hammer_periodic") && attempts_ >= 2 && frd > 120;
    int64_t t = due;
    for (int tries = 0;; ++tries) {
      if (tries > 0) ++out_->local_redraws["scheduled attempt near a window edge"];
      if (tries == 50) {
        out_->ambiguous = true;
        out_->ambiguity = "scheduled attempt";
        return false;
      }
      t = due;
      if (calls && due > end_ - 3 * kHour && due <= end_ && due + frd * kS > end_ + kMin &&
          Chance(0.3)) {
        // In a call at "now" that ends within Forced_Resync_Delay: the attempt comes after
        // the end, and the phone is not overdue.
        t = Uniform(end_ + kS, due + frd * kS);
      } else if (calls && Chance(o_.shares.call_per_attempt)) {
        // After a reboot the next attempt stays inside its window: docs/schedule.md reads
        // a restart followed by a deferred attempt as early.
        if ((after_reboot_ || Chance(0.4)) && aw.hi > due) {
          t = Uniform(due, aw.hi);
        } else if (!after_reboot_) {
          double wait_hi = static_cast<double>(dw.hi - prev_logged_end_) / kS;
          double worst = wait_hi + static_cast<double>(frd);
          int64_t lower = std::max(
              due, dw.hi + static_cast<int64_t>((Tolerance(worst) + Margin(wait_hi)) * kS));
          int64_t upper =
              due + static_cast<int64_t>((static_cast<double>(frd) - Margin(wait_hi)) * kS);
          if (lower < upper) t = Uniform(lower, upper);
        }
      }
      if (t > end_ - kMin) break;  // not emitted
      Cls c = Classify(t, dw, prev_logged_end_, declared.forced_resync_delay);
      if (c == Cls::kAmbiguous || c == Cls::kBeyond) {
        if (Is("hammer_retry") || Is("hammer_periodic")) {
          due = Uniform(aw.lo, aw.hi);
        }
        continue;
      }
      pending->verdict = c == Cls::kOnTime  ? Verdict::kOnTime
                         : c == Cls::kEarly ? Verdict::kEarly
                                            : Verdict::kDeferred;
      break;
    }
    pending->rule = dw.rule;
    pending->step = dw.step;
    pending->restart = false;
    *ta = t;
    return true;
  }

  void Finish() {
    TruthDevice& d = out_->device;
    d.phone = index_;
    d.attempts = attempts_;
    d.has_outcome = attempts_ > 0;
    d.last_success = last_ok_;
    d.backoff_step = last_ok_ ? 0 : n_fail_;
    const PhoneParams& p = phone_.declared;
    int early = 0;
    for (size_t i = early_.size() > 10 ? early_.size() - 10 : 0; i < early_.size(); ++i) {
      early += early_[i] ? 1 : 0;
    }
    if (attempts_ == 0) {
      d.state = State::kUnknown;
    } else if (!last_ok_ && Disabled(p.retry)) {
      d.state = State::kGaveUp;
    } else if (Overdue()) {
      d.state = State::kOverdue;
    } else if (early >= 2) {
      d.state = State::kHammering;
    } else if (!last_ok_ && NthDelay(p.retry, n_fail_).base_s >= 3600) {
      d.state = State::kDeepBackoff;
    } else {
      d.state = State::kOk;
    }
  }

  bool Overdue() {
    const PhoneParams& p = phone_.declared;
    if (!p.provision_enable) return false;
    Window w = Expected(p, prev_logged_end_);
    if (w.none) return false;
    double wait_hi = static_cast<double>(w.hi - prev_logged_end_) / kS;
    int64_t next_due = w.hi + static_cast<int64_t>(Tolerance(wait_hi) * kS);
    int64_t boundary = next_due + p.forced_resync_delay * kS + kGraceUs;
    if (std::llabs(end_ - boundary) < kOverdueMarginUs) {
      out_->ambiguous = true;
      out_->ambiguity = "overdue boundary";
    }
    return end_ > boundary;
  }

  const Phone& phone_;
  uint32_t index_;
  const PhoneWorld& world_;
  const Options& o_;
  std::mt19937_64& rng_;
  PhoneResult* out_;
  int64_t end_ = 0;

  int64_t prev_logged_end_ = 0;
  int64_t prev_actual_end_ = 0;
  int64_t cycle_logged_end_ = 0;
  int n_fail_ = 0;
  int n_succ_ = 0;
  bool last_ok_ = true;
  int attempts_ = 0;
  int sched_since_restart_ = 0;
  bool last_gap_early_ = false;
  std::vector<bool> early_;
  int64_t t_event_ = 0;
  int64_t t_event_end_ = 0;
  bool went_off_ = false;
  bool after_reboot_ = false;  // the last attempt was the power-on attempt of a reboot
};

}  // namespace

int64_t HhmmWindowSeconds(const PhoneParams& p) {
  if (p.at_random_delay < 600) return 600;
  return (p.at_random_delay + 30) / 60 * 60;
}

int64_t NextHhmm(const PhoneParams& p, int64_t t_us) {
  int64_t offset = static_cast<int64_t>(p.utc_offset_min) * kMin;
  int64_t local = t_us + offset;
  int64_t day = local >= 0 ? local / kDay : (local - kDay + 1) / kDay;
  int64_t at = day * kDay + static_cast<int64_t>(p.hhmm) * kMin - offset;
  while (at <= t_us) at += kDay;
  while (at - kDay > t_us) at -= kDay;
  return at;
}

PhoneResult SimulatePhone(const Phone& phone, uint32_t index, const PhoneWorld& world,
                          std::mt19937_64& rng) {
  PhoneResult result;
  PhoneSim(phone, index, world, rng, &result).Run();
  return result;
}

}  // namespace resyncwatch::sim
