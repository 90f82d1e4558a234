// Every resyncwatch query command, every output format, bad arguments and empty results,
// run as the real binary against a real store written through Store::Write.
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {
namespace {

// One fixture store shared by the read-only tests of this file, removed at exit.
struct FleetFixture {
  FleetFixture() { WriteFixtureFleet(dir.path()); }
  TempDir dir;
};

const std::string& FleetDir() {
  static FleetFixture fixture;
  return fixture.dir.path();
}

CliRun Run(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.push_back("--db");
  args.push_back(FleetDir());
  return RunCli(args, env);
}

bool Contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

size_t CountLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// An error is one line on stderr and nothing on stdout.
void RequireOneLineError(const CliRun& r) {
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(CountLines(r.err) == 1);
}

}  // namespace

TEST_CASE("history by any MAC spelling or serial prints the same timeline") {
  CliRun base = Run({"history", "00:12:34:ab:45:de"});
  REQUIRE(base.exit_code == 0);
  for (std::string spelling :
       {"001234AB45DE", "00-12-34-AB-45-DE", "0012.34ab.45de", "FCH2251A1B2"}) {
    CliRun r = Run({"history", spelling});
    INFO(spelling);
    CHECK(r.exit_code == 0);
    CHECK(r.out == base.out);
  }
  // Header plus the device's seven events.
  CHECK(CountLines(base.out) == 1 + 7);
  CHECK(Contains(base.out, "http://10.23.45.67:80/cisco/001234ab45de.cfg"));
  CHECK(Contains(base.out, "http_get failed"));
  CHECK(Contains(base.out, "1.200s"));
  CHECK(Contains(base.out, "0.500s"));
}

TEST_CASE("history pairs each profile request with its outcome, with durations, in JSON") {
  CliRun r = Run({"history", "001234ab45de", "--json"});
  REQUIRE(r.exit_code == 0);
  simdjson::dom::parser parser;
  std::vector<std::string> outcomes;
  std::vector<int64_t> durations;
  size_t lines = 0;
  for (const std::string& line : r.OutLines()) {
    ++lines;
    simdjson::dom::element doc = parser.parse(line);
    CHECK(std::string_view(doc["mac"]) == "001234ab45de");
    CHECK(std::string_view(doc["source"]) == "10.1.0.11:514");
    std::string_view received = doc["received_at"];
    CHECK(received.size() == 27);  // 2026-11-25T08:00:00.001500Z
    CHECK(received.back() == 'Z');
    std::string_view kind = doc["kind"];
    if (kind == "resync_request") {
      outcomes.emplace_back(std::string_view(doc["outcome"]));
      durations.push_back(int64_t(doc["duration_ms"]));
    }
  }
  CHECK(lines == 7);
  CHECK(outcomes == std::vector<std::string>{"success", "success", "failure"});
  CHECK(durations == std::vector<int64_t>{1200, 500, 1000});
}

TEST_CASE("history says no outcome for a request nobody answered") {
  CliRun r = Run({"history", "00:0e:08:ab:cd:ef", "--csv"});
  REQUIRE(r.exit_code == 0);
  auto lines = r.OutLines();
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "time,kind,model,url,error,source,outcome,duration_ms,seq,mac,sn,message");
  CHECK(Contains(lines[1],
                 ",resync_request,CP-6841-3PCC,tftp://192.168.1.200/basic.txt,,"
                 "10.1.0.12:514,no outcome,,"));
  CHECK(Contains(lines[2],
                 ",resync_request,CP-6841-3PCC,tftp://192.168.1.200/basic.txt,,"
                 "10.1.0.12:514,success,400,"));
}

TEST_CASE("history filters by kind and time range") {
  CliRun failures = Run({"history", "001234ab45de", "--kind", "resync_failure", "--csv"});
  REQUIRE(failures.exit_code == 0);
  CHECK(CountLines(failures.out) == 2);
  CHECK(Contains(failures.out, "http_get failed"));

  CliRun hour = Run({"history", "001234ab45de", "--since", "2026-11-25T08:30:00Z", "--until",
                     "2026-11-25T09:00:03Z", "--csv"});
  REQUIRE(hour.exit_code == 0);
  // The request at 09:00:00 and its failure at 09:00:01, still paired.
  CHECK(CountLines(hour.out) == 3);
  CHECK(Contains(hour.out, "failure,1000,"));

  // Relative to --now; the table prints the multi-line SIP body on one line.
  CliRun relative =
      Run({"history", "001234ab45de", "--now", "2026-11-25T09:00:30Z", "--since", "1m"});
  REQUIRE(relative.exit_code == 0);
  CHECK(CountLines(relative.out) == 4);
}

TEST_CASE("history prints local time unless --utc") {
  CliRun local = Run({"history", "001234ab45de", "--kind", "resync_failure"}, {"TZ=CET-1"});
  CliRun utc = Run({"history", "001234ab45de", "--kind", "resync_failure", "--utc"}, {"TZ=CET-1"});
  REQUIRE(local.exit_code == 0);
  REQUIRE(utc.exit_code == 0);
  CHECK(Contains(local.out, "2026-11-25 10:00:01.000 "));
  CHECK(Contains(utc.out, "2026-11-25 09:00:01.000Z"));
  CliRun csv = Run({"history", "001234ab45de", "--kind", "resync_failure", "--csv"}, {"TZ=CET-1"});
  CHECK(Contains(csv.out, "2026-11-25T10:00:01.000000+01:00"));
}

TEST_CASE("history of a valid but unseen MAC finds nothing") {
  CliRun r = Run({"history", "00:0e:08:00:00:01"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "no events for 000e08000001\n");
}

TEST_CASE("history of something that is neither a MAC nor a known serial is a usage error") {
  CliRun r = Run({"history", "FCH0000NOPE"});
  RequireOneLineError(r);
  CHECK(Contains(r.err, "FCH0000NOPE"));
  RequireOneLineError(Run({"history"}));
  RequireOneLineError(Run({"history", "001234ab45de", "--kind", "reboot"}));
  RequireOneLineError(Run({"history", "001234ab45de", "--since", "yesterday"}));
  RequireOneLineError(Run({"history", "001234ab45de", "--json", "--csv"}));
  RequireOneLineError(Run({"history", "001234ab45de", "--frobnicate"}));
}

TEST_CASE("a missing store is one clear line and exit 2") {
  TempDir dir;
  CliRun r = RunCli({"fleet", "--db", dir.path() + "/nope"});
  RequireOneLineError(r);
  CHECK(Contains(r.err, dir.path() + "/nope"));
  CliRun env = RunCli({"devices"}, {"RESYNCWATCH_DB=" + dir.path() + "/also-nope"});
  RequireOneLineError(env);
  CHECK(Contains(env.err, "also-nope"));
}

TEST_CASE("grep finds message bodies across the fleet by literal and by regex") {
  CliRun literal = Run({"grep", "http_get failed", "--utc"});
  REQUIRE(literal.exit_code == 0);
  REQUIRE(CountLines(literal.out) == 1);
  CHECK(literal.out ==
        "2026-11-25 09:00:01.000Z  001234ab45de  CP-8851-3PCC 00:12:34:ab:45:de "
        "-- Resync failed: http_get failed\n");

  CliRun regex = Run({"grep", "Successful (resync|upgrade) tftp://"});
  REQUIRE(regex.exit_code == 0);
  CHECK(CountLines(regex.out) == 2);

  CliRun nocase = Run({"grep", "CORRUPT", "--ignore-case"});
  CHECK(nocase.exit_code == 0);
  CHECK(CountLines(nocase.out) == 1);

  CliRun count = Run({"grep", "Requesting", "--count"});
  CHECK(count.out == "6\n");

  // A multi-line SIP body is one match printed on one line.
  CliRun sip = Run({"grep", "CSeq: 102 REGISTER"});
  CHECK(sip.exit_code == 0);
  CHECK(CountLines(sip.out) == 1);
}

TEST_CASE("grep narrows to one device, kind and time range") {
  CliRun one = Run({"grep", "resync", "--mac", "FCH2251A1B2", "--json"});
  REQUIRE(one.exit_code == 0);
  simdjson::dom::parser parser;
  size_t n = 0;
  for (const std::string& line : one.OutLines()) {
    simdjson::dom::element doc = parser.parse(line);
    CHECK(std::string_view(doc["mac"]) == "001234ab45de");
    CHECK(std::string_view(doc["received_at"]).back() == 'Z');
    ++n;
  }
  CHECK(n == 5);
  CliRun kind = Run({"grep", ".", "--kind", "upgrade"});
  CHECK(CountLines(kind.out) == 2);
  CliRun range = Run({"grep", "Requesting", "--since", "2026-11-25T08:10:00Z"});
  CHECK(CountLines(range.out) == 2);
}

TEST_CASE("grep with no match exits 1 and a bad regex exits 2 naming it") {
  CliRun none = Run({"grep", "no such text anywhere"});
  CHECK(none.exit_code == 1);
  CHECK(none.out.empty());
  CHECK(CountLines(none.err) == 1);
  CliRun bad = Run({"grep", "Resync (failed"});
  RequireOneLineError(bad);
  CHECK(Contains(bad.err, "Resync (failed"));
  RequireOneLineError(Run({"grep", "x", "--mac", "not-a-device"}));
}

TEST_CASE("fleet summarises attempts, outcomes, last-failed devices, errors and servers") {
  CliRun r = Run({"fleet", "--since", "2026-11-25T07:00:00Z", "--json"});
  REQUIRE(r.exit_code == 0);
  REQUIRE(CountLines(r.out) == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r.out);
  CHECK(int64_t(doc["devices"]) == 3);
  CHECK(int64_t(doc["attempts"]) == 6);  // five resync requests and one upgrade
  CHECK(int64_t(doc["successes"]) == 4);
  CHECK(int64_t(doc["failures"]) == 2);
  CHECK(double(doc["success_rate"]) == Approx(4.0 / 6.0));
  CHECK(int64_t(doc["devices_last_failed"]) == 2);  // A and C
  CHECK(int64_t(doc["upgrade"]["attempts"]) == 1);
  simdjson::dom::array errors = doc["top_errors"];
  REQUIRE(errors.size() == 2);
  simdjson::dom::array servers = doc["top_servers"];
  CHECK(std::string_view(servers.at(0)["server"]) == "10.23.45.67");
  CHECK(int64_t(servers.at(0)["attempts"]) == 3);

  CliRun table = Run({"fleet", "--since", "2026-11-25T07:00:00Z"});
  REQUIRE(table.exit_code == 0);
  CHECK(Contains(table.out, "devices whose last attempt failed"));
  CHECK(Contains(table.out, "corrupt file"));
  CHECK_FALSE(Contains(table.out, "█"));  // no chart when stdout is not a terminal
}

TEST_CASE("fleet by model, server, error and hour prints one row per group") {
  CliRun model = Run({"fleet", "--by", "model", "--json"});
  REQUIRE(model.exit_code == 0);
  CHECK(CountLines(model.out) == 3);
  simdjson::dom::parser parser;
  for (const std::string& line : model.OutLines()) {
    simdjson::dom::element doc = parser.parse(line);
    if (std::string_view(doc["model"]) == "CP-8851-3PCC") {
      CHECK(int64_t(doc["attempts"]) == 3);
      CHECK(int64_t(doc["failures"]) == 1);
      CHECK(int64_t(doc["devices_last_failed"]) == 1);
    }
  }
  CliRun error = Run({"fleet", "--by", "error"});
  CHECK(CountLines(error.out) == 3);  // header + two errors
  CliRun hour = Run({"fleet", "--by", "hour", "--utc"});
  CHECK(Contains(hour.out, "2026-11-25 08:00"));
  CHECK(Contains(hour.out, "2026-11-25 09:00"));
  CliRun server = Run({"fleet", "--by", "server", "--json"});
  CHECK(Contains(server.out, "\"server\":\"192.168.1.200\""));
  RequireOneLineError(Run({"fleet", "--by", "colour"}));
}

TEST_CASE("fleet draws successes and failures per bucket with block bars") {
  CliRun r = Run({"fleet", "--since", "2026-11-25T08:00:00Z", "--until", "2026-11-25T10:00:00Z",
                  "--chart", "--utc"});
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.out, "█"));
  CHECK(Contains(r.out, "░"));  // failures, drawn lighter without colour
}

TEST_CASE("fleet over an empty range says so and exits 1") {
  CliRun r = Run({"fleet", "--since", "2025-01-01", "--until", "2025-01-02"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "no events in the given range\n");
}

TEST_CASE("devices lists one line per device, filtered by failing and model") {
  CliRun all = Run({"devices"});
  REQUIRE(all.exit_code == 0);
  CHECK(CountLines(all.out) == 1 + 3);
  CliRun failing = Run({"devices", "--failing", "--json"});
  REQUIRE(failing.exit_code == 0);
  simdjson::dom::parser parser;
  std::vector<std::string> macs;
  for (const std::string& line : failing.OutLines()) {
    simdjson::dom::element doc = parser.parse(line);
    macs.emplace_back(std::string_view(doc["mac"]));
    CHECK(bool(doc["failing"]));
  }
  std::sort(macs.begin(), macs.end());
  CHECK(macs == std::vector<std::string>{"000e08aabbcc", "001234ab45de"});
  CliRun model = Run({"devices", "--model", "cp-6841-3pcc", "--csv"});
  REQUIRE(model.exit_code == 0);
  auto lines = model.OutLines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("mac,sn,model,", 0) == 0);
  CHECK(lines[1].rfind("000e08abcdef,,CP-6841-3PCC,", 0) == 0);
  CliRun none = Run({"devices", "--model", "SPA504G"});
  CHECK(none.exit_code == 1);
  CHECK(none.err == "no devices match\n");
}

TEST_CASE("devices given MACs in any spelling lists only those phones, in the order given") {
  CliRun two = Run({"devices", "00-0E-08-AA-BB-CC", "0012.34ab.45de", "000e08aabbcc", "--json"});
  REQUIRE(two.exit_code == 0);
  auto lines = two.OutLines();
  REQUIRE(lines.size() == 2);  // the repeated phone once
  CHECK(lines[0].rfind("{\"mac\":\"000e08aabbcc\"", 0) == 0);
  CHECK(lines[1].rfind("{\"mac\":\"001234ab45de\"", 0) == 0);
  // The filters still apply to the phones named.
  CliRun model =
      Run({"devices", "000e08aabbcc", "000e08abcdef", "--model", "CP-6841-3PCC", "--csv"});
  REQUIRE(model.exit_code == 0);
  REQUIRE(model.OutLines().size() == 2);
  CHECK(model.OutLines()[1].rfind("000e08abcdef,", 0) == 0);
  CliRun unseen = Run({"devices", "00:0e:08:00:00:01"});
  CHECK(unseen.exit_code == 1);
  CHECK(unseen.err == "no devices match\n");
  CliRun bad = Run({"devices", "not-a-phone"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err ==
        "resyncwatch devices: 'not-a-phone' is neither a MAC address nor a known serial number\n");
}

TEST_CASE("stats prints the counting contract keys as one JSON object") {
  CliRun r = Run({"stats", "--json"});
  REQUIRE(r.exit_code == 0);
  REQUIRE(CountLines(r.out) == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(r.out);
  for (const char* key : {"received_datagrams", "stored_events", "stored_raw", "kernel_drops",
                          "queue_drops", "store_errors"}) {
    INFO(key);
    CHECK(doc[key].is_int64());
  }
  CHECK(int64_t(doc["received_datagrams"]) == 15);
  CHECK(int64_t(doc["stored_events"]) == 14);
  CHECK(int64_t(doc["received_bytes"]) == 1234);
  CliRun table = Run({"stats"});
  CHECK(table.exit_code == 0);
  CHECK(Contains(table.out, "received_datagrams"));
}

TEST_CASE("every command has --help with options and examples") {
  for (const char* cmd : {"history", "grep", "fleet", "devices", "stats"}) {
    INFO(cmd);
    CliRun r = RunCli({cmd, "--help"});
    CHECK(r.exit_code == 0);
    CHECK(Contains(r.out, "Usage: resyncwatch "));
    CHECK(Contains(r.out, "--db DIR"));
    CHECK(Contains(r.out, "Examples:"));
  }
  CliRun top = RunCli({"--help"});
  CHECK(top.exit_code == 0);
  CHECK(Contains(top.out, "history"));
  RequireOneLineError(RunCli({"frobnicate"}));
}

}  // namespace resyncwatch::testing
