// The registry of config file sections: each names the module that reads it and how that
// module checks it, so that the daemon and the CLI reject the same mistakes the same way.
#include "alerts/alerts.h"
#include "config/config_file.h"
#include "parsers/parsers.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

Status ValidateTemplates(std::string_view text) {
  return TemplateSet::FromConfigJson(text).status();
}
Status ValidateAlerts(std::string_view text) { return AlertConfigFromJson(text).status(); }
Status ValidateSchedule(std::string_view text) { return ScheduleConfigSet::Parse(text).status(); }

constexpr ConfigSection kSections[] = {
    {"templates", "the phones' log message templates per kind (README: Parsing phone syslog)",
     ValidateTemplates, TemplateConfigKeyDocs},
    {"alerts", "alert rules, their thresholds and the sinks alerts go to (README: Alerts)",
     ValidateAlerts, AlertConfigKeyDocs},
    {"schedule", "the phones' resync parameters: defaults, per model, per MAC (README: schedule)",
     ValidateSchedule, ScheduleConfigKeyDocs},
};

}  // namespace

std::span<const ConfigSection> ConfigSections() { return kSections; }

std::string ConfigSectionsMarkdown() {
  std::string out;
  for (const ConfigSection& section : kSections) {
    out += "`" + std::string(section.name) + "`: " + std::string(section.summary) + "\n\n";
    out += "| key | value | default | description |\n|---|---|---|---|\n";
    for (const ConfigKeyDoc& k : section.keys()) {
      auto cell = [](const std::string& text) {
        std::string escaped;
        for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
        return escaped.empty() ? escaped : "`" + escaped + "`";
      };
      out += "| " + cell(k.key) + " | " + cell(k.value) + " | " + cell(k.default_value) + " | " +
             k.help + " |\n";
    }
    out += "\n";
  }
  return out;
}

}  // namespace resyncwatch
