#include <catch2/catch.hpp>

#include "tests/parsers/test_util.h"

namespace resyncwatch {
namespace {

using testing::MacOf;
using testing::ParseAt;
using testing::TimeOf;

constexpr std::string_view kFailure =
    "CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed";

TEST_CASE("RFC 3164 line without host name is parsed") {
  auto m = ParseAt("<131>Nov 25 08:00:01 " + std::string(kFailure));
  CHECK(m.format == SyslogFormat::kRfc3164);
  CHECK(m.facility == 16);
  CHECK(m.severity == 3);
  CHECK(m.timestamp_text == "Nov 25 08:00:01");
  CHECK(TimeOf(m) == "2026-11-25T08:00:01.000000Z");
  CHECK(m.host.empty());
  CHECK(m.app.empty());
  CHECK(m.kind == EventKind::kResyncFailure);
  CHECK(m.message == kFailure);
}

TEST_CASE("RFC 3164 line with a relay's host name and tag keeps both") {
  auto m = ParseAt("<131>Nov 25 08:00:01 relay01 phones[42]: " + std::string(kFailure));
  CHECK(m.host == "relay01");
  CHECK(m.app == "phones");
  CHECK(m.kind == EventKind::kResyncFailure);
  CHECK(m.message == kFailure);
}

TEST_CASE("RFC 3164 space-padded and unpadded single-digit days") {
  CHECK(TimeOf(ParseAt("<134>Nov  5 08:00:01 x")) == "2026-11-05T08:00:01.000000Z");
  CHECK(TimeOf(ParseAt("<134>Nov 5 08:00:01 x")) == "2026-11-05T08:00:01.000000Z");
  CHECK(ParseAt("<134>Nov  5 08:00:01 x").timestamp_text == "Nov  5 08:00:01");
}

TEST_CASE("Year-less BSD timestamps take the year at or before reference plus one day") {
  int64_t new_year = 1'798'761'600'000'000;  // 2027-01-01T00:00:00Z
  CHECK(TimeOf(ParseAt("<134>Dec 31 23:59:59 x", new_year)) == "2026-12-31T23:59:59.000000Z");
  CHECK(TimeOf(ParseAt("<134>Jan  1 00:00:10 x", new_year)) == "2027-01-01T00:00:10.000000Z");
  CHECK(TimeOf(ParseAt("<134>Jan  1 23:00:00 x", new_year)) == "2027-01-01T23:00:00.000000Z");
  CHECK(TimeOf(ParseAt("<134>Jan  2 01:00:00 x", new_year)) == "2026-01-02T01:00:00.000000Z");
  ParseContext ctx;
  ctx.reference_us = new_year;
  ctx.year = 2020;
  CHECK(TimeOf(Parse("<134>Feb 29 10:00:00 x", testing::DefaultTemplates(), ctx)) ==
        "2020-02-29T10:00:00.000000Z");
}

TEST_CASE("ISO-8601 timestamps written by rsyslog are parsed with their offset") {
  auto m = ParseAt("<131>2026-11-25T09:00:02.123456+01:00 relay01 " + std::string(kFailure));
  CHECK(m.format == SyslogFormat::kRfc3164);
  CHECK(TimeOf(m) == "2026-11-25T08:00:02.123456Z");
  CHECK(m.host == "relay01");
  CHECK(m.kind == EventKind::kResyncFailure);
}

TEST_CASE("Relay file lines without PRI parse like the forwarded datagram") {
  auto file = ParseAt("Nov 25 08:00:01 relay01 " + std::string(kFailure));
  auto fwd = ParseAt("<131>Nov 25 08:00:01 relay01 " + std::string(kFailure));
  CHECK(file.format == SyslogFormat::kRfc3164);
  CHECK(file.facility == -1);
  CHECK(file.host == fwd.host);
  CHECK(file.kind == fwd.kind);
  CHECK(file.message == fwd.message);
  CHECK(file.message_time_us == fwd.message_time_us);
}

TEST_CASE("RFC 5424 with NILVALUEs, several SD elements with escapes, and a BOM") {
  auto m = ParseAt(
      "<134>1 2026-11-25T08:00:01.5Z relay01 phone 77 ID1 [a@1 x=\"q\\\"\\]\\\\\"][b@2 y=\"]\"] "
      "\xEF\xBB\xBF" +
      std::string(kFailure));
  CHECK(m.format == SyslogFormat::kRfc5424);
  CHECK(TimeOf(m) == "2026-11-25T08:00:01.500000Z");
  CHECK(m.host == "relay01");
  CHECK(m.app == "phone");
  CHECK(m.message == kFailure);
  CHECK(m.kind == EventKind::kResyncFailure);
  auto nil = ParseAt("<134>1 - - - - - - " + std::string(kFailure));
  CHECK(nil.format == SyslogFormat::kRfc5424);
  CHECK(nil.timestamp_text.empty());
  CHECK_FALSE(nil.message_time_us.has_value());
  CHECK(nil.host.empty());
  CHECK(nil.kind == EventKind::kResyncFailure);
}

TEST_CASE("Bare text from SPA firmware is format bare") {
  auto m = ParseAt(kFailure);
  CHECK(m.format == SyslogFormat::kBare);
  CHECK(m.facility == -1);
  CHECK(m.kind == EventKind::kResyncFailure);
  CHECK(MacOf(m) == "001234ab45de");
}

TEST_CASE("A multi-line SIP message without header is a debug datagram") {
  auto m = ParseAt("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.5\r\nContent-Length: 0\r\n");
  CHECK(m.format == SyslogFormat::kBare);
  CHECK(m.kind == EventKind::kDebug);
  CHECK(m.message == "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.5\r\nContent-Length: 0");
}

TEST_CASE("Malformed input is raw with a reason, never an exception") {
  struct Case {
    std::string in;
    std::string_view reason;
  } cases[] = {
      {"", "empty datagram"},
      {"<13", "PRI not terminated by '>'"},
      {"<999>", "PRI out of range 0-191"},
      {"<1234>x", "PRI longer than 3 digits"},
      {"<>x", "PRI without a number"},
      {"   ", "only blanks"},
      {std::string("a\0b", 3), "NUL byte inside the datagram"},
      {"<134>", "nothing after PRI"},
      {"<134>1 2026-11-25T08:00:01Z relay01", "RFC 5424 header cut short"},
      {"<134>1 - h a - - [x y=\"1\" z", "RFC 5424 structured data not terminated"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto m = ParseAt(c.in);
    CHECK(m.format == SyslogFormat::kRaw);
    CHECK(m.raw_reason == c.reason);
    CHECK(m.kind == EventKind::kUnknown);
  }
}

TEST_CASE("Invalid UTF-8 and 64 KiB datagrams are parsed, not rejected") {
  auto bad =
      ParseAt("<131>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: \xff\xfe");
  CHECK(bad.kind == EventKind::kResyncFailure);
  CHECK(bad.error == "\xff\xfe");
  std::string big(65536, 'A');
  auto m = ParseAt(big);
  CHECK(m.format == SyslogFormat::kBare);
  CHECK(m.message.size() == big.size());
}

TEST_CASE("Trailing CR, LF and NUL bytes are not part of the message") {
  auto m = ParseAt(std::string(kFailure) + std::string("\r\n\0", 3));
  CHECK(m.message == kFailure);
  CHECK(m.error == "http_get failed");
}

}  // namespace
}  // namespace resyncwatch
