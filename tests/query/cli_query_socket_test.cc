// `resyncwatch history` through a writer's query socket: the same output as reading the
// store, and a clear line plus the store's answer when the socket misbehaves.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "query_socket/query_socket.h"
#include "query_socket/wire.h"
#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {
namespace {

std::unique_ptr<Store> OpenFixture(const std::string& dir) {
  WriteFixtureFleet(dir);
  auto store = Store::Open(dir, {});
  REQUIRE(store.ok());
  return std::move(*store);
}

// A server of some other protocol: answers every request with one status.
class FakeServer {
 public:
  FakeServer(const std::string& path, Status answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    const sockaddr_un addr = *query_wire::UnixAddress(path);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    thread_ = std::thread([this] {
      for (;;) {
        int conn = ::accept(fd_, nullptr, nullptr);
        if (conn < 0) return;  // shut down
        query_wire::FrameReader reader(conn, -1, 5000);
        std::string_view request;
        while (reader.Next(&request).ok()) {
          if (!query_wire::WriteAll(conn, query_wire::DoneFrame(answer_, {}), -1, 5000).ok()) {
            break;
          }
        }
        ::close(conn);
      }
    });
  }
  ~FakeServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }

 private:
  Status answer_;
  int fd_ = -1;
  std::thread thread_;
};

}  // namespace

TEST_CASE("history through the writer's query socket prints what reading the store prints") {
  TempDir dir;
  auto store = OpenFixture(dir.path());
  auto server = QueryServer::Start(*store, QuerySocketPath(dir.path()));
  REQUIRE(server.ok());
  const std::vector<std::vector<std::string>> commands = {
      {"history", "FCH2251A1B2", "--json"},
      {"history", "00:12:34:ab:45:de", "--utc"},
      {"history", "000e08abcdef", "--csv", "--utc"},
      {"history", "00:0e:08:aa:bb:cc", "--since", "2026-11-25T08:00:25Z", "--json"},
      {"history", "00:12:34:ab:45:de", "--since", "2026-11-26T00:00:00Z"},  // seen, none then
      {"history", "00:0e:08:00:00:99"},                                     // never seen
      {"history", "NOSUCHSERIAL"},
  };
  uint64_t served = 0;
  for (std::vector<std::string> args : commands) {
    args.insert(args.end(), {"--db", dir.path()});
    CliRun socket = RunCli(args, {"TZ=UTC"});
    CHECK((*server)->requests_served() > served);
    served = (*server)->requests_served();
    args.push_back("--direct");
    CliRun direct = RunCli(args, {"TZ=UTC"});
    CHECK((*server)->requests_served() == served);
    INFO(args[1] << " " << args[2]);
    CHECK(socket.exit_code == direct.exit_code);
    CHECK(socket.out == direct.out);
    CHECK(socket.err == direct.err);
  }
}

TEST_CASE("history against a query socket of another protocol says so once and reads the store") {
  TempDir dir;
  auto store = OpenFixture(dir.path());
  store.reset();
  FakeServer other(QuerySocketPath(dir.path()),
                   Status::Unsupported("query protocol version 1 is not spoken by this "
                                       "resyncwatchd (it speaks version 2)"));
  CliRun direct = RunCli({"history", "FCH2251A1B2", "--json", "--db", dir.path(), "--direct"});
  CliRun run = RunCli({"history", "FCH2251A1B2", "--json", "--db", dir.path()});
  CHECK(run.exit_code == 0);
  CHECK(run.out == direct.out);
  CHECK_THAT(run.err, Catch::Matchers::StartsWith(
                          "resyncwatch history: the collector did not answer (query protocol "
                          "version 1 is not spoken by this resyncwatchd (it speaks version 2)); "
                          "reading the store\n"));
  CHECK(std::count(run.err.begin(), run.err.end(), '\n') ==
        std::count(direct.err.begin(), direct.err.end(), '\n') + 1);
}

}  // namespace resyncwatch::testing
