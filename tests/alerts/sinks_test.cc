// Alert sinks delivering to real receivers: an HTTP listener and a UDP socket opened by the
// test on 127.0.0.1 ephemeral ports, real commands through /bin/sh, real files.
#include "alerts/sinks.h"

#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "alerts/alerts.h"
#include "common/clock.h"
#include "tests/testlib/testlib.h"

using namespace resyncwatch;
using resyncwatch::testing::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSec = 1'000'000;

// Waits, woken by the dispatcher's statistics changes, until done holds for the first
// sink (10 s bound).
bool SinkReaches(const AlertDispatcher& d,
                 const std::function<bool(const AlertDispatcher::SinkStats&)>& done) {
  return d.WaitFor([&](const std::vector<AlertDispatcher::SinkStats>& s) { return done(s.at(0)); },
                   std::chrono::seconds(10));
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AlertChange SampleChange(AlertChange::Kind kind, const std::string& server) {
  AlertChange c;
  c.kind = kind;
  Alert& a = c.alert;
  a.rule = AlertRule::kServerFailures;
  a.group_value = server;
  a.state = kind == AlertChange::Kind::kResolved ? Alert::State::kResolved : Alert::State::kFiring;
  a.window_us = 300 * kSec;
  a.threshold = 50;
  a.failures = 64;
  a.started_us = 1'795'000'000LL * kSec;
  a.first_us = a.started_us - 20 * kSec;
  a.last_us = a.started_us;
  a.updated_us = a.started_us;
  a.last_error = "http_get failed";
  a.sample_macs = {0x000e08123456ULL, 0x000e08123457ULL};
  a.id = "server_failures/" + server + "/" + std::to_string(a.started_us);
  return c;
}

AlertConfig OneSink(AlertConfig::Sink::Type type, std::string target) {
  AlertConfig c;
  AlertConfig::Sink sink;
  sink.type = type;
  sink.target = std::move(target);
  sink.timeout_us = 5 * kSec;
  c.sinks = {sink};
  c.retry_initial_us = 20'000;
  c.retry_max_us = 200'000;
  return c;
}

// A loopback listening socket on an ephemeral port.
int Listen(int type, int* port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  if (type == SOCK_STREAM) REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

// Accepts one HTTP request, answers with status_line, returns what it received.
std::string ServeOneHttpRequest(int listen_fd, const std::string& status_line) {
  if (!Readable(listen_fd, 10'000)) return "";
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  std::string got;
  size_t need = std::string::npos;
  while (got.size() < need && Readable(fd, 10'000)) {
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, n);
    size_t end = got.find("\r\n\r\n");
    size_t cl = got.find("Content-Length: ");
    if (end != std::string::npos && cl != std::string::npos) {
      need = end + 4 + std::stoul(got.substr(cl + 16));
    }
  }
  std::string reply = status_line + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  ::close(fd);
  return got;
}

bool Delivered(const AlertDispatcher& d, int64_t n) {
  return SinkReaches(d, [n](const AlertDispatcher::SinkStats& s) { return s.delivered == n; });
}

}  // namespace

TEST_CASE("The webhook sink POSTs the alert JSON to a real HTTP listener") {
  int port = 0;
  int lfd = Listen(SOCK_STREAM, &port);
  std::string first, second;
  std::thread server([&] {
    first = ServeOneHttpRequest(lfd, "HTTP/1.1 503 Service Unavailable");  // retried
    second = ServeOneHttpRequest(lfd, "HTTP/1.1 204 No Content");
  });
  auto d = AlertDispatcher::Start(OneSink(AlertConfig::Sink::Type::kWebhook,
                                          "http://127.0.0.1:" + std::to_string(port) + "/hook"));
  REQUIRE(d.ok());
  CHECK((*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a")));
  server.join();
  ::close(lfd);
  CHECK(Delivered(**d, 1));
  CHECK((*d)->Stats()[0].failed_attempts == 1);
  (*d)->Stop(SystemClock::Instance().NowMicros());

  CHECK(second.rfind("POST /hook HTTP/1.1\r\n", 0) == 0);
  CHECK(second.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
  CHECK(second.find("\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n") != std::string::npos);
  std::string body = second.substr(second.find("\r\n\r\n") + 4);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(!parser.parse(body).get(doc));
  CHECK(std::string_view(doc["rule"]) == "server_failures");
  CHECK(std::string_view(doc["group"]["value"]) == "prov-a");
  CHECK(std::string_view(doc["state"]) == "firing");
  CHECK(first.substr(first.find("\r\n\r\n") + 4) == body);
}

TEST_CASE("The exec sink runs a real command with the alert JSON on stdin") {
  TempDir dir;
  fs::path out = fs::path(dir.Join("alert.json"));
  auto d = AlertDispatcher::Start(
      OneSink(AlertConfig::Sink::Type::kExec, "cat > '" + out.string() + "'"));
  REQUIRE(d.ok());
  (*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a"));
  REQUIRE(Delivered(**d, 1));
  std::string text = ReadFile(out);
  CHECK(text == AlertToJson(SampleChange(AlertChange::Kind::kFired, "prov-a").alert) + "\n");
}

TEST_CASE("A failing sink is retried with back-off until it succeeds") {
  TempDir dir;
  fs::path mark = fs::path(dir.Join("mark")), out = fs::path(dir.Join("out"));
  // Fails twice (exit 3), then accepts.
  std::string cmd = "n=$(cat '" + mark.string() + "' 2>/dev/null || echo 0); " +
                    "if [ \"$n\" -lt 2 ]; then echo $((n+1)) > '" + mark.string() +
                    "'; exit 3; fi; cat > '" + out.string() + "'";
  auto d = AlertDispatcher::Start(OneSink(AlertConfig::Sink::Type::kExec, cmd));
  REQUIRE(d.ok());
  (*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a"));
  REQUIRE(Delivered(**d, 1));
  CHECK((*d)->Stats()[0].failed_attempts == 2);
  CHECK(ReadFile(out).find("\"server_failures\"") != std::string::npos);
}

TEST_CASE("A failing sink gives an alert up once it is older than retry_give_up by the clock") {
  // Give-up is an hour, by a clock the test moves: no wait for the hour.
  ManualClock clock(1'795'000'000LL * kSec);
  AlertConfig c = OneSink(AlertConfig::Sink::Type::kExec, "exit 3");
  c.retry_give_up_us = 3600 * kSec;
  auto d = AlertDispatcher::Start(c, &clock);
  REQUIRE(d.ok());
  (*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a"));
  REQUIRE(SinkReaches(**d, [](const auto& s) { return s.failed_attempts >= 2; }));
  CHECK((*d)->Stats()[0].dropped == 0);  // an hour has not passed
  clock.Advance(3601 * kSec);
  CHECK(SinkReaches(**d, [](const auto& s) { return s.dropped == 1 && s.queued == 0; }));
  CHECK((*d)->Stats()[0].delivered == 0);
}

TEST_CASE("A stuck sink never blocks the engine: its queue fills and drops are counted") {
  AlertConfig c = OneSink(AlertConfig::Sink::Type::kExec, "exec sleep 30");
  c.sinks[0].timeout_us = 1 * kSec;  // the stuck command is killed after a second
  c.sink_queue = 2;
  auto d = AlertDispatcher::Start(c);
  REQUIRE(d.ok());
  AlertDispatcher& dispatcher = **d;

  // The engine's listener hands every change to the dispatcher, as the collector does.
  AlertConfig rules;
  rules.failures_min = 1;
  rules.ratio_enabled = false;
  rules.device_enabled = false;
  rules.failures_group_by = AlertGrouping{false, true, false, false};
  int accepted = 0, refused = 0;
  AlertEngine engine(
      rules, [&](const AlertChange& ch) { (dispatcher.Submit(ch) ? accepted : refused)++; });
  for (int i = 0; i < 20; ++i) {
    Event e;
    e.kind = EventKind::kResyncFailure;
    e.event_time_us = 1'795'000'000LL * kSec + i;
    e.mac = 0x000e08000100ULL + i;
    e.server = "prov-" + std::to_string(i);  // one new alert per event
    engine.Observe(e);
  }
  CHECK(engine.ActiveCount(AlertRule::kServerFailures) == 20);
  CHECK(accepted + refused == 20);
  CHECK(refused >= 17);  // one in delivery at most, two queued
  CHECK(dispatcher.Stats()[0].dropped == refused);
  // Meanwhile the sink really was stuck: its command is killed at the timeout and retried.
  CHECK(SinkReaches(dispatcher, [](const auto& s) { return s.failed_attempts >= 1; }));
  dispatcher.Stop(SystemClock::Instance().NowMicros());
  CHECK(dispatcher.Stats()[0].delivered == 0);
}

TEST_CASE("The JSON-lines file sink appends one alert per line") {
  TempDir dir;
  fs::path out = fs::path(dir.Join("alerts.jsonl"));
  auto d = AlertDispatcher::Start(OneSink(AlertConfig::Sink::Type::kFile, out.string()));
  REQUIRE(d.ok());
  (*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a"));
  (*d)->Submit(SampleChange(AlertChange::Kind::kUpdated, "prov-a"));  // store only
  (*d)->Submit(SampleChange(AlertChange::Kind::kResolved, "prov-a"));
  REQUIRE(Delivered(**d, 2));
  std::istringstream lines(ReadFile(out));
  std::string line;
  std::vector<std::string> states;
  simdjson::dom::parser parser;
  while (std::getline(lines, line)) {
    simdjson::dom::element doc;
    REQUIRE(!parser.parse(line).get(doc));
    states.emplace_back(std::string_view(doc["state"]));
  }
  CHECK(states == std::vector<std::string>{"firing", "resolved"});
}

TEST_CASE("The syslog sink sends an RFC 5424 message to the NMS over UDP") {
  int port = 0;
  int fd = Listen(SOCK_DGRAM, &port);
  AlertConfig c = OneSink(AlertConfig::Sink::Type::kSyslog, "127.0.0.1:" + std::to_string(port));
  c.syslog_hostname = "appliance1";
  auto d = AlertDispatcher::Start(c);
  REQUIRE(d.ok());
  (*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov \"a\"]"));
  REQUIRE(Readable(fd, 10'000));
  char buf[8192];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  REQUIRE(n > 0);
  std::string msg(buf, n);
  // local0 (16) * 8 + warning (4) = 132; version 1; UTC timestamp; our host; app; pid.
  CHECK(msg.rfind("<132>1 ", 0) == 0);
  CHECK(msg.find("Z appliance1 resyncwatchd " + std::to_string(getpid()) + " firing ") !=
        std::string::npos);
  CHECK(msg.find("[resyncwatch@32473 id=\"server_failures/prov \\\"a\\\"\\]/") !=
        std::string::npos);
  CHECK(msg.find(" group=\"prov \\\"a\\\"\\]\" state=\"firing\"] {") != std::string::npos);
  std::string json = msg.substr(msg.find("] {") + 2);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  CHECK(!parser.parse(json).get(doc));
}

TEST_CASE("Webhook URLs are parsed into host, port and path") {
  auto u = ParseHttpUrl("http://[::1]:8080/a/b?c=d");
  REQUIRE(u.ok());
  CHECK(u->host == "::1");
  CHECK(u->port == 8080);
  CHECK(u->path == "/a/b?c=d");
  CHECK(u->host_header == "[::1]:8080");
  auto v = ParseHttpUrl("http://noc.example.net");
  REQUIRE(v.ok());
  CHECK(v->port == 80);
  CHECK(v->path == "/");
  auto w = ParseHttpUrl("https://noc.example.net/hook");
  REQUIRE(w.ok());
  CHECK(w->https);
  CHECK(w->port == 443);
  CHECK_FALSE(v->https);
  CHECK_FALSE(ParseHttpUrl("ftp://noc.example.net/").ok());
  CHECK_FALSE(ParseHttpUrl("http://noc:99999/").ok());
}

namespace {

// An HTTPS listener on loopback with a fresh self-signed certificate for 127.0.0.1; counts
// the alert bodies it receives.
struct TlsListener {
  TempDir dir;
  std::string cert = (fs::path(dir.Join("cert.pem"))).string();
  std::string key = (fs::path(dir.Join("key.pem"))).string();
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  std::atomic<int> posts{0};
  int port = 0;

  TlsListener() {
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    REQUIRE(server->is_valid());
    server->Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.body.find("\"rule\":\"server_failures\"") != std::string::npos) ++posts;
      res.status = 204;
    });
    port = server->bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server->listen_after_bind(); });
    while (!server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TlsListener() {
    server->stop();
    thread.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port) + "/hook"; }
};

}  // namespace

TEST_CASE("The webhook sink POSTs over https, verifying the certificate against ca_file") {
  TlsListener tls;
  AlertConfig c = OneSink(AlertConfig::Sink::Type::kWebhook, tls.url());
  c.sinks[0].ca_file = tls.cert;
  auto d = AlertDispatcher::Start(c);
  REQUIRE(d.ok());
  CHECK((*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a")));
  CHECK(Delivered(**d, 1));
  CHECK(tls.posts == 1);
  CHECK((*d)->Stats()[0].failed_attempts == 0);
  (*d)->Stop(SystemClock::Instance().NowMicros());
}

TEST_CASE("The webhook sink refuses an https server it cannot verify, unless told not to") {
  TlsListener tls;
  {
    // The system's trust store does not know the self-signed certificate.
    auto d = AlertDispatcher::Start(OneSink(AlertConfig::Sink::Type::kWebhook, tls.url()));
    REQUIRE(d.ok());
    (*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a"));
    CHECK(SinkReaches(**d, [](const auto& s) { return s.failed_attempts >= 2; }));
    CHECK((*d)->Stats()[0].delivered == 0);
    CHECK(tls.posts == 0);
    (*d)->Stop(SystemClock::Instance().NowMicros());
  }
  AlertConfig c = OneSink(AlertConfig::Sink::Type::kWebhook, tls.url());
  c.sinks[0].verify_tls = false;
  auto d = AlertDispatcher::Start(c);
  REQUIRE(d.ok());
  (*d)->Submit(SampleChange(AlertChange::Kind::kFired, "prov-a"));
  CHECK(Delivered(**d, 1));
  CHECK(tls.posts == 1);
  (*d)->Stop(SystemClock::Instance().NowMicros());
}
