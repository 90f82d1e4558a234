// The metrics HTTP server on a loopback ephemeral port, fetched with the real curl and,
// when Debian's prometheus package is installed, checked with promtool.
#include "collector/metrics_http.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "alerts/alerts.h"

using namespace resyncwatch;

namespace {

std::string Run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = ::pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

std::string Curl(int port, const std::string& path, const std::string& extra = "") {
  return Run("curl -sS -i --max-time 10 " + extra + " http://127.0.0.1:" + std::to_string(port) +
             path + " 2>&1");
}

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// Reads until EOF, or gives up after 10 s.
std::string ReadAll(int fd) {
  std::string out;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, n);
  }
  return out;
}

bool HavePromtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("GET /metrics serves the render callback in the Prometheus text format") {
  AlertConfig config;
  config.failures_min = 1;
  config.device_enabled = false;
  config.ratio_enabled = false;
  AlertEngine engine(config, {});
  Event e;
  e.kind = EventKind::kResyncFailure;
  e.event_time_us = 1'795'000'000'000'000LL;
  e.server = "prov-a";
  engine.Observe(e);  // fleet and server alerts fire

  MetricsHttpOptions options;
  options.listen = "127.0.0.1:0";
  auto server = MetricsHttpServer::Start(options, [&] {
    return "# HELP resyncwatch_received_datagrams_total Datagrams received.\n"
           "# TYPE resyncwatch_received_datagrams_total counter\n"
           "resyncwatch_received_datagrams_total 42\n" +
           RenderActiveAlertsMetrics(engine);
  });
  REQUIRE(server.ok());
  int port = (*server)->port();
  CHECK(port > 0);
  CHECK((*server)->bound_address() == "127.0.0.1:" + std::to_string(port));

  std::string reply = Curl(port, "/metrics");
  CHECK(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(reply.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
        std::string::npos);
  std::string body = reply.substr(reply.find("\r\n\r\n") + 4);
  CHECK(body.find("resyncwatch_received_datagrams_total 42\n") != std::string::npos);
  CHECK(body.find("resyncwatch_active_alerts{rule=\"server_failures\"} 1\n") != std::string::npos);
  CHECK(body.find("resyncwatch_active_alerts{rule=\"fleet_failures\"} 1\n") != std::string::npos);
  CHECK(body.find("resyncwatch_active_alerts{rule=\"model_failures\"} 0\n") != std::string::npos);

  if (HavePromtool()) {
    char path[] = "/tmp/resyncwatch-metrics-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()));
    ::close(fd);
    int status = -1;
    std::string out = Run(std::string("promtool check metrics < ") + path + " 2>&1", &status);
    ::unlink(path);
    INFO(out);
    CHECK(status == 0);
  } else {
    WARN("promtool not installed (Debian package 'prometheus'): format check skipped");
  }
}

TEST_CASE("GET /healthz answers ok, or 503 with the reason; other paths 404, POST 405") {
  std::atomic<bool> failing{false};
  MetricsHttpOptions options;
  options.listen = "127.0.0.1:0";
  auto server = MetricsHttpServer::Start(
      options, [] { return std::string(); },
      [&] { return failing ? std::string("store write failing") : std::string(); });
  REQUIRE(server.ok());
  int port = (*server)->port();
  std::string ok = Curl(port, "/healthz");
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(ok.substr(ok.find("\r\n\r\n") + 4) == "ok\n");
  failing = true;
  std::string bad = Curl(port, "/healthz");
  CHECK(bad.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(bad.find("store write failing\n") != std::string::npos);
  CHECK(Curl(port, "/nothing").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(Curl(port, "/metrics", "-X POST -d x=1").rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) ==
        0);
}

TEST_CASE("A slow client is cut off at its deadline while others are served") {
  MetricsHttpOptions options;
  options.listen = "127.0.0.1:0";
  options.client_timeout_us = 300'000;
  auto server = MetricsHttpServer::Start(options, [] { return std::string("up 1\n"); });
  REQUIRE(server.ok());
  int port = (*server)->port();
  int slow = ConnectLoopback(port);
  REQUIRE(::send(slow, "GET /metr", 9, 0) == 9);  // and never finishes
  CHECK(Curl(port, "/metrics").find("\r\n\r\nup 1\n") != std::string::npos);
  CHECK(ReadAll(slow).empty());  // closed by the server without an answer
  ::close(slow);
}

TEST_CASE("An oversized request is refused with 431") {
  MetricsHttpOptions options;
  options.listen = "127.0.0.1:0";
  options.max_request_bytes = 1024;
  auto server = MetricsHttpServer::Start(options, [] { return std::string("up 1\n"); });
  REQUIRE(server.ok());
  int fd = ConnectLoopback((*server)->port());
  std::string request = "GET /metrics HTTP/1.1\r\nX-Junk: " + std::string(4000, 'a') + "\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  CHECK(ReadAll(fd).rfind("HTTP/1.1 431 ", 0) == 0);
  ::close(fd);
  int fd2 = ConnectLoopback((*server)->port());
  ::send(fd2, "garbage\r\n\r\n", 11, MSG_NOSIGNAL);
  CHECK(ReadAll(fd2).rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  ::close(fd2);
}

TEST_CASE("metrics-listen values: loopback by default, errors name the value") {
  auto a = ParseMetricsListen("9514");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9514);
  auto b = ParseMetricsListen("[::1]:9100");
  REQUIRE(b.ok());
  CHECK(b->host == "::1");
  CHECK(b->port == 9100);
  auto c = ParseMetricsListen("0.0.0.0:9514");
  REQUIRE(c.ok());
  CHECK(c->host == "0.0.0.0");
  auto d = ParseMetricsListen("localhost:x");
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("'localhost:x'") != std::string::npos);
  CHECK_FALSE(ParseMetricsListen("::1:9514").ok());
  CHECK_FALSE(ParseMetricsListen("127.0.0.1:70000").ok());
  CHECK_FALSE(ParseMetricsListen("prometheus.local:9514").ok());
}
