// What `resyncwatch schedule` and `resyncwatch overdue` share: the option table of the
// analysis tolerances and thresholds (defaults documented in --help), reading the
// "schedule" section of the config file, and the analysis options from parsed flags.
// Header-only, owned with cmd_schedule.cc and cmd_overdue.cc; not thread-safe.
#pragma once

#include <cstdio>
#include <string>

#include "common/flags.h"
#include "common/time_format.h"
#include "config/config_file.h"
#include "schedule/schedule.h"

namespace resyncwatch::schedule_cli {

inline constexpr FlagSpec kConfig = {"config", FlagType::kString, "", "FILE",
                                     "config file whose \"schedule\" section gives the phones' "
                                     "schedules (default: factory defaults)"};
inline constexpr FlagSpec kTolerance = {"tolerance", FlagType::kDuration, "5s", "DUR",
                                        "jitter allowed on both sides of a window"};
inline constexpr FlagSpec kTolerancePct = {"tolerance-pct", FlagType::kString, "0.5", "PCT",
                                           "plus this percent of the expected wait"};
inline constexpr FlagSpec kCycleGap = {"cycle-gap", FlagType::kDuration, "10s", "DUR",
                                       "events closer than this are one resync cycle"};
inline constexpr FlagSpec kDuplicateWindow = {"duplicate-window", FlagType::kDuration, "2s", "DUR",
                                              "the same message again within this is a copy"};
inline constexpr FlagSpec kOutcomeWait = {"outcome-wait", FlagType::kDuration, "5m", "DUR",
                                          "an outcome this long after a request still answers "
                                          "it"};
inline constexpr FlagSpec kOnDemand = {"on-demand-window", FlagType::kDuration, "15m", "DUR",
                                       "an upgrade (plus Resync_Random_Delay) or SIP NOTIFY "
                                       "(plus Forced_Resync_Delay) this long before an "
                                       "attempt makes it on demand"};
inline constexpr FlagSpec kGrace = {"grace", FlagType::kDuration, "15m", "DUR",
                                    "overdue once the next attempt is this late beyond "
                                    "Forced_Resync_Delay"};
inline constexpr FlagSpec kDeepBackoff = {"deep-backoff", FlagType::kDuration, "1h", "DUR",
                                          "deep_backoff when the next retry wait is this long"};

// Every option OptionsFromFlags reads, for each command that runs the analysis: one list,
// so that no command judges with a missing option's zero.
inline constexpr FlagSpec kAnalysisFlags[] = {kConfig,   kTolerance,       kTolerancePct,
                                              kCycleGap, kDuplicateWindow, kOutcomeWait,
                                              kOnDemand, kGrace,           kDeepBackoff};

// REQUIRES: flags parsed with kAnalysisFlags.
inline Result<AnalysisOptions> OptionsFromFlags(const FlagSet& flags) {
  AnalysisOptions o;
  o.tolerance_us = flags.GetDuration("tolerance");
  std::string pct = flags.GetString("tolerance-pct");
  char* end = nullptr;
  double v = std::strtod(pct.c_str(), &end);
  if (pct.empty() || end != pct.c_str() + pct.size() || v < 0 || v > 100) {
    return Status::InvalidArgument("--tolerance-pct: '" + pct + "' is not a percentage");
  }
  o.tolerance_ratio = v / 100.0;
  o.cycle_gap_us = flags.GetDuration("cycle-gap");
  o.duplicate_window_us = flags.GetDuration("duplicate-window");
  o.outcome_wait_us = flags.GetDuration("outcome-wait");
  o.on_demand_window_us = flags.GetDuration("on-demand-window");
  o.grace_us = flags.GetDuration("grace");
  o.deep_backoff_us = flags.GetDuration("deep-backoff");
  return o;
}

inline Result<ScheduleConfigSet> LoadConfig(const std::string& path) {
  if (path.empty()) return ScheduleConfigSet();
  // The whole file is checked, as the daemon checks it: a typo anywhere is refused. The
  // schedule section (the last one checked) is checked by the one parse that reads it:
  // with 50,000 per-phone overrides a parse costs 50 ms.
  Result<ConfigFile> file = LoadAndValidateConfig(path, "schedule");
  if (!file.ok()) return file.status();
  Result<ScheduleConfigSet> set = ScheduleConfigSet::Parse(file->text());
  if (!set.ok()) return file->Prefixed(set.status());
  return set;
}

}  // namespace resyncwatch::schedule_cli
