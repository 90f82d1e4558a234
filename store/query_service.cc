// StoreQueryServer: the writer's side of the query socket (store.h, query_protocol.h).
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "store/key_format.h"
#include "store/query_protocol.h"
#include "store/record_codec.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

namespace qp = query_protocol;

// A client that has connected sends its next request within this, or is dropped (it
// would otherwise hold up every other client); also the bound on a stalled reader.
constexpr int kClientTimeoutMs = 2000;

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

}  // namespace

class StoreQueryServer::Impl {
 public:
  Impl(const Store& store, std::string path) : store_(store), path_(std::move(path)) {}

  ~Impl() {
    if (thread_.joinable()) {
      uint64_t one = 1;
      // The eventfd stays readable from here on: every wait of the thread ends.
      [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
      thread_.join();
    }
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      ::unlink(path_.c_str());
    }
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  Status Start() {
    Result<sockaddr_un> address = query_protocol::UnixAddress(path_);
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
        return Status::InvalidArgument("query socket path " + path_ +
                                       " exists and is not a socket");
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
    thread_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  const std::string& path() const { return path_; }
  uint64_t served() const { return served_.load(std::memory_order_relaxed); }

 private:
  void Loop() {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
      int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || fds[1].revents) return;
      if (!fds[0].revents) continue;
      int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      Serve(conn);
      ::close(conn);
    }
  }

  // Answers requests until the client closes, goes quiet, errs or the server stops.
  void Serve(int conn) {
    qp::FrameReader reader(conn, wake_fd_, kClientTimeoutMs);
    std::string_view request;
    std::string out;
    while (reader.Next(&request).ok()) {
      out.clear();
      // Counted before the answer leaves, so that a client that has its answer sees it.
      served_.fetch_add(1, std::memory_order_relaxed);
      if (!Answer(conn, request, &out).ok()) return;
    }
  }

  // Writes the whole answer to request; an error means the connection is unusable.
  Status Answer(int conn, std::string_view request, std::string* out) {
    auto done = [&](const Status& status, std::string_view payload = {}) {
      return qp::WriteAll(conn, qp::DoneFrame(status, payload), wake_fd_, kClientTimeoutMs);
    };
    if (request.size() < 2) return done(Status::Corruption("query request too short"));
    const uint8_t version = static_cast<uint8_t>(request[0]);
    if (version != qp::kVersion) {
      return done(Status::Unsupported("query protocol version " + std::to_string(version) +
                                      " is not spoken by this resyncwatchd (it speaks version " +
                                      std::to_string(qp::kVersion) + ")"));
    }
    const uint8_t op = static_cast<uint8_t>(request[1]);
    std::string_view args = request.substr(2);
    switch (op) {
      case qp::kOpHistory: {
        if (args.size() != store_format::kMacKeySize + 16) {
          return done(Status::Corruption("malformed history request"));
        }
        MacAddress mac = *store_format::ParseMacKey(args.substr(0, store_format::kMacKeySize));
        TimeRange range;
        range.since_us = store_format::UnbiasTime(store_format::GetFixed64(args.data() + 6));
        range.until_us = store_format::UnbiasTime(store_format::GetFixed64(args.data() + 14));
        return AnswerHistory(conn, mac, range, out);
      }
      case qp::kOpMacForSerial: {
        Result<MacAddress> mac = store_.MacForSerial(args);
        if (!mac.ok()) return done(mac.status());
        return done(Status::Ok(), store_format::MacKey(*mac));
      }
      case qp::kOpGetDevice: {
        if (args.size() != store_format::kMacKeySize) {
          return done(Status::Corruption("malformed device request"));
        }
        Result<DeviceSummary> device = store_.GetDevice(*store_format::ParseMacKey(args));
        if (!device.ok()) return done(device.status());
        std::string payload;
        store_format::EncodeSummary(*device, &payload);
        return done(Status::Ok(), payload);
      }
      default:
        return done(Status::Unsupported("unknown query op " + std::to_string(op)));
    }
  }

  // Streams the events in chunks as History produces them.
  Status AnswerHistory(int conn, MacAddress mac, TimeRange range, std::string* chunk) {
    Status sent;
    auto start_chunk = [&] {
      chunk->clear();
      qp::BeginFrame(chunk);
      chunk->push_back(static_cast<char>(qp::kReplyEvents));
    };
    auto flush = [&] {
      qp::FinishFrame(chunk, 0);
      sent = qp::WriteAll(conn, *chunk, wake_fd_, kClientTimeoutMs);
      start_chunk();
      return sent.ok();
    };
    start_chunk();
    Status read = store_.History(mac, range, [&](const Event& e) {
      qp::AppendEvent(e, chunk);
      return chunk->size() < qp::kChunkBytes || flush();
    });
    if (!sent.ok()) return sent;
    if (chunk->size() > 5 && !flush()) return sent;
    return qp::WriteAll(conn, qp::DoneFrame(read, {}), wake_fd_, kClientTimeoutMs);
  }

  const Store& store_;
  const std::string path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<uint64_t> served_{0};
};

StoreQueryServer::StoreQueryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreQueryServer::~StoreQueryServer() = default;

Result<std::unique_ptr<StoreQueryServer>> StoreQueryServer::Start(const Store& store,
                                                                  const std::string& socket_path) {
  auto impl = std::make_unique<Impl>(store, socket_path);
  if (Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<StoreQueryServer>(new StoreQueryServer(std::move(impl)));
}

const std::string& StoreQueryServer::socket_path() const { return impl_->path(); }
uint64_t StoreQueryServer::requests_served() const { return impl_->served(); }

}  // namespace resyncwatch
