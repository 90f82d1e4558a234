// SenderFilter: the --allow list. CIDR ranges ("10.20.0.0/16", "2001:db8:5::/48", a bare
// address for one host) of the senders whose datagrams and TCP connections are accepted;
// anything else is dropped before parsing and counted (denied_datagrams,
// denied_connections). An IPv4-mapped IPv6 sender (::ffff:10.1.2.3, from a dual-stack
// socket) and an IPv4-mapped range are matched as IPv4. An empty list allows everyone.
// Immutable after Parse; Allows is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/ingest_queue.h"
#include "common/status.h"

namespace resyncwatch {

struct CidrRange {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t addr[16] = {};
  int prefix_bits = 0;
};

// "10.0.0.0/8", "192.0.2.7", "[2001:db8::]/32", "2001:db8::/32", "::ffff:10.0.0.0/104".
// Host bits beyond the prefix are an error (a typo for another range is not guessed).
Result<CidrRange> ParseCidr(std::string_view text);

class SenderFilter {
 public:
  SenderFilter() = default;
  // Errors name the bad entry.
  static Result<SenderFilter> Parse(const std::vector<std::string>& ranges);

  bool empty() const { return ranges_.empty(); }
  bool Allows(const PeerAddress& peer) const;

 private:
  std::vector<CidrRange> ranges_;
};

}  // namespace resyncwatch
