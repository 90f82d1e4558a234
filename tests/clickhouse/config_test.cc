// The export's options in resyncwatchd's configuration: the password only from the file.
#include "collector/config.h"

#include <catch2/catch.hpp>
#include <string_view>
#include <vector>

#include "harness.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

TEST_CASE("ClickHouse password comes from the config file and is refused on the command line") {
  TempDir tmp;
  const std::string path = tmp.Join("rw.json");
  WriteFileText(path, R"({"clickhouse": "http://ch1:8123", "clickhouse_user": "noc",
                          "clickhouse_password": "s3cret", "collector_name": "eu-1"})");
  std::vector<std::string_view> args = {"--config", path, "--db", tmp.path()};
  Result<CollectorArgs> parsed = ParseCollectorArgs(args);
  REQUIRE(parsed.ok());
  CHECK(parsed->config.clickhouse_url == "http://ch1:8123");
  CHECK(parsed->config.clickhouse_database == "resyncwatch");
  CHECK(parsed->config.clickhouse_user == "noc");
  CHECK(parsed->config.clickhouse_password == "s3cret");
  CHECK(parsed->config.collector_name == "eu-1");

  std::vector<std::string_view> flag = {"--db", tmp.path(), "--clickhouse-password", "s3cret"};
  Result<CollectorArgs> refused = ParseCollectorArgs(flag);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("config file") != std::string::npos);
  CHECK(refused.status().message().find("s3cret") == std::string::npos);
}
