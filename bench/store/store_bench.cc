// store_bench: writes a realistic fleet's events into a fresh store and prints events/s
// written, bytes per event on disk (against the same messages as an rsyslog text file and
// its gzip), one device's history latency (p50/p99) and a 1-hour fleet window scan.
// Usage: store_bench [--events 10000000] [--devices 100000] [--dir DIR] [--keep]
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/common/bench_flags.h"
#include "common/flags.h"
#include "common/time_format.h"
#include "store/store.h"

using namespace resyncwatch;

namespace {

constexpr FlagSpec kFlags[] = {
    {"events", FlagType::kInt, "10000000", "N", "events to write"},
    {"devices", FlagType::kInt, "100000", "N", "distinct phones"},
    {"batch", FlagType::kInt, "512", "N",
     "events per Store::Write (the collector's default batch)"},
    {"hours", FlagType::kInt, "24", "H", "time span the events cover"},
    {"dir", FlagType::kString, "", "DIR", "store directory (default: a temp dir, removed)"},
    {"keep", FlagType::kBool, "", "", "keep the store directory"},
    {"index-flush-interval", FlagType::kDuration, "2s", "DUR",
     "index/summary chunk interval (0 = every batch: one device key per event)"},
    {"history-queries", FlagType::kInt, "2000", "N", "history queries to time"},
    {"help", FlagType::kBool, "", "", "print this help"},
};

struct Phone {
  MacAddress mac;
  std::string model, mac_colon, mac_plain, source, path, sn;
  int ident_form;  // 0 none, 1 $MA, 2 $MAC
};

const char* const kModels[] = {"CP-8851-3PCC", "CP-7841-3PCC", "CP-6841-3PCC", "CP-8845-3PCC",
                               "CP-8832-3PCC", "ATA192-3PCC",  "SPA112",       "SPA504G"};
const char* const kErrors[] = {"http_get failed", "corrupt file", "http_get failed",
                               "tftp timeout"};

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    const auto name = f.path().filename().string();
    if (f.is_regular_file() && !name.starts_with("LOG")) total += f.file_size();
  }
  return total;
}

std::vector<Phone> MakeFleet(int n, std::mt19937_64& rng) {
  std::vector<Phone> fleet(n);
  for (int i = 0; i < n; ++i) {
    Phone& p = fleet[i];
    p.mac = 0x000e08000000ULL + static_cast<uint64_t>(i) * 7919 % 0xffffff;
    char buf[32];
    snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(p.mac));
    p.mac_plain = buf;
    for (int b = 0; b < 6; ++b) {
      p.mac_colon += p.mac_plain.substr(2 * b, 2);
      if (b < 5) p.mac_colon += ':';
    }
    p.model = kModels[rng() % 8];
    snprintf(buf, sizeof buf, "10.%d.%d.%d:5060", 20 + i / 65536, (i / 256) % 256, i % 256);
    p.source = buf;
    p.path = rng() % 3 == 0 ? "/cisco/" + p.mac_plain + ".cfg" : "/" + p.model + ".xml";
    // Unique per phone, as real serial numbers are: a serial shared by two phones would
    // move the store's serial -> MAC entry back and forth on every event of either.
    snprintf(buf, sizeof buf, "FCH%04d%c%03d", 2000 + i / 26000, 'A' + (i / 1000) % 26, i % 1000);
    p.sn = rng() % 4 == 0 ? buf : "";
    p.ident_form = static_cast<int>(rng() % 3);
  }
  return fleet;
}

Event MakeEvent(const Phone& p, int64_t t, std::mt19937_64& rng) {
  Event e;
  e.event_time_us = t;
  e.received_us = t;
  e.message_time_us = t / 1'000'000 * 1'000'000;
  e.format = SyslogFormat::kRfc3164;
  e.facility = 16;
  e.mac = p.mac;
  e.model = p.model;
  e.sn = p.sn;
  e.source = p.source;
  e.timestamp_text = FormatIso8601Utc(*e.message_time_us);  // replaced below
  {
    CivilTime c = CivilFromMicros(*e.message_time_us);
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[32];
    snprintf(buf, sizeof buf, "%s %2d %02d:%02d:%02d", kMonths[c.month - 1], c.day, c.hour,
             c.minute, c.second);
    e.timestamp_text = buf;
  }
  if (p.ident_form == 1) e.identifier = p.mac_plain;
  if (p.ident_form == 2) e.identifier = p.mac_colon;
  const std::string head = p.model + " " + p.mac_colon + " -- ";
  unsigned r = rng() % 100;
  if (r < 15) {
    e.kind = EventKind::kDebug;
    e.severity = 7;
    e.message = head + "SIP REGISTER 200 OK from 10.23.45.10:5060 cseq " +
                std::to_string(rng() % 9000 + 1000);
    return e;
  }
  if (r < 25) {
    e.kind = EventKind::kResyncFailure;
    e.severity = 3;
    e.error = kErrors[rng() % 4];
    e.message = head + "Resync failed: " + e.error;
    return e;
  }
  e.kind = r < 60 ? EventKind::kResyncRequest : EventKind::kResyncSuccess;
  e.severity = 6;
  e.scheme = "http";
  e.server = "10.23.45.67";
  e.port = 80;
  e.path = p.path;
  e.url = "http://10.23.45.67:80" + p.path;
  e.message = head + (r < 60 ? "Requesting resync " : "Successful resync ") + e.url;
  return e;
}

// The line rsyslog's default file template writes for this event.
std::string RsyslogLine(const Event& e, const Phone& p) {
  std::string host = p.source.substr(0, p.source.find(':'));
  std::string line = e.timestamp_text + " " + host + " ";
  if (!e.identifier.empty()) line += e.identifier + " ";
  return line + e.message + "\n";
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

// What writing the fleet measured.
struct WriteFigures {
  double wall = 0, cpu = 0;   // in Store::Write: wall time, the writing thread's CPU
  double background_cpu = 0;  // RocksDB's own threads (flush, compaction)
  double flush_s = 0, compact_s = 0;
  uint64_t text_bytes = 0, gz_bytes = 0, bytes_flushed = 0, bytes_compacted = 0;
};

struct ReadFigures {
  std::vector<double> lat_ms, cpu_ms;  // one per history query
  size_t history_events = 0;
  size_t window_events = 0;
  double scan_ms = 0;
};

struct BenchSetup {
  int64_t n_events = 0;
  int n_devices = 0;
  int64_t batch_size = 0;
  int64_t step = 0;                    // microseconds between events
  int64_t t0 = 1'795'680'000'000'000;  // 2026-11-25T00:00:00Z
  std::string dir, text_path;
};

double MillisSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// Writes the events in batches, and the same messages as rsyslog's text file and its gzip.
Status WriteFleet(Store& store, const BenchSetup& b, const std::vector<Phone>& fleet,
                  std::mt19937_64& rng, WriteFigures& w) {
  std::FILE* text = std::fopen(b.text_path.c_str(), "w");
  gzFile gz = gzopen((b.text_path + ".gz").c_str(), "wb6");
  std::string text_buf;
  for (int64_t done = 0; done < b.n_events;) {
    WriteBatch batch;
    text_buf.clear();
    for (int64_t i = 0; i < b.batch_size && done < b.n_events; ++i, ++done) {
      const Phone& p = fleet[rng() % fleet.size()];
      batch.events.push_back(MakeEvent(p, b.t0 + done * b.step, rng));
      text_buf += RsyslogLine(batch.events.back(), p);
    }
    batch.counter_deltas["received_datagrams"] = static_cast<int64_t>(batch.events.size());
    std::fwrite(text_buf.data(), 1, text_buf.size(), text);
    gzwrite(gz, text_buf.data(), static_cast<unsigned>(text_buf.size()));
    w.text_bytes += text_buf.size();
    auto w0 = std::chrono::steady_clock::now();
    double c0 = ThreadCpuSeconds();
    auto r = store.Write(batch);
    w.cpu += ThreadCpuSeconds() - c0;
    w.wall += MillisSince(w0) / 1e3;
    if (!r.ok()) return r.status();
  }
  std::fclose(text);
  gzclose(gz);
  return Status();
}

// Fills the fresh store, then flushes and compacts it, measuring each step.
Status Fill(std::unique_ptr<Store> store, const BenchSetup& b, const std::vector<Phone>& fleet,
            std::mt19937_64& rng, WriteFigures& w) {
  const double process_cpu0 = CpuSeconds(), thread_cpu0 = ThreadCpuSeconds();
  if (Status s = WriteFleet(*store, b, fleet, rng, w); !s.ok()) return s;
  auto f0 = std::chrono::steady_clock::now();
  (void)store->Flush();
  w.flush_s = MillisSince(f0) / 1e3;
  w.background_cpu = (CpuSeconds() - process_cpu0) - (ThreadCpuSeconds() - thread_cpu0);
  w.bytes_flushed = DirBytes(b.dir);
  auto k0 = std::chrono::steady_clock::now();
  (void)store->Compact();
  w.compact_s = MillisSince(k0) / 1e3;
  w.bytes_compacted = DirBytes(b.dir);
  w.gz_bytes = std::filesystem::file_size(b.text_path + ".gz");
  return Status();
}

// Reads as the CLI does them: a secondary instance opened on the finished store.
Status Read(const BenchSetup& b, const std::vector<Phone>& fleet, std::mt19937_64& rng,
            int64_t queries, ReadFigures& r) {
  StoreOptions ro;
  ro.mode = StoreOptions::Mode::kReadOnlySecondary;
  auto reader = Store::Open(b.dir, ro);
  if (!reader.ok()) return reader.status();
  for (int64_t q = 0; q < queries; ++q) {
    const Phone& p = fleet[rng() % fleet.size()];
    auto q0 = std::chrono::steady_clock::now();
    const double qc0 = ThreadCpuSeconds();
    (*reader)->History(p.mac, {}, [&](const Event&) {
      ++r.history_events;
      return true;
    });
    r.lat_ms.push_back(MillisSince(q0));
    r.cpu_ms.push_back((ThreadCpuSeconds() - qc0) * 1e3);
  }
  const int64_t end = b.t0 + b.n_events * b.step;
  auto s0 = std::chrono::steady_clock::now();
  (*reader)->Scan({end - 3600 * kMicrosPerSecond, end}, [&](const Event&) {
    ++r.window_events;
    return true;
  });
  r.scan_ms = MillisSince(s0);
  return Status();
}

void Print(const BenchSetup& b, const WriteFigures& w, ReadFigures& r, int64_t queries) {
  const int64_t n = b.n_events;
  std::printf("events written        %lld over %d devices, batches of %lld\n",
              static_cast<long long>(n), b.n_devices, static_cast<long long>(b.batch_size));
  std::printf(
      "write                 %.0f events/s (wall in Write), %.0f events/s (CPU of the "
      "writing thread: %.2f us/event)\n",
      n / w.wall, n / w.cpu, w.cpu * 1e6 / n);
  std::printf(
      "background            %.2f us CPU/event (RocksDB flush + compaction threads), final "
      "flush %.2f s\n",
      w.background_cpu * 1e6 / n, w.flush_s);
  std::printf("disk after flush      %.1f bytes/event (%llu bytes)\n", double(w.bytes_flushed) / n,
              static_cast<unsigned long long>(w.bytes_flushed));
  std::printf("disk after compaction %.1f bytes/event (compaction %.1f s)\n",
              double(w.bytes_compacted) / n, w.compact_s);
  std::printf("rsyslog text file     %.1f bytes/event, gzip -6 of it %.1f bytes/event\n",
              double(w.text_bytes) / n, double(w.gz_bytes) / n);
  std::printf("history of one device p50 %.3f ms, p99 %.3f ms (%lld queries, %.1f events each)\n",
              Percentile(r.lat_ms, 0.5), Percentile(r.lat_ms, 0.99),
              static_cast<long long>(queries),
              double(r.history_events) / std::max<int64_t>(1, queries));
  std::printf("  same, CPU time only p50 %.3f ms, p99 %.3f ms (wall minus waiting for a core)\n",
              Percentile(r.cpu_ms, 0.5), Percentile(r.cpu_ms, 0.99));
  std::printf("1-hour fleet window   %zu events scanned and decoded in %.1f ms\n", r.window_events,
              r.scan_ms);
}

}  // namespace

int main(int argc, char** argv) {
  FlagSet flags(kFlags);
  if (auto exit = bench::ParseBenchFlags(
          flags, {"store_bench", "store_bench [options]", "Store write/read benchmark."}, argc,
          argv)) {
    return *exit;
  }
  BenchSetup b;
  b.n_events = flags.GetInt("events");
  b.n_devices = static_cast<int>(flags.GetInt("devices"));
  b.batch_size = flags.GetInt("batch");
  const int64_t span_us = flags.GetInt("hours") * 3600 * kMicrosPerSecond;
  b.step = std::max<int64_t>(1, span_us / b.n_events);
  b.dir = flags.GetString("dir");
  const bool temp = b.dir.empty();
  if (temp) {
    char tmpl[] = "/tmp/resyncwatch-store-bench-XXXXXX";
    b.dir = mkdtemp(tmpl);
  }
  b.text_path = b.dir + ".rsyslog.txt";
  std::mt19937_64 rng(42);
  auto fleet = MakeFleet(b.n_devices, rng);
  StoreOptions options;
  options.index_flush_interval_us = flags.GetDuration("index-flush-interval");
  auto opened = Store::Open(b.dir, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", opened.status().ToString().c_str());
    return 2;
  }
  WriteFigures w;
  if (Status s = Fill(std::move(opened).value(), b, fleet, rng, w); !s.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  ReadFigures r;
  const int64_t queries = flags.GetInt("history-queries");
  if (Status s = Read(b, fleet, rng, queries, r); !s.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  Print(b, w, r, queries);
  std::filesystem::remove(b.text_path);
  std::filesystem::remove(b.text_path + ".gz");
  if (temp && !flags.GetBool("keep")) std::filesystem::remove_all(b.dir);
  return 0;
}
