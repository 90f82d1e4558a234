// HttpGate: an epoll thread that holds waiting connections, and workers that answer.
#include "web/http_gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "web/server_tls.h"

namespace resyncwatch {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// One log line per kind per 10 s, telling how many were kept quiet.
class QuietLog {
 public:
  template <typename... Args>
  void Warn(fmt::format_string<Args...> format, Args&&... args) {
    int64_t suppressed = 0;
    {
      std::lock_guard lock(mu_);
      const int64_t now = NowMs();
      if (now - last_ms_ < 10'000) {
        ++suppressed_;
        return;
      }
      last_ms_ = now;
      suppressed = suppressed_;
      suppressed_ = 0;
    }
    spdlog::warn("{} ({} more not logged)", fmt::format(format, std::forward<Args>(args)...),
                 suppressed);
  }

 private:
  std::mutex mu_;
  int64_t last_ms_ = INT64_MIN / 2;
  int64_t suppressed_ = 0;
};

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  bool handshaken = false;
  std::string head;            // bytes read ahead of httplib: the next request's start
  int64_t idle_since_ms = 0;   // waiting for a request since
  int64_t first_byte_ms = -1;  // its first byte (or the handshake's) arrived at
  int served = 0;
  uint64_t order = 0;  // accept order: among equally idle ones, the older first
  std::string peer;    // "ip port" for logs
  ~Conn() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
};

bool HeadComplete(const std::string& head) { return head.find("\r\n\r\n") != std::string::npos; }

// /healthz and /metrics: cheap, and what monitoring needs answered even while every worker
// runs a long analysis; they also have a thread of their own.
bool IsProbe(const std::string& head) {
  for (const char* p : {"GET /healthz ", "GET /metrics ", "HEAD /healthz ", "HEAD /metrics "}) {
    if (head.rfind(p, 0) == 0) return true;
  }
  return false;
}

std::string PeerOf(int fd, std::string* ip, int* port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  char host[INET6_ADDRSTRLEN] = "?";
  *port = 0;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    if (a.ss_family == AF_INET) {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
      inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
      *port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
      inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
      *port = ntohs(v6->sin6_port);
    }
  }
  *ip = host;
  return *ip + " " + std::to_string(*port);
}

// The worker's view of a connection for httplib: first the bytes the gate read ahead, then
// the socket (or TLS), each wait bounded.
class GateStream : public httplib::Stream {
 public:
  GateStream(Conn& c, const GateOptions& o) : c_(c), o_(o), start_ms_(NowMs()) {}

  bool is_readable() const override { return !c_.head.empty() || Wait(POLLIN, 0); }
  bool is_writable() const override { return Wait(POLLOUT, 0); }

  ssize_t read(char* ptr, size_t size) override {
    if (!c_.head.empty()) {
      const size_t n = std::min(size, c_.head.size());
      std::memcpy(ptr, c_.head.data(), n);
      c_.head.erase(0, n);
      return static_cast<ssize_t>(n);
    }
    const int64_t deadline = start_ms_ + o_.request_timeout.count();
    for (;;) {
      if (c_.ssl != nullptr && SSL_pending(c_.ssl) == 0 && !WaitUntil(POLLIN, deadline)) {
        return Fail();
      }
      if (c_.ssl == nullptr && !WaitUntil(POLLIN, deadline)) return Fail();
      if (c_.ssl == nullptr) return ::recv(c_.fd, ptr, size, 0);
      const int n = SSL_read(c_.ssl, ptr, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
      if (n > 0) return n;
      const int e = SSL_get_error(c_.ssl, n);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return -1;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    // The answer must be read at write_rate after a grace of request_timeout.
    const int64_t deadline = start_ms_ + o_.request_timeout.count() +
                             static_cast<int64_t>(written_ * 1000 / o_.write_rate);
    for (;;) {
      if (!WaitUntil(POLLOUT, deadline)) return Fail();
      ssize_t n;
      if (c_.ssl == nullptr) {
        n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      } else {
        n = SSL_write(c_.ssl, ptr, static_cast<int>(std::min<size_t>(size, 1 << 20)));
        if (n <= 0) {
          const int e = SSL_get_error(c_.ssl, static_cast<int>(n));
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
          return -1;
        }
      }
      if (n > 0) written_ += static_cast<size_t>(n);
      return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    PeerOf(c_.fd, &ip, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    char host[INET6_ADDRSTRLEN] = "";
    port = 0;
    if (getsockname(c_.fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      void* addr = a.ss_family == AF_INET6
                       ? static_cast<void*>(&reinterpret_cast<sockaddr_in6*>(&a)->sin6_addr)
                       : static_cast<void*>(&reinterpret_cast<sockaddr_in*>(&a)->sin_addr);
      inet_ntop(a.ss_family, addr, host, sizeof host);
      port = ntohs(a.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    }
    ip = host;
  }
  socket_t socket() const override { return c_.fd; }
  bool timed_out() const { return timed_out_; }

 private:
  bool Wait(short events, int timeout_ms) const {
    pollfd p{c_.fd, events, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & (events | POLLHUP | POLLERR));
  }
  bool WaitUntil(short events, int64_t deadline_ms) {
    for (;;) {
      const int64_t left = deadline_ms - NowMs();
      if (left <= 0) return false;
      pollfd p{c_.fd, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
      if (r == 1) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }
  ssize_t Fail() {
    timed_out_ = true;
    return -1;
  }

  Conn& c_;
  const GateOptions& o_;
  int64_t start_ms_;
  size_t written_ = 0;
  bool timed_out_ = false;
};

}  // namespace

class HttpGate::Impl {
 public:
  Impl(int listen_fd, int port, GateOptions options, std::shared_ptr<ServerTls> tls,
       GateCounters* counters)
      : listen_fd_(listen_fd),
        port_(port),
        options_(options),
        tls_(std::move(tls)),
        counters_(counters) {}
  ~Impl() {
    Stop();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  int port() const { return port_; }

  void Start(Serve serve) {
    serve_ = std::move(serve);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    Watch(listen_fd_, nullptr);
    Watch(wake_, nullptr);
    for (size_t i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { Work(false); });
    workers_.emplace_back([this] { Work(true); });
    gate_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    if (!gate_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    Wake();
    work_cv_.notify_all();
    gate_.join();
    for (auto& w : workers_) w.join();
    workers_.clear();
    waiting_.clear();
    returned_.clear();
    ::close(epoll_);
    ::close(wake_);
  }

 private:
  void Watch(int fd, Conn* c) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.ptr = c;
    if (c == nullptr) e.data.fd = fd;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e);
  }
  void Wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
  }

  void Loop() {
    pthread_setname_np(pthread_self(), "rw-http-gate");
    std::vector<epoll_event> events(64);
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) {
        Conn* c = static_cast<Conn*>(events[i].data.ptr);
        if (waiting_.count(c) == 0) {
          if (events[i].data.fd == listen_fd_) Accept();
          if (events[i].data.fd == wake_) TakeReturned();
          continue;
        }
        Readable(c);
      }
      Sweep();
    }
  }

  // Connections whose answer is done and that wait for their next request.
  void TakeReturned() {
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(wake_, &count, sizeof count);
    std::deque<std::unique_ptr<Conn>> back;
    {
      std::lock_guard lock(mu_);
      back.swap(returned_);
    }
    for (auto& c : back) {
      Conn* raw = c.get();
      waiting_.emplace(raw, std::move(c));
      Watch(raw->fd, raw);
    }
  }

  void Accept() {
    if (paused_until_ms_ > NowMs()) return;
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        counters_->rejected.fetch_add(1);
        log_rejected_.Warn("http: cannot accept a connection on port {}: {}", port_,
                           std::strerror(errno));
        // Out of descriptors: make room, or stop asking for 100 ms (the kernel keeps the
        // connection queued meanwhile).
        if (!EvictLongestIdle()) {
          paused_until_ms_ = NowMs() + 100;
          epoll_ctl(epoll_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        }
        return;
      }
      counters_->accepted.fetch_add(1);
      // The bound is this address's own: another address's clients cannot use it up.
      if (open_.load() >= static_cast<int64_t>(options_.max_connections) && !EvictLongestIdle()) {
        counters_->rejected.fetch_add(1);
        log_rejected_.Warn("http: {} connections open on port {}, all being answered: refused one",
                           open_.load(), port_);
        ::close(fd);
        continue;
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->idle_since_ms = NowMs();
      c->order = next_order_++;
      int port = 0;
      std::string ip;
      c->peer = PeerOf(fd, &ip, &port);
      if (tls_ != nullptr) {
        std::shared_ptr<SSL_CTX> ctx = tls_->Current();
        c->ssl = SSL_new(ctx.get());
        SSL_set_fd(c->ssl, fd);
      }
      Opened(1);
      Conn* raw = c.get();
      waiting_.emplace(raw, std::move(c));
      Watch(fd, raw);
    }
  }

  bool EvictLongestIdle() {
    Conn* oldest = nullptr;
    for (auto& [c, owned] : waiting_) {
      if (oldest == nullptr ||
          std::pair(c->idle_since_ms, c->order) < std::pair(oldest->idle_since_ms, oldest->order)) {
        oldest = c;
      }
    }
    if (oldest == nullptr) return false;
    counters_->evicted.fetch_add(1);
    log_evicted_.Warn("http: at --http-max-connections {}: closed the connection of {} idle {} ms",
                      options_.max_connections, oldest->peer, NowMs() - oldest->idle_since_ms);
    Close(oldest);
    return true;
  }

  void Close(Conn* c) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
    waiting_.erase(c);
    Opened(-1);
  }

  void Opened(int64_t delta) {
    open_.fetch_add(delta);
    counters_->open.fetch_add(delta);
  }

  // Reads what arrived (finishing the handshake first); a complete request head goes to
  // a worker.
  void Readable(Conn* c) {
    if (c->first_byte_ms < 0) c->first_byte_ms = NowMs();
    if (c->ssl != nullptr && !c->handshaken) {
      const int r = SSL_accept(c->ssl);
      if (r != 1) {
        const int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
        counters_->tls_errors.fetch_add(1);
        log_tls_.Warn("http: TLS handshake with {} failed", c->peer);
        return Close(c);
      }
      c->handshaken = true;
    }
    char buf[4096];
    for (;;) {
      ssize_t n;
      if (c->ssl == nullptr) {
        n = ::recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      } else {
        n = SSL_read(c->ssl, buf, sizeof buf);
        if (n <= 0) {
          const int e = SSL_get_error(c->ssl, static_cast<int>(n));
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        }
      }
      if (n <= 0) return Close(c);  // the client closed, or a socket/TLS error
      c->head.append(buf, static_cast<size_t>(n));
      if (c->head.size() > options_.max_head_bytes) {
        counters_->bad_requests.fetch_add(1);
        log_bad_.Warn("http: request head from {} over {} bytes: closed", c->peer,
                      options_.max_head_bytes);
        return Close(c);
      }
    }
    if (!HeadComplete(c->head)) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
    auto it = waiting_.find(c);
    std::unique_ptr<Conn> owned = std::move(it->second);
    waiting_.erase(it);
    std::lock_guard lock(mu_);
    Enqueue(std::move(owned));
  }

  // Idle and slow connections past their time.
  void Sweep() {
    const int64_t now = NowMs();
    if (paused_until_ms_ != 0 && paused_until_ms_ <= now) {
      paused_until_ms_ = 0;
      Watch(listen_fd_, nullptr);
    }
    std::vector<Conn*> expired;
    for (auto& [c, owned] : waiting_) {
      const bool started = c->first_byte_ms >= 0;
      const int64_t since = started ? c->first_byte_ms : c->idle_since_ms;
      const int64_t limit =
          started ? options_.request_timeout.count() : options_.idle_timeout.count();
      if (now - since > limit) expired.push_back(c);
    }
    for (Conn* c : expired) {
      if (c->first_byte_ms >= 0) {
        counters_->request_timeouts.fetch_add(1);
        log_slow_.Warn("http: {} sent an incomplete request for {} ms: closed", c->peer,
                       now - c->first_byte_ms);
      } else {
        counters_->idle_timeouts.fetch_add(1);
        log_idle_.Warn("http: {} idle for {} ms: closed", c->peer, now - c->idle_since_ms);
      }
      Close(c);
    }
  }

  // REQUIRES: mu_ held.
  void Enqueue(std::unique_ptr<Conn> c) {
    (IsProbe(c->head) ? probes_ : work_).push_back(std::move(c));
    work_cv_.notify_all();
  }

  // Workers take probes first; the probe thread takes only probes.
  void Work(bool probes_only) {
    pthread_setname_np(pthread_self(), "rw-http");
    for (;;) {
      std::unique_ptr<Conn> c;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] {
          return stopping_ || !probes_.empty() || (!probes_only && !work_.empty());
        });
        auto& queue = !probes_.empty() ? probes_ : work_;
        if (queue.empty() || (probes_only && &queue != &probes_)) return;
        c = std::move(queue.front());
        queue.pop_front();
      }
      Answer(std::move(c));
    }
  }

  void Answer(std::unique_ptr<Conn> c) {
    GateStream stream(*c, options_);
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    const bool last = stopping || c->served + 1 >= options_.keep_alive_max;
    bool closed = false;
    const bool ok = serve_(stream, last, closed);
    ++c->served;
    if (stream.timed_out()) {
      counters_->request_timeouts.fetch_add(1);
      log_slow_.Warn("http: {} too slow sending its request or reading the answer: closed",
                     c->peer);
    }
    if (!ok || closed || last || stream.timed_out()) {
      Opened(-1);
      return;  // ~Conn closes it
    }
    // TLS may hold the start of the next request already decrypted, which epoll would not
    // report: take it now.
    if (c->ssl != nullptr && !TakePending(c.get())) {
      Opened(-1);
      return;
    }
    c->idle_since_ms = NowMs();
    c->first_byte_ms = c->head.empty() ? -1 : c->idle_since_ms;
    std::lock_guard lock(mu_);
    if (HeadComplete(c->head)) {
      Enqueue(std::move(c));  // pipelined: the next request is already here
      return;
    }
    returned_.push_back(std::move(c));
    Wake();
  }

  // Moves what OpenSSL has buffered into head; false if the head grows too large.
  bool TakePending(Conn* c) {
    char buf[4096];
    while (SSL_pending(c->ssl) > 0) {
      const int n = SSL_read(c->ssl, buf, sizeof buf);
      if (n <= 0) break;
      c->head.append(buf, static_cast<size_t>(n));
      if (c->head.size() > options_.max_head_bytes) return false;
    }
    return true;
  }

  int listen_fd_;
  int port_;
  std::atomic<int64_t> open_{0};
  GateOptions options_;
  std::shared_ptr<ServerTls> tls_;
  GateCounters* counters_;
  Serve serve_;
  int epoll_ = -1;
  int wake_ = -1;
  int64_t paused_until_ms_ = 0;
  uint64_t next_order_ = 0;
  // The gate thread's own: the connections waiting for a request.
  std::unordered_map<Conn*, std::unique_ptr<Conn>> waiting_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<std::unique_ptr<Conn>> work_;      // heads complete, for the workers
  std::deque<std::unique_ptr<Conn>> probes_;    // the same, for /healthz and /metrics
  std::deque<std::unique_ptr<Conn>> returned_;  // answered, back to the gate
  bool stopping_ = false;
  std::thread gate_;
  std::vector<std::thread> workers_;
  QuietLog log_rejected_, log_evicted_, log_idle_, log_slow_, log_bad_, log_tls_;
};

Result<std::unique_ptr<HttpGate>> HttpGate::Bind(const std::string& host, int port,
                                                 GateOptions options,
                                                 std::shared_ptr<ServerTls> tls,
                                                 GateCounters* counters) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* list = nullptr;
  const std::string where = host + " port " + std::to_string(port);
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list) != 0 ||
      list == nullptr) {
    return Status::InvalidArgument(where + ": not an address");
  }
  const int fd = ::socket(list->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (list->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  const bool bound =
      fd >= 0 && ::bind(fd, list->ai_addr, list->ai_addrlen) == 0 && ::listen(fd, 1024) == 0;
  freeaddrinfo(list);
  if (!bound) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Status::IoError(where + ": cannot bind: " + why);
  }
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int bound_port =
      ntohs(a.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                                    : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  return std::unique_ptr<HttpGate>(
      new HttpGate(std::make_unique<Impl>(fd, bound_port, options, std::move(tls), counters)));
}

HttpGate::HttpGate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpGate::~HttpGate() = default;
int HttpGate::port() const { return impl_->port(); }
void HttpGate::Start(Serve serve) { impl_->Start(std::move(serve)); }
void HttpGate::Stop() { impl_->Stop(); }

}  // namespace resyncwatch
