// HttpGate: the connection layer of one HTTP(S) listen address, in front of cpp-httplib's
// request handling. cpp-httplib 0.11 gives each accepted connection a pool thread for its
// whole life (its queue is unbounded), so a few idle or half-sent connections take every
// thread and the next scrape waits behind them. The gate owns the listening socket instead:
//  - one thread (epoll) accepts and holds every connection that is not being answered:
//    new ones, keep-alive ones between requests and ones still sending their request head,
//    with the TLS handshake done there without blocking;
//  - only a connection whose request head has fully arrived goes to one of `threads`
//    workers, which let httplib read the rest, route and answer (Server::process_request),
//    then hand the connection back to wait for its next request; /healthz and /metrics go
//    first, and one more thread answers only them, so long analyses cannot hold them up;
//  - bounds: a connection that sends nothing for idle_timeout is closed; one whose request
//    head (or handshake) is not complete request_timeout after its first byte is closed,
//    and so is an answer the client reads slower than write_rate after a grace of
//    request_timeout; at max_connections open, a new connection closes the waiting one idle
//    longest (or is refused at once when none waits). Each is counted (GateCounters) and
//    logged at most once per 10 s per kind with the number kept quiet.
// Threads: Start, Stop and the destructor from one thread; the counters from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace httplib {
class Stream;
}

namespace resyncwatch {

class ServerTls;

struct GateOptions {
  size_t threads = 8;            // requests answered at once
  size_t max_connections = 512;  // open connections, waiting and answered
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds request_timeout{5000};
  size_t write_rate = 64 * 1024;  // bytes/s an answer must be read at, after the grace
  size_t max_head_bytes = 16 * 1024;
  int keep_alive_max = 100;  // requests per connection
};

// Fixed names in /metrics (WebCounters renders them).
struct GateCounters {
  std::atomic<int64_t> accepted{0};          // resyncwatch_http_connections_total
  std::atomic<int64_t> evicted{0};           // resyncwatch_http_evicted_total
  std::atomic<int64_t> idle_timeouts{0};     // resyncwatch_http_idle_timeouts_total
  std::atomic<int64_t> request_timeouts{0};  // resyncwatch_http_request_timeouts_total
  std::atomic<int64_t> rejected{0};          // resyncwatch_http_rejected_total
  std::atomic<int64_t> bad_requests{0};      // resyncwatch_http_bad_requests_total
  std::atomic<int64_t> tls_errors{0};        // resyncwatch_http_tls_errors_total
  std::atomic<int64_t> open{0};              // resyncwatch_http_open_connections (gauge)
};

class HttpGate {
 public:
  // Answers one request read from strm; false when the connection must close.
  using Serve =
      std::function<bool(httplib::Stream& strm, bool close_connection, bool& connection_closed)>;

  // Binds host:port (0: ephemeral). tls: null for plain HTTP. Errors name the address.
  static Result<std::unique_ptr<HttpGate>> Bind(const std::string& host, int port,
                                                GateOptions options, std::shared_ptr<ServerTls> tls,
                                                GateCounters* counters);
  ~HttpGate();  // Stop()
  HttpGate(const HttpGate&) = delete;
  HttpGate& operator=(const HttpGate&) = delete;

  int port() const;
  // Starts accepting and the workers. REQUIRES: serve outlives Stop().
  void Start(Serve serve);
  // Stops accepting, closes waiting connections, lets answers in flight finish; idempotent.
  void Stop();

 private:
  class Impl;
  explicit HttpGate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace resyncwatch
