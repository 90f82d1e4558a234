// `resyncwatch clickhouse-schema`: the ClickHouse statements the collectors' export runs on
// first connect, for a DBA who creates the database and tables by hand.
#include <cstdio>
#include <string>

#include "clickhouse/clickhouse.h"
#include "query/cli_common.h"
#include "query/command.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "clickhouse-schema",
    "resyncwatch clickhouse-schema [--clickhouse-database NAME]",
    "Prints the CREATE statements of the ClickHouse database and tables that resyncwatchd\n"
    "--clickhouse exports to (it runs the same ones, IF NOT EXISTS, on first connect).\n"
    "docs/clickhouse.md has the Distributed form for a cluster.",
    "  resyncwatch clickhouse-schema | clickhouse-client --multiquery\n"
    "  resyncwatch clickhouse-schema --clickhouse-database noc\n",
};

constexpr FlagSpec kDatabase = {"clickhouse-database", FlagType::kString, "resyncwatch", "NAME",
                                "the database to create the tables in"};

}  // namespace

int RunClickHouseSchema(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, 0, {kDatabase}, io);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  ClickHouseOptions options;
  options.url = "http://localhost:8123";  // only the database name is checked here
  options.database = cli.flags().GetString("clickhouse-database");
  if (Status s = ValidateClickHouseOptions(options); !s.ok()) return cli.Fail(s);
  const std::string sql = ClickHouseSchemaSql(options.database);
  std::fwrite(sql.data(), 1, sql.size(), io.out);
  return kExitFound;
}

}  // namespace resyncwatch
