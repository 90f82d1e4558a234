// Names, the alert JSON (what sinks deliver and the store keeps) and the active-alert
// metrics lines.
#include <simdjson.h>

#include <cctype>
#include <cstdio>

#include "alerts/alert_internal.h"
#include "alerts/alerts.h"
#include "common/json_writer.h"
#include "common/time_format.h"

namespace resyncwatch {

std::string_view ToString(AlertRule rule) {
  switch (rule) {
    case AlertRule::kFleetFailures:
      return "fleet_failures";
    case AlertRule::kServerFailures:
      return "server_failures";
    case AlertRule::kErrorFailures:
      return "error_failures";
    case AlertRule::kModelFailures:
      return "model_failures";
    case AlertRule::kFleetFailureRatio:
      return "fleet_failure_ratio";
    case AlertRule::kServerFailureRatio:
      return "server_failure_ratio";
    case AlertRule::kErrorFailureRatio:
      return "error_failure_ratio";
    case AlertRule::kModelFailureRatio:
      return "model_failure_ratio";
    case AlertRule::kDeviceConsecutive:
      return "device_consecutive_failures";
    case AlertRule::kScheduleOverdue:
      return "schedule_overdue";
    case AlertRule::kScheduleHammering:
      return "schedule_hammering";
    case AlertRule::kFleetSilence:
      return "fleet_silence";
    case AlertRule::kNetworkSilence:
      return "network_silence";
  }
  return "unknown";
}

std::string_view GroupByName(AlertRule rule) {
  switch (rule) {
    case AlertRule::kFleetFailures:
    case AlertRule::kFleetFailureRatio:
    case AlertRule::kScheduleOverdue:
    case AlertRule::kScheduleHammering:
    case AlertRule::kFleetSilence:
      return "fleet";
    case AlertRule::kServerFailures:
    case AlertRule::kServerFailureRatio:
      return "server";
    case AlertRule::kErrorFailures:
    case AlertRule::kErrorFailureRatio:
      return "error";
    case AlertRule::kModelFailures:
    case AlertRule::kModelFailureRatio:
      return "model";
    case AlertRule::kDeviceConsecutive:
      return "device";
    case AlertRule::kNetworkSilence:
      return "network";
  }
  return "unknown";
}

std::string_view ToString(AlertChange::Kind kind) {
  switch (kind) {
    case AlertChange::Kind::kFired:
      return "fired";
    case AlertChange::Kind::kUpdated:
      return "updated";
    case AlertChange::Kind::kResolved:
      return "resolved";
  }
  return "unknown";
}

std::string MacHex(MacAddress mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(12, '0');
  for (int i = 11; i >= 0; --i, mac >>= 4) s[i] = kHex[mac & 0xF];
  return s;
}

namespace {

bool IsScheduleRule(AlertRule rule) {
  return rule == AlertRule::kScheduleOverdue || rule == AlertRule::kScheduleHammering;
}
bool IsSilenceRule(AlertRule rule) {
  return rule == AlertRule::kFleetSilence || rule == AlertRule::kNetworkSilence;
}

double Share(const Alert& a) {
  return a.fleet_phones > 0 ? static_cast<double>(a.phones) / a.fleet_phones : 0.0;
}

}  // namespace

std::string AlertSummary(const Alert& a) {
  std::string group = std::string(GroupByName(a.rule));
  std::string who = group == "fleet" ? "the fleet" : group + " " + a.group_value;
  char buf[160];
  const std::string window = FormatDurationHuman(a.window_us);
  switch (a.rule) {
    case AlertRule::kScheduleOverdue:
      std::snprintf(buf, sizeof buf, "%lld of %lld phones overdue, %.1f%% (>= %.0f or %.1f%%)",
                    static_cast<long long>(a.phones), static_cast<long long>(a.fleet_phones),
                    100 * Share(a), a.threshold, 100 * a.share_threshold);
      break;
    case AlertRule::kScheduleHammering:
      std::snprintf(buf, sizeof buf, "%lld of %lld phones hammering (>= %.0f)",
                    static_cast<long long>(a.phones), static_cast<long long>(a.fleet_phones),
                    a.threshold);
      break;
    case AlertRule::kFleetSilence:
      std::snprintf(buf, sizeof buf, "no datagram for %s or more while %lld phones are due",
                    window.c_str(), static_cast<long long>(a.phones));
      break;
    case AlertRule::kNetworkSilence:
      std::snprintf(buf, sizeof buf,
                    "no datagram for %s or more while the fleet sends (%lld in its active "
                    "window before)",
                    window.c_str(), static_cast<long long>(a.phones));
      break;
    case AlertRule::kDeviceConsecutive:
      std::snprintf(buf, sizeof buf, "%lld consecutive failures (>= %.0f)",
                    static_cast<long long>(a.failures), a.threshold);
      break;
    case AlertRule::kFleetFailureRatio:
    case AlertRule::kServerFailureRatio:
    case AlertRule::kErrorFailureRatio:
    case AlertRule::kModelFailureRatio:
      std::snprintf(buf, sizeof buf, "%lld of %lld attempts failed within %s (ratio >= %.2f)",
                    static_cast<long long>(a.failures), static_cast<long long>(a.attempts),
                    FormatDurationHuman(a.window_us).c_str(), a.threshold);
      break;
    default:
      std::snprintf(buf, sizeof buf, "%lld failures within %s (>= %.0f)",
                    static_cast<long long>(a.failures), FormatDurationHuman(a.window_us).c_str(),
                    a.threshold);
      break;
  }
  std::string state = a.state == Alert::State::kFiring ? "FIRING" : "RESOLVED";
  return state + " " + std::string(ToString(a.rule)) + ": " + who + ": " + buf;
}

std::string AlertToJson(const Alert& a) {
  JsonWriter w;
  w.Begin();
  w.String("id", a.id);
  w.String("rule", ToString(a.rule));
  w.BeginObject("group");
  w.String("by", GroupByName(a.rule));
  w.String("value", a.group_value);
  w.EndObject();
  w.String("state", a.state == Alert::State::kFiring ? "firing" : "resolved");
  w.String("summary", AlertSummary(a));
  w.Int("window_s", a.window_us / kMicrosPerSecond);
  w.Double("threshold", a.threshold);
  w.Int("failures", a.failures);
  w.Int("attempts", a.attempts);
  if (a.attempts > 0) w.Double("ratio", static_cast<double>(a.failures) / a.attempts);
  w.Int("incident_failures", a.incident_failures);
  w.String("first", FormatIso8601Utc(a.first_us));
  w.String("last", FormatIso8601Utc(a.last_us));
  w.String("started", FormatIso8601Utc(a.started_us));
  w.String("updated", FormatIso8601Utc(a.updated_us));
  w.OptionalString("resolved", a.resolved_us
                                   ? std::optional<std::string>(FormatIso8601Utc(a.resolved_us))
                                   : std::nullopt);
  w.Int("first_us", a.first_us);
  w.Int("last_us", a.last_us);
  w.Int("started_us", a.started_us);
  w.Int("updated_us", a.updated_us);
  w.Int("resolved_us", a.resolved_us);
  if (IsScheduleRule(a.rule) || IsSilenceRule(a.rule)) {
    w.Int("phones", a.phones);
    w.Int("fleet_phones", a.fleet_phones);
  }
  if (IsScheduleRule(a.rule)) w.Double("share", Share(a));
  if (a.rule == AlertRule::kScheduleOverdue) w.Double("share_threshold", a.share_threshold);
  w.String("last_error", a.last_error);
  w.BeginArray("sample_macs");
  for (MacAddress mac : a.sample_macs) w.ArrayString(MacHex(mac));
  w.EndArray();
  w.End();
  return w.str();
}

AlertRecord ToAlertRecord(const Alert& a) {
  AlertRecord r;
  r.id = a.id;
  r.started_us = a.started_us;
  r.updated_us = a.updated_us;
  r.active = a.state == Alert::State::kFiring;
  r.json = AlertToJson(a);
  return r;
}

Result<Alert> AlertFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(json.data(), json.size()).get(doc)) {
    return Status::Corruption(std::string("alert JSON: ") + simdjson::error_message(error));
  }
  Alert a;
  auto text = [&](const char* key, std::string* out) -> Status {
    std::string_view v;
    if (doc[key].get_string().get(v))
      return Status::Corruption(std::string("alert JSON: no ") + key);
    *out = std::string(v);
    return Status::Ok();
  };
  auto number = [&](const char* key, int64_t* out) -> Status {
    if (doc[key].get_int64().get(*out))
      return Status::Corruption(std::string("alert JSON: no ") + key);
    return Status::Ok();
  };
  std::string rule, state;
  int64_t window_s = 0;
  for (Status s :
       {text("id", &a.id), text("rule", &rule), text("state", &state),
        text("last_error", &a.last_error), number("window_s", &window_s),
        number("failures", &a.failures), number("attempts", &a.attempts),
        number("incident_failures", &a.incident_failures), number("first_us", &a.first_us),
        number("last_us", &a.last_us), number("started_us", &a.started_us),
        number("updated_us", &a.updated_us), number("resolved_us", &a.resolved_us)}) {
    if (!s.ok()) return s;
  }
  bool known = false;
  for (int i = 0; i < kAlertRuleCount; ++i) {
    if (ToString(static_cast<AlertRule>(i)) == rule) {
      a.rule = static_cast<AlertRule>(i);
      known = true;
    }
  }
  if (!known) return Status::Corruption("alert JSON: unknown rule '" + rule + "'");
  a.state = state == "firing" ? Alert::State::kFiring : Alert::State::kResolved;
  a.window_us = window_s * kMicrosPerSecond;
  std::string_view group;
  if (!doc["group"]["value"].get_string().get(group)) a.group_value = std::string(group);
  double threshold = 0;
  if (!doc["threshold"].get_double().get(threshold)) a.threshold = threshold;
  int64_t phones = 0;  // the fleet rules' fields are absent from the other rules' JSON
  if (!doc["phones"].get_int64().get(phones)) a.phones = phones;
  if (!doc["fleet_phones"].get_int64().get(phones)) a.fleet_phones = phones;
  if (!doc["share_threshold"].get_double().get(threshold)) a.share_threshold = threshold;
  simdjson::dom::array macs;
  if (!doc["sample_macs"].get_array().get(macs)) {
    for (simdjson::dom::element m : macs) {
      std::string_view hex;
      if (m.get_string().get(hex) || hex.size() != 12 ||
          hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
        continue;
      }
      MacAddress mac = 0;
      for (char c : hex)
        mac = mac << 4 | static_cast<MacAddress>(std::isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
      a.sample_macs.push_back(mac);
    }
  }
  return a;
}

std::string RenderActiveAlertsMetrics(const AlertEngine& engine) {
  std::string out =
      "# HELP resyncwatch_active_alerts Alerts firing now, by rule.\n"
      "# TYPE resyncwatch_active_alerts gauge\n";
  for (int i = 0; i < kAlertRuleCount; ++i) {
    auto rule = static_cast<AlertRule>(i);
    out += "resyncwatch_active_alerts{rule=\"";
    out += ToString(rule);
    out += "\"} ";
    out += std::to_string(engine.ActiveCount(rule));
    out += '\n';
  }
  out +=
      "# HELP resyncwatch_alert_networks Sender networks tracked by the network silence rule.\n"
      "# TYPE resyncwatch_alert_networks gauge\n"
      "resyncwatch_alert_networks " +
      std::to_string(engine.tracked_networks()) +
      "\n"
      "# HELP resyncwatch_alert_networks_evicted_total Sender networks evicted or refused "
      "because max_networks were tracked.\n"
      "# TYPE resyncwatch_alert_networks_evicted_total counter\n"
      "resyncwatch_alert_networks_evicted_total " +
      std::to_string(engine.evicted_networks()) + "\n";
  return out;
}

}  // namespace resyncwatch
