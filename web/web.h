// web: resyncwatchd's one HTTP server (cpp-httplib, TLS through OpenSSL): the console pages
// built into the binary (/, /phone.html, /lists.html, /health.html and their script and
// style), the JSON API (/api/..., each endpoint printing exactly what the CLI command
// prints with --json, run in memory against the daemon's store: web/api.h), /metrics and
// /healthz. Read-only: only GET and HEAD are answered (405 otherwise). With users or
// tokens configured, every path but /healthz needs basic auth or a bearer token (401).
// Every answer carries a Content-Security-Policy without inline script and nosniff.
//
// Ownership: the server borrows the store and the callbacks; they must outlive it.
// Connections: each listen address has its own gate (web/http_gate.h): idle and slow
// clients wait there, bounded, and never hold one of the `threads` that answer.
// Threads: the callbacks and the store are called from the answering threads concurrently.
// Start and Stop from one thread; ReloadTls from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "web/http_gate.h"

namespace resyncwatch {

class Store;
class FleetRollup;
class Clock;

struct WebOptions {
  // (name, ADDR:PORT) pairs: {"http", "127.0.0.1:8080"}, {"metrics", "127.0.0.1:9514"}. The
  // name prefixes the bound address ("http 127.0.0.1:8080"). Port 0: ephemeral.
  std::vector<std::pair<std::string, std::string>> listen;
  std::string users_file;   // "name:HASH" lines (web/auth.h); "" = none
  std::string tokens_file;  // bearer tokens; "" = none
  std::string tls_cert;     // PEM; with tls_key, HTTPS
  std::string tls_key;
  std::string config_path;  // the daemon's --config, given to commands that judge schedules
  // The daemon's per-minute fleet rollups (query/fleet_rollup.h), which answer the wall's
  // /api/fleet panels when they can do so exactly; null: every request scans. Not owned.
  const FleetRollup* fleet_rollup = nullptr;
  // Precompute the wall's schedule and firmware panels once a minute on a thread of its own
  // while the server runs (web/wall_precompute.h): /api/schedule/fleet?now=M, with M the
  // minute that /api/collector names as "schedule_ready", answers from it, and so does
  // /api/firmware (no parameter) while its result is at most a minute old, saying as of when
  // in the header X-Resyncwatch-As-Of ("firmware_ready"). Needs the store.
  bool wall_precompute = false;
  const Clock* clock = nullptr;  // the precompute's minutes; null: the system clock
  int threads = 8;               // requests answered at once per address
  int max_connections = 512;     // open connections per address (web/http_gate.h)
  int request_timeout_s = 5;     // a request head (or TLS handshake) must arrive within this
  int idle_timeout_s = 5;        // a connection that sends nothing this long is closed
};

struct WebCallbacks {
  std::function<std::string()> metrics;  // Prometheus text of /metrics
  std::function<std::string()> health;   // "" when healthy, else the reason (503)
  // One JSON object for /api/collector (store directory, disk use, retention); may be empty.
  // The server adds "schedule_ready": the precomputed minute as a now= value, or null, and
  // "firmware_ready": the time the precomputed /api/firmware served now is as of, or null.
  std::function<std::string()> collector;
};

// Requests and connections counted under fixed names, appended to /metrics.
struct WebCounters {
  std::atomic<int64_t> requests{0};       // resyncwatch_http_requests_total
  std::atomic<int64_t> unauthorized{0};   // resyncwatch_http_unauthorized_total
  std::atomic<int64_t> client_errors{0};  // resyncwatch_http_client_errors_total (4xx)
  std::atomic<int64_t> server_errors{0};  // resyncwatch_http_server_errors_total (5xx)
  GateCounters gate;                      // connections, all addresses (web/http_gate.h)
  std::string Render() const;
};

class WebServer {
 public:
  // Reads the credentials, binds every address and starts serving. Errors name the option.
  static Result<std::unique_ptr<WebServer>> Start(const WebOptions& options, WebCallbacks callbacks,
                                                  Store* store);
  ~WebServer();  // Stop()
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Stops listening, finishes the requests in flight and joins the threads; idempotent.
  void Stop();
  // Loads the HTTPS certificate and key again (SIGHUP): new connections use them, those
  // established keep theirs; a bad file keeps the old ones and is the error. Ok without TLS.
  Status ReloadTls();
  // "http 127.0.0.1:8080" per address, in options.listen order.
  std::vector<std::string> BoundAddresses() const;
  const WebCounters& counters() const;

 private:
  class Impl;
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace resyncwatch
