// The query socket's wire format: every request round-trips through its encoder and
// decoder, and a short, corrupt or oversized frame is an error value, never a crash or a
// different request.
#include "query_socket/wire.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;
namespace qw = resyncwatch::query_wire;

namespace {

constexpr MacAddress kMac = 0x000e08abcdef;

// The body of a whole frame (its 4-byte length checked and taken off).
std::string_view Body(const std::string& frame) {
  REQUIRE(frame.size() >= 4);
  const uint32_t n = (uint32_t(uint8_t(frame[0])) << 24) | (uint32_t(uint8_t(frame[1])) << 16) |
                     (uint32_t(uint8_t(frame[2])) << 8) | uint32_t(uint8_t(frame[3]));
  REQUIRE(n == frame.size() - 4);
  return std::string_view(frame).substr(4);
}

template <typename R>
R RoundTrip(const R& request) {
  const std::string frame = qw::EncodeRequest(qw::Request(request));
  Result<qw::Request> back = qw::DecodeRequest(Body(frame));
  INFO(back.status().ToString());
  REQUIRE(back.ok());
  REQUIRE(std::holds_alternative<R>(*back));
  return std::get<R>(*back);
}

WriteBatch ImportBatch() {
  WriteBatch b;
  b.skip_duplicates = true;
  Event e = PhoneEvent(kMac, kT0 + 5 * kSec, EventKind::kResyncFailure);
  e.error = "http_get failed";
  e.source = "file:phones.log";
  b.events.push_back(e);
  b.events.push_back(PhoneEvent(0x000e08000002, kT0 - 7, EventKind::kResyncRequest, "SPA112"));
  b.raw.push_back({0, kT0 + 1, "file:phones.log", "no syslog header", "garbage\x01line"});
  b.counter_deltas["imported_lines"] = 3;
  b.counter_deltas["negative_for_the_test"] = -2;
  return b;
}

}  // namespace

TEST_CASE("Every query request round-trips through its encoder and decoder") {
  qw::HistoryRequest h{kMac, {kT0 - 3 * kSec, kT0 + 9 * kSec}};
  qw::HistoryRequest h2 = RoundTrip(h);
  CHECK(h2.mac == kMac);
  CHECK(h2.range.since_us == h.range.since_us);
  CHECK(h2.range.until_us == h.range.until_us);
  // The open range's ends are the extreme values and survive the bias.
  qw::HistoryRequest open = RoundTrip(qw::HistoryRequest{kMac, {}});
  CHECK(open.range.since_us == INT64_MIN);
  CHECK(open.range.until_us == INT64_MAX);

  CHECK(RoundTrip(qw::MacForSerialRequest{"FCH2251A1B2"}).sn == "FCH2251A1B2");
  CHECK(RoundTrip(qw::MacForSerialRequest{""}).sn.empty());
  CHECK(RoundTrip(qw::GetDeviceRequest{kMac}).mac == kMac);

  FollowFilter f;
  f.mac = kMac;
  f.kind_mask = 1u << static_cast<unsigned>(EventKind::kResyncFailure);
  f.pattern = "(?i)http_get\\s+failed";
  f.ignore_case = true;
  f.max_pending = 100;
  FollowFilter f2 = RoundTrip(qw::FollowRequest{f}).filter;
  CHECK(f2.mac == f.mac);
  CHECK(f2.kind_mask == f.kind_mask);
  CHECK(f2.pattern == f.pattern);
  CHECK(f2.ignore_case);
  CHECK(f2.max_pending == 100);
  FollowFilter any = RoundTrip(qw::FollowRequest{}).filter;
  CHECK(any.mac == 0);
  CHECK(any.kind_mask == ~0u);
  CHECK_FALSE(any.ignore_case);

  const WriteBatch b = ImportBatch();
  WriteBatch b2 = RoundTrip(qw::ImportRequest{b}).batch;
  CHECK(b2.skip_duplicates);
  REQUIRE(b2.events.size() == 2);
  for (size_t i = 0; i < 2; ++i) CheckSame(b2.events[i], b.events[i]);
  REQUIRE(b2.raw.size() == 1);
  CHECK(b2.raw[0].received_us == b.raw[0].received_us);
  CHECK(b2.raw[0].source == b.raw[0].source);
  CHECK(b2.raw[0].reason == b.raw[0].reason);
  CHECK(b2.raw[0].bytes == b.raw[0].bytes);
  CHECK(b2.counter_deltas == b.counter_deltas);
  // The copy-free import encoder writes the same bytes.
  CHECK(qw::EncodeImportRequest(b) == qw::EncodeRequest(qw::ImportRequest{b}));
}

TEST_CASE("Every cut of a query request is refused as corrupt") {
  FollowFilter f;
  f.mac = kMac;
  f.pattern = "failed";
  const std::string frames[] = {
      qw::EncodeRequest(qw::HistoryRequest{kMac, {kT0, kT0 + kSec}}),
      qw::EncodeRequest(qw::GetDeviceRequest{kMac}),
      qw::EncodeRequest(qw::FollowRequest{f}),
      qw::EncodeImportRequest(ImportBatch()),
  };
  for (const std::string& frame : frames) {
    std::string_view body = Body(frame);
    for (size_t n = 0; n < body.size(); ++n) {
      Result<qw::Request> r = qw::DecodeRequest(body.substr(0, n));
      INFO("op " << int(uint8_t(body[1])) << ", first " << n << " of " << body.size() << " bytes");
      CHECK(r.status().code() == Status::Code::kCorruption);
    }
    // One byte too many is as corrupt as one too few.
    std::string longer(body);
    longer.push_back('\0');
    CHECK(qw::DecodeRequest(longer).status().code() == Status::Code::kCorruption);
  }
  // MacForSerial's argument is the rest of the body, so only a cut header is corrupt.
  CHECK(qw::DecodeRequest("").status().code() == Status::Code::kCorruption);
  CHECK(qw::DecodeRequest(std::string(1, char(qw::kVersion))).status().code() ==
        Status::Code::kCorruption);
}

TEST_CASE("Malformed query request fields are refused, not misread") {
  std::string body(Body(qw::EncodeRequest(qw::FollowRequest{})));
  std::string bad_flags = body;
  bad_flags[2 + 6 + 5] = 0x7f;  // version, op, MAC, 5-byte varint of ~0u, then the flags
  CHECK(qw::DecodeRequest(bad_flags).status().code() == Status::Code::kCorruption);

  // An import that claims more events than its bytes could hold.
  std::string lie = {char(qw::kVersion), char(qw::kOpImport), 1, char(0xff), char(0xff), 3};
  CHECK(qw::DecodeRequest(lie).status().code() == Status::Code::kCorruption);

  std::string unknown = {char(qw::kVersion), char(99)};
  CHECK(qw::DecodeRequest(unknown).status().code() == Status::Code::kUnsupported);
  std::string newer = body;
  newer[0] = char(qw::kVersion + 1);
  Status s = qw::DecodeRequest(newer).status();
  CHECK(s.code() == Status::Code::kUnsupported);
  CHECK(s.message().find("speaks version " + std::to_string(qw::kVersion)) != std::string::npos);
}

TEST_CASE("An import naming one counter twice is refused, not summed past the int64 range") {
  // Found by the query fuzzer: INT64_MIN then -1 for one name overflowed the sum.
  auto body = [](std::map<std::string, int64_t> counters) {
    WriteBatch b;
    b.counter_deltas = std::move(counters);
    return std::string(Body(qw::EncodeRequest(qw::ImportRequest{b})));
  };
  const std::string none = body({});
  const std::string first = body({{"imported_lines", INT64_MIN}});
  const std::string second = body({{"imported_lines", -1}});
  REQUIRE(qw::DecodeRequest(first).ok());
  // The same request with both entries: the count (last byte of `none`) made 2.
  std::string twice = none.substr(0, none.size() - 1) + char(2) + first.substr(none.size()) +
                      second.substr(none.size());
  CHECK(qw::DecodeRequest(twice).status().code() == Status::Code::kCorruption);
}

TEST_CASE("Answers round-trip: final status with payload, events, import counts") {
  std::string_view payload;
  Status status;
  const std::string done = qw::DoneFrame(Status::NotFound("no such serial"), "xyz");
  REQUIRE(qw::ParseDone(Body(done), &status, &payload).ok());
  CHECK(status.IsNotFound());
  CHECK(status.message() == "no such serial");
  CHECK(payload == "xyz");
  for (size_t n = 0; n < 3; ++n) {
    CHECK_FALSE(qw::ParseDone(Body(done).substr(0, n), &status, &payload).ok());
  }

  WriteResult w{12, 3, 4000};
  Result<WriteResult> w2 = qw::DecodeWriteResult(qw::EncodeWriteResult(w));
  REQUIRE(w2.ok());
  CHECK(w2->events_stored == 12);
  CHECK(w2->raw_stored == 3);
  CHECK(w2->duplicates_skipped == 4000);
  CHECK_FALSE(qw::DecodeWriteResult(qw::EncodeWriteResult(w).substr(1)).ok());

  const WriteBatch b = ImportBatch();
  std::string frame;
  qw::BeginEvents(&frame);
  CHECK_FALSE(qw::HasEvents(frame));
  for (const Event& e : b.events) qw::AppendEvent(e, &frame);
  CHECK(qw::HasEvents(frame));
  qw::FinishFrame(&frame, 0);
  std::vector<Event> got;
  Event scratch;
  REQUIRE(qw::ForEachEvent(Body(frame), &scratch, [&](const Event& e) {
            got.push_back(e);
            return true;
          }).ok());
  REQUIRE(got.size() == 2);
  for (size_t i = 0; i < 2; ++i) CheckSame(got[i], b.events[i]);
  // A cut inside the last event is corrupt, not a shorter list.
  Status cut = qw::ForEachEvent(Body(frame).substr(0, Body(frame).size() - 1), &scratch,
                                [](const Event&) { return true; });
  CHECK(cut.code() == Status::Code::kCorruption);
}

TEST_CASE("A frame reader reports a frame cut by the peer, an oversized frame and a clean end") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  const std::string frame = qw::EncodeRequest(qw::GetDeviceRequest{kMac});
  // A whole frame, then half of one, then the writer goes.
  REQUIRE(qw::WriteAll(fds[1], frame + frame.substr(0, 7), -1, 1000).ok());
  ::close(fds[1]);
  qw::FrameReader reader(fds[0], -1, 1000);
  std::string_view body;
  REQUIRE(reader.Next(&body).ok());
  CHECK(body == Body(frame));
  Status s = reader.Next(&body);
  CHECK(s.code() == Status::Code::kIoError);
  ::close(fds[0]);

  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  const std::string huge = {char(0x7f), char(0xff), char(0xff), char(0xff)};
  REQUIRE(qw::WriteAll(fds[1], huge, -1, 1000).ok());
  qw::FrameReader oversized(fds[0], -1, 1000);
  CHECK(oversized.Next(&body).code() == Status::Code::kCorruption);
  ::close(fds[1]);
  ::close(fds[0]);

  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  ::close(fds[1]);
  qw::FrameReader ended(fds[0], -1, 1000);
  CHECK(ended.Next(&body).IsNotFound());
  ::close(fds[0]);
}
