// The exporter against a real clickhouse-server (tests/clickhouse/test_server.h): every
// record arrives once in every answer, also when batches are sent twice or ClickHouse dies
// mid-stream, and the ClickHouse-backed Store answers as the local store does.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <thread>

#include "clickhouse/clickhouse.h"
#include "clickhouse/rows.h"
#include "test_server.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

constexpr int64_t kT0 = 1'795'680'000'000'000;  // 2026-11-25T00:00:00Z
constexpr int64_t kSec = 1'000'000;

Event MakeEvent(MacAddress mac, int64_t t, EventKind kind) {
  Event e;
  e.event_time_us = t;
  e.received_us = t;
  e.message_time_us = t / kSec * kSec;
  e.kind = kind;
  e.format = SyslogFormat::kRfc3164;
  e.facility = 16;
  e.severity = kind == EventKind::kResyncFailure ? 3 : 6;
  e.mac = mac;
  e.model = "CP-8851-3PCC";
  e.sn = "FCH" + std::to_string(mac & 0xffff);
  e.source = "10.1.0." + std::to_string(mac & 255) + ":5060";
  e.url = "http://10.23.45.67:80/cfg.xml";
  e.scheme = "http";
  e.server = "10.23.45.67";
  e.port = 80;
  e.path = "/cfg.xml";
  if (kind == EventKind::kResyncFailure) e.error = "http_get failed";
  e.message = "CP-8851-3PCC -- " + std::string(ToString(kind)) + "\tt=" + std::to_string(t);
  return e;
}

// Batch b: one event of each of `phones` phones (cycling kinds) and one raw datagram.
WriteBatch MakeBatch(int b, int phones) {
  static constexpr EventKind kKinds[] = {EventKind::kResyncRequest, EventKind::kResyncFailure,
                                         EventKind::kResyncRequest, EventKind::kResyncSuccess};
  WriteBatch batch;
  for (int p = 0; p < phones; ++p) {
    batch.events.push_back(MakeEvent(0x000e08000000 + p, kT0 + b * kSec + p, kKinds[(b + p) % 4]));
  }
  RawDatagram raw;
  raw.received_us = kT0 + b * kSec;
  raw.source = "10.9.9.9:514";
  raw.reason = "unparsed";
  raw.bytes = "\x01\xfe\tbatch " + std::to_string(b);
  batch.raw.push_back(raw);
  return batch;
}

std::unique_ptr<Store> OpenJournaled(const std::string& dir) {
  StoreOptions options;
  options.export_journal = true;
  Result<std::unique_ptr<Store>> store = Store::Open(dir, options);
  REQUIRE(store.ok());
  return std::move(*store);
}

ExporterOptions FastExport(const ClickHouseOptions& ch) {
  ExporterOptions o;
  o.clickhouse = ch;
  o.collector_name = "test";
  o.min_batch_rows = 1;
  o.max_delay_us = 20'000;
  o.max_batch_rows = 97;  // several batches, split inside spans
  o.retry_min_us = 20'000;
  o.retry_max_us = 200'000;
  return o;
}

std::unique_ptr<ClickHouseExporter> StartExport(Store* store, const ExporterOptions& o) {
  Result<std::unique_ptr<ClickHouseExporter>> e = ClickHouseExporter::Start(store, o);
  REQUIRE(e.ok());
  return std::move(*e);
}

bool Drained(const ClickHouseExporter& e) {
  return WaitUntil([&] { return e.stats().backlog == 0 && e.stats().up; },
                   std::chrono::seconds(60));
}

struct Seen {
  std::vector<std::tuple<uint64_t, int64_t, MacAddress, int, std::string>> events;
  std::vector<std::pair<uint64_t, std::string>> raw;
};

Seen ReadAll(const Store& store) {
  Seen seen;
  REQUIRE(store
              .Scan({},
                    [&](const Event& e) {
                      seen.events.emplace_back(e.seq, e.event_time_us, e.mac,
                                               static_cast<int>(e.kind), e.message);
                      return true;
                    })
              .ok());
  REQUIRE(store
              .ScanRaw({},
                       [&](const RawDatagram& r) {
                         seen.raw.emplace_back(r.seq, r.bytes);
                         return true;
                       })
              .ok());
  return seen;
}

std::map<MacAddress, DeviceSummary> Devices(const Store& store) {
  std::map<MacAddress, DeviceSummary> out;
  REQUIRE(store.ForEachDevice([&](const DeviceSummary& d) { return out.emplace(d.mac, d).second; })
              .ok());
  return out;
}

std::unique_ptr<Store> OpenCh(const ClickHouseOptions& o) {
  Result<std::unique_ptr<Store>> s = OpenClickHouseStore(o);
  REQUIRE(s.ok());
  return std::move(*s);
}

}  // namespace

TEST_CASE("Exported records come back from ClickHouse as the local store holds them") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  auto local = OpenJournaled(tmp.Join("store"));
  for (int b = 0; b < 40; ++b) {
    WriteBatch batch = MakeBatch(b, 9);
    REQUIRE(local->Write(batch).ok());
  }
  const ClickHouseOptions options = ch.Options("t_roundtrip");
  auto exporter = StartExport(local.get(), FastExport(options));
  REQUIRE(Drained(*exporter));
  CHECK(exporter->stats().exported_events == 40 * 9);
  CHECK(exporter->stats().exported_raw == 40);

  auto remote = OpenCh(options);
  Seen want = ReadAll(*local), got = ReadAll(*remote);
  CHECK(got.events == want.events);
  CHECK(got.raw == want.raw);

  std::map<MacAddress, DeviceSummary> want_dev = Devices(*local), got_dev = Devices(*remote);
  REQUIRE(got_dev.size() == want_dev.size());
  for (const auto& [mac, w] : want_dev) {
    const DeviceSummary& g = got_dev[mac];
    CHECK(g.events == w.events);
    CHECK(g.failures == w.failures);
    CHECK(g.requests == w.requests);
    CHECK(g.consecutive_failures == w.consecutive_failures);
    CHECK(g.last_seen_us == w.last_seen_us);
    CHECK(g.last_error == w.last_error);
    CHECK(g.last_ip == w.last_ip);
    CHECK(g.sn == w.sn);
  }
  Result<MacAddress> by_sn = remote->MacForSerial("FCH3");
  REQUIRE(by_sn.ok());
  CHECK(*by_sn == 0x000e08000003);
  CHECK(remote->MacForSerial("nope").status().IsNotFound());
  int history = 0;
  REQUIRE(remote
              ->History(0x000e08000003, {kT0, kT0 + 10 * kSec},
                        [&](const Event& e) {
                          CHECK(e.mac == 0x000e08000003);
                          return ++history > 0;
                        })
              .ok());
  CHECK(history == 10);
}

TEST_CASE("A batch sent again after a crash before its cursor was saved is counted once") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  {
    auto local = OpenJournaled(tmp.Join("store"));
    for (int b = 0; b < 25; ++b) {
      WriteBatch batch = MakeBatch(b, 8);
      REQUIRE(local->Write(batch).ok());
    }
  }
  // The copy is the same store as it was before any export: the crash that loses the cursor.
  std::filesystem::copy(tmp.Join("store"), tmp.Join("before"),
                        std::filesystem::copy_options::recursive);
  const ClickHouseOptions options = ch.Options("t_resend");
  for (const char* dir : {"store", "before"}) {
    auto local = OpenJournaled(tmp.Join(dir));
    auto exporter = StartExport(local.get(), FastExport(options));
    REQUIRE(Drained(*exporter));
    CHECK(exporter->stats().exported_events == 25 * 8);
  }
  CHECK(ch.Scalar("SELECT count() FROM t_resend.events FINAL") == "200");
  auto remote = OpenCh(options);
  Seen got = ReadAll(*remote);
  CHECK(got.events.size() == 200);
  CHECK(got.raw.size() == 25);
  uint64_t failures = 0;
  for (const auto& [mac, d] : Devices(*remote)) failures += d.failures;
  CHECK(failures == 50);
  // One phone's reads fold the copies themselves (they read without FINAL).
  int history = 0;
  REQUIRE(remote->History(0x000e08000002, {}, [&](const Event&) { return ++history > 0; }).ok());
  CHECK(history == 25);
  Result<DeviceSummary> device = remote->GetDevice(0x000e08000002);
  REQUIRE(device.ok());
  CHECK(device->events == 25);
}

TEST_CASE("While ClickHouse is down ingest goes on, the backlog is counted and drains exactly") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  auto local = OpenJournaled(tmp.Join("store"));
  const ClickHouseOptions options = ch.Options("t_outage");
  auto exporter = StartExport(local.get(), FastExport(options));
  int b = 0;
  auto write = [&](int n) {
    for (int i = 0; i < n; ++i, ++b) {
      WriteBatch batch = MakeBatch(b, 5);
      REQUIRE(local->Write(batch).ok());
    }
  };
  write(20);
  REQUIRE(WaitUntil([&] { return exporter->stats().exported_events > 0; }));
  ch.Kill();
  write(30);  // the writes do not wait for ClickHouse
  REQUIRE(WaitUntil([&] { return exporter->stats().failed_batches > 0 && !exporter->stats().up; }));
  write(10);
  CHECK(exporter->stats().backlog > 0);
  CHECK(exporter->RenderMetrics().find("resyncwatch_clickhouse_up 0") != std::string::npos);
  REQUIRE(ch.Start());
  REQUIRE(Drained(*exporter));
  CHECK(ch.Scalar("SELECT count() FROM t_outage.events FINAL") == std::to_string(60 * 5));
  CHECK(ch.Scalar("SELECT count() FROM t_outage.raw FINAL") == "60");
  CHECK(ReadAll(*OpenCh(options)).events == ReadAll(*local).events);
  CHECK(exporter->RenderMetrics().find("resyncwatch_clickhouse_backlog 0") != std::string::npos);
}

TEST_CASE(
    "Day partitions wholly older than the ClickHouse retention are dropped, newer days stay") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  const int64_t day = 86'400 * kSec;
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto local = OpenJournaled(tmp.Join("store"));
  // 40 and 35 days old (expired), 20 days old and now (kept): 10 events each.
  for (int64_t age : {40 * day, 35 * day, 20 * day, int64_t{0}}) {
    WriteBatch batch;
    for (int i = 0; i < 10; ++i) {
      batch.events.push_back(
          MakeEvent(0x000e08000000 + i, now - age + i, EventKind::kResyncRequest));
    }
    REQUIRE(local->Write(batch).ok());
  }
  ExporterOptions o = FastExport(ch.Options("t_retention"));
  o.retention_us = 30 * day;
  o.retention_interval_us = 50'000;
  auto exporter = StartExport(local.get(), o);
  REQUIRE(Drained(*exporter));
  const std::string parts =
      "SELECT count(DISTINCT partition) FROM system.parts WHERE active AND database = "
      "'t_retention' AND table = 'events'";
  // The counter moves once the drops returned, just after system.parts shows them.
  REQUIRE(WaitUntil(
      [&] { return ch.Scalar(parts) == "2" && exporter->stats().dropped_partitions >= 2; },
      std::chrono::seconds(30)));
  CHECK(ch.Scalar("SELECT count() FROM t_retention.events FINAL") == "20");
  CHECK(ch.Scalar("SELECT min(event_time_us) FROM t_retention.events") ==
        std::to_string(now - 20 * day));
  // The local store keeps its own retention: everything is still there.
  int local_events = 0;
  REQUIRE(local->Scan({}, [&](const Event&) { return ++local_events > 0; }).ok());
  CHECK(local_events == 40);
}

TEST_CASE("Over https the server's certificate is verified, against the configured CA") {
  TestClickHouse& ch = TestClickHouse::Get();
  REQUIRE_FALSE(ch.https_url().empty());
  ClickHouseOptions options = ch.Options("t_https");
  options.url = ch.https_url();
  // A self-signed certificate the system does not trust: refused, nothing sent.
  Status refused = CreateClickHouseSchema(options);
  CHECK_FALSE(refused.ok());
  CHECK(refused.message().find("does not answer") != std::string::npos);
  options.ca_file = ch.ca_file();
  REQUIRE(CreateClickHouseSchema(options).ok());
  TempDir tmp;
  auto local = OpenJournaled(tmp.Join("store"));
  for (int b = 0; b < 5; ++b) {
    WriteBatch batch = MakeBatch(b, 8);
    REQUIRE(local->Write(batch).ok());
  }
  auto exporter = StartExport(local.get(), FastExport(options));
  REQUIRE(Drained(*exporter));
  CHECK(exporter->stats().exported_events == 40);
  auto remote = OpenCh(options);
  CHECK(ReadAll(*remote).events.size() == 40);
  ClickHouseOptions untrusted = options;
  untrusted.ca_file.clear();
  CHECK_FALSE(OpenClickHouseStore(untrusted).ok());
}

namespace {

// Every column of every event and raw datagram, as rows (the same origin for both sides):
// what the handoff sent must be what the store holds, field for field.
std::pair<std::string, std::string> AllRows(const Store& store) {
  std::string events, raw;
  REQUIRE(store
              .Scan({},
                    [&](const Event& e) {
                      clickhouse::AppendEventRow({1, "x"}, e, &events);
                      return true;
                    })
              .ok());
  REQUIRE(store
              .ScanRaw({},
                       [&](const RawDatagram& r) {
                         clickhouse::AppendRawRow({1, "x"}, r, &raw);
                         return true;
                       })
              .ok());
  return {events, raw};
}

// Batch b as MakeBatch, plus an event whose texts are hostile and mostly empty.
WriteBatch MakeHostileBatch(int b) {
  WriteBatch batch = MakeBatch(b, 5);
  Event odd;
  odd.event_time_us = kT0 + b * kSec + 999;
  odd.received_us = odd.event_time_us + 7;
  odd.kind = EventKind::kDebug;
  odd.format = SyslogFormat::kBare;
  odd.host = "h\\ost";
  odd.message = std::string("nul \0 tab \t cr \r lf \n end\\", 26);
  odd.source = "[2001:db8::5]:514";
  batch.events.push_back(odd);
  return batch;
}

// Drained with n events acknowledged (the backlog alone may not have seen the last Write).
bool ExportedAll(const ClickHouseExporter& e, uint64_t n) {
  return WaitUntil([&] { return e.stats().exported_events == n && e.stats().backlog == 0; },
                   std::chrono::seconds(60));
}

std::string CountAll(TestClickHouse& ch, const std::string& db, const char* table) {
  return ch.Scalar("SELECT count() FROM " + db + "." + table);  // no FINAL: copies count
}

}  // namespace

TEST_CASE("Records handed over in memory reach ClickHouse with every field the store holds") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  auto local = OpenJournaled(tmp.Join("store"));
  const ClickHouseOptions options = ch.Options("t_handoff");
  auto exporter = StartExport(local.get(), FastExport(options));
  for (int b = 0; b < 30; ++b) {
    WriteBatch batch = MakeHostileBatch(b);
    REQUIRE(local->Write(batch).ok());
  }
  REQUIRE(ExportedAll(*exporter, 30 * 6));
  const ExporterStats st = exporter->stats();
  REQUIRE(st.failed_batches == 0);
  // Every Write came while the exporter ran: the handoff had them (a Write it could not
  // take at once would have been read from the store, also right, but not what this
  // test is about).
  CHECK(st.sent_from_handoff > 0);
  CHECK(st.sent_from_handoff + st.sent_from_store == 30 * 7);
  CHECK(st.exported_events == 30 * 6);
  CHECK(CountAll(ch, "t_handoff", "events") == std::to_string(30 * 6));
  CHECK(AllRows(*OpenCh(options)) == AllRows(*local));
}

TEST_CASE("A handoff that overflows leaves the rest to the store and every record arrives once") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  auto local = OpenJournaled(tmp.Join("store"));
  const ClickHouseOptions options = ch.Options("t_overflow");
  ExporterOptions o = FastExport(options);
  o.handoff_max_bytes = 1;  // one Write at a time
  auto exporter = StartExport(local.get(), o);
  WriteBatch first = MakeBatch(0, 5);
  REQUIRE(local->Write(first).ok());
  REQUIRE(ExportedAll(*exporter, 5));
  // Nothing is being sent now: the kill loses no INSERT under way, so no batch is resent
  // and a plain count() (copies included) must come out exact.
  ch.Kill();
  for (int b = 1; b <= 10; ++b) {
    WriteBatch batch = MakeBatch(b, 5);
    REQUIRE(local->Write(batch).ok());
  }
  REQUIRE(WaitUntil([&] { return exporter->stats().failed_batches > 0; }));
  REQUIRE(ch.Start());
  REQUIRE(ExportedAll(*exporter, 11 * 5));
  const ExporterStats st = exporter->stats();
  CHECK(st.handoff_passed >= 9 * 6);  // the Writes after the one the handoff kept
  CHECK(st.sent_from_handoff > 0);
  CHECK(st.sent_from_store >= 9 * 6);
  CHECK(st.sent_from_handoff + st.sent_from_store == 11 * 6);
  CHECK(CountAll(ch, "t_overflow", "events") == std::to_string(11 * 5));
  CHECK(CountAll(ch, "t_overflow", "raw") == "11");
  CHECK(AllRows(*OpenCh(options)) == AllRows(*local));
}

TEST_CASE("Records held in memory that the backlog's read from the store covers are sent once") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  auto local = OpenJournaled(tmp.Join("store"));
  const ClickHouseOptions options = ch.Options("t_backlog");
  // A backlog in the store, as after a restart: written while no exporter ran.
  for (int b = 0; b < 20; ++b) {
    WriteBatch batch = MakeBatch(b, 5);
    REQUIRE(local->Write(batch).ok());
  }
  ch.Kill();
  auto exporter = StartExport(local.get(), FastExport(options));
  // These are in the handoff and in the store; the exporter, waiting for ClickHouse,
  // sends nothing until it is back and then starts at the backlog.
  for (int b = 20; b < 30; ++b) {
    WriteBatch batch = MakeBatch(b, 5);
    REQUIRE(local->Write(batch).ok());
  }
  REQUIRE(WaitUntil([&] { return exporter->stats().failed_batches > 0; }));
  REQUIRE(ch.Start());
  REQUIRE(ExportedAll(*exporter, 30 * 5));
  const ExporterStats st = exporter->stats();
  CHECK(st.handoff_passed == 0);
  // The backlog's span reached past the Writes held in memory: they went from the store,
  // and the handoff dropped its copies instead of sending them again.
  CHECK(st.sent_from_store == 30 * 6);
  CHECK(st.sent_from_handoff == 0);
  CHECK(CountAll(ch, "t_backlog", "events") == std::to_string(30 * 5));
  CHECK(CountAll(ch, "t_backlog", "raw") == "30");
  CHECK(AllRows(*OpenCh(options)) == AllRows(*local));
  // Writes after the backlog go through the handoff again.
  WriteBatch more = MakeBatch(30, 5);
  REQUIRE(local->Write(more).ok());
  REQUIRE(ExportedAll(*exporter, 31 * 5));
  CHECK(exporter->stats().sent_from_handoff == 6);
  CHECK(CountAll(ch, "t_backlog", "events") == std::to_string(31 * 5));
}
