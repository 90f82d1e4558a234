// The config file as the operator meets it: one file with templates, alerts and schedule
// starts the real resyncwatchd, and the daemon and every CLI command that reads --config
// refuse a misspelt section with the same line, before anything is created on disk.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e_programs.h"
#include "harness.h"

using namespace resyncwatch::testing;

namespace {

struct Outcome {
  int code = -1;
  std::string err;
};

// Runs argv with stdin from /dev/null; its stderr is returned.
Outcome RunWithStderr(const TempDir& dir, const std::vector<std::string>& argv) {
  std::string command = "exec";
  for (const std::string& a : argv) command += " '" + a + "'";
  command += " </dev/null >/dev/null 2>'" + dir.Join("stderr") + "'";
  Outcome o;
  o.code = RunProgram({"/bin/sh", "-c", command});
  o.err = ReadFileText(dir.Join("stderr"));
  return o;
}

const char* kFullConfig = R"({
  "log_level": "info",
  "templates": {"resync_failure": ["RSYNC FAIL $MAU err=$ERR", "default"]},
  "alerts": {"rules": {"failures": {"window": "5m", "min_failures": 10}},
             "sinks": [{"type": "log"}]},
  "schedule": {"defaults": {"Resync_Periodic": "10800+600"},
               "models": {"SPA112": {"Resync_Error_Retry_Delay": 3600}}}
})";

}  // namespace

TEST_CASE("one config file with templates, alerts and schedule sections starts resyncwatchd") {
  TempDir dir;
  WriteFileText(dir.Join("rw.json"), kFullConfig);
  Daemon daemon(
      kDaemon,
      {"--config", dir.Join("rw.json"), "--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"},
      dir.path());
  REQUIRE(daemon.WaitListening());
  CHECK(daemon.Stop() == 0);
  // The CLI commands that read --config take the same file.
  std::string out;
  CHECK(RunCapture(
            {kCli, "schedule", "--fleet", "--db", dir.Join("db"), "--config", dir.Join("rw.json")},
            &out) != 2);
}

TEST_CASE("a misspelt section is refused by the daemon and the CLI with the same line") {
  TempDir dir;
  WriteFileText(dir.Join("typo.json"), R"({"templats": {"resync_failure": []}, "alerts": {}})");
  const std::string expected = "config " + dir.Join("typo.json") +
                               ": \"templats\": unknown key (did you mean \"templates\"?";
  Outcome daemon = RunWithStderr(dir, {kDaemon, "--config", dir.Join("typo.json"), "--db",
                                       dir.Join("db"), "--listen", "udp://127.0.0.1:0"});
  CHECK(daemon.code == 2);
  CHECK(daemon.err.find("resyncwatchd: " + expected) == 0);
  CHECK(std::count(daemon.err.begin(), daemon.err.end(), '\n') == 1);
  CHECK_FALSE(std::filesystem::exists(dir.Join("db")));  // nothing created

  for (std::vector<std::string> command :
       {std::vector<std::string>{"parse"},
        {"import", "--db", dir.Join("db"), dir.Join("typo.json")},
        {"schedule", "--fleet", "--db", dir.Join("db")},
        {"overdue", "--db", dir.Join("db")},
        {"recovery", "--db", dir.Join("db")}}) {
    std::vector<std::string> argv = {kCli};
    argv.insert(argv.end(), command.begin(), command.end());
    argv.insert(argv.end(), {"--config", dir.Join("typo.json")});
    Outcome cli = RunWithStderr(dir, argv);
    INFO(command[0] << ": " << cli.err);
    CHECK(cli.code == 2);
    CHECK(cli.err.find("resyncwatch " + command[0] + ": " + expected) == 0);
    CHECK(std::count(cli.err.begin(), cli.err.end(), '\n') == 1);
  }
  CHECK_FALSE(std::filesystem::exists(dir.Join("db")));
}

TEST_CASE("a bad alert rule or template stops the daemon before it creates the store or socket") {
  TempDir dir;
  WriteFileText(dir.Join("alert.json"), R"({"alerts": {"rules": {"failures": {"windw": "5m"}}}})");
  WriteFileText(dir.Join("template.json"), R"({"templates": {"resync_failure": ["$NOPE x"]}})");
  WriteFileText(dir.Join("syntax.json"), "{\n  \"retention\": \"30d\"\n  \"alerts\": {}\n}\n");
  for (auto [file, needle] : {std::pair<std::string, std::string>{"alert.json",
                                                                  "alerts.rules.failures.windw: "
                                                                  "unknown key"},
                              {"template.json", "templates: "},
                              {"syntax.json", "not valid JSON: line 3, column 3: "}}) {
    Outcome o = RunWithStderr(dir, {kDaemon, "--config", dir.Join(file), "--db", dir.Join("db"),
                                    "--listen", "udp://127.0.0.1:0"});
    INFO(o.err);
    CHECK(o.code == 2);
    CHECK(o.err.find("resyncwatchd: config " + dir.Join(file) + ": " + needle) == 0);
    CHECK_FALSE(std::filesystem::exists(dir.Join("db")));
  }
}
