// Options, and the schema: printed for a DBA, created by the exporter on connect.
#include <cctype>

#include "clickhouse/clickhouse.h"
#include "clickhouse/http.h"
#include "clickhouse/rows.h"

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

}  // namespace resyncwatch
