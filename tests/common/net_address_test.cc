#include "common/net_address.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>

using namespace resyncwatch;

TEST_CASE("Host and port split from IPv4, bracketed IPv6, bare IPv6 and names") {
  auto hp = SplitHostPort("10.1.2.3:514");
  REQUIRE(hp.ok());
  CHECK(hp->host == "10.1.2.3");
  CHECK(hp->port == 514);
  hp = SplitHostPort("[2001:db8::5]:514");
  REQUIRE(hp.ok());
  CHECK(hp->host == "2001:db8::5");
  CHECK(hp->port == 514);
  CHECK(hp->bracketed);
  hp = SplitHostPort("2001:db8::5");  // a device's last_ip: never a port
  REQUIRE(hp.ok());
  CHECK(hp->host == "2001:db8::5");
  CHECK_FALSE(hp->has_port());
  hp = SplitHostPort("[::1]");
  REQUIRE(hp.ok());
  CHECK(hp->host == "::1");
  CHECK_FALSE(hp->has_port());
  hp = SplitHostPort("syslog.example");
  REQUIRE(hp.ok());
  CHECK(hp->host == "syslog.example");
  CHECK_FALSE(hp->has_port());
}

TEST_CASE("Bad host:port texts are errors that say what is wrong") {
  CHECK(SplitHostPort("[2001:db8::5").status().message() == "is missing ']'");
  CHECK(SplitHostPort("[::1]x").status().message() == "has something after ']' other than :PORT");
  CHECK(SplitHostPort("10.1.2.3:70000").status().message() == "has a bad port");
  CHECK(SplitHostPort("10.1.2.3:").status().message() == "has a bad port");
  CHECK(SplitHostPort(":514").status().message() == "has no host");
  CHECK(SplitHostPort("10.1.2.3", PortRule::kRequired).status().message() == "has no :PORT");
  CHECK(SplitHostPort("::1:514", PortRule::kRequired).status().message() ==
        "needs [brackets] around an IPv6 address");
}

TEST_CASE("Joined host and port read back to the same host and port") {
  CHECK(JoinHostPort("10.1.2.3", 514) == "10.1.2.3:514");
  CHECK(JoinHostPort("2001:db8::5", 514) == "[2001:db8::5]:514");
  CHECK(JoinHostPort("2001:db8::5", -1) == "[2001:db8::5]");
  for (const char* host : {"10.1.2.3", "2001:db8::5", "::", "prov.example"}) {
    for (int port : {-1, 0, 514, 65535}) {
      auto back = SplitHostPort(JoinHostPort(host, port));
      REQUIRE(back.ok());
      CHECK(back->host == host);
      CHECK(back->port == port);
    }
  }
}

TEST_CASE("The host of a source is found without its port or brackets") {
  CHECK(HostOf("10.1.2.3:5060") == "10.1.2.3");
  CHECK(HostOf("[2001:db8::1]:514") == "2001:db8::1");
  CHECK(HostOf("2001:db8::1") == "2001:db8::1");
  CHECK(HostOf("10.1.2.3") == "10.1.2.3");
}

TEST_CASE("Sender addresses print and parse back, with or without a port") {
  PeerAddress v4;
  v4.family = AF_INET;
  v4.port = 5060;
  inet_pton(AF_INET, "192.168.100.9", v4.addr);
  CHECK(v4.ToString() == "192.168.100.9:5060");
  CHECK(v4.HostText() == "192.168.100.9");
  PeerAddress v6;
  v6.family = AF_INET6;
  v6.port = 514;
  inet_pton(AF_INET6, "2001:db8::5", v6.addr);
  CHECK(v6.ToString() == "[2001:db8::5]:514");
  CHECK(v6.HostText() == "2001:db8::5");
  for (const PeerAddress& p : {v4, v6}) {
    CHECK(PeerAddress::Parse(p.ToString()) == p);
    PeerAddress host_only = p;
    host_only.port = 0;
    CHECK(PeerAddress::Parse(p.HostText()) == host_only);
  }
  CHECK_FALSE(PeerAddress::Parse("file:messages"));
  CHECK_FALSE(PeerAddress::Parse("prov.example:80"));
  CHECK_FALSE(PeerAddress::Parse("[10.1.2.3]:514"));
  CHECK(PeerAddress{}.ToString() == "unknown");
}

TEST_CASE("Only numeric addresses are IP addresses") {
  CHECK(IsIpAddress("10.1.0.51"));
  CHECK(IsIpAddress("2001:db8::21"));
  CHECK_FALSE(IsIpAddress("[2001:db8::21]"));
  CHECK_FALSE(IsIpAddress("relay01"));
  CHECK_FALSE(IsIpAddress(""));
  CHECK_FALSE(IsIpAddress(std::string(100, '1')));
}
