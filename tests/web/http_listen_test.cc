// --http-listen / --metrics-listen values (common/http_listen.h).
#include "common/http_listen.h"

#include <catch2/catch.hpp>

using namespace resyncwatch;

TEST_CASE("http-listen values: loopback by default, errors name the option and value") {
  auto a = ParseHttpListen("9514");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9514);
  CHECK(a->IsLoopback());
  auto b = ParseHttpListen("[::1]:9100");
  REQUIRE(b.ok());
  CHECK(b->host == "::1");
  CHECK(b->IsLoopback());
  auto c = ParseHttpListen("0.0.0.0:9514");
  REQUIRE(c.ok());
  CHECK_FALSE(c->IsLoopback());
  CHECK(ParseHttpListen("127.1.2.3:80")->IsLoopback());
  CHECK_FALSE(ParseHttpListen("[::]:80")->IsLoopback());
  CHECK_FALSE(ParseHttpListen("192.0.2.7:80")->IsLoopback());
  auto d = ParseHttpListen("localhost:x", "--metrics-listen");
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().rfind("--metrics-listen: 'localhost:x'", 0) == 0);
  CHECK_FALSE(ParseHttpListen("::1:9514").ok());
  CHECK_FALSE(ParseHttpListen("127.0.0.1:70000").ok());
  CHECK_FALSE(ParseHttpListen("prometheus.local:9514").ok());
}
