// MetricsHttpServer: a small HTTP/1.1 server on its own thread (plain sockets and poll)
// for --metrics-listen: GET /metrics answers with the render callback's text in the
// Prometheus text format (version 0.0.4), GET /healthz with "ok", anything else 404.
// Slow or bad clients are cut off by a per-connection deadline and a request-size bound.
// The callbacks run on the server thread and must be thread-safe; Start/Stop from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace resyncwatch {

constexpr std::string_view kDefaultMetricsListen = "127.0.0.1:9514";

struct MetricsHttpOptions {
  // "127.0.0.1:9514", "[::1]:9514", "0.0.0.0:9514", or a bare port "9514" (loopback).
  // Port 0 asks for an ephemeral port (see MetricsHttpServer::port()).
  std::string listen = std::string(kDefaultMetricsListen);
  int64_t client_timeout_us = 5'000'000;  // whole request + response per connection
  int64_t max_request_bytes = 8192;       // request line + headers
  int max_connections = 64;
};

struct MetricsEndpoint {
  std::string host;  // numeric, without brackets
  int port = 0;
};
// Parses the --metrics-listen value; errors name it.
Result<MetricsEndpoint> ParseMetricsListen(std::string_view text);

class MetricsHttpServer {
 public:
  using RenderFn = std::function<std::string()>;
  // Returns "" when healthy, else the reason (answered with 503).
  using HealthFn = std::function<std::string()>;

  // Binds, listens and starts the server thread. health may be empty (always healthy).
  static Result<std::unique_ptr<MetricsHttpServer>> Start(const MetricsHttpOptions& options,
                                                          RenderFn render, HealthFn health = {});
  ~MetricsHttpServer();  // Stop()
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Closes the listener and all connections and joins the thread; idempotent.
  void Stop();
  int port() const;                   // the bound port (useful with port 0)
  std::string bound_address() const;  // "127.0.0.1:9514", "[::1]:9514"

 private:
  class Impl;
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace resyncwatch
