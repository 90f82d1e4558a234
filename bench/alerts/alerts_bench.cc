// alerts_bench: CPU cost of AlertEngine::Observe per event (plus Tick once per simulated
// second) on synthetic fleet streams, compared with the collector's per-event ingest cost.
// Usage: alerts_bench [--events N] [--repeat R] [--ingest-us US] [--scenario NAME]
//   --ingest-us: the collector's measured CPU microseconds per stored event (bench/ingest);
//   default 2.5, the middle of the 2-3 us reference (rsyslog's 2.5-3 us per line here).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "alerts/alerts.h"
#include "bench/common/bench_flags.h"
#include "common/flags.h"

using namespace resyncwatch;

namespace {

constexpr FlagSpec kFlags[] = {
    {"events", FlagType::kInt, "2000000", "N", "events per scenario"},
    {"repeat", FlagType::kInt, "3", "R", "runs of each scenario (the best is shown)"},
    {"ingest-us", FlagType::kString, "2.5", "US",
     "the collector's CPU microseconds per stored event (bench/ingest), for the % column"},
    {"scenario", FlagType::kString, "", "NAME", "run only this scenario (healthy, outage, churn)"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

constexpr int64_t kSec = 1'000'000;

int64_t CpuNs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

struct Scenario {
  const char* name;
  const char* what;
  int phones;
  int servers;          // distinct provisioning servers (phone p uses server p % servers)
  int errors;           // distinct error texts
  double random_fails;  // share of outcomes failing at random
  bool server0_down;    // every phone of server 0 fails, always
  int64_t max_groups;   // per dimension (default 10000)
  int64_t rate;         // events per simulated second
};

// The collector hands the engine an event it has just parsed and stored, so the event is
// hot in cache: the stream is a small pool of events (distinct servers, models, errors)
// rewritten in place, plus a compact per-event record of phone, outcome and pool slot.
struct Step {
  uint32_t phone;
  uint16_t slot;
  bool fail;
};
constexpr size_t kPool = 1024;

struct Stream {
  std::vector<Event> pool;
  std::vector<Step> steps;
};

Stream MakeStream(const Scenario& s, size_t n, uint64_t seed) {
  static const char* kModels[] = {"CP-8851-3PCC", "CP-7841-3PCC", "CP-8845-3PCC", "CP-6821-3PCC",
                                  "CP-8865-3PCC", "SPA-2000",     "SPA525G2",     "CP-7821-3PCC"};
  std::mt19937_64 rng(seed);
  Stream out;
  out.pool.resize(kPool);
  for (size_t k = 0; k < kPool; ++k) {
    Event& e = out.pool[k];
    e.model = kModels[k % 8];
    e.server = "prov" + std::to_string(k % s.servers) + ".example.net";  // phone % kPool == k
    int err = static_cast<int>(k % s.errors);
    e.error = err == 0   ? "http_get failed"
              : err == 1 ? "corrupt file"
                         : "error " + std::to_string(err);
  }
  out.steps.resize(n);
  std::uniform_real_distribution<double> u(0, 1);
  for (Step& st : out.steps) {
    st.phone = static_cast<uint32_t>(rng() % s.phones);
    st.slot = static_cast<uint16_t>(st.phone % kPool);
    st.fail = (s.server0_down && st.slot % s.servers == 0) || u(rng) < s.random_fails;
  }
  return out;
}

struct RunResult {
  double ns_per_event = 0;
  int64_t fired = 0;
  int64_t active = 0;
  int64_t evicted = 0;
};

// One pass over the stream with a fresh engine: CPU time of Observe + Tick only.
RunResult RunOnce(const Scenario& s, Stream& stream) {
  AlertConfig config;
  config.sinks.clear();
  config.max_groups = s.max_groups;
  RunResult r;
  AlertEngine engine(config,
                     [&](const AlertChange& c) { r.fired += c.kind == AlertChange::Kind::kFired; });
  const int64_t t0 = 1'795'000'000LL * kSec;
  int64_t next_tick = t0;
  int64_t start = CpuNs();
  for (size_t i = 0; i < stream.steps.size(); ++i) {
    const Step& st = stream.steps[i];
    Event& e = stream.pool[st.slot];
    e.event_time_us = t0 + static_cast<int64_t>(i) * kSec / s.rate;
    e.mac = 0x000e08000000ULL + st.phone;
    e.kind = st.fail ? EventKind::kResyncFailure : EventKind::kResyncSuccess;
    if (e.event_time_us >= next_tick) {
      engine.Tick(e.event_time_us);
      next_tick += kSec;
    }
    engine.Observe(e);
  }
  r.ns_per_event = static_cast<double>(CpuNs() - start) / stream.steps.size();
  for (int k = 0; k < kAlertRuleCount; ++k)
    r.active += engine.ActiveCount(static_cast<AlertRule>(k));
  r.evicted = engine.evicted_groups();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  FlagSet flags(kFlags);
  if (auto exit = bench::ParseBenchFlags(
          flags, {"alerts_bench", "alerts_bench [options]", "CPU cost of AlertEngine per event."},
          argc, argv)) {
    return *exit;
  }
  const size_t events = static_cast<size_t>(flags.GetInt("events"));
  const std::string only = flags.GetString("scenario");
  const int repeat = static_cast<int>(std::max<int64_t>(1, flags.GetInt("repeat")));
  const double ingest_us = std::strtod(flags.GetString("ingest-us").c_str(), nullptr);
  const Scenario kScenarios[] = {
      {"healthy", "50k phones, 4 servers, 0.5% transient failures", 50'000, 4, 2, 0.005, false,
       10'000, 100'000},
      {"outage", "as healthy, but server 0 down: its quarter of the fleet fails", 50'000, 4, 2,
       0.005, true, 10'000, 100'000},
      {"churn", "1024 servers and error texts, 256 groups: eviction on most events", 200'000, 1024,
       1024, 0.5, false, 256, 100'000},
  };
  std::printf(
      "alerts_bench: %zu events per scenario, best of %d runs; collector reference %.2f us/event\n",
      events, repeat, ingest_us);
  for (const Scenario& s : kScenarios) std::printf("  %-8s %s\n", s.name, s.what);
  std::printf("%-8s %12s %10s %10s %10s %12s\n", "scenario", "ns/event", "% ingest", "fired",
              "active", "evicted");
  for (const Scenario& s : kScenarios) {
    if (!only.empty() && only != s.name) continue;
    Stream stream = MakeStream(s, events, 42);
    RunResult r;
    double best = 1e18;
    for (int rep = 0; rep < repeat; ++rep) {
      r = RunOnce(s, stream);
      best = std::min(best, r.ns_per_event);
    }
    std::printf("%-8s %12.1f %9.2f%% %10lld %10lld %12lld\n", s.name, best,
                100.0 * best / (ingest_us * 1000.0), static_cast<long long>(r.fired),
                static_cast<long long>(r.active), static_cast<long long>(r.evicted));
  }
  return 0;
}
