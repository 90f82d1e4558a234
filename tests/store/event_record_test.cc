// Records of several events (store/event_record.h): their framing, and every read path of
// the store over events that share a time.
#include "store/event_record.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "store/event_codec.h"
#include "store/key_format.h"
#include "store/varint.h"
#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::store_format;
using namespace resyncwatch::testing;

namespace resyncwatch {
Result<int64_t> CountKeysForTest(const std::string& dir, const std::string& cf_name);
}

namespace {

std::string Encoded(const Event& e) {
  std::string out;
  EncodeEvent(e, &out);
  return out;
}

// The record value the builder makes of these events' encodings.
std::string RecordOf(const std::vector<std::string>& encodings) {
  EventRecordBuilder b;
  for (const std::string& enc : encodings) {
    b.BeginEvent(kT0)->append(enc);
    b.EndEvent();
  }
  b.Finish();
  return std::string(b.header()) + std::string(b.body());
}

}  // namespace

TEST_CASE("A record of several events splits into their encodings in seq order") {
  std::vector<std::string> encodings;
  for (int i = 0; i < 3; ++i) {
    encodings.push_back(Encoded(PhoneEvent(0x000e08000001 + i, kT0, EventKind::kResyncRequest)));
  }
  const std::string value = RecordOf(encodings);
  CHECK(static_cast<uint8_t>(value[0]) == kEventGroupTag);
  std::vector<std::string_view> split;
  REQUIRE(SplitEventRecord(value, &split).ok());
  REQUIRE(split.size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(split[i] == encodings[i]);
  // ForEachEventIn gives the i-th event the key's seq + i, at the key's time.
  std::vector<uint64_t> seqs;
  auto visit = [&](const TimeSeq& at, std::string_view, bool*) {
    CHECK(at.time_us == kT0);
    seqs.push_back(at.seq);
    return Status::Ok();
  };
  REQUIRE(ForEachEventIn(TimeSeqKey(kT0, 40), value, &split, nullptr, visit).ok());
  CHECK(seqs == std::vector<uint64_t>{40, 41, 42});
  // A visitor that clears *more is not called again; one that fails ends the record.
  seqs.clear();
  bool more = true;
  auto stop_at_second = [&](const TimeSeq& at, std::string_view, bool* go_on) {
    seqs.push_back(at.seq);
    *go_on = seqs.size() < 2;
    return Status::Ok();
  };
  REQUIRE(ForEachEventIn(TimeSeqKey(kT0, 40), value, &split, &more, stop_at_second).ok());
  CHECK_FALSE(more);
  CHECK(seqs == std::vector<uint64_t>{40, 41});
  seqs.clear();
  auto fail_at_first = [&](const TimeSeq& at, std::string_view, bool*) {
    seqs.push_back(at.seq);
    return Status::Corruption("no");
  };
  CHECK(ForEachEventIn(TimeSeqKey(kT0, 40), value, &split, nullptr, fail_at_first).message() ==
        "no");
  CHECK(seqs == std::vector<uint64_t>{40});
}

TEST_CASE("A record of one event is its encoding alone, as records were before groups") {
  const std::string enc = Encoded(PhoneEvent(0x000e08000001, kT0, EventKind::kResyncFailure));
  const std::string value = RecordOf({enc});
  CHECK(value == enc);
  std::vector<std::string_view> split;
  REQUIRE(SplitEventRecord(value, &split).ok());
  REQUIRE(split.size() == 1);
  CHECK(split[0] == enc);
}

TEST_CASE("A group holds at most kMaxGroupEvents events, kMaxGroupBytes and one time") {
  EventRecordBuilder b;
  CHECK_FALSE(b.Takes(kT0, 1));  // nothing to join
  for (size_t i = 0; i < kMaxGroupEvents; ++i) {
    REQUIRE((b.empty() || b.Takes(kT0, 1)));
    b.BeginEvent(kT0)->append("x");
    b.EndEvent();
  }
  CHECK_FALSE(b.Takes(kT0, 1));
  b.Clear();
  b.BeginEvent(kT0)->append("x");
  b.EndEvent();
  CHECK(b.Takes(kT0, 1));
  CHECK_FALSE(b.Takes(kT0 + 1, 1));
  CHECK(b.Takes(kT0, kMaxGroupBytes - 1));
  CHECK_FALSE(b.Takes(kT0, kMaxGroupBytes));
}

TEST_CASE("A long message gets a record of its own among events of one time") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  WriteBatch batch;
  for (int i = 0; i < 6; ++i) {
    Event e = PhoneEvent(0x000e08000300 + i, kT0, EventKind::kResyncRequest);
    if (i == 2) {  // a debug dump of 20 KB between short messages
      e.kind = EventKind::kDebug;
      e.message = std::string(20'000, 'd');
    }
    batch.events.push_back(std::move(e));
  }
  REQUIRE(store->Write(batch).ok());
  // Records: events 0-1, the long one alone, 3-5.
  CHECK(*CountKeysForTest(tmp.path(), "events") == 3);
  std::vector<size_t> sizes;
  REQUIRE(store->Scan({}, [&](const Event& e) { return sizes.push_back(e.message.size()), true; })
              .ok());
  REQUIRE(sizes.size() == 6);
  CHECK(sizes[2] == 20'000);
}

TEST_CASE("A broken group is reported as corruption") {
  const std::string a = Encoded(PhoneEvent(0x000e08000001, kT0, EventKind::kResyncRequest));
  const std::string good = RecordOf({a, a});
  auto group = [](std::initializer_list<uint64_t> header, const std::string& body) {
    std::string v(1, static_cast<char>(kEventGroupTag));
    for (uint64_t n : header) PutVarint(&v, n);
    return v + body;
  };
  const std::vector<std::pair<const char*, std::string>> broken = {
      {"tag alone", std::string(1, static_cast<char>(kEventGroupTag))},
      {"count of one", group({1, a.size()}, a)},
      {"count above the maximum", group({kMaxGroupEvents + 1}, a)},
      {"truncated lengths", group({3, a.size()}, a)},
      {"an empty event", group({2, 0, a.size()}, a)},
      {"lengths longer than the record", group({2, a.size(), a.size()}, a)},
      {"bytes left over", good + "z"},
      {"a length that wraps the sum", group({2, a.size() + 1, UINT64_MAX}, a)},
  };
  for (const auto& [what, value] : broken) {
    INFO(what);
    std::vector<std::string_view> split;
    Status st = SplitEventRecord(value, &split);
    CHECK(st.code() == Status::Code::kCorruption);
    CHECK(st.message().find("event group") != std::string::npos);
  }
}

namespace {

constexpr MacAddress kBase = 0x000e08000200;
constexpr int kDevices = 7;

EventKind KindOf(int i) {
  static const EventKind kinds[] = {EventKind::kResyncRequest, EventKind::kResyncSuccess,
                                    EventKind::kResyncRequest, EventKind::kResyncFailure};
  return kinds[i % 4];
}

// Each device's events as written (seq order): time and message.
using Expected = std::map<MacAddress, std::vector<std::pair<int64_t, std::string>>>;

void WriteAt(Store& store, int64_t time_us, int n, int first, Expected* expected) {
  WriteBatch batch;
  for (int i = first; i < first + n; ++i) {
    Event e = PhoneEvent(kBase + i % kDevices, time_us, KindOf(i));
    e.message += " #" + std::to_string(i);  // each event its own
    (*expected)[e.mac].push_back({time_us, e.message});
    batch.events.push_back(std::move(e));
  }
  REQUIRE(store.Write(batch).ok());
}

// Every read path gives each device exactly its events, in order.
void CheckEveryRead(const Store& store, const Expected& expected, size_t total) {
  std::vector<std::pair<int64_t, uint64_t>> order;  // (time, seq) of each event scanned
  REQUIRE(store
              .Scan({},
                    [&](const Event& e) {
                      order.push_back({e.event_time_us, e.seq});
                      return true;
                    })
              .ok());
  REQUIRE(order.size() == total);
  CHECK(std::adjacent_find(order.begin(), order.end(), std::greater_equal<>()) == order.end());
  size_t failures = 0, expected_failures = 0;
  REQUIRE(store
              .ScanKinds({}, 1u << static_cast<unsigned>(EventKind::kResyncFailure),
                         [&](const Event& e) {
                           CHECK(e.kind == EventKind::kResyncFailure);
                           ++failures;
                           return true;
                         })
              .ok());
  for (const auto& [mac, written] : expected) {
    INFO("device " << MacColon(mac));
    // A history is in (time, seq) order.
    auto ordered = written;
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> messages;
    for (const auto& [time_us, message] : ordered) messages.push_back(message);
    std::vector<std::string> history;
    REQUIRE(store
                .History(mac, {},
                         [&](const Event& e) {
                           CHECK(e.mac == mac);
                           history.push_back(e.message);
                           return true;
                         })
                .ok());
    CHECK(history == messages);
    Result<DeviceSummary> summary = store.GetDevice(mac);
    REQUIRE(summary.ok());
    CHECK(summary->events == messages.size());
    for (const std::string& m : messages)
      expected_failures += m.find("failed") != std::string::npos;
  }
  CHECK(failures == expected_failures);
}

}  // namespace

TEST_CASE("Events at one time share records, and every read finds each of them") {
  TempDir tmp;
  StoreOptions options;
  options.index_flush_events = 100;  // the first write is indexed, the later ones stay in the tail
  Expected expected;
  {
    auto store = OpenOrDie(tmp.path(), options);
    WriteAt(*store, kT0, 150, 0, &expected);  // 3 or 4 groups (64 events, 4 KiB), indexed
    // Older events, as an import brings, in the tail: scanning the tail from them passes
    // the indexed groups, whose events it must leave to the index.
    WriteAt(*store, kT0 - kSec, 30, 150, &expected);  // one group
    WriteAt(*store, kT0 - kSec, 1, 180, &expected);   // one event alone at that time
    // 150 events of about 80 bytes at kT0 take 3 (64 each at most) or 4 (4 KiB) groups,
    // then the group of 30 and the one alone.
    const int64_t records = *CountKeysForTest(tmp.path(), "events");
    CHECK(records >= 5);
    CHECK(records <= 6);
    CheckEveryRead(*store, expected, 181);
    // A read-only view rebuilds the tail's summaries from the records.
    StoreOptions view = options;
    view.mode = StoreOptions::Mode::kReadOnlyView;
    auto reader = OpenOrDie(tmp.path(), view);
    CheckEveryRead(*reader, expected, 181);
  }
  // Reopened, the writer replays the tail's groups into its summaries.
  auto store = OpenOrDie(tmp.path(), options);
  CheckEveryRead(*store, expected, 181);
  WriteAt(*store, kT0 + 2 * kSec, 90, 181, &expected);  // reaches the flush: all indexed now
  CheckEveryRead(*store, expected, 271);
}

TEST_CASE("A time range keeps or drops a group whole, by its one time") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  Expected expected;
  WriteAt(*store, kT0, 10, 0, &expected);
  WriteAt(*store, kT0 + kSec, 10, 10, &expected);
  WriteAt(*store, kT0 + 2 * kSec, 10, 20, &expected);
  int n = 0;
  REQUIRE(store
              ->Scan({kT0 + kSec, kT0 + 2 * kSec},
                     [&](const Event& e) {
                       CHECK(e.event_time_us == kT0 + kSec);
                       return ++n > 0;
                     })
              .ok());
  CHECK(n == 10);
  // A visitor that stops in the middle of a group is not called again.
  n = 0;
  REQUIRE(store->Scan({}, [&](const Event&) { return ++n < 15; }).ok());
  CHECK(n == 15);
}
