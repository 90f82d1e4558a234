// The HTTP server in process, on loopback ephemeral ports, fetched with the real curl:
// /metrics and /healthz, read-only methods, security headers, idle clients, basic auth
// against crypt(3) hashes made by mkpasswd and openssl, bearer tokens, and TLS.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/testlib/testlib.h"
#include "web/web.h"

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

std::string Curl(int port, const std::string& path, const std::string& extra = "",
                 const std::string& scheme = "http") {
  return Run("curl -sS -i --max-time 10 " + extra + " '" + scheme +
             "://127.0.0.1:" + std::to_string(port) + path + "' 2>&1");
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

int PortOf(const WebServer& server, size_t i = 0) {
  std::string b = server.BoundAddresses().at(i);
  return std::atoi(b.substr(b.rfind(':') + 1).c_str());
}

// One directory for the process, removed at exit.
std::string TempPath(const std::string& name) {
  static resyncwatch::testing::TempDir dir;
  return dir.Join(name);
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::unique_ptr<WebServer> StartOn(WebOptions options, WebCallbacks callbacks = {}) {
  if (options.listen.empty()) options.listen = {{"http", "127.0.0.1:0"}};
  if (!callbacks.metrics) callbacks.metrics = [] { return std::string("up 1\n"); };
  auto server = WebServer::Start(options, callbacks, nullptr);
  REQUIRE(server.ok());
  return std::move(*server);
}

}  // namespace

TEST_CASE("GET /metrics serves the render callback and the server's own counters") {
  auto server = StartOn({});
  std::string reply = Curl(PortOf(*server), "/metrics");
  CHECK(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(reply.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
        std::string::npos);
  CHECK(reply.find("\r\n\r\nup 1\n") != std::string::npos);
  CHECK(reply.find("resyncwatch_http_requests_total ") != std::string::npos);
}

TEST_CASE("GET /healthz answers ok, or 503 with the reason") {
  std::string problem;
  WebCallbacks callbacks;
  callbacks.health = [&] { return problem; };
  auto server = StartOn({}, callbacks);
  CHECK(Curl(PortOf(*server), "/healthz").find("\r\n\r\nok\n") != std::string::npos);
  problem = "store writer stalled";
  std::string bad = Curl(PortOf(*server), "/healthz");
  CHECK(bad.rfind("HTTP/1.1 503 ", 0) == 0);
  CHECK(bad.find("store writer stalled") != std::string::npos);
}

TEST_CASE("Only GET and HEAD are answered: other methods get 405 and change nothing") {
  auto server = StartOn({});
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    std::string reply = Curl(PortOf(*server), "/api/fleet", std::string("-X ") + method);
    CHECK(reply.rfind("HTTP/1.1 405 ", 0) == 0);
    CHECK(reply.find("Allow: GET, HEAD\r\n") != std::string::npos);
  }
  CHECK(Curl(PortOf(*server), "/metrics", "-I").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("Every answer carries a CSP without inline script, nosniff and no framing") {
  auto server = StartOn({});
  for (const char* path : {"/", "/app.js", "/api/nothing", "/metrics", "/missing"}) {
    std::string reply = Curl(PortOf(*server), path);
    CHECK(reply.find("Content-Security-Policy: default-src 'self'; script-src 'self'; ") !=
          std::string::npos);
    CHECK(reply.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(reply.find("unsafe-inline") == std::string::npos);
    CHECK(reply.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
  }
}

TEST_CASE("An unknown API path is a JSON 404, never an HTML page or a trace") {
  auto server = StartOn({});
  std::string reply = Curl(PortOf(*server), "/api/nothing");
  CHECK(reply.rfind("HTTP/1.1 404 ", 0) == 0);
  CHECK(reply.find("Content-Type: application/json") != std::string::npos);
  CHECK(reply.find("{\"error\":\"no such endpoint: /api/nothing") != std::string::npos);
}

TEST_CASE("Idle and half-sent connections do not lock out other clients") {
  WebOptions options;
  options.threads = 2;
  auto server = StartOn(options);
  const int port = PortOf(*server);
  int idle = ConnectLoopback(port);  // sends nothing
  int slow = ConnectLoopback(port);  // and never finishes its request
  REQUIRE(::send(slow, "GET /metr", 9, 0) == 9);
  int idle2 = ConnectLoopback(port);
  auto start = std::chrono::steady_clock::now();
  CHECK(Curl(port, "/metrics").find("\r\n\r\nup 1\n") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(8));
  CHECK(ReadAll(slow).find("200 OK") == std::string::npos);  // closed without an answer
  for (int fd : {idle, slow, idle2}) ::close(fd);
}

// Many held connections: what an attacker, a stuck proxy or a buggy scraper leaves open.
std::vector<int> Hold(int port, int idle, int partial) {
  std::vector<int> fds;
  for (int i = 0; i < idle + partial; ++i) {
    fds.push_back(ConnectLoopback(port));
    if (i >= idle)
      REQUIRE(::send(fds.back(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A", 34, 0) == 34);
  }
  return fds;
}

int64_t Metric(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + name.size() + 2);
}

TEST_CASE("200 idle and 20 half-sent connections leave /healthz and /metrics answering") {
  WebOptions options;
  options.threads = 2;
  // Timeouts far beyond the test: only the gate (waiting connections hold no thread) lets
  // the scrapes through.
  options.idle_timeout_s = 120;
  options.request_timeout_s = 120;
  auto server = StartOn(options);
  const int port = PortOf(*server);
  std::vector<int> held = Hold(port, 200, 20);
  // Each scrape is on a new connection; curl gives up after 10 s.
  CHECK(Curl(port, "/healthz").find("\r\n\r\nok\n") != std::string::npos);
  const std::string metrics = Curl(port, "/metrics");
  CHECK(metrics.find("\r\n\r\nup 1\n") != std::string::npos);
  CHECK(Metric(metrics, "resyncwatch_http_open_connections") >= 221);
  CHECK(Metric(metrics, "resyncwatch_http_evicted_total") == 0);
  for (int fd : held) ::close(fd);
}

TEST_CASE("At the connection limit the connection idle longest makes room, counted") {
  WebOptions options;
  options.threads = 2;
  options.max_connections = 50;
  options.idle_timeout_s = 120;
  options.request_timeout_s = 120;
  auto server = StartOn(options);
  const int port = PortOf(*server);
  std::vector<int> held = Hold(port, 100, 0);
  const std::string metrics = Curl(port, "/metrics");
  CHECK(metrics.find("\r\n\r\nup 1\n") != std::string::npos);
  CHECK(Metric(metrics, "resyncwatch_http_open_connections") <= 50);
  CHECK(Metric(metrics, "resyncwatch_http_evicted_total") >= 51);
  // The first connections were the ones closed: they read the end of the stream.
  pollfd p{held[0], POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10'000) == 1);
  char c;
  CHECK(::recv(held[0], &c, 1, 0) == 0);
  for (int fd : held) ::close(fd);
}

TEST_CASE("Connections held on one address do not use up another address's limit") {
  WebOptions options;
  options.listen = {{"http", "127.0.0.1:0"}, {"metrics", "127.0.0.1:0"}};
  options.threads = 1;
  options.max_connections = 20;
  options.idle_timeout_s = 120;
  options.request_timeout_s = 120;
  auto server = StartOn(options);
  // Every connection of the first address is being answered or half-sent: none to evict.
  std::vector<int> held = Hold(PortOf(*server, 0), 0, 40);
  CHECK(Curl(PortOf(*server, 1), "/healthz").find("\r\n\r\nok\n") != std::string::npos);
  for (int fd : held) ::close(fd);
}

TEST_CASE("/healthz and /metrics answer while every worker is busy with a long request") {
  WebOptions options;
  options.threads = 1;
  std::mutex mu;
  std::condition_variable cv;
  bool busy = false, release = false;
  WebCallbacks callbacks;
  callbacks.collector = [&] {  // a request as slow as a large analysis, held by the test
    std::unique_lock lock(mu);
    busy = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return std::string("{}");
  };
  auto server = StartOn(options, callbacks);
  const int port = PortOf(*server);
  std::thread slow([&] { Curl(port, "/api/collector"); });
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return busy; }));
  }
  CHECK(Curl(port, "/healthz").find("\r\n\r\nok\n") != std::string::npos);
  CHECK(Curl(port, "/metrics").find("\r\n\r\nup 1\n") != std::string::npos);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  slow.join();
}

TEST_CASE("Idle and half-sent connections are closed after their timeouts, counted apart") {
  WebOptions options;
  options.idle_timeout_s = 1;
  options.request_timeout_s = 1;
  auto server = StartOn(options);
  const int port = PortOf(*server);
  std::vector<int> held = Hold(port, 3, 2);
  const WebCounters& counters = server->counters();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((counters.gate.idle_timeouts.load() < 3 || counters.gate.request_timeouts.load() < 2 ||
          counters.gate.open.load() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd p{held[0], POLLIN, 0};
    ::poll(&p, 1, 50);  // waits on the socket, not a clock: the close wakes it
  }
  CHECK(counters.gate.idle_timeouts.load() == 3);
  CHECK(counters.gate.request_timeouts.load() == 2);
  CHECK(counters.gate.open.load() == 0);
  for (int fd : held) {
    char c;
    CHECK(::recv(fd, &c, 1, 0) == 0);  // closed by the server
    ::close(fd);
  }
}

TEST_CASE("Basic auth: users with mkpasswd yescrypt and openssl SHA-512 hashes get in") {
  std::string yescrypt = Run("printf 'w4ll-pass' | mkpasswd --stdin");
  std::string sha512 = Run("openssl passwd -6 'noc secret'");
  REQUIRE(yescrypt.rfind("$y$", 0) == 0);
  REQUIRE(sha512.rfind("$6$", 0) == 0);
  const std::string users = TempPath("users");
  Write(users, "# the NOC\nwall:" + yescrypt + "oncall:" + sha512);
  WebOptions options;
  options.users_file = users;
  auto server = StartOn(options);
  const int port = PortOf(*server);
  std::string refused = Curl(port, "/api/stats");
  CHECK(refused.rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(refused.find("WWW-Authenticate: Basic realm=\"resyncwatch\"") != std::string::npos);
  CHECK(Curl(port, "/metrics", "-u wall:w4ll-pass").rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(Curl(port, "/metrics", "-u 'oncall:noc secret'").rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(Curl(port, "/metrics", "-u wall:wrong").rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(Curl(port, "/metrics", "-u nobody:w4ll-pass").rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(Curl(port, "/healthz").rfind("HTTP/1.1 200 ", 0) == 0);  // for load balancers
  CHECK(server->counters().unauthorized.load() == 3);
}

TEST_CASE("A users file with a weak or unknown hash is refused at start, naming the line") {
  const std::string users = TempPath("weak-users");
  Write(users, "wall:plaintext\n");
  WebOptions options;
  options.listen = {{"http", "127.0.0.1:0"}};
  options.users_file = users;
  auto server = WebServer::Start(options, {}, nullptr);
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().message().find(users + " line 1") != std::string::npos);
}

TEST_CASE("Bearer tokens from the tokens file are accepted, others refused") {
  const std::string tokens = TempPath("tokens");
  Write(tokens, "0123456789abcdef0123\n");
  WebOptions options;
  options.tokens_file = tokens;
  auto server = StartOn(options);
  const int port = PortOf(*server);
  CHECK(Curl(port, "/metrics", "-H 'Authorization: Bearer 0123456789abcdef0123'")
            .rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(Curl(port, "/metrics", "-H 'Authorization: Bearer 0123456789abcdef0124'")
            .rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(Curl(port, "/metrics").rfind("HTTP/1.1 401 ", 0) == 0);
}

TEST_CASE("With a certificate and key the server speaks HTTPS only") {
  const std::string cert = TempPath("cert.pem"), key = TempPath("key.pem");
  int rc = -1;
  Run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
          key + " -out " + cert + " 2>&1",
      &rc);
  REQUIRE(rc == 0);
  WebOptions options;
  options.tls_cert = cert;
  options.tls_key = key;
  auto server = StartOn(options);
  const int port = PortOf(*server);
  CHECK(Curl(port, "/healthz", "--cacert " + cert, "https").find("\r\n\r\nok\n") !=
        std::string::npos);
  CHECK(Curl(port, "/healthz", "", "https").find("200 OK") == std::string::npos);  // unverified
  CHECK(Curl(port, "/healthz").find("200 OK") == std::string::npos);               // plain http
}

TEST_CASE("A certificate that does not load is an error naming the options") {
  WebOptions options;
  options.listen = {{"http", "127.0.0.1:0"}};
  options.tls_cert = "/nonexistent/cert.pem";
  options.tls_key = "/nonexistent/key.pem";
  auto server = WebServer::Start(options, {}, nullptr);
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().message().find("--http-tls-cert /nonexistent/cert.pem") !=
        std::string::npos);
}
