// `resyncwatch overdue`: phones whose next expected resync is past due by more than the
// grace: offline, unplugged, or no longer reaching the syslog server.
#include <algorithm>
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
    "overdue",
    "resyncwatch overdue [--grace DUR] [options]",
    "Lists the phones whose next expected resync attempt (from their schedule and their last\n"
    "outcomes) is past due by more than --grace, most overdue first. A phone silent for the\n"
    "whole range is judged from the last outcome in its device summary. Phones with\n"
    "retries disabled after a failure are not overdue (see `schedule --fleet`, gave_up).\n"
    "Default range: the last 2 days.",
    "  resyncwatch overdue                       # past due by more than 15 minutes\n"
    "  resyncwatch overdue --grace 2h --json     # JSON lines: mac, next_due, overdue_s\n"
    "  resyncwatch overdue --config /etc/resyncwatch/resyncwatch.json --since 7d\n",
};

struct Row {
  MacAddress mac;
  std::string model;
  DeviceAnalysis a;
};

}  // namespace

int RunOverdue(std::span<const std::string_view> args, CommandIo& io) {
  using namespace schedule_cli;
  Cli cli(kHelp, kFlagDb | kFlagClickHouse | kFlagJson | kFlagRange | kFlagUtc, {}, io,
          kAnalysisFlags);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  Result<AnalysisOptions> options = OptionsFromFlags(cli.flags());
  if (!options.ok()) return cli.Fail(options.status());
  Result<ScheduleConfigSet> configs = LoadConfig(cli.flags().GetString("config"));
  if (!configs.ok()) return cli.Fail(configs.status());
  TimeRange range = cli.range();
  if (!cli.flags().IsSet("since")) range.since_us = cli.now_us() - 2 * 86400 * kMicrosPerSecond;
  range.until_us = std::min(range.until_us, cli.now_us() + 1);
  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());

  std::vector<Row> rows;
  Status s = AnalyzeFleet(**store, *configs, range, cli.now_us(), *options, [&](FleetDevice& d) {
    if (d.analysis.next_due_us && d.analysis.overdue_us > options->grace_us) {
      std::vector<Gap>().swap(d.analysis.gaps);  // not printed
      rows.push_back({d.mac, std::move(d.model), std::move(d.analysis)});
    }
  });
  if (!s.ok()) return cli.Fail("cannot read events: " + s.message());
  if (rows.empty()) return cli.Nothing("no device is overdue");
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.a.overdue_us != b.a.overdue_us ? a.a.overdue_us > b.a.overdue_us : a.mac < b.mac;
  });
  std::FILE* out = cli.io().out;
  if (cli.json()) {
    JsonWriter w;
    for (const Row& r : rows) {
      w.Begin();
      w.String("mac", FormatMac(r.mac));
      w.String("model", r.model);
      w.String("next_due", FormatIso8601Utc(*r.a.next_due_us));
      w.Double("overdue_s", static_cast<double>(r.a.overdue_us / 1000) / 1000.0);
      w.String("last_attempt", FormatIso8601Utc(r.a.last_attempt_us));
      w.String("last_outcome", ToString(r.a.last_outcome));
      w.Int("backoff_step", r.a.backoff_step);
      w.End();
      std::fprintf(out, "%s\n", w.str().c_str());
    }
    return kExitFound;
  }
  Table t;
  t.AddColumn("MAC");
  t.AddColumn("MODEL");
  t.AddColumn("NEXT DUE");
  t.AddColumn("OVERDUE", Table::Align::kRight);
  t.AddColumn("LAST ATTEMPT");
  t.AddColumn("OUTCOME");
  t.AddColumn("STEP", Table::Align::kRight);
  for (const Row& r : rows) {
    t.AddRow(
        {{FormatMac(r.mac), {}},
         {r.model, {}},
         {cli.TableTime(*r.a.next_due_us), {}},
         {FormatDurationHuman(r.a.overdue_us), cli.io().color ? ansi::kRed : std::string_view()},
         {cli.TableTime(r.a.last_attempt_us), {}},
         {std::string(ToString(r.a.last_outcome)), {}},
         {std::to_string(r.a.backoff_step), {}}});
  }
  t.Print(out, cli.io().color);
  std::fprintf(out, "\n%zu devices overdue by more than %s\n", rows.size(),
               FormatDurationHuman(options->grace_us).c_str());
  return kExitFound;
}

}  // namespace resyncwatch
