// The query commands over a store filled the way an operator fills one from archives:
// `resyncwatch import` of an rsyslog file (including the relay's split-MAC form).
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {

TEST_CASE("an imported rsyslog archive is found by history, grep, fleet and devices") {
  TempDir dir;
  std::string db = dir.path() + "/store";
  CliRun import = RunCli({"import", "--db", db, RESYNCWATCH_QUERY_DATA "/phones.log"});
  REQUIRE(import.exit_code == 0);

  CliRun history = RunCli({"history", "00-0E-08-64-23-F2", "--json", "--db", db});
  REQUIRE(history.exit_code == 0);
  auto lines = history.OutLines();
  REQUIRE(lines.size() == 2);
  simdjson::dom::parser parser;
  simdjson::dom::element request = parser.parse(lines[0]);
  CHECK(std::string_view(request["kind"]) == "resync_request");
  CHECK(std::string_view(request["model"]) == "CP-6841-3PCC");
  CHECK(std::string_view(request["outcome"]) == "failure");
  CHECK(int64_t(request["duration_ms"]) == 2500);
  CHECK(std::string_view(request["source"]).rfind("file:", 0) == 0);

  CliRun grep = RunCli({"grep", "Resync failed: (corrupt|http_get)", "--db", db, "--utc"});
  REQUIRE(grep.exit_code == 0);
  CHECK(grep.OutLines().size() == 2);

  CliRun fleet = RunCli({"fleet", "--json", "--db", db});
  REQUIRE(fleet.exit_code == 0);
  simdjson::dom::element f = parser.parse(fleet.out);
  CHECK(int64_t(f["devices"]) == 3);
  CHECK(int64_t(f["attempts"]) == 5);
  CHECK(int64_t(f["failures"]) == 2);
  CHECK(int64_t(f["devices_last_failed"]) == 2);

  CliRun failing = RunCli({"devices", "--failing", "--csv", "--db", db});
  REQUIRE(failing.exit_code == 0);
  CHECK(failing.OutLines().size() == 3);
}

}  // namespace resyncwatch::testing
