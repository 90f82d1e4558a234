// Options, and the schema: printed for a DBA, created by the exporter on connect.
#include <cctype>
#include <charconv>
#include <utility>
#include <vector>

#include "clickhouse/clickhouse.h"
#include "clickhouse/http.h"
#include "clickhouse/rows.h"
#include "common/time_format.h"

namespace resyncwatch {

Status ValidateClickHouseOptions(const ClickHouseOptions& o) {
  std::string_view url = o.url;
  const bool http = url.starts_with("http://"), https = url.starts_with("https://");
  if (!http && !https) {
    return Status::InvalidArgument("--clickhouse: '" + o.url +
                                   "' is not an http:// or https:// URL (http://ch1:8123)");
  }
  url.remove_prefix(http ? 7 : 8);
  if (url.empty() || url.find_first_of("/?#@ ") != std::string_view::npos) {
    return Status::InvalidArgument(
        "--clickhouse: '" + o.url +
        "' must be scheme://host[:port] only (credentials belong in the config file)");
  }
  bool ident = !o.database.empty() && !std::isdigit(static_cast<unsigned char>(o.database[0]));
  for (char c : o.database)
    ident = ident && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ident) {
    return Status::InvalidArgument("--clickhouse-database: '" + o.database +
                                   "' is not a plain name (letters, digits, _)");
  }
  return Status::Ok();
}

std::string ClickHouseSchemaSql(const std::string& database) {
  return clickhouse::SchemaStatements(database);
}

Status CreateClickHouseSchema(const ClickHouseOptions& options) {
  // The database may not exist yet: the statements name it in full, run from `default`.
  ClickHouseOptions server = options;
  server.database = "default";
  clickhouse::Http http(server);
  std::string all = ClickHouseSchemaSql(options.database);
  size_t start = 0;
  for (size_t semi; (semi = all.find(';', start)) != std::string::npos; start = semi + 1) {
    std::string statement = all.substr(start, semi - start);
    if (statement.find_first_not_of(" \n") == std::string::npos) continue;
    if (Status s = http.Execute(statement, ""); !s.ok()) return s;
  }
  return Status::Ok();
}

namespace {

// The end (exclusive, micros) of the UTC day a partition id names (YYYYMMDD, as the
// tables' PARTITION BY toYYYYMMDD gives it); nullopt for any other id.
std::optional<int64_t> PartitionDayEnd(std::string_view id) {
  int ymd = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), ymd);
  if (ec != std::errc() || end != id.data() + id.size() || id.size() != 8) return std::nullopt;
  const int year = ymd / 10000, month = ymd / 100 % 100, day = ymd % 100;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  return (DaysFromCivil(year, month, day) + 1) * int64_t{86'400'000'000};
}

}  // namespace

Status DropExpiredClickHousePartitions(const ClickHouseOptions& options, int64_t cutoff_us,
                                       int* dropped) {
  *dropped = 0;
  clickhouse::Http http(options);
  std::vector<std::pair<std::string, std::string>> expired;  // table, partition
  Status s =
      http.Query("SELECT DISTINCT table, partition FROM system.parts WHERE active AND database = " +
                     clickhouse::SqlQuote(options.database) +
                     " AND table IN ('events', 'raw') FORMAT TabSeparated",
                 [&](std::string_view line) {
                   const size_t tab = line.find('\t');
                   if (tab == std::string_view::npos) return true;
                   std::string_view table = line.substr(0, tab), partition = line.substr(tab + 1);
                   std::optional<int64_t> day_end = PartitionDayEnd(partition);
                   if (day_end && *day_end <= cutoff_us) expired.emplace_back(table, partition);
                   return true;
                 });
  if (!s.ok()) return s;
  for (const auto& [table, partition] : expired) {
    // Another collector may have dropped it meanwhile: dropping a partition that is gone
    // is no error.
    s = http.Execute(
        "ALTER TABLE " + options.database + "." + table + " DROP PARTITION " + partition, "");
    if (!s.ok()) return s;
    ++*dropped;
  }
  return Status::Ok();
}

}  // namespace resyncwatch
