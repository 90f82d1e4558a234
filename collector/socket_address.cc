#include "collector/socket_address.h"

#include <netinet/in.h>
#include <uv.h>

namespace resyncwatch {

Status ListenSocketAddress(const ListenAddress& address, sockaddr_storage* out, bool* is_v6) {
  *out = {};
  *is_v6 = address.host.find(':') != std::string::npos;
  int rc =
      *is_v6 ? uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(out))
             : uv_ip4_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(out));
  if (rc != 0) return Status::InvalidArgument("--listen " + address.url + ": bad address");
  return Status::Ok();
}

}  // namespace resyncwatch
