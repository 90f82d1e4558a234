// End to end: `resyncwatch history` answered by the running resyncwatchd over its query
// socket prints exactly what it prints when it opens the store itself.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e_programs.h"
#include "harness.h"
#include "store/store.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

const std::string kMac = "00:12:34:ab:45:de";

void Log(int port, const std::string& body) {
  REQUIRE(RunProgram({kLogger, "--udp", "--rfc3164", "-n", "127.0.0.1", "-P", std::to_string(port),
                      "-t", "phone", "-p", "local0.info", body}) == 0);
}

// A request, a failure, a retry and its success of kMac, and a request of another phone.
void LogResyncs(int port) {
  const std::string head = "CP-8851-3PCC " + kMac + " -- ";
  Log(port, head + "Requesting resync http://10.23.45.67:80/8851-3PCC.xml");
  Log(port, head + "Resync failed: http_get failed");
  Log(port, head + "Requesting resync http://10.23.45.67:80/8851-3PCC.xml");
  Log(port, head + "Successful resync http://10.23.45.67:80/8851-3PCC.xml");
  Log(port,
      "CP-7841-3PCC 00:12:34:ab:45:df -- Requesting resync http://10.23.45.67:80/7841-3PCC.xml");
}

// `resyncwatch history kMac --json` (plus extra), stdout in *out, stderr in *err.
int History(const std::string& db, const std::vector<std::string>& extra, const TempDir& dir,
            std::string* out, std::string* err) {
  const std::string err_file = dir.Join("history.stderr");
  std::string command = "exec '" + kCli + "' history " + kMac + " --db '" + db + "' --json";
  for (const std::string& e : extra) command += " " + e;
  command += " 2>'" + err_file + "'";
  int rc = RunCapture({"/bin/sh", "-c", command}, out);
  *err = ReadFileText(err_file);
  return rc;
}

int64_t ServedRequests(const std::string& daemon_stderr) {
  const std::string marker = "query socket served ";
  size_t at = daemon_stderr.rfind(marker);
  if (at == std::string::npos) return -1;
  return std::strtoll(daemon_stderr.c_str() + at + marker.size(), nullptr, 10);
}

}  // namespace

TEST_CASE("history through the collector's query socket prints what reading the store prints") {
  TempDir dir;
  const std::string db = dir.Join("db");
  Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  CHECK(std::filesystem::is_socket(QuerySocketPath(db)));
  LogResyncs(daemon.Port("udp"));

  // Polled with --direct, which never touches the socket, until all four are stored.
  std::string direct, err;
  REQUIRE(WaitUntil([&] {
    return History(db, {"--direct"}, dir, &direct, &err) == 0 &&
           std::count(direct.begin(), direct.end(), '\n') == 4;
  }));
  CHECK_THAT(err, !Catch::Matchers::Contains("resyncwatch history:"));
  std::string via_socket;
  REQUIRE(History(db, {}, dir, &via_socket, &err) == 0);
  CHECK_THAT(err, !Catch::Matchers::Contains("resyncwatch history:"));
  CHECK(via_socket == direct);
  CHECK(via_socket.find("\"outcome\":\"failure\"") != std::string::npos);

  REQUIRE(daemon.Stop(SIGTERM) == 0);
  // Exactly the one history run above asked the daemon (a MAC needs no serial look-up).
  CHECK(ServedRequests(daemon.Stderr()) == 1);
  CHECK_FALSE(std::filesystem::exists(QuerySocketPath(db)));

  // Without a collector the store is opened, silently, with the same result.
  std::string after;
  REQUIRE(History(db, {}, dir, &after, &err) == 0);
  CHECK_THAT(err, !Catch::Matchers::Contains("resyncwatch history:"));
  CHECK(after == direct);
}

TEST_CASE("history after resyncwatchd was killed falls back to the store without a word") {
  TempDir dir;
  const std::string db = dir.Join("db");
  Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  LogResyncs(daemon.Port("udp"));
  std::string live, err;
  REQUIRE(WaitUntil([&] {
    return History(db, {}, dir, &live, &err) == 0 &&
           std::count(live.begin(), live.end(), '\n') == 4;
  }));
  CHECK_THAT(err, !Catch::Matchers::Contains("resyncwatch history:"));

  daemon.Stop(SIGKILL);
  REQUIRE_FALSE(daemon.running());
  // The socket file outlives the daemon; nobody accepts on it.
  CHECK(std::filesystem::is_socket(QuerySocketPath(db)));
  std::string after;
  REQUIRE(History(db, {}, dir, &after, &err) == 0);
  CHECK_THAT(err, !Catch::Matchers::Contains("resyncwatch history:"));
  CHECK(after == live);

  // The next daemon replaces the stale socket and answers again.
  Daemon next(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(next.WaitListening());
  std::string again;
  REQUIRE(History(db, {}, dir, &again, &err) == 0);
  CHECK_THAT(err, !Catch::Matchers::Contains("resyncwatch history:"));
  CHECK(again == live);
  REQUIRE(next.Stop(SIGTERM) == 0);
  CHECK(ServedRequests(next.Stderr()) == 1);
}

TEST_CASE("resyncwatchd --query-socket none serves no socket and history still answers") {
  TempDir dir;
  const std::string db = dir.Join("db");
  Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0", "--query-socket", "none"},
                dir.path());
  REQUIRE(daemon.WaitListening());
  CHECK_FALSE(std::filesystem::exists(QuerySocketPath(db)));
  LogResyncs(daemon.Port("udp"));
  std::string out, err;
  REQUIRE(WaitUntil([&] {
    return History(db, {}, dir, &out, &err) == 0 && std::count(out.begin(), out.end(), '\n') == 4;
  }));
  CHECK_THAT(err, !Catch::Matchers::Contains("resyncwatch history:"));
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  CHECK(ServedRequests(daemon.Stderr()) == -1);
}
