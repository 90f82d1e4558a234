// QueryClient: the client side of the query socket (query_socket.h, wire.h).
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "query_socket/query_socket.h"
#include "query_socket/wire.h"
#include "store/key_format.h"
#include "store/record_codec.h"

namespace resyncwatch {
namespace {

namespace qw = query_wire;

Result<int> ConnectFd(const std::string& path, int timeout_ms) {
  // A path no socket can have cannot have a daemon behind it either: the caller falls back.
  Result<sockaddr_un> address = qw::UnixAddress(path);
  if (!address.ok()) return Status::NotFound(address.status().message());
  const sockaddr_un& addr = *address;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
  // Bounds a connect that waits for room in a busy server's backlog.
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR) {
      return Status::NotFound("no resyncwatchd answers on " + path);
    }
    // Not allowed into the store directory: opening the store says so in its own words.
    if (err == EACCES) return Status::NotFound("not allowed to connect to " + path);
    return Status::IoError("cannot connect to " + path + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

// One connection and the request/answer exchange on it.
class QueryClient::Conn {
 public:
  Conn(std::string path, int fd, int timeout_ms)
      : path_(std::move(path)), timeout_ms_(timeout_ms), fd_(fd), reader_(fd, -1, timeout_ms) {}
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Sends request and reads its answer: events to *visit, the final status, and the
  // payload into *payload. The server drops a connection that stays quiet, so a request
  // that finds the connection closed before any answer is sent again once on a new one.
  Status Call(const std::string& request, const EventVisitor* visit, std::string* payload) {
    std::lock_guard lock(mu_);
    for (int attempt = 0;; ++attempt) {
      if (fd_ < 0) {
        Result<int> fd = ConnectFd(path_, timeout_ms_);
        if (!fd.ok()) return fd.status();
        fd_ = *fd;
        reader_.Reset(fd_);
      }
      Status s = Exchange(request, visit, payload);
      if (s.ok() || fd_ >= 0) return s;
      if (attempt > 0 || !retry_) return s;
    }
  }

  // A follow: the server confirms the subscription with an empty events frame, then the
  // answer has no end but the server's final frame, the caller, or stop_fd.
  Status Follow(const std::string& request, int stop_fd, const EventVisitor& visit,
                const std::function<void()>& on_subscribed) {
    std::lock_guard lock(mu_);
    if (fd_ < 0) {
      Result<int> fd = ConnectFd(path_, timeout_ms_);
      if (!fd.ok()) return fd.status();
      fd_ = *fd;
      reader_.Reset(fd_);
    }
    bool subscribed = false;
    auto first = [&](const Event&) { return true; };
    std::string payload;
    Status s = qw::WriteAll(fd_, request, stop_fd, timeout_ms_);
    std::string_view body;
    if (s.ok()) s = reader_.Next(&body);
    if (s.ok() && !body.empty() && static_cast<uint8_t>(body[0]) == qw::kReplyEvents) {
      Event scratch;
      s = qw::ForEachEvent(body, &scratch, first);
      subscribed = s.ok();
    } else if (s.ok()) {
      Status status;
      std::string_view data;
      s = qw::ParseDone(body, &status, &data);
      if (s.ok()) s = status;
      if (s.ok()) s = Status::Corruption("the server ended a follow before it began");
    }
    if (subscribed) {
      if (on_subscribed) on_subscribed();
      // From here on the wait for the next event has no bound.
      reader_.set_wake_fd(stop_fd);
      reader_.set_timeout_ms(-1);
      s = Exchange({}, &visit, &payload, stop_fd);
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    reader_.set_wake_fd(-1);
    reader_.set_timeout_ms(timeout_ms_);
    return s;
  }

 private:
  // One request on the open connection; closes it (fd_ = -1) when it is unusable, and
  // sets retry_ when nothing of the answer had arrived. A readable stop_fd ends it: Ok.
  Status Exchange(const std::string& request, const EventVisitor* visit, std::string* payload,
                  int stop_fd = -1) {
    retry_ = false;
    auto broken = [&](const Status& s, bool nothing_received) {
      ::close(fd_);
      fd_ = -1;
      retry_ = nothing_received;
      return Status::IoError("query socket " + path_ + ": " + s.message());
    };
    if (Status s = qw::WriteAll(fd_, request, -1, timeout_ms_); !s.ok()) return broken(s, true);
    bool received = false;
    bool more = true;
    Event scratch;
    auto pass = [&](const Event& e) { return more = (*visit)(e); };
    for (;;) {
      std::string_view body;
      if (Status s = reader_.Next(&body); !s.ok()) {
        if (stop_fd >= 0 && s.code() == Status::Code::kBusy) return Status::Ok();
        return broken(s.IsNotFound() ? Status::IoError("the server closed the connection") : s,
                      !received && s.IsNotFound());
      }
      received = true;
      const uint8_t type = body.empty() ? 0 : static_cast<uint8_t>(body[0]);
      if (type == qw::kReplyEvents && visit) {
        if (!more) continue;  // the caller stopped: drain the rest of the answer
        if (Status s = qw::ForEachEvent(body, &scratch, pass); !s.ok()) return broken(s, false);
        if (!more && stop_fd >= 0) return Status::Ok();  // a follow has no rest to drain
        continue;
      }
      Status status;
      std::string_view data;
      if (type != qw::kReplyDone || !qw::ParseDone(body, &status, &data).ok()) {
        return broken(Status::Corruption("unexpected frame from the server"), false);
      }
      payload->assign(data);
      return status;
    }
  }

  const std::string path_;
  const int timeout_ms_;
  std::mutex mu_;
  int fd_;
  bool retry_ = false;
  qw::FrameReader reader_;
};

QueryClient::QueryClient(std::string path, int fd, int timeout_ms)
    : conn_(std::make_unique<Conn>(std::move(path), fd, timeout_ms)) {}
QueryClient::~QueryClient() = default;

Result<std::unique_ptr<QueryClient>> QueryClient::Connect(const std::string& socket_path,
                                                          int timeout_ms) {
  Result<int> fd = ConnectFd(socket_path, timeout_ms);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<QueryClient>(new QueryClient(socket_path, *fd, timeout_ms));
}

Result<std::unique_ptr<QueryClient>> QueryClient::ConnectToWriter(const std::string& store_dir) {
  return Connect(QuerySocketPath(store_dir));
}

Status QueryClient::History(MacAddress mac, TimeRange range, const EventVisitor& visit) const {
  std::string payload;
  return conn_->Call(qw::EncodeRequest(qw::HistoryRequest{mac, range}), &visit, &payload);
}

Result<MacAddress> QueryClient::MacForSerial(std::string_view sn) const {
  std::string payload;
  Status s =
      conn_->Call(qw::EncodeRequest(qw::MacForSerialRequest{std::string(sn)}), nullptr, &payload);
  if (!s.ok()) return s;
  std::optional<MacAddress> mac = store_format::ParseMacKey(payload);
  if (!mac) return Status::Corruption("malformed MAC from the query server");
  return *mac;
}

Result<DeviceSummary> QueryClient::GetDevice(MacAddress mac) const {
  std::string payload;
  if (Status s = conn_->Call(qw::EncodeRequest(qw::GetDeviceRequest{mac}), nullptr, &payload);
      !s.ok()) {
    return s;
  }
  DeviceSummary summary;
  summary.mac = mac;
  if (Status s = store_format::DecodeSummary(payload, &summary); !s.ok()) return s;
  return summary;
}

Status QueryClient::Follow(const FollowFilter& filter, int stop_fd, const EventVisitor& visit,
                           const std::function<void()>& on_subscribed) {
  return conn_->Follow(qw::EncodeRequest(qw::FollowRequest{filter}), stop_fd, visit, on_subscribed);
}

Result<WriteResult> QueryClient::Import(const WriteBatch& batch) {
  std::string payload;
  if (Status s = conn_->Call(qw::EncodeImportRequest(batch), nullptr, &payload); !s.ok()) return s;
  return qw::DecodeWriteResult(payload);
}

}  // namespace resyncwatch
