// The "schedule" section of the resyncwatch JSON config file.
#include <simdjson.h>

#include <cctype>
#include <charconv>

#include "common/printable.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// A value as text: strings as they are, integers in decimal; anything else is refused.
Result<std::string> ValueText(element value, const std::string& where) {
  if (value.is_string()) return std::string(std::string_view(value.get_string().value()));
  if (value.is_int64()) return std::to_string(int64_t(value.get_int64().value()));
  if (value.is_uint64()) return std::to_string(uint64_t(value.get_uint64().value()));
  return Status::InvalidArgument(where + ": " + simdjson::minify(value) +
                                 " is not a string or an integer");
}

Result<int64_t> IntInRange(const std::string& text, int64_t lo, int64_t hi,
                           const std::string& where) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    return Status::InvalidArgument(where + ": '" + text + "' is not an integer in " +
                                   std::to_string(lo) + "-" + std::to_string(hi));
  }
  return v;
}

// "+01:00", "-05:30", "Z", "+0100" -> minutes east of UTC.
std::optional<int> ParseUtcOffset(std::string_view s) {
  if (s == "Z" || s == "UTC" || s == "0") return 0;
  if (s.size() != 6 && s.size() != 5) return std::nullopt;
  if (s[0] != '+' && s[0] != '-') return std::nullopt;
  std::string digits;
  for (char c : s.substr(1)) {
    if (c == ':') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits += c;
  }
  if (digits.size() != 4 || (s.size() == 6 && s[3] != ':')) return std::nullopt;
  int hh = std::stoi(digits.substr(0, 2));
  int mm = std::stoi(digits.substr(2));
  if (hh > 14 || mm > 59) return std::nullopt;
  int minutes = hh * 60 + mm;
  return s[0] == '-' ? -minutes : minutes;
}

// Yes/No parameters as the phone's web page and XML profiles spell them.
std::optional<bool> ParseYesNo(std::string_view s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "yes" || lower == "true" || lower == "1") return true;
  if (lower == "no" || lower == "false" || lower == "0") return false;
  return std::nullopt;
}

Result<bool> YesNo(element value, const std::string& where) {
  if (value.is_bool()) return bool(value.get_bool().value());
  auto text = ValueText(value, where);
  if (!text.ok()) return text.status();
  std::optional<bool> b = ParseYesNo(*text);
  if (!b) return Status::InvalidArgument(where + ": '" + *text + "' is not Yes or No");
  return *b;
}

// One key of a schedule override (defaults, a model, a MAC): the phone's parameter name,
// how its value is read and which field of ScheduleOverride it sets. This table is the
// whole list of keys.
struct ScheduleKey {
  enum class Kind { kRetryList, kYesNo, kDelay, kDelayUnits, kAtTime, kTrigger, kUtcOffset };
  std::string_view name;
  std::string_view help;
  Kind kind;
  std::optional<RetrySchedule> ScheduleOverride::*list = nullptr;
  std::optional<bool> ScheduleOverride::*yes_no = nullptr;
  std::optional<int64_t> ScheduleOverride::*seconds = nullptr;  // kDelay: 0..65535 s
  std::optional<int> ScheduleOverride::*units = nullptr;        // kDelayUnits: 0..65535
};

using SK = ScheduleKey::Kind;
using SO = ScheduleOverride;
constexpr ScheduleKey kScheduleKeys[] = {
    {.name = "Resync_Periodic",
     .help = "seconds between periodic resyncs (3600, 3600+60: with random extra)",
     .kind = SK::kRetryList,
     .list = &SO::periodic},
    {.name = "Resync_Error_Retry_Delay",
     .help = "retry after a failure: one delay, or a back-off list (600,1200,300)",
     .kind = SK::kRetryList,
     .list = &SO::retry},
    {.name = "Resync_Random_Delay",
     .help = "after power-on the first resync comes within this many units of 20 s",
     .kind = SK::kDelayUnits,
     .units = &SO::random_delay},
    {.name = "Resync_At__HHmm_",
     .help = "a daily resync at this local time (0230) instead of periodic ones",
     .kind = SK::kAtTime},
    {.name = "Resync_At_Random_Delay",
     .help = "seconds of spread after Resync_At__HHmm_",
     .kind = SK::kDelay,
     .seconds = &SO::at_random_delay_s},
    {.name = "Forced_Resync_Delay",
     .help = "seconds a resync may wait for idle lines",
     .kind = SK::kDelay,
     .seconds = &SO::forced_resync_delay_s},
    {.name = "Resync_On_Reset",
     .help = "a resync follows every power-on",
     .kind = SK::kYesNo,
     .yes_no = &SO::resync_on_reset},
    {.name = "Resync_Fails_On_FNF",
     .help = "a profile not found fails the resync",
     .kind = SK::kYesNo,
     .yes_no = &SO::fails_on_fnf},
    {.name = "Provision_Enable",
     .help = "No: the phone never resyncs",
     .kind = SK::kYesNo,
     .yes_no = &SO::provision_enable},
    {.name = "Resync_Trigger_1",
     .help = "accepted and reported, not evaluated (syslog does not show it)",
     .kind = SK::kTrigger},
    {.name = "Resync_Trigger_2",
     .help = "accepted and reported, not evaluated (syslog does not show it)",
     .kind = SK::kTrigger},
    {.name = "utc_offset",
     .help = "the phone's time zone for Resync_At__HHmm_ (+01:00)",
     .kind = SK::kUtcOffset},
};

Status UnknownScheduleKey(const std::string& at) {
  std::string names;
  for (const ScheduleKey& k : kScheduleKeys) {
    names += (names.empty() ? "" : ", ") + std::string(k.name);
  }
  return Status::InvalidArgument(at + ": unknown key (expected " + names + ")");
}

Status ParseOverrideKey(std::string_view key, element value, const std::string& at,
                        ScheduleOverride* o) {
  const ScheduleKey* k = nullptr;
  for (const ScheduleKey& candidate : kScheduleKeys) {
    if (candidate.name == key) k = &candidate;
  }
  if (k == nullptr) return UnknownScheduleKey(at);
  if (k->kind == SK::kYesNo) {
    auto b = YesNo(value, at);
    if (!b.ok()) return b.status();
    o->*k->yes_no = *b;
    return Status::Ok();
  }
  auto text = ValueText(value, at);
  if (!text.ok()) return text.status();
  const std::string& v = *text;
  switch (k->kind) {
    case SK::kRetryList: {
      auto s = RetrySchedule::Parse(v);
      if (!s.ok()) return Status::InvalidArgument(at + ": " + s.status().message());
      o->*k->list = *s;
      break;
    }
    case SK::kDelay:
    case SK::kDelayUnits: {
      auto n = IntInRange(v, 0, 65535, at);
      if (!n.ok()) return n.status();
      if (k->kind == SK::kDelay) {
        o->*k->seconds = *n;
      } else {
        o->*k->units = static_cast<int>(*n);
      }
      break;
    }
    case SK::kAtTime:
      o->at_text = v;  // an invalid value is kept and ignored, as the phone ignores it
      break;
    case SK::kTrigger:
      // Conditions on the phone's own timers: accepted, reported, not evaluated.
      if (!v.empty()) o->has_trigger_conditions = true;
      break;
    case SK::kUtcOffset: {
      auto m = ParseUtcOffset(v);
      if (!m) return Status::InvalidArgument(at + ": '" + v + "' is not a UTC offset (+hh:mm)");
      o->utc_offset_minutes = *m;
      break;
    }
    case SK::kYesNo:
      break;
  }
  return Status::Ok();
}

Result<ScheduleOverride> ParseOverride(element value, const std::string& where) {
  object obj;
  if (value.get_object().get(obj)) {
    return Status::InvalidArgument(where + ": expected an object of schedule parameters");
  }
  ScheduleOverride o;
  for (auto field : obj) {
    std::string key(field.key);
    Status st = ParseOverrideKey(key, field.value, where + "." + key, &o);
    if (!st.ok()) return st;
  }
  return o;
}

// Which resync kinds the fleet sends, from the "templates" section (validated by the
// parsers' own loader, so that a bad template is the same error everywhere).
Result<MessagesSent> SentFromTemplates(std::string_view json) {
  auto templates = TemplateSet::FromConfigJson(json);
  if (!templates.ok()) return templates.status();
  MessagesSent sent{false, false, false};
  for (const auto& [kind, text] : templates->Templates()) {
    if (kind == EventKind::kResyncRequest) sent.request = true;
    if (kind == EventKind::kResyncSuccess) sent.success = true;
    if (kind == EventKind::kResyncFailure) sent.failure = true;
  }
  return sent;
}

// The factory default of each key, as the phone's web page shows it.
std::string KeyDefault(const ScheduleKey& k) {
  const ScheduleConfig d = ScheduleConfig::FactoryDefault();
  if (k.list == &SO::periodic) return d.periodic.ToString();
  if (k.list == &SO::retry)
    return d.retry.ToString() + " (SPA: " + std::string(kDefaultRetrySpa) + ")";
  if (k.units == &SO::random_delay) return std::to_string(d.random_delay);
  if (k.seconds == &SO::at_random_delay_s) return std::to_string(d.at_random_delay_s);
  if (k.seconds == &SO::forced_resync_delay_s) return std::to_string(d.forced_resync_delay_s);
  if (k.yes_no == &SO::resync_on_reset) return d.resync_on_reset ? "Yes" : "No";
  if (k.yes_no == &SO::fails_on_fnf) return d.fails_on_fnf ? "Yes" : "No";
  if (k.yes_no == &SO::provision_enable) return d.provision_enable ? "Yes" : "No";
  if (k.kind == SK::kUtcOffset) return "+00:00";
  return "";
}

std::string KeyValue(SK kind) {
  switch (kind) {
    case SK::kRetryList:
      return "DELAYS";
    case SK::kYesNo:
      return "Yes/No";
    case SK::kDelay:
    case SK::kDelayUnits:
      return "N";
    case SK::kAtTime:
      return "HHmm";
    case SK::kTrigger:
      return "TEXT";
    case SK::kUtcOffset:
      return "+hh:mm";
  }
  return "";
}

}  // namespace

Result<ScheduleConfigSet> ScheduleConfigSet::Parse(std::string_view json) {
  // Keys and texts from the file appear in the messages: one line each (common/printable.h).
  return OneLine([&]() -> Result<ScheduleConfigSet> {
    ScheduleConfigSet set;
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    element root;
    if (auto err = parser.parse(padded).get(root)) {
      return Status::InvalidArgument(std::string("config is not valid JSON: ") +
                                     simdjson::error_message(err));
    }
    object top;
    if (root.get_object().get(top)) return Status::InvalidArgument("config: expected an object");
    auto sent = SentFromTemplates(json);
    if (!sent.ok()) return sent.status();
    set.defaults_.sent = *sent;
    element section;
    if (top["schedule"].get(section)) return set;  // absent: factory defaults
    object sched;
    if (section.get_object().get(sched)) {
      return Status::InvalidArgument("schedule: expected an object");
    }
    for (auto field : sched) {
      std::string key(field.key);
      if (key == "defaults") {
        auto o = ParseOverride(field.value, "schedule.defaults");
        if (!o.ok()) return o.status();
        ScheduleConfig c = ScheduleConfig::FactoryDefault();
        c.sent = set.defaults_.sent;  // from the "templates" section, read above
        o->ApplyTo(&c);
        set.defaults_ = std::move(c);
        set.defaults_set_retry_ = o->retry.has_value();
      } else if (key == "models" || key == "macs") {
        object map;
        if (field.value.get_object().get(map)) {
          return Status::InvalidArgument("schedule." + key + ": expected an object");
        }
        for (auto entry : map) {
          std::string name(entry.key);
          std::string where = "schedule." + key + "." + name;
          auto o = ParseOverride(entry.value, where);
          if (!o.ok()) return o.status();
          if (key == "models") {
            set.by_model_[name] = std::move(*o);
          } else {
            std::optional<MacAddress> mac = ParseMac(name);
            if (!mac)
              return Status::InvalidArgument(where + ": '" + name + "' is not a MAC address");
            set.by_mac_[*mac] = std::move(*o);
          }
        }
      } else {
        return Status::InvalidArgument("schedule." + key +
                                       ": unknown key (expected defaults, models, macs)");
      }
    }
    return set;
  }());
}

std::vector<ConfigKeyDoc> ScheduleConfigKeyDocs() {
  std::vector<ConfigKeyDoc> out;
  for (const ScheduleKey& k : kScheduleKeys) {
    out.push_back({"schedule.defaults." + std::string(k.name), KeyValue(k.kind), KeyDefault(k),
                   std::string(k.help)});
  }
  out.push_back({"schedule.models.MODEL", "{KEY: VALUE}", "",
                 "the same keys for one model (CP-8851-3PCC), over the defaults"});
  out.push_back(
      {"schedule.macs.MAC", "{KEY: VALUE}", "", "the same keys for one phone, over its model's"});
  return out;
}

ScheduleConfig ScheduleConfigSet::For(MacAddress mac, std::string_view model) const {
  ScheduleConfig c = defaults_;
  if (!defaults_set_retry_ && model.substr(0, 3) == "SPA") {
    c.retry = RetrySchedule({DelaySpec{3600, 3600}});
  }
  if (!model.empty()) {
    auto it = by_model_.find(model);
    if (it != by_model_.end()) it->second.ApplyTo(&c);
  }
  auto m = by_mac_.find(mac);
  if (m != by_mac_.end()) m->second.ApplyTo(&c);
  return c;
}

}  // namespace resyncwatch
