// The rule forms of the resync parameters and the window of the next expected attempt.
#include <charconv>
#include <cmath>

#include "common/time_format.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

constexpr int64_t kMaxDelayS = 10LL * 365 * 86400;  // beyond this a value is a typo
constexpr int64_t kUs = kMicrosPerSecond;
constexpr int64_t kDayUs = 86400 * kUs;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> ParseSeconds(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > kMaxDelayS) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

Result<DelaySpec> ParseDelaySpec(std::string_view text) {
  std::string_view t = Trim(text);
  size_t plus = t.find('+');
  std::optional<int64_t> a = ParseSeconds(t.substr(0, plus));
  std::optional<int64_t> b =
      plus == std::string_view::npos ? std::optional<int64_t>(0) : ParseSeconds(t.substr(plus + 1));
  if (!a || !b) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not a delay (N or A+B seconds)");
  }
  return DelaySpec{*a, *a + *b};
}

Result<RetrySchedule> RetrySchedule::Parse(std::string_view text) {
  std::string_view t = Trim(text);
  if (t == "0") return RetrySchedule();
  if (t.empty()) return Status::InvalidArgument("empty schedule (use 0 to disable)");
  std::vector<DelaySpec> delays;
  while (true) {
    size_t comma = t.find(',');
    auto d = ParseDelaySpec(t.substr(0, comma));
    if (!d.ok())
      return Status::InvalidArgument("'" + std::string(text) + "': " + d.status().message());
    if (d->max_s == 0) {
      return Status::InvalidArgument("'" + std::string(text) +
                                     "': 0 inside a list (only a lone 0 disables)");
    }
    delays.push_back(*d);
    if (comma == std::string_view::npos) break;
    t.remove_prefix(comma + 1);
  }
  return RetrySchedule(std::move(delays));
}

const DelaySpec& RetrySchedule::At(int n) const {
  size_t i = n < 1 ? 0 : static_cast<size_t>(n - 1);
  return i < delays_.size() ? delays_[i] : delays_.back();
}

int RetrySchedule::StepFitting(double seconds, double tolerance_s) const {
  for (size_t i = 0; i < delays_.size(); ++i) {
    if (seconds >= delays_[i].min_s - tolerance_s && seconds <= delays_[i].max_s + tolerance_s) {
      return static_cast<int>(i + 1);
    }
  }
  return 0;
}

std::string RetrySchedule::ToString() const {
  if (delays_.empty()) return "0";
  std::string out;
  for (const auto& d : delays_) {
    if (!out.empty()) out += ',';
    out += std::to_string(d.min_s);
    if (d.max_s != d.min_s) out += "+" + std::to_string(d.max_s - d.min_s);
  }
  return out;
}

std::optional<int> ParseResyncAt(std::string_view text) {
  if (text.size() != 4) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int hh = (text[0] - '0') * 10 + (text[1] - '0');
  int mm = (text[2] - '0') * 10 + (text[3] - '0');
  if (hh == 24 && mm == 0) return 1440;
  if (hh > 23 || mm > 59) return std::nullopt;
  return hh * 60 + mm;
}

int64_t ResyncAtWindowSeconds(int64_t at_random_delay_s) {
  constexpr int64_t kFloorS = 600;  // below 600 the phone draws between 0 and 600 s
  if (at_random_delay_s < kFloorS) return kFloorS;
  return (at_random_delay_s + 30) / 60 * 60;
}

ScheduleConfig ScheduleConfig::FactoryDefault() {
  ScheduleConfig c;
  c.periodic = RetrySchedule({DelaySpec{3600, 3600}});
  c.retry = RetrySchedule::Parse(kDefaultRetryMpp).value();
  return c;
}

void ScheduleOverride::ApplyTo(ScheduleConfig* c) const {
  if (periodic) c->periodic = *periodic;
  if (retry) c->retry = *retry;
  if (random_delay) c->random_delay = *random_delay;
  if (at_text) {
    c->at_text = *at_text;
    c->at_minute = ParseResyncAt(*at_text);
  }
  if (at_random_delay_s) c->at_random_delay_s = *at_random_delay_s;
  if (utc_offset_minutes) c->utc_offset_minutes = *utc_offset_minutes;
  if (forced_resync_delay_s) c->forced_resync_delay_s = *forced_resync_delay_s;
  if (resync_on_reset) c->resync_on_reset = *resync_on_reset;
  if (fails_on_fnf) c->fails_on_fnf = *fails_on_fnf;
  if (provision_enable) c->provision_enable = *provision_enable;
  if (has_trigger_conditions) c->has_trigger_conditions = *has_trigger_conditions;
}

void BackoffState::Apply(Outcome outcome) {
  if (outcome == Outcome::kFailure) {
    ++failures;
    successes = 0;
  } else {
    ++successes;
    failures = 0;
  }
}

std::optional<Window> NextWindow(const ScheduleConfig& config, Outcome last,
                                 const BackoffState& state, int64_t from_us) {
  if (!config.provision_enable) return std::nullopt;
  Window w;
  if (last == Outcome::kFailure) {
    if (config.retry.disabled()) return std::nullopt;
    const DelaySpec& d = config.retry.At(state.failures);
    w.rule = Rule::kRetry;
    w.step = state.failures;
    w.earliest_us = from_us + d.min_s * kUs;
    w.latest_us = from_us + d.max_s * kUs;
    return w;
  }
  if (config.at_minute) {
    // The next HHmm (phone's local time) strictly after from_us.
    int64_t offset_us = int64_t{config.utc_offset_minutes} * 60 * kUs;
    int64_t local = from_us + offset_us;
    int64_t midnight = local - (((local % kDayUs) + kDayUs) % kDayUs);
    int64_t slot = midnight + int64_t{*config.at_minute} * 60 * kUs;
    while (slot <= local) slot += kDayUs;
    w.rule = Rule::kAtHhmm;
    w.step = 0;
    w.earliest_us = slot - offset_us;
    w.latest_us = w.earliest_us + ResyncAtWindowSeconds(config.at_random_delay_s) * kUs;
    return w;
  }
  if (config.periodic.disabled()) return std::nullopt;
  const DelaySpec& d = config.periodic.At(state.successes);
  w.rule = Rule::kPeriodic;
  w.step = state.successes;
  w.earliest_us = from_us + d.min_s * kUs;
  w.latest_us = from_us + d.max_s * kUs;
  return w;
}

int64_t ToleranceUs(const Window& window, int64_t from_us, const AnalysisOptions& options) {
  double span = static_cast<double>(window.latest_us - from_us);
  return options.tolerance_us + static_cast<int64_t>(std::llround(span * options.tolerance_ratio));
}

}  // namespace resyncwatch
