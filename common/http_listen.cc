#include "common/http_listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace resyncwatch {

bool HttpListen::IsLoopback() const {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Result<HttpListen> ParseHttpListen(std::string_view text, std::string_view option) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(std::string(option) + ": '" + std::string(text) + "' " +
                                   std::string(why));
  };
  HttpListen ep;
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
    return bad("has no valid port (ADDRESS:PORT, e.g. 127.0.0.1:8080)");
  }
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, ep.host.c_str(), buf) != 1 &&
      inet_pton(AF_INET6, ep.host.c_str(), buf) != 1) {
    return bad("has no numeric IPv4 or IPv6 address");
  }
  return ep;
}

}  // namespace resyncwatch
