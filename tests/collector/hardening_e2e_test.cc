// End-to-end tests of resyncwatchd's defences: idle and hoarded TCP connections cannot
// lock a sender out, --allow keeps strangers out, and the log stays short while it happens.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e_programs.h"
#include "harness.h"
#include "store/store.h"
#include "stored.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::vector<std::string> UdpLines(int from, int n) {
  std::vector<std::string> out;
  for (int i = from; i < from + n; ++i) {
    out.push_back("<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:05 -- Resync failed: #" +
                  std::to_string(i));
  }
  return out;
}

}  // namespace

TEST_CASE("1,100 idle TCP connections do not lock out logger --tcp, UDP keeps flowing, log short") {
  constexpr int kIdle = 1100;
  if (!RaiseFileLimit(kIdle + 200)) {
    WARN("skipped: the open-file limit cannot hold " << kIdle << " connections");
    return;
  }
  TempDir dir;
  Daemon daemon(kDaemon,
                {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", "--listen",
                 "tcp://127.0.0.1:0", "--query-socket", "none"},
                dir.path());
  REQUIRE(daemon.WaitListening());
  const int tcp_port = daemon.Port("tcp");
  const int udp_port = daemon.Port("udp");
  std::atomic<bool> stop{false};
  std::atomic<int> udp_sent{0};
  std::thread udp([&] {
    while (!stop.load()) {
      SendUdp(udp_port, UdpLines(udp_sent.load(), 20));
      udp_sent += 20;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    int fd = ConnectTcp(tcp_port);
    if (fd >= 0) idle.push_back(fd);
  }
  CHECK(idle.size() == kIdle);
  const std::string message =
      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/held.xml";
  CHECK(RunProgram({kLogger, "--tcp", "--octet-count", "--rfc5424", "-n", "127.0.0.1", "-P",
                    std::to_string(tcp_port), "-t", "phone", message}) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  udp.join();
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  for (int fd : idle) close(fd);

  auto events = StoredEvents(dir.Join("db"));
  int held = 0, udp_stored = 0;
  for (const Event& e : events) {
    held += e.url == "http://10.23.45.67:80/held.xml";
    udp_stored += e.mac == 0x000e08000005ULL;
  }
  CHECK(held == 1);
  CHECK(udp_stored == udp_sent.load());
  auto counters = StoredCounters(dir.Join("db"));
  CHECK(counters["tcp_evicted"] >= kIdle - 1024 + 1);
  CHECK(counters["tcp_rejected"] == 0);
  const std::string log = daemon.Stderr();
  INFO(log.substr(0, 4000));
  CHECK(CountLines(log) < 50);
}

TEST_CASE("datagrams from outside --allow are never stored, allowed ones are") {
  TempDir dir;
  Daemon daemon(kDaemon,
                {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", "--allow", "127.0.0.2/32",
                 "--allow", "2001:db8::/32", "--query-socket", "none"},
                dir.path());
  REQUIRE(daemon.WaitListening());
  SendUdpFrom("127.0.0.1", daemon.Port("udp"), UdpLines(0, 300));
  SendUdpFrom("127.0.0.2", daemon.Port("udp"), UdpLines(1000, 5));
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  auto events = StoredEvents(dir.Join("db"));
  CHECK(events.size() == 5);
  for (const Event& e : events) CHECK(e.source.rfind("127.0.0.2:", 0) == 0);
  auto counters = StoredCounters(dir.Join("db"));
  CHECK(counters["denied_datagrams"] == 300);
  CHECK(counters["received_datagrams"] == 5);
  CHECK(CountLines(daemon.Stderr()) < 30);
}

TEST_CASE("SIGKILL at 10,000 datagrams/s loses at most 100 per kill, and the counters add up") {
  TempDir dir;
  constexpr int kKills = 5;
  constexpr int kPerMs = 10;  // 10,000 datagrams/s
  int port = 0;
  std::atomic<bool> sending{false};
  std::atomic<bool> done{false};
  std::atomic<int64_t> next_seq{0};
  std::atomic<int> target_port{0};
  std::thread sender([&] {
    while (!done.load()) {
      if (!sending.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      auto tick = std::chrono::steady_clock::now();
      std::vector<std::string> lines;
      for (int i = 0; i < kPerMs; ++i) {
        lines.push_back("<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:07 -- Resync failed: #" +
                        std::to_string(next_seq.fetch_add(1)));
      }
      SendUdp(target_port.load(), lines);
      std::this_thread::sleep_until(tick + std::chrono::milliseconds(1));
    }
  });
  struct Cycle {
    int64_t first = 0, end = 0;
  };
  std::vector<Cycle> cycles;
  for (int k = 0; k < kKills; ++k) {
    const std::string listen = "udp://127.0.0.1:" + std::to_string(port);
    Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", listen, "--query-socket", "none"},
                  dir.path());
    REQUIRE(daemon.WaitListening());
    port = daemon.Port("udp");
    target_port = port;
    Cycle c;
    c.first = next_seq.load();
    sending = true;
    // Kill once 4,000 have been sent (about 400 ms), however slowly the sender was scheduled.
    REQUIRE(WaitUntil([&] { return next_seq.load() - c.first >= 4000; }));
    kill(daemon.pid(), SIGKILL);
    c.end = next_seq.load();  // everything before this was sent while the daemon lived
    sending = false;
    REQUIRE(daemon.Stop(SIGKILL) != 0);
    cycles.push_back(c);
  }
  done = true;
  sender.join();

  // A clean start and stop after the last kill: replays nothing twice, adds nothing.
  {
    Daemon daemon(
        kDaemon,
        {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", "--query-socket", "none"},
        dir.path());
    REQUIRE(daemon.WaitListening());
    REQUIRE(daemon.Stop(SIGTERM) == 0);
  }
  std::vector<int64_t> stored_per_cycle(cycles.size(), 0);
  int64_t events = 0;
  for (const Event& e : StoredEvents(dir.Join("db"))) {
    ++events;
    const int64_t seq = std::stoll(e.error.substr(1));
    for (size_t i = 0; i < cycles.size(); ++i) {
      if (seq >= cycles[i].first && seq < cycles[i].end) ++stored_per_cycle[i];
    }
  }
  for (size_t i = 0; i < cycles.size(); ++i) {
    const int64_t sent = cycles[i].end - cycles[i].first;
    const int64_t lost = sent - stored_per_cycle[i];
    INFO("kill " << i << ": sent " << sent << ", stored " << stored_per_cycle[i] << ", lost "
                 << lost);
    CHECK(sent > 2000);
    CHECK(lost >= 0);
    CHECK(lost <= 100);
    std::printf("kill %zu: sent %lld, stored %lld, lost %lld\n", i, static_cast<long long>(sent),
                static_cast<long long>(stored_per_cycle[i]), static_cast<long long>(lost));
  }
  auto t = StoredCounters(dir.Join("db"));
  INFO("received " << t["received_datagrams"] << " stored " << t["stored_events"] << " raw "
                   << t["stored_raw"] << " queue drops " << t["queue_drops"] << " store errors "
                   << t["store_errors"]);
  CHECK(t["received_datagrams"] ==
        t["stored_events"] + t["stored_raw"] + t["queue_drops"] + t["store_errors"]);
  CHECK(t["stored_events"] == events);
}

TEST_CASE("IPv6 datagrams are stored only from an allowed IPv6 range") {
  TempDir dir;
  for (const std::string& allow : {std::string("2001:db8::/32"), std::string("::1/128")}) {
    Daemon daemon(kDaemon,
                  {"--db", dir.Join("db"), "--listen", "udp://[::1]:0", "--allow", allow,
                   "--query-socket", "none"},
                  dir.path());
    REQUIRE(daemon.WaitListening());
    SendUdp(daemon.Port("udp"), UdpLines(0, 10), /*v6=*/true);
    REQUIRE(daemon.Stop(SIGTERM) == 0);
  }
  auto events = StoredEvents(dir.Join("db"));
  CHECK(events.size() == 10);  // only while ::1 was allowed
  for (const Event& e : events) CHECK(e.source.rfind("[::1]:", 0) == 0);
  CHECK(StoredCounters(dir.Join("db"))["denied_datagrams"] == 10);
}
