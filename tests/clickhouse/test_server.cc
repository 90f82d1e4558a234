#include "test_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <random>

#include "clickhouse/http.h"

namespace resyncwatch::testing {
namespace {

constexpr const char* kServer = "/usr/sbin/clickhouse-server";

// The lowest port the kernel hands out by itself (bind to port 0, a connection's own end).
int EphemeralLow() {
  int low = 32768, high = 60999;
  if (std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d %d", &low, &high) != 2) low = 32768;
    std::fclose(f);
  }
  return low;
}

// A port on loopback for the server, free now, below the kernel's ephemeral range: the
// test kills and restarts the server on the same ports, and meanwhile an outgoing
// connection of any process could be given a freed ephemeral port, so that the restart
// could not bind it.
int FreePort() {
  static std::mt19937 random{std::random_device{}()};
  const int high = EphemeralLow();
  std::uniform_int_distribution<int> pick(std::min(10000, high - 1000), high - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(random);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

// HTTPS beside HTTP, with the certificate Certificate() made.
std::string HttpsXml(const std::string& dir, int https_port) {
  return "  <https_port>" + std::to_string(https_port) +
         "</https_port>\n"
         "  <openSSL><server><certificateFile>" +
         dir + "/cert.pem</certificateFile><privateKeyFile>" + dir +
         "/key.pem</privateKeyFile><verificationMode>none</verificationMode>"
         "<loadDefaultCAFile>false</loadDefaultCAFile><disableProtocols>sslv2,sslv3"
         "</disableProtocols></server></openSSL>\n";
}

// A self-signed certificate for 127.0.0.1 (its own CA), made with the openssl tool.
bool Certificate(const std::string& dir) {
  std::string out;
  return RunCapture({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                     dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "2", "-subj",
                     "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                    &out) == 0;
}

// The native port, and a cluster of two shards that are both this server, each shard's
// tables in its own database (shard1, shard2): a Distributed table over it spreads rows
// over two real shards on one process.
std::string ClusterXml(int tcp_port) {
  std::string shards;
  for (const char* db : {"shard1", "shard2"}) {
    shards += "<shard><replica><host>127.0.0.1</host><port>" + std::to_string(tcp_port) +
              "</port><default_database>" + db + "</default_database></replica></shard>";
  }
  return "  <tcp_port>" + std::to_string(tcp_port) +
         "</tcp_port>\n"
         "  <remote_servers><two_shards>" +
         shards + "</two_shards></remote_servers>\n";
}

std::string ConfigXml(const std::string& dir, int port, int https_port, int tcp_port) {
  return "<?xml version=\"1.0\"?>\n<yandex>\n" + HttpsXml(dir, https_port) + ClusterXml(tcp_port) +
         "  <logger><level>warning</level><log>" + dir + "/server.log</log><errorlog>" + dir +
         "/server.err.log</errorlog><console>0</console></logger>\n"
         "  <http_port>" +
         std::to_string(port) +
         "</http_port>\n"
         "  <listen_host>127.0.0.1</listen_host>\n"
         "  <path>" +
         dir +
         "/data/</path>\n"
         "  <tmp_path>" +
         dir +
         "/data/tmp/</tmp_path>\n"
         "  <user_files_path>" +
         dir +
         "/data/user_files/</user_files_path>\n"
         "  <format_schema_path>" +
         dir +
         "/data/format_schemas/</format_schema_path>\n"
         "  <mark_cache_size>67108864</mark_cache_size>\n"
         "  <uncompressed_cache_size>67108864</uncompressed_cache_size>\n"
         "  <max_concurrent_queries>64</max_concurrent_queries>\n"
         "  <users_config>" +
         dir +
         "/users.xml</users_config>\n"
         "  <default_profile>default</default_profile>\n"
         "  <default_database>default</default_database>\n"
         "  <timezone>UTC</timezone>\n"
         "  <mlock_executable>false</mlock_executable>\n"
         "</yandex>\n";
}

constexpr const char* kUsersXml =
    "<?xml version=\"1.0\"?>\n<yandex>\n"
    // insert_distributed_sync: an INSERT into a Distributed table is acknowledged once the
    // shards have the rows (docs/clickhouse.md, "On a cluster").
    "  <profiles><default><max_memory_usage>2000000000</max_memory_usage>"
    "<insert_distributed_sync>1</insert_distributed_sync></default></profiles>\n"
    "  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>"
    "<profile>default</profile><quota>default</quota></default></users>\n"
    "  <quotas><default></default></quotas>\n</yandex>\n";

}  // namespace

bool ClickHouseInstalled() { return ::access(kServer, X_OK) == 0; }

TestClickHouse& TestClickHouse::Get() {
  // Destroyed at exit, which kills the server; setpriv's parent-death signal kills it
  // too when the test process dies without exiting (a timeout).
  static std::unique_ptr<TestClickHouse> server(new TestClickHouse());
  static bool started = [] {
    REQUIRE(ClickHouseInstalled());
    return server->Start();
  }();
  REQUIRE(started);
  return *server;
}

TestClickHouse::TestClickHouse() {
  // Half a second to start; one per test process (ctest runs each test case in its own).
  // Three ports, distinct: the kernel may hand the same free port out twice in a row.
  int https_port = 0, tcp_port = 0;
  do {
    port_ = FreePort();
    https_port = FreePort();
    tcp_port = FreePort();
  } while (port_ == https_port || port_ == tcp_port || https_port == tcp_port);
  url_ = "http://127.0.0.1:" + std::to_string(port_);
  https_url_ = "https://127.0.0.1:" + std::to_string(https_port);
  certificate_ok_ = Certificate(dir_.path());
  WriteFileText(dir_.Join("config.xml"), ConfigXml(dir_.path(), port_, https_port, tcp_port));
  WriteFileText(dir_.Join("users.xml"), kUsersXml);
}

TestClickHouse::~TestClickHouse() { Kill(); }

ClickHouseOptions TestClickHouse::Options(const std::string& database) const {
  ClickHouseOptions o;
  o.url = url_;
  o.database = database;
  o.timeout_ms = 10'000;
  return o;
}

void TestClickHouse::Kill() {
  if (server_) server_->Stop(9);
  server_.reset();
}

bool TestClickHouse::Start() {
  server_ =
      std::make_unique<Daemon>("/usr/bin/setpriv",
                               std::vector<std::string>{"--pdeathsig", "KILL", kServer,
                                                        "--config-file=" + dir_.Join("config.xml")},
                               dir_.path(), /*with_port_file=*/false);
  clickhouse::Http http(Options("default"));
  return WaitUntil(
             [&] {
               if (!server_->running()) return true;
               return http.Execute("SELECT 1", "").ok();
             },
             std::chrono::seconds(30)) &&
         server_->running();
}

std::string TestClickHouse::Scalar(const std::string& sql) const {
  clickhouse::Http http(Options("default"));
  std::string first;
  Status s = http.Query(sql + " FORMAT TabSeparated", [&](std::string_view line) {
    first = std::string(line.substr(0, line.find('\t')));
    return false;
  });
  return s.ok() ? first : "";
}

}  // namespace resyncwatch::testing
