// The query socket's device reads: a QueryServer on a temporary store, read through a
// QueryClient and compared with the store's own answers.
#include "query_socket/query_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "query_socket/wire.h"
#include "store/store.h"
#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

constexpr MacAddress kMacA = 0x000e08000001;
constexpr MacAddress kMacB = 0x000e08000002;
constexpr MacAddress kUnseen = 0x000e080000ff;

void CheckSameHistory(const Store& local, const DeviceReader& remote, MacAddress mac,
                      TimeRange range = {}) {
  std::vector<Event> want = History(local, mac, range);
  std::vector<Event> got = History(remote, mac, range);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CheckSame(got[i], want[i]);
}

// A store whose devices A and B have events both in the index and in the unindexed tail;
// A's history is long enough to travel in several chunks.
std::unique_ptr<Store> FilledStore(const std::string& dir) {
  StoreOptions options;
  options.index_flush_events = 50;
  auto store = OpenOrDie(dir, options);
  for (int i = 0; i < 420; ++i) {
    WriteBatch batch;
    Event a = PhoneEvent(kMacA, kT0 + i * kSec,
                         i % 3 == 2 ? EventKind::kResyncFailure : EventKind::kResyncRequest);
    a.message += " " + std::string(200, 'x');  // not a reference: makes the chunks fill
    if (i == 0) a.sn = "FCH2251A1B2";
    a.host = "phone-a";
    a.timestamp_text = "Nov 25 00:00:00";
    batch.events.push_back(a);
    if (i % 7 == 0) {
      Event b = PhoneEvent(kMacB, kT0 + i * kSec + 1, EventKind::kResyncSuccess, "SPA112");
      b.message_time_us.reset();
      if (i == 0) b.sn = "CBT1234567";
      batch.events.push_back(b);
    }
    auto r = store->Write(batch);
    REQUIRE(r.ok());
  }
  return store;
}

int RawConnect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const sockaddr_un addr = *query_wire::UnixAddress(path);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

}  // namespace

TEST_CASE("History, serials and devices through the query socket equal the store's own") {
  TempDir tmp;
  auto store = FilledStore(tmp.path());
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()));
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  CHECK(QuerySocketPath(tmp.path()) == tmp.path() + "/query.sock");
  CHECK(std::filesystem::is_socket(QuerySocketPath(tmp.path())));

  auto remote = QueryClient::ConnectToWriter(tmp.path());
  INFO(remote.status().ToString());
  REQUIRE(remote.ok());
  const DeviceReader& r = **remote;

  // Both devices have indexed events and events in the unindexed tail.
  REQUIRE(History(*store, kMacA).size() == 420);
  CheckSameHistory(*store, r, kMacA);
  CheckSameHistory(*store, r, kMacB);
  CheckSameHistory(*store, r, kMacA, {kT0 + 100 * kSec, kT0 + 415 * kSec});
  CheckSameHistory(*store, r, kMacB, {kT0 + 7 * kSec, kT0 + 400 * kSec});
  CHECK(History(r, kUnseen).empty());

  // A visitor that stops early leaves the connection in step for the next request.
  int seen = 0;
  REQUIRE(r.History(kMacA, {}, [&](const Event&) {
             ++seen;
             return seen < 3;
           }).ok());
  CHECK(seen == 3);

  auto by_sn = r.MacForSerial("FCH2251A1B2");
  REQUIRE(by_sn.ok());
  CHECK(*by_sn == kMacA);
  CHECK(*r.MacForSerial("CBT1234567") == kMacB);
  CHECK(r.MacForSerial("NOSUCHSERIAL").status().IsNotFound());

  for (MacAddress mac : {kMacA, kMacB}) {
    auto want = store->GetDevice(mac);
    auto got = r.GetDevice(mac);
    REQUIRE(want.ok());
    REQUIRE(got.ok());
    CHECK(got->mac == mac);
    CHECK(got->model == want->model);
    CHECK(got->sn == want->sn);
    CHECK(got->last_ip == want->last_ip);
    CHECK(got->first_seen_us == want->first_seen_us);
    CHECK(got->last_seen_us == want->last_seen_us);
    CHECK(got->last_failure_us == want->last_failure_us);
    CHECK(got->consecutive_failures == want->consecutive_failures);
    CHECK(got->last_error == want->last_error);
    CHECK(got->events == want->events);
  }
  CHECK(r.GetDevice(kUnseen).status().IsNotFound());

  CHECK((*server)->requests_served() == 12);
}

TEST_CASE("Without a listening server the query socket is NotFound, so callers fall back") {
  TempDir tmp;
  auto none = QueryClient::ConnectToWriter(tmp.path());
  CHECK(none.status().IsNotFound());

  // A socket file left behind by a killed daemon: nobody accepts on it.
  const std::string path = QuerySocketPath(tmp.path());
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  const sockaddr_un addr = *query_wire::UnixAddress(path);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
  REQUIRE(std::filesystem::is_socket(path));
  auto stale = QueryClient::ConnectToWriter(tmp.path());
  INFO(stale.status().ToString());
  CHECK(stale.status().IsNotFound());

  // A new server replaces the stale file and answers.
  auto store = FilledStore(tmp.path() + "/db");
  auto server = QueryServer::Start(*store, path);
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  auto remote = QueryClient::Connect(path);
  REQUIRE(remote.ok());
  CHECK(*(*remote)->MacForSerial("CBT1234567") == kMacB);

  // A socket that answers is not stale: a second server leaves it to the first.
  auto second = QueryServer::Start(*store, path);
  CHECK(second.status().code() == Status::Code::kBusy);
  CHECK(*(*remote)->MacForSerial("CBT1234567") == kMacB);
}

TEST_CASE("A query socket path holding something other than a socket is left alone") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Join("db"));
  const std::string path = tmp.Join("not-a-socket");
  std::ofstream(path) << "keep me";
  auto server = QueryServer::Start(*store, path);
  CHECK(server.status().code() == Status::Code::kInvalidArgument);
  CHECK(std::filesystem::is_regular_file(path));
}

TEST_CASE("Stopping the query server while clients are connected ends cleanly") {
  TempDir tmp;
  auto store = FilledStore(tmp.path());
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()));
  REQUIRE(server.ok());
  auto remote = QueryClient::ConnectToWriter(tmp.path());
  REQUIRE(remote.ok());
  CHECK(History(**remote, kMacB).size() == 60);
  // Another client connected, silent.
  auto second = QueryClient::ConnectToWriter(tmp.path());
  REQUIRE(second.ok());

  server->reset();
  CHECK_FALSE(std::filesystem::exists(QuerySocketPath(tmp.path())));
  for (const QueryClient* client : {remote->get(), second->get()}) {
    Status s = client->History(kMacA, {}, [](const Event&) { return true; });
    INFO(s.ToString());
    CHECK_FALSE(s.ok());
  }
  // Once it is gone, clients are told there is nothing to ask.
  CHECK(QueryClient::ConnectToWriter(tmp.path()).status().IsNotFound());
}

TEST_CASE("A query server that accepts but never answers is an error, not a hang") {
  TempDir tmp;
  const std::string path = QuerySocketPath(tmp.path());
  // Listening, so connects succeed, but nothing ever accepts or answers.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const sockaddr_un addr = *query_wire::UnixAddress(path);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  auto hung = QueryClient::Connect(path, /*timeout_ms=*/200);
  REQUIRE(hung.ok());
  Status s = (*hung)->History(kMacA, {}, [](const Event&) { return true; });
  INFO(s.ToString());
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(s.message().find("no answer within 200 ms") != std::string::npos);
  CHECK((*hung)->MacForSerial("FCH2251A1B2").status().code() == Status::Code::kIoError);
  ::close(fd);
}

TEST_CASE("A query in an unknown protocol version is refused naming both versions") {
  TempDir tmp;
  auto store = FilledStore(tmp.path());
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()));
  REQUIRE(server.ok());
  int fd = RawConnect(QuerySocketPath(tmp.path()));

  std::string request = query_wire::EncodeRequest(query_wire::GetDeviceRequest{kMacA});
  REQUIRE(static_cast<uint8_t>(request[4]) == query_wire::kVersion);
  request[4] = static_cast<char>(query_wire::kVersion + 1);
  REQUIRE(query_wire::WriteAll(fd, request, -1, 5000).ok());
  query_wire::FrameReader reader(fd, -1, 5000);
  std::string_view body;
  REQUIRE(reader.Next(&body).ok());
  Status status;
  std::string_view payload;
  REQUIRE(query_wire::ParseDone(body, &status, &payload).ok());
  CHECK(status.code() == Status::Code::kUnsupported);
  INFO(status.message());
  CHECK(status.message().find("version " + std::to_string(query_wire::kVersion + 1)) !=
        std::string::npos);
  CHECK(status.message().find("speaks version " + std::to_string(query_wire::kVersion)) !=
        std::string::npos);
  CHECK(payload.empty());

  // The connection stays usable for a request in the right version.
  REQUIRE(query_wire::WriteAll(fd, query_wire::EncodeRequest(query_wire::GetDeviceRequest{kMacA}),
                               -1, 5000)
              .ok());
  REQUIRE(reader.Next(&body).ok());
  REQUIRE(query_wire::ParseDone(body, &status, &payload).ok());
  CHECK(status.ok());
  CHECK_FALSE(payload.empty());
  ::close(fd);
}
