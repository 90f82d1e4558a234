// Collector configuration: one option table (FlagSpec) drives the command-line flags,
// --help, the README option list and the keys of the JSON --config file. A flag given on
// the command line wins over the same key in the file. Plain values; not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/flags.h"
#include "common/status.h"

namespace resyncwatch {

// One address resyncwatchd listens on, from "udp://0.0.0.0:5514", "udp://[::]:5514" or
// "tcp://127.0.0.1:6514", "tls://0.0.0.0:6514" (RFC 5425). Port 0 asks the kernel for an
// ephemeral port.
struct ListenAddress {
  enum class Transport { kUdp, kTcp, kTls };
  Transport transport = Transport::kUdp;
  std::string host;  // numeric address without brackets
  int port = 0;
  std::string url;  // as written
};

Result<ListenAddress> ParseListenUrl(std::string_view url);

// Options of the daemon after the command line and the config file are merged.
struct CollectorConfig {
  std::string config_path;
  std::string db_dir;
  std::vector<ListenAddress> listen;
  int64_t retention_us = 0;  // 0 keeps everything
  int64_t retention_interval_us = 0;
  std::string log_level = "info";
  int64_t rcvbuf_bytes = 0;
  int64_t udp_coalesce_ms = 0;  // 0 = read whenever the socket is readable
  int64_t queue_size = 0;       // datagrams waiting for the writer
  int64_t batch_size = 0;       // datagrams per store write at most
  int64_t max_frame_bytes = 0;  // TCP frame limit
  int64_t max_tcp_connections = 0;
  // The HTTP server (web console, /api, /metrics, /healthz): "" = off. Both addresses are
  // served by the same server; a non-loopback one requires users or tokens.
  std::string http_listen;
  std::string metrics_listen;
  std::string http_users_file;   // "name:$y$..." lines
  std::string http_tokens_file;  // one bearer token per line
  std::string http_tls_cert;     // PEM; with http_tls_key, HTTPS
  std::string http_tls_key;
  int64_t http_threads = 0;
  int64_t http_max_connections = 0;
  int64_t tcp_idle_timeout_us = 0;  // 0 = never
  std::vector<std::string> allow;   // CIDR ranges of allowed senders; empty = everyone
  std::string tls_cert;             // PEM certificate chain for tls:// listeners
  std::string tls_key;              // PEM private key
  std::string tls_client_ca;        // "" = clients are not asked for a certificate
  std::string port_file;            // "" = none
  int64_t summary_interval_us = 0;
  bool use_message_time = false;
  std::string query_socket;  // "" = no query socket (--query-socket none)
  // Export to ClickHouse ("" = off). The password comes from the config file only and is
  // never logged.
  std::string clickhouse_url;
  std::string clickhouse_database;
  std::string clickhouse_user;
  std::string clickhouse_password;
  int64_t clickhouse_retention_us = 0;  // 0 = ClickHouse keeps everything
  std::string clickhouse_ca_file;       // "" = the system's CAs
  std::string collector_name;           // default: the host name
  // The whole config file ("" without --config): its "templates" object belongs to the
  // parsers (TemplateSet::FromConfigJson), its "alerts" object to the alert engine, its
  // "schedule" object to the schedule rules (ScheduleConfigSet::Parse).
  std::string config_text;
};

// The option table (also used by docs and tests).
std::span<const FlagSpec> CollectorFlagSpecs();

// What ParseCollectorArgs decided.
struct CollectorArgs {
  bool help = false;
  bool version = false;
  std::string help_text;
  CollectorConfig config;
};

// Parses argv (without the program name), then reads --config FILE if given. Errors name
// the flag, the key or the value in one line; the caller prints it and exits 2.
Result<CollectorArgs> ParseCollectorArgs(std::span<const std::string_view> args);

// Re-reads the config file for SIGHUP: checks it as at startup and returns its text
// (whose "templates" the daemon then recompiles). Errors name the key or value.
Result<std::string> RereadConfigFile(const std::string& config_path);

}  // namespace resyncwatch
