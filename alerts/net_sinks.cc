// The network sinks: an HTTP/1.1 POST of the alert JSON (plain http://; https would need a
// TLS library, which resyncwatch does not depend on) and an RFC 5424 syslog message over UDP.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "alerts/sinks.h"
#include "common/clock.h"
#include "common/time_format.h"

namespace resyncwatch {
namespace {

int64_t NowUs() { return SystemClock::Instance().NowMicros(); }

// host:port where host may be "[v6]"; default_port when ":port" is absent.
Status SplitHostPort(std::string_view text, int default_port, std::string* host, int* port) {
  std::string_view rest;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("missing ']'");
    *host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    size_t colon = text.rfind(':');
    *host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  *port = default_port;
  if (!rest.empty()) {
    if (rest[0] != ':') return Status::InvalidArgument("junk after the host");
    auto [end, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), *port);
    if (ec != std::errc() || end != rest.data() + rest.size() || *port <= 0 || *port > 65535) {
      return Status::InvalidArgument("bad port");
    }
  }
  if (host->empty()) return Status::InvalidArgument("no host");
  return Status::Ok();
}

struct AddrInfoList {
  addrinfo* head = nullptr;
  ~AddrInfoList() {
    if (head) freeaddrinfo(head);
  }
};

Status Resolve(const std::string& host, int port, int socktype, AddrInfoList* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &out->head);
  if (rc != 0) return Status::IoError(host + ": " + gai_strerror(rc));
  return Status::Ok();
}

// Waits for fd to become ready for events until deadline_us.
Status WaitFd(int fd, short events, int64_t deadline_us, std::string_view what) {
  for (;;) {
    int64_t left_ms = (deadline_us - NowUs()) / 1000;
    if (left_ms <= 0) return Status::IoError(std::string(what) + ": timed out");
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left_ms));
    if (r > 0) return Status::Ok();
    if (r < 0 && errno != EINTR) return Status::IoError(std::string(what) + ": " + strerror(errno));
  }
}

class Socket {
 public:
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd_ = -1;
};

class WebhookSink final : public AlertSink {
 public:
  WebhookSink(HttpUrl url, std::string text, int64_t timeout_us)
      : url_(std::move(url)), text_(std::move(text)), timeout_us_(timeout_us) {}
  std::string_view name() const override { return "webhook"; }

  Status Deliver(const AlertMessage& m) override {
    int64_t deadline = NowUs() + timeout_us_;
    AddrInfoList addrs;
    Status s = Resolve(url_.host, url_.port, SOCK_STREAM, &addrs);
    if (!s.ok()) return s;
    Socket sock;
    for (addrinfo* a = addrs.head; a; a = a->ai_next) {
      s = Connect(a, deadline, &sock);
      if (s.ok()) break;
    }
    if (!s.ok()) return s;
    std::string request = "POST " + url_.path + " HTTP/1.1\r\nHost: " + url_.host_header +
                          "\r\nUser-Agent: resyncwatchd\r\nContent-Type: application/json\r\n"
                          "Content-Length: " +
                          std::to_string(m.json.size()) + "\r\nConnection: close\r\n\r\n" + m.json;
    for (size_t sent = 0; sent < request.size();) {
      s = WaitFd(sock.fd_, POLLOUT, deadline, text_);
      if (!s.ok()) return s;
      ssize_t n = ::send(sock.fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return Status::IoError(text_ + ": send: " + strerror(errno));
      }
      if (n > 0) sent += n;
    }
    // Only the status line matters: "HTTP/1.1 204 No Content".
    std::string reply;
    while (reply.find("\r\n") == std::string::npos && reply.size() < 4096) {
      s = WaitFd(sock.fd_, POLLIN, deadline, text_);
      if (!s.ok()) return s;
      char buf[1024];
      ssize_t n = ::recv(sock.fd_, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return Status::IoError(text_ + ": recv: " + strerror(errno));
      }
      if (n > 0) reply.append(buf, n);
    }
    std::string line = reply.substr(0, reply.find("\r\n"));
    if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0) {
      return Status::IoError(text_ + ": no HTTP status line in the answer");
    }
    if (line[9] != '2') return Status::IoError(text_ + ": answered '" + line + "'");
    return Status::Ok();
  }

 private:
  Status Connect(addrinfo* a, int64_t deadline, Socket* sock) {
    if (sock->fd_ >= 0) ::close(sock->fd_);
    sock->fd_ =
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (sock->fd_ < 0) return Status::IoError(text_ + ": socket: " + strerror(errno));
    if (::connect(sock->fd_, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      return Status::IoError(text_ + ": connect: " + strerror(errno));
    }
    Status s = WaitFd(sock->fd_, POLLOUT, deadline, text_ + ": connect");
    if (!s.ok()) return s;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Status::IoError(text_ + ": connect: " + strerror(err));
    return Status::Ok();
  }

  HttpUrl url_;
  std::string text_;
  int64_t timeout_us_;
};

class SyslogSink final : public AlertSink {
 public:
  SyslogSink(std::string target, std::string hostname, int facility)
      : target_(std::move(target)), hostname_(std::move(hostname)), facility_(facility) {
    if (hostname_.empty()) {
      char buf[256] = {};
      if (gethostname(buf, sizeof buf - 1) == 0) hostname_ = buf;
      if (hostname_.empty()) hostname_ = "-";
    }
  }
  std::string_view name() const override { return "syslog"; }

  Status Deliver(const AlertMessage& m) override {
    std::string_view spec = target_;
    if (spec.rfind("udp://", 0) == 0) spec.remove_prefix(6);
    std::string host;
    int port = 514;
    Status s = SplitHostPort(spec, 514, &host, &port);
    if (!s.ok()) return Status::InvalidArgument("syslog target '" + target_ + "': " + s.message());
    AddrInfoList addrs;
    s = Resolve(host, port, SOCK_DGRAM, &addrs);
    if (!s.ok()) return s;
    std::string line = FormatRfc5424Alert(m, hostname_, facility_, NowUs(), getpid());
    Socket sock;
    sock.fd_ = ::socket(addrs.head->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock.fd_ < 0) return Status::IoError("syslog socket: " + std::string(strerror(errno)));
    if (::sendto(sock.fd_, line.data(), line.size(), MSG_NOSIGNAL, addrs.head->ai_addr,
                 addrs.head->ai_addrlen) < 0) {
      return Status::IoError("syslog to " + target_ + ": " + strerror(errno));
    }
    return Status::Ok();
  }

 private:
  std::string target_;
  std::string hostname_;
  int facility_;
};

// RFC 5424 PARAM-VALUE escaping: '"', '\' and ']' get a backslash.
void AppendParam(std::string* out, std::string_view name, std::string_view value) {
  *out += ' ';
  *out += name;
  *out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') *out += '\\';
    *out += c;
  }
  *out += '"';
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return Status::InvalidArgument("'" + std::string(url) + "' is not an http:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  HttpUrl out;
  out.host_header = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  Status s = SplitHostPort(out.host_header, 80, &out.host, &out.port);
  if (!s.ok()) return Status::InvalidArgument("'" + std::string(url) + "': " + s.message());
  return out;
}

std::string FormatRfc5424Alert(const AlertMessage& m, std::string_view hostname, int facility,
                               int64_t now_us, int pid) {
  bool firing = m.alert.state == Alert::State::kFiring;
  int severity = firing ? 4 : 5;  // warning, notice
  std::string out = "<" + std::to_string(facility * 8 + severity) + ">1 ";
  out += FormatIso8601Utc(now_us);
  out += ' ';
  out += hostname.empty() ? std::string_view("-") : hostname.substr(0, 255);
  out += " resyncwatchd " + std::to_string(pid) + (firing ? " firing" : " resolved");
  // 32473 is the enterprise number RFC 5612 sets aside for documentation and examples.
  out += " [resyncwatch@32473";
  AppendParam(&out, "id", m.alert.id);
  AppendParam(&out, "rule", ToString(m.alert.rule));
  AppendParam(&out, "group", m.alert.group_value);
  AppendParam(&out, "state", firing ? "firing" : "resolved");
  out += "] ";
  out += m.json;
  return out;
}

std::unique_ptr<AlertSink> MakeWebhookSink(const std::string& url, int64_t timeout_us) {
  auto parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return nullptr;
  return std::make_unique<WebhookSink>(*parsed, "webhook " + url, timeout_us);
}

std::unique_ptr<AlertSink> MakeSyslogSink(const std::string& target, const std::string& hostname,
                                          int facility) {
  return std::make_unique<SyslogSink>(target, hostname, facility);
}

}  // namespace resyncwatch
