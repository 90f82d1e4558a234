// AlertConfig from the "alerts" object of the config file (keys: the tables below, which
// `resyncwatchd --help-config` prints for README). Every unknown key and every bad value is
// an error naming its dotted path.
#include <simdjson.h>

#include <cmath>
#include <span>
#include <string>

#include "alerts/alerts.h"
#include "alerts/sinks.h"
#include "common/printable.h"
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

// One key of the "alerts" section or of one of its rules: how its value is read and which
// field of AlertConfig it sets. The tables below are the whole list of keys.
struct AlertKey {
  enum class Kind { kBool, kInt, kDouble, kPercent, kDuration, kDurationOrZero, kGroupBy };
  std::string_view name;
  std::string_view help;
  Kind kind;
  bool AlertConfig::*flag = nullptr;
  int64_t AlertConfig::*integer = nullptr;  // also durations, in microseconds
  double AlertConfig::*real = nullptr;      // a percent key stores its share (0..1)
  AlertGrouping AlertConfig::*groups = nullptr;
  double min = 0;  // kInt, kDouble
  double max = 0;  // kDouble
};

using K = AlertKey::Kind;
using C = AlertConfig;

constexpr AlertKey kFailuresKeys[] = {
    {.name = "enabled", .help = "the rule is on", .kind = K::kBool, .flag = &C::failures_enabled},
    {.name = "window",
     .help = "failures are counted over this window",
     .kind = K::kDuration,
     .integer = &C::failures_window_us},
    {.name = "min_failures",
     .help = "fires at this many failures in the window",
     .kind = K::kInt,
     .integer = &C::failures_min,
     .min = 1},
    {.name = "group_by",
     .help = "groups counted apart: fleet, server, error, model",
     .kind = K::kGroupBy,
     .groups = &C::failures_group_by},
};
constexpr AlertKey kRatioKeys[] = {
    {.name = "enabled", .help = "the rule is on", .kind = K::kBool, .flag = &C::ratio_enabled},
    {.name = "window",
     .help = "failures and attempts are counted over this window",
     .kind = K::kDuration,
     .integer = &C::ratio_window_us},
    {.name = "min_ratio",
     .help = "fires at this share of failed attempts (0..1)",
     .kind = K::kDouble,
     .real = &C::ratio_min,
     .min = 0.0001,
     .max = 1.0},
    {.name = "min_attempts",
     .help = "only with at least this many attempts in the window",
     .kind = K::kInt,
     .integer = &C::ratio_min_attempts,
     .min = 1},
    {.name = "group_by",
     .help = "groups counted apart: fleet, server, error, model",
     .kind = K::kGroupBy,
     .groups = &C::ratio_group_by},
};
constexpr AlertKey kDeviceKeys[] = {
    {.name = "enabled", .help = "the rule is on", .kind = K::kBool, .flag = &C::device_enabled},
    {.name = "consecutive_failures",
     .help = "fires at this many failures in a row of one phone",
     .kind = K::kInt,
     .integer = &C::device_consecutive_min,
     .min = 1},
    {.name = "idle_resolve",
     .help = "resolves when the phone has been silent this long",
     .kind = K::kDuration,
     .integer = &C::device_idle_resolve_us},
};
constexpr AlertKey kOverdueKeys[] = {
    {.name = "enabled", .help = "the rule is on", .kind = K::kBool, .flag = &C::overdue_enabled},
    {.name = "min_phones",
     .help = "fires at this many phones overdue",
     .kind = K::kInt,
     .integer = &C::overdue_min_phones,
     .min = 1},
    {.name = "min_percent",
     .help = "or at this percentage of the phones with a known state (0: off)",
     .kind = K::kPercent,
     .real = &C::overdue_min_share},
};
constexpr AlertKey kHammeringKeys[] = {
    {.name = "enabled", .help = "the rule is on", .kind = K::kBool, .flag = &C::hammering_enabled},
    {.name = "min_phones",
     .help = "fires at this many phones retrying faster than configured",
     .kind = K::kInt,
     .integer = &C::hammering_min_phones,
     .min = 1},
};
constexpr AlertKey kFleetSilenceKeys[] = {
    {.name = "enabled",
     .help = "the rule is on",
     .kind = K::kBool,
     .flag = &C::fleet_silence_enabled},
    {.name = "after",
     .help = "fires after no datagram at all for this long",
     .kind = K::kDuration,
     .integer = &C::fleet_silence_us},
};
constexpr AlertKey kNetworkSilenceKeys[] = {
    {.name = "enabled",
     .help = "the rule is on",
     .kind = K::kBool,
     .flag = &C::network_silence_enabled},
    {.name = "after",
     .help = "fires after an active sender network is silent this long",
     .kind = K::kDuration,
     .integer = &C::network_silence_us},
    {.name = "min_datagrams",
     .help = "a network is active with this many datagrams in active_window",
     .kind = K::kInt,
     .integer = &C::network_min_datagrams,
     .min = 1},
    {.name = "active_window",
     .help = "the window before its last datagram that makes a network active",
     .kind = K::kDuration,
     .integer = &C::network_active_window_us},
    {.name = "forget_after",
     .help = "a network silent this long is forgotten (longer than after)",
     .kind = K::kDuration,
     .integer = &C::network_forget_us},
    {.name = "max_networks",
     .help = "networks tracked at most, the longest silent evicted first",
     .kind = K::kInt,
     .integer = &C::max_networks,
     .min = 1},
};

struct AlertRuleKeys {
  std::string_view name;
  std::span<const AlertKey> keys;
};
constexpr AlertRuleKeys kRules[] = {
    {"failures", kFailuresKeys},
    {"ratio", kRatioKeys},
    {"device", kDeviceKeys},
    {"overdue", kOverdueKeys},
    {"hammering", kHammeringKeys},
    {"fleet_silence", kFleetSilenceKeys},
    {"network_silence", kNetworkSilenceKeys},
};

// The section's own keys; "rules" and "sinks" hold structures and are read apart.
constexpr AlertKey kSectionKeys[] = {
    {.name = "enabled", .help = "alerting is on", .kind = K::kBool, .flag = &C::enabled},
    {.name = "resolve_fraction",
     .help = "an alert resolves below this fraction of its threshold",
     .kind = K::kDouble,
     .real = &C::resolve_fraction,
     .max = 1.0},
    {.name = "resolve_after",
     .help = "... once it stayed there this long",
     .kind = K::kDurationOrZero,
     .integer = &C::resolve_after_us},
    {.name = "update_interval",
     .help = "a firing alert is stored again at most this often",
     .kind = K::kDuration,
     .integer = &C::update_interval_us},
    {.name = "max_groups",
     .help = "groups tracked per dimension, idle ones evicted first",
     .kind = K::kInt,
     .integer = &C::max_groups,
     .min = 1},
    {.name = "max_devices",
     .help = "phones tracked by the device rule",
     .kind = K::kInt,
     .integer = &C::max_devices,
     .min = 1},
    {.name = "sample_macs",
     .help = "MACs carried by each alert",
     .kind = K::kInt,
     .integer = &C::sample_macs,
     .min = 0},
    {.name = "sink_queue",
     .help = "alerts waiting per sink",
     .kind = K::kInt,
     .integer = &C::sink_queue,
     .min = 1},
    {.name = "retry_initial",
     .help = "first back-off of a failing sink",
     .kind = K::kDuration,
     .integer = &C::retry_initial_us},
    {.name = "retry_max",
     .help = "longest back-off of a failing sink",
     .kind = K::kDuration,
     .integer = &C::retry_max_us},
    {.name = "retry_give_up",
     .help = "an alert not delivered this long after it was raised is dropped",
     .kind = K::kDuration,
     .integer = &C::retry_give_up_us},
    {.name = "schedule_interval",
     .help = "the schedule analysis of the overdue and hammering rules runs this often",
     .kind = K::kDuration,
     .integer = &C::schedule_interval_us},
    {.name = "schedule_range",
     .help = "... over this much of the store",
     .kind = K::kDuration,
     .integer = &C::schedule_range_us},
};

Status ReadKey(const AlertKey& k, const std::string& path, element v, AlertConfig* c) {
  switch (k.kind) {
    case K::kBool:
      return GetBool(path, v, &(c->*k.flag));
    case K::kInt:
      return GetInt(path, v, static_cast<int64_t>(k.min), &(c->*k.integer));
    case K::kDouble:
      return GetDouble(path, v, k.min, k.max, &(c->*k.real));
    case K::kPercent: {
      double percent = 0;
      RW_TRY(GetDouble(path, v, 0.0, 100.0, &percent));
      c->*k.real = percent / 100;
      return Status::Ok();
    }
    case K::kDuration:
    case K::kDurationOrZero:
      return GetDuration(path, v, k.kind == K::kDurationOrZero, &(c->*k.integer));
    case K::kGroupBy:
      return GetGroupBy(path, v, &(c->*k.groups));
  }
  return Status::Ok();
}

// "alerts.rules.failures.windw: unknown key (expected enabled, window, ...)".
template <typename Entry>
Status UnknownKey(const std::string& path, std::span<const Entry> known,
                  std::string_view extra = {}) {
  std::string names;
  for (const Entry& e : known) names += (names.empty() ? "" : ", ") + std::string(e.name);
  if (!extra.empty()) names += ", " + std::string(extra);
  return Status::InvalidArgument(path + ": unknown key (expected " + names + ")");
}

const AlertKey* FindKey(std::span<const AlertKey> keys, std::string_view name) {
  for (const AlertKey& k : keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// Reads every key of o through the table; a key not in it is an error.
Status ReadKeys(const std::string& path, object o, std::span<const AlertKey> keys, AlertConfig* c) {
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    const AlertKey* k = FindKey(keys, key);
    if (k == nullptr) return UnknownKey(p, keys);
    RW_TRY(ReadKey(*k, p, v, c));
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
    const AlertRuleKeys* rule = nullptr;
    for (const AlertRuleKeys& r : kRules) {
      if (r.name == key) rule = &r;
    }
    if (rule == nullptr) return UnknownKey(p, std::span<const AlertRuleKeys>(kRules));
    object keys;
    RW_TRY(GetObject(p, v, &keys));
    RW_TRY(ReadKeys(p, keys, rule->keys, c));
  }
  return Status::Ok();
}

// Each sink type: the key that names its target and the other keys it takes.
struct SinkKeys {
  std::string_view name;
  AlertConfig::Sink::Type type;
  std::string_view target_key;  // "" for log
  std::string_view keys;        // besides type and the target
};
constexpr SinkKeys kSinkTypes[] = {
    {"log", AlertConfig::Sink::Type::kLog, "", ""},
    {"file", AlertConfig::Sink::Type::kFile, "path", "timeout"},
    {"exec", AlertConfig::Sink::Type::kExec, "command", "timeout"},
    {"webhook", AlertConfig::Sink::Type::kWebhook, "url", "ca_file, verify_tls, timeout"},
    {"syslog", AlertConfig::Sink::Type::kSyslog, "target", "hostname, facility, timeout"},
};

bool ListHas(std::string_view list, std::string_view key) {
  while (!list.empty()) {
    size_t comma = list.find(", ");
    if (list.substr(0, comma) == key) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 2);
  }
  return false;
}

// One key of a sink entry that its type takes (SinkKeys).
Status ReadSinkKey(std::string_view key, const std::string& p, element v, AlertConfig* c,
                   AlertConfig::Sink* sink) {
  using Type = AlertConfig::Sink::Type;
  if (key == "ca_file") return GetString(p, v, &sink->ca_file);
  if (key == "verify_tls") {
    bool verify = true;
    if (v.get_bool().get(verify)) return Bad(p, v, "is not true or false");
    sink->verify_tls = verify;
  } else if (key == "timeout") {
    return GetDuration(p, v, false, &sink->timeout_us);
  } else if (key == "hostname") {
    return GetString(p, v, &c->syslog_hostname);
  } else if (key == "facility") {
    int64_t f = 0;
    RW_TRY(GetInt(p, v, 0, &f));
    if (f > 23) return Bad(p, v, "is not a facility number 0..23");
    c->syslog_facility = static_cast<int>(f);
  } else {  // the target
    RW_TRY(GetString(p, v, &sink->target));
    if (sink->target.empty()) return Bad(p, v, "must not be empty");
    if (sink->type == Type::kWebhook && !ParseHttpUrl(sink->target).ok()) {
      return Bad(p, v, "is not an http(s)://host[:port]/path URL");
    }
  }
  return Status::Ok();
}

Status ReadSink(const std::string& path, object o, AlertConfig* c, AlertConfig::Sink* sink) {
  std::string type;
  element type_value;
  if (o["type"].get(type_value)) return Status::InvalidArgument(path + ".type: missing");
  RW_TRY(GetString(path + ".type", type_value, &type));
  const SinkKeys* kind = nullptr;
  for (const SinkKeys& k : kSinkTypes) {
    if (k.name == type) kind = &k;
  }
  if (kind == nullptr)
    return Bad(path + ".type", type_value, "is not log/file/exec/webhook/syslog");
  sink->type = kind->type;
  for (auto [key, v] : o) {
    std::string p = path + "." + std::string(key);
    if (key == "type") continue;
    if ((kind->target_key.empty() || key != kind->target_key) && !ListHas(kind->keys, key)) {
      std::string expected = "type";
      if (!kind->target_key.empty()) expected += ", " + std::string(kind->target_key);
      if (!kind->keys.empty()) expected += ", " + std::string(kind->keys);
      return Status::InvalidArgument(p + ": unknown key (a " + type + " sink takes " + expected +
                                     ")");
    }
    RW_TRY(ReadSinkKey(key, p, v, c, sink));
  }
  if (!kind->target_key.empty() && sink->target.empty()) {
    return Status::InvalidArgument(path + "." + std::string(kind->target_key) + ": missing");
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
    if (key == "rules") {
      object rules;
      RW_TRY(GetObject(p, v, &rules));
      RW_TRY(ReadRules(p, rules, c));
    } else if (key == "sinks") {
      RW_TRY(ReadSinks(p, v, c));
    } else if (const AlertKey* k = FindKey(kSectionKeys, key)) {
      RW_TRY(ReadKey(*k, p, v, c));
    } else {
      return UnknownKey(p, std::span<const AlertKey>(kSectionKeys), "rules, sinks");
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

std::string KeyValue(AlertKey::Kind kind) {
  switch (kind) {
    case K::kBool:
      return "true/false";
    case K::kInt:
      return "N";
    case K::kDouble:
      return "R";
    case K::kPercent:
      return "PERCENT";
    case K::kDuration:
    case K::kDurationOrZero:
      return "DUR";
    case K::kGroupBy:
      return "[GROUP...]";
  }
  return "";
}

// A duration as the config file spells it: "5m", "2d", "90s".
std::string ConfigDuration(int64_t us) {
  for (auto [unit, name] : {std::pair<int64_t, const char*>{86400'000'000LL, "d"},
                            {3600'000'000LL, "h"},
                            {60'000'000LL, "m"},
                            {1'000'000LL, "s"}}) {
    if (us != 0 && us % unit == 0) return std::to_string(us / unit) + name;
  }
  return us == 0 ? "0" : std::to_string(us / 1000) + "ms";
}

std::string KeyDefault(const AlertKey& k, const AlertConfig& d) {
  auto number = [](double v) {
    std::string text = std::to_string(v);
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
  };
  switch (k.kind) {
    case K::kBool:
      return d.*k.flag ? "true" : "false";
    case K::kInt:
      return std::to_string(d.*k.integer);
    case K::kDouble:
      return number(d.*k.real);
    case K::kPercent:
      return number(d.*k.real * 100);
    case K::kDuration:
    case K::kDurationOrZero:
      return ConfigDuration(d.*k.integer);
    case K::kGroupBy: {
      const AlertGrouping& g = d.*k.groups;
      std::string out;
      for (auto [on, name] : {std::pair{g.fleet, "fleet"},
                              {g.server, "server"},
                              {g.error, "error"},
                              {g.model, "model"}}) {
        if (on) out += (out.empty() ? "" : ", ") + std::string(name);
      }
      return "[" + out + "]";
    }
  }
  return "";
}

void AddDocs(std::string_view prefix, std::span<const AlertKey> keys,
             std::vector<ConfigKeyDoc>* out) {
  const AlertConfig defaults;
  for (const AlertKey& k : keys) {
    out->push_back({std::string(prefix) + std::string(k.name), KeyValue(k.kind),
                    KeyDefault(k, defaults), std::string(k.help)});
  }
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
  // Keys and texts from the file appear in the messages: one line each (common/printable.h).
  return OneLine([&]() -> Result<AlertConfig> {
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
  }());
}

}  // namespace resyncwatch

namespace resyncwatch {

std::vector<ConfigKeyDoc> AlertConfigKeyDocs() {
  std::vector<ConfigKeyDoc> out;
  AddDocs("alerts.", kSectionKeys, &out);
  for (const AlertRuleKeys& rule : kRules) {
    AddDocs("alerts.rules." + std::string(rule.name) + ".", rule.keys, &out);
  }
  std::string sinks;
  for (const SinkKeys& k : kSinkTypes) {
    std::string keys = std::string(k.target_key);
    if (!k.keys.empty()) keys += (keys.empty() ? "" : ", ") + std::string(k.keys);
    sinks +=
        (sinks.empty() ? "" : "; ") + std::string(k.name) + (keys.empty() ? "" : " (" + keys + ")");
  }
  out.push_back({"alerts.sinks", "[{\"type\": T, ...}]", "[{\"type\": \"log\"}]",
                 "where alerts go, by type: " + sinks});
  return out;
}

}  // namespace resyncwatch
