#include "common/http_listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/net_address.h"

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
  // A bare port ("8080", ":8080") is on loopback.
  const bool port_only = text.find_first_of(":[") == std::string_view::npos;
  Result<HostPort> split =
      port_only || text.starts_with(':')
          ? SplitHostPort("127.0.0.1:" + std::string(text.substr(port_only ? 0 : 1)),
                          PortRule::kRequired)
          : SplitHostPort(text, PortRule::kRequired);
  if (!split.ok()) return bad(split.status().message());
  if (!IsIpAddress(split->host)) return bad("has no numeric IPv4 or IPv6 address");
  HttpListen ep;
  ep.host = split->host;
  ep.port = split->port;
  return ep;
}

}  // namespace resyncwatch
