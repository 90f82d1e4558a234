#include <catch2/catch.hpp>

#include "tests/parsers/test_util.h"

namespace resyncwatch {
namespace {

using testing::MacOf;
using testing::ParseAt;

TEST_CASE("The six default templates give their kinds") {
  struct Case {
    std::string text;
    EventKind kind;
  } cases[] = {
      {"CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/a.xml",
       EventKind::kResyncRequest},
      {"CP-8851-3PCC 00:12:34:ab:45:de -- Successful resync http://10.23.45.67:80/a.xml",
       EventKind::kResyncSuccess},
      {"CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed",
       EventKind::kResyncFailure},
      {"CP-8851-3PCC 00:12:34:ab:45:de -- Requesting upgrade http://10.2.3.4/f.loads",
       EventKind::kUpgradeRequest},
      {"CP-8851-3PCC 00:12:34:ab:45:de -- Successful upgrade http://10.2.3.4/f.loads -- "
       "sip88xx.12-0-1MPP-14.loads",
       EventKind::kUpgradeSuccess},
      {"CP-8851-3PCC 00:12:34:ab:45:de -- Upgrade failed: corrupt file",
       EventKind::kUpgradeFailure},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto m = ParseAt(c.text);
    CHECK(m.kind == c.kind);
    CHECK(m.model == "CP-8851-3PCC");
    CHECK(MacOf(m) == "001234ab45de");
  }
  CHECK(ParseAt(cases[4].text).error == "sip88xx.12-0-1MPP-14.loads");
}

TEST_CASE("URLs: missing port takes the scheme default, IPv6 and host names are kept") {
  struct Case {
    std::string_view url, scheme, server, path;
    int port;
  } cases[] = {
      {"tftp://192.168.1.200/basic.txt", "tftp", "192.168.1.200", "/basic.txt", 69},
      {"http://prov.telco.com/a.xml", "http", "prov.telco.com", "/a.xml", 80},
      {"https://prov.telco.com/a.xml", "https", "prov.telco.com", "/a.xml", 443},
      {"http://prov.telco.com:8080/a.xml", "http", "prov.telco.com", "/a.xml", 8080},
      {"tftp://[2001:db8::5]:69/x.cfg", "tftp", "2001:db8::5", "/x.cfg", 69},
      {"https://[2001:db8::5]/x.cfg", "https", "2001:db8::5", "/x.cfg", 443},
  };
  for (const auto& c : cases) {
    INFO(c.url);
    auto m = ParseAt("CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync " + std::string(c.url));
    CHECK(m.kind == EventKind::kResyncRequest);
    CHECK(m.url == c.url);
    CHECK(m.scheme == c.scheme);
    CHECK(m.server == c.server);
    CHECK(m.port == c.port);
    CHECK(m.path == c.path);
  }
}

TEST_CASE("Credentials in URLs and --key values are replaced by ***") {
  auto m = ParseAt(
      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync [--key MySecret] "
      "https://admin:pw@prov.telco.com/a.xml");
  CHECK(m.kind == EventKind::kResyncRequest);
  CHECK(m.url == "https://***@prov.telco.com/a.xml");
  CHECK(m.server == "prov.telco.com");
  CHECK(m.message ==
        "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync [--key ***] "
        "https://***@prov.telco.com/a.xml");
  auto f = ParseAt("CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: --key=abc http://u:p@h/x");
  CHECK(f.error == "--key=*** http://***@h/x");
  CHECK(f.message.find("abc") == std::string_view::npos);
}

TEST_CASE("A parsed message stays valid after a move (scratch lives on the heap)") {
  std::string text =
      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync https://u:p@prov.telco.com/a.xml";
  ParsedMessage a = ParseAt(text);
  ParsedMessage b = std::move(a);
  CHECK(b.url == "https://***@prov.telco.com/a.xml");
}

TEST_CASE("Configured templates replace a kind's defaults; 'default' keeps it") {
  auto set = TemplateSet::FromConfigJson(R"({"other": 1, "templates": {
      "resync_failure": ["RSYNC FAIL $MAU err=$ERR code=$A", "default"],
      "resync_request": []}})");
  REQUIRE(set.ok());
  CHECK(set->size() == 6);  // 2 failure + success + 3 upgrade kinds
  auto custom = ParseAt("RSYNC FAIL 001234AB45DE err=http_get failed code=17", 0, *set);
  CHECK(custom.kind == EventKind::kResyncFailure);
  CHECK(MacOf(custom) == "001234ab45de");
  CHECK(custom.error == "http_get failed");
  CHECK(ParseAt("CP-1 00:12:34:ab:45:de -- Resync failed: x", 0, *set).kind ==
        EventKind::kResyncFailure);
  CHECK(ParseAt("CP-1 00:12:34:ab:45:de -- Requesting resync http://h/x", 0, *set).kind ==
        EventKind::kDebug);
}

TEST_CASE("Candidates come from required literals, or from the RE2 set without them") {
  // With a template made of macros alone, every template goes through the RE2::Set; with
  // literals everywhere, the literal search picks the candidates. Both must agree.
  const std::vector<std::pair<EventKind, std::string>> with_literals = {
      {EventKind::kResyncFailure, "$PN $MAC -- Resync failed: $ERR"},
      {EventKind::kResyncRequest, "$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH"},
      {EventKind::kResyncSuccess, "$PN $MAC -- Successful resync $SCHEME://$SERVIP:$PORT$PATH"},
  };
  auto macros_only = with_literals;
  macros_only.push_back({EventKind::kUpgradeFailure, "$PN $MAC $ERR"});
  auto by_literal = TemplateSet::FromTemplates(with_literals);
  auto by_set = TemplateSet::FromTemplates(macros_only);
  REQUIRE(by_literal.ok());
  REQUIRE(by_set.ok());
  const std::string bodies[] = {
      "CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed",
      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/a.xml",
      "CP-8851-3PCC 00:12:34:ab:45:de -- Successful resync tftp://10.1.1.1/x.cfg",
      // A required literal present, but not where its template needs it.
      "Resync failed: CP-8851-3PCC 00:12:34:ab:45:de -- Requesting",
      "SIP/2.0 200 OK",
      "",
  };
  for (const std::string& body : bodies) {
    INFO(body);
    auto a = ParseAt(body, 0, *by_literal);
    auto b = ParseAt(body, 0, *by_set);
    CHECK(a.kind == b.kind);
    CHECK(a.url == b.url);
    CHECK(a.error == b.error);
    CHECK(MacOf(a) == MacOf(b));
  }
  CHECK(ParseAt(bodies[0], 0, *by_literal).kind == EventKind::kResyncFailure);
  CHECK(ParseAt(bodies[3], 0, *by_literal).kind == EventKind::kUnknown);
  CHECK(ParseAt("CP-8851-3PCC 00:12:34:ab:45:de corrupt file", 0, *by_set).kind ==
        EventKind::kUpgradeFailure);
}

TEST_CASE("All macros compile, including $A..$P and $GPP_A..$GPP_P") {
  auto set = TemplateSet::FromTemplates(
      {{EventKind::kResyncRequest,
        "$PN $PSN $MA $MAU $MAC $SN $SCHEME $METH $SERV $SERVIP $PORT $PATH $IP $EXTIP $SWVER "
        "$HWVER $A $P $GPP_A $GPP_P $(MA) $$ $ERR"}});
  CHECK(set.ok());
}

TEST_CASE("A config without templates gives the defaults") {
  auto set = TemplateSet::FromConfigJson(R"({"listen": ["udp://0.0.0.0:514"]})");
  REQUIRE(set.ok());
  CHECK(set->size() == 6);
}

TEST_CASE("Configuration errors name the bad macro, template or key") {
  auto unknown = TemplateSet::FromConfigJson(R"({"templates": {"resync_failure": "$PN $FOO"}})");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.status().message(), Catch::Contains("unknown macro $FOO"));
  CHECK_THAT(unknown.status().message(), Catch::Contains("$PN $FOO"));
  auto kind = TemplateSet::FromConfigJson(R"({"templates": {"resync_flop": ["$PN"]}})");
  REQUIRE_FALSE(kind.ok());
  CHECK_THAT(kind.status().message(), Catch::Contains("resync_flop"));
  auto dollar = TemplateSet::FromConfigJson(R"({"templates": {"resync_failure": ["x $ y"]}})");
  REQUIRE_FALSE(dollar.ok());
  CHECK_THAT(dollar.status().message(), Catch::Contains("'x $ y'"));
  auto type = TemplateSet::FromConfigJson(R"({"templates": {"resync_failure": [3]}})");
  REQUIRE_FALSE(type.ok());
  CHECK_THAT(type.status().message(), Catch::Contains("templates.resync_failure"));
  CHECK_FALSE(TemplateSet::FromConfigJson("{not json").ok());
  CHECK_FALSE(TemplateSet::FromConfigJson(R"({"templates": ["x"]})").ok());
}

}  // namespace
}  // namespace resyncwatch

namespace resyncwatch {
namespace {

// Found by the fuzzer: early raw results (NUL byte, bad PRI) kept the secret.
TEST_CASE("Raw datagrams are redacted like parsed ones") {
  auto nul = testing::ParseAt(std::string("\f [--key MySecret] http://u:pw@h/x \0 tail", 41));
  CHECK(nul.format == SyslogFormat::kRaw);
  CHECK(nul.message.find("MySecret") == std::string_view::npos);
  CHECK(nul.message.find("pw") == std::string_view::npos);
  // Also found by the fuzzer: a URL whose authority runs into a second URL.
  auto twice = testing::ParseAt("x https://a:s3cr@pros://admin:s3cret@pronc y");
  CHECK(twice.message == "x https://***@pros://***@pronc y");
  // And a third: a --key value ending at ']' joined what followed to an earlier URL.
  auto joined = testing::ParseAt("a://@x--key=v]w@host b");
  CHECK(joined.message == "a://***@host b");
  auto pri = testing::ParseAt("<999>[--key MySecret] x");
  CHECK(pri.format == SyslogFormat::kRaw);
  CHECK(pri.message == "<999>[--key ***] x");
}

}  // namespace
}  // namespace resyncwatch
