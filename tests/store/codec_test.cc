#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "store/event_codec.h"
#include "store/key_format.h"
#include "store/record_codec.h"
#include "store/rfc3339_form.h"
#include "tests/store/store_checks.h"

using namespace resyncwatch;
using namespace resyncwatch::store_format;
using resyncwatch::testing::CheckSame;

namespace {

Event PhoneEvent() {
  Event e;
  e.seq = 42;
  e.event_time_us = 1'795'680'001'123'456;
  e.received_us = e.event_time_us;
  e.message_time_us = 1'795'680'001'000'000;
  e.kind = EventKind::kResyncRequest;
  e.format = SyslogFormat::kRfc3164;
  e.facility = 16;
  e.severity = 6;
  e.mac = 0x001234ab45deULL;
  e.model = "CP-8851-3PCC";
  e.identifier = "001234ab45de";
  e.timestamp_text = FormatBsdTimestamp(*e.message_time_us);
  e.url = "http://10.23.45.67:80/cisco/001234ab45de.cfg";
  e.scheme = "http";
  e.server = "10.23.45.67";
  e.port = 80;
  e.path = "/cisco/001234ab45de.cfg";
  e.message = "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync " + e.url;
  e.source = "10.1.2.3:5060";
  return e;
}

// Calls visit(copy, byte, bit) with every copy of value that has exactly one bit flipped.
template <typename Visit>
void ForEachBitFlip(const std::string& value, Visit visit) {
  for (size_t i = 0; i < value.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = value;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      visit(flipped, i, bit);
    }
  }
}

// The fields DecodeEventHead fills are those of the full event.
void CheckHeadOf(const Event& head, const Event& full) {
  CHECK(head.kind == full.kind);
  CHECK(head.received_us == full.received_us);
  CHECK(head.message_time_us == full.message_time_us);
  CHECK(head.mac == full.mac);
  CHECK(head.sn == full.sn);
  CHECK(head.model == full.model);
  CHECK(head.scheme == full.scheme);
  CHECK(head.server == full.server);
  CHECK(head.port == full.port);
  CHECK(head.path == full.path);
  CHECK(head.error == full.error);
}

Event RoundTrip(const Event& e) {
  std::string value;
  EncodeEvent(e, &value);
  Event back;
  back.seq = e.seq;
  back.event_time_us = e.event_time_us;
  Status s = DecodeEvent(value, &back);
  REQUIRE(s.ok());
  return back;
}

}  // namespace

TEST_CASE("Phone event round-trips through the codec with its body rebuilt exactly") {
  Event e = PhoneEvent();
  CheckSame(e, RoundTrip(e));
  std::string value;
  EncodeEvent(e, &value);
  // The body, URL, identifier and timestamp are references, not copies.
  CHECK(value.size() < 110);  // the strings alone are 226 bytes
  CHECK(value.find("Requesting resync") != std::string::npos);
  CHECK(value.find("10.23.45.67:80") == std::string::npos);
}

TEST_CASE("Events whose fields do not match their body still round-trip exactly") {
  Event e = PhoneEvent();
  e.message = "CP-8851-3PCC 00:12:34:AB:45:DE -- Requesting resync http://other/x \x01\x02 end\x01";
  e.url = "http://user:***@10.23.45.67/x";             // not reconstructible from parts
  e.timestamp_text = "2026-11-25T08:00:01.123+01:00";  // not BSD
  e.source = "[2001:db8::5]:514";
  e.message_time_us.reset();
  e.received_us = e.event_time_us - 5'000'000;
  e.facility = -1;
  e.severity = -1;
  e.sn = "FCH2251A1B2";
  e.host = "relay01";
  e.app = "00:";
  e.identifier = "FCH2251A1B2";
  e.error = "http_get failed";
  CheckSame(e, RoundTrip(e));
  e.source = "010.1.2.3:5060";  // leading zero: kept as text
  CheckSame(e, RoundTrip(e));
  e.url = "http://10.23.45.67/cisco/001234ab45de.cfg";  // port omitted in the URL
  CheckSame(e, RoundTrip(e));
}

TEST_CASE("Event without MAC, strings or times round-trips") {
  Event e;
  e.event_time_us = -5;
  e.received_us = 17;
  e.message = std::string("INVITE sip:1000@10.0.0.1 SIP/2.0\r\nVia: x\0y", 43);
  CheckSame(e, RoundTrip(e));
}

TEST_CASE("Every truncation of an encoded event is reported as corruption, never a crash") {
  Event e = PhoneEvent();
  e.error = "corrupt file";
  e.sn = "FCH2251A1B2";
  std::string value;
  EncodeEvent(e, &value);
  for (size_t n = 0; n < value.size(); ++n) {
    Event back;
    Status s = DecodeEvent(value.substr(0, n), &back);
    CHECK(s.code() == Status::Code::kCorruption);
  }
  Event back;
  CHECK(DecodeEvent(value + "x", &back).code() == Status::Code::kCorruption);
  std::string newer = value;
  newer[0] = 3;
  Status s = DecodeEvent(newer, &back);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("version 3") != std::string::npos);
}

TEST_CASE("A time delta that overflows the event time is corruption and not a wrapped time") {
  // Found by the query-socket fuzzer: a key at the end of time plus a stored delta was a
  // signed overflow (undefined behaviour) that decoded to a time far in the past.
  Event e = PhoneEvent();
  e.event_time_us = 0;
  e.received_us = 1'000'000;  // received delta (within the hour: stored as a delta)
  e.message_time_us = -1;     // message time delta
  std::string value;
  EncodeEvent(e, &value);
  Event back;
  back.event_time_us = INT64_MAX;
  Status s = DecodeEvent(value, &back);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("time") != std::string::npos);
  e.received_us = 0;
  e.message_time_us = 1;
  value.clear();
  EncodeEvent(e, &value);
  back.event_time_us = INT64_MAX;
  CHECK(DecodeEvent(value, &back).code() == Status::Code::kCorruption);
  back.event_time_us = INT64_MAX - 1;  // the largest time that still fits decodes
  CHECK(DecodeEvent(value, &back).ok());
  CHECK(back.message_time_us == INT64_MAX);
}

TEST_CASE("RFC 3339 timestamp texts rendered from the message time are stored as their form") {
  struct Case {
    const char* text;
    bool rendered;  // stored as a form rather than as text
  };
  const Case cases[] = {
      {"2026-11-22T00:00:00.182841+00:00", true},  // rsyslog's RFC 3339 file format
      {"2026-11-25T08:00:01.123+01:00", true},
      {"2026-11-25T08:00:01Z", true},
      {"2026-11-24T23:30:01.5-08:30", true},
      {"2026-11-25 08:00:01.000001Z", true},
      {"1969-12-31T23:59:59.999999Z", true},  // before the epoch
      {"2026-11-25T08:00:01-00:00", false},   // "unknown offset": not what +00:00 renders
      {"2026-11-25t08:00:01Z", false},
      {"2026-11-25T08:00:01.123456789Z", false},  // nanoseconds: more than is kept
      {"2026-11-25T08:00:01", false},             // no zone
      {"2026-11-25T08:00:01+24:00", false},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    Event e = PhoneEvent();
    e.timestamp_text = c.text;
    std::optional<int64_t> t = ParseIso8601(c.text);
    e.message_time_us = t ? *t : 1'795'680'001'000'000;
    CheckSame(e, RoundTrip(e));
    std::string value;
    EncodeEvent(e, &value);
    CHECK((value.find(std::string(c.text).substr(0, 10)) == std::string::npos) == c.rendered);
    for (size_t n = 0; n < value.size(); ++n) {
      Event back;
      back.event_time_us = e.event_time_us;
      CHECK(DecodeEvent(value.substr(0, n), &back).code() == Status::Code::kCorruption);
    }
  }
  // A text that looks rendered but is not the message time's is kept as it is.
  Event e = PhoneEvent();
  e.timestamp_text = "2026-11-25T08:00:01Z";
  e.message_time_us = *ParseIso8601("2026-11-25T08:00:02Z");
  CheckSame(e, RoundTrip(e));
}

TEST_CASE("An RFC 3339 form can render a time exactly when rendering gives a text") {
  // The head decoder checks CanRenderRfc3339 where the full decoder renders: they must agree,
  // above all at the edges of four-digit years and of int64.
  const int64_t first = *ParseIso8601("0000-01-01T00:00:00Z");
  const int64_t end = *ParseIso8601("9999-12-31T23:59:59.999999Z") + 1;
  std::vector<int64_t> times = {first - 1, first, first + 1, end - 1,   end,
                                end + 1,   0,     -1,        INT64_MIN, INT64_MAX};
  for (int minutes : {0, 1, -1, 90, -90, kMaxRfc3339OffsetMinutes, -kMaxRfc3339OffsetMinutes}) {
    for (int64_t t : {first, end}) {
      times.push_back(t - int64_t{minutes} * 60'000'000);
      times.push_back(t - int64_t{minutes} * 60'000'000 - 1);
    }
  }
  for (int64_t t : times) {
    for (int minutes : {0, 1, -1, 90, -90, kMaxRfc3339OffsetMinutes, -kMaxRfc3339OffsetMinutes}) {
      for (bool zulu : {true, false}) {
        if (zulu && minutes != 0) continue;
        Rfc3339Form form;
        form.fraction_digits = 6;
        form.zulu = zulu;
        form.offset_minutes = minutes;
        char buf[kRfc3339MaxLength];
        INFO(t << " at " << minutes << " minutes");
        CHECK(CanRenderRfc3339(t, form) == (RenderRfc3339(t, form, buf) != 0));
      }
    }
  }
  Rfc3339Form utc;
  char buf[kRfc3339MaxLength];
  CHECK(std::string_view(buf, RenderRfc3339(first, utc, buf)) == "0000-01-01T00:00:00Z");
  CHECK(RenderRfc3339(first - 1, utc, buf) == 0);
  CHECK(std::string_view(buf, RenderRfc3339(end - 1, utc, buf)) == "9999-12-31T23:59:59Z");
  CHECK(RenderRfc3339(end, utc, buf) == 0);
}

TEST_CASE("Imported events that differ only in time encode to the same bytes") {
  // An import stamps a run's events with the run's start: stored whole, that receive time
  // is the same bytes in every event, hours or days after their event times.
  const int64_t run_start = 1'796'000'000'000'000;
  std::string first, second;
  for (int64_t offset : {int64_t{0}, int64_t{3'600'000'123}}) {
    Event e = PhoneEvent();
    e.event_time_us += offset;
    e.message_time_us = e.event_time_us;
    e.timestamp_text = "";
    e.received_us = run_start;
    CheckSame(e, RoundTrip(e));
    EncodeEvent(e, offset == 0 ? &first : &second);
  }
  CHECK(first == second);
  Event far = PhoneEvent();  // times whose difference does not fit int64
  far.event_time_us = INT64_MIN + 1;
  far.received_us = INT64_MAX;
  far.message_time_us.reset();
  CheckSame(far, RoundTrip(far));
}

TEST_CASE("A message time is stored in seconds or whole or as a delta and always comes back") {
  // Live, the event time is the receive time in microseconds and a BSD timestamp has
  // whole seconds: stored as seconds, consecutive events repeat or count up.
  Event live = PhoneEvent();
  live.message_time_us = live.event_time_us / 1'000'000 * 1'000'000 - 2'000'000;
  live.timestamp_text = FormatBsdTimestamp(*live.message_time_us);
  CheckSame(live, RoundTrip(live));
  Event next = live;
  next.event_time_us += 347'211;
  next.received_us = next.event_time_us;
  std::string a, b;
  EncodeEvent(live, &a);
  EncodeEvent(next, &b);
  CHECK(a == b);  // only the key (event time) differs
  // Imported: the message time is the event time, a one-byte delta.
  Event imported = live;
  imported.event_time_us = *imported.message_time_us;
  CheckSame(imported, RoundTrip(imported));
  // Times whose delta does not fit int64 are stored whole.
  Event far = PhoneEvent();
  far.event_time_us = INT64_MAX - 5;
  far.received_us = far.event_time_us;
  far.message_time_us = INT64_MIN + 7;
  far.timestamp_text = "x";
  CheckSame(far, RoundTrip(far));
  far.message_time_us = -9'000'000'000'000'000'000;  // whole seconds, far in the past
  CheckSame(far, RoundTrip(far));
}

TEST_CASE("An event stored by the version 1 encoding still decodes") {
  // Bytes as the store wrote them before 7 Dec: an imported request, its receive time a
  // delta, its RFC 3339 timestamp as text.
  const std::string v1(
      "\x01\x01\x01\x01\x01\x0b\xde\xe8\xdb\xb3\xd2N\x00\x00\x1b\xd4\xfe\xb0x\x00\x0c"
      "CP-7841-3PCC\x00\x00\x20"
      "2026-11-22T00:00:00.182841+00:00\x04http\x0b"
      "10.23.45.62\xa0"
      "\x01\x14/cisco/7841-3PCC.xml\x00\x00\x1d\x01\x01 \x01\x02 -- Requesting resync \x01\x06"
      "\x0c"
      "file:a2m.log",
      153);
  Event e;
  e.seq = 1;
  e.event_time_us = *ParseIso8601("2026-11-22T00:00:00.182841Z");
  REQUIRE(DecodeEvent(v1, &e).ok());
  CHECK(e.kind == EventKind::kResyncRequest);
  CHECK(e.mac == 0x001bd4feb078ULL);
  CHECK(e.timestamp_text == "2026-11-22T00:00:00.182841+00:00");
  CHECK(e.url == "http://10.23.45.62:80/cisco/7841-3PCC.xml");
  CHECK(e.message ==
        "CP-7841-3PCC 00:1b:d4:fe:b0:78 -- Requesting resync "
        "http://10.23.45.62:80/cisco/7841-3PCC.xml");
  CHECK(e.source == "file:a2m.log");
  CHECK(e.received_us > e.event_time_us);
  // Re-encoded, it is version 2 and smaller.
  std::string v2;
  EncodeEvent(e, &v2);
  CHECK(v2[0] == 2);
  CHECK(v2.size() < v1.size() - 20);
}

TEST_CASE("Flags that contradict each other or that the version lacks are corruption") {
  Event e = PhoneEvent();
  e.timestamp_text = "2026-11-25T08:00:01Z";
  e.message_time_us = *ParseIso8601(e.timestamp_text);
  e.event_time_us = e.received_us = *e.message_time_us;  // as imported: one flags byte
  std::string value;
  EncodeEvent(e, &value);
  // Byte 5 is the flags varint: 64 (RFC 3339) | 8 (URL with port) | 2 (MAC) | 1.
  REQUIRE(static_cast<uint8_t>(value[5]) == (64 | 32 | 8 | 2 | 1));
  auto both_fail = [&](std::string bad, const char* what) {
    INFO(what);
    Event full, head;
    full.event_time_us = head.event_time_us = e.event_time_us;
    CHECK(DecodeEvent(bad, &full).code() == Status::Code::kCorruption);
    CHECK(DecodeEventHead(bad, &head).code() == Status::Code::kCorruption);
    CHECK_FALSE(PeekEventMac(bad).ok());
  };
  std::string bsd_too = value;
  bsd_too[5] = static_cast<char>(value[5] | 4);
  both_fail(bsd_too, "BSD and RFC 3339 timestamp");
  std::string both_urls = value;
  both_urls[5] = static_cast<char>(value[5] | 16);
  both_fail(both_urls, "URL with and without port");
  std::string no_time = value;
  no_time[5] = static_cast<char>(value[5] & ~1);
  both_fail(no_time, "timestamp form without a message time");
  std::string old_version = value;
  old_version[0] = 1;
  both_fail(old_version, "version 1 with a version 2 flag");
}

TEST_CASE("Whatever the full decoder accepts the head decoder reads the same way") {
  // Both read the leading fields and the URL parts; a record the full decoder accepts must
  // give the head decoder the same values, however it was damaged.
  Event rfc = PhoneEvent();
  rfc.timestamp_text = "2026-11-25T08:00:01.123+05:30";
  rfc.message_time_us = *ParseIso8601(rfc.timestamp_text);
  rfc.received_us = rfc.event_time_us + 86'400'000'000;
  rfc.error = "http_get failed";
  Event bsd = PhoneEvent();
  bsd.url = "http://10.23.45.67/x";
  for (const Event& e : {rfc, bsd}) {
    std::string value;
    EncodeEvent(e, &value);
    ForEachBitFlip(value, [&](const std::string& bad, size_t i, int bit) {
      Event full, head;
      full.event_time_us = head.event_time_us = e.event_time_us;
      if (!DecodeEvent(bad, &full).ok()) return;
      INFO("byte " << i << " bit " << bit);
      REQUIRE(DecodeEventHead(bad, &head).ok());
      CheckHeadOf(head, full);
    });
  }
}

TEST_CASE("Flipped bytes in an encoded event never crash the decoder") {
  Event e = PhoneEvent();
  std::string value;
  EncodeEvent(e, &value);
  ForEachBitFlip(value, [&](const std::string& bad, size_t, int) {
    Event back;
    back.event_time_us = e.event_time_us;
    (void)DecodeEvent(bad, &back);  // any status; must not crash or over-read
  });
  SUCCEED();
}

TEST_CASE("Text references decode to the original for any bytes") {
  std::string_view cands[] = {"abcd", "abcdef", "", "xyz"};
  for (std::string text : {std::string("abcdefabcd--abc"), std::string("\x01\x01\x00\x01", 4),
                           std::string(""), std::string("xyzxyz")}) {
    std::string enc;
    EncodeWithRefs(text, cands, 4, &enc);
    std::string_view payload(enc);
    payload.remove_prefix(1);  // the varint length (short strings)
    std::string out;
    REQUIRE(DecodeWithRefs(payload, cands, 4, &out));
    CHECK(out == text);
  }
  std::string out;
  CHECK_FALSE(DecodeWithRefs("\x01", cands, 4, &out));
  CHECK_FALSE(DecodeWithRefs("\x01\x09", cands, 4, &out));
  CHECK_FALSE(DecodeWithRefs("\x01\x03", cands, 4, &out));  // empty candidate
}

TEST_CASE("Text references replace whole candidates and escape the marker byte") {
  std::string_view cands[] = {"abcd", "zz"};  // "zz" is too short to be referenced
  std::string enc;
  EncodeWithRefs(std::string_view("ab\x01"
                                  "cabcdzz",
                                  10),
                 cands, 2, &enc);
  CHECK(enc == std::string("\x09"
                           "ab\x01\x00"
                           "c\x01\x01"
                           "zz",
                           10));
}

TEST_CASE("BSD timestamps print as 'Mmm dd hh:mm:ss' with the day padded by a space") {
  CHECK(FormatBsdTimestamp(1'795'680'001'000'000) == "Nov 26 08:00:01");
  CHECK(FormatBsdTimestamp(1'772'694'489'000'000) == "Mar  5 07:08:09");
  CHECK(FormatBsdTimestamp(1'830'297'599'999'999) == "Dec 31 23:59:59");
}

TEST_CASE("Filling a used Event in place gives the same Event as building a new one") {
  ParsedMessage m;
  m.format = SyslogFormat::kBare;
  m.kind = EventKind::kDebug;
  m.host = "phone-7";
  m.message = "SIP/2.0 200 OK (a debug line without identifier or times)";
  Event reused = PhoneEvent();  // every field set, from another message
  reused.error = "http_get failed";
  reused.sn = "FCH2345ABCD";
  reused.host = "a-previous-host";
  EventFromParsed(m, 1'795'680'002'000'000, "10.9.8.7:514", true, &reused);
  const Event fresh = EventFromParsed(m, 1'795'680'002'000'000, "10.9.8.7:514", true);
  CHECK(reused.seq == 0);
  CheckSame(reused, fresh);
  CHECK(reused.format == fresh.format);
  CHECK(reused.port == 0);
  CHECK(reused.host == "phone-7");
  for (const std::string* f :
       {&reused.sn, &reused.model, &reused.app, &reused.identifier, &reused.timestamp_text,
        &reused.url, &reused.scheme, &reused.server, &reused.path, &reused.error}) {
    CHECK(f->empty());
  }
}

TEST_CASE("Keys sort by time then seq, negative times included") {
  CHECK(TimeSeqKey(-1, 5) < TimeSeqKey(0, 0));
  CHECK(TimeSeqKey(100, 1) < TimeSeqKey(100, 2));
  CHECK(TimeSeqKey(100, 999) < TimeSeqKey(101, 0));
  CHECK(TimeBoundKey(INT64_MIN) < TimeSeqKey(INT64_MIN + 1, 0));
  auto k = ParseTimeSeqKey(TimeSeqKey(-123456, 77));
  REQUIRE(k);
  CHECK(k->time_us == -123456);
  CHECK(k->seq == 77);
  CHECK_FALSE(ParseTimeSeqKey("short"));
  CHECK(*ParseMacKey(MacKey(0xffeeddccbbaaULL)) == 0xffeeddccbbaaULL);
}

namespace {
IndexEntry SlotEntry(int64_t slot) { return IndexEntry{slot, false, 0}; }
IndexEntry ExactEntry(int64_t slot, uint64_t seq) { return IndexEntry{slot, true, seq}; }
}  // namespace

TEST_CASE("Index lists keep the distinct entries of their runs and merge into one ascending run") {
  std::vector<IndexEntry> first = {SlotEntry(1000), SlotEntry(900), ExactEntry(5000, 40),
                                   SlotEntry(1000)};  // out of order, with a repeat
  std::vector<IndexEntry> second = {ExactEntry(5000, 41), SlotEntry(-7), SlotEntry(INT64_MIN),
                                    ExactEntry(INT64_MAX, 3)};
  std::string a, b, merged;
  EncodeIndexList(first, &a);
  EncodeIndexList(second, &b);
  std::vector<IndexEntry> back;
  REQUIRE(DecodeIndexList(a, &back).ok());
  CHECK(back == std::vector<IndexEntry>{SlotEntry(900), SlotEntry(1000), ExactEntry(5000, 40)});
  back.clear();
  REQUIRE(DecodeIndexList(a + b.substr(1), &back).ok());  // runs concatenate
  CHECK(back.size() == 7);
  CHECK(back[3] == SlotEntry(INT64_MIN));
  CHECK(back[6] == ExactEntry(INT64_MAX, 3));
  std::string_view lists[] = {b, a, a};
  REQUIRE(MergeIndexLists(lists, 3, &merged).ok());
  back.clear();
  REQUIRE(DecodeIndexList(merged, &back).ok());
  CHECK(back == std::vector<IndexEntry>{SlotEntry(INT64_MIN), SlotEntry(-7), SlotEntry(900),
                                        SlotEntry(1000), ExactEntry(5000, 40), ExactEntry(5000, 41),
                                        ExactEntry(INT64_MAX, 3)});
  CHECK(merged.size() < a.size() + b.size());
  for (size_t n = 0; n + 1 < a.size(); ++n) {
    if (n == 1) continue;  // the version byte alone is a valid empty list
    back.clear();
    CHECK_FALSE(DecodeIndexList(a.substr(0, n), &back).ok());
  }
  std::string bad = a;
  bad[0] = 9;
  CHECK_FALSE(DecodeIndexList(bad, &back).ok());
}

TEST_CASE("Index lists whose slots pass INT64_MAX or whose runs are empty are corrupt") {
  std::vector<IndexEntry> back;
  CHECK_FALSE(DecodeIndexList(std::string("\x02\x00\x00", 3), &back).ok());  // no entries
  // From slot INT64_MAX - 1 (zigzag 2^64 - 4): a slot entry, then one 2 slots later.
  std::string past_max = "\x02\xfc\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02";
  past_max.push_back('\0');
  past_max.push_back('\x04');
  CHECK_FALSE(DecodeIndexList(past_max, &back).ok());
  past_max.back() = 2;  // 1 slot later reaches it
  back.clear();
  REQUIRE(DecodeIndexList(past_max, &back).ok());
  CHECK(back == std::vector<IndexEntry>{SlotEntry(INT64_MAX - 1), SlotEntry(INT64_MAX)});
}

TEST_CASE("Version 1 index lists of time and seq pairs decode to entries") {
  // version 1; run: time 1000, seq 10, 2 more; (time -100, seq +1), (time +4100, seq +29).
  const std::string v1 = "\x01\xd0\x0f\x0a\x02\xc7\x01\x02\x88\x40\x3a";
  std::vector<IndexEntry> back;
  REQUIRE(DecodeIndexList(v1, &back).ok());
  // 1000 and 5000 µs are whole milliseconds: exact; 900 µs is listed by its slot.
  CHECK(back == std::vector<IndexEntry>{ExactEntry(1, 10), SlotEntry(0), ExactEntry(5, 40)});
  std::string v2, merged;
  EncodeIndexList({SlotEntry(0), SlotEntry(7)}, &v2);
  std::string_view lists[] = {v1, v2};  // a stored v1 list and a v2 operand of a later flush
  REQUIRE(MergeIndexLists(lists, 2, &merged).ok());
  CHECK(merged[0] == kIndexCodecVersion);
  back.clear();
  REQUIRE(DecodeIndexList(merged, &back).ok());
  CHECK(back ==
        std::vector<IndexEntry>{SlotEntry(0), ExactEntry(1, 10), ExactEntry(5, 40), SlotEntry(7)});
  for (size_t n = 2; n < v1.size(); ++n) {
    back.clear();
    CHECK_FALSE(DecodeIndexList(v1.substr(0, n), &back).ok());
  }
}

TEST_CASE("An index slot is the millisecond a time falls in and spans it within int64") {
  CHECK(IndexSlotOf(0) == 0);
  CHECK(IndexSlotOf(999) == 0);
  CHECK(IndexSlotOf(1000) == 1);
  CHECK(IndexSlotOf(-1) == -1);
  CHECK(IndexSlotOf(-1000) == -1);
  CHECK(IndexSlotOf(-1001) == -2);
  CHECK(IndexSlotFirstUs(-2) == -2000);
  CHECK(IndexEntryOf(2000, 9) == ExactEntry(2, 9));
  CHECK(IndexEntryOf(2001, 9) == SlotEntry(2));
  CHECK(IndexEntryOf(-1000, 3) == ExactEntry(-1, 3));
  CHECK(IndexEntryOf(-1001, 3) == SlotEntry(-2));
  CHECK(IndexEntryOf(INT64_MIN, 5) == SlotEntry(IndexSlotOf(INT64_MIN)));
  CHECK(IndexSlotLastUs(-2) == -1001);
  CHECK(IndexSlotFirstUs(IndexSlotOf(INT64_MIN)) == INT64_MIN);
  CHECK(IndexSlotLastUs(IndexSlotOf(INT64_MAX)) == INT64_MAX);
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < 100000; ++i) {
    const int64_t t = static_cast<int64_t>(rng());
    const int64_t slot = IndexSlotOf(t);
    REQUIRE(IndexSlotFirstUs(slot) <= t);
    REQUIRE(t <= IndexSlotLastUs(slot));
    if (slot > IndexSlotOf(INT64_MIN))
      REQUIRE(IndexSlotLastUs(slot - 1) == IndexSlotFirstUs(slot) - 1);
  }
}

TEST_CASE("Summaries and alerts round-trip and reject truncation") {
  DeviceSummary s;
  s.mac = 9;
  s.model = "CP-7841-3PCC";
  s.sn = "FCH1";
  s.last_ip = "10.0.0.9";
  s.first_seen_us = -3;
  s.last_seen_us = 1'000'000'000;
  s.last_failure_us = 999;
  s.consecutive_failures = 4;
  s.last_error = "http_get failed";
  s.last_url = "tftp://x/y";
  s.last_kind = EventKind::kResyncFailure;
  s.failures = 4;
  s.events = 12;
  std::string value;
  EncodeSummary(s, &value);
  DeviceSummary back;
  back.mac = 9;
  REQUIRE(DecodeSummary(value, &back).ok());
  CHECK(back.model == s.model);
  CHECK(back.first_seen_us == -3);
  CHECK(back.consecutive_failures == 4);
  CHECK(back.last_kind == EventKind::kResyncFailure);
  CHECK(back.events == 12);
  for (size_t n = 0; n < value.size(); ++n)
    CHECK_FALSE(DecodeSummary(value.substr(0, n), &back).ok());

  AlertRecord a{"fleet_failures/all/1", 5, 6, false, "{\"rule\":\"x\"}"};
  value.clear();
  EncodeAlert(a, &value);
  AlertRecord ab;
  REQUIRE(DecodeAlert(value, &ab).ok());
  CHECK(ab.id == a.id);
  CHECK(ab.updated_us == 6);
  CHECK_FALSE(ab.active);
  CHECK(ab.json == a.json);
  for (size_t n = 0; n < value.size(); ++n) CHECK_FALSE(DecodeAlert(value.substr(0, n), &ab).ok());
}

// Fleet scans read events through DecodeEventHead; the schedule analysis tells profiles
// apart by the URL's parts, so the path must come out as written, MAC references undone.
TEST_CASE("The head decoder gives the full decoder's kind, times, ids, URL parts and error") {
  Event bsd = PhoneEvent();  // BSD timestamp, URL rebuilt from its parts with the port
  bsd.kind = EventKind::kResyncFailure;
  bsd.error = "http_get failed";
  bsd.sn = "FCH2251A1B2";
  Event text = bsd;  // timestamp and URL stored as text
  text.timestamp_text = "2026-11-25T08:00:01.123+01:00";
  text.url = "http://user:***@10.23.45.67/x";
  text.host = "relay01";
  text.app = "app";
  Event no_port = bsd;
  no_port.url = "http://10.23.45.67/cisco/001234ab45de.cfg";
  Event bare;
  bare.event_time_us = -5;
  bare.received_us = 17;
  for (const Event& e : {bsd, text, no_port, bare}) {
    std::string value;
    EncodeEvent(e, &value);
    Event head;
    head.event_time_us = e.event_time_us;
    REQUIRE(DecodeEventHead(value, &head).ok());
    CheckHeadOf(head, e);
    CHECK(head.message.empty());
    // A truncated record is corruption unless the cut spares every field the head reads.
    for (size_t n = 0; n < value.size(); ++n) {
      Event cut;
      cut.event_time_us = e.event_time_us;
      Status s = DecodeEventHead(std::string_view(value).substr(0, n), &cut);
      if (s.ok()) {
        CHECK(cut.server == e.server);
        CHECK(cut.error == e.error);
      } else {
        CHECK(s.code() == Status::Code::kCorruption);
      }
    }
  }
}
