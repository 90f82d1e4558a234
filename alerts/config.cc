// AlertConfig from the "alerts" object of the config file (keys: docs in alerts.h and the
// README). Every unknown key and every bad value is an error naming its dotted path.
#include <simdjson.h>

#include <cmath>
#include <string>

#include "alerts/alerts.h"
#include "alerts/sinks.h"
#include "common/time_format.h"

namespace resyncwatch {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

std::string Shown(element value) {
  std::string text = simdjson::minify(value);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

Status Bad(const std::string& path, element value, std::string_view what) {
  return Status::InvalidArgument(path + ": " + Shown(value) + " " + std::string(what));
}

Status GetBool(const std::string& path, element v, bool* out) {
  if (v.get_bool().get(*out)) return Bad(path, v, "is not true or false");
  return Status::Ok();
}

Status GetInt(const std::string& path, element v, int64_t min, int64_t* out) {
  int64_t n = 0;
  if (v.get_int64().get(n)) return Bad(path, v, "is not an integer");
  if (n < min) return Bad(path, v, "is below the minimum " + std::to_string(min));
  *out = n;
  return Status::Ok();
}

Status GetDouble(const std::string& path, element v, double min, double max, double* out) {
  double d = 0;
  if (v.get_double().get(d) || !std::isfinite(d)) return Bad(path, v, "is not a number");
  if (d < min || d > max) {
    return Bad(path, v, "is outside " + std::to_string(min) + ".." + std::to_string(max));
  }
  *out = d;
  return Status::Ok();
}

// A duration is a string ("90s", "5m", "2h") or a number of seconds (fractions allowed).
Status GetDuration(const std::string& path, element v, bool allow_zero, int64_t* out) {
  std::string_view text;
  double seconds = 0;
  if (!v.get_string().get(text)) {
    auto d = ParseDuration(text);
    if (!d) return Bad(path, v, "is not a duration (e.g. \"90s\", \"5m\", \"2h\")");
    *out = *d;
  } else if (!v.get_double().get(seconds) && std::isfinite(seconds) && seconds >= 0 &&
             seconds < 1e12) {
    *out = static_cast<int64_t>(std::llround(seconds * 1e6));
  } else {
    return Bad(path, v, "is not a duration (e.g. \"90s\", \"5m\", \"2h\")");
  }
  if (*out == 0 && !allow_zero) return Bad(path, v, "must be more than zero");
  return Status::Ok();
}

Status GetString(const std::string& path, element v, std::string* out) {
  std::string_view text;
  if (v.get_string().get(text)) return Bad(path, v, "is not a string");
  *out = std::string(text);
  return Status::Ok();
}

Status GetObject(const std::string& path, element v, object* out) {
  if (v.get_object().get(*out)) return Bad(path, v, "is not an object");
  return Status::Ok();
}

Status Unknown(const std::string& path) { return Status::InvalidArgument(path + ": unknown key"); }

Status GetGroupBy(const std::string& path, element v, AlertGrouping* out) {
  simdjson::dom::array list;
  if (v.get_array().get(list)) return Bad(path, v, "is not a list of fleet/server/error/model");
  AlertGrouping g{false, false, false, false};
  for (element item : list) {
    std::string_view name;
    if (item.get_string().get(name)) return Bad(path, item, "is not fleet/server/error/model");
    if (name == "fleet") {
      g.fleet = true;
    } else if (name == "server") {
      g.server = true;
    } else if (name == "error") {
      g.error = true;
    } else if (name == "model") {
      g.model = true;
    } else {
      return Bad(path, item, "is not fleet/server/error/model");
    }
  }
  *out = g;
  return Status::Ok();
}

#define RW_TRY(expr)                         \
  do {                                       \
    Status rw_status_ = (expr);              \
    if (!rw_status_.ok()) return rw_status_; \
  } while (0)

Status ReadFailuresRule(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->failures_enabled));
    } else if (key == "window") {
      RW_TRY(GetDuration(p, v, false, &c->failures_window_us));
    } else if (key == "min_failures") {
      RW_TRY(GetInt(p, v, 1, &c->failures_min));
    } else if (key == "group_by") {
      RW_TRY(GetGroupBy(p, v, &c->failures_group_by));
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

Status ReadRatioRule(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->ratio_enabled));
    } else if (key == "window") {
      RW_TRY(GetDuration(p, v, false, &c->ratio_window_us));
    } else if (key == "min_ratio") {
      RW_TRY(GetDouble(p, v, 0.0001, 1.0, &c->ratio_min));
    } else if (key == "min_attempts") {
      RW_TRY(GetInt(p, v, 1, &c->ratio_min_attempts));
    } else if (key == "group_by") {
      RW_TRY(GetGroupBy(p, v, &c->ratio_group_by));
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

Status ReadDeviceRule(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->device_enabled));
    } else if (key == "consecutive_failures") {
      RW_TRY(GetInt(p, v, 1, &c->device_consecutive_min));
    } else if (key == "idle_resolve") {
      RW_TRY(GetDuration(p, v, false, &c->device_idle_resolve_us));
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

Status ReadOverdueRule(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->overdue_enabled));
    } else if (key == "min_phones") {
      RW_TRY(GetInt(p, v, 1, &c->overdue_min_phones));
    } else if (key == "min_percent") {
      double percent = 0;
      RW_TRY(GetDouble(p, v, 0.0, 100.0, &percent));
      c->overdue_min_share = percent / 100;
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

Status ReadHammeringRule(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->hammering_enabled));
    } else if (key == "min_phones") {
      RW_TRY(GetInt(p, v, 1, &c->hammering_min_phones));
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

Status ReadFleetSilenceRule(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->fleet_silence_enabled));
    } else if (key == "after") {
      RW_TRY(GetDuration(p, v, false, &c->fleet_silence_us));
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

Status ReadNetworkSilenceRule(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->network_silence_enabled));
    } else if (key == "after") {
      RW_TRY(GetDuration(p, v, false, &c->network_silence_us));
    } else if (key == "min_datagrams") {
      RW_TRY(GetInt(p, v, 1, &c->network_min_datagrams));
    } else if (key == "active_window") {
      RW_TRY(GetDuration(p, v, false, &c->network_active_window_us));
    } else if (key == "forget_after") {
      RW_TRY(GetDuration(p, v, false, &c->network_forget_us));
    } else if (key == "max_networks") {
      RW_TRY(GetInt(p, v, 1, &c->max_networks));
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

// Checks that need more than one key; the error names the key that has to change.
Status CheckFleetRules(const AlertConfig& c) {
  if (c.network_forget_us <= c.network_silence_us) {
    return Status::InvalidArgument(
        "alerts.rules.network_silence.forget_after: must be longer than "
        "alerts.rules.network_silence.after (" +
        FormatDurationHuman(c.network_silence_us) + ")");
  }
  return Status::Ok();
}

Status ReadRules(const std::string& path, object o, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    object rule;
    RW_TRY(GetObject(p, v, &rule));
    if (key == "failures") {
      RW_TRY(ReadFailuresRule(p, rule, c));
    } else if (key == "ratio") {
      RW_TRY(ReadRatioRule(p, rule, c));
    } else if (key == "device") {
      RW_TRY(ReadDeviceRule(p, rule, c));
    } else if (key == "overdue") {
      RW_TRY(ReadOverdueRule(p, rule, c));
    } else if (key == "hammering") {
      RW_TRY(ReadHammeringRule(p, rule, c));
    } else if (key == "fleet_silence") {
      RW_TRY(ReadFleetSilenceRule(p, rule, c));
    } else if (key == "network_silence") {
      RW_TRY(ReadNetworkSilenceRule(p, rule, c));
    } else {
      return Unknown(p);
    }
  }
  return Status::Ok();
}

Status ReadSink(const std::string& path, object o, AlertConfig* c, AlertConfig::Sink* sink) {
  std::string type;
  element type_value;
  if (o["type"].get(type_value)) return Status::InvalidArgument(path + ".type: missing");
  RW_TRY(GetString(path + ".type", type_value, &type));
  using Type = AlertConfig::Sink::Type;
  std::string_view target_key;
  if (type == "log") {
    sink->type = Type::kLog;
  } else if (type == "file") {
    sink->type = Type::kFile;
    target_key = "path";
  } else if (type == "exec") {
    sink->type = Type::kExec;
    target_key = "command";
  } else if (type == "webhook") {
    sink->type = Type::kWebhook;
    target_key = "url";
  } else if (type == "syslog") {
    sink->type = Type::kSyslog;
    target_key = "target";
  } else {
    return Bad(path + ".type", type_value, "is not log/file/exec/webhook/syslog");
  }
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "type") continue;
    if (!target_key.empty() && key == target_key) {
      RW_TRY(GetString(p, v, &sink->target));
      if (sink->target.empty()) return Bad(p, v, "must not be empty");
      if (sink->type == Type::kWebhook && !ParseHttpUrl(sink->target).ok()) {
        return Bad(p, v, "is not an http(s)://host[:port]/path URL");
      }
    } else if (key == "ca_file" && sink->type == Type::kWebhook) {
      RW_TRY(GetString(p, v, &sink->ca_file));
    } else if (key == "verify_tls" && sink->type == Type::kWebhook) {
      bool verify = true;
      if (v.get_bool().get(verify)) return Bad(p, v, "is not true or false");
      sink->verify_tls = verify;
    } else if (key == "timeout" && sink->type != Type::kLog) {
      RW_TRY(GetDuration(p, v, false, &sink->timeout_us));
    } else if (key == "hostname" && sink->type == Type::kSyslog) {
      RW_TRY(GetString(p, v, &c->syslog_hostname));
    } else if (key == "facility" && sink->type == Type::kSyslog) {
      int64_t f = 0;
      RW_TRY(GetInt(p, v, 0, &f));
      if (f > 23) return Bad(p, v, "is not a facility number 0..23");
      c->syslog_facility = static_cast<int>(f);
    } else {
      return Unknown(p);
    }
  }
  if (!target_key.empty() && sink->target.empty()) {
    return Status::InvalidArgument(path + "." + std::string(target_key) + ": missing");
  }
  return Status::Ok();
}

Status ReadSinks(const std::string& path, element v, AlertConfig* c) {
  simdjson::dom::array list;
  if (v.get_array().get(list)) return Bad(path, v, "is not a list of sink objects");
  c->sinks.clear();
  size_t i = 0;
  for (element item : list) {
    std::string p = path + "[" + std::to_string(i++) + "]";
    object o;
    RW_TRY(GetObject(p, item, &o));
    AlertConfig::Sink sink;
    RW_TRY(ReadSink(p, o, c, &sink));
    c->sinks.push_back(std::move(sink));
  }
  return Status::Ok();
}

Status ReadAlerts(object o, AlertConfig* c) {
  const std::string path = "alerts";
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "enabled") {
      RW_TRY(GetBool(p, v, &c->enabled));
    } else if (key == "rules") {
      object rules;
      RW_TRY(GetObject(p, v, &rules));
      RW_TRY(ReadRules(p, rules, c));
    } else if (key == "resolve_fraction") {
      RW_TRY(GetDouble(p, v, 0.0, 1.0, &c->resolve_fraction));
    } else if (key == "resolve_after") {
      RW_TRY(GetDuration(p, v, true, &c->resolve_after_us));
    } else if (key == "update_interval") {
      RW_TRY(GetDuration(p, v, false, &c->update_interval_us));
    } else if (key == "max_groups") {
      RW_TRY(GetInt(p, v, 1, &c->max_groups));
    } else if (key == "max_devices") {
      RW_TRY(GetInt(p, v, 1, &c->max_devices));
    } else if (key == "sample_macs") {
      RW_TRY(GetInt(p, v, 0, &c->sample_macs));
    } else if (key == "sinks") {
      RW_TRY(ReadSinks(p, v, c));
    } else if (key == "sink_queue") {
      RW_TRY(GetInt(p, v, 1, &c->sink_queue));
    } else if (key == "retry_initial") {
      RW_TRY(GetDuration(p, v, false, &c->retry_initial_us));
    } else if (key == "retry_max") {
      RW_TRY(GetDuration(p, v, false, &c->retry_max_us));
    } else if (key == "retry_give_up") {
      RW_TRY(GetDuration(p, v, false, &c->retry_give_up_us));
    } else if (key == "schedule_interval") {
      RW_TRY(GetDuration(p, v, false, &c->schedule_interval_us));
    } else if (key == "schedule_range") {
      RW_TRY(GetDuration(p, v, false, &c->schedule_range_us));
    } else {
      return Unknown(p);
    }
  }
  if (c->retry_max_us < c->retry_initial_us) c->retry_max_us = c->retry_initial_us;
  return CheckFleetRules(*c);
}

Result<element> ParseText(simdjson::dom::parser& parser, const simdjson::padded_string& text,
                          std::string_view what) {
  element root;
  auto error = parser.parse(text).get(root);
  if (error) {
    return Status::InvalidArgument(std::string(what) +
                                   ": not valid JSON: " + simdjson::error_message(error));
  }
  return root;
}

}  // namespace

Result<AlertConfig> AlertConfigFromAlertsJson(std::string_view alerts_json_text) {
  AlertConfig config;
  if (alerts_json_text.find_first_not_of(" \t\r\n") == std::string_view::npos) return config;
  simdjson::dom::parser parser;
  simdjson::padded_string text(alerts_json_text);
  auto root = ParseText(parser, text, "alerts");
  if (!root.ok()) return root.status();
  object o;
  RW_TRY(GetObject("alerts", *root, &o));
  RW_TRY(ReadAlerts(o, &config));
  return config;
}

Result<AlertConfig> AlertConfigFromJson(std::string_view config_json_text) {
  AlertConfig config;
  simdjson::dom::parser parser;
  simdjson::padded_string text(config_json_text);
  auto root = ParseText(parser, text, "config");
  if (!root.ok()) return root.status();
  object top;
  if (root->get_object().get(top)) {
    return Status::InvalidArgument("config: the file is not a JSON object");
  }
  element alerts;
  if (top["alerts"].get(alerts)) return config;  // absent: defaults
  object o;
  RW_TRY(GetObject("alerts", alerts, &o));
  RW_TRY(ReadAlerts(o, &config));
  return config;
}

}  // namespace resyncwatch
