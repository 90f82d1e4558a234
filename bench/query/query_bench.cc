// query_bench: fills a store with a fleet's resync traffic (default 10,000,000 events over
// 100,000 devices, hourly resyncs, ~5% failures) and measures the wall time of whole
// `resyncwatch` runs, process start included: history p50/p99, fleet --since 1h and 24h,
// grep over 24 h in lines per second. With --collector, history again while resyncwatchd
// serves the store (answered over its query socket). Prints one line per figure.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/bench_flags.h"
#include "bench/query/fill_fleet.h"
#include "common/flags.h"
#include "common/time_format.h"
#include "parsers/parsers.h"
#include "query_socket/query_socket.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

constexpr FlagSpec kFlags[] = {
    {"history-runs", FlagType::kInt, "300", "N", "history runs for the percentiles"},
    {"runs", FlagType::kInt, "5", "N", "runs of each fleet and grep command"},
    {"cli", FlagType::kString, RESYNCWATCH_CLI, "PATH", "the resyncwatch binary"},
    {"collector", FlagType::kString, "", "PATH",
     "resyncwatchd: time history again while it serves the store (query socket)"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

// CPU seconds (user + system) of the last RunTimed child.
double g_child_cpu = 0;

// Runs the CLI with stdout and stderr to /dev/null; returns wall seconds and exit code.
double RunTimed(const std::string& cli, const std::vector<std::string>& args, int* code) {
  std::vector<std::string> argv_s = {cli};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid;
  if (posix_spawn(&pid, cli.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot run %s\n", cli.c_str());
    std::exit(2);
  }
  int status = 0;
  struct rusage usage;
  wait4(pid, &status, 0, &usage);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  g_child_cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  posix_spawn_file_actions_destroy(&actions);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return s;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

void Measure(const std::string& label, const std::string& cli, std::vector<std::string> args,
             int runs, int64_t lines) {
  std::vector<double> t, cpu;
  int code = 0;
  for (int i = 0; i < runs; ++i) {
    t.push_back(RunTimed(cli, args, &code));
    cpu.push_back(g_child_cpu);
  }
  std::string cmd = "resyncwatch";
  for (const auto& a : args) cmd += " " + a;
  std::printf("%-22s wall median %8.1f ms  max %8.1f ms  cpu median %8.1f ms  exit %d",
              label.c_str(), Percentile(t, 0.5) * 1e3, *std::max_element(t.begin(), t.end()) * 1e3,
              Percentile(cpu, 0.5) * 1e3, code);
  if (lines > 0) {
    std::printf("  %.2f M lines/s wall, %.2f M lines per CPU second",
                lines / Percentile(t, 0.5) / 1e6, lines / Percentile(cpu, 0.5) / 1e6);
  }
  std::printf("   [%s]\n", cmd.c_str());
}

// History of random devices (the same ones for the same seed): p50/p99 of whole runs.
void MeasureHistory(const std::string& label, const std::string& cli, const std::string& db,
                    int runs, int64_t devices) {
  std::mt19937_64 rng(7);
  std::vector<double> t, cpu;
  int code = 0;
  for (int i = 0; i < runs; ++i) {
    std::string mac = FormatMac(0x000e08000000ULL + rng() % devices);
    t.push_back(RunTimed(cli, {"history", mac, "--db", db}, &code));
    cpu.push_back(g_child_cpu);
  }
  std::printf(
      "%-22s wall p50 %6.2f ms  p99 %6.2f ms  cpu p50 %6.2f ms  p99 %6.2f ms  exit %d"
      "   [resyncwatch history <MAC> --db %s, %d random devices]\n",
      label.c_str(), Percentile(t, 0.5) * 1e3, Percentile(t, 0.99) * 1e3,
      Percentile(cpu, 0.5) * 1e3, Percentile(cpu, 0.99) * 1e3, code, db.c_str(), runs);
}

// Runs resyncwatchd on db until its query socket answers, times history through it, stops
// it with SIGTERM and prints how many requests its socket served.
int MeasureHistoryWithCollector(const std::string& collector, const std::string& cli,
                                const std::string& db, int runs, int64_t devices) {
  const std::string log = db + ".query_bench_collector.log";
  std::vector<std::string> argv_s = {collector, "--db", db, "--listen", "udp://127.0.0.1:0"};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  int spawned = posix_spawn(&pid, collector.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    std::fprintf(stderr, "cannot run %s\n", collector.c_str());
    return 2;
  }
  // Opening a large store read-write takes a while; the socket answers once it is open.
  bool answering = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!answering && std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) break;
    auto client = QueryClient::ConnectToWriter(db);
    if (client.ok()) {
      auto probe = (*client)->GetDevice(0x000e08000000ULL);
      answering = probe.ok() || probe.status().IsNotFound();
    }
    if (!answering) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (answering) MeasureHistory("history (collector)", cli, db, runs, devices);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  size_t at = all.rfind("query socket served ");
  std::printf("collector: %s, exit %d, %s\n", answering ? "answered" : "never answered",
              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
              at == std::string::npos ? "served count not logged"
                                      : all.substr(at, all.find('\n', at) - at).c_str());
  if (!answering) std::fputs(all.c_str(), stderr);
  std::remove(log.c_str());
  return answering ? 0 : 1;
}

// Reads every file of the store once; returns the bytes read.
uint64_t WarmPageCache(const std::string& db) {
  uint64_t total = 0;
  std::vector<char> buf(1 << 20);
  for (const auto& entry : std::filesystem::directory_iterator(db)) {
    if (!entry.is_regular_file()) continue;
    std::FILE* f = std::fopen(entry.path().c_str(), "rb");
    if (f == nullptr) continue;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) total += n;
    std::fclose(f);
  }
  return total;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) {
  using namespace resyncwatch;
  const std::vector<FlagSpec> specs = bench::JoinFlags({bench::kFleetFlags, kFlags});
  FlagSet flags(specs);
  if (auto exit = bench::ParseBenchFlags(flags,
                                         {"query_bench",
                                          "query_bench --db DIR [options]",
                                          "Fills a store and times whole resyncwatch commands.",
                                          {"db"}},
                                         argc, argv)) {
    return *exit;
  }
  std::string db = flags.GetString("db");
  int64_t events = flags.GetInt("events");
  int64_t devices = flags.GetInt("devices");
  std::string cli = flags.GetString("cli");
  bench::FillFleetUnlessReused(flags);
  // A live store's files sit in the page cache; a store left on disk since the last run may
  // not, and reading it back from the disk would time the disk, not the commands.
  std::printf("page cache: %.1f MiB of store files read once before timing\n",
              static_cast<double>(WarmPageCache(db)) / (1 << 20));
  std::string now = FormatIso8601Utc(bench::kFleetEnd);
  int64_t cycles = std::max<int64_t>(1, events / 2 / devices);
  int64_t per_hour = 2 * devices;
  int64_t lines_24h = std::min<int64_t>(24, cycles) * per_hour;

  int runs = static_cast<int>(flags.GetInt("history-runs"));
  MeasureHistory("history", cli, db, runs, devices);
  int n = static_cast<int>(flags.GetInt("runs"));
  Measure("fleet --since 1h", cli, {"fleet", "--since", "1h", "--now", now, "--db", db}, n, 0);
  Measure("fleet --since 24h", cli, {"fleet", "--since", "24h", "--now", now, "--db", db}, n, 0);
  Measure("grep 24h (no match)", cli,
          {"grep", "no such text", "--since", "24h", "--now", now, "--db", db}, n, lines_24h);
  Measure(
      "grep 24h (regex)", cli,
      {"grep", "Resync failed: (tftp|http)", "--since", "24h", "--now", now, "--count", "--db", db},
      n, lines_24h);
  std::printf("events in the last 24 h: %lld\n", (long long)lines_24h);
  // Last, so that the collector's open store costs the figures above nothing.
  if (flags.IsSet("collector")) {
    return MeasureHistoryWithCollector(flags.GetString("collector"), cli, db, runs, devices);
  }
  return 0;
}
