// wall_bench: the fleet wall's API panels, answered in process as resyncwatchd answers them
// (web/api.h HandleApi against the open store), once from the per-minute fleet rollups
// (query/fleet_rollup.h) and once by the scan they replace. Fills a store with the
// benchmarks' fleet (bench/query/fill_fleet.h: default 10,000,000 events, 100,000 phones),
// builds the rollups as the daemon does at start, checks that both answers are the same
// bytes, then times each panel while a writer thread stores and observes new events (as
// the collector's writer does). Prints one line per panel: p50 and p99 of each side, and
// the schedule, recovery and firmware panels as the wall asks for them, from the per-minute
// precompute (web/wall_precompute.h; also the wall's compact /api/wall/schedule and
// /api/wall/recovery), after checking that they are the analysis' and the scan's bytes, and
// the precompute runs' durations.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/bench_flags.h"
#include "bench/query/fill_fleet.h"
#include "common/clock.h"
#include "common/flags.h"
#include "common/time_format.h"
#include "query/fleet_rollup.h"
#include "store/store.h"
#include "web/api.h"
#include "web/wall_precompute.h"

namespace resyncwatch {
namespace {

constexpr FlagSpec kFlags[] = {
    {"requests", FlagType::kInt, "100", "N", "requests per panel from the rollups"},
    {"scan-requests", FlagType::kInt, "10", "N", "requests per panel by the scan"},
    {"ingest-rate", FlagType::kInt, "2000", "N", "events/s stored meanwhile (0: none)"},
    {"rollups-only", FlagType::kBool, "", "",
     "time only the rollup panels (with their CPU time), no precompute and no scan timings"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

constexpr int64_t kSec = 1'000'000;

struct Panel {
  std::string path;
  std::string query;  // without now=
};

// The wall's requests (web/assets/app.js), and the schedule panel the rollups do not replace.
std::vector<Panel> Panels() {
  return {{"/api/fleet", "since=1h"},           {"/api/fleet", "since=2h&until=1h"},
          {"/api/fleet", "since=24h&top=10"},   {"/api/fleet", "since=48h&until=24h"},
          {"/api/fleet", "since=24h&by=hour"},  {"/api/fleet", "since=24h&by=server"},
          {"/api/fleet", "since=24h&by=model"}, {"/api/schedule/fleet", ""}};
}

ApiRequest Request(const Panel& p, const std::string& now) {
  ApiRequest r;
  r.path = p.path;
  std::string q = p.query.empty() ? "now=" + now : p.query + "&now=" + now;
  size_t start = 0;
  while (start < q.size()) {
    size_t amp = std::min(q.find('&', start), q.size());
    std::string kv = q.substr(start, amp - start);
    size_t eq = kv.find('=');
    r.params.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    start = amp + 1;
  }
  return r;
}

struct Timing {
  double p50_ms = 0;
  double p99_ms = 0;
  double cpu_p50_ms = 0;  // the requesting thread's CPU time
  double cpu_p99_ms = 0;
};

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double Percentile(std::vector<double>& ms, double q) {
  std::sort(ms.begin(), ms.end());
  return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
}

Timing Time(const ApiContext& context, const ApiRequest& request, int n) {
  std::vector<double> ms, cpu_ms;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = ThreadCpuMs();
    ApiReply reply = HandleApi(context, request);
    cpu_ms.push_back(ThreadCpuMs() - c0);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (reply.status != 200) std::fprintf(stderr, "%s: %d\n", request.path.c_str(), reply.status);
  }
  if (ms.empty()) return {};
  return {Percentile(ms, 0.5), Percentile(ms, 0.99), Percentile(cpu_ms, 0.5),
          Percentile(cpu_ms, 0.99)};
}

// The rollup panels alone, wall and CPU time, while the writer stores (--rollups-only).
void TimeRollupPanels(const ApiContext& rolled, const std::string& now, int n) {
  std::printf("%-40s %21s %21s\n", ("panel (now=" + now + ")").c_str(), "wall p50 / p99 ms",
              "CPU p50 / p99 ms");
  for (const Panel& p : Panels()) {
    if (p.path != "/api/fleet") continue;
    Timing t = Time(rolled, Request(p, now), n);
    std::printf("%-40s %10.2f / %8.2f %10.2f / %8.2f\n", (p.path + "?" + p.query).c_str(), t.p50_ms,
                t.p99_ms, t.cpu_p50_ms, t.cpu_p99_ms);
  }
}

// The newest event time in the store, and at least the fill's end. A store reused with
// --no-fill holds the events an earlier run's writer stored after the fill.
int64_t NewestEvent(const Store& store) {
  int64_t newest = bench::kFleetEnd;
  Status s = store.ForEachDevice([&](const DeviceSummary& d) {
    newest = std::max(newest, d.last_seen_us);
    return true;
  });
  if (!s.ok()) std::fprintf(stderr, "device summaries: %s\n", s.ToString().c_str());
  return newest;
}

// Stores `rate` events/s (a request and its success per phone, phones in turn, after the
// store's newest event, each from the phone's own server and model) and hands each batch to
// the rollups, until stop. Starting after the newest event keeps every phone's events in
// time order, as live ingest is: an event older than its phone's last one makes the rollup
// stale (the daemon then rebuilds it), and the rollup column would time the scan.
void Ingest(Store* store, FleetRollup* rollup, int64_t devices, int64_t rate,
            std::atomic<bool>* stop, std::atomic<int64_t>* stored) {
  const int64_t batch_size = std::max<int64_t>(2, rate / 10);
  int64_t t = NewestEvent(*store) + kSec;
  int64_t d = 0;
  auto next = std::chrono::steady_clock::now();
  while (!stop->load()) {
    WriteBatch batch;
    for (int64_t i = 0; i < batch_size; i += 2, ++d, t += 2 * kSec / rate * 1) {
      Event e;
      e.event_time_us = t;
      e.received_us = t;
      e.kind = EventKind::kResyncRequest;
      e.format = SyslogFormat::kRfc3164;
      e.mac = bench::FleetMac(d % devices);
      e.model = bench::FleetModel(d % devices);
      e.scheme = "http";
      e.server = bench::FleetServer(d % devices);
      e.path = "/cisco/x.xml";
      e.url = "http://" + e.server + "/cisco/x.xml";
      e.message = "Requesting resync " + e.url;
      batch.events.push_back(e);
      e.kind = EventKind::kResyncSuccess;
      e.event_time_us = e.received_us = t + 1000;
      e.message = "Successful resync " + e.url;
      batch.events.push_back(std::move(e));
    }
    if (!store->Write(batch).ok()) return;
    rollup->Observe(batch.events);
    stored->fetch_add(static_cast<int64_t>(batch.events.size()));
    next += std::chrono::milliseconds(100);
    std::this_thread::sleep_until(next);
  }
}

// Times each wall panel from the rollups and by the scan, and the firmware and recovery panels
// by the scan (recovery as of the precompute's ready minute, `ready`).
void TimePanels(const ApiContext& rolled, const ApiContext& scan, const std::string& now,
                const std::string& ready, int n, int scan_n) {
  std::printf("%-40s %21s %21s\n", ("panel (now=" + now + ")").c_str(), "rollup p50 / p99 ms",
              "scan p50 / p99 ms");
  for (const Panel& p : Panels()) {
    ApiRequest r = Request(p, now);
    Timing a = Time(rolled, r, p.path == "/api/fleet" ? n : scan_n);
    Timing b = Time(scan, r, scan_n);
    std::string name = p.path + (p.query.empty() ? "" : "?" + p.query);
    std::printf("%-40s %10.2f / %8.2f %10.1f / %8.1f\n", name.c_str(), a.p50_ms, a.p99_ms, b.p50_ms,
                b.p99_ms);
  }
  Timing fw = Time(scan, {"/api/firmware", {}}, scan_n);
  std::printf("%-40s %10s   %10.1f / %8.1f\n", "/api/firmware", "-", fw.p50_ms, fw.p99_ms);
  Timing rec = Time(scan, {"/api/recovery", {{"now", ready}}}, scan_n);
  std::printf("%-40s %10s   %10.1f / %8.1f\n", "/api/recovery", "-", rec.p50_ms, rec.p99_ms);
}

// Whether the rollups answer every wall panel byte for byte as the scan does.
bool RollupsEqualScan(const ApiContext& scan, const ApiContext& rolled, const std::string& now) {
  bool all_same = true;
  for (const Panel& p : Panels()) {
    ApiRequest r = Request(p, now);
    const bool same = HandleApi(scan, r).body == HandleApi(rolled, r).body;
    all_same &= same;
    if (!same) std::printf("DIFFERENT: %s?%s\n", p.path.c_str(), p.query.c_str());
  }
  std::printf("rollup answers equal the scan's, byte for byte: %s\n", all_same ? "yes" : "NO");
  return all_same;
}

// Whether the precomputed answer to `request` is the one made afresh by the scan; *bytes is its
// size.
bool PrecomputedEqualsScan(const ApiContext& precomputed, const ApiContext& scan,
                           const ApiRequest& request, size_t* bytes) {
  const ApiReply served = HandleApi(precomputed, request);
  *bytes = served.body.size();
  return served.precomputed && served.body == HandleApi(scan, request).body;
}

// The wall precompute, run once for the fill's last minute as the daemon's thread runs it
// (2 s after the minute), checked against the same panels made afresh. Returns whether all
// agree; the run's seconds go to *run_s.
bool CheckPrecompute(WallPrecompute& precompute, const ApiContext& precomputed,
                     const ApiContext& scan, std::vector<double>* run_s) {
  auto p0 = std::chrono::steady_clock::now();
  precompute.RefreshIfDue();
  run_s->push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count());
  const std::string ready = precompute.ReadyNow();
  size_t schedule_bytes = 0, firmware_bytes = 0, recovery_bytes = 0;
  const bool schedule_same = PrecomputedEqualsScan(
      precomputed, scan, {"/api/schedule/fleet", {{"now", ready}}}, &schedule_bytes);
  const bool firmware_same =
      PrecomputedEqualsScan(precomputed, scan, {"/api/firmware", {}}, &firmware_bytes);
  const bool recovery_same = PrecomputedEqualsScan(
      precomputed, scan, {"/api/recovery", {{"now", ready}}}, &recovery_bytes);
  bool all_same = schedule_same && firmware_same && recovery_same;
  // The wall's compact forms, served from the run, against the same made afresh.
  size_t compact_bytes[2] = {0, 0};
  const char* kCompact[2] = {"/api/wall/schedule", "/api/wall/recovery"};
  for (int i = 0; i < 2; ++i) {
    const bool same = PrecomputedEqualsScan(precomputed, scan, {kCompact[i], {{"now", ready}}},
                                            &compact_bytes[i]);
    all_same &= same;
    if (!same) std::printf("DIFFERENT: %s\n", kCompact[i]);
  }
  std::printf(
      "wall precompute: one run %.2f s; schedule %zu bytes, equal to the analysis: %s; "
      "recovery %zu bytes, equal to the analysis: %s; firmware %zu bytes, equal to the scan: "
      "%s; the wall's compact schedule %zu bytes, recovery %zu bytes\n",
      (*run_s)[0], schedule_bytes, schedule_same ? "yes" : "NO", recovery_bytes,
      recovery_same ? "yes" : "NO", firmware_bytes, firmware_same ? "yes" : "NO", compact_bytes[0],
      compact_bytes[1]);
  return all_same;
}

// Two more precompute runs, the next minutes, while the writer stores; then the precomputed
// panels timed.
void TimePrecomputed(WallPrecompute& precompute, ManualClock& clock, const ApiContext& precomputed,
                     int n, std::vector<double>* run_s) {
  for (int i = 0; i < 2; ++i) {
    clock.Advance(60 * kSec);
    auto r0 = std::chrono::steady_clock::now();
    precompute.RefreshIfDue();
    run_s->push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count());
  }
  const ApiRequest schedule_request{"/api/schedule/fleet", {{"now", precompute.ReadyNow()}}};
  Timing pre = Time(precomputed, schedule_request, n);
  std::printf("%-40s %10.2f / %8.2f   (precomputed, now=%s)\n", "/api/schedule/fleet", pre.p50_ms,
              pre.p99_ms, precompute.ReadyNow().c_str());
  for (const char* path : {"/api/recovery", "/api/wall/schedule", "/api/wall/recovery"}) {
    Timing t = Time(precomputed, {path, {{"now", precompute.ReadyNow()}}}, n);
    std::printf("%-40s %10.2f / %8.2f   (precomputed)\n", path, t.p50_ms, t.p99_ms);
  }
  Timing pre_fw = Time(precomputed, {"/api/firmware", {}}, n);
  std::printf("%-40s %10.2f / %8.2f   (precomputed, as of %s)\n", "/api/firmware", pre_fw.p50_ms,
              pre_fw.p99_ms, precompute.FirmwareAsOf().c_str());
  std::printf(
      "precompute runs (firmware + schedule + recovery; the first before the writer): %.2f, "
      "%.2f, "
      "%.2f s\n",
      (*run_s)[0], (*run_s)[1], (*run_s)[2]);
}

// The rollup panels while the writer stores; false when the rollup went stale meanwhile.
bool TimeRollupsAlone(const FlagSet& flags, Store* store, FleetRollup* rollup,
                      const std::string& now) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> stored{0};
  const int64_t rate = flags.GetInt("ingest-rate");
  std::thread writer;
  if (rate > 0) {
    writer = std::thread(Ingest, store, rollup, flags.GetInt("devices"), rate, &stop, &stored);
  }
  TimeRollupPanels({store, "", rollup}, now, static_cast<int>(flags.GetInt("requests")));
  stop = true;
  if (writer.joinable()) writer.join();
  std::printf("stored meanwhile: %lld events; rollup %s; out of order %llu\n",
              static_cast<long long>(stored.load()), rollup->Ready() ? "ready" : "NOT ready",
              static_cast<unsigned long long>(rollup->out_of_order()));
  return rollup->Ready();
}

int Run(const FlagSet& flags) {
  const std::string db = flags.GetString("db");
  const int64_t devices = flags.GetInt("devices");
  bench::FillFleetUnlessReused(flags);
  Result<std::unique_ptr<Store>> opened = Store::Open(db, StoreOptions());
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 2;
  }
  Store& store = **opened;
  // The wall asks on whole minutes; the clock stands at the fill's end.
  ManualClock clock(bench::kFleetEnd);
  const std::string now = FormatIso8601Utc(bench::kFleetEnd);
  FleetRollup::Options options;
  options.clock = &clock;
  FleetRollup rollup(options);
  auto b0 = std::chrono::steady_clock::now();
  if (Status s = rollup.Rebuild(store); !s.ok()) {
    std::fprintf(stderr, "rebuild: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("rollup build (scan of 49 h at start): %.2f s, about %.0f MiB\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count(),
              static_cast<double>(rollup.ApproxBytes()) / (1 << 20));
  ApiContext scan{&store, "", nullptr};
  ApiContext rolled{&store, "", &rollup};
  bool all_same = RollupsEqualScan(scan, rolled, now);
  if (flags.GetBool("rollups-only"))
    return TimeRollupsAlone(flags, &store, &rollup, now) && all_same ? 0 : 1;
  ManualClock schedule_clock(bench::kFleetEnd + 30 * kSec);
  WallPrecompute::Options precompute_options;
  precompute_options.clock = &schedule_clock;
  WallPrecompute precompute(scan, precompute_options);
  ApiContext precomputed{&store, "", &rollup, &precompute};
  std::vector<double> run_s;
  all_same &= CheckPrecompute(precompute, precomputed, scan, &run_s);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> stored{0};
  const int64_t rate = flags.GetInt("ingest-rate");
  std::thread writer;
  if (rate > 0) writer = std::thread(Ingest, &store, &rollup, devices, rate, &stop, &stored);
  const int n = static_cast<int>(flags.GetInt("requests"));
  auto t0 = std::chrono::steady_clock::now();
  TimePanels(rolled, scan, now, precompute.ReadyNow(), n,
             static_cast<int>(flags.GetInt("scan-requests")));
  TimePrecomputed(precompute, schedule_clock, precomputed, n, &run_s);
  stop = true;
  if (writer.joinable()) writer.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("stored meanwhile: %lld events (%.0f/s); rollup %s; out of order %llu\n",
              (long long)stored.load(), stored.load() / secs,
              rollup.Ready() ? "ready" : "NOT ready", (unsigned long long)rollup.out_of_order());
  if (!rollup.Ready()) {
    std::fprintf(stderr,
                 "wall_bench: the rollup went stale during the run, so its column timed the "
                 "scan: these figures are not the rollup's\n");
    return 1;
  }
  return all_same ? 0 : 1;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) {
  using namespace resyncwatch;
  const std::vector<FlagSpec> specs = bench::JoinFlags({bench::kFleetFlags, kFlags});
  FlagSet flags(specs);
  if (auto exit =
          bench::ParseBenchFlags(flags,
                                 {"wall_bench",
                                  "wall_bench --db DIR [options]",
                                  "Times the wall's API panels from the fleet rollups and by the "
                                  "scan, on a filled store.",
                                  {"db"}},
                                 argc, argv)) {
    return *exit;
  }
  return Run(flags);
}
