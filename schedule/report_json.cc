// The JSON objects `resyncwatch schedule` prints and the simulator's truth file uses.
#include <cmath>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

double Seconds(int64_t us) { return std::round(static_cast<double>(us) / 1000.0) / 1000.0; }

}  // namespace

void AddGapJson(JsonWriter& w, MacAddress mac, const Gap& g, const TimeFormatter& time) {
  w.String("mac", FormatMac(mac));
  w.String("from", time(g.from_us));
  w.String("to", time(g.to_us));
  w.String("rule", ToString(g.rule));
  w.Int("retry_step", g.retry_step);
  if (g.expected) {
    w.Double("expected_min_s", Seconds(g.expected->earliest_us - g.from_us));
    w.Double("expected_max_s", Seconds(g.expected->latest_us - g.from_us));
  } else {
    w.Null("expected_min_s");
    w.Null("expected_max_s");
  }
  w.Double("tolerance_s", Seconds(g.tolerance_us));
  w.Double("observed_s", Seconds(g.observed_us()));
  w.String("outcome", ToString(g.outcome));
  w.String("verdict", ToString(g.verdict));
}

void AddDeviceJson(JsonWriter& w, MacAddress mac, std::string_view model, const DeviceAnalysis& a,
                   const TimeFormatter& time) {
  w.String("mac", FormatMac(mac));
  w.String("model", model);
  w.String("state", ToString(a.state));
  w.BeginObject("verdicts");
  for (int v = 0; v < kVerdictCount; ++v) {
    w.Int(ToString(static_cast<Verdict>(v)), a.verdicts[v]);
  }
  w.EndObject();
  w.Int("attempts", a.attempts);
  w.Int("backoff_step", a.backoff_step);
  if (a.attempts > 0) {
    w.String("last_attempt", time(a.last_attempt_us));
  } else {
    w.Null("last_attempt");
  }
  w.String("last_outcome", ToString(a.last_outcome));
  if (a.next) {
    w.String("next_rule", ToString(a.next->rule));
    w.String("next_earliest", time(a.next->earliest_us));
  } else {
    w.Null("next_rule");
    w.Null("next_earliest");
  }
  if (a.next_due_us) {
    w.String("next_due", time(*a.next_due_us));
  } else {
    w.Null("next_due");
  }
  w.Double("overdue_s", Seconds(a.overdue_us));
}

}  // namespace resyncwatch
