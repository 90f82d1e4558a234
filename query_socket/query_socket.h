// query_socket: how `resyncwatch` talks to a running resyncwatchd over the Unix stream
// socket beside its store (DIR/query.sock; wire format: docs/store-format.md, "The query
// socket"). Three jobs cross it:
//  - device reads (history, serial, device summary): QueryClient is a DeviceReader, so a
//    command reads the collector exactly as it reads a store it opened itself;
//  - following: a client subscribes with a FollowFilter and receives the events the
//    collector stores from then on. The writer publishes each stored batch to an
//    EventFanout; every follower has a bounded queue and its own thread, so matching and
//    sending never run on the ingest path, and a follower that falls behind is cut off
//    (never waited for);
//  - import: a client sends WriteBatches that the collector writes through its own
//    writer (QueryServer::Hooks::import), so an archive loads while the collector runs.
// Ownership: the daemon owns the QueryServer and the EventFanout; the server reads the
// Store and calls the hooks it was given, all of which must outlive it. Thread-safety:
// EventFanout and QueryServer are thread-safe; one QueryClient serialises its calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace resyncwatch {

// What a follower wants to see. Every condition must hold; empty/zero means "any".
struct FollowFilter {
  MacAddress mac = 0;        // only this device's events
  uint32_t kind_mask = ~0u;  // bit (1u << kind) per wanted EventKind
  std::string pattern;       // RE2 searched in the message body
  bool ignore_case = false;  // for pattern
  uint32_t max_pending = 0;  // events held for this follower before it is cut off;
                             // 0: the server's default (capped by the server)
};

// Compiled form of a FollowFilter. InvalidArgument for a bad pattern.
class FollowMatcher {
 public:
  static Result<std::unique_ptr<FollowMatcher>> Compile(const FollowFilter& filter);
  ~FollowMatcher();
  bool Matches(const Event& e) const;
  const FollowFilter& filter() const { return filter_; }

 private:
  struct Regex;
  explicit FollowMatcher(FollowFilter filter);
  FollowFilter filter_;
  std::unique_ptr<Regex> regex_;
};

// The hand-over from the writer to the followers, meant for the ingest thread: with no
// follower a publish is one atomic load; with followers, PublishTaking() takes the batch's
// Events by swapping the vector (no copy) for one the followers are done with, and hands
// every follower a shared pointer. A follower whose queue would exceed its bound is
// marked cut off instead: publishing never waits for a follower.
class EventFanout {
 public:
  static constexpr uint32_t kDefaultMaxPending = 65536;
  static constexpr size_t kMaxFollowers = 64;

  struct Batch {
    std::vector<Event> events;
  };
  using BatchPtr = std::shared_ptr<const Batch>;

  // One follower's queue. Thread-safe.
  class Subscription {
   public:
    ~Subscription();
    // An fd that becomes readable when batches wait or the follower was cut off.
    int wake_fd() const { return wake_fd_; }
    // Takes the waiting batches (and clears the wake fd). *cut_off: the follower fell more
    // than max_pending events behind; what was queued before still comes out.
    void Take(std::vector<BatchPtr>* out, bool* cut_off);
    uint64_t pending_limit() const { return max_pending_; }

   private:
    friend class EventFanout;
    Subscription(MacAddress mac, uint64_t max_pending, int wake_fd)
        : mac_(mac), max_pending_(max_pending), wake_fd_(wake_fd) {}
    const MacAddress mac_;
    const uint64_t max_pending_;
    const int wake_fd_;
    std::mutex mu_;
    std::vector<BatchPtr> queue_;
    uint64_t pending_ = 0;
    bool cut_off_ = false;
  };

  EventFanout() = default;
  EventFanout(const EventFanout&) = delete;
  EventFanout& operator=(const EventFanout&) = delete;

  // Busy when kMaxFollowers follow already. max_pending 0: kDefaultMaxPending; larger
  // values are capped to it. The subscription ends when the pointer is released.
  Result<std::shared_ptr<Subscription>> Subscribe(MacAddress mac, uint32_t max_pending);
  // Without followers *events is left alone; with followers it is taken, and replaced by
  // Events that a finished batch held (to be refilled) or by none.
  void PublishTaking(std::vector<Event>* events);
  // The same for events the caller keeps: copies them.
  void Publish(std::span<const Event> events);
  size_t followers() const { return count_.load(std::memory_order_relaxed); }
  // Followers cut off since start (for the daemon's stop line and tests).
  uint64_t cut_offs() const { return cut_offs_.load(std::memory_order_relaxed); }

 private:
  void Unsubscribe(const Subscription* sub);
  void Hand(BatchPtr batch);  // REQUIRES: mu_ held

  // Event vectors of finished batches, for the publisher to refill. Shared with the
  // batches' deleters, which may run after a publish on any follower's thread.
  struct Pool {
    std::mutex mu;
    std::vector<std::vector<Event>> free;
  };
  std::shared_ptr<Pool> pool_ = std::make_shared<Pool>();
  BatchPtr MakeBatch(std::vector<Event>* events);

  std::mutex mu_;
  std::vector<Subscription*> subs_;  // removed by a subscription's deleter, under mu_
  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> cut_offs_{0};
};

// Serves a store's device reads, follows and imports on a Unix stream socket, one thread
// per connection (at most kMaxConnections; more are refused with Busy). A connection that
// sends nothing for a few seconds between requests is dropped; a follow lasts until the
// client closes, is cut off, or the server stops. The destructor stops every thread (also
// mid-request) and removes the socket file.
class QueryServer {
 public:
  static constexpr size_t kMaxConnections = EventFanout::kMaxFollowers + 16;

  struct Hooks {
    // Followers subscribe here; null: follow requests are answered Unsupported.
    EventFanout* fanout = nullptr;
    // Writes an imported batch through the collector's writer; empty: imports are
    // answered Unsupported. Called from connection threads, one batch at a time each.
    std::function<Result<WriteResult>(WriteBatch&)> import;
  };

  // REQUIRES: store and what hooks point to outlive the server. Replaces a stale socket
  // file at socket_path; the socket gets mode 0660 (owner and group, like the store).
  // Busy when another process answers there. Errors name the path.
  static Result<std::unique_ptr<QueryServer>> Start(const Store& store,
                                                    const std::string& socket_path, Hooks hooks);
  // Device reads only: follows and imports are answered Unsupported.
  static Result<std::unique_ptr<QueryServer>> Start(const Store& store,
                                                    const std::string& socket_path);
  ~QueryServer();
  QueryServer(const QueryServer&) = delete;
  QueryServer& operator=(const QueryServer&) = delete;

  const std::string& socket_path() const;
  uint64_t requests_served() const;

 private:
  class Impl;
  explicit QueryServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A connection to the QueryServer at a socket path. Every wait for the server ends after
// timeout_ms without progress (a hung server is an IoError, not a hang), except while
// following, which waits for events as long as it takes. A server that speaks another
// protocol version answers Unsupported. A request that finds the connection closed by the
// server's idle timeout before any answer is sent again once on a new connection.
class QueryClient final : public DeviceReader {
 public:
  // NotFound when no server listens there (no socket, a stale one, or a path no socket
  // can have), so that callers fall back to opening the store.
  static Result<std::unique_ptr<QueryClient>> Connect(const std::string& socket_path,
                                                      int timeout_ms = 5000);
  // Connect(QuerySocketPath(store_dir)).
  static Result<std::unique_ptr<QueryClient>> ConnectToWriter(const std::string& store_dir);
  ~QueryClient() override;

  Status History(MacAddress mac, TimeRange range, const EventVisitor& visit) const override;
  Result<DeviceSummary> GetDevice(MacAddress mac) const override;
  Result<MacAddress> MacForSerial(std::string_view sn) const override;

  // Passes every stored event that matches filter to visit, from now on, until stop_fd
  // (-1: none) becomes readable (Ok), visit returns false (Ok), or the server ends the
  // follow: Busy with the server's reason when this follower was cut off or the
  // collector stops, IoError when the connection broke. on_subscribed (may be empty) is
  // called once the server has subscribed: any event stored after that call is seen.
  // Errors before that (a bad pattern: InvalidArgument) come back without it. The
  // connection is used up.
  Status Follow(const FollowFilter& filter, int stop_fd, const EventVisitor& visit,
                const std::function<void()>& on_subscribed = {});
  // Writes batch through the collector (deduplicated as batch.skip_duplicates says);
  // returns what the store did with it. Once this returns Ok the batch is stored.
  Result<WriteResult> Import(const WriteBatch& batch);

 private:
  class Conn;
  QueryClient(std::string path, int fd, int timeout_ms);
  std::unique_ptr<Conn> conn_;
};

}  // namespace resyncwatch
