#include "collector/sender_filter.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace resyncwatch {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsMapped(const uint8_t* addr16) { return std::memcmp(addr16, kMappedPrefix, 12) == 0; }

bool PrefixMatches(const uint8_t* a, const uint8_t* b, int bits) {
  const int bytes = bits / 8;
  if (std::memcmp(a, b, static_cast<size_t>(bytes)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

bool HostBitsClear(const uint8_t* addr, int size, int bits) {
  for (int i = 0; i < size; ++i) {
    const int keep = std::min(8, std::max(0, bits - 8 * i));
    const uint8_t mask = static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
    if ((addr[i] & static_cast<uint8_t>(~mask)) != 0) return false;
  }
  return true;
}

}  // namespace

Result<CidrRange> ParseCidr(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("--allow: '" + std::string(text) + "' " + std::string(why) +
                                   " (10.0.0.0/8, 192.0.2.7, 2001:db8::/32)");
  };
  std::string_view host = text;
  std::string_view bits_text;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    host = text.substr(0, slash);
    bits_text = text.substr(slash + 1);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  CidrRange r;
  const std::string host_z(host);
  int max_bits = 0;
  if (inet_pton(AF_INET, host_z.c_str(), r.addr) == 1) {
    r.family = AF_INET;
    max_bits = 32;
  } else if (inet_pton(AF_INET6, host_z.c_str(), r.addr) == 1) {
    r.family = AF_INET6;
    max_bits = 128;
  } else {
    return bad("is not an IPv4 or IPv6 address or range");
  }
  r.prefix_bits = max_bits;
  if (!bits_text.empty() || text.find('/') != std::string_view::npos) {
    int bits = -1;
    auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (ec != std::errc() || end != bits_text.data() + bits_text.size() || bits < 0 ||
        bits > max_bits) {
      return bad("has a bad prefix length");
    }
    r.prefix_bits = bits;
  }
  if (!HostBitsClear(r.addr, max_bits / 8, r.prefix_bits)) {
    return bad("has address bits set beyond its prefix length");
  }
  if (r.family == AF_INET6 && r.prefix_bits >= 96 && IsMapped(r.addr)) {
    CidrRange v4;
    v4.family = AF_INET;
    std::memcpy(v4.addr, r.addr + 12, 4);
    v4.prefix_bits = r.prefix_bits - 96;
    return v4;
  }
  return r;
}

Result<SenderFilter> SenderFilter::Parse(const std::vector<std::string>& ranges) {
  SenderFilter f;
  for (const std::string& text : ranges) {
    if (text.empty()) continue;
    Result<CidrRange> r = ParseCidr(text);
    if (!r.ok()) return r.status();
    f.ranges_.push_back(*r);
  }
  return f;
}

bool SenderFilter::Allows(const PeerAddress& peer) const {
  if (ranges_.empty()) return true;
  uint8_t family = peer.family;
  const uint8_t* addr = peer.addr;
  if (family == AF_INET6 && IsMapped(addr)) {
    family = AF_INET;
    addr += 12;
  }
  for (const CidrRange& r : ranges_) {
    if (r.family == family && PrefixMatches(addr, r.addr, r.prefix_bits)) return true;
  }
  return false;
}

}  // namespace resyncwatch
