// `resyncwatch schedule`: is each phone resyncing when its configuration says it should?
// One device: every gap between attempts with its rule, window and verdict. --fleet: counts
// per verdict and the lists the NOC acts on (hammering, deep back-off, overdue, gave up).
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/schedule_cli.h"
#include "query/table.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "schedule",
    "resyncwatch schedule <MAC|SN> | --fleet [options]",
    "Judges resync attempts against the phones' schedules (Resync_Periodic,\n"
    "Resync_Error_Retry_Delay, Resync_At__HHmm_; set per fleet, model or MAC in the\n"
    "\"schedule\" section of --config, factory defaults otherwise). For one device: each gap\n"
    "between attempts, the rule that applied (periodic, retry n, at_hhmm, power_on,\n"
    "on_demand), the expected window, the observed gap and a verdict (on_time, early,\n"
    "deferred, late, missing), then the back-off step and when the next attempt is due.\n"
    "With --fleet: counts per verdict and the phones that are hammering, deep in back-off,\n"
    "overdue or gave up. Restarts (an isolated early attempt), copies from a second syslog\n"
    "target, several profiles per cycle, calls (deferred, up to Forced_Resync_Delay) and\n"
    "resyncs after an upgrade or a SIP NOTIFY (on demand) are read as the phone does them:\n"
    "see docs/schedule.md.\n"
    "Default range: the last 7 days for one device, 2 days for --fleet.",
    "  resyncwatch schedule 00:0e:08:ab:cd:ef              # one phone, last 7 days\n"
    "  resyncwatch schedule FCH2251A1B2 --since 1d --json  # by serial, JSON lines\n"
    "  resyncwatch schedule --fleet --config /etc/resyncwatch/resyncwatch.json\n"
    "  resyncwatch schedule --fleet --state deep_backoff --json | jq -r .mac\n"
    "  resyncwatch schedule --fleet --db ./sim.db --now 2026-11-25T00:00:00Z --since 3d\n",
};

constexpr FlagSpec kFleet = {"fleet", FlagType::kBool, "", "", "the whole fleet"};
constexpr FlagSpec kState = {"state", FlagType::kString, "", "S",
                             "--fleet: only devices in state S (ok, hammering, deep_backoff, "
                             "overdue, gave_up, unknown)"};
constexpr FlagSpec kGaps = {"gaps", FlagType::kBool, "", "",
                            "--fleet --json: each device's gap lines before its device line"};
constexpr FlagSpec kLimit = {"limit", FlagType::kInt, "20", "N",
                             "--fleet: rows per list in the table output (0 = all)"};

std::string Human(int64_t us) { return FormatDurationHuman(us); }

std::string WindowText(const Gap& g) {
  if (!g.expected) return "-";
  int64_t lo = g.expected->earliest_us - g.from_us;
  int64_t hi = g.expected->latest_us - g.from_us;
  return lo == hi ? Human(lo) : Human(lo) + " .. " + Human(hi);
}

std::string_view VerdictStyle(Verdict v, bool color) {
  if (!color) return {};
  switch (v) {
    case Verdict::kOnTime:
      return ansi::kGreen;
    case Verdict::kEarly:
      return ansi::kYellow;
    case Verdict::kLate:
      return ansi::kYellow;
    case Verdict::kMissing:
      return ansi::kRed;
    case Verdict::kDeferred:
      return {};  // allowed: the phone may have been in a call
  }
  return {};
}

std::string RuleText(const Gap& g) {
  std::string r(ToString(g.rule));
  if (g.rule == Rule::kRetry) r += " " + std::to_string(g.retry_step);
  return r;
}

std::string ScheduleText(const ScheduleConfig& c) {
  std::string s = c.at_minute ? "at " + c.at_text : "periodic " + c.periodic.ToString();
  return s + ", retry " + c.retry.ToString();
}

std::string VerdictCounts(const std::array<int64_t, kVerdictCount>& verdicts) {
  std::string s;
  for (int v = 0; v < kVerdictCount; ++v) {
    if (!s.empty()) s += ", ";
    s += std::to_string(verdicts[v]) + " " + std::string(ToString(static_cast<Verdict>(v)));
  }
  return s;
}

// What the phone's configuration keeps the analysis from seeing.
void PrintConfigNotes(std::FILE* out, const ScheduleConfig& c) {
  if (!c.provision_enable) {
    std::fprintf(out, "note: Provision_Enable is No: the phone does not resync by itself\n");
  }
  if (c.has_trigger_conditions) {
    std::fprintf(out,
                 "note: Resync_Trigger_1/2 are set: they can hold scheduled resyncs back on "
                 "conditions syslog does not show\n");
  }
}

std::string NextText(const Cli& cli, const DeviceAnalysis& a) {
  if (a.resyncs_disabled) return "none (Provision_Enable No)";
  if (!a.next) {
    return a.last_outcome == Outcome::kFailure ? "none (retries disabled: gave up)"
                                               : "none (periodic resync disabled)";
  }
  std::string rule(ToString(a.next->rule));
  if (a.next->rule == Rule::kRetry) rule += " " + std::to_string(a.next->step);
  std::string s = cli.TableTime(a.next->earliest_us) + " .. " + cli.TableTime(*a.next_due_us) +
                  " (" + rule + ")";
  if (a.state == DeviceState::kOverdue) {
    s += ", overdue by " + Human(a.overdue_us) + " past the call allowance";
  }
  return s;
}

int RunDevice(Cli& cli, const Store& store, const ScheduleConfigSet& configs, TimeRange range,
              const AnalysisOptions& options) {
  Result<MacAddress> mac = Cli::ResolveDevice(store, cli.positional()[0]);
  if (!mac.ok()) return cli.Fail(mac.status());
  std::string model;
  Result<DeviceAnalysis> a =
      AnalyzeStoredDevice(store, *mac, configs, range, cli.now_us(), options, &model);
  if (!a.ok()) return cli.Fail("cannot read history: " + a.status().message());
  if (a->attempts == 0)
    return cli.Nothing("no resync attempts of " + FormatMac(*mac) + " in range");
  std::FILE* out = cli.io().out;
  if (cli.json()) {
    TimeFormatter time = [](int64_t us) { return FormatIso8601Utc(us); };
    JsonWriter w;
    for (const Gap& g : a->gaps) {
      w.Begin();
      w.String("type", "gap");
      AddGapJson(w, *mac, g, time);
      w.End();
      std::fprintf(out, "%s\n", w.str().c_str());
    }
    w.Begin();
    w.String("type", "device");
    AddDeviceJson(w, *mac, model, *a, time);
    w.End();
    std::fprintf(out, "%s\n", w.str().c_str());
    return kExitFound;
  }
  bool color = cli.io().color;
  std::fprintf(out, "%s  %s  schedule: %s\n\n", FormatMac(*mac).c_str(), model.c_str(),
               ScheduleText(configs.For(*mac, model)).c_str());
  Table t;
  t.AddColumn("FROM");
  t.AddColumn("TO");
  t.AddColumn("RULE");
  t.AddColumn("EXPECTED", Table::Align::kRight);
  t.AddColumn("OBSERVED", Table::Align::kRight);
  t.AddColumn("OUTCOME");
  t.AddColumn("VERDICT");
  for (const Gap& g : a->gaps) {
    t.AddRow({{cli.TableTime(g.from_us), {}},
              {cli.TableTime(g.to_us), {}},
              {RuleText(g), {}},
              {WindowText(g), {}},
              {Human(g.observed_us()), {}},
              {std::string(ToString(g.outcome)), {}},
              {std::string(ToString(g.verdict)), VerdictStyle(g.verdict, color)}});
  }
  t.Print(out, color);
  std::fprintf(out, "\n%lld attempts: %s\n", static_cast<long long>(a->attempts),
               VerdictCounts(a->verdicts).c_str());
  std::fprintf(out, "state: %s   back-off step: %d   next attempt: %s\n",
               std::string(ToString(a->state)).c_str(), a->backoff_step, NextText(cli, *a).c_str());
  PrintConfigNotes(out, configs.For(*mac, model));
  return kExitFound;
}

struct Row {
  MacAddress mac;
  std::string model;
  DeviceAnalysis a;
};

// One device object per line; with gaps, each device's gap lines first, all with "type".
void PrintFleetJson(std::FILE* out, const std::vector<Row>& rows, bool with_gaps) {
  TimeFormatter time = [](int64_t us) { return FormatIso8601Utc(us); };
  JsonWriter w;
  for (const Row& r : rows) {
    if (with_gaps) {
      for (const Gap& g : r.a.gaps) {
        w.Begin();
        w.String("type", "gap");
        AddGapJson(w, r.mac, g, time);
        w.End();
        std::fprintf(out, "%s\n", w.str().c_str());
      }
    }
    w.Begin();
    if (with_gaps) w.String("type", "device");
    AddDeviceJson(w, r.mac, r.model, r.a, time);
    w.End();
    std::fprintf(out, "%s\n", w.str().c_str());
  }
}

void PrintList(Cli& cli, std::string_view title, std::vector<const Row*> rows, int64_t limit,
               bool with_next) {
  std::FILE* out = cli.io().out;
  std::fprintf(out, "\n%.*s: %zu\n", static_cast<int>(title.size()), title.data(), rows.size());
  if (rows.empty()) return;
  Table t;
  t.AddColumn("MAC");
  t.AddColumn("MODEL");
  t.AddColumn("STEP", Table::Align::kRight);
  t.AddColumn("EARLY", Table::Align::kRight);
  t.AddColumn("LAST ATTEMPT");
  t.AddColumn(with_next ? "NEXT DUE" : "LAST OUTCOME");
  size_t n = limit > 0 ? std::min<size_t>(rows.size(), limit) : rows.size();
  for (size_t i = 0; i < n; ++i) {
    const Row& r = *rows[i];
    std::string next = with_next ? (r.a.next_due_us ? cli.TableTime(*r.a.next_due_us) : "-")
                                 : std::string(ToString(r.a.last_outcome));
    t.AddRow({{FormatMac(r.mac), {}},
              {r.model, {}},
              {std::to_string(r.a.backoff_step), {}},
              {std::to_string(r.a.verdicts[static_cast<int>(Verdict::kEarly)]), {}},
              {cli.TableTime(r.a.last_attempt_us), {}},
              {next, {}}});
  }
  t.Print(out, cli.io().color);
  if (n < rows.size())
    std::fprintf(out, "... and %zu more (--limit 0 or --json)\n", rows.size() - n);
}

int RunFleetSchedule(Cli& cli, const Store& store, const ScheduleConfigSet& configs,
                     TimeRange range, const AnalysisOptions& options) {
  std::string state_filter = cli.flags().GetString("state");
  std::optional<DeviceState> only;
  if (!state_filter.empty()) {
    for (int s = 0; s <= static_cast<int>(DeviceState::kUnknown); ++s) {
      if (ToString(static_cast<DeviceState>(s)) == state_filter) only = static_cast<DeviceState>(s);
    }
    if (!only) return cli.Fail("--state: '" + state_filter + "' is not a state");
  }
  std::vector<Row> rows;
  bool with_gaps = cli.json() && cli.flags().GetBool("gaps");
  Status s = AnalyzeFleet(store, configs, range, cli.now_us(), options, [&](FleetDevice& d) {
    if (only && d.analysis.state != *only) return;
    if (!with_gaps) std::vector<Gap>().swap(d.analysis.gaps);
    rows.push_back({d.mac, std::move(d.model), std::move(d.analysis)});
  });
  if (!s.ok()) return cli.Fail("cannot read events: " + s.message());
  if (rows.empty()) return cli.Nothing("no devices in range");
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.mac < b.mac; });
  std::FILE* out = cli.io().out;
  if (cli.json()) {
    PrintFleetJson(out, rows, cli.flags().GetBool("gaps"));
    return kExitFound;
  }
  std::array<int64_t, kVerdictCount> verdicts{};
  std::array<int64_t, 6> states{};
  std::vector<const Row*> lists[6];
  for (const Row& r : rows) {
    for (int v = 0; v < kVerdictCount; ++v) verdicts[v] += r.a.verdicts[v];
    ++states[static_cast<int>(r.a.state)];
    lists[static_cast<int>(r.a.state)].push_back(&r);
  }
  std::fprintf(out, "%zu devices, %s .. %s\n", rows.size(),
               range.since_us == INT64_MIN ? "start" : cli.TableTime(range.since_us).c_str(),
               cli.TableTime(cli.now_us()).c_str());
  std::fprintf(out, "verdicts: %s\n", VerdictCounts(verdicts).c_str());
  std::fprintf(out, "states:  ");
  for (int st = 0; st < 6; ++st) {
    std::fprintf(out, " %s %lld", std::string(ToString(static_cast<DeviceState>(st))).c_str(),
                 static_cast<long long>(states[st]));
  }
  std::fprintf(out, "\n");
  auto by = [](auto key) {
    return [key](const Row* a, const Row* b) { return key(*a) > key(*b); };
  };
  auto& hammering = lists[static_cast<int>(DeviceState::kHammering)];
  std::sort(hammering.begin(), hammering.end(),
            by([](const Row& r) { return r.a.verdicts[static_cast<int>(Verdict::kEarly)]; }));
  auto& deep = lists[static_cast<int>(DeviceState::kDeepBackoff)];
  std::sort(deep.begin(), deep.end(), by([](const Row& r) { return r.a.next_due_us.value_or(0); }));
  auto& overdue = lists[static_cast<int>(DeviceState::kOverdue)];
  std::sort(overdue.begin(), overdue.end(), by([](const Row& r) { return r.a.overdue_us; }));
  auto& gave_up = lists[static_cast<int>(DeviceState::kGaveUp)];
  std::sort(gave_up.begin(), gave_up.end(), by([](const Row& r) { return r.a.last_attempt_us; }));
  int64_t limit = cli.flags().GetInt("limit");
  PrintList(cli, "Hammering (retrying faster than their schedule)", hammering, limit, true);
  PrintList(cli, "Deep in back-off (force a resync once the server is fixed)", deep, limit, true);
  PrintList(cli, "Overdue (an expected attempt never came: offline or silent)", overdue, limit,
            true);
  PrintList(cli, "Gave up (retry delay 0 after a failure)", gave_up, limit, false);
  return kExitFound;
}

}  // namespace

int RunSchedule(std::span<const std::string_view> args, CommandIo& io) {
  using namespace schedule_cli;
  Cli cli(kHelp, kFlagDb | kFlagClickHouse | kFlagJson | kFlagRange | kFlagUtc,
          {kFleet, kState, kGaps, kLimit}, io, kAnalysisFlags);
  if (std::optional<int> code = cli.Parse(args, 0, 1)) return *code;
  bool fleet = cli.flags().GetBool("fleet");
  if (fleet == (cli.positional().size() == 1)) {
    return cli.Fail("give either a device (MAC or serial) or --fleet");
  }
  Result<AnalysisOptions> options = OptionsFromFlags(cli.flags());
  if (!options.ok()) return cli.Fail(options.status());
  Result<ScheduleConfigSet> configs = LoadConfig(cli.flags().GetString("config"));
  if (!configs.ok()) return cli.Fail(configs.status());
  TimeRange range = cli.range();
  if (!cli.flags().IsSet("since")) {
    range.since_us = cli.now_us() - (fleet ? 2 : 7) * 86400 * kMicrosPerSecond;
  }
  range.until_us = std::min(range.until_us, cli.now_us() + 1);
  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());
  return fleet ? RunFleetSchedule(cli, **store, *configs, range, *options)
               : RunDevice(cli, **store, *configs, range, *options);
}

}  // namespace resyncwatch
