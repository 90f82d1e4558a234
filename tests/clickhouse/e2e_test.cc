// Two resyncwatchd exporting to one private clickhouse-server: ClickHouse is killed and
// restarted mid-stream and a collector is SIGKILLed mid-export, and still the CLI's
// answers with --clickhouse equal the union of its answers from the two local stores.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>

#include "clickhouse/http.h"
#include "common/time_format.h"
#include "test_server.h"

using namespace resyncwatch::testing;

namespace {

const std::string kDaemonPath = RESYNCWATCHD_PATH;
const std::string kCliPath = RESYNCWATCH_CLI_PATH;

std::string Mac(int collector, int phone) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "00:0e:08:%02x:%02x:%02x", collector, phone >> 8, phone & 255);
  return buf;
}

// Round r of every phone of one collector: a request, then a success or (every third
// phone, every other round) a failure.
std::vector<std::string> Round(int collector, int phones, int r) {
  std::vector<std::string> out;
  for (int p = 0; p < phones; ++p) {
    const std::string head =
        "<134>Nov 25 08:00:02 phone CP-8851-3PCC " + Mac(collector, p) + " -- ";
    const std::string url = "http://10.23.45." + std::to_string(collector) + ":80/cfg.xml";
    out.push_back(head + "Requesting resync " + url);
    out.push_back(p % 3 == 0 && r % 2 == 0 ? head + "Resync failed: http_get failed"
                                           : head + "Successful resync " + url);
  }
  out.push_back("<134>Nov 25 08:00:02 junk \x01\x02 not a phone " + std::to_string(r));
  return out;
}

class Collector {
 public:
  Collector(const TempDir& tmp, const std::string& name, const std::string& ch_url)
      : db_(tmp.Join(name)), name_(name), url_(ch_url), work_(tmp.path()) {
    Start();
  }
  void Start() {
    daemon_ = std::make_unique<Daemon>(
        kDaemonPath,
        std::vector<std::string>{"--db", db_, "--listen", "udp://127.0.0.1:0", "--clickhouse", url_,
                                 "--clickhouse-database", "t_e2e", "--collector-name", name_,
                                 "--query-socket", "none", "--summary-interval", "1h"},
        work_);
    REQUIRE(daemon_->WaitListening());
  }
  void Send(const std::vector<std::string>& lines) { SendUdp(daemon_->Port("udp"), lines); }
  Daemon& daemon() { return *daemon_; }
  const std::string& db() const { return db_; }

 private:
  std::string db_, name_, url_, work_;
  std::unique_ptr<Daemon> daemon_;
};

std::string Cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kCliPath};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  RunCapture(argv, &out);
  return out;
}

// The integer after "key": in a JSON object's text (-1 when absent).
long JsonInt(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  return at == std::string::npos ? -1 : std::atol(json.c_str() + at + key.size() + 3);
}

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> Union(const std::string& a, const std::string& b) {
  return SortedLines(a + b);
}

// Only the lines that contain `needle` (per-phone lines, not a summary).
std::vector<std::string> With(const std::vector<std::string>& lines, const std::string& needle) {
  std::vector<std::string> out;
  for (const std::string& l : lines) {
    if (l.find(needle) != std::string::npos) out.push_back(l);
  }
  return out;
}

// ISO-8601 UTC of now + days: a fixed "now" shared by the local and the remote answers.
std::string IsoInDays(int days) {
  const time_t t = std::time(nullptr) + days * 86400;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

TEST_CASE("Fleet-wide answers from ClickHouse equal the union of two collectors' stores") {
  TestClickHouse& ch = TestClickHouse::Get();
  TempDir tmp;
  Collector a(tmp, "a", ch.url()), b(tmp, "b", ch.url());
  constexpr int kPhones = 150;
  int round = 0;
  auto send_rounds = [&](int n) {
    for (int i = 0; i < n; ++i, ++round) {
      a.Send(Round(1, kPhones, round));
      b.Send(Round(2, kPhones, round));
    }
  };
  send_rounds(3);
  ch.Kill();  // mid-stream: the collectors go on storing
  send_rounds(3);
  REQUIRE(ch.Start());
  send_rounds(2);
  a.daemon().Stop(9);  // mid-export, whatever was in flight
  a.Start();
  send_rounds(2);

  const std::vector<std::string> range = {"--since", "1h", "--json"};
  auto local_fleet = [&](const std::string& db) {
    std::vector<std::string> args = {"fleet", "--db", db};
    args.insert(args.end(), range.begin(), range.end());
    return Cli(args);
  };
  std::vector<std::string> ch_args = {"fleet", "--clickhouse", ch.url(), "--clickhouse-database",
                                      "t_e2e"};
  ch_args.insert(ch_args.end(), range.begin(), range.end());
  std::string fa, fb, fc;
  // Exported once everything stored is in ClickHouse (each collector sends within 1 s).
  const bool same = WaitUntil(
      [&] {
        fa = local_fleet(a.db());
        fb = local_fleet(b.db());
        fc = Cli(ch_args);
        return JsonInt(fc, "events") == JsonInt(fa, "events") + JsonInt(fb, "events");
      },
      std::chrono::seconds(60));
  INFO("a: " << fa << "\nb: " << fb << "\nclickhouse: " << fc);
  REQUIRE(same);
  CHECK(JsonInt(fa, "events") > 0);
  CHECK(JsonInt(fb, "events") > 0);
  for (const char* key : {"attempts", "successes", "failures", "devices"}) {
    CHECK(JsonInt(fc, key) == JsonInt(fa, key) + JsonInt(fb, key));
  }
  CHECK(JsonInt(fc, "devices") == 2 * kPhones);

  const std::vector<std::string> from_ch = {"--clickhouse", ch.url(), "--clickhouse-database",
                                            "t_e2e", "--json"};
  auto both = [&](std::vector<std::string> args) {
    std::vector<std::string> on_a = args, on_b = args, on_c = args;
    on_a.insert(on_a.end(), {"--db", a.db(), "--json"});
    on_b.insert(on_b.end(), {"--db", b.db(), "--json"});
    on_c.insert(on_c.end(), from_ch.begin(), from_ch.end());
    return std::make_pair(Union(Cli(on_a), Cli(on_b)), SortedLines(Cli(on_c)));
  };
  // A phone of each collector: the same history, line for line.
  for (const auto& [collector, db] : {std::pair{1, a.db()}, std::pair{2, b.db()}}) {
    std::vector<std::string> local = {"history", Mac(collector, 3), "--db", db, "--json"};
    std::vector<std::string> remote = {"history", Mac(collector, 3)};
    remote.insert(remote.end(), from_ch.begin(), from_ch.end());
    const std::string want = Cli(local);
    CHECK(!want.empty());
    CHECK(Cli(remote) == want);
  }
  auto [devices_want, devices_got] = both({"devices"});
  CHECK(devices_got.size() == 2 * kPhones);
  CHECK(devices_got == devices_want);
  auto [grep_want, grep_got] = both({"grep", "http_get"});
  CHECK(!grep_got.empty());
  CHECK(grep_got == grep_want);
  // The schedule's answers, judged at one fixed time two days on (every phone overdue).
  const std::string later = IsoInDays(2);
  auto [schedule_want, schedule_got] = both({"schedule", "--fleet", "--now", later});
  CHECK(schedule_got.size() == 2 * kPhones);
  CHECK(schedule_got == schedule_want);
  auto [overdue_want, overdue_got] = both({"overdue", "--now", later});
  CHECK(!overdue_got.empty());
  CHECK(overdue_got == overdue_want);
  auto [recovery_want, recovery_got] = both({"recovery", "--now", IsoInDays(0)});
  CHECK(!With(recovery_got, "\"type\":\"phone\"").empty());
  CHECK(With(recovery_got, "\"type\":\"phone\"") == With(recovery_want, "\"type\":\"phone\""));
}

namespace {

// Events built to reach every rule of FleetStats: outcomes before any request, successes
// naming their own server, failures naming one (credited to the request's server anyway),
// models appearing and changing midway, events without a phone, debug lines, both
// families, equal timestamps, and times outside the asked range.
std::vector<resyncwatch::Event> TrickyEvents(int64_t t0) {
  using resyncwatch::EventKind;
  std::mt19937 rng(17);
  auto pick = [&](auto const& options) { return options[rng() % std::size(options)]; };
  static const EventKind kKinds[] = {
      EventKind::kResyncRequest,  EventKind::kResyncSuccess,  EventKind::kResyncFailure,
      EventKind::kResyncRequest,  EventKind::kUpgradeRequest, EventKind::kUpgradeSuccess,
      EventKind::kUpgradeFailure, EventKind::kDebug,          EventKind::kUnknown};
  static const char* kServers[] = {"", "", "10.0.0.1", "10.0.0.2", "prov.example.net"};
  static const char* kModels[] = {"", "", "", "CP-8851-3PCC", "CP-7841-3PCC"};
  static const char* kErrors[] = {"", "http_get failed", "bad\ttab \\ text"};
  std::vector<resyncwatch::Event> events;
  int64_t t = t0 - 600'000'000;  // ten minutes before the range
  for (int i = 0; i < 3000; ++i) {
    resyncwatch::Event e;
    if (rng() % 4 != 0) t += static_cast<int64_t>(rng() % 9'000'000);  // else a tie
    e.event_time_us = e.received_us = t;
    e.kind = pick(kKinds);
    e.format = resyncwatch::SyslogFormat::kRfc3164;
    e.mac = rng() % 10 == 0 ? 0 : 0x000e08000000 + rng() % 40;
    e.model = pick(kModels);
    e.server = pick(kServers);
    if (e.kind == EventKind::kResyncFailure || e.kind == EventKind::kUpgradeFailure) {
      e.error = pick(kErrors);
    }
    e.message = "event " + std::to_string(i);
    e.source = "10.1.0.9:5060";
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace

namespace {

// Writes TrickyEvents to a store, exports every record twice into `database` and checks
// that `fleet` from ClickHouse prints what the store prints, for every grouping.
void CheckFleetAgainstStore(TestClickHouse& ch, const std::string& database) {
  TempDir tmp;
  // Recent whole hours (a store's retention would drop older events when it opens).
  const int64_t hour = 3'600'000'000;
  const int64_t t0 = (std::time(nullptr) * int64_t{1'000'000} / hour - 5) * hour;
  {
    resyncwatch::StoreOptions options;
    options.export_journal = true;
    auto store = resyncwatch::Store::Open(tmp.Join("store"), options);
    REQUIRE(store.ok());
    std::vector<resyncwatch::Event> events = TrickyEvents(t0);
    for (size_t i = 0; i < events.size(); i += 250) {
      resyncwatch::WriteBatch batch;
      batch.events.assign(events.begin() + i, events.begin() + std::min(events.size(), i + 250));
      REQUIRE((*store)->Write(batch).ok());
    }
  }
  // Every record is sent twice: once from the store, once from a copy taken before its
  // cursor moved (a crash before the acknowledgement was saved).
  std::filesystem::copy(tmp.Join("store"), tmp.Join("copy"),
                        std::filesystem::copy_options::recursive);
  for (const char* dir : {"store", "copy"}) {
    resyncwatch::StoreOptions options;
    options.export_journal = true;
    auto store = resyncwatch::Store::Open(tmp.Join(dir), options);
    REQUIRE(store.ok());
    resyncwatch::ExporterOptions eo;
    eo.clickhouse = ch.Options(database);
    eo.collector_name = dir;
    eo.min_batch_rows = 1;
    eo.max_delay_us = 20'000;
    eo.max_batch_rows = 333;
    auto exporter = resyncwatch::ClickHouseExporter::Start(store->get(), eo);
    REQUIRE(exporter.ok());
    REQUIRE(WaitUntil([&] { return (*exporter)->stats().backlog == 0 && (*exporter)->stats().up; },
                      std::chrono::seconds(60)));
    CHECK((*exporter)->stats().exported_events == 3000);
  }
  const std::vector<std::string> range = {"--since", resyncwatch::FormatIso8601Utc(t0),
                                          "--until", resyncwatch::FormatIso8601Utc(t0 + 2 * hour),
                                          "--top",   "100"};
  for (const char* by : {"", "model", "server", "error", "hour"}) {
    for (bool json : {true, false}) {
      std::vector<std::string> args = {"fleet"};
      args.insert(args.end(), range.begin(), range.end());
      if (*by) args.insert(args.end(), {"--by", by});
      if (json) args.push_back("--json");
      std::vector<std::string> local = args, remote = args;
      local.insert(local.end(), {"--db", tmp.Join("store")});
      remote.insert(remote.end(), {"--clickhouse", ch.url(), "--clickhouse-database", database});
      const std::string want = Cli(local);
      INFO("fleet --by " << by << (json ? " --json" : ""));
      CHECK(want.size() > 100);
      CHECK(Cli(remote) == want);
    }
  }
}

}  // namespace

TEST_CASE("Fleet aggregated inside ClickHouse equals the local fleet for every grouping") {
  CheckFleetAgainstStore(TestClickHouse::Get(), "t_fleet");
}

// The cluster form of docs/clickhouse.md: each shard's ReplacingMergeTree tables, and
// Distributed tables sharded by mac (events) and receive time (raw) in front of them, which
// the collectors insert into and the CLI reads.
TEST_CASE("Fleet through a Distributed table over two shards equals the local fleet") {
  TestClickHouse& ch = TestClickHouse::Get();
  for (const char* shard : {"shard1", "shard2"}) {
    REQUIRE(resyncwatch::CreateClickHouseSchema(ch.Options(shard)).ok());
  }
  const std::string statements[] = {"CREATE DATABASE t_dist",
                                    "CREATE TABLE t_dist.events AS shard1.events "
                                    "ENGINE = Distributed(two_shards, '', events, mac)",
                                    "CREATE TABLE t_dist.raw AS shard1.raw "
                                    "ENGINE = Distributed(two_shards, '', raw, received_us)"};
  const resyncwatch::clickhouse::Http http(ch.Options("default"));
  for (const std::string& sql : statements) REQUIRE(http.Execute(sql, "").ok());
  CheckFleetAgainstStore(ch, "t_dist");
  // Both shards hold part of the rows.
  CHECK(std::stol(ch.Scalar("SELECT count() FROM shard1.events")) > 0);
  CHECK(std::stol(ch.Scalar("SELECT count() FROM shard2.events")) > 0);
}
