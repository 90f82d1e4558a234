// The `resyncwatch` front answers history itself, through the collector or from the store,
// and hands every other run to resyncwatch-full: what users see must not depend on which ran.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "query_socket/query_socket.h"
#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {
namespace {

// A copy of the front alone in its own directory, without resyncwatch-full beside it.
std::string LoneFront(const TempDir& dir) {
  std::string path = dir.path() + "/resyncwatch";
  std::filesystem::copy_file(RESYNCWATCH_CLI, path);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

void CheckSameRun(const CliRun& front, const CliRun& full) {
  CHECK(front.exit_code == full.exit_code);
  CHECK(front.out == full.out);
  CHECK(front.err == full.err);
}

}  // namespace

TEST_CASE("the front and resyncwatch-full print the same for every command") {
  TempDir dir;
  WriteFixtureFleet(dir.path());
  const std::string db = dir.path();
  const std::vector<std::vector<std::string>> runs = {
      {},
      {"--help"},
      {"nosuchcommand"},
      {"history", "--help"},
      {"history"},
      {"history", "00:12:34:ab:45:de", "--bogus"},
      {"history", "00:12:34:ab:45:de", "--kind", "nosuchkind", "--db", db},
      {"history", "FCH2251A1B2", "--json", "--db", db},
      {"history", "00:12:34:ab:45:de", "--utc", "--db", db},
      {"history", "00:12:34:ab:45:de", "--direct", "--csv", "--db", db},
      {"history", "00:0e:08:00:00:99", "--db", db},
      {"history", "NOSUCHSERIAL", "--db", db},
      {"history", "00:12:34:ab:45:de", "--db", db + "/missing"},
      {"fleet", "--json", "--db", db},
      {"devices", "--db", db},
      {"grep", "timed out", "--db", db},
      {"stats", "--json", "--db", db},
  };
  for (const auto& args : runs) {
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    INFO(shown);
    CheckSameRun(RunCli(args), RunProgram(RESYNCWATCH_FULL_CLI, args));
  }
}

TEST_CASE("the front answers history through the collector without resyncwatch-full") {
  TempDir dir, bin;
  WriteFixtureFleet(dir.path());
  auto store = Store::Open(dir.path(), {});
  REQUIRE(store.ok());
  auto server = QueryServer::Start(**store, QuerySocketPath(dir.path()));
  REQUIRE(server.ok());
  const std::string front = LoneFront(bin);
  for (const char* device : {"FCH2251A1B2", "00:12:34:ab:45:de", "00:0e:08:00:00:99"}) {
    INFO(device);
    std::vector<std::string> args = {"history", device, "--json", "--db", dir.path()};
    CliRun alone = RunProgram(front, args);
    CheckSameRun(alone, RunProgram(RESYNCWATCH_FULL_CLI, args));
  }
  CHECK((*server)->requests_served() >= 6);
}

TEST_CASE("the front reads history from a store no collector serves without resyncwatch-full") {
  TempDir dir, bin;
  WriteFixtureFleet(dir.path());
  const std::string front = LoneFront(bin);
  for (const char* device : {"FCH2251A1B2", "00:12:34:ab:45:de", "00:0e:08:00:00:99"}) {
    INFO(device);
    for (const char* format : {"--json", "--csv", "--utc"}) {
      std::vector<std::string> args = {"history", device, format, "--db", dir.path()};
      CliRun alone = RunProgram(front, args);
      CheckSameRun(alone, RunProgram(RESYNCWATCH_FULL_CLI, args));
    }
  }
  CliRun known = RunProgram(front, {"history", "00:12:34:ab:45:de", "--db", dir.path()});
  CHECK(known.exit_code == 0);
  CHECK(known.out.rfind("TIME ", 0) == 0);
  CHECK(std::count(known.out.begin(), known.out.end(), '\n') >= 2);  // a header and events
}

TEST_CASE("the front loads no shared library but the C library") {
  // Each one a one-shot run loads and relocates costs it about 0.1 ms (docs/performance.md).
  CliRun elf = RunProgram("/usr/bin/readelf", {"--dynamic", "--wide", RESYNCWATCH_CLI});
  REQUIRE(elf.exit_code == 0);
  std::vector<std::string> needed;
  std::istringstream lines(elf.out);
  for (std::string line; std::getline(lines, line);) {
    const size_t open = line.find("(NEEDED)");
    const size_t lib = line.find('[');
    if (open != std::string::npos && lib != std::string::npos) {
      needed.push_back(line.substr(lib + 1, line.find(']', lib) - lib - 1));
    }
  }
  INFO(elf.out);
  CHECK(!needed.empty());
  for (const std::string& lib : needed) {
    INFO(lib);
    CHECK((lib == "libc.so.6" || lib == "libm.so.6" || lib == "ld-linux-x86-64.so.2"));
  }
}

TEST_CASE("without resyncwatch-full beside it the front says so in one line") {
  TempDir dir, bin;
  WriteFixtureFleet(dir.path());
  const std::string front = LoneFront(bin);
  const std::string expected =
      "resyncwatch: cannot run " + bin.path() + "/resyncwatch-full: No such file or directory\n";
  // Every command but history, and history from ClickHouse, is the full CLI's.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"fleet", "--db", dir.path()},
        {"history", "00:12:34:ab:45:de", "--clickhouse", "http://127.0.0.1:1"}}) {
    CliRun run = RunProgram(front, args);
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(run.err == expected);
  }
}

}  // namespace resyncwatch::testing
