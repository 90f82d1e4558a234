// The one config loader: JSON syntax errors say where, top-level keys are sections or
// resyncwatchd options and nothing else, and each section is checked by its owner.
#include "config/config_file.h"

#include <catch2/catch.hpp>

using namespace resyncwatch;

namespace {

std::string ErrorOf(const std::string& text) {
  Result<ConfigFile> file = ConfigFile::FromText("/etc/rw.json", text);
  if (!file.ok()) return file.status().message();
  FlagSet options(DaemonOptionSpecs());
  if (Status s = file->ApplyOptions(&options); !s.ok()) return s.message();
  if (Status s = file->ValidateSections(); !s.ok()) return s.message();
  return "";
}

}  // namespace

TEST_CASE("a config with templates, alerts, schedule and daemon options is accepted") {
  CHECK(ErrorOf(R"({
    "listen": ["udp://0.0.0.0:514"], "retention": "90d", "queue_size": 1000,
    "templates": {"resync_failure": ["$PN $MAC -- Resync failed: $ERR", "default"]},
    "alerts": {"rules": {"failures": {"window": "5m"}}, "sinks": [{"type": "log"}]},
    "schedule": {"defaults": {"Resync_Periodic": 3600}, "macs": {"000e08abcdef": {}}}})") == "");
  CHECK(ErrorOf("{}") == "");
}

TEST_CASE("a misspelt section is named with the file and the section it resembles") {
  CHECK(ErrorOf(R"({"templats": {}})") ==
        "config /etc/rw.json: \"templats\": unknown key (did you mean \"templates\"? sections: "
        "templates, alerts, schedule; options: resyncwatchd --help)");
  CHECK(ErrorOf(R"({"alert": {}})").find("did you mean \"alerts\"?") != std::string::npos);
  CHECK(ErrorOf(R"({"retension": "30d"})").find("did you mean \"retention\"?") !=
        std::string::npos);
  // Nothing close: no guess.
  CHECK(ErrorOf(R"({"colour": "blue"})") ==
        "config /etc/rw.json: \"colour\": unknown key (sections: templates, alerts, schedule; "
        "options: resyncwatchd --help)");
  // Command-line only options are not keys.
  CHECK(ErrorOf(R"({"config": "/etc/other.json"})").find("\"config\": unknown key") !=
        std::string::npos);
  CHECK(ErrorOf(R"({"schedule": []})") == "config /etc/rw.json: \"schedule\": must be an object");
}

TEST_CASE("unknown keys inside a section are named by their dotted path and the file") {
  CHECK(ErrorOf(R"({"alerts": {"rules": {"failures": {"windw": "5m"}}}})") ==
        "config /etc/rw.json: alerts.rules.failures.windw: unknown key (expected enabled, window, "
        "min_failures, group_by)");
  CHECK(ErrorOf(R"({"templates": {"resync_failre": []}})")
            .find("config /etc/rw.json: templates.resync_failre: unknown key (expected "
                  "resync_request") == 0);
  CHECK(ErrorOf(R"({"schedule": {"defaults": {"Resync_Periodc": 3600}}})")
            .find("config /etc/rw.json: schedule.defaults.Resync_Periodc: unknown key") == 0);
  CHECK(ErrorOf(R"({"schedule": {"default": {}}})")
            .find("config /etc/rw.json: schedule.default: unknown key") == 0);
}

TEST_CASE("a config key or value with a line break is shown on one line") {
  // The config fuzzer's find: an escaped line break in a key made a two-line message.
  CHECK(ErrorOf("{\"retentio\\nn\": \"9\"}").find("\"retentio\\nn\": unknown key") !=
        std::string::npos);
  CHECK(ErrorOf("{\"retention\": \"9\\n0\"}").find("'9\\n0' is not a duration") !=
        std::string::npos);
  CHECK(ErrorOf("{\"retentio\\nn\": \"9\"}").find('\n') == std::string::npos);
  // The sections' own parsers too (the fuzzer's fourth find: a schedule key).
  const std::string schedule =
      ErrorOf("{\"schedule\": {\"models\": {\"CP-7841-3PCC\": {\"Resync_R\\ndom_Delay\": 2}}}}");
  CHECK(schedule.find("CP-7841-3PCC.Resync_R\\ndom_Delay: unknown key") != std::string::npos);
  const std::string templates =
      ErrorOf("{\"templates\": {\"resync_failure\": [\"$PN $MAC\\n -- Resync failed: $BOGUS\"]}}");
  CHECK(templates.find("'$PN $MAC\\n -- Resync failed: $BOGUS': unknown macro") !=
        std::string::npos);
  const std::string alerts = ErrorOf("{\"alerts\": {\"rules\": {\"fail\\nures\": {}}}}");
  CHECK(alerts.find("alerts.rules.fail\\nures: unknown key") != std::string::npos);
  for (const std::string* message : {&schedule, &templates, &alerts}) {
    CHECK(message->find('\n') == std::string::npos);
  }
}

TEST_CASE("a JSON syntax error gives its line and column") {
  CHECK(ErrorOf("{\n  \"retention\": \"30d\"\n  \"alerts\": {}\n}\n") ==
        "config /etc/rw.json: not valid JSON: line 3, column 3: Missing a comma or '}' after an "
        "object member.");
  CHECK(ErrorOf("{\"alerts\": {\"rules\": {,}}}").find("line 1, column 23: ") != std::string::npos);
  CHECK(ErrorOf("").find("not valid JSON: line 1, column 1: The document is empty.") !=
        std::string::npos);
  CHECK(ErrorOf("{} {}").find("line 1, column 4: The document root must not be followed") !=
        std::string::npos);
  CHECK(ErrorOf("[1, 2]") == "config /etc/rw.json: the top level must be a JSON object");
  CHECK(JsonSyntaxError("{\"a\": [1, 2,]}") != "");
  CHECK(JsonSyntaxError("{\"a\": \"\xff\"}").find("line 1, column") == 0);
  CHECK(JsonSyntaxError(R"({"a": [1, {"b": null}]})") == "");
  // A NUL is an error where it stands, unless an error comes before it.
  CHECK(JsonSyntaxError(std::string_view("{\"a\": 1}\0 x", 11)).find("line 1, column 9: A NUL") ==
        0);
  CHECK(JsonSyntaxError(std::string_view("{\"a\": \0}", 8)).find("line 1, column 7: A NUL") == 0);
  CHECK(JsonSyntaxError(std::string_view("{\"a\" 1,\n \"b\": 2}\0", 17))
            .find("line 1, column 6: Missing a colon") == 0);
  CHECK(
      JsonSyntaxError("{\"schedule\": {\"defaults\": {\"Resync_Periodic\": \"3600\"\n  \"x\": 1}}}")
          .find("line 2, column 3: Missing a comma") == 0);
  // A UTF-8 sequence cut by the end of the text.
  CHECK(JsonSyntaxError("{\"a\": \"\xf0").find("line 1, column 8: Invalid encoding") == 0);
  CHECK(JsonSyntaxError("{\"a\": \"\xe5").find("line 1, column 8: Invalid encoding") == 0);
  // Nesting deeper than simdjson parses is refused with its place, not by running the
  // checker out of stack.
  const std::string deep = "{\"a\":" + std::string(200000, '[');
  CHECK(JsonSyntaxError(deep).find("line 1, column 1030: nested deeper than 1024 levels") == 0);
  CHECK(ErrorOf(deep).find("nested deeper than 1024 levels") != std::string::npos);
}

TEST_CASE("option keys take '_' for '-' and their values are checked like flags") {
  CHECK(ErrorOf(R"({"queue-size": 10, "queue_size": 20})") == "");
  CHECK(ErrorOf(R"({"retention": "forever"})") ==
        "config /etc/rw.json: \"retention\": 'forever' is not a duration (30s, 15m, 2h, 7d)");
  CHECK(ErrorOf(R"({"listen": 5})") ==
        "config /etc/rw.json: \"listen\": must be an array of strings");
  CHECK(ErrorOf(R"({"rcvbuf": {}})") ==
        "config /etc/rw.json: \"rcvbuf\": must be a string, a number or a boolean");
}

TEST_CASE("a flag on the command line wins over the file, a list replaces the file's") {
  Result<ConfigFile> file = ConfigFile::FromText(
      "f.json", R"({"queue_size": 1000, "listen": ["tcp://127.0.0.1:6514"], "rcvbuf": "8MiB"})");
  REQUIRE(file.ok());
  FlagSet flags(DaemonOptionSpecs());
  std::vector<std::string_view> args = {"--queue-size", "77", "--listen", "udp://127.0.0.1:0"};
  REQUIRE(flags.Parse(args).ok());
  REQUIRE(file->ApplyOptions(&flags).ok());
  CHECK(flags.GetInt("queue-size") == 77);
  CHECK(flags.GetBytes("rcvbuf") == 8LL << 20);
  CHECK(flags.GetList("listen") == std::vector<std::string>{"udp://127.0.0.1:0"});
}

TEST_CASE("a missing file is one line naming it") {
  Result<ConfigFile> file = ConfigFile::Load("/nonexistent/rw.json");
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().message().find("config /nonexistent/rw.json: cannot open") == 0);
}

TEST_CASE("the key lists come from the tables the sections are read with, defaults included") {
  const std::string md = ConfigSectionsMarkdown();
  for (const ConfigSection& section : ConfigSections()) {
    CHECK(md.find("`" + std::string(section.name) + "`: ") != std::string::npos);
    REQUIRE_FALSE(section.keys().empty());
    for (const ConfigKeyDoc& k : section.keys()) {
      CHECK(k.key.rfind(std::string(section.name) + ".", 0) == 0);
      CHECK_FALSE(k.help.empty());
    }
  }
  CHECK(md.find("| `alerts.rules.failures.window` | `DUR` | `5m` |") != std::string::npos);
  CHECK(md.find("| `alerts.rules.overdue.min_percent` | `PERCENT` | `5` |") != std::string::npos);
  CHECK(md.find("| `alerts.rules.failures.group_by` | `[GROUP...]` | "
                "`[fleet, server, error, model]` |") != std::string::npos);
  CHECK(md.find("| `schedule.defaults.Resync_Periodic` | `DELAYS` | `3600` |") !=
        std::string::npos);
  CHECK(md.find("| `templates.resync_failure` | `[TEMPLATE...]` | "
                "`[\"$PN $MAC -- Resync failed: $ERR\"]` |") != std::string::npos);
  // Each documented rule key is one the loader takes.
  for (const ConfigKeyDoc& k : ConfigSections()[1].keys()) {
    if (k.key.rfind("alerts.rules.", 0) != 0 || k.key.find(".enabled") == std::string::npos) {
      continue;
    }
    std::string rule = k.key.substr(13, k.key.size() - 13 - 8);
    INFO(rule);
    CHECK(ErrorOf(R"({"alerts": {"rules": {")" + rule + R"(": {"enabled": false}}}})") == "");
  }
}
