// In-process tests of the TCP input's connection policy (idle timeout, eviction at the
// limit) and of the --allow sender filter. The loop runs on the test thread; time is a
// ManualClock, so nothing sleeps.
#include "collector/tcp_input.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "collector/config.h"
#include "collector/sender_filter.h"
#include "harness.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

constexpr int64_t kStart = 1'764'057'600'000'000;  // 2025-11-25T08:00:00Z

struct TcpRig {
  uv_loop_t loop{};
  ManualClock clock{kStart};
  IngestQueue queue{100000};
  Counters counters;
  ReceiveSink sink{&queue, &counters, &clock};
  SenderFilter allow;
  std::unique_ptr<TcpInput> input;
  int port = 0;

  explicit TcpRig(TcpInputOptions options, const std::vector<std::string>& allowed = {}) {
    uv_loop_init(&loop);
    auto parsed = SenderFilter::Parse(allowed);
    REQUIRE(parsed.ok());
    allow = *parsed;
    if (!allow.empty()) {
      options.allow = &allow;
      sink.SetAllow(&allow);
    }
    input = std::make_unique<TcpInput>(&loop, &sink, &counters, &clock, options);
    Result<ListenAddress> at = ParseListenUrl("tcp://127.0.0.1:0");
    REQUIRE(at.ok());
    REQUIRE(input->Start(*at).ok());
    port = std::stoi(input->bound().substr(input->bound().rfind(':') + 1));
  }
  ~TcpRig() {
    input->Close();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  // Runs the loop until cond holds (bounded by iterations, not time).
  template <typename Cond>
  bool RunUntil(Cond cond) {
    for (int i = 0; i < 20000 && !cond(); ++i) uv_run(&loop, UV_RUN_NOWAIT);
    return cond();
  }
};

// True when the daemon closed fd: a read sees end of stream (or a reset).
bool PeerClosed(int fd) {
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

PeerAddress Peer(int family, const char* text) {
  PeerAddress p;
  p.family = static_cast<uint8_t>(family);
  inet_pton(family, text, p.addr);
  return p;
}

}  // namespace

TEST_CASE("a TCP connection silent for the idle timeout is closed and counted") {
  TcpInputOptions options;
  options.idle_timeout_us = 60'000'000;
  TcpRig rig(options);
  int quiet = ConnectTcp(rig.port);
  int talking = ConnectTcp(rig.port);
  REQUIRE(rig.RunUntil([&] { return rig.input->connections() == 2; }));
  rig.clock.Advance(40'000'000);
  const std::string line = "<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:01 -- hello\n";
  REQUIRE(send(talking, line.data(), line.size(), 0) == static_cast<ssize_t>(line.size()));
  REQUIRE(rig.RunUntil([&] { return rig.counters.Get(Counter::kReceivedDatagrams) == 1; }));
  rig.clock.Advance(20'000'000);  // quiet: 60 s without data; talking: 20 s
  rig.input->SweepIdle(rig.clock.NowMicros());
  REQUIRE(rig.RunUntil([&] { return PeerClosed(quiet); }));
  CHECK(rig.input->connections() == 1);
  CHECK_FALSE(PeerClosed(talking));
  CHECK(rig.counters.Get(Counter::kTcpIdleTimeouts) == 1);
  close(quiet);
  close(talking);
}

TEST_CASE("with the idle timeout 0 a silent TCP connection is kept") {
  TcpInputOptions options;
  options.idle_timeout_us = 0;
  TcpRig rig(options);
  int fd = ConnectTcp(rig.port);
  REQUIRE(rig.RunUntil([&] { return rig.input->connections() == 1; }));
  rig.clock.Advance(int64_t{86400} * 1'000'000);
  rig.input->SweepIdle(rig.clock.NowMicros());
  CHECK(rig.input->connections() == 1);
  CHECK(rig.counters.Get(Counter::kTcpIdleTimeouts) == 0);
  close(fd);
}

TEST_CASE("a connection at the limit closes the longest-idle one and is served") {
  TcpInputOptions options;
  options.max_connections = 3;
  TcpRig rig(options);
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    fds.push_back(ConnectTcp(rig.port));
    REQUIRE(rig.RunUntil([&] { return rig.input->connections() == fds.size(); }));
    rig.clock.Advance(1'000'000);
  }
  // The first connection talks, so the second is now the one idle longest.
  const std::string line = "<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:01 -- first\n";
  REQUIRE(send(fds[0], line.data(), line.size(), 0) == static_cast<ssize_t>(line.size()));
  REQUIRE(rig.RunUntil([&] { return rig.counters.Get(Counter::kReceivedDatagrams) == 1; }));
  int newcomer = ConnectTcp(rig.port);
  REQUIRE(rig.RunUntil([&] { return PeerClosed(fds[1]); }));
  const std::string late = "<134>Nov 25 08:00:02 CP-7841-3PCC 00:0e:08:00:00:02 -- newcomer\n";
  REQUIRE(send(newcomer, late.data(), late.size(), 0) == static_cast<ssize_t>(late.size()));
  REQUIRE(rig.RunUntil([&] { return rig.counters.Get(Counter::kReceivedDatagrams) == 2; }));
  CHECK(rig.input->connections() == 3);
  CHECK(rig.counters.Get(Counter::kTcpEvicted) == 1);
  CHECK(rig.counters.Get(Counter::kTcpRejected) == 0);
  CHECK_FALSE(PeerClosed(fds[0]));
  CHECK_FALSE(PeerClosed(fds[2]));
  for (int fd : fds) close(fd);
  close(newcomer);
}

TEST_CASE("a badly framed TCP stream is closed and counted as tcp_framing_errors") {
  TcpRig rig(TcpInputOptions{});
  int fd = ConnectTcp(rig.port);
  const std::string garbage = "12x <134>bad octet count\n";
  REQUIRE(send(fd, garbage.data(), garbage.size(), 0) == static_cast<ssize_t>(garbage.size()));
  REQUIRE(rig.RunUntil([&] { return PeerClosed(fd); }));
  CHECK(rig.counters.Get(Counter::kTcpFramingErrors) == 1);
  CHECK(rig.counters.Get(Counter::kReceiveErrors) == 0);
  close(fd);
}

TEST_CASE("a TCP connection from outside --allow is closed unread and counted") {
  TcpRig rig(TcpInputOptions{}, {"127.0.0.2/32"});
  int denied = ConnectTcp(rig.port, "127.0.0.1");
  int allowed = ConnectTcp(rig.port, "127.0.0.2");
  REQUIRE(rig.RunUntil([&] { return PeerClosed(denied); }));
  REQUIRE(rig.RunUntil([&] { return rig.input->connections() == 1; }));
  CHECK(rig.counters.Get(Counter::kDeniedConnections) == 1);
  CHECK(rig.counters.Get(Counter::kTcpConnections) == 1);
  CHECK_FALSE(PeerClosed(allowed));
  close(denied);
  close(allowed);
}

TEST_CASE("allowed sender ranges match IPv4, IPv6 and IPv4-mapped senders") {
  auto filter = SenderFilter::Parse(
      {"10.20.0.0/16", "192.0.2.7", "2001:db8:5::/48", "::ffff:198.51.100.0/120"});
  REQUIRE(filter.ok());
  CHECK(filter->Allows(Peer(AF_INET, "10.20.3.4")));
  CHECK_FALSE(filter->Allows(Peer(AF_INET, "10.21.0.1")));
  CHECK(filter->Allows(Peer(AF_INET, "192.0.2.7")));
  CHECK_FALSE(filter->Allows(Peer(AF_INET, "192.0.2.8")));
  CHECK(filter->Allows(Peer(AF_INET6, "2001:db8:5:ffff::1")));
  CHECK_FALSE(filter->Allows(Peer(AF_INET6, "2001:db8:6::1")));
  // From a dual-stack socket an IPv4 sender arrives IPv4-mapped: matched as IPv4.
  CHECK(filter->Allows(Peer(AF_INET6, "::ffff:10.20.9.9")));
  CHECK_FALSE(filter->Allows(Peer(AF_INET6, "::ffff:10.99.9.9")));
  // A mapped range is an IPv4 range.
  CHECK(filter->Allows(Peer(AF_INET, "198.51.100.77")));
  CHECK(SenderFilter::Parse({})->Allows(Peer(AF_INET, "203.0.113.1")));
}

TEST_CASE("a bad --allow range is an error naming it") {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.1/8", "example.net", "2001:db8::/129", "10/8"}) {
    auto filter = SenderFilter::Parse({bad});
    INFO(bad);
    REQUIRE_FALSE(filter.ok());
    CHECK(filter.status().message().find(bad) != std::string::npos);
  }
  std::vector<std::string_view> args = {"--allow", "10.0.0.0/33"};
  CHECK_FALSE(ParseCollectorArgs(args).ok());
}

TEST_CASE("datagrams from outside --allow are dropped before parsing and not received") {
  IngestQueue queue(1000);
  Counters counters;
  ReceiveSink sink(&queue, &counters, &SystemClock::Instance());
  auto filter = SenderFilter::Parse({"10.0.0.0/8"});
  REQUIRE(filter.ok());
  sink.SetAllow(&*filter);
  sink.Accept("<134>from outside", Peer(AF_INET, "192.0.2.1"), false);
  sink.Accept("<134>from inside", Peer(AF_INET, "10.1.1.1"), false);
  sink.Accept("<134>mapped inside", Peer(AF_INET6, "::ffff:10.1.1.2"), false);
  sink.Flush();
  CHECK(queue.Depth() == 2);
  CHECK(counters.Get(Counter::kReceivedDatagrams) == 2);
  CHECK(counters.Get(Counter::kDeniedDatagrams) == 1);
}
