// resyncwatchd: the collector daemon. Parses options (config.h), opens the store, answers
// `resyncwatch history`, follows and imports on the query socket (query_socket.h), runs
// the Collector until SIGTERM/SIGINT, then closes the store. Exit codes: 0 clean stop, 1 runtime
// failure (cannot listen), 2 usage, config or store error.
#include <malloc.h>
#include <pthread.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "clickhouse/clickhouse.h"
#include "collector/collector.h"
#include "collector/config.h"
#include "common/json_writer.h"
#include "common/thread_priority.h"
#include "query/fleet_rollup.h"
#include "query_socket/query_socket.h"
#include "store/store.h"
#include "web/web.h"

namespace resyncwatch {
namespace {

// Writes the bound addresses, one "udp 127.0.0.1:40123" per line, replacing the file
// atomically so that a reader never sees half of it.
bool WritePortFile(const std::string& path, const std::vector<std::string>& bound) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const std::string& b : bound) out << b << "\n";
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

// /api/collector: where the store is, how much disk it takes and what is kept.
std::string CollectorJson(const CollectorConfig& config) {
  std::error_code ec;
  uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(config.db_dir, ec)) {
    std::error_code size_ec;
    if (entry.is_regular_file(size_ec)) bytes += entry.file_size(size_ec);
  }
  std::filesystem::space_info space = std::filesystem::space(config.db_dir, ec);
  JsonWriter w;
  w.Begin();
  w.String("db_dir", config.db_dir);
  w.Int("store_bytes", static_cast<int64_t>(bytes));
  if (ec) {
    w.Null("disk_free_bytes");
  } else {
    w.Int("disk_free_bytes", static_cast<int64_t>(space.available));
  }
  w.Int("retention_s", config.retention_us / 1'000'000);
  w.Int("retention_interval_s", config.retention_interval_us / 1'000'000);
  w.End();
  return w.str();
}

// The HTTP server on --http-listen and --metrics-listen, when either is set.
Status StartWeb(const CollectorConfig& config, const Collector& collector, Store* store,
                const FleetRollup* rollup, const ClickHouseExporter* exporter,
                std::unique_ptr<WebServer>* web) {
  WebOptions options;
  if (!config.http_listen.empty()) options.listen.emplace_back("http", config.http_listen);
  if (!config.metrics_listen.empty()) options.listen.emplace_back("metrics", config.metrics_listen);
  if (options.listen.empty()) return Status::Ok();
  options.users_file = config.http_users_file;
  options.tokens_file = config.http_tokens_file;
  options.tls_cert = config.http_tls_cert;
  options.tls_key = config.http_tls_key;
  options.config_path = config.config_path;
  options.threads = static_cast<int>(config.http_threads);
  options.max_connections = static_cast<int>(config.http_max_connections);
  options.fleet_rollup = rollup;
  options.wall_precompute = true;  // the wall's schedule and firmware panels, once a minute
  WebCallbacks callbacks;
  callbacks.metrics = [&collector, rollup, exporter] {
    return collector.RenderMetrics() + (rollup != nullptr ? rollup->RenderMetrics() : "") +
           (exporter != nullptr ? exporter->RenderMetrics() : "");
  };
  callbacks.health = [&collector] { return collector.Health(); };
  callbacks.collector = [&config] { return CollectorJson(config); };
  Result<std::unique_ptr<WebServer>> started = WebServer::Start(options, callbacks, store);
  if (!started.ok()) return started.status();
  *web = std::move(*started);
  return Status::Ok();
}

// The export's settings from the daemon's; the password stays in memory only.
ExporterOptions ExportOptions(const CollectorConfig& config) {
  ExporterOptions o;
  o.clickhouse.url = config.clickhouse_url;
  o.clickhouse.database = config.clickhouse_database;
  o.clickhouse.user = config.clickhouse_user;
  o.clickhouse.password = config.clickhouse_password;
  o.retention_us = config.clickhouse_retention_us;
  o.clickhouse.ca_file = config.clickhouse_ca_file;
  o.collector_name = config.collector_name;
  return o;
}

// Each TCP connection is a descriptor: --max-tcp-connections 1024 plus the sockets and
// the store's files do not fit the usual soft limit of 1024, and running out would make
// accepts fail (counted as tcp_rejected) before eviction could make room. The soft limit
// is raised to the hard one; how many the daemon may hold stays the administrator's
// (LimitNOFILE= in the unit).
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Builds the fleet rollups from the store at start, and again whenever they go stale, on
// its own thread: ingest goes on meanwhile and /api/fleet scans until they are ready.
class RollupBuilder {
 public:
  RollupBuilder(FleetRollup* rollup, const Store* store) : rollup_(rollup), store_(store) {
    thread_ = std::thread([this] { Run(); });
  }
  ~RollupBuilder() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "rw-rollup");
    LowerThisThreadPriority(kBackgroundNice);  // ingest first
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (rollup_->NeedsRebuild()) {
        lock.unlock();
        const auto start = std::chrono::steady_clock::now();
        Status s = rollup_->Rebuild(*store_);
        const auto took = std::chrono::steady_clock::now() - start;
        if (s.ok()) {
          spdlog::info("fleet rollups built in {} ms",
                       std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
        } else {
          spdlog::error("fleet rollups not built (the API scans): {}", s.ToString());
        }
        lock.lock();
        // Out-of-order ingest makes them stale again: a rebuild at most every 10 times
        // its own duration and at least a minute apart, so they cannot eat the CPU.
        cv_.wait_for(
            lock, std::max<std::chrono::steady_clock::duration>(std::chrono::minutes(1), took * 10),
            [this] { return stop_; });
      } else {
        cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stop_; });
      }
    }
  }

  FleetRollup* rollup_;
  const Store* store_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The query socket, or null (logged) when it is off or cannot start.
std::unique_ptr<QueryServer> StartQueryServer(const CollectorConfig& config, const Store& store,
                                              Collector& collector, EventFanout& fanout) {
  if (config.query_socket.empty()) return nullptr;
  QueryServer::Hooks hooks;
  hooks.fanout = &fanout;
  hooks.import = [&collector](WriteBatch& batch) { return collector.WriteImported(batch); };
  Result<std::unique_ptr<QueryServer>> started =
      QueryServer::Start(store, config.query_socket, std::move(hooks));
  if (!started.ok()) {
    spdlog::warn("no query socket ({}); resyncwatch history opens the store instead",
                 started.status().message());
    return nullptr;
  }
  spdlog::info("answering queries, follows and imports on {}", config.query_socket);
  return std::move(*started);
}

void SetUpLogging(const CollectorConfig& config) {
  auto logger = spdlog::stderr_logger_mt("resyncwatchd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  logger->set_level(spdlog::level::from_str(config.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Opens the store, then the ClickHouse exporter when one is configured (it reads the store, so
// it starts after it opened and stops before it closes). Returns 0, or the exit status after
// saying why.
int OpenStore(const CollectorConfig& config, std::unique_ptr<Store>* store,
              std::unique_ptr<ClickHouseExporter>* exporter) {
  const bool exporting = !config.clickhouse_url.empty();
  if (exporting) {
    if (Status s = ValidateClickHouseOptions(ExportOptions(config).clickhouse); !s.ok()) {
      std::fprintf(stderr, "resyncwatchd: %s\n", s.message().c_str());
      return 2;
    }
  }
  StoreOptions store_options;
  store_options.retention_us = config.retention_us;
  store_options.export_journal = exporting;
  store_options.low_priority_background = true;  // receiving keeps its core in a burst
  Result<std::unique_ptr<Store>> opened = Store::Open(config.db_dir, store_options);
  if (!opened.ok()) {
    spdlog::error("cannot open the store {}: {}", config.db_dir, opened.status().ToString());
    return 2;
  }
  *store = std::move(*opened);
  if (!exporting) return 0;
  Result<std::unique_ptr<ClickHouseExporter>> started =
      ClickHouseExporter::Start(store->get(), ExportOptions(config));
  if (!started.ok()) {
    spdlog::error("cannot export to ClickHouse: {}", started.status().message());
    return 2;
  }
  *exporter = std::move(*started);
  spdlog::info("exporting to ClickHouse at {}, database {}, as collector {}", config.clickhouse_url,
               config.clickhouse_database, config.collector_name);
  return 0;
}

// SIGHUP reloads the HTTPS certificate; a bad new one keeps the current one.
void ReloadTlsOnSighup(Collector& collector, WebServer& web, const CollectorConfig& config) {
  collector.SetReloadObserver([&web, &config] {
    if (Status r = web.ReloadTls(); !r.ok()) {
      spdlog::error("SIGHUP: keeping the current HTTPS certificate: {}", r.message());
    } else {
      spdlog::info("SIGHUP: reloaded the HTTPS certificate from {}", config.http_tls_cert);
    }
  });
}

// Receives until a signal. Once the signals are handled, logs every bound address and
// writes them to --port-file: whoever stops the daemon on seeing them gets a clean stop.
void Run(const CollectorConfig& config, Collector& collector, const WebServer* web) {
  collector.Run(/*handle_signals=*/true, [&] {
    std::vector<std::string> bound = collector.BoundAddresses();
    if (web != nullptr) {
      for (const std::string& b : web->BoundAddresses()) bound.push_back(b);
    }
    for (const std::string& b : bound) spdlog::info("listening {}", b);
    if (!config.port_file.empty() && !WritePortFile(config.port_file, bound)) {
      spdlog::error("cannot write --port-file {}", config.port_file);
    }
    spdlog::info("storing into {} (retention {})", config.db_dir,
                 config.retention_us > 0 ? std::to_string(config.retention_us / 1'000'000) + " s"
                                         : std::string("off"));
  });
}

// Receives and serves until a signal; returns the exit status.
int Serve(const CollectorConfig& config, Store* store, ClickHouseExporter* exporter) {
  // Followers of the stored events (`--follow`): fed by the writer thread, so it
  // outlives the collector.
  EventFanout fanout;
  Collector collector(config, store);
  // Serves reads, follows and imports (through the writer); stopped before the
  // collector and the store it reads.
  std::unique_ptr<QueryServer> query_server = StartQueryServer(config, *store, collector, fanout);
  std::unique_ptr<WebServer> web;
  // The wall's fleet panels, kept per minute as batches are stored (the HTTP API only).
  FleetRollup::Options rollup_options;
  rollup_options.retention_us = config.retention_us;
  FleetRollup rollup(rollup_options);
  std::unique_ptr<RollupBuilder> rollup_builder;
  // The HTTP server answers the API on either address.
  if (!config.http_listen.empty() || !config.metrics_listen.empty()) {
    collector.SetStoredObserver([&rollup](std::span<const Event> e) { rollup.Observe(e); });
    rollup_builder = std::make_unique<RollupBuilder>(&rollup, store);
  }
  collector.SetStoredBatchTaker([&fanout](std::vector<Event>* e) { fanout.PublishTaking(e); });
  Status s = collector.Start();
  if (s.ok()) {
    s = StartWeb(config, collector, store, rollup_builder ? &rollup : nullptr, exporter, &web);
  }
  if (s.ok() && web != nullptr && !config.http_tls_cert.empty()) {
    ReloadTlsOnSighup(collector, *web, config);
  }
  int rc = 0;
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    rc = s.code() == Status::Code::kInvalidArgument ? 2 : 1;
  } else {
    Run(config, collector, web.get());
  }
  // Stopped before the collector and the store it reads.
  if (web != nullptr) web->Stop();
  rollup_builder.reset();
  if (query_server) {
    spdlog::info("query socket served {} requests ({} followers cut off)",
                 query_server->requests_served(), fanout.cut_offs());
    query_server.reset();
  }
  return rc;
}

int Main(int argc, char** argv) {
  // The writer builds store batches of a few hundred KiB again and again; keep glibc from
  // handing them back to the kernel (mmap/munmap and page faults on every batch).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  Result<CollectorArgs> parsed = ParseCollectorArgs(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "resyncwatchd: %s\n", parsed.status().message().c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(parsed->help_text.c_str(), stdout);
    return 0;
  }
  if (parsed->version) {
    std::printf("resyncwatchd %s\n", RESYNCWATCH_VERSION);
    return 0;
  }
  const CollectorConfig& config = parsed->config;
  RaiseFileLimit();
  SetUpLogging(config);
  std::unique_ptr<Store> store;
  std::unique_ptr<ClickHouseExporter> exporter;
  if (int failed = OpenStore(config, &store, &exporter); failed != 0) return failed;
  int rc = Serve(config, store.get(), exporter.get());
  if (exporter) {
    const ExporterStats st = exporter->stats();
    spdlog::info("clickhouse export: {} events and {} raw datagrams sent, {} waiting",
                 st.exported_events, st.exported_raw, st.backlog);
    exporter.reset();
  }
  if (Status s = store->Flush(); !s.ok()) {
    spdlog::error("flushing the store at exit: {}", s.ToString());
    rc = rc == 0 ? 1 : rc;
  }
  store.reset();
  spdlog::info("store closed");
  return rc;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) { return resyncwatch::Main(argc, argv); }
