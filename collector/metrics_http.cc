// MetricsHttpServer: one thread polling the listener, a wake-up eventfd and the open
// connections. Each connection reads one request (bounded), gets one answer and is closed;
// a per-connection deadline cuts off clients that are slow to send or to read.
#include "collector/metrics_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace resyncwatch {
namespace {

int64_t MonoUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Connection {
  int fd = -1;
  int64_t deadline_us = 0;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool answered = false;
};

std::string Response(int code, std::string_view reason, std::string_view content_type,
                     const std::string& body, bool head) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  r += "Content-Type: " + std::string(content_type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (code == 405) r += "Allow: GET, HEAD\r\n";
  r += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!head) r += body;
  return r;
}

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

Result<MetricsEndpoint> ParseMetricsListen(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("--metrics-listen: '" + std::string(text) + "' " +
                                   std::string(why));
  };
  MetricsEndpoint ep;
  ep.host = "127.0.0.1";
  std::string_view port_text = text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("is not [ADDRESS]:PORT");
    }
    ep.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) return bad("has an IPv6 address without [brackets]");
    if (colon > 0) ep.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), ep.port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      ep.port < 0 || ep.port > 65535) {
    return bad("has no valid port (ADDRESS:PORT, e.g. 127.0.0.1:9514)");
  }
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, ep.host.c_str(), buf) != 1 &&
      inet_pton(AF_INET6, ep.host.c_str(), buf) != 1) {
    return bad("has no numeric IPv4 or IPv6 address");
  }
  return ep;
}

class MetricsHttpServer::Impl {
 public:
  Impl(const MetricsHttpOptions& options, RenderFn render, HealthFn health)
      : options_(options), render_(std::move(render)), health_(std::move(health)) {}

  ~Impl() {
    Stop();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  Status Bind() {
    auto ep = ParseMetricsListen(options_.listen);
    if (!ep.ok()) return ep.status();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* res = nullptr;
    std::string port = std::to_string(ep->port);
    if (int rc = getaddrinfo(ep->host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return Status::InvalidArgument("--metrics-listen " + options_.listen + ": " +
                                     gai_strerror(rc));
    }
    listen_fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
      freeaddrinfo(res);
      return Status::IoError(std::string("--metrics-listen socket: ") + std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (res->ai_family == AF_INET6)
      ::setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    int rc = ::bind(listen_fd_, res->ai_addr, res->ai_addrlen);
    int bind_errno = errno;
    freeaddrinfo(res);
    if (rc != 0 || ::listen(listen_fd_, 64) != 0) {
      return Status::IoError("--metrics-listen " + options_.listen + ": " +
                             std::strerror(rc != 0 ? bind_errno : errno));
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    char host[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port_ = ntohs(a->sin6_port);
      bound_ = "[" + std::string(host) + "]:" + std::to_string(port_);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port_ = ntohs(a->sin_port);
      bound_ = std::string(host) + ":" + std::to_string(port_);
    }
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }

  int port() const { return port_; }
  const std::string& bound() const { return bound_; }

 private:
  void Run() {
    std::vector<Connection> conns;
    std::vector<pollfd> fds;
    for (;;) {
      int64_t now = MonoUs();
      int64_t next_deadline = INT64_MAX;
      fds.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const Connection& c : conns) {
        fds.push_back({c.fd, static_cast<short>(c.answered ? POLLOUT : POLLIN), 0});
        next_deadline = std::min(next_deadline, c.deadline_us);
      }
      int timeout_ms = next_deadline == INT64_MAX
                           ? -1
                           : static_cast<int>(std::max<int64_t>(0, next_deadline - now) / 1000 + 1);
      int r = ::poll(fds.data(), fds.size(), timeout_ms);
      if (r < 0 && errno != EINTR) break;
      if (fds[0].revents) break;  // Stop()
      now = MonoUs();
      // Serve the existing connections first (fds[2 + i] belongs to conns[i]).
      std::vector<Connection> kept;
      for (size_t i = 0; i < conns.size(); ++i) {
        Connection& c = conns[i];
        bool open = now < c.deadline_us;
        if (open && fds[2 + i].revents) open = c.answered ? Write(&c) : Read(&c);
        if (open) {
          kept.push_back(std::move(c));
        } else {
          ::close(c.fd);
        }
      }
      conns.swap(kept);
      if (fds[1].revents & POLLIN) Accept(&conns, now);
    }
    for (Connection& c : conns) ::close(c.fd);
  }

  void Accept(std::vector<Connection>* conns, int64_t now) {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (static_cast<int>(conns->size()) >= options_.max_connections) {
        ::close(fd);  // over the limit: refuse rather than queue
        continue;
      }
      Connection c;
      c.fd = fd;
      c.deadline_us = now + options_.client_timeout_us;
      conns->push_back(std::move(c));
    }
  }

  // Returns false when the connection is done with.
  bool Read(Connection* c) {
    char buf[2048];
    ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c->in.append(buf, n);
    size_t end = c->in.find("\r\n\r\n");
    if (end == std::string::npos) end = c->in.find("\n\n");
    if (end == std::string::npos) {
      if (static_cast<int64_t>(c->in.size()) <= options_.max_request_bytes) return true;
      c->out =
          Response(431, "Request Header Fields Too Large", kText, "request too large\n", false);
    } else if (static_cast<int64_t>(end) > options_.max_request_bytes) {
      c->out =
          Response(431, "Request Header Fields Too Large", kText, "request too large\n", false);
    } else {
      c->out = Answer(std::string_view(c->in).substr(0, c->in.find('\n')));
    }
    c->answered = true;
    return Write(c);
  }

  std::string Answer(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t sp1 = line.find(' ');
    size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 || line.substr(sp2 + 1, 5) != "HTTP/") {
      return Response(400, "Bad Request", kText, "bad request\n", false);
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    bool head = method == "HEAD";
    if (method != "GET" && !head) {
      return Response(405, "Method Not Allowed", kText, "only GET and HEAD\n", false);
    }
    if (target == "/metrics") return Response(200, "OK", kMetricsType, render_(), head);
    if (target == "/healthz") {
      std::string problem = health_ ? health_() : std::string();
      if (problem.empty()) return Response(200, "OK", kText, "ok\n", head);
      return Response(503, "Service Unavailable", kText, problem + "\n", head);
    }
    return Response(404, "Not Found", kText, "not found; try /metrics or /healthz\n", head);
  }

  bool Write(Connection* c) {
    while (c->sent < c->out.size()) {
      ssize_t n = ::send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      c->sent += n;
    }
    // Half-close, then drop whatever the client still sent, so that close() does not
    // answer unread bytes with a reset that could discard the response in flight.
    ::shutdown(c->fd, SHUT_WR);
    char sink[1024];
    while (::recv(c->fd, sink, sizeof sink, 0) > 0) {
    }
    return false;
  }

  MetricsHttpOptions options_;
  RenderFn render_;
  HealthFn health_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::string bound_;
  std::thread thread_;
};

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const MetricsHttpOptions& options, RenderFn render, HealthFn health) {
  auto impl = std::make_unique<Impl>(options, std::move(render), std::move(health));
  Status s = impl->Bind();
  if (!s.ok()) return s;
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl)));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsHttpServer::~MetricsHttpServer() { Stop(); }
void MetricsHttpServer::Stop() { impl_->Stop(); }
int MetricsHttpServer::port() const { return impl_->port(); }
std::string MetricsHttpServer::bound_address() const { return impl_->bound(); }

}  // namespace resyncwatch
