// The writer's handoff to the exporter, without a server: it hands out only rows that
// continue the exporter's cursor, keeps nothing past its bound, and forgets what the store
// path has sent or what retention trimmed.
#include "clickhouse/handoff.h"

#include <catch2/catch.hpp>

using namespace resyncwatch;
using clickhouse::Handoff;

namespace {

// A committed Write as the store hands it over: n events and one raw datagram with seqs
// from first on.
struct Written {
  std::vector<Event> events;
  RawDatagram raw;
  uint64_t first = 0, end = 0;
};

Written Write(uint64_t first, int n) {
  Written w;
  w.first = first;
  for (int i = 0; i < n; ++i) {
    Event e;
    e.seq = first + i;
    e.event_time_us = 1'795'680'000'000'000 + i;
    e.mac = 0x000e08000000 + i;
    e.kind = EventKind::kResyncRequest;
    e.message = "Requesting resync\tnumber " + std::to_string(e.seq);
    w.events.push_back(e);
  }
  w.raw.seq = first + n;
  w.raw.bytes = std::string("\0\x01 raw", 6);
  w.end = first + n + 1;
  return w;
}

void Hand(Handoff& h, const Written& w) {
  std::vector<const Event*> events;
  for (const Event& e : w.events) events.push_back(&e);
  const RawDatagram* raw[] = {&w.raw};
  h.Stored(w.first, w.end, events, raw);
}

std::string Rows(const Written& w) {
  std::string out;
  for (const Event& e : w.events) clickhouse::AppendEventRow("9\tc\t", e, &out);
  return out;
}

}  // namespace

TEST_CASE("The handoff gives the rows that continue the cursor and stops at a gap") {
  Handoff h("9\tc\t", 1 << 20);
  const Written a = Write(1, 3), b = Write(5, 2), c = Write(20, 4);  // c leaves a gap
  Hand(h, a);
  Hand(h, b);
  Hand(h, c);
  std::vector<const Handoff::Chunk*> got;
  h.Take(1, 1000, &got);
  REQUIRE(got.size() == 2);
  CHECK(got[0]->first == 1);
  CHECK(got[0]->end == 5);
  CHECK(got[0]->events.view() == Rows(a));
  CHECK(got[0]->n_events == 3);
  CHECK(got[0]->n_raw == 1);
  std::string raw_row;
  clickhouse::AppendRawRow("9\tc\t", a.raw, &raw_row);
  CHECK(got[0]->raw.view() == raw_row);
  CHECK(got[1]->events.view() == Rows(b));
  // Not acknowledged: taken again the same.
  h.Take(1, 1000, &got);
  CHECK(got.size() == 2);
  h.Release(2);
  // Seqs 8..19 were not handed over: the exporter must read them from the store.
  h.Take(8, 1000, &got);
  CHECK(got.empty());
  // Once the store path sent up to 20, the chunk there continues the cursor.
  h.Take(20, 1000, &got);
  REQUIRE(got.size() == 1);
  CHECK(got[0]->events.view() == Rows(c));
  CHECK(h.kept_records() == 4 + 3 + 5);
  CHECK(h.passed_records() == 0);
}

TEST_CASE("The handoff forgets rows the store path already sent, even when kept") {
  Handoff h("9\tc\t", 1 << 20);
  Hand(h, Write(1, 3));
  Hand(h, Write(5, 3));
  Hand(h, Write(9, 3));
  std::vector<const Handoff::Chunk*> got;
  // The store path sent up to 9 (a span covering the first two Writes).
  h.Take(9, 1000, &got);
  REQUIRE(got.size() == 1);
  CHECK(got[0]->first == 9);
}

TEST_CASE("A Write past the handoff's bound is left to the store and counted") {
  const Written a = Write(1, 50), b = Write(52, 50), c = Write(103, 50);
  Handoff h("9\tc\t", Rows(a).size());  // room for one Write's rows
  Hand(h, a);
  Hand(h, b);  // over the bound: not kept
  CHECK(h.passed_records() == 51);
  std::vector<const Handoff::Chunk*> got;
  h.Take(1, 1000, &got);
  REQUIRE(got.size() == 1);
  h.Release(1);
  h.Take(52, 1000, &got);
  CHECK(got.empty());  // b is read from the store
  Hand(h, c);          // room again once a was sent
  h.Take(103, 1000, &got);
  REQUIRE(got.size() == 1);
  CHECK(got[0]->events.view() == Rows(c));
}

TEST_CASE("A batch takes whole Writes up to the row limit, at least one") {
  Handoff h("9\tc\t", 1 << 20);
  Hand(h, Write(1, 10));   // 11 records
  Hand(h, Write(12, 10));  // 11
  Hand(h, Write(23, 10));  // 11
  std::vector<const Handoff::Chunk*> got;
  h.Take(1, 25, &got);
  CHECK(got.size() == 2);
  h.Take(1, 5, &got);
  CHECK(got.size() == 1);
}

TEST_CASE("Retention trimming the journal drops the kept rows but those being sent") {
  Handoff h("9\tc\t", 1 << 20);
  Hand(h, Write(1, 3));
  std::vector<const Handoff::Chunk*> got;
  h.Take(1, 1000, &got);
  REQUIRE(got.size() == 1);
  Hand(h, Write(5, 3));
  h.JournalTrimmed();
  // The chunk being sent is still there, unchanged; the other is left to the store.
  CHECK(got[0]->first == 1);
  h.Take(1, 1000, &got);
  CHECK(got.size() == 1);
  h.Release(1);
  h.Take(5, 1000, &got);
  CHECK(got.empty());
}
