// schedule_bench: fills a store with a simulated fleet (resyncwatch-sim's archive lines,
// parsed and stored as `resyncwatch import` would), then times the fleet analysis of
// `resyncwatch schedule --fleet` over it, and the store work of `resyncwatch firmware` and
// `resyncwatch recovery` (with --cli, the commands themselves end to end). Prints figures;
// never a test.
//   schedule_bench --phones 100000 --hours 24 --db /tmp/sched-bench [--keep]
//   schedule_bench --db /tmp/sched-bench --keep --cli build/query/resyncwatch-full
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>

#include "bench/common/bench_flags.h"
#include "common/flags.h"
#include "common/time_format.h"
#include "parsers/parsers.h"
#include "query/firmware.h"
#include "query/recovery.h"
#include "schedule/schedule.h"
#include "store/store.h"
#include "tools/sim/sim.h"

namespace resyncwatch {
namespace {

constexpr FlagSpec kFlags[] = {
    {"phones", FlagType::kInt, "100000", "N", "simulated phones"},
    {"hours", FlagType::kInt, "24", "N", "simulated hours of events"},
    {"periodic", FlagType::kString, "3600", "SPEC", "fleet-wide Resync_Periodic"},
    {"db", FlagType::kString, "/tmp/resyncwatch-schedule-bench", "DIR", "store directory"},
    {"keep", FlagType::kBool, "", "", "reuse the store when it exists (skip the fill)"},
    {"runs", FlagType::kInt, "3", "N", "timed analysis runs"},
    {"threads", FlagType::kInt, "0", "N", "analysis threads (0 = one per core)"},
    {"cli", FlagType::kString, "", "PATH",
     "also time `firmware` and `recovery` of this resyncwatch binary end to end"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The store work of `resyncwatch firmware`: summaries, then the upgrade messages only.
void TimeFirmware(const Store& store) {
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  std::vector<PhoneFirmware> phones;
  Status s = CollectFirmware(store, TimeRange{}, "", &phones);
  if (!s.ok()) std::fprintf(stderr, "schedule_bench: %s\n", s.ToString().c_str());
  size_t known =
      std::count_if(phones.begin(), phones.end(), [](const PhoneFirmware& p) { return p.known(); });
  std::printf(
      "firmware (CollectFirmware, all time): %zu phones, %zu with a known firmware: "
      "%.2f s wall, %.2f s CPU\n",
      phones.size(), known, Seconds(t0), CpuSeconds() - c0);
}

// The store work of `resyncwatch recovery`: the fleet analysis, summaries and the latest
// failure message of each failing phone. Then the cost of one History lookup of such a
// message, which CollectRecovery weighs against scanning.
void TimeRecovery(const Store& store, const ScheduleConfigSet& configs, TimeRange range,
                  int64_t now_us, const AnalysisOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  RecoveryQuery q;
  q.configs = &configs;
  q.options = options;
  q.range = range;
  q.now_us = now_us;
  std::vector<FailingPhone> phones;
  Status s = CollectRecovery(store, q, &phones);
  if (!s.ok()) std::fprintf(stderr, "schedule_bench: %s\n", s.ToString().c_str());
  RetryBuckets b;
  for (const FailingPhone& p : phones) b.Add(p.next_due_us, now_us);
  std::printf(
      "recovery (CollectRecovery): %lld failing phones: %.2f s wall, %.2f s CPU "
      "(within 10m %lld, 1h %lld, 6h %lld, 24h %lld, never %lld)\n",
      static_cast<long long>(b.phones), Seconds(t0), CpuSeconds() - c0,
      static_cast<long long>(b.within[0]), static_cast<long long>(b.within[1]),
      static_cast<long long>(b.within[2]), static_cast<long long>(b.within[3]),
      static_cast<long long>(b.never));
  size_t n = std::min<size_t>(phones.size(), 2000);
  t0 = std::chrono::steady_clock::now();
  c0 = CpuSeconds();
  for (size_t i = 0; i < n; ++i) {
    const FailingPhone& p = phones[i * phones.size() / n];
    s = store.History(p.mac, {p.last_failure_us, p.last_failure_us + 1},
                      [](const Event&) { return true; });
  }
  std::printf("  %zu History lookups of one failure message: %.1f us wall, %.1f us CPU each\n", n,
              n ? Seconds(t0) * 1e6 / n : 0.0, n ? (CpuSeconds() - c0) * 1e6 / n : 0.0);
  TimeRange all{INT64_MIN, range.until_us};
  t0 = std::chrono::steady_clock::now();
  c0 = CpuSeconds();
  int64_t passed = 0;
  s = store.ScanKinds(all, 1u << static_cast<unsigned>(EventKind::kResyncFailure),
                      [&](const Event&) { return ++passed, true; });
  std::printf(
      "  ScanKinds of resync failures over all events: %lld visited, %.2f s wall, "
      "%.2f s CPU\n",
      static_cast<long long>(passed), Seconds(t0), CpuSeconds() - c0);
}

double ChildCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The command itself, output to /dev/null.
void TimeCommand(const std::string& command) {
  auto t0 = std::chrono::steady_clock::now();
  double c0 = ChildCpuSeconds();
  int rc = std::system((command + " > /dev/null").c_str());
  std::printf("%s: exit %d, %.2f s wall, %.2f s CPU\n", command.c_str(), WEXITSTATUS(rc),
              Seconds(t0), ChildCpuSeconds() - c0);
}

// Runs the simulator and stores its archive lines as parsed events, 20,000 per batch.
Status FillStore(Store& store, sim::Fleet& sim, const std::string& dir, int64_t hours) {
  auto t0 = std::chrono::steady_clock::now();
  sim.Run();
  auto templates = TemplateSet::Defaults().value();
  ParseContext ctx;
  ctx.reference_us = sim.end_us();
  WriteBatch batch;
  int64_t stored = 0;
  for (const sim::SimLine& e : sim.lines()) {
    std::string line = sim.ArchiveLine(e);
    ParsedMessage m = Parse(line, templates, ctx);
    batch.events.push_back(EventFromParsed(m, sim.end_us(), "file:bench.log", true));
    if (batch.events.size() == 20'000) {
      if (auto r = store.Write(batch); !r.ok()) return r.status();
      stored += static_cast<int64_t>(batch.events.size());
      batch.events.clear();
    }
  }
  if (auto r = store.Write(batch); !r.ok()) return r.status();
  stored += static_cast<int64_t>(batch.events.size());
  store.Compact();
  std::printf("filled %s: %d phones, %lld events over %lld h in %.1f s\n", dir.c_str(),
              sim.options().phones, static_cast<long long>(stored), static_cast<long long>(hours),
              Seconds(t0));
  return Status();
}

// What the analysis reads, timed without the analysis: every event, every device summary.
Status TimeBareReads(const Store& store, TimeRange range) {
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  int64_t events = 0;
  Status s = store.Scan(range, [&](const Event&) {
    ++events;
    return true;
  });
  if (!s.ok()) return s;
  std::printf("bare store scan of %lld events: %.2f s wall, %.2f s CPU\n",
              static_cast<long long>(events), Seconds(t0), CpuSeconds() - c0);
  t0 = std::chrono::steady_clock::now();
  c0 = CpuSeconds();
  int64_t devices = 0;
  s = store.ForEachDevice([&](const DeviceSummary&) {
    ++devices;
    return true;
  });
  if (!s.ok()) return s;
  std::printf("bare device summaries of %lld devices: %.2f s wall, %.2f s CPU\n",
              static_cast<long long>(devices), Seconds(t0), CpuSeconds() - c0);
  return Status();
}

// One timed fleet analysis, with the count of devices in each state.
Status TimeAnalysis(const Store& store, const ScheduleConfigSet& configs, TimeRange range,
                    int64_t now_us, const AnalysisOptions& options, int64_t run) {
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  int64_t devices = 0, gaps = 0;
  std::map<ScheduleState, int64_t> states;
  Status s = AnalyzeFleet(store, configs, range, now_us, options, [&](const FleetDevice& d) {
    ++devices;
    gaps += static_cast<int64_t>(d.analysis.gaps.size());
    ++states[d.analysis.state];
  });
  if (!s.ok()) return s;
  std::printf("run %lld: fleet analysis of %lld devices, %lld gaps: %.2f s wall, %.2f s CPU (",
              static_cast<long long>(run + 1), static_cast<long long>(devices),
              static_cast<long long>(gaps), Seconds(t0), CpuSeconds() - c0);
  for (auto [state, n] : states) {
    std::printf(" %s %lld", std::string(ToString(state)).c_str(), static_cast<long long>(n));
  }
  std::printf(" )\n");
  return Status();
}

// `firmware`, `recovery` and `schedule --fleet` of the resyncwatch binary `cli`, end to end.
void TimeCommands(const std::string& cli, const std::string& dir, const sim::Fleet& sim) {
  std::string now = FormatIso8601Utc(sim.end_us());
  std::string common =
      " --db " + dir + " --now " + now + " --since " + FormatIso8601Utc(sim.options().start_us);
  TimeCommand(cli + " firmware --json --db " + dir);
  TimeCommand(cli + " firmware --db " + dir);
  std::string config = dir + "-schedule.json";
  std::FILE* f = std::fopen(config.c_str(), "w");
  if (f) {
    std::fputs(sim.ConfigJson().c_str(), f);
    std::fclose(f);
  }
  TimeCommand(cli + " recovery --json --config " + config + common);
  TimeCommand(cli + " schedule --fleet --json --config " + config + common);
}

int Main(int argc, char** argv) {
  FlagSet flags(kFlags);
  if (auto exit = bench::ParseBenchFlags(
          flags,
          {"schedule_bench", "schedule_bench [options]", "Times the fleet schedule analysis."},
          argc, argv)) {
    return *exit;
  }
  sim::Options so;
  so.phones = static_cast<int>(flags.GetInt("phones"));
  so.start_us = *ParseIso8601("2026-11-22T00:00:00Z");
  so.duration_us = flags.GetInt("hours") * 3600 * kMicrosPerSecond;
  so.default_periodic = flags.GetString("periodic");
  sim::Fleet sim(so);
  std::string dir = flags.GetString("db");
  bool fill = !(flags.GetBool("keep") && std::filesystem::exists(dir));
  if (fill) std::filesystem::remove_all(dir);
  StoreOptions store_options;
  ManualClock clock(sim.end_us());
  store_options.clock = &clock;
  auto store = Store::Open(dir, store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "schedule_bench: %s\n", store.status().ToString().c_str());
    return 2;
  }
  if (fill && !FillStore(**store, sim, dir, flags.GetInt("hours")).ok()) return 2;
  auto configs = ScheduleConfigSet::Parse(sim.ConfigJson()).value();
  AnalysisOptions options;
  options.threads = static_cast<int>(flags.GetInt("threads"));
  TimeRange range{sim.options().start_us, sim.end_us()};
  if (!TimeBareReads(**store, range).ok()) return 2;
  for (int64_t run = 0; run < flags.GetInt("runs"); ++run) {
    if (Status s = TimeAnalysis(**store, configs, range, sim.end_us(), options, run); !s.ok()) {
      std::fprintf(stderr, "schedule_bench: %s\n", s.ToString().c_str());
      return 2;
    }
  }
  TimeFirmware(**store);
  TimeRecovery(**store, configs, range, sim.end_us(), options);
  if (std::string cli = flags.GetString("cli"); !cli.empty()) {
    (*store).reset();  // the commands open the store themselves
    TimeCommands(cli, dir, sim);
  }
  return 0;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) { return resyncwatch::Main(argc, argv); }
