// Following through the query socket: the fan-out hands stored batches to bounded
// per-follower queues, the server filters and sends them, and a follower that falls
// behind is cut off with a reason while the publisher never waits.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "query_socket/query_socket.h"
#include "query_socket/wire.h"
#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;
namespace qw = resyncwatch::query_wire;

namespace {

constexpr MacAddress kMacA = 0x000e08000001;
constexpr MacAddress kMacB = 0x000e08000002;

std::vector<Event> Batch(MacAddress mac, int n, int64_t t0, EventKind kind) {
  std::vector<Event> out;
  for (int i = 0; i < n; ++i) {
    Event e = PhoneEvent(mac, t0 + i, kind);
    e.seq = static_cast<uint64_t>(t0 + i);
    out.push_back(e);
  }
  return out;
}

// A follow on its own thread, collecting what it receives.
class Follower {
 public:
  Follower(const std::string& dir, FollowFilter filter) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    auto client = QueryClient::ConnectToWriter(dir);
    REQUIRE(client.ok());
    client_ = std::move(*client);
    thread_ = std::thread([this, filter] {
      Status s = client_->Follow(
          filter, stop_fd_,
          [this](const Event& e) {
            std::lock_guard lock(mu_);
            events_.push_back(e);
            cv_.notify_all();
            return true;
          },
          [this] {
            std::lock_guard lock(mu_);
            subscribed_ = true;
            cv_.notify_all();
          });
      std::lock_guard lock(mu_);
      result_ = s;
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~Follower() {
    Stop();
    ::close(stop_fd_);
  }
  bool WaitSubscribed() {
    return Wait([&] { return subscribed_ || ended_; }) && subscribed_;
  }
  bool WaitEvents(size_t n) {
    return Wait([&] { return events_.size() >= n; });
  }
  Status WaitEnd() {
    Wait([&] { return ended_; });
    std::lock_guard lock(mu_);
    return ended_ ? result_ : Status::IoError("the follow did not end");
  }
  void Stop() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  template <typename Pred>
  bool Wait(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), pred);
  }
  int stop_fd_ = -1;
  std::unique_ptr<QueryClient> client_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool subscribed_ = false;
  bool ended_ = false;
  Status result_;
  std::vector<Event> events_;
};

}  // namespace

TEST_CASE("A fan-out without followers takes nothing, and cuts off a follower that falls behind") {
  EventFanout fanout;
  fanout.Publish(Batch(kMacA, 5, kT0, EventKind::kResyncRequest));
  CHECK(fanout.followers() == 0);

  auto slow = fanout.Subscribe(0, 10);
  auto other = fanout.Subscribe(kMacB, 10);
  REQUIRE(slow.ok());
  REQUIRE(other.ok());
  CHECK(fanout.followers() == 2);
  fanout.Publish(Batch(kMacA, 4, kT0, EventKind::kResyncRequest));
  fanout.Publish(Batch(kMacA, 4, kT0 + 10, EventKind::kResyncRequest));
  CHECK(fanout.cut_offs() == 0);
  // The third batch does not fit in the slow follower's 10: it is cut off, not waited for.
  fanout.Publish(Batch(kMacA, 4, kT0 + 20, EventKind::kResyncRequest));
  CHECK(fanout.cut_offs() == 1);
  std::vector<EventFanout::BatchPtr> got;
  bool cut = false;
  (*slow)->Take(&got, &cut);
  CHECK(cut);
  REQUIRE(got.size() == 2);  // what was queued before the cut still comes out
  CHECK(got[1]->events.front().event_time_us == kT0 + 10);

  // The device follower was handed none of A's events, so it is not behind at all.
  (*other)->Take(&got, &cut);
  CHECK_FALSE(cut);
  CHECK(got.empty());
  fanout.Publish(Batch(kMacB, 3, kT0 + 30, EventKind::kResyncSuccess));
  (*other)->Take(&got, &cut);
  REQUIRE(got.size() == 1);
  CHECK(got[0]->events.size() == 3);

  slow->reset();
  other->reset();
  CHECK(fanout.followers() == 0);
}

TEST_CASE("Followers receive the events stored after they subscribed, filtered as they asked") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Join("db"));
  EventFanout fanout;
  QueryServer::Hooks hooks;
  hooks.fanout = &fanout;
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()), hooks);
  REQUIRE(server.ok());

  fanout.Publish(Batch(kMacA, 3, kT0, EventKind::kResyncFailure));  // before anyone follows
  FollowFilter device;
  device.mac = kMacA;
  FollowFilter failures;
  failures.kind_mask = 1u << static_cast<unsigned>(EventKind::kResyncFailure);
  failures.pattern = "HTTP_GET";
  failures.ignore_case = true;
  Follower a(tmp.path(), device), f(tmp.path(), failures);
  REQUIRE(a.WaitSubscribed());
  REQUIRE(f.WaitSubscribed());
  CHECK(fanout.followers() == 2);

  std::vector<Event> mixed = Batch(kMacA, 2, kT0 + 100, EventKind::kResyncRequest);
  for (const Event& e : Batch(kMacB, 2, kT0 + 200, EventKind::kResyncFailure)) mixed.push_back(e);
  for (const Event& e : Batch(kMacA, 1, kT0 + 300, EventKind::kResyncFailure)) mixed.push_back(e);
  fanout.Publish(mixed);
  REQUIRE(a.WaitEvents(3));
  REQUIRE(f.WaitEvents(3));
  std::vector<Event> got_a = a.events(), got_f = f.events();
  REQUIRE(got_a.size() == 3);
  CHECK(got_a[0].event_time_us == kT0 + 100);
  CHECK(got_a[2].event_time_us == kT0 + 300);
  for (const Event& e : got_a) CHECK(e.mac == kMacA);
  REQUIRE(got_f.size() == 3);
  for (const Event& e : got_f) CHECK(e.kind == EventKind::kResyncFailure);
  CheckSame(got_f[2], mixed[4]);

  a.Stop();
  CHECK(a.WaitEnd().ok());  // the caller's stop is a clean end
  // The server notices the follower is gone and drops its subscription.
  f.Stop();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fanout.followers() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  CHECK(fanout.followers() == 0);
}

TEST_CASE("A follower with a bad pattern is told so before it starts") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Join("db"));
  EventFanout fanout;
  QueryServer::Hooks hooks;
  hooks.fanout = &fanout;
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()), hooks);
  REQUIRE(server.ok());
  FollowFilter bad;
  bad.pattern = "(unclosed";
  Follower f(tmp.path(), bad);
  CHECK_FALSE(f.WaitSubscribed());
  Status s = f.WaitEnd();
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("(unclosed") != std::string::npos);
  CHECK(fanout.followers() == 0);
}

TEST_CASE("A follower that reads nothing is cut off with a reason and never holds up publishing") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Join("db"));
  EventFanout fanout;
  QueryServer::Hooks hooks;
  hooks.fanout = &fanout;
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()), hooks);
  REQUIRE(server.ok());
  // A raw client that subscribes with a small bound and then does not read.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = *qw::UnixAddress(QuerySocketPath(tmp.path()));
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  FollowFilter filter;
  filter.max_pending = 500;
  REQUIRE(qw::WriteAll(fd, qw::EncodeRequest(qw::FollowRequest{filter}), -1, 5000).ok());
  qw::FrameReader reader(fd, -1, 10000);
  std::string_view body;
  REQUIRE(reader.Next(&body).ok());  // subscribed
  // Far more than the socket buffers and the bound hold: each Publish returns at once
  // (a publisher that waited for this reader would never get through the loop).
  std::vector<Event> big = Batch(kMacA, 100, kT0, EventKind::kResyncRequest);
  for (Event& e : big) e.message += std::string(1000, 'x');
  for (int i = 0; i < 200; ++i) fanout.Publish(big);
  CHECK(fanout.cut_offs() == 1);

  // Reading now: the events that were sent, then the server's reason (or, when even that
  // found no room, the end of the stream).
  uint64_t received = 0;
  Status end;
  for (;;) {
    Status s = reader.Next(&body);
    if (!s.ok()) {
      end = s;
      break;
    }
    if (static_cast<uint8_t>(body[0]) == qw::kReplyEvents) {
      Event scratch;
      REQUIRE(qw::ForEachEvent(body, &scratch, [&](const Event&) { return ++received; }).ok());
      continue;
    }
    std::string_view payload;
    REQUIRE(qw::ParseDone(body, &end, &payload).ok());
    break;
  }
  INFO(end.ToString());
  CHECK(received < 200u * 100u);
  if (end.code() == Status::Code::kBusy) {
    CHECK(end.message().find("cut off") != std::string::npos);
  } else {
    // Closed by the server without a last word (its write to this reader timed out).
    CHECK((end.IsNotFound() || end.code() == Status::Code::kIoError));
  }
  ::close(fd);
}

TEST_CASE("Stopping the server ends every follow with the reason") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Join("db"));
  EventFanout fanout;
  QueryServer::Hooks hooks;
  hooks.fanout = &fanout;
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()), hooks);
  REQUIRE(server.ok());
  Follower f(tmp.path(), FollowFilter{});
  REQUIRE(f.WaitSubscribed());
  server->reset();
  Status s = f.WaitEnd();
  CHECK(s.code() == Status::Code::kBusy);
  CHECK(s.message().find("stopping") != std::string::npos);
}

TEST_CASE("Imports through the query socket are written by the hook and answered with its counts") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Join("db"));
  QueryServer::Hooks hooks;
  hooks.import = [&](WriteBatch& b) { return store->Write(b); };
  auto server = QueryServer::Start(*store, QuerySocketPath(tmp.path()), hooks);
  REQUIRE(server.ok());
  auto client = QueryClient::ConnectToWriter(tmp.path());
  REQUIRE(client.ok());
  WriteBatch batch;
  batch.skip_duplicates = true;
  for (const Event& e : Batch(kMacA, 5, kT0, EventKind::kResyncRequest)) {
    batch.events.push_back(e);
    batch.events.back().seq = 0;
  }
  Result<WriteResult> first = (*client)->Import(batch);
  REQUIRE(first.ok());
  CHECK(first->events_stored == 5);
  Result<WriteResult> again = (*client)->Import(batch);
  REQUIRE(again.ok());
  CHECK(again->events_stored == 0);
  CHECK(again->duplicates_skipped == 5);
  CHECK(History(**client, kMacA).size() == 5);

  // An importer moves only the import's own counter, by at most its lines.
  auto counter = [&](const std::string& name) {
    auto counters = store->Counters();
    REQUIRE(counters.ok());
    auto it = counters->find(name);
    return it == counters->end() ? int64_t{0} : it->second;
  };
  const int64_t before = counter("stored_events");
  for (const auto& [name, delta] : std::vector<std::pair<std::string, int64_t>>{
           {"stored_events", 1}, {"imported_lines", -5}, {"imported_lines", 6}}) {
    CAPTURE(name, delta);
    WriteBatch forged = batch;
    forged.counter_deltas = {{name, delta}};
    Result<WriteResult> refused = (*client)->Import(forged);
    CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  }
  CHECK(counter("stored_events") == before);
  WriteBatch honest = batch;
  honest.counter_deltas = {{"imported_lines", 5}};
  CHECK((*client)->Import(honest).ok());
  CHECK(counter("imported_lines") == 5);

  // A server without the hook says so.
  TempDir other;
  auto plain = QueryServer::Start(*store, QuerySocketPath(other.path()));
  REQUIRE(plain.ok());
  auto client2 = QueryClient::ConnectToWriter(other.path());
  REQUIRE(client2.ok());
  CHECK((*client2)->Import(batch).status().code() == Status::Code::kUnsupported);
}

TEST_CASE("The writer's batch is taken without a copy and its vector comes back for reuse") {
  EventFanout fanout;
  std::vector<Event> events = Batch(kMacA, 3, kT0, EventKind::kResyncRequest);
  fanout.PublishTaking(&events);
  CHECK(events.size() == 3);  // no follower: left alone

  auto sub = fanout.Subscribe(0, 0);
  REQUIRE(sub.ok());
  const Event* storage = events.data();
  fanout.PublishTaking(&events);
  CHECK(events.empty());  // taken, and nothing finished yet to give back
  std::vector<EventFanout::BatchPtr> got;
  bool cut = false;
  (*sub)->Take(&got, &cut);
  REQUIRE(got.size() == 1);
  CHECK(got[0]->events.data() == storage);  // the same Events, not copies
  CHECK(got[0]->events[2].event_time_us == kT0 + 2);
  got.clear();  // the follower is done with it

  std::vector<Event> next = Batch(kMacB, 2, kT0 + 10, EventKind::kResyncSuccess);
  fanout.PublishTaking(&next);
  // The finished batch's Events come back to be refilled by the writer.
  CHECK(next.data() == storage);
  CHECK(next.size() == 3);
}
