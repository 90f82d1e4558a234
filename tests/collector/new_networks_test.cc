// The first datagram of each new sender network is logged once; memory stays bounded.
#include "collector/new_networks.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

using namespace resyncwatch;

namespace {

PeerAddress Peer(const char* text, uint16_t port = 5060) {
  PeerAddress p;
  p.port = port;
  if (inet_pton(AF_INET, text, p.addr) == 1) {
    p.family = AF_INET;
  } else {
    REQUIRE(inet_pton(AF_INET6, text, p.addr) == 1);
    p.family = AF_INET6;
  }
  return p;
}

}  // namespace

TEST_CASE("the first datagram of a new IPv4 /24 or IPv6 /64 is logged once, then nothing") {
  NewSenderNetworks seen;
  std::string first = seen.Observe(Peer("10.1.2.3"), 154);
  CHECK(first.find("first datagram from 10.1.2.0/24 (sender 10.1.2.3:5060, 154 bytes)") == 0);
  CHECK(seen.Observe(Peer("10.1.2.3"), 154).empty());
  CHECK(seen.Observe(Peer("10.1.2.77", 514), 90).empty());  // same /24
  CHECK(seen.Observe(Peer("10.1.3.1"), 90).find("10.1.3.0/24") != std::string::npos);
  CHECK(seen.Observe(Peer("10.1.2.9"), 90).empty());  // seen before, not the last one
  CHECK(seen.Observe(Peer("2001:db8:0:1::5"), 80).find("2001:db8:0:1::/64") != std::string::npos);
  CHECK(seen.Observe(Peer("2001:db8:0:1:ffff::9"), 80).empty());  // same /64
  CHECK(seen.Observe(Peer("2001:db8:0:2::5"), 80).find("2001:db8:0:2::/64") != std::string::npos);
  // A dual-stack socket shows an IPv4 sender as ::ffff:a.b.c.d: the same IPv4 network.
  CHECK(seen.Observe(Peer("::ffff:10.1.3.200"), 80).empty());
  CHECK(seen.networks() == 4);
}

TEST_CASE("after its limit of networks it says so once and logs no new network") {
  NewSenderNetworks seen(3);
  CHECK_FALSE(seen.Observe(Peer("192.0.2.1"), 1).empty());
  CHECK_FALSE(seen.Observe(Peer("198.51.100.1"), 1).empty());
  std::string last = seen.Observe(Peer("203.0.113.1"), 1);
  CHECK(last.find("3 sender networks seen: new ones are no longer logged") != std::string::npos);
  CHECK(seen.Observe(Peer("10.9.9.9"), 1).empty());
  CHECK(seen.Observe(Peer("2001:db8::1"), 1).empty());
  CHECK(seen.networks() == 3);
}
