// `resyncwatch stats`: the collector's counters as persisted in the store.
#include <map>
#include <string>

#include "common/counter_names.h"
#include "common/json_writer.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/table.h"

namespace resyncwatch {
namespace {

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
  // The counting contract: these are always present, 0 when never counted.
  for (const CounterInfo& info : AllCounters()) {
    if (info.always_listed) all.try_emplace(std::string(info.name), 0);
  }

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
