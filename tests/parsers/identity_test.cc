#include <catch2/catch.hpp>

#include "tests/parsers/test_util.h"

namespace resyncwatch {
namespace {

using testing::MacOf;
using testing::ParseAt;

TEST_CASE("A MAC in any common spelling normalises to 12 lower-case hex digits") {
  for (std::string_view s : {"00:0e:08:ab:cd:ef", "00-0E-08-AB-CD-EF", "000e.08ab.cdef",
                             "000E08ABCDEF", "000e08abcdef", "00:0E:08:aB:Cd:eF"}) {
    INFO(s);
    auto mac = ParseMac(s);
    REQUIRE(mac.has_value());
    CHECK(FormatMac(*mac) == "000e08abcdef");
  }
}

TEST_CASE("Text that is not a MAC is refused") {
  for (std::string_view s : {"", "00:0e:08:ab:cd", "00:0e:08:ab:cd:eg", "00:0e-08:ab:cd:ef",
                             "000e08abcdef0", "000000000000", "00 0e 08 ab cd ef"}) {
    INFO(s);
    CHECK_FALSE(ParseMac(s).has_value());
  }
}

TEST_CASE("Syslog_Identifier in each form is recognised and taken off the body") {
  const std::string text = "CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed";
  struct Case {
    std::string_view id;
    IdentifierForm form;
  } cases[] = {{"001234ab45de", IdentifierForm::kMa},
               {"001234AB45DE", IdentifierForm::kMau},
               {"00:12:34:ab:45:de", IdentifierForm::kMac},
               {"FCH2251A1B2", IdentifierForm::kSn}};
  for (const auto& c : cases) {
    INFO(c.id);
    auto m = ParseAt("<131>Nov 25 08:00:01 " + std::string(c.id) + " " + text);
    CHECK(m.identifier == c.id);
    CHECK(m.identifier_form == c.form);
    CHECK(m.message == text);
    CHECK(MacOf(m) == "001234ab45de");
    CHECK(m.kind == EventKind::kResyncFailure);
    if (c.form == IdentifierForm::kSn) CHECK(m.sn == c.id);
  }
}

TEST_CASE("A 12-hex identifier naming another MAC than the text is a serial number") {
  auto m = ParseAt(
      "<131>Nov 25 08:00:01 88012BA01234 SPA112 00:0e:08:aa:01:12 -- Resync failed: corrupt file");
  CHECK(m.identifier_form == IdentifierForm::kSn);
  CHECK(m.sn == "88012BA01234");
  CHECK(MacOf(m) == "000e08aa0112");
}

TEST_CASE("rsyslog's split of the MAC gives the same event as the phone's own datagram") {
  const std::string phone =
      "<134>Nov 25 08:00:01 CP-6841-3PCC 00:0e:08:64:23:f2 -- Requesting resync "
      "tftp://192.168.1.200/basic.txt";
  const std::string relayed =
      "<134>Nov 25 08:00:01 CP-6841-3PCC 00: 0e:08:64:23:f2 -- Requesting resync "
      "tftp://192.168.1.200/basic.txt";
  const std::string file = relayed.substr(5);  // rsyslog's traditional file format
  auto a = ParseAt(phone);
  for (const auto& s : {relayed, file}) {
    INFO(s);
    auto b = ParseAt(s);
    CHECK(b.kind == a.kind);
    CHECK(b.mac == a.mac);
    CHECK(b.model == a.model);
    CHECK(b.host == a.host);
    CHECK(b.app == a.app);
    CHECK(b.url == a.url);
    CHECK(b.message == a.message);
    CHECK(b.message_time_us == a.message_time_us);
  }
  CHECK(MacOf(a) == "000e086423f2");
  CHECK(a.host.empty());
}

TEST_CASE("An rsyslog RFC 5424 forward that moved the model into APP-NAME is re-joined") {
  auto m = ParseAt(
      "<131>1 2026-11-25T08:03:00Z 001234ab45de CP-8851-3PCC - - - 00:12:34:ab:45:de -- Resync "
      "failed: http_get failed");
  CHECK(m.kind == EventKind::kResyncFailure);
  CHECK(m.model == "CP-8851-3PCC");
  CHECK(m.identifier == "001234ab45de");
  CHECK(m.message == "CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed");
}

TEST_CASE("Lines from a known phone that match no template are debug, others unknown") {
  CHECK(ParseAt("<135>Nov 25 08:00:01 001234ab45de [0]Reg Addr Change").kind == EventKind::kDebug);
  auto d = ParseAt("CP-7841-3PCC 00:0e:08:12:34:56 -- line 1 registered");
  CHECK(d.kind == EventKind::kDebug);
  CHECK(d.model == "CP-7841-3PCC");
  CHECK(MacOf(d) == "000e08123456");
  CHECK(ParseAt("INVITE sip:100@10.0.0.1 SIP/2.0").kind == EventKind::kDebug);
  auto u = ParseAt("<13>Nov 25 08:00:01 myhost sshd[123]: Accepted publickey");
  CHECK(u.kind == EventKind::kUnknown);
  CHECK(u.host == "myhost");
  CHECK(u.app == "sshd");
  CHECK(u.message == "Accepted publickey");
}

}  // namespace
}  // namespace resyncwatch
