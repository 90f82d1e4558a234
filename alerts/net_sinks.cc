// The network sinks: an HTTP/1.1 POST of the alert JSON over http:// or https://
// (cpp-httplib's client, OpenSSL) and an RFC 5424 syslog message over UDP.
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "alerts/sinks.h"
#include "common/clock.h"
#include "common/net_address.h"
#include "common/time_format.h"

namespace resyncwatch {
namespace {

// host:port where host may be a name or "[v6]"; default_port when ":port" is absent.
Status TargetHostPort(std::string_view text, int default_port, std::string* host, int* port) {
  Result<HostPort> split = SplitHostPort(text);
  if (!split.ok()) return split.status();
  if (split->port == 0) return Status::InvalidArgument("has a bad port");
  *host = split->host;
  *port = split->has_port() ? split->port : default_port;
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

class Socket {
 public:
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd_ = -1;
};

class WebhookSink final : public AlertSink {
 public:
  WebhookSink(HttpUrl url, const AlertConfig::Sink& config)
      : url_(std::move(url)), text_("webhook " + config.target) {
    if (url_.https) {
      auto tls = std::make_unique<httplib::SSLClient>(url_.host, url_.port);
      tls->enable_server_certificate_verification(config.verify_tls);
      if (!config.ca_file.empty()) tls->set_ca_cert_path(config.ca_file.c_str());
      client_ = std::move(tls);
    } else {
      client_ = std::make_unique<httplib::ClientImpl>(url_.host, url_.port);
    }
    const auto timeout = std::chrono::microseconds(config.timeout_us);
    client_->set_connection_timeout(timeout);
    client_->set_read_timeout(timeout);
    client_->set_write_timeout(timeout);
    client_->set_keep_alive(false);
    client_->set_default_headers({{"User-Agent", "resyncwatchd"}});
  }
  std::string_view name() const override { return "webhook"; }

  Status Deliver(const AlertMessage& m) override {
    httplib::Result res = client_->Post(url_.path.c_str(), m.json, "application/json");
    if (!res) {
      std::string why = httplib::to_string(res.error());
      if (url_.https && res.error() == httplib::Error::SSLServerVerification) {
        why += " (the server's certificate is not trusted: set ca_file, or verify_tls false)";
      }
      return Status::IoError(text_ + ": " + why);
    }
    if (res->status < 200 || res->status > 299) {
      return Status::IoError(text_ + ": answered " + std::to_string(res->status));
    }
    return Status::Ok();
  }

 private:
  HttpUrl url_;
  std::string text_;
  std::unique_ptr<httplib::ClientImpl> client_;
};

class SyslogSink final : public AlertSink {
 public:
  SyslogSink(std::string target, std::string hostname, int facility, const Clock* clock)
      : target_(std::move(target)),
        hostname_(std::move(hostname)),
        facility_(facility),
        clock_(clock) {
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
    Status s = TargetHostPort(spec, 514, &host, &port);
    if (!s.ok()) return Status::InvalidArgument("syslog target '" + target_ + "': " + s.message());
    AddrInfoList addrs;
    s = Resolve(host, port, SOCK_DGRAM, &addrs);
    if (!s.ok()) return s;
    std::string line = FormatRfc5424Alert(m, hostname_, facility_, clock_->NowMicros(), getpid());
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
  const Clock* clock_;
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
  HttpUrl out;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    out.https = true;
    rest = url.substr(8);
  } else {
    return Status::InvalidArgument("'" + std::string(url) + "' is not an http:// or https:// URL");
  }
  size_t slash = rest.find('/');
  out.host_header = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  Status s = TargetHostPort(out.host_header, out.https ? 443 : 80, &out.host, &out.port);
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

std::unique_ptr<AlertSink> MakeWebhookSink(const AlertConfig::Sink& sink) {
  auto parsed = ParseHttpUrl(sink.target);
  if (!parsed.ok()) return nullptr;
  return std::make_unique<WebhookSink>(*parsed, sink);
}

std::unique_ptr<AlertSink> MakeSyslogSink(const std::string& target, const std::string& hostname,
                                          int facility, const Clock* clock) {
  return std::make_unique<SyslogSink>(target, hostname, facility, clock);
}

}  // namespace resyncwatch
