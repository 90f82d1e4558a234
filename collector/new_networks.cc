#include "collector/new_networks.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

namespace resyncwatch {
namespace {

bool IsMappedV4(const PeerAddress& p) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  for (int i = 0; i < 12; ++i) {
    if (p.addr[i] != kPrefix[i]) return false;
  }
  return true;
}

std::string NetworkText(bool v6, uint64_t prefix) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!v6) {
    uint8_t a[4] = {uint8_t(prefix >> 16), uint8_t(prefix >> 8), uint8_t(prefix), 0};
    inet_ntop(AF_INET, a, text, sizeof text);
    return std::string(text) + "/24";
  }
  uint8_t a[16] = {};
  for (int i = 0; i < 8; ++i) a[i] = uint8_t(prefix >> (56 - 8 * i));
  inet_ntop(AF_INET6, a, text, sizeof text);
  return std::string(text) + "/64";
}

}  // namespace

std::string NewSenderNetworks::Observe(const PeerAddress& peer, size_t bytes) {
  if (full_) return {};
  bool v6 = peer.family == AF_INET6;
  uint64_t prefix = 0;
  if (v6 && IsMappedV4(peer)) {
    v6 = false;
    prefix = uint64_t{peer.addr[12]} << 16 | uint64_t{peer.addr[13]} << 8 | peer.addr[14];
  } else if (v6) {
    for (int i = 0; i < 8; ++i) prefix = prefix << 8 | peer.addr[i];
  } else if (peer.family == AF_INET) {
    prefix = uint64_t{peer.addr[0]} << 16 | uint64_t{peer.addr[1]} << 8 | peer.addr[2];
  } else {
    return {};
  }
  if (has_last_ && v6 == last_v6_ && prefix == last_prefix_) return {};
  has_last_ = true;
  last_v6_ = v6;
  last_prefix_ = prefix;
  if (!(v6 ? v6_ : v4_).insert(prefix).second) return {};
  std::string line = "first datagram from " + NetworkText(v6, prefix) + " (sender " +
                     peer.ToString() + ", " + std::to_string(bytes) +
                     " bytes); later ones from that network are not logged";
  if (networks() >= limit_) {
    full_ = true;
    line += "; " + std::to_string(limit_) + " sender networks seen: new ones are no longer logged";
  }
  spdlog::info("{}", line);
  return line;
}

}  // namespace resyncwatch
