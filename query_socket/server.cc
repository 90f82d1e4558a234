// QueryServer: the collector's side of the query socket (query_socket.h, wire.h).
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "common/counter_names.h"
#include "query_socket/query_socket.h"
#include "query_socket/wire.h"
#include "store/key_format.h"
#include "store/record_codec.h"

namespace resyncwatch {
namespace {

namespace qw = query_wire;

// A client that has connected sends its next request within this, or is dropped; also the
// bound on a reader that takes nothing while an answer (or a follow) waits for it.
constexpr int kClientTimeoutMs = 2000;
// How long a last word (the reason a follow ends) may wait for room in the socket.
constexpr int kLastWordMs = 200;

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

}  // namespace

class QueryServer::Impl {
 public:
  Impl(const Store& store, std::string path, Hooks hooks)
      : store_(store), path_(std::move(path)), hooks_(std::move(hooks)) {}

  ~Impl() {
    if (wake_fd_ >= 0) {
      uint64_t one = 1;
      // The eventfd stays readable from here on: every wait of every thread ends.
      [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    for (Connection& c : conns_) c.thread.join();
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      ::unlink(path_.c_str());
    }
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  Status Start();
  const std::string& path() const { return path_; }
  uint64_t served() const { return served_.load(std::memory_order_relaxed); }

 private:
  struct Connection {
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  void AcceptLoop();
  void Reap();
  void Serve(int conn);
  Status Answer(int conn, std::string_view body);
  Status AnswerHistory(int conn, const qw::HistoryRequest& r);
  Status AnswerFollow(int conn, const qw::FollowRequest& r);
  Status AnswerImport(int conn, qw::ImportRequest& r);
  Status SendEvents(int conn, const std::vector<EventFanout::BatchPtr>& batches,
                    const FollowMatcher& matcher, std::string* chunk);

  Status Done(int conn, const Status& status, std::string_view payload = {}) {
    return qw::WriteAll(conn, qw::DoneFrame(status, payload), wake_fd_, kClientTimeoutMs);
  }

  const Store& store_;
  const std::string path_;
  const Hooks hooks_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::list<Connection> conns_;  // touched by the accept thread only (and the destructor)
  std::atomic<uint64_t> served_{0};
};

Status QueryServer::Impl::Start() {
  Result<sockaddr_un> address = qw::UnixAddress(path_);
  if (!address.ok()) return address.status();
  const sockaddr_un& addr = *address;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::IoError(Errno("eventfd for", path_));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(Errno("socket for", path_));
  // A socket file that nobody accepts on is a dead daemon's; one that answers may be
  // another daemon's (--query-socket names any path), and anything else is not ours.
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      ::close(fd);
      return Status::InvalidArgument("query socket path " + path_ + " exists and is not a socket");
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      ::close(fd);
      return Status::Busy("another process answers on the query socket " + path_);
    }
  }
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    Status s = Status::IoError(Errno("cannot remove the stale socket", path_));
    ::close(fd);
    return s;
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    Status s = Status::IoError(Errno("cannot bind", path_));
    ::close(fd);
    return s;
  }
  listen_fd_ = fd;
  if (::chmod(path_.c_str(), 0660) != 0) return Status::IoError(Errno("cannot chmod", path_));
  if (::listen(fd, 64) != 0) return Status::IoError(Errno("cannot listen on", path_));
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "rw-query");
    AcceptLoop();
  });
  return Status::Ok();
}

void QueryServer::Impl::AcceptLoop() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents) return;
    if (!fds[0].revents) continue;
    int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    Reap();
    if (conns_.size() >= kMaxConnections) {
      Done(conn, Status::Busy("the query socket serves " + std::to_string(kMaxConnections) +
                              " connections already"));
      ::close(conn);
      continue;
    }
    Connection& c = conns_.emplace_back();
    c.thread = std::thread([this, conn, &c] {
      Serve(conn);
      ::close(conn);
      c.finished.store(true, std::memory_order_release);
    });
  }
}

void QueryServer::Impl::Reap() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (!it->finished.load(std::memory_order_acquire)) {
      ++it;
      continue;
    }
    it->thread.join();
    it = conns_.erase(it);
  }
}

// Answers requests until the client closes, goes quiet, errs or the server stops.
void QueryServer::Impl::Serve(int conn) {
  qw::FrameReader reader(conn, wake_fd_, kClientTimeoutMs);
  std::string_view body;
  while (reader.Next(&body).ok()) {
    // Counted before the answer leaves, so that a client that has its answer sees it.
    served_.fetch_add(1, std::memory_order_relaxed);
    if (!Answer(conn, body).ok()) return;
  }
}

// Writes the whole answer to one request; an error means the connection is unusable.
Status QueryServer::Impl::Answer(int conn, std::string_view body) {
  Result<qw::Request> request = qw::DecodeRequest(body);
  if (!request.ok()) return Done(conn, request.status());
  if (auto* r = std::get_if<qw::HistoryRequest>(&*request)) return AnswerHistory(conn, *r);
  if (auto* r = std::get_if<qw::MacForSerialRequest>(&*request)) {
    Result<MacAddress> mac = store_.MacForSerial(r->sn);
    if (!mac.ok()) return Done(conn, mac.status());
    return Done(conn, Status::Ok(), store_format::MacKey(*mac));
  }
  if (auto* r = std::get_if<qw::GetDeviceRequest>(&*request)) {
    Result<DeviceSummary> device = store_.GetDevice(r->mac);
    if (!device.ok()) return Done(conn, device.status());
    std::string payload;
    store_format::EncodeSummary(*device, &payload);
    return Done(conn, Status::Ok(), payload);
  }
  if (auto* r = std::get_if<qw::FollowRequest>(&*request)) {
    AnswerFollow(conn, *r);
    return Status::IoError("a follow uses its connection up");
  }
  return AnswerImport(conn, std::get<qw::ImportRequest>(*request));
}

// Streams the events in chunks as History produces them.
Status QueryServer::Impl::AnswerHistory(int conn, const qw::HistoryRequest& r) {
  std::string chunk;
  Status sent;
  auto flush = [&] {
    qw::FinishFrame(&chunk, 0);
    sent = qw::WriteAll(conn, chunk, wake_fd_, kClientTimeoutMs);
    qw::BeginEvents(&chunk);
    return sent.ok();
  };
  qw::BeginEvents(&chunk);
  Status read = store_.History(r.mac, r.range, [&](const Event& e) {
    qw::AppendEvent(e, &chunk);
    return chunk.size() < qw::kChunkBytes || flush();
  });
  if (!sent.ok()) return sent;
  if (qw::HasEvents(chunk) && !flush()) return sent;
  return Done(conn, read);
}

namespace {

// An importer may move only the counters an import counts, each by at most the lines of
// its batch: the collector's and the store's own counters are not a client's to change.
Status CheckImportCounters(const WriteBatch& batch) {
  const int64_t lines = static_cast<int64_t>(batch.events.size() + batch.raw.size());
  for (const auto& [name, delta] : batch.counter_deltas) {
    const CounterInfo* info = nullptr;
    for (const CounterInfo& c : AllCounters()) {
      if (c.name == name && c.counted_by == CountedBy::kImport) info = &c;
    }
    if (info == nullptr || delta < 0 || delta > lines) {
      return Status::InvalidArgument("an import may not move counter '" + name + "' by " +
                                     std::to_string(delta));
    }
  }
  return Status::Ok();
}

}  // namespace

Status QueryServer::Impl::AnswerImport(int conn, qw::ImportRequest& r) {
  if (!hooks_.import) {
    return Done(conn, Status::Unsupported("this resyncwatchd does not take imports"));
  }
  if (Status s = CheckImportCounters(r.batch); !s.ok()) return Done(conn, s);
  Result<WriteResult> written = hooks_.import(r.batch);
  if (!written.ok()) return Done(conn, written.status());
  return Done(conn, Status::Ok(), qw::EncodeWriteResult(*written));
}

// Sends what the follower wants until it goes, is cut off, or the server stops. The
// first frame (empty) tells the client that it is subscribed.
Status QueryServer::Impl::AnswerFollow(int conn, const qw::FollowRequest& r) {
  if (hooks_.fanout == nullptr) {
    return Done(conn, Status::Unsupported("this resyncwatchd does not serve follows"));
  }
  Result<std::unique_ptr<FollowMatcher>> matcher = FollowMatcher::Compile(r.filter);
  if (!matcher.ok()) return Done(conn, matcher.status());
  Result<std::shared_ptr<EventFanout::Subscription>> sub =
      hooks_.fanout->Subscribe(r.filter.mac, r.filter.max_pending);
  if (!sub.ok()) return Done(conn, sub.status());
  std::string chunk;
  qw::BeginEvents(&chunk);
  qw::FinishFrame(&chunk, 0);
  if (Status s = qw::WriteAll(conn, chunk, wake_fd_, kClientTimeoutMs); !s.ok()) return s;
  std::vector<EventFanout::BatchPtr> batches;
  for (;;) {
    pollfd fds[3] = {{conn, POLLIN, 0}, {(*sub)->wake_fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, 3, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(std::string("poll: ") + std::strerror(errno));
    if (fds[2].revents) {
      return qw::WriteAll(conn, qw::DoneFrame(Status::Busy("the collector is stopping"), {}), -1,
                          kLastWordMs);
    }
    // A follower sends nothing after its request: anything readable is its going away.
    if (fds[0].revents) return Status::Ok();
    if (!fds[1].revents) continue;
    bool cut_off = false;
    (*sub)->Take(&batches, &cut_off);
    if (Status s = SendEvents(conn, batches, **matcher, &chunk); !s.ok()) return s;
    if (cut_off) {
      const Status why =
          Status::Busy("cut off: this follower fell more than " +
                       std::to_string((*sub)->pending_limit()) + " events behind the collector");
      return qw::WriteAll(conn, qw::DoneFrame(why, {}), -1, kLastWordMs);
    }
  }
}

Status QueryServer::Impl::SendEvents(int conn, const std::vector<EventFanout::BatchPtr>& batches,
                                     const FollowMatcher& matcher, std::string* chunk) {
  qw::BeginEvents(chunk);
  for (const EventFanout::BatchPtr& batch : batches) {
    for (const Event& e : batch->events) {
      if (!matcher.Matches(e)) continue;
      qw::AppendEvent(e, chunk);
      if (chunk->size() < qw::kChunkBytes) continue;
      qw::FinishFrame(chunk, 0);
      if (Status s = qw::WriteAll(conn, *chunk, wake_fd_, kClientTimeoutMs); !s.ok()) return s;
      qw::BeginEvents(chunk);
    }
  }
  if (!qw::HasEvents(*chunk)) return Status::Ok();
  qw::FinishFrame(chunk, 0);
  return qw::WriteAll(conn, *chunk, wake_fd_, kClientTimeoutMs);
}

QueryServer::QueryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryServer::~QueryServer() = default;

Result<std::unique_ptr<QueryServer>> QueryServer::Start(const Store& store,
                                                        const std::string& socket_path,
                                                        Hooks hooks) {
  auto impl = std::make_unique<Impl>(store, socket_path, std::move(hooks));
  if (Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<QueryServer>(new QueryServer(std::move(impl)));
}

Result<std::unique_ptr<QueryServer>> QueryServer::Start(const Store& store,
                                                        const std::string& socket_path) {
  return Start(store, socket_path, Hooks());
}

const std::string& QueryServer::socket_path() const { return impl_->path(); }
uint64_t QueryServer::requests_served() const { return impl_->served(); }

}  // namespace resyncwatch
