// End to end: `resyncwatch history/grep --follow` against the real resyncwatchd, with the
// real logger as the phones. Each test waits on the follower's own output (its "following"
// line, then the event), never on time.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "child.h"
#include "e2e_programs.h"
#include "harness.h"
#include "stored.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

const std::string kMac = "00:12:34:ab:45:de";

void Log(int port, const std::string& body) {
  REQUIRE(RunProgram({kLogger, "--udp", "--rfc3164", "-n", "127.0.0.1", "-P", std::to_string(port),
                      "-t", "phone", "-p", "local0.info", body}) == 0);
}

std::vector<std::string> Cli(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), kCli);
  args.push_back("--db");
  args.push_back(db);
  return args;
}

}  // namespace

TEST_CASE("history --follow prints a datagram sent after it started, and Ctrl-C ends it cleanly") {
  TempDir dir;
  const std::string db = dir.Join("db");
  Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  // A datagram that is published to followers before the follow starts: a first follower
  // has printed it. (One still in the writer's queue, or stored but not yet published, when
  // the follower subscribes is live to it, and rightly printed.)
  Child earlier(Cli(db, {"history", kMac, "--follow"}));
  REQUIRE(earlier.WaitErr("following 001234ab45de (Ctrl-C to stop)\n"));
  Log(daemon.Port("udp"), "CP-8851-3PCC " + kMac + " -- Resync failed: before the follow");
  REQUIRE(earlier.WaitOut("before the follow"));
  earlier.Signal(SIGINT);
  CHECK(earlier.Finish() == 0);

  Child follow(Cli(db, {"history", kMac, "--follow"}));
  REQUIRE(follow.WaitErr("following 001234ab45de (Ctrl-C to stop)\n"));
  Log(daemon.Port("udp"), "CP-8851-3PCC 00:12:34:ab:45:df -- Resync failed: another phone");
  Log(daemon.Port("udp"), "CP-8851-3PCC " + kMac + " -- Resync failed: http_get failed");
  REQUIRE(follow.WaitOut("http_get failed"));
  CHECK(follow.out.find("resync_failure") != std::string::npos);
  CHECK(follow.out.find("before the follow") == std::string::npos);  // from now on only
  CHECK(follow.out.find("another phone") == std::string::npos);      // this device only
  CHECK(std::count(follow.out.begin(), follow.out.end(), '\n') == 1);

  follow.Signal(SIGINT);
  CHECK(follow.Finish() == 0);
  CHECK(follow.err == "following 001234ab45de (Ctrl-C to stop)\n");
  CHECK(daemon.Stop(SIGTERM) == 0);
}

TEST_CASE("grep --follow --json prints only the matching messages, one JSON object a line") {
  TempDir dir;
  const std::string db = dir.Join("db");
  Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  Child follow(Cli(db, {"grep", "http_get failed", "--follow", "--json"}));
  REQUIRE(follow.WaitErr("following 'http_get failed'"));
  const int port = daemon.Port("udp");
  Log(port, "CP-8851-3PCC " + kMac + " -- Requesting resync http://10.23.45.67:80/a.xml");
  Log(port, "CP-8851-3PCC " + kMac + " -- Resync failed: http_get failed");
  Log(port, "CP-7841-3PCC 00:12:34:ab:45:df -- Resync failed: tftp timeout");
  Log(port, "CP-7841-3PCC 00:12:34:ab:45:df -- Resync failed: http_get failed");
  REQUIRE(follow.WaitOut("\"mac\":\"001234ab45df\""));
  follow.Signal(SIGINT);
  REQUIRE(follow.Finish() == 0);

  // Exactly the two failures with that text, in storing order, each a whole JSON object
  // with the fields every --json event has.
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = follow.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.push_back(follow.out.substr(at, nl - at));
  }
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("\"mac\":\"001234ab45de\"") != std::string::npos);
  CHECK(lines[1].find("\"mac\":\"001234ab45df\"") != std::string::npos);
  for (const std::string& line : lines) {
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
    CHECK(line.find("\"kind\":\"resync_failure\"") != std::string::npos);
    CHECK(line.find("\"error\":\"http_get failed\"") != std::string::npos);
    CHECK(line.find("\"received_at\":") != std::string::npos);
  }
  CHECK(daemon.Stop(SIGTERM) == 0);
}

TEST_CASE("Following without a running collector says so in one line") {
  TempDir dir;
  for (std::vector<std::string> args : {std::vector<std::string>{"history", kMac, "--follow"},
                                        std::vector<std::string>{"grep", "x", "--follow"}}) {
    Child follow(Cli(dir.Join("db"), args));
    CHECK(follow.Finish() == 2);
    CHECK(follow.out.empty());
    INFO(follow.err);
    CHECK(std::count(follow.err.begin(), follow.err.end(), '\n') == 1);
    CHECK(follow.err.find("--follow needs a running resyncwatchd") != std::string::npos);
  }
}

TEST_CASE("A follower that stops reading is cut off with a message and ingest loses nothing") {
  TempDir dir;
  const std::string db = dir.Join("db");
  Daemon daemon(kDaemon, {"--db", db, "--listen", "tcp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  // Its stdout is a pipe this test does not read until the end: once the pipe is full the
  // follower blocks, stops reading its socket, and falls behind by its small buffer.
  Child stuck(Cli(db, {"grep", "Resync", "--follow", "--json", "--follow-buffer", "200"}));
  REQUIRE(stuck.WaitErr("following 'Resync'"));

  // 5,000 messages through one real logger over TCP (nothing lost on the way).
  constexpr int kMessages = 5000;
  std::string lines;
  for (int i = 0; i < kMessages; ++i) {
    lines += "CP-8851-3PCC 00:12:34:ab:" + std::to_string(10 + i % 80) +
             ":de -- Resync failed: http_get failed " + std::to_string(i) + "\n";
  }
  const std::string input = dir.Join("lines.txt");
  WriteFileText(input, lines);
  REQUIRE(RunProgram({"/bin/sh", "-c",
                      "exec '" + kLogger + "' --tcp --octet-count -n 127.0.0.1 -P " +
                          std::to_string(daemon.Port("tcp")) + " -t phone < '" + input + "'"}) ==
          0);

  // The follower, read at last, prints what it had and ends with the reason, non-zero.
  CHECK(stuck.Finish() == 2);
  INFO(stuck.err);
  CHECK((stuck.err.find("cut off: this follower fell more than 200 events behind") !=
             std::string::npos ||
         stuck.err.find("the collector ended this follow") != std::string::npos));
  const size_t printed = std::count(stuck.out.begin(), stuck.out.end(), '\n');
  CHECK(printed < static_cast<size_t>(kMessages));

  // Every message was received and stored; nothing was dropped at ingest.
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  CHECK(daemon.Stderr().find("1 followers cut off") != std::string::npos);
  std::map<std::string, int64_t> counters = StoredCounters(db);
  CHECK(counters["received_datagrams"] == kMessages);
  CHECK(counters["stored_events"] == kMessages);
  CHECK(counters["queue_drops"] == 0);
  CHECK(StoredEvents(db).size() == static_cast<size_t>(kMessages));
}
