// bench/clickhouse: the export to ClickHouse beside ingest, and fleet-wide reads from
// ClickHouse against the same reads from the local store, in one run (run.sh starts a
// private clickhouse-server and passes its URL).
//
//   clickhouse_bench --url http://127.0.0.1:PORT --dir DIR [--events N] [--rate R]
//                    [--phones P] [--handoff-bytes B]
//
// --handoff-bytes 0 turns the writer's handoff off: every record is read back from the
// store, as when the exporter drains a backlog.
//
// 1. Baseline: N events written to DIR/base at R events/s in batches of 512, as the
//    collector's writer does, no export: process CPU per event.
// 2. The same into DIR/store with the export journal and the exporter running: process
//    CPU per event (the difference is the export's cost in the collector), the largest
//    backlog seen, how long the backlog takes to drain after the last write, and the
//    export's throughput.
// 3. resyncwatch fleet --since 24h and history MAC, from DIR/store and from ClickHouse.
#include <dirent.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "clickhouse/clickhouse.h"
#include "common/time_format.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

using Steady = std::chrono::steady_clock;

struct Args {
  std::string url, dir;
  int64_t events = 2'000'000, rate = 100'000, phones = 100'000;
  int64_t handoff_bytes = -1;  // -1: the exporter's default; 0: every record from the store
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of this process's threads so far, by thread name ("rw-clickhouse" is the
// exporter, "rocksdb:..." RocksDB's flushes and compactions, the bench's own name the
// writer), from the scheduler's nanosecond counts. Threads that ended are not counted.
std::map<std::string, double> ThreadCpu() {
  std::map<std::string, double> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* d = readdir(dir)) {
    if (d->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + d->d_name;
    std::string name;
    double ns = 0;
    std::ifstream comm(task + "/comm"), sched(task + "/schedstat");
    if (std::getline(comm, name) && (sched >> ns)) out[name] += ns / 1e9;
  }
  closedir(dir);
  return out;
}

// Per thread name, CPU microseconds per event between two ThreadCpu readings.
std::string CpuByThread(const std::map<std::string, double>& before,
                        const std::map<std::string, double>& after, int64_t events) {
  std::string out;
  for (const auto& [name, sec] : after) {
    auto it = before.find(name);
    const double delta = sec - (it == before.end() ? 0 : it->second);
    if (delta < 0.0005 * events / 1e6) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.3f", out.empty() ? "" : ", ", name.c_str(),
                  delta * 1e6 / events);
    out += buf;
  }
  return out;
}

double Since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

// Event i of the run: phone i % phones, a request, success or failure, at a time spread
// over the 24 hours before end_us.
void FillEvent(int64_t i, const Args& a, int64_t end_us, Event* e) {
  static constexpr EventKind kKinds[] = {EventKind::kResyncRequest, EventKind::kResyncSuccess,
                                         EventKind::kResyncRequest, EventKind::kResyncFailure};
  *e = Event();
  e->event_time_us = end_us - 86'400'000'000 + i * (86'400'000'000 / a.events);
  e->received_us = e->event_time_us;
  e->kind = kKinds[(i / a.phones) % 4];
  e->format = SyslogFormat::kRfc3164;
  e->facility = 16;
  e->severity = 6;
  e->mac = 0x000e08000000 + i % a.phones;
  e->model = "CP-8851-3PCC";
  e->source = "10.1.2.3:5060";
  e->url = "http://10.23.45.67:80/cfg.xml";
  e->scheme = "http";
  e->server = "10.23.45.67";
  e->port = 80;
  e->path = "/cfg.xml";
  if (e->kind == EventKind::kResyncFailure) e->error = "http_get failed";
  e->message = "CP-8851-3PCC 00:0e:08:00:00:00 -- Requesting resync " + e->url;
}

// Writes every event at the pace of a.rate; returns the seconds it took.
double Ingest(Store& store, const Args& a, int64_t end_us) {
  const auto start = Steady::now();
  WriteBatch batch;
  batch.events.resize(512);
  for (int64_t i = 0; i < a.events; i += 512) {
    const int64_t n = std::min<int64_t>(512, a.events - i);
    batch.events.resize(n);
    for (int64_t j = 0; j < n; ++j) FillEvent(i + j, a, end_us, &batch.events[j]);
    if (!store.Write(batch).ok()) {
      std::fprintf(stderr, "store write failed\n");
      std::exit(2);
    }
    std::this_thread::sleep_until(start + std::chrono::microseconds((i + n) * 1'000'000 / a.rate));
  }
  return Since(start);
}

std::unique_ptr<Store> OpenStore(const std::string& dir, bool journal) {
  StoreOptions o;
  o.export_journal = journal;
  auto s = Store::Open(dir, o);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir.c_str(), s.status().message().c_str());
    std::exit(2);
  }
  return std::move(*s);
}

// Wall seconds of one resyncwatch command (best of three), output discarded.
double TimeCli(const std::vector<std::string>& args) {
  double best = 1e9;
  for (int run = 0; run < 3; ++run) {
    std::fflush(stdout);
    const auto start = Steady::now();
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      std::string cli = RESYNCWATCH_CLI;
      argv.push_back(cli.data());
      std::vector<std::string> copy = args;
      for (std::string& s : copy) argv.push_back(s.data());
      argv.push_back(nullptr);
      freopen("/dev/null", "w", stdout);
      execv(cli.c_str(), argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    best = std::min(best, Since(start));
  }
  return best;
}

int Run(const Args& a) {
  const int64_t end_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::printf("events %lld at %lld/s over %lld phones\n", (long long)a.events, (long long)a.rate,
              (long long)a.phones);
  double base_cpu = 0;
  {
    auto store = OpenStore(a.dir + "/base", false);
    const auto threads0 = ThreadCpu();
    const double cpu0 = CpuSeconds();
    const double took = Ingest(*store, a, end_us);
    base_cpu = CpuSeconds() - cpu0;
    std::printf("baseline (no export): %.2f s, %.0f events/s, process CPU %.3f us/event\n", took,
                a.events / took, base_cpu * 1e6 / a.events);
    std::printf("  by thread, us/event: %s\n",
                CpuByThread(threads0, ThreadCpu(), a.events).c_str());
  }
  auto store = OpenStore(a.dir + "/store", true);
  ExporterOptions eo;
  eo.clickhouse.url = a.url;
  eo.clickhouse.database = "bench";
  eo.collector_name = "bench";
  if (a.handoff_bytes >= 0) eo.handoff_max_bytes = static_cast<size_t>(a.handoff_bytes);
  auto exporter = ClickHouseExporter::Start(store.get(), eo);
  if (!exporter.ok()) return std::fprintf(stderr, "%s\n", exporter.status().message().c_str()), 2;
  std::atomic<bool> done{false};
  uint64_t max_backlog = 0;
  std::thread sampler([&] {
    while (!done) {
      max_backlog = std::max(max_backlog, (*exporter)->stats().backlog);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const auto threads0 = ThreadCpu();
  const double cpu0 = CpuSeconds();
  const auto start = Steady::now();
  const double took = Ingest(*store, a, end_us);
  const auto written = Steady::now();
  while ((*exporter)->stats().backlog > 0 ||
         (*exporter)->stats().exported_events < (uint64_t)a.events) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double drain = Since(written), total = Since(start);
  const double cpu = CpuSeconds() - cpu0;
  const auto threads1 = ThreadCpu();
  done = true;
  sampler.join();
  std::printf("with export: ingest %.2f s (%.0f events/s), process CPU %.3f us/event\n", took,
              a.events / took, cpu * 1e6 / a.events);
  std::printf("  by thread, us/event: %s\n", CpuByThread(threads0, threads1, a.events).c_str());
  std::printf("export CPU cost per event (with - baseline): %.3f us\n",
              (cpu - base_cpu) * 1e6 / a.events);
  const ExporterStats st = (*exporter)->stats();
  std::printf(
      "records sent from the writer's handoff %llu, read from the store %llu (the "
      "handoff did not keep %llu)\n",
      (unsigned long long)st.sent_from_handoff, (unsigned long long)st.sent_from_store,
      (unsigned long long)st.handoff_passed);
  std::printf(
      "export: %.0f events/s end to end, largest backlog %llu, drained %.2f s after the "
      "last write, %llu batches\n",
      a.events / total, (unsigned long long)max_backlog, drain,
      (unsigned long long)(*exporter)->stats().batches);
  exporter->reset();
  // As a collector that ran for a while has it: the device index written, tables compacted.
  if (!store->Compact().ok()) std::fprintf(stderr, "compaction failed\n");
  store.reset();

  const std::string now = FormatIso8601Utc(end_us);
  const std::string mac = "000e08000007";
  const std::vector<std::string> local = {"--db", a.dir + "/store"};
  const std::vector<std::string> remote = {"--clickhouse", a.url, "--clickhouse-database", "bench"};
  for (const auto& [what, args] :
       {std::pair<const char*, std::vector<std::string>>{
            "fleet --since 24h", {"fleet", "--since", "24h", "--now", now, "--json"}},
        {"history MAC", {"history", mac, "--json", "--direct"}}}) {
    std::vector<std::string> l = args, r = args;
    l.insert(l.end(), local.begin(), local.end());
    r.insert(r.end(), remote.begin(), remote.end());
    const double tl = TimeCli(l), tr = TimeCli(r);
    std::printf("%-18s local store %8.3f s   clickhouse %8.3f s   ratio %.1f\n", what, tl, tr,
                tr / tl);
  }
  return 0;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) {
  resyncwatch::Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--url")
      a.url = v;
    else if (k == "--dir")
      a.dir = v;
    else if (k == "--events")
      a.events = std::atoll(v.c_str());
    else if (k == "--rate")
      a.rate = std::atoll(v.c_str());
    else if (k == "--phones")
      a.phones = std::atoll(v.c_str());
    else if (k == "--handoff-bytes")
      a.handoff_bytes = std::atoll(v.c_str());
    else
      return std::fprintf(stderr, "unknown option %s\n", k.c_str()), 2;
  }
  if (a.url.empty() || a.dir.empty() || a.events <= 0 || a.rate <= 0 || a.phones <= 0) {
    std::fprintf(stderr,
                 "usage: clickhouse_bench --url URL --dir DIR [--events N] [--rate R] "
                 "[--phones P] [--handoff-bytes B]\n");
    return 2;
  }
  return resyncwatch::Run(a);
}
