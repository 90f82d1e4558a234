// `resyncwatch stats`: the collector's counters as persisted in the store.
#include <map>
#include <string>

#include "common/json_writer.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/table.h"

namespace resyncwatch {
namespace {

// The counting contract (issue 3): always present in --json, 0 when never counted.
constexpr std::string_view kRequiredCounters[] = {
    "received_datagrams", "stored_events", "stored_raw",
    "kernel_drops",       "queue_drops",   "store_errors",
};

constexpr CommandHelp kHelp = {
    "stats",
    "resyncwatch stats [--db DIR] [--json]",
    "Prints the collector's counters (totals since the store was created): datagrams and\n"
    "bytes received, events stored by kind, raw datagrams, kernel and queue drops, store\n"
    "errors.",
    "  resyncwatch stats                      # a table of every counter\n"
    "  resyncwatch stats --json | jq .queue_drops\n"
    "  resyncwatch stats --db ./var/resyncwatch\n",
};

}  // namespace

int RunStats(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagJson, {}, io);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());
  Result<std::map<std::string, int64_t>> counters = (*store)->Counters();
  if (!counters.ok()) return cli.Fail("cannot read counters: " + counters.status().message());
  std::map<std::string, int64_t> all = std::move(*counters);
  for (std::string_view name : kRequiredCounters) all.try_emplace(std::string(name), 0);

  if (cli.json()) {
    JsonWriter w;
    w.Begin();
    for (const auto& [name, value] : all) w.Int(name, value);
    w.End();
    std::fprintf(io.out, "%s\n", w.str().c_str());
    return kExitFound;
  }
  Table table;
  table.AddColumn("COUNTER");
  table.AddColumn("VALUE", Table::Align::kRight);
  for (const auto& [name, value] : all) {
    bool bad = value != 0 && (name.ends_with("drops") || name.ends_with("errors"));
    table.AddRow({{name, {}}, {std::to_string(value), bad ? ansi::kRed : std::string_view()}});
  }
  table.Print(io.out, io.color);
  return kExitFound;
}

}  // namespace resyncwatch
