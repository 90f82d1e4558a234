// Alerts end to end: the real resyncwatchd on ephemeral loopback ports with a temporary
// store, fed by the real logger(1); the alert reaches a JSON-lines file and a command,
// shows on /metrics (fetched with curl), resolves, and is kept in the store.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alerts/alerts.h"
#include "store/store.h"
#include "tests/testlib/testlib.h"

extern char** environ;

using namespace resyncwatch;
using resyncwatch::testing::WaitUntil;
namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

// The port of the "<what> 127.0.0.1:PORT" line of the daemon's --port-file.
int PortOf(const std::string& ports, const std::string& what) {
  std::istringstream in(ports);
  std::string kind, addr;
  while (in >> kind >> addr) {
    if (kind == what) return std::stoi(addr.substr(addr.rfind(':') + 1));
  }
  return 0;
}

size_t Lines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("A provisioning server failing behind resyncwatchd raises one alert that resolves") {
  resyncwatch::testing::TempDir tmp;
  fs::path dir = tmp.path();
  fs::path jsonl = dir / "alerts.jsonl", exec_out = dir / "exec.out", ports = dir / "ports";
  {
    std::ofstream config(dir / "config.json");
    config << R"({"alerts": {
      "rules": {"failures": {"window": 2, "min_failures": 5, "group_by": ["server"]},
                "ratio": {"enabled": false}, "device": {"enabled": false}},
      "resolve_after": 1,
      "sinks": [{"type": "file", "path": ")"
           << jsonl.string() << R"("}, {"type": "exec", "command": "cat >> ')" << exec_out.string()
           << R"('"}]}})";
  }
  std::vector<std::string> args = {RESYNCWATCHD_PATH,
                                   "--config",
                                   (dir / "config.json").string(),
                                   "--db",
                                   (dir / "db").string(),
                                   "--listen",
                                   "udp://127.0.0.1:0",
                                   "--metrics-listen",
                                   "127.0.0.1:0",
                                   "--port-file",
                                   ports.string(),
                                   "--log-level",
                                   "warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
  REQUIRE(
      WaitUntil([&] { return PortOf(ReadFile(ports), "metrics") > 0; }, std::chrono::seconds(20)));
  const int udp = PortOf(ReadFile(ports), "udp");
  const int metrics = PortOf(ReadFile(ports), "metrics");
  REQUIRE(udp > 0);

  auto log = [&](const std::string& body) {
    std::string cmd = "logger --udp --rfc3164 -n 127.0.0.1 -P " + std::to_string(udp) +
                      " -t phone -p local0.info '" + body + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
  };
  // Six phones of prov-a ask for their profile and fail (the failure names no server);
  // a phone of prov-b succeeds.
  for (int i = 1; i <= 6; ++i) {
    std::string mac = "00:0e:08:aa:00:0" + std::to_string(i);
    log("CP-8851-3PCC " + mac + " -- Requesting resync http://prov-a.example.net:80/c/x.cfg");
    log("CP-8851-3PCC " + mac + " -- Resync failed: http_get failed");
  }
  log("CP-7841-3PCC 00:0e:08:bb:00:01 -- Successful resync http://prov-b.example.net/c/y.cfg");

  CHECK(WaitUntil([&] { return Lines(ReadFile(jsonl), "\"state\":\"firing\"") == 1; },
                  std::chrono::seconds(20)));
  std::string metrics_text =
      Capture("curl -sS --max-time 10 http://127.0.0.1:" + std::to_string(metrics) + "/metrics");
  CHECK(metrics_text.find("resyncwatch_active_alerts{rule=\"server_failures\"} 1\n") !=
        std::string::npos);
  // Quiet from now on: the 2 s window drains, then 1 s below the threshold resolves it.
  CHECK(WaitUntil([&] { return Lines(ReadFile(jsonl), "\"state\":\"resolved\"") == 1; },
                  std::chrono::seconds(20)));
  CHECK(WaitUntil([&] { return Lines(ReadFile(exec_out), "\"state\":\"resolved\"") == 1; },
                  std::chrono::seconds(20)));

  std::string text = ReadFile(jsonl);
  CHECK(Lines(text, "\"state\":\"firing\"") == 1);
  CHECK(Lines(text, "\"group\":{\"by\":\"server\",\"value\":\"prov-a.example.net\"}") == 2);
  CHECK(text.find("prov-b") == std::string::npos);
  CHECK(text.find("\"000e08aa0001\"") != std::string::npos);

  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));

  std::vector<AlertRecord> stored;
  {
    auto store = Store::Open((dir / "db").string(), StoreOptions());
    REQUIRE(store.ok());
    REQUIRE((*store)
                ->ScanAlerts(TimeRange{}, false,
                             [&](const AlertRecord& r) {
                               stored.push_back(r);
                               return true;
                             })
                .ok());
  }
  REQUIRE(stored.size() == 1);
  CHECK_FALSE(stored[0].active);
  auto alert = AlertFromJson(stored[0].json);
  REQUIRE(alert.ok());
  CHECK(alert->rule == AlertRule::kServerFailures);
  CHECK(alert->group_value == "prov-a.example.net");
  CHECK(alert->state == Alert::State::kResolved);
  CHECK(alert->incident_failures >= 5);
  fs::remove_all(dir);
}
