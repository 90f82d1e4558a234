#include "common/net_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace resyncwatch {
namespace {

struct Split {
  std::string_view host;
  std::string_view port;  // without ':'; empty with has_port false
  bool has_port = false;
  bool bracketed = false;
  const char* error = nullptr;
};

Split SplitText(std::string_view text) {
  Split s;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return s.error = "is missing ']'", s;
    s.bracketed = true;
    s.host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return s;
    if (rest.front() != ':') return s.error = "has something after ']' other than :PORT", s;
    s.has_port = true;
    s.port = rest.substr(1);
    return s;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find(':') != colon) {
    s.host = text;  // no port, or a bare IPv6 address
    return s;
  }
  s.host = text.substr(0, colon);
  s.has_port = true;
  s.port = text.substr(colon + 1);
  return s;
}

// Appends v in decimal; v < 100000.
char* AppendDecimal(char* out, unsigned v) {
  char digits[5];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *out++ = digits[--n];
  return out;
}

// The host text into out (no brackets); returns the end.
char* AppendHost(const PeerAddress& p, char* out) {
  if (p.family == AF_INET) {
    for (int i = 0; i < 4; ++i) {
      out = AppendDecimal(out, p.addr[i]);
      if (i < 3) *out++ = '.';
    }
    return out;
  }
  inet_ntop(AF_INET6, p.addr, out, INET6_ADDRSTRLEN);
  return out + std::strlen(out);
}

}  // namespace

Result<HostPort> SplitHostPort(std::string_view text, PortRule rule) {
  Split s = SplitText(text);
  if (s.error) return Status::InvalidArgument(s.error);
  if (rule == PortRule::kRequired && !s.has_port) {
    const bool bare_v6 = !s.bracketed && s.host.find(':') != std::string_view::npos;
    return Status::InvalidArgument(bare_v6 ? "needs [brackets] around an IPv6 address"
                                           : "has no :PORT");
  }
  HostPort out;
  out.host = std::string(s.host);
  out.bracketed = s.bracketed;
  if (s.has_port) {
    auto [end, ec] = std::from_chars(s.port.data(), s.port.data() + s.port.size(), out.port);
    if (s.port.empty() || ec != std::errc() || end != s.port.data() + s.port.size() ||
        out.port < 0 || out.port > 65535) {
      return Status::InvalidArgument("has a bad port");
    }
  }
  if (out.host.empty()) return Status::InvalidArgument("has no host");
  return out;
}

std::string JoinHostPort(std::string_view host, int port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  out.reserve(host.size() + 8);
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  if (port >= 0) out += ':' + std::to_string(port);
  return out;
}

std::string_view HostOf(std::string_view text) {
  Split s = SplitText(text);
  return s.error ? text : s.host;
}

bool IsIpAddress(std::string_view host) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  char text[INET6_ADDRSTRLEN];
  std::memcpy(text, host.data(), host.size());
  text[host.size()] = '\0';
  unsigned char buf[16];
  return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

std::optional<PeerAddress> PeerAddress::Parse(std::string_view text) {
  Result<HostPort> hp = SplitHostPort(text);
  if (!hp.ok()) return std::nullopt;
  PeerAddress p;
  p.port = static_cast<uint16_t>(hp->has_port() ? hp->port : 0);
  if (!hp->bracketed && inet_pton(AF_INET, hp->host.c_str(), p.addr) == 1) {
    p.family = AF_INET;
  } else if (inet_pton(AF_INET6, hp->host.c_str(), p.addr) == 1) {
    p.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  return p;
}

void PeerAddress::FormatTo(std::string* out) const {
  // Datagrams from a new sender are formatted: a fleet is thousands of addresses, and
  // inet_ntop plus string concatenation cost several times this.
  if (family != AF_INET && family != AF_INET6) {
    out->assign("unknown");
    return;
  }
  char text[INET6_ADDRSTRLEN + 8];
  char* p = text;
  if (family == AF_INET6) *p++ = '[';
  p = AppendHost(*this, p);
  if (family == AF_INET6) *p++ = ']';
  *p++ = ':';
  p = AppendDecimal(p, port);
  out->assign(text, static_cast<size_t>(p - text));
}

std::string PeerAddress::ToString() const {
  std::string s;
  FormatTo(&s);
  return s;
}

std::string PeerAddress::HostText() const {
  if (family != AF_INET && family != AF_INET6) return {};
  char text[INET6_ADDRSTRLEN];
  return std::string(text, static_cast<size_t>(AppendHost(*this, text) - text));
}

}  // namespace resyncwatch
