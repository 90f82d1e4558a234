// The JSON API of a live resyncwatchd against the CLI: each endpoint answers byte for byte
// what `resyncwatch <command> --json` prints for the same store at the same --now, bad
// requests get JSON 4xx, and the daemon refuses a non-loopback address without credentials.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "e2e_programs.h"
#include "harness.h"

using namespace resyncwatch::testing;

namespace {

const std::vector<std::string> kDatagrams = {
    "<134>Nov 25 08:00:01 FCH2251A1B2 CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync "
    "http://10.23.45.67:80/8851-3PCC.xml",
    "<131>Nov 25 08:00:02 FCH2251A1B2 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: "
    "http_get failed",
    "<134>Nov 25 08:00:03 CP-7841-3PCC 00:0e:08:12:34:56 -- Requesting resync "
    "http://10.23.45.67:80/7841-3PCC.xml",
    "<134>Nov 25 08:00:04 CP-7841-3PCC 00:0e:08:12:34:56 -- Successful resync "
    "http://10.23.45.67:80/7841-3PCC.xml",
    "<131>Nov 25 08:00:05 CP-6841-3PCC 00:0e:08:64:23:f2 -- Resync failed: http_get failed",
};

struct Fixture {
  TempDir dir;
  std::string db = dir.Join("db");
  Daemon daemon{kDaemon,
                {"--db", db, "--listen", "udp://127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                 "--query-socket", "none"},
                dir.path()};
  int http = -1;
  std::string now;

  Fixture() {
    REQUIRE(daemon.WaitListening());
    http = daemon.Port("http");
    REQUIRE(http > 0);
    SendUdp(daemon.Port("udp"), kDatagrams);
    REQUIRE(WaitUntil([&] {
      std::string out;
      Cli({"stats", "--json"}, &out);
      return out.find("\"stored_events\":5") != std::string::npos;
    }));
    now = "2099-01-01T00:00:00Z";
  }

  int Cli(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), kCli);
    args.push_back("--db");
    args.push_back(db);
    return RunCapture(args, out);
  }

  // The body of GET path (headers in *headers when given).
  std::string Get(const std::string& path, std::string* headers = nullptr) {
    std::string out;
    const std::string head = dir.Join("headers");
    RunCapture({"/usr/bin/curl", "-sS", "--max-time", "20", "-D", head,
                "http://127.0.0.1:" + std::to_string(http) + path},
               &out);
    if (headers) *headers = ReadFileText(head);
    return out;
  }
};

}  // namespace

TEST_CASE("GET /api/fleet?since=1h is exactly resyncwatch fleet --json --since 1h") {
  Fixture f;
  std::string cli, headers;
  REQUIRE(f.Cli({"fleet", "--json", "--since", "1h"}, &cli) == 0);
  std::string api = f.Get("/api/fleet?since=1h", &headers);
  // Both ran "now": only the echoed "since" may differ by the milliseconds between them.
  auto without_since = [](std::string s) { return s.substr(s.find(",\"events\"")); };
  CHECK(without_since(api) == without_since(cli));
  CHECK(headers.find("Content-Type: application/x-ndjson") != std::string::npos);
  CHECK(api.find("\"attempts\":2") != std::string::npos);
  CHECK(api.find("\"top_errors\":[{\"error\":\"http_get failed\",\"failures\":2}]") !=
        std::string::npos);
  std::string cli_fixed;
  REQUIRE(
      f.Cli({"fleet", "--json", "--since", "2000-01-01T00:00:00Z", "--now", f.now, "--by", "model"},
            &cli_fixed) == 0);
  CHECK(f.Get("/api/fleet?since=2000-01-01T00:00:00Z&now=" + f.now + "&by=model") == cli_fixed);
}

// The wall asks on whole minutes; the next one, so that every event stored is before it.
std::string NextMinute() {
  const int64_t s = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const std::time_t t = (s / 60 + 1) * 60;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int64_t Metric(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + name.size() + 2));
}

// Each wall panel through the daemon's fleet rollups against the CLI's scan.
void CheckWallPanels(Fixture& f, const std::string& now) {
  const std::vector<std::vector<std::string>> panels = {
      {"since=1h", "--since", "1h"},
      {"since=2h&until=1h", "--since", "2h", "--until", "1h"},
      {"since=24h&top=10", "--since", "24h", "--top", "10"},
      {"since=24h&by=hour", "--since", "24h", "--by", "hour"},
      {"since=24h&by=server", "--since", "24h", "--by", "server"},
      {"since=24h&by=model", "--since", "24h", "--by", "model"},
  };
  const int64_t before = Metric(f.Get("/metrics"), "resyncwatch_fleet_rollup_answers_total");
  for (const auto& p : panels) {
    CAPTURE(p[0]);
    std::vector<std::string> args = {"fleet", "--json", "--now", now};
    args.insert(args.end(), p.begin() + 1, p.end());
    std::string cli;
    f.Cli(args, &cli);
    CHECK(f.Get("/api/fleet?" + p[0] + "&now=" + now) == cli);
  }
  CHECK(Metric(f.Get("/metrics"), "resyncwatch_fleet_rollup_answers_total") ==
        before + static_cast<int64_t>(panels.size()));
}

TEST_CASE(
    "The wall's fleet panels come from the daemon's rollups, equal to the CLI, also after a "
    "restart") {
  Fixture f;
  REQUIRE(
      WaitUntil([&] { return Metric(f.Get("/metrics"), "resyncwatch_fleet_rollup_ready") == 1; }));
  CheckWallPanels(f, NextMinute());
  SendUdp(f.daemon.Port("udp"), {kDatagrams[2], kDatagrams[4]});
  REQUIRE(WaitUntil([&] {
    std::string out;
    f.Cli({"stats", "--json"}, &out);
    return out.find("\"stored_events\":7") != std::string::npos;
  }));
  CheckWallPanels(f, NextMinute());

  // A restart rebuilds them from the store.
  REQUIRE(f.daemon.Stop() == 0);
  Daemon again{kDaemon,
               {"--db", f.db, "--listen", "udp://127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                "--query-socket", "none"},
               f.dir.path()};
  REQUIRE(again.WaitListening());
  f.http = again.Port("http");
  REQUIRE(
      WaitUntil([&] { return Metric(f.Get("/metrics"), "resyncwatch_fleet_rollup_ready") == 1; }));
  CheckWallPanels(f, NextMinute());
}

TEST_CASE("GET /api/devices/{MAC in any spelling, or SN}/history is resyncwatch history --json") {
  Fixture f;
  std::string cli;
  REQUIRE(f.Cli({"history", "00:12:34:ab:45:de", "--json", "--direct"}, &cli) == 0);
  CHECK(std::count(cli.begin(), cli.end(), '\n') == 2);
  for (const char* device : {"001234ab45de", "00-12-34-AB-45-DE", "0012.34ab.45de",
                             "00%3A12%3A34%3Aab%3A45%3Ade", "FCH2251A1B2"}) {
    CAPTURE(device);
    CHECK(f.Get(std::string("/api/devices/") + device + "/history") == cli);
  }
}

TEST_CASE("GET /api/devices/{MAC in any spelling, or SN} is resyncwatch devices MAC --json") {
  Fixture f;
  std::string cli;
  REQUIRE(f.Cli({"devices", "00:12:34:ab:45:de", "--json"}, &cli) == 0);
  CHECK(std::count(cli.begin(), cli.end(), '\n') == 1);
  CHECK(cli.rfind("{\"mac\":\"001234ab45de\"", 0) == 0);
  for (const char* device : {"001234ab45de", "00-12-34-AB-45-DE", "0012.34ab.45de",
                             "00%3A12%3A34%3Aab%3A45%3Ade", "FCH2251A1B2"}) {
    CAPTURE(device);
    CHECK(f.Get(std::string("/api/devices/") + device) == cli);
  }
  std::string headers;
  CHECK(f.Get("/api/devices/not-a-mac", &headers).find("\"status\":400") != std::string::npos);
  CHECK(headers.rfind("HTTP/1.1 400 ", 0) == 0);
}

TEST_CASE("Every list endpoint answers what its command prints with --json") {
  Fixture f;
  struct Pair {
    std::string path;
    std::vector<std::string> args;
  };
  const std::string now = "&now=" + f.now;
  const std::vector<Pair> pairs = {
      {"/api/devices?since=2000-01-01T00:00:00Z" + now,
       {"devices", "--json", "--since", "2000-01-01T00:00:00Z", "--now", f.now}},
      {"/api/devices?failing=1", {"devices", "--json", "--failing"}},
      {"/api/grep?q=http_get&since=2000-01-01T00:00:00Z" + now,
       {"grep", "http_get", "--json", "--since", "2000-01-01T00:00:00Z", "--now", f.now}},
      {"/api/schedule/fleet?since=2000-01-01T00:00:00Z" + now,
       {"schedule", "--fleet", "--json", "--since", "2000-01-01T00:00:00Z", "--now", f.now}},
      {"/api/schedule/000e08123456?since=2000-01-01T00:00:00Z" + now,
       {"schedule", "000e08123456", "--json", "--since", "2000-01-01T00:00:00Z", "--now", f.now}},
      {"/api/overdue?since=2000-01-01T00:00:00Z" + now,
       {"overdue", "--json", "--since", "2000-01-01T00:00:00Z", "--now", f.now}},
      {"/api/alerts?since=2000-01-01T00:00:00Z" + now,
       {"alerts", "--json", "--since", "2000-01-01T00:00:00Z", "--now", f.now}},
  };
  for (const Pair& p : pairs) {
    CAPTURE(p.path);
    std::string cli;
    f.Cli(p.args, &cli);
    CHECK(f.Get(p.path) == cli);
  }
  std::string stats = f.Get("/api/stats");
  CHECK(stats.find("\"stored_events\":5") != std::string::npos);
}

TEST_CASE("Bad API requests get a JSON error with a 4xx status and no flag gets through") {
  Fixture f;
  std::string headers;
  CHECK(f.Get("/api/fleet?by=colour", &headers) ==
        "{\"error\":\"--by: 'colour' is not one of model, server, error, hour\",\"status\":400}");
  CHECK(headers.rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(f.Get("/api/fleet?db=/etc", &headers).find("unknown parameter 'db'") != std::string::npos);
  CHECK(headers.rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(f.Get("/api/fleet?since=1h&since=2h").find("given twice") != std::string::npos);
  CHECK(f.Get("/api/grep").find("parameter 'q' is required") != std::string::npos);
  CHECK(f.Get("/api/devices/not-a-mac/history", &headers).find("\"status\":400") !=
        std::string::npos);
  // Text from the request is a positional argument after "--", never an option.
  std::string grep = f.Get("/api/grep?q=--db%3D%2Fetc", &headers);
  CHECK(headers.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(grep.empty());
  CHECK(headers.find("X-Resyncwatch-Nothing: ") != std::string::npos);
}

TEST_CASE("resyncwatchd refuses a non-loopback --http-listen without credentials, naming it") {
  TempDir dir;
  std::string out;
  for (const char* option : {"--http-listen", "--metrics-listen"}) {
    Daemon daemon(kDaemon,
                  {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", option, "0.0.0.0:0"},
                  dir.path());
    CHECK(daemon.Stop(0) == 2);  // signal 0: only wait for its own exit
    std::string err = daemon.Stderr();
    CHECK(err.find(std::string(option) + " 0.0.0.0:0 is not a loopback address") !=
          std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  }
}

TEST_CASE("On 0.0.0.0 with a tokens file the daemon starts and answers 401 without a token") {
  TempDir dir;
  WriteFileText(dir.Join("tokens"), "abcdefghijklmnop0123\n");
  Daemon daemon(kDaemon,
                {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", "--http-listen",
                 "0.0.0.0:0", "--http-tokens", dir.Join("tokens"), "--query-socket", "none"},
                dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string url = "http://127.0.0.1:" + std::to_string(daemon.Port("http")) + "/api/stats";
  std::string out;
  RunCapture({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url}, &out);
  CHECK(out == "401");
  RunCapture({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
              "Authorization: Bearer abcdefghijklmnop0123", url},
             &out);
  CHECK(out == "200");
}

TEST_CASE("Schedule endpoints judge with the daemon's --config schedules, as the CLI does") {
  TempDir dir;
  const std::string config = dir.Join("resyncwatch.json");
  WriteFileText(config,
                R"({"schedule": {"defaults": {"Resync_Periodic": "60",
                                               "Resync_Error_Retry_Delay": "30"}}})");
  Daemon daemon(kDaemon,
                {"--db", dir.Join("db"), "--config", config, "--listen", "udp://127.0.0.1:0",
                 "--http-listen", "127.0.0.1:0", "--query-socket", "none"},
                dir.path());
  REQUIRE(daemon.WaitListening());
  SendUdp(daemon.Port("udp"), kDatagrams);
  const std::string now = "2099-01-01T00:00:00Z";
  std::vector<std::string> args = {
      kCli,   "overdue",      "--json",   "--since", "2000-01-01T00:00:00Z", "--now", now,
      "--db", dir.Join("db"), "--config", config};
  std::string cli;
  REQUIRE(WaitUntil([&] { return RunCapture(args, &cli) == 0 && !cli.empty(); }));
  CHECK(cli.find("\"mac\":\"000e08123456\"") != std::string::npos);
  std::string api;
  RunCapture({"/usr/bin/curl", "-sS",
              "http://127.0.0.1:" + std::to_string(daemon.Port("http")) +
                  "/api/overdue?since=2000-01-01T00:00:00Z&now=" + now},
             &api);
  CHECK(api == cli);
  // And the config made a difference: without it the factory schedules give other dues.
  std::string factory;
  args.resize(args.size() - 2);
  RunCapture(args, &factory);
  CHECK(factory != cli);
}
