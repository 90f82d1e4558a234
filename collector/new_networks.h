// NewSenderNetworks: logs at info the first datagram from each sender network not seen
// before (the /24 of an IPv4 sender, the /64 of an IPv6 one; an IPv4 sender seen as
// ::ffff:a.b.c.d counts as IPv4), so that an operator sees phones and relays arrive (and a
// newcomer sees the test message arrive) without debug logs. Memory is bounded: after
// `limit` networks it says so once and logs no more new ones. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "collector/ingest_queue.h"

namespace resyncwatch {

class NewSenderNetworks {
 public:
  static constexpr size_t kDefaultLimit = 4096;
  explicit NewSenderNetworks(size_t limit = kDefaultLimit) : limit_(limit) {}

  // Logs and returns the line when peer's network is new; "" otherwise (the usual case,
  // answered from the previous datagram's network without a lookup).
  std::string Observe(const PeerAddress& peer, size_t bytes);
  size_t networks() const { return v4_.size() + v6_.size(); }

 private:
  size_t limit_;
  bool full_ = false;
  bool has_last_ = false;
  bool last_v6_ = false;
  uint64_t last_prefix_ = 0;
  std::unordered_set<uint64_t> v4_;
  std::unordered_set<uint64_t> v6_;
};

}  // namespace resyncwatch
