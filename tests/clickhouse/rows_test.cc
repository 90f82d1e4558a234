// Events and raw datagrams survive the TabSeparated rows of the ClickHouse tables byte for
// byte (hostile text included); the schema names the options it is built from.
#include "clickhouse/rows.h"

#include <catch2/catch.hpp>

#include "clickhouse/clickhouse.h"

using namespace resyncwatch;

TEST_CASE("Event with tabs, newlines, backslashes and NUL bytes round-trips a TSV row") {
  Event e;
  e.seq = 42;
  e.event_time_us = -5;
  e.received_us = 1'795'680'000'123'456;
  e.message_time_us = 1'795'680'000'000'000;
  e.kind = EventKind::kResyncFailure;
  e.format = SyslogFormat::kRfc5424;
  e.facility = 16;
  e.severity = 3;
  e.mac = 0x000e08abcdef;
  e.sn = "FCH1234\t5";
  e.model = "CP-8851-3PCC";
  static constexpr char kBody[] = "line one\nline two\\ \x00 end\r";
  e.message = std::string(kBody, sizeof kBody - 1);
  e.error = "http_get failed";
  e.port = 443;
  e.source = "[2001:db8::5]:514";
  std::string row;
  clickhouse::AppendEventRow({7, "col\tlector"}, e, &row);
  REQUIRE(row.back() == '\n');
  CHECK(std::count(row.begin(), row.end(), '\n') == 1);
  // The insert row starts with the origin; the read columns are the rest.
  std::string_view rest = row;
  rest.remove_suffix(1);
  rest.remove_prefix(rest.find('\t') + 1);
  CHECK(rest.starts_with("col\\tlector\t"));
  rest.remove_prefix(rest.find('\t') + 1);
  Event back;
  REQUIRE(clickhouse::ParseEventRow(rest, &back).ok());
  CHECK(back.seq == 42);
  CHECK(back.event_time_us == -5);
  CHECK(back.message_time_us == e.message_time_us);
  CHECK(back.kind == EventKind::kResyncFailure);
  CHECK(back.format == SyslogFormat::kRfc5424);
  CHECK(back.mac == e.mac);
  CHECK(back.sn == e.sn);
  CHECK(back.message == e.message);
  CHECK(back.port == 443);
  CHECK(back.source == e.source);
  CHECK(back.host.empty());

  Event no_time = e;
  no_time.message_time_us.reset();
  row.clear();
  clickhouse::AppendEventRow({7, "c"}, no_time, &row);
  rest = std::string_view(row).substr(row.find("\tc\t") + 3);
  rest.remove_suffix(1);
  REQUIRE(clickhouse::ParseEventRow(rest, &back).ok());
  CHECK_FALSE(back.message_time_us.has_value());
}

TEST_CASE("Raw datagram bytes of every value round-trip a TSV row") {
  RawDatagram r;
  r.seq = 9;
  r.received_us = 123;
  r.source = "10.0.0.1:514";
  r.reason = "unparsed";
  for (int b = 0; b < 256; ++b) r.bytes.push_back(static_cast<char>(b));
  std::string row;
  clickhouse::AppendRawRow({1, "a"}, r, &row);
  std::string_view rest = std::string_view(row).substr(row.find("\ta\t") + 3);
  rest.remove_suffix(1);
  RawDatagram back;
  REQUIRE(clickhouse::ParseRawRow(rest, &back).ok());
  CHECK(back.seq == 9);
  CHECK(back.bytes == r.bytes);
}

// The escaper skips clean 8-byte words: a special byte anywhere in a word, at any
// alignment and next to any other byte value, must still be escaped.
TEST_CASE("Every special byte is escaped at every offset of a long field") {
  auto reference = [](std::string_view field) {
    std::string out;
    for (char c : field) {
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\0':
          out += "\\0";
          break;
        default:
          out.push_back(c);
      }
    }
    return out;
  };
  for (char special : {'\\', '\t', '\n', '\r', '\0'}) {
    for (int filler = 0; filler < 256; ++filler) {
      for (size_t at = 0; at < 19; ++at) {
        std::string field(19, static_cast<char>(filler));
        field[at] = special;
        std::string got;
        clickhouse::AppendEscaped(field, &got);
        INFO("special " << int(special) << " filler " << filler << " at " << at);
        REQUIRE(got == reference(field));
        REQUIRE(clickhouse::Unescape(got) == field);
      }
    }
  }
}

TEST_CASE("A row of the wrong shape is an error naming it, not a half-filled event") {
  Event e;
  Status s = clickhouse::ParseEventRow("1\t2\t3", &e);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("columns") != std::string::npos);
}

TEST_CASE("ClickHouse options refuse credentials in the URL and odd database names") {
  ClickHouseOptions o;
  o.url = "http://ch1:8123";
  CHECK(ValidateClickHouseOptions(o).ok());
  o.url = "http://user:secret@ch1:8123";
  Status s = ValidateClickHouseOptions(o);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("config file") != std::string::npos);
  o.url = "ch1:8123";
  CHECK_FALSE(ValidateClickHouseOptions(o).ok());
  o.url = "https://ch1";
  o.database = "noc; DROP TABLE x";
  CHECK_FALSE(ValidateClickHouseOptions(o).ok());
  o.database = "noc_2";
  CHECK(ValidateClickHouseOptions(o).ok());
}

TEST_CASE("Schema keeps events by day in time order, keyed to the record") {
  const std::string sql = ClickHouseSchemaSql("noc");
  CHECK(sql.find("CREATE DATABASE IF NOT EXISTS noc;") != std::string::npos);
  CHECK(sql.find("CREATE TABLE IF NOT EXISTS noc.events") != std::string::npos);
  CHECK(sql.find("ReplacingMergeTree") != std::string::npos);
  CHECK(sql.find("ORDER BY (event_time_us, store_id, seq)") != std::string::npos);
  CHECK(sql.find("PARTITION BY toYYYYMMDD") != std::string::npos);
  CHECK(sql.find("CREATE TABLE IF NOT EXISTS noc.raw") != std::string::npos);
}
