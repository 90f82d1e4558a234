// The store is private: a store created under a lax umask grants other users nothing, and
// a user who may not read it is told "permission denied", not that there is no store.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

const std::string kSetpriv = "/usr/bin/setpriv";

// Runs program as nobody:nogroup with no supplementary groups.
CliRun RunAsNobody(const std::string& program, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"--reuid=65534", "--regid=65534", "--clear-groups", program};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(kSetpriv, argv);
}

mode_t ModeOf(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode;
}

}  // namespace

TEST_CASE("a store created under umask 022 grants nothing to other users") {
  TempDir tmp;
  const std::string db = tmp.path() + "/db";
  const mode_t old = ::umask(022);
  WriteFixtureFleet(db);
  ::umask(old);
  CHECK((ModeOf(db) & 0007) == 0);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(db)) {
    INFO(entry.path().string());
    CHECK((ModeOf(entry.path()) & 0007) == 0);
    CHECK((ModeOf(entry.path()) & S_IWGRP) == 0);
    ++files;
  }
  CHECK(files > 3);
}

TEST_CASE("reading a private store as another user says permission denied, not no store") {
  if (::geteuid() != 0 || ::access(kSetpriv.c_str(), X_OK) != 0) {
    WARN("skipped: needs root and setpriv to run the CLI as nobody");
    return;
  }
  TempDir tmp;
  // Only the store's own modes may keep nobody out: its parent is open to everyone.
  REQUIRE(::chmod(tmp.path().c_str(), 0755) == 0);
  const std::string db = tmp.path() + "/db";
  const mode_t old = ::umask(022);
  WriteFixtureFleet(db);
  ::umask(old);

  for (const std::string& program :
       {std::string(RESYNCWATCH_FULL_CLI), std::string(RESYNCWATCH_CLI)}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"history", "00:12:34:ab:45:de", "--db", db},
          std::vector<std::string>{"stats", "--db", db},
          std::vector<std::string>{"grep", "http_get", "--db", db}}) {
      CliRun run = RunAsNobody(program, args);
      INFO(program << " " << args[0] << ": exit " << run.exit_code << ", stderr " << run.err);
      CHECK(run.exit_code == 2);
      CHECK(run.out.empty());
      CHECK(run.err.find("permission denied") != std::string::npos);
      CHECK(run.err.find("no store") == std::string::npos);
    }
  }
  // Nor can nobody read a file of it directly.
  CliRun cat = RunAsNobody("/bin/cat", {db + "/CURRENT"});
  CHECK(cat.exit_code != 0);
  CHECK(cat.out.empty());
}
