// The export journal: an exporter reading with ReadForExport and saving its cursor gets
// every event and raw datagram exactly once, whatever their times and across reopens.
#include <catch2/catch.hpp>
#include <set>

#include "store/store.h"
#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

// A datagram the collector could not parse, received at t.
RawDatagram UnparsedDatagram(int64_t t) {
  RawDatagram raw;
  raw.received_us = t;
  raw.source = "10.0.0.9:514";
  raw.reason = "unparsed";
  raw.bytes = std::string("\x01\xff binary", 9);
  return raw;
}

// Writes n events (every third one hours older than the others, as an import would) and
// one raw datagram per call, starting at time t.
void WriteMixed(Store& store, int n, int64_t t) {
  WriteBatch batch;
  for (int i = 0; i < n; ++i) {
    const int64_t when = i % 3 == 0 ? t - 5 * 3600 * kSec + i : t + i * kSec;
    batch.events.push_back(PhoneEvent(0x000e08000100 + i % 7, when, EventKind::kResyncRequest));
  }
  batch.raw.push_back(UnparsedDatagram(t));
  REQUIRE(store.Write(batch).ok());
}

// Reads everything not yet exported in chunks of `chunk`, saving the cursor after each,
// and adds the seqs to *seen; REQUIREs that none was seen before.
void Drain(Store& store, size_t chunk, std::set<uint64_t>* seen) {
  Result<ExportCursor> cursor = store.LoadExportCursor();
  REQUIRE(cursor.ok());
  ExportCursor at = *cursor;
  for (int round = 0; round < 10'000; ++round) {
    ExportRecords records;
    REQUIRE(store.ReadForExport(at, chunk, &records).ok());
    REQUIRE(records.events.size() + records.raw.size() <= chunk);
    for (const Event& e : records.events) REQUIRE(seen->insert(e.seq).second);
    for (const RawDatagram& r : records.raw) {
      REQUIRE(seen->insert(r.seq).second);
      CHECK(r.bytes == std::string("\x01\xff binary", 9));
    }
    const bool idle = records.events.empty() && records.raw.empty() && records.next == at;
    at = records.next;
    REQUIRE(store.SaveExportCursor(at).ok());
    if (idle) return;
  }
  FAIL("the export never ran dry");
}

std::set<uint64_t> AllSeqs(const Store& store) {
  std::set<uint64_t> seqs;
  REQUIRE(store.Scan({}, [&](const Event& e) { return seqs.insert(e.seq).second; }).ok());
  REQUIRE(store.ScanRaw({}, [&](const RawDatagram& r) { return seqs.insert(r.seq).second; }).ok());
  return seqs;
}

StoreOptions WithJournal() {
  StoreOptions options;
  options.export_journal = true;
  return options;
}

constexpr int64_t kDay = 86'400 * kSec;

// A store with an export journal whose retention keeps a day by the test's clock.
StoreOptions JournalKeepingADay(const Clock* clock) {
  StoreOptions options = WithJournal();
  options.retention_us = kDay;
  options.clock = clock;
  return options;
}

}  // namespace

TEST_CASE("Export journal hands out every record once, older times included") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path(), WithJournal());
  std::set<uint64_t> seen;
  for (int b = 0; b < 20; ++b) WriteMixed(*store, 11, kT0 + b * 100 * kSec);
  Drain(*store, 7, &seen);
  CHECK(seen == AllSeqs(*store));
  // New writes after a drain are found, the old ones not again.
  for (int b = 0; b < 5; ++b) WriteMixed(*store, 4, kT0 - 50 * 3600 * kSec + b * kSec);
  Drain(*store, 1000, &seen);
  CHECK(seen == AllSeqs(*store));
  CHECK(*store->NextSeq() == *seen.rbegin() + 1);
}

TEST_CASE("Export resumes in the middle of a record of several events") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path(), WithJournal());
  std::set<uint64_t> seen;
  for (int b = 0; b < 6; ++b) {
    WriteBatch batch;  // 40 events at one time: one record each batch
    for (int i = 0; i < 40; ++i) {
      batch.events.push_back(
          PhoneEvent(0x000e08000100 + i % 9, kT0 + b * kSec, EventKind::kResyncRequest));
    }
    REQUIRE(store->Write(batch).ok());
  }
  Drain(*store, 7, &seen);  // 7 does not divide 40: most reads stop inside a record
  CHECK(seen.size() == 240);
  CHECK(seen == AllSeqs(*store));
}

TEST_CASE("Export resumes after retention removed the group its cursor stopped in") {
  TempDir tmp;
  const int64_t day = kDay;
  ManualClock clock(kT0);
  auto store = OpenOrDie(tmp.path(), JournalKeepingADay(&clock));
  WriteBatch batch;  // one span: a group of 40 at kT0, one of 5 at kT0 + 2 s
  for (int i = 0; i < 45; ++i) {
    const int64_t t = i < 40 ? kT0 : kT0 + 2 * kSec;
    batch.events.push_back(PhoneEvent(0x000e08000100 + i % 9, t, EventKind::kResyncRequest));
  }
  REQUIRE(store->Write(batch).ok());
  ExportRecords part;
  REQUIRE(store->ReadForExport(*store->LoadExportCursor(), 7, &part).ok());
  REQUIRE(part.events.size() == 7);  // the cursor stops inside the first group
  clock.Set(kT0 + kSec + day);       // cutoff kT0 + 1 s: the first group goes
  REQUIRE(store->ApplyRetention().ok());
  ExportRecords rest;
  REQUIRE(store->ReadForExport(part.next, 100, &rest).ok());
  REQUIRE(rest.events.size() == 5);
  for (const Event& e : rest.events) CHECK(e.event_time_us == kT0 + 2 * kSec);
}

TEST_CASE("Export cursor survives a reopen in the middle of a span") {
  TempDir tmp;
  StoreOptions options;
  options.export_journal = true;
  std::set<uint64_t> seen;
  uint64_t id = 0;
  {
    auto store = OpenOrDie(tmp.path(), options);
    for (int b = 0; b < 10; ++b) WriteMixed(*store, 9, kT0 + b * kSec);
    ExportRecords part;
    REQUIRE(store->ReadForExport(*store->LoadExportCursor(), 13, &part).ok());
    REQUIRE(part.events.size() + part.raw.size() == 13);
    CHECK(part.next.span_end != 0);  // stopped inside the span
    for (const Event& e : part.events) seen.insert(e.seq);
    for (const RawDatagram& r : part.raw) seen.insert(r.seq);
    REQUIRE(store->SaveExportCursor(part.next).ok());
    id = *store->ExportStoreId();
    CHECK(id != 0);
  }
  auto store = OpenOrDie(tmp.path(), options);
  CHECK(*store->ExportStoreId() == id);
  WriteMixed(*store, 5, kT0 - kSec);
  Drain(*store, 4, &seen);
  CHECK(seen == AllSeqs(*store));
}

TEST_CASE("Records written while no journal was kept are exported once it is") {
  TempDir tmp;
  std::set<uint64_t> seen;
  {
    auto store = OpenOrDie(tmp.path());  // no journal
    for (int b = 0; b < 4; ++b) WriteMixed(*store, 6, kT0 + b * kSec);
  }
  StoreOptions options;
  options.export_journal = true;
  {
    auto store = OpenOrDie(tmp.path(), options);
    WriteMixed(*store, 6, kT0 + 10 * kSec);
    Drain(*store, 5, &seen);
    CHECK(seen == AllSeqs(*store));
  }
  {
    auto store = OpenOrDie(tmp.path());  // the journal off again for a while
    WriteMixed(*store, 3, kT0 + 20 * kSec);
  }
  auto store = OpenOrDie(tmp.path(), options);
  Drain(*store, 5, &seen);
  CHECK(seen == AllSeqs(*store));
  CHECK(seen.size() == 4 * 7 + 7 + 4);
}

TEST_CASE("A store without a journal says so instead of exporting nothing") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  CHECK(store->ExportStoreId().status().IsNotFound());
}

TEST_CASE("Journal entries whose records retention removed unexported are trimmed and counted") {
  TempDir tmp;
  const int64_t day = kDay;
  ManualClock clock(kT0);
  auto store = OpenOrDie(tmp.path(), JournalKeepingADay(&clock));
  auto write = [&](std::initializer_list<int64_t> times, int64_t raw_time) {
    WriteBatch batch;
    for (int64_t t : times) {
      batch.events.push_back(PhoneEvent(0x000e08000100, t, EventKind::kResyncRequest));
    }
    if (raw_time != 0) batch.raw.push_back(UnparsedDatagram(raw_time));
    REQUIRE(store->Write(batch).ok());
  };
  write({kT0, kT0 + kSec}, kT0);  // all expires: 3 records
  clock.Set(kT0 + day);
  write({kT0 + day, kT0 + 2 * day}, 0);  // half expires: the entry stays
  clock.Set(kT0 + 2 * day);
  write({kT0 + 2 * day}, kT0 + 2 * day);  // stays
  clock.Set(kT0 + 5 * day / 2);           // cutoff kT0 + 1.5 days
  auto expired = [&] {
    Result<std::map<std::string, int64_t>> counters = store->Counters();
    REQUIRE(counters.ok());
    return (*counters)["export_expired"];
  };
  REQUIRE(store->ApplyRetention().ok());
  CHECK(expired() == 3);
  // Gone, not only counted: a second pass finds nothing more to trim.
  REQUIRE(store->ApplyRetention().ok());
  CHECK(expired() == 3);
  std::set<uint64_t> seen;
  Drain(*store, 2, &seen);
  CHECK(seen.size() == 3);  // what retention left: kT0 + 2 days twice and the raw datagram
  CHECK(seen == AllSeqs(*store));
}
