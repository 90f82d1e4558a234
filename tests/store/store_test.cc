#include "store/store.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "common/counter_names.h"
#include "store/event_codec.h"
#include "store/import_dedup.h"
#include "store/key_format.h"
#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;

namespace resyncwatch {
// Raw RocksDB access to forge a newer schema version (schema_helper.cc).
Status BumpSchemaVersionForTest(const std::string& dir, uint32_t version);
Result<uint32_t> SchemaVersionForTest(const std::string& dir);
Result<int64_t> CountKeysForTest(const std::string& dir, const std::string& cf_name);
Status PutRawForTest(const std::string& dir, const std::string& cf_name, const std::string& key,
                     const std::string& value);
// Puts, with a range deletion [begin, end) after the first, in one session.
Status ForgeRangeDeletionForTest(const std::string& dir, const std::string& cf_name,
                                 const std::string& begin, const std::string& end,
                                 const std::vector<std::pair<std::string, std::string>>& puts);
}  // namespace resyncwatch
using namespace resyncwatch::testing;

TEST_CASE("History of one device comes back in event-time order, indexed or not") {
  TempDir tmp;
  StoreOptions options;
  options.index_flush_events = 5;  // some events in chunks, the latest in the tail
  auto store = OpenOrDie(tmp.path(), options);
  for (int i = 0; i < 13; ++i) {
    WriteBatch batch;
    for (MacAddress mac : {MacAddress{0x000e08000001}, MacAddress{0x000e08000002}}) {
      batch.events.push_back(
          PhoneEvent(mac, kT0 + (20 - i) * kSec + mac % 2, EventKind::kResyncRequest));
    }
    auto r = store->Write(batch);
    REQUIRE(r.ok());
    CHECK(r->events_stored == 2);
  }
  auto events = History(*store, 0x000e08000001);
  REQUIRE(events.size() == 13);
  for (size_t i = 1; i < events.size(); ++i)
    CHECK(events[i - 1].event_time_us < events[i].event_time_us);
  for (const Event& e : events) CHECK(e.mac == 0x000e08000001);
  CHECK(events.front().message == PhoneEvent(0x000e08000001, 0, EventKind::kResyncRequest).message);
  auto window = History(*store, 0x000e08000001, {kT0 + 10 * kSec, kT0 + 15 * kSec});
  CHECK(window.size() == 5);
  CHECK(History(*store, 0x000e08000003).empty());

  // After reopening, nothing is lost and the order holds.
  store.reset();
  store = OpenOrDie(tmp.path(), options);
  CHECK(History(*store, 0x000e08000002).size() == 13);
  int scanned = 0;
  int64_t last = INT64_MIN;
  REQUIRE(store
              ->Scan({},
                     [&](const Event& e) {
                       CHECK(e.event_time_us >= last);
                       last = e.event_time_us;
                       ++scanned;
                       return true;
                     })
              .ok());
  CHECK(scanned == 26);
}

TEST_CASE(
    "History picks a device's events out of others at the same time, indexed or in the tail, once "
    "each") {
  TempDir tmp;
  StoreOptions options;
  options.index_flush_events = 4;
  auto store = OpenOrDie(tmp.path(), options);
  constexpr MacAddress kA = 0x000e08000001, kB = 0x000e08000002, kC = 0x000e08000003;
  const int64_t t1 = kT0 + 7 * kSec, t2 = kT0 + 9 * kSec;  // whole seconds, as imports have
  auto write = [&](std::vector<Event> events) {
    WriteBatch batch;
    batch.events = std::move(events);
    auto r = store->Write(batch);
    REQUIRE(r.ok());
  };
  // Four events at t1: the batch that reaches index_flush_events is indexed with them.
  write({PhoneEvent(kA, t1, EventKind::kResyncRequest),
         PhoneEvent(kB, t1, EventKind::kResyncRequest),
         PhoneEvent(kA, t1, EventKind::kResyncSuccess),
         PhoneEvent(kC, t1, EventKind::kResyncRequest)});
  // One more at t1, as an import of older lines would add it: in the unindexed tail.
  write({PhoneEvent(kA, t1, EventKind::kResyncFailure)});
  auto kinds = [&](MacAddress mac) {
    std::vector<EventKind> out;
    uint64_t last_seq = 0;
    for (const Event& e : History(*store, mac)) {
      CHECK(e.mac == mac);
      CHECK(e.seq > last_seq);
      last_seq = e.seq;
      out.push_back(e.kind);
    }
    return out;
  };
  using K = EventKind;
  CHECK(kinds(kA) == std::vector<K>{K::kResyncRequest, K::kResyncSuccess, K::kResyncFailure});
  CHECK(kinds(kB) == std::vector<K>{K::kResyncRequest});
  // Three more at t2 reach the flush: everything is indexed, t1 twice for kA.
  write({PhoneEvent(kA, t2, EventKind::kResyncRequest),
         PhoneEvent(kB, t2, EventKind::kResyncRequest),
         PhoneEvent(kA, t2, EventKind::kResyncSuccess)});
  std::vector<K> all_of_a = {K::kResyncRequest, K::kResyncSuccess, K::kResyncFailure,
                             K::kResyncRequest, K::kResyncSuccess};
  CHECK(kinds(kA) == all_of_a);
  CHECK(kinds(kC) == std::vector<K>{K::kResyncRequest});
  CHECK(History(*store, kA, {t2, t2 + 1}).size() == 2);
  CHECK(History(*store, kA, {t1 + 1, t2}).empty());
  // The index lists milliseconds: kB at t2 + 400 µs shares kA's; the range cuts inside it.
  write({PhoneEvent(kB, t2 + 400, EventKind::kResyncFailure),
         PhoneEvent(kA, t2 + 700, EventKind::kResyncFailure),
         PhoneEvent(kC, t2 + 700, EventKind::kResyncFailure),
         PhoneEvent(kA, t2 + 999, EventKind::kResyncRequest)});
  CHECK(History(*store, kA, {t2 + 1, t2 + 999}).size() == 1);
  CHECK(History(*store, kA, {t2 + 700, t2 + 1000}).size() == 2);
  CHECK(History(*store, kB, {t2, t2 + 1000}).size() == 2);
  CHECK(History(*store, kC, {t2 + 1, t2 + 1000}).size() == 1);
  CHECK(History(*store, kA, {t2 + 1000, t2 + 2000}).empty());
  all_of_a.push_back(K::kResyncFailure);
  all_of_a.push_back(K::kResyncRequest);
  store.reset();
  store = OpenOrDie(tmp.path(), options);
  CHECK(kinds(kA) == all_of_a);
  CHECK(kinds(kB) == std::vector<K>{K::kResyncRequest, K::kResyncRequest, K::kResyncFailure});
}

TEST_CASE("Device summary counts outcomes and resets consecutive failures on success") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  const MacAddress mac = 0x00123456789a;
  WriteBatch batch;
  batch.events.push_back(PhoneEvent(mac, kT0, EventKind::kResyncRequest));
  batch.events.push_back(PhoneEvent(mac, kT0 + 1 * kSec, EventKind::kResyncFailure));
  batch.events.push_back(PhoneEvent(mac, kT0 + 60 * kSec, EventKind::kResyncRequest));
  batch.events.push_back(PhoneEvent(mac, kT0 + 61 * kSec, EventKind::kResyncFailure));
  REQUIRE(store->Write(batch).ok());
  auto s = store->GetDevice(mac);
  REQUIRE(s.ok());
  CHECK(s->consecutive_failures == 2);
  CHECK(s->failures == 2);
  CHECK(s->requests == 2);
  CHECK(s->last_error == "http_get failed");
  CHECK(s->last_failure_us == kT0 + 61 * kSec);
  CHECK(s->last_kind == EventKind::kResyncFailure);
  CHECK(s->last_ip == "10.1.120.154");
  CHECK(s->model == "CP-8851-3PCC");

  WriteBatch more;
  more.events.push_back(PhoneEvent(mac, kT0 + 180 * kSec, EventKind::kResyncSuccess));
  Event debug = PhoneEvent(mac, kT0 + 200 * kSec, EventKind::kDebug);
  more.events.push_back(debug);
  REQUIRE(store->Write(more).ok());
  REQUIRE(store->Flush().ok());
  s = store->GetDevice(mac);
  REQUIRE(s.ok());
  CHECK(s->consecutive_failures == 0);
  CHECK(s->successes == 1);
  CHECK(s->events == 6);
  CHECK(s->last_success_us == kT0 + 180 * kSec);
  CHECK(s->last_seen_us == kT0 + 200 * kSec);
  CHECK(s->first_seen_us == kT0);
  CHECK(s->last_kind == EventKind::kResyncSuccess);
  CHECK(s->last_url == "http://10.23.45.67:80/CP-8851-3PCC.xml");
  CHECK(store->GetDevice(0x00123456789b).status().IsNotFound());
  int devices = 0;
  REQUIRE(store
              ->ForEachDevice([&](const DeviceSummary& d) {
                CHECK(d.mac == mac);
                ++devices;
                return true;
              })
              .ok());
  CHECK(devices == 1);
}

TEST_CASE("Summaries survive a reopen whether or not the index was flushed") {
  TempDir tmp;
  StoreOptions options;
  options.index_flush_events = 1'000'000;
  ManualClock clock(kT0);
  options.clock = &clock;
  {
    auto store = OpenOrDie(tmp.path(), options);
    WriteBatch batch;
    for (int i = 0; i < 10; ++i) {
      batch.events.push_back(
          PhoneEvent(0x000e08000000 + i % 3, kT0 + i * kSec,
                     i % 2 ? EventKind::kResyncFailure : EventKind::kResyncRequest));
    }
    REQUIRE(store->Write(batch).ok());
    // Not flushed: the destructor writes the chunks; a kill would leave them to replay.
  }
  auto store = OpenOrDie(tmp.path(), options);
  uint64_t total = 0;
  REQUIRE(store
              ->ForEachDevice([&](const DeviceSummary& d) {
                total += d.events;
                return true;
              })
              .ok());
  CHECK(total == 10);
  CHECK(History(*store, 0x000e08000001).size() == 3);
}

namespace {

std::string SummaryText(const DeviceSummary& d) {
  return std::to_string(d.mac) + "|" + d.model + "|" + d.sn + "|" + d.last_ip + "|" +
         std::to_string(d.first_seen_us) + "|" + std::to_string(d.last_seen_us) + "|" +
         std::to_string(d.last_request_us) + "|" + std::to_string(d.last_success_us) + "|" +
         std::to_string(d.last_failure_us) + "|" + std::to_string(d.consecutive_failures) + "|" +
         d.last_error + "|" + d.last_url + "|" + std::to_string(static_cast<int>(d.last_kind)) +
         "|" + std::to_string(d.requests) + "|" + std::to_string(d.successes) + "|" +
         std::to_string(d.failures) + "|" + std::to_string(d.events);
}

std::vector<std::string> AllSummaries(const Store& store) {
  std::vector<std::string> out;
  REQUIRE(store
              .ForEachDevice([&](const DeviceSummary& d) {
                out.push_back(SummaryText(d));
                return true;
              })
              .ok());
  return out;
}

}  // namespace

TEST_CASE("The writer's summaries of devices with unindexed events match a reader's") {
  TempDir tmp;
  ManualClock clock(kT0);
  StoreOptions options;
  options.clock = &clock;
  options.index_flush_events = 1'000'000;  // nothing flushes the index but Flush()
  auto writer = OpenOrDie(tmp.path(), options);
  const MacAddress flushed_only = 0x000e08000010, both = 0x000e08000020, tail_only = 0x000e08000030;
  WriteBatch first;
  first.events.push_back(PhoneEvent(both, kT0, EventKind::kResyncRequest));
  first.events.push_back(PhoneEvent(both, kT0 + kSec, EventKind::kResyncSuccess));
  first.events.push_back(PhoneEvent(flushed_only, kT0 + 2 * kSec, EventKind::kResyncRequest));
  REQUIRE(writer->Write(first).ok());
  REQUIRE(writer->Flush().ok());
  WriteBatch second;
  Event failure = PhoneEvent(both, kT0 + 60 * kSec, EventKind::kResyncFailure, "CP-7841-3PCC");
  failure.source = "10.9.8.7:5060";
  second.events.push_back(failure);
  second.events.push_back(PhoneEvent(tail_only, kT0 + 61 * kSec, EventKind::kResyncRequest));
  second.events.push_back(PhoneEvent(0, kT0 + 62 * kSec, EventKind::kResyncFailure));  // no device
  REQUIRE(writer->Write(second).ok());

  // The reader rebuilds the summaries from the stored ones and the tail.
  StoreOptions secondary;
  secondary.mode = StoreOptions::Mode::kReadOnlySecondary;
  auto reader = Store::Open(tmp.path(), secondary);
  REQUIRE(reader.ok());
  const std::vector<std::string> from_writer = AllSummaries(*writer);
  REQUIRE(from_writer.size() == 3);
  CHECK(from_writer == AllSummaries(**reader));
  for (MacAddress mac : {flushed_only, both, tail_only}) {
    auto w = writer->GetDevice(mac);
    auto r = (*reader)->GetDevice(mac);
    REQUIRE(w.ok());
    REQUIRE(r.ok());
    CHECK(SummaryText(*w) == SummaryText(*r));
  }
  auto updated = writer->GetDevice(both);
  REQUIRE(updated.ok());
  CHECK(updated->failures == 1);
  CHECK(updated->last_ip == "10.9.8.7");
  CHECK(writer->GetDevice(0x000e08000040).status().IsNotFound());
  CHECK((*reader)->GetDevice(0x000e08000040).status().IsNotFound());
  CHECK(writer->GetDevice(0).status().IsNotFound());
  CHECK((*reader)->GetDevice(0).status().IsNotFound());
  // An early stop is honoured on either path.
  int visited = 0;
  REQUIRE(writer->ForEachDevice([&](const DeviceSummary&) { return ++visited < 2; }).ok());
  CHECK(visited == 2);
}

TEST_CASE("The writer's summaries read while it writes are each as of one write") {
  TempDir tmp;
  StoreOptions options;
  options.index_flush_events = 40;  // index flushes (the tail emptied) between the reads
  auto writer = OpenOrDie(tmp.path(), options);
  constexpr int kBatches = 300, kPerBatch = 10;
  std::atomic<bool> done{false};
  std::thread ingest([&] {
    for (int b = 0; b < kBatches; ++b) {
      WriteBatch batch;
      for (int i = 0; i < kPerBatch; ++i) {
        batch.events.push_back(
            PhoneEvent(0x000e08000100 + (b * 7 + i * 13) % 97, kT0 + (b * kPerBatch + i) * kSec,
                       i % 3 ? EventKind::kResyncRequest : EventKind::kResyncFailure));
      }
      REQUIRE(writer->Write(batch).ok());
    }
    done = true;
  });
  uint64_t previous = 0;
  int reads = 0;
  bool ordered = true, whole = true, growing = true;
  while (!done || reads == 0) {
    uint64_t total = 0;
    MacAddress last = 0;
    REQUIRE(writer
                ->ForEachDevice([&](const DeviceSummary& d) {
                  ordered = ordered && d.mac > last;
                  last = d.mac;
                  total += d.events;
                  return true;
                })
                .ok());
    whole = whole && total % kPerBatch == 0;
    growing = growing && total >= previous;
    previous = total;
    ++reads;
  }
  ingest.join();
  CHECK(ordered);
  CHECK(whole);
  CHECK(growing);
  StoreOptions secondary;
  secondary.mode = StoreOptions::Mode::kReadOnlySecondary;
  auto reader = Store::Open(tmp.path(), secondary);
  REQUIRE(reader.ok());
  CHECK(AllSummaries(*writer) == AllSummaries(**reader));
  uint64_t total = 0;
  REQUIRE(
      writer->ForEachDevice([&](const DeviceSummary& d) { return total += d.events, true; }).ok());
  CHECK(total == kBatches * kPerBatch);
}

TEST_CASE("Serial numbers map to the MAC they were seen with") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  Event e = PhoneEvent(0x000e08aaaaaa, kT0, EventKind::kResyncRequest);
  e.sn = "FCH2251A1B2";
  WriteBatch batch;
  batch.events.push_back(e);
  REQUIRE(store->Write(batch).ok());
  auto mac = store->MacForSerial("FCH2251A1B2");
  REQUIRE(mac.ok());
  CHECK(*mac == 0x000e08aaaaaa);
  CHECK(store->MacForSerial("FCH0000").status().IsNotFound());
  CHECK(store->GetDevice(0x000e08aaaaaa)->sn == "FCH2251A1B2");
}

TEST_CASE("A serial number maps to the MAC it was seen with last, within a batch too") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  auto with_sn = [](MacAddress mac, int64_t t) {
    Event e = PhoneEvent(mac, t, EventKind::kResyncRequest);
    e.sn = "FCH2251A1B2";  // a refurbished unit's serial moved to a new board
    return e;
  };
  WriteBatch first;
  first.events = {with_sn(0xa1, kT0), with_sn(0xb2, kT0 + 1), with_sn(0xa1, kT0 + 2)};
  REQUIRE(store->Write(first).ok());
  CHECK(*store->MacForSerial("FCH2251A1B2") == 0xa1);
  WriteBatch second;
  second.events = {with_sn(0xb2, kT0 + 3), with_sn(0xa1, kT0 + 4)};
  REQUIRE(store->Write(second).ok());
  CHECK(*store->MacForSerial("FCH2251A1B2") == 0xa1);
  WriteBatch third;
  third.events = {with_sn(0xb2, kT0 + 5)};
  REQUIRE(store->Write(third).ok());
  CHECK(*store->MacForSerial("FCH2251A1B2") == 0xb2);
}

TEST_CASE("Counters add up across writes and raw datagrams are kept byte for byte") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  WriteBatch batch;
  batch.events.push_back(PhoneEvent(1, kT0, EventKind::kResyncRequest));
  batch.raw.push_back(
      {0, kT0 + 5, "10.0.0.1:514", "no syslog header", std::string("\0\xff junk", 7)});
  batch.counter_deltas["received_datagrams"] = 2;
  REQUIRE(store->Write(batch).ok());
  REQUIRE(store->Write(batch).ok());
  REQUIRE(store->AddCounters({{"queue_drops", 3}, {"received_datagrams", -1}}).ok());
  auto counters = store->Counters();
  REQUIRE(counters.ok());
  CHECK((*counters)["received_datagrams"] == 3);
  CHECK((*counters)["stored_events"] == 2);
  CHECK((*counters)["stored_raw"] == 2);
  CHECK((*counters)["queue_drops"] == 3);
  std::vector<RawDatagram> raw;
  REQUIRE(store
              ->ScanRaw({kT0, kT0 + 6},
                        [&](const RawDatagram& r) {
                          raw.push_back(r);
                          return true;
                        })
              .ok());
  REQUIRE(raw.size() == 2);
  CHECK(raw[0].bytes == std::string("\0\xff junk", 7));
  CHECK(raw[0].reason == "no syslog header");
  CHECK(raw[0].seq < raw[1].seq);
}

TEST_CASE("Importing the same events twice stores them once") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  auto make = [] {
    WriteBatch batch;
    batch.skip_duplicates = true;
    batch.events.push_back(PhoneEvent(7, kT0, EventKind::kResyncRequest));
    batch.events.push_back(PhoneEvent(7, kT0, EventKind::kResyncRequest));  // a true repeat
    batch.events.push_back(PhoneEvent(7, kT0 + kSec, EventKind::kResyncSuccess));
    for (Event& e : batch.events) e.received_us = 5;
    batch.raw.push_back({0, kT0, "file:messages", "no syslog header", "garbage line"});
    return batch;
  };
  WriteBatch first = make();
  auto r1 = store->Write(first);
  REQUIRE(r1.ok());
  CHECK(r1->events_stored == 3);
  WriteBatch second = make();
  for (Event& e : second.events) e.received_us = 99;  // imported later: same content
  auto r2 = store->Write(second);
  REQUIRE(r2.ok());
  CHECK(r2->events_stored == 0);
  CHECK(r2->duplicates_skipped == 4);
  CHECK(r2->raw_stored == 0);
  CHECK(History(*store, 7).size() == 3);
  CHECK(store->GetDevice(7)->events == 3);
}

TEST_CASE("An import writes nothing beside its records, and a repeat at another time is new") {
  TempDir tmp;
  {
    auto store = OpenOrDie(tmp.path());
    WriteBatch batch;
    batch.skip_duplicates = true;
    for (int i = 0; i < 100; ++i) {
      batch.events.push_back(PhoneEvent(7 + i % 5, kT0 + i / 2 * kSec, EventKind::kResyncRequest));
    }
    batch.raw.push_back({0, kT0, "file:messages", "no syslog header", "garbage line"});
    REQUIRE(store->Write(batch).ok());
    WriteBatch again = batch;
    REQUIRE(store->Write(again)->duplicates_skipped == 101);
    // The same content one microsecond later is another record.
    WriteBatch later;
    later.skip_duplicates = true;
    later.events.push_back(PhoneEvent(7, kT0 + 1, EventKind::kResyncRequest));
    REQUIRE(store->Write(later)->events_stored == 1);
    REQUIRE(store->Compact().ok());
  }
  // The stored events are the evidence of what was imported: no dedup key per record.
  CHECK(*CountKeysForTest(tmp.path(), "dedup") == 0);
  // Events two by two at one time share a record: 50 pairs and the later one.
  CHECK(*CountKeysForTest(tmp.path(), "events") == 51);
  auto store = OpenOrDie(tmp.path());
  int events = 0;
  REQUIRE(store->Scan({}, [&](const Event&) { return ++events > 0; }).ok());
  CHECK(events == 101);
}

TEST_CASE("Without a run id an import counts copies within its batch against the store") {
  TempDir tmp;
  auto copies = [](int n) {
    WriteBatch batch;
    batch.skip_duplicates = true;
    for (int i = 0; i < n; ++i)
      batch.events.push_back(PhoneEvent(7, kT0, EventKind::kResyncRequest));
    return batch;
  };
  auto write = [](Store& store, WriteBatch batch) {
    Result<WriteResult> r = store.Write(batch);
    REQUIRE(r.ok());
    return std::make_pair(r->events_stored, r->duplicates_skipped);
  };
  {
    auto store = OpenOrDie(tmp.path());
    CHECK(write(*store, copies(3)) == std::make_pair(uint64_t{3}, uint64_t{0}));
    CHECK(write(*store, copies(5)) == std::make_pair(uint64_t{2}, uint64_t{3}));
    CHECK(write(*store, copies(5)) == std::make_pair(uint64_t{0}, uint64_t{5}));
    WriteBatch other = copies(1);
    other.events[0].event_time_us = kT0 + kSec;
    CHECK(write(*store, std::move(other)) == std::make_pair(uint64_t{1}, uint64_t{0}));
    CHECK(write(*store, copies(6)) == std::make_pair(uint64_t{1}, uint64_t{5}));
  }
  auto reopened = OpenOrDie(tmp.path());
  CHECK(write(*reopened, copies(8)) == std::make_pair(uint64_t{2}, uint64_t{6}));
  CHECK(History(*reopened, 7).size() == 9);
}

// One file's import, in batches, with the run id the import command gives each file.
std::vector<WriteBatch> FileRun(uint64_t run, const std::vector<std::vector<Event>>& batches,
                                const std::vector<std::vector<RawDatagram>>& raw = {}) {
  std::vector<WriteBatch> out;
  for (size_t i = 0; i < batches.size(); ++i) {
    WriteBatch b;
    b.skip_duplicates = true;
    b.import_session = run;
    b.events = batches[i];
    if (i < raw.size()) b.raw = raw[i];
    out.push_back(std::move(b));
  }
  return out;
}

std::pair<uint64_t, uint64_t> WriteAll(Store& store, std::vector<WriteBatch> batches) {
  std::pair<uint64_t, uint64_t> stored_and_skipped;
  for (WriteBatch& b : batches) {
    Result<WriteResult> r = store.Write(b);
    REQUIRE(r.ok());
    stored_and_skipped.first += r->events_stored + r->raw_stored;
    stored_and_skipped.second += r->duplicates_skipped;
  }
  return stored_and_skipped;
}

TEST_CASE("An import run keeps a file's repeated lines however many batches apart") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  const Event line = PhoneEvent(7, kT0, EventKind::kResyncRequest);
  // A line without a timestamp of its own takes the file's time: it repeats far apart.
  const RawDatagram junk{0, kT0, "file:messages", "no syslog header", "junk line same"};
  const std::vector<std::vector<Event>> batches = {{line}, {}, {line, line}};
  const std::vector<std::vector<RawDatagram>> raw = {{junk}, {junk}, {}};
  CHECK(WriteAll(*store, FileRun(11, batches, raw)) == std::make_pair(uint64_t{5}, uint64_t{0}));
  // The same file again, and under another name (log rotation), adds nothing.
  CHECK(WriteAll(*store, FileRun(12, batches, raw)) == std::make_pair(uint64_t{0}, uint64_t{5}));
  std::vector<std::vector<RawDatagram>> renamed = raw;
  for (auto& b : renamed) {
    for (RawDatagram& r : b) r.source = "file:messages.1";
  }
  CHECK(WriteAll(*store, FileRun(13, batches, renamed)) ==
        std::make_pair(uint64_t{0}, uint64_t{5}));
  // A longer copy adds what it has beyond the stored ones.
  CHECK(WriteAll(*store, FileRun(14, {{line}, {line, line, line}})) ==
        std::make_pair(uint64_t{1}, uint64_t{3}));
  CHECK(History(*store, 7).size() == 4);
}

TEST_CASE("An import run counts identical raw lines per time") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  const RawDatagram at1{0, kT0, "file:relay.json", "no syslog header", "same bytes"};
  RawDatagram at2 = at1;
  at2.received_us = kT0 + kSec;  // a JSON line's own time
  CHECK(WriteAll(*store, FileRun(21, {{}}, {{at1, at2}})) ==
        std::make_pair(uint64_t{2}, uint64_t{0}));
  CHECK(WriteAll(*store, FileRun(22, {{}}, {{at1, at2}})) ==
        std::make_pair(uint64_t{0}, uint64_t{2}));
}

TEST_CASE("An import run reads each time once, and nothing past what the store held") {
  using store_format::ImportSessions;
  ImportSessions sessions;
  std::map<int64_t, int> loads;  // time -> how often the store was read for it
  auto load = [&](int64_t t, const std::function<void(uint64_t)>& add) {
    ++loads[t];
    add(42);  // the store holds one record of hash 42 at every time it held
    return Status::Ok();
  };
  auto held_until = [](int64_t t) { return [t] { return Result<int64_t>(t); }; };
  for (int batch = 0; batch < 3; ++batch) {
    ImportSessions::Check check = *sessions.Begin(7, 0, held_until(100));
    CHECK(*check.IsNew(50, 42, load) == (batch > 0));  // held once: the run's copies after
    CHECK(*check.IsNew(50, 43, load));                 // other content at that time
    CHECK(*check.IsNew(101, 42, load));                // later than anything held
    sessions.Commit(7, 0, &check);
  }
  CHECK(loads[50] == 1);
  CHECK(loads.count(101) == 0);
  // A run that has forgotten what it met reads again; another run starts from the store.
  ImportSessions::Check other = *sessions.Begin(8, 0, held_until(100));
  CHECK_FALSE(*other.IsNew(50, 42, load));
  CHECK(loads[50] == 2);
  // A batch without a run counts within itself only.
  ImportSessions::Check alone = *sessions.Begin(0, 0, held_until(100));
  CHECK_FALSE(*alone.IsNew(60, 42, load));
  CHECK(*alone.IsNew(60, 42, load));
}

TEST_CASE("An import run that met too many copies forgets them all") {
  using store_format::ImportSessions;
  ImportSessions sessions;
  int loads = 0;
  auto load = [&](int64_t, const std::function<void(uint64_t)>& add) {
    ++loads;
    add(1);
    return Status::Ok();
  };
  auto newest = [] { return Result<int64_t>(INT64_MAX); };
  ImportSessions::Check check = *sessions.Begin(7, 0, newest);
  for (int64_t t = 0; t <= int64_t{ImportSessions::kMaxTalliesPerRun}; ++t) {
    if (*check.IsNew(t, 1, load)) FAIL("a held record taken for new");
  }
  sessions.Commit(7, 0, &check);
  ImportSessions::Check again = *sessions.Begin(7, 0, newest);
  const int before = loads;
  CHECK_FALSE(*again.IsNew(0, 1, load));  // read again: the run's own copy is taken as held
  CHECK(loads == before + 1);
}

TEST_CASE("An import skips what the collector already stored live") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  WriteBatch live;
  live.events = {PhoneEvent(7, kT0, EventKind::kResyncRequest)};
  REQUIRE(store->Write(live).ok());
  const Event same = PhoneEvent(7, kT0, EventKind::kResyncRequest);
  CHECK(WriteAll(*store, FileRun(31, {{same}})) == std::make_pair(uint64_t{0}, uint64_t{1}));
  CHECK(History(*store, 7).size() == 1);
}

TEST_CASE("Every counter the store keeps by itself is a registered name") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  WriteBatch batch;
  batch.skip_duplicates = true;
  batch.events.push_back(PhoneEvent(7, kT0, EventKind::kResyncRequest));
  batch.raw.push_back({0, kT0, "file:messages", "no syslog header", "garbage line"});
  REQUIRE(store->Write(batch).ok());
  WriteBatch again = batch;
  REQUIRE(store->Write(again).ok());
  auto counters = store->Counters();
  REQUIRE(counters.ok());
  std::set<std::string_view> registered;
  for (const CounterInfo& info : AllCounters()) registered.insert(info.name);
  CHECK(counters->size() == 3);  // stored_events, stored_raw, duplicates_skipped
  for (const auto& [name, value] : *counters) {
    INFO(name);
    CHECK(registered.count(name) == 1);
  }
  CHECK((*counters)[std::string(CounterName(Counter::kDuplicatesSkipped))] == 2);
}

TEST_CASE("Alerts are kept and listed by start time, active ones alone on request") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  REQUIRE(store->PutAlert({"fleet/all/1", kT0, kT0, true, "{\"n\":1}"}).ok());
  REQUIRE(store->PutAlert({"fleet/all/2", kT0 + 10, kT0 + 10, true, "{\"n\":2}"}).ok());
  REQUIRE(store->PutAlert({"fleet/all/1", kT0, kT0 + 50, false, "{\"n\":3}"}).ok());
  std::vector<AlertRecord> all, active;
  REQUIRE(store
              ->ScanAlerts({}, false,
                           [&](const AlertRecord& a) {
                             all.push_back(a);
                             return true;
                           })
              .ok());
  REQUIRE(store
              ->ScanAlerts({kT0, kT0 + 100}, true,
                           [&](const AlertRecord& a) {
                             active.push_back(a);
                             return true;
                           })
              .ok());
  REQUIRE(all.size() == 2);
  CHECK(all[0].json == "{\"n\":3}");
  CHECK_FALSE(all[0].active);
  REQUIRE(active.size() == 1);
  CHECK(active[0].id == "fleet/all/2");
}

TEST_CASE("A store written by a newer schema version is refused naming both versions") {
  TempDir tmp;
  { auto store = OpenOrDie(tmp.path()); }
  {
    // Write a newer version number the way a future resyncwatch would.
    auto store = OpenOrDie(tmp.path());
    REQUIRE(store->AddCounters({{"x", 1}}).ok());
  }
  REQUIRE(BumpSchemaVersionForTest(tmp.path(), store_format::kSchemaVersion + 1).ok());
  auto store = Store::Open(tmp.path(), {});
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Status::Code::kUnsupported);
  CHECK(store.status().message().find(
            "version " + std::to_string(store_format::kSchemaVersion + 1)) != std::string::npos);
  CHECK(store.status().message().find("version " + std::to_string(store_format::kSchemaVersion)) !=
        std::string::npos);
}

TEST_CASE("A writer opening a store of an older schema version reads it and raises the version") {
  TempDir tmp;
  Event old = PhoneEvent(0x001234ab45deULL, 1'795'680'001'000'000, EventKind::kResyncRequest);
  {
    auto store = OpenOrDie(tmp.path());
    WriteBatch batch;
    batch.events.push_back(old);
    REQUIRE(store->Write(batch).ok());
    REQUIRE(History(*store, old.mac).size() == 1);
  }
  REQUIRE(BumpSchemaVersionForTest(tmp.path(), 1).ok());
  {
    StoreOptions reader;
    reader.mode = StoreOptions::Mode::kReadOnlyView;
    auto view = Store::Open(tmp.path(), reader);
    REQUIRE(view.ok());
    CHECK(History(**view, old.mac).size() == 1);
  }
  REQUIRE(SchemaVersionForTest(tmp.path()).ok());
  CHECK(*SchemaVersionForTest(tmp.path()) == 1);  // a reader leaves it as it is
  { auto store = OpenOrDie(tmp.path()); }
  CHECK(*SchemaVersionForTest(tmp.path()) == store_format::kSchemaVersion);
}

// A device index list as schema 2 wrote it: (time, seq) pairs, written here byte by byte.
static std::string IndexListV1ForTest(const std::vector<Event>& events) {
  auto varint = [](std::string* out, uint64_t v) {
    for (; v >= 128; v >>= 7) out->push_back(static_cast<char>(v | 128));
    out->push_back(static_cast<char>(v));
  };
  auto zigzag = [](int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ (v < 0 ? ~0ULL : 0); };
  std::string out(1, '\x01');
  varint(&out, zigzag(events[0].event_time_us));
  varint(&out, events[0].seq);
  varint(&out, events.size() - 1);
  for (size_t i = 1; i < events.size(); ++i) {
    varint(&out, zigzag(events[i].event_time_us - events[i - 1].event_time_us));
    varint(&out, zigzag(static_cast<int64_t>(events[i].seq - events[i - 1].seq)));
  }
  return out;
}

TEST_CASE("A store whose device index lists are version 1 reads the same history and keeps it") {
  TempDir tmp;
  StoreOptions options;
  options.index_flush_events = 1;  // every batch indexed at once
  constexpr MacAddress kPhone = 0x001234ab45deULL, kOther = 0x001234ab45dfULL;
  std::vector<Event> before;
  {
    auto store = OpenOrDie(tmp.path(), options);
    for (int i = 0; i < 6; ++i) {  // times falling as seqs rise, as an import of old lines
      WriteBatch batch;
      const int64_t t = kT0 + (5 - i) * kSec + (i % 2) * 250;  // exact and slot entries
      batch.events.push_back(PhoneEvent(kPhone, t, EventKind::kResyncRequest));
      batch.events.push_back(PhoneEvent(kOther, t, EventKind::kResyncRequest));
      REQUIRE(store->Write(batch).ok());
    }
    before = History(*store, kPhone);
    REQUIRE(before.size() == 6);
  }
  // A v1 list held its pairs in seq order: here with times descending.
  std::vector<Event> by_seq = before;
  std::sort(by_seq.begin(), by_seq.end(),
            [](const Event& a, const Event& b) { return a.seq < b.seq; });
  REQUIRE(by_seq.front().event_time_us > by_seq.back().event_time_us);
  REQUIRE(PutRawForTest(tmp.path(), "device_index", store_format::MacKey(kPhone),
                        IndexListV1ForTest(by_seq))
              .ok());
  REQUIRE(BumpSchemaVersionForTest(tmp.path(), 2).ok());
  auto times_and_seqs = [](const std::vector<Event>& events) {
    std::vector<std::pair<int64_t, uint64_t>> out;
    for (const Event& e : events) out.emplace_back(e.event_time_us, e.seq);
    return out;
  };
  {
    StoreOptions reader;
    reader.mode = StoreOptions::Mode::kReadOnlyView;
    auto view = Store::Open(tmp.path(), reader);
    REQUIRE(view.ok());
    CHECK(times_and_seqs(History(**view, kPhone)) == times_and_seqs(before));
  }
  // A writer merges its next chunk into the old list: both read after the merge.
  auto store = OpenOrDie(tmp.path(), options);
  WriteBatch batch;
  batch.events.push_back(PhoneEvent(kPhone, kT0 + 60 * kSec, EventKind::kResyncSuccess));
  REQUIRE(store->Write(batch).ok());
  auto after = History(*store, kPhone);
  REQUIRE(after.size() == 7);
  after.pop_back();
  CHECK(times_and_seqs(after) == times_and_seqs(before));
  store.reset();  // a raw reader beside a live writer could lose a file to its compaction
  auto version = SchemaVersionForTest(tmp.path());
  REQUIRE(version.ok());
  CHECK(*version == store_format::kSchemaVersion);
}

TEST_CASE("A reader of a missing store gets a clear not-found error") {
  TempDir tmp;
  StoreOptions options;
  options.mode = StoreOptions::Mode::kReadOnlySecondary;
  auto store = Store::Open(tmp.Join("nothing"), options);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().IsNotFound());
}

TEST_CASE("Retention removes old events, raw datagrams and index entries as the clock moves") {
  TempDir tmp;
  ManualClock clock(kT0 + 10 * 86400 * kSec);
  StoreOptions options;
  options.clock = &clock;
  options.retention_us = 3 * 86400 * kSec;
  options.index_flush_events = 4;
  auto store = OpenOrDie(tmp.path(), options);
  for (int day = 0; day < 10; ++day) {
    WriteBatch batch;
    for (int i = 0; i < 3; ++i) {
      batch.events.push_back(
          PhoneEvent(0xabc, kT0 + day * 86400 * kSec + i, EventKind::kResyncRequest));
    }
    batch.raw.push_back({0, kT0 + day * 86400 * kSec, "10.0.0.1:1", "r", "x"});
    REQUIRE(store->Write(batch).ok());
  }
  REQUIRE(store->ApplyRetention().ok());
  auto events = History(*store, 0xabc);
  REQUIRE(events.size() == 9);  // days 7, 8, 9
  CHECK(events.front().event_time_us >= kT0 + 7 * 86400 * kSec);
  int raw = 0;
  REQUIRE(store->ScanRaw({}, [&](const RawDatagram&) { return ++raw, true; }).ok());
  CHECK(raw == 3);
  // Ingest continues after (and during) retention.
  clock.Advance(86400 * kSec);
  WriteBatch batch;
  batch.events.push_back(PhoneEvent(0xabc, kT0 + 10 * 86400 * kSec, EventKind::kResyncSuccess));
  REQUIRE(store->Write(batch).ok());
  REQUIRE(store->ApplyRetention().ok());
  events = History(*store, 0xabc);
  CHECK(events.size() == 7);
  int scanned = 0;
  REQUIRE(store->Scan({}, [&](const Event&) { return ++scanned, true; }).ok());
  CHECK(scanned == 7);
}

TEST_CASE(
    "Retention's range deletion between record inserts keeps the memtable whole, also replayed") {
  // Records and retention's deletion share the events' memtable: the deletion's start key
  // (a time bound, seq 0) must stay out of the records' insert hint, both when it is
  // written between two records and when the log replays it at the next open.
  TempDir tmp;
  {
    auto store = OpenOrDie(tmp.path());
    WriteBatch batch;
    for (int i = 0; i < 3; ++i) {
      batch.events.push_back(PhoneEvent(0xabc, kT0 + i * kSec, EventKind::kResyncRequest));
    }
    REQUIRE(store->Write(batch).ok());
  }
  auto record = [](int64_t time_us, uint64_t seq) {
    std::string value;
    store_format::EncodeEvent(PhoneEvent(0xabc, time_us, EventKind::kResyncSuccess), &value);
    return std::make_pair(store_format::TimeSeqKey(time_us, seq), value);
  };
  REQUIRE(ForgeRangeDeletionForTest(tmp.path(), "events", store_format::TimeBoundKey(INT64_MIN),
                                    store_format::TimeBoundKey(kT0 + kSec),
                                    {record(kT0 + 3 * kSec, 100), record(kT0 + 4 * kSec, 101)})
              .ok());
  auto store = OpenOrDie(tmp.path());
  std::vector<int64_t> times;
  REQUIRE(
      store->Scan({}, [&](const Event& e) { return times.push_back(e.event_time_us), true; }).ok());
  CHECK(times == std::vector<int64_t>{kT0 + kSec, kT0 + 2 * kSec, kT0 + 3 * kSec, kT0 + 4 * kSec});
}

TEST_CASE("Retention with its cutoff inside a millisecond keeps the events after it") {
  TempDir tmp;
  const int64_t day = 86400 * kSec;
  ManualClock clock(kT0 + 10 * day + 500);  // the cutoff: kT0 + 7 days + 500 µs
  StoreOptions options;
  options.clock = &clock;
  options.retention_us = 3 * day;
  options.index_flush_events = 1;
  auto store = OpenOrDie(tmp.path(), options);
  WriteBatch batch;
  for (int64_t at : {int64_t{0}, int64_t{200}, int64_t{800}, int64_t{1000}}) {
    batch.events.push_back(PhoneEvent(0xabc, kT0 + 7 * day + at, EventKind::kResyncRequest));
  }
  REQUIRE(store->Write(batch).ok());
  // The first pass folds the index chunk into a stored list; the second filters that list.
  REQUIRE(store->ApplyRetention().ok());
  REQUIRE(store->ApplyRetention().ok());
  std::vector<int64_t> times;
  for (const Event& e : History(*store, 0xabc)) times.push_back(e.event_time_us - kT0 - 7 * day);
  CHECK(times == std::vector<int64_t>{800, 1000});
}

TEST_CASE("A reader sees the writer's new events after CatchUp, within seconds") {
  TempDir tmp;
  auto writer = OpenOrDie(tmp.path());
  {
    WriteBatch first;
    first.events.push_back(PhoneEvent(0x11, kT0, EventKind::kResyncRequest));
    REQUIRE(writer->Write(first).ok());
  }
  StoreOptions ro;
  ro.mode = StoreOptions::Mode::kReadOnlySecondary;
  auto reader = OpenOrDie(tmp.path(), ro);
  CHECK(History(*reader, 0x11).size() == 1);
  std::atomic<bool> stop{false};
  std::atomic<int> written{1};
  std::thread t([&] {
    for (int i = 1; i < 200 && !stop; ++i) {
      WriteBatch batch;
      batch.events.push_back(PhoneEvent(0x11, kT0 + i * kSec, EventKind::kResyncRequest));
      if (!writer->Write(batch).ok()) break;
      written = i + 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // paces the writer
    }
  });
  t.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    REQUIRE(reader->CatchUp().ok());
    seen = History(*reader, 0x11).size();
    if (seen == static_cast<size_t>(written.load())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(seen == static_cast<size_t>(written.load()));
  auto summary = reader->GetDevice(0x11);
  REQUIRE(summary.ok());
  CHECK(summary->events == static_cast<uint64_t>(written.load()));
  auto counters = reader->Counters();
  CHECK((*counters)["stored_events"] == written.load());
}

TEST_CASE("A one-shot view reads a store whose writer flushes and compacts meanwhile") {
  TempDir tmp;
  StoreOptions wo;
  wo.index_flush_events = 50;  // index chunks (and memtable flushes) all along
  auto writer = OpenOrDie(tmp.path(), wo);
  std::atomic<int> committed{0};
  std::atomic<bool> stop{false};
  std::thread t([&] {
    for (int i = 0; i < 400 && !stop; ++i) {
      WriteBatch batch;
      for (int j = 0; j < 50; ++j) {
        batch.events.push_back(
            PhoneEvent(0x22, kT0 + (i * 50 + j) * kSec, EventKind::kResyncRequest));
      }
      if (!writer->Write(batch).ok()) break;
      committed = (i + 1) * 50;
      // Table files come and go under the readers: flushes, and a compaction now and then.
      if (i % 40 == 0) writer->Flush();
      if (i % 130 == 0) writer->Compact();
    }
  });
  StoreOptions view;
  view.mode = StoreOptions::Mode::kReadOnlyView;
  int opened = 0;
  while (committed.load() < 20000) {
    const int before = committed.load();
    auto reader = Store::Open(tmp.path(), view);
    REQUIRE(reader.ok());
    ++opened;
    // A view holds at least what was committed before it opened, and never a hole.
    std::vector<Event> events = History(**reader, 0x22);
    REQUIRE(events.size() >= static_cast<size_t>(before));
    for (size_t i = 0; i < events.size(); ++i) {
      REQUIRE(events[i].event_time_us == kT0 + static_cast<int64_t>(i) * kSec);
    }
    if (opened > 2000) break;
  }
  stop = true;
  t.join();
  CHECK(opened > 0);
}

TEST_CASE("A one-shot view cannot write or catch up, and opens beside a live writer") {
  TempDir tmp;
  { auto writer = OpenOrDie(tmp.path()); }
  StoreOptions view;
  view.mode = StoreOptions::Mode::kReadOnlyView;
  auto reader = OpenOrDie(tmp.path(), view);
  WriteBatch batch;
  batch.events.push_back(PhoneEvent(0x33, kT0, EventKind::kResyncRequest));
  CHECK(reader->Write(batch).status().code() == Status::Code::kUnsupported);
  CHECK(reader->Compact().code() == Status::Code::kUnsupported);
  CHECK(reader->CatchUp().code() == Status::Code::kUnsupported);
  // A view opens while the writer holds the store open.
  auto writer = OpenOrDie(tmp.path());
  REQUIRE(writer->Write(batch).ok());
  writer->Flush();
  auto second = OpenOrDie(tmp.path(), view);
  CHECK(History(*second, 0x33).size() == 1);
}

TEST_CASE("A device reader reads what a whole view reads of a device") {
  TempDir tmp;
  {
    auto writer = OpenOrDie(tmp.path());
    WriteBatch batch;
    for (int i = 0; i < 40; ++i) {
      Event e = PhoneEvent(0x000e08000001 + i % 3, kT0 + i * kSec,
                           i % 2 ? EventKind::kResyncFailure : EventKind::kResyncRequest);
      e.sn = "FCH22510" + std::to_string(i % 3);
      batch.events.push_back(e);
    }
    batch.raw.push_back({0, kT0, "10.0.0.1:514", "no syslog header", "junk"});
    REQUIRE(writer->Write(batch).ok());
    REQUIRE(writer->Flush().ok());
    WriteBatch tail;  // not yet in the index: read from the unindexed tail
    tail.events.push_back(PhoneEvent(0x000e08000002, kT0 + 100 * kSec, EventKind::kResyncSuccess));
    REQUIRE(writer->Write(tail).ok());
  }
  StoreOptions whole;
  whole.mode = StoreOptions::Mode::kReadOnlyView;
  auto all = OpenOrDie(tmp.path(), whole);
  Result<std::unique_ptr<DeviceReader>> reader = Store::OpenDeviceReader(tmp.path(), {});
  REQUIRE(reader.ok());
  const std::unique_ptr<DeviceReader>& some = *reader;
  for (MacAddress mac : {0x000e08000001ULL, 0x000e08000002ULL, 0x000e08000009ULL}) {
    INFO(mac);
    std::vector<Event> expected = History(*all, mac), got = History(*some, mac);
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].seq == expected[i].seq);
    CHECK(some->GetDevice(mac).ok() == all->GetDevice(mac).ok());
  }
  CHECK(History(*some, 0x000e08000002).size() == 14);
  CHECK(*some->MacForSerial("FCH225102") == 0x000e08000003);
  CHECK(some->MacForSerial("FCH999").status().IsNotFound());
}

TEST_CASE("ScanHeadsOf visits the heads of the wanted devices only, as ScanHeads gives them") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path(), StoreOptions());
  WriteBatch batch;
  for (int i = 0; i < 60; ++i) {
    batch.events.push_back(
        PhoneEvent(0x000e08000001 + i % 4, kT0 + i * kSec,
                   i % 2 ? EventKind::kResyncFailure : EventKind::kResyncRequest));
  }
  batch.events.push_back(PhoneEvent(0, kT0 + 70 * kSec, EventKind::kUnknown));  // no device
  REQUIRE(store->Write(batch).ok());
  auto wanted = [](MacAddress mac) { return mac == 0x000e08000002 || mac == 0x000e08000004; };
  std::vector<std::pair<uint64_t, std::string>> want, got;
  TimeRange range{kT0 + 5 * kSec, kT0 + 80 * kSec};
  REQUIRE(store
              ->ScanHeads(range,
                          [&](const Event& e) {
                            if (wanted(e.mac)) want.emplace_back(e.seq, e.path + e.error);
                            return true;
                          })
              .ok());
  REQUIRE(store
              ->ScanHeadsOf(range, wanted,
                            [&](const Event& e) {
                              CHECK(wanted(e.mac));
                              got.emplace_back(e.seq, e.path + e.error);
                              return true;
                            })
              .ok());
  CHECK(want.size() == 28);
  CHECK(got == want);
}

TEST_CASE("ScanHeads carries the host field, which recovery reads a phone's address from") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path(), StoreOptions());
  WriteBatch batch;
  batch.events.push_back(PhoneEvent(0x000e08000001, kT0, EventKind::kResyncFailure));
  batch.events.back().host = "10.1.0.51";
  batch.events.push_back(PhoneEvent(0x000e08000002, kT0 + kSec, EventKind::kResyncRequest));
  batch.events.back().host = "relay01";
  batch.events.push_back(PhoneEvent(0x000e08000003, kT0 + 2 * kSec, EventKind::kResyncSuccess));
  REQUIRE(store->Write(batch).ok());
  std::vector<std::string> hosts;
  REQUIRE(store
              ->ScanHeadsOf(
                  {kT0, kT0 + 10 * kSec}, [](MacAddress mac) { return mac != 0; },
                  [&](const Event& e) {
                    hosts.push_back(e.host);
                    return true;
                  })
              .ok());
  CHECK(hosts == std::vector<std::string>{"10.1.0.51", "relay01", ""});
}

TEST_CASE("ScanKinds visits exactly the events of the kinds asked for, whole and in order") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path(), StoreOptions());
  const EventKind kinds[] = {EventKind::kResyncRequest, EventKind::kUpgradeRequest,
                             EventKind::kResyncFailure, EventKind::kUpgradeSuccess,
                             EventKind::kDebug};
  WriteBatch batch;
  for (int i = 0; i < 40; ++i) {
    batch.events.push_back(PhoneEvent(0x000e08000001 + i % 3, kT0 + i * kSec, kinds[i % 5]));
  }
  REQUIRE(store->Write(batch).ok());
  const uint32_t mask = 1u << static_cast<unsigned>(EventKind::kUpgradeRequest) |
                        1u << static_cast<unsigned>(EventKind::kUpgradeSuccess);
  std::vector<Event> want;
  REQUIRE(store
              ->Scan({kT0 + 3 * kSec, kT0 + 33 * kSec},
                     [&](const Event& e) {
                       if (e.kind == EventKind::kUpgradeRequest ||
                           e.kind == EventKind::kUpgradeSuccess)
                         want.push_back(e);
                       return true;
                     })
              .ok());
  std::vector<Event> got;
  REQUIRE(store
              ->ScanKinds({kT0 + 3 * kSec, kT0 + 33 * kSec}, mask,
                          [&](const Event& e) {
                            got.push_back(e);
                            return true;
                          })
              .ok());
  REQUIRE(got.size() == 12);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].seq == want[i].seq);
    CHECK(got[i].message == want[i].message);
    CHECK(got[i].url == want[i].url);
  }
  int visited = 0;
  REQUIRE(store->ScanKinds({}, mask, [&](const Event&) { return ++visited < 2; }).ok());
  CHECK(visited == 2);
}

TEST_CASE("A counter summed past the int64 range stays at its limit instead of wrapping") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  REQUIRE(store->AddCounters({{"up", INT64_MAX}, {"down", INT64_MIN}}).ok());
  REQUIRE(store->AddCounters({{"up", 1}, {"down", -1}}).ok());
  REQUIRE(store->Flush().ok());  // merged by the memtable and again by the flush
  REQUIRE(store->AddCounters({{"up", 5}, {"down", -5}}).ok());
  auto counters = store->Counters();
  REQUIRE(counters.ok());
  CHECK((*counters)["up"] == INT64_MAX);
  CHECK((*counters)["down"] == INT64_MIN);
}
