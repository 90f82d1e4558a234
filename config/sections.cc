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
     ValidateTemplates},
    {"alerts", "alert rules, their thresholds and the sinks alerts go to (README: Alerts)",
     ValidateAlerts},
    {"schedule", "the phones' resync parameters: defaults, per model, per MAC (README: schedule)",
     ValidateSchedule},
};

}  // namespace

std::span<const ConfigSection> ConfigSections() { return kSections; }

}  // namespace resyncwatch
