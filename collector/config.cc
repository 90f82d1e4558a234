#include "collector/config.h"

#include <unistd.h>

#include <charconv>

#include "collector/sender_filter.h"
#include "common/http_listen.h"
#include "common/net_address.h"
#include "common/time_format.h"
#include "config/config_file.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

constexpr std::string_view kUsage =
    "resyncwatchd [--config FILE] [--db DIR] [--listen URL]... [options]";
constexpr std::string_view kDescription =
    "Receives the syslog of a fleet of Cisco MPP/SPA phones over UDP and TCP (RFC 6587),\n"
    "parses resync and upgrade messages and stores every datagram. SIGTERM/SIGINT drain and\n"
    "stop; SIGHUP reloads the templates from the config file. The bound addresses are logged\n"
    "as \"listening udp 127.0.0.1:40123\" lines on stderr (and written to --port-file).";
constexpr std::string_view kExamples =
    "  resyncwatchd --db ./var/resyncwatch --listen udp://0.0.0.0:5514 --listen "
    "tcp://0.0.0.0:5514\n"
    "  resyncwatchd --config /etc/resyncwatch/resyncwatch.json\n";

// Reads the config file (strict: config/config_file.h) and applies its option keys to flags
// unless the command line set them. The sections are checked later, before anything is
// created (ParseCollectorArgs).
Result<ConfigFile> ApplyConfigFile(const std::string& path, FlagSet* flags) {
  Result<ConfigFile> file = ConfigFile::Load(path);
  if (!file.ok()) return file.status();
  if (Status s = file->ApplyOptions(flags); !s.ok()) return s;
  return file;
}

// The HTTP server's options, and the rule that keeps it off the network without credentials.
Status FillHttp(const FlagSet& flags, CollectorConfig* c) {
  c->http_listen = flags.GetString("http-listen");
  c->metrics_listen = flags.GetString("metrics-listen");
  c->http_users_file = flags.GetString("http-users");
  c->http_tokens_file = flags.GetString("http-tokens");
  c->http_tls_cert = flags.GetString("http-tls-cert");
  c->http_tls_key = flags.GetString("http-tls-key");
  c->http_threads = flags.GetInt("http-threads");
  c->http_max_connections = flags.GetInt("http-max-connections");
  if (c->http_max_connections < 16 || c->http_max_connections > 65536) {
    return Status::InvalidArgument("--http-max-connections: must be between 16 and 65536");
  }
  if (c->http_threads <= 0 || c->http_threads > 256) {
    return Status::InvalidArgument("--http-threads: must be between 1 and 256");
  }
  if (c->http_tls_cert.empty() != c->http_tls_key.empty()) {
    return Status::InvalidArgument("--http-tls-cert and --http-tls-key go together");
  }
  const bool credentials = !c->http_users_file.empty() || !c->http_tokens_file.empty();
  for (auto [option, value] :
       {std::pair<std::string_view, const std::string*>{"--http-listen", &c->http_listen},
        {"--metrics-listen", &c->metrics_listen}}) {
    if (value->empty()) continue;
    Result<HttpListen> ep = ParseHttpListen(*value, option);
    if (!ep.ok()) return ep.status();
    if (!ep->IsLoopback() && !credentials) {
      return Status::InvalidArgument(std::string(option) + " " + *value +
                                     " is not a loopback address: set --http-users or "
                                     "--http-tokens to serve it");
    }
  }
  return Status::Ok();
}

// The export to ClickHouse: off without --clickhouse.
Status FillClickHouse(const FlagSet& flags, CollectorConfig* c) {
  c->clickhouse_url = flags.GetString("clickhouse");
  c->clickhouse_database = flags.GetString("clickhouse-database");
  c->clickhouse_user = flags.GetString("clickhouse-user");
  c->clickhouse_password = flags.GetString("clickhouse-password");
  c->clickhouse_retention_us = flags.GetDuration("clickhouse-retention");
  c->clickhouse_ca_file = flags.GetString("clickhouse-ca-file");
  c->collector_name = flags.GetString("collector-name");
  if (c->collector_name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) c->collector_name = host;
  }
  return Status::Ok();
}

Status Fill(const FlagSet& flags, CollectorConfig* c) {
  c->config_path = flags.GetString("config");
  c->db_dir = flags.IsSet("db") ? flags.GetString("db") : DefaultStoreDir();
  c->listen.clear();
  for (const std::string& url : flags.GetList("listen")) {
    Result<ListenAddress> a = ParseListenUrl(url);
    if (!a.ok()) return a.status();
    c->listen.push_back(*a);
  }
  c->retention_us = flags.GetDuration("retention");
  c->retention_interval_us = flags.GetDuration("retention-interval");
  c->log_level = flags.GetString("log-level");
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  bool level_ok = false;
  for (std::string_view l : kLevels) level_ok |= (l == c->log_level);
  if (!level_ok) {
    return Status::InvalidArgument("--log-level: '" + c->log_level +
                                   "' is not one of trace, debug, info, warn, error, off");
  }
  c->rcvbuf_bytes = flags.GetBytes("rcvbuf");
  c->udp_coalesce_ms = flags.GetInt("udp-coalesce-ms");
  if (c->udp_coalesce_ms < 0 || c->udp_coalesce_ms > 100) {
    return Status::InvalidArgument("--udp-coalesce-ms: " + std::to_string(c->udp_coalesce_ms) +
                                   " is not between 0 and 100");
  }
  c->queue_size = flags.GetInt("queue-size");
  c->batch_size = flags.GetInt("batch-size");
  c->max_frame_bytes = flags.GetBytes("max-frame");
  c->max_tcp_connections = flags.GetInt("max-tcp-connections");
  c->tcp_idle_timeout_us = flags.GetDuration("tcp-idle-timeout");
  if (c->tcp_idle_timeout_us < 0) {
    return Status::InvalidArgument("--tcp-idle-timeout: must not be negative");
  }
  c->tls_cert = flags.GetString("tls-cert");
  c->tls_key = flags.GetString("tls-key");
  c->tls_client_ca = flags.GetString("tls-client-ca");
  for (const ListenAddress& a : c->listen) {
    if (a.transport == ListenAddress::Transport::kTls &&
        (c->tls_cert.empty() || c->tls_key.empty())) {
      return Status::InvalidArgument("--listen " + a.url + ": needs --tls-cert and --tls-key");
    }
  }
  c->allow = flags.GetList("allow");
  if (Result<SenderFilter> f = SenderFilter::Parse(c->allow); !f.ok()) return f.status();
  auto positive = [](std::string_view name, int64_t v) {
    return v > 0 ? Status::Ok()
                 : Status::InvalidArgument("--" + std::string(name) + ": must be greater than 0");
  };
  for (auto [name, v] : {std::pair<std::string_view, int64_t>{"queue-size", c->queue_size},
                         {"batch-size", c->batch_size},
                         {"max-frame", c->max_frame_bytes},
                         {"max-tcp-connections", c->max_tcp_connections},
                         {"retention-interval", c->retention_interval_us},
                         {"summary-interval", flags.GetDuration("summary-interval")}}) {
    if (Status s = positive(name, v); !s.ok()) return s;
  }
  if (Status s = FillHttp(flags, c); !s.ok()) return s;
  c->port_file = flags.GetString("port-file");
  c->summary_interval_us = flags.GetDuration("summary-interval");
  c->use_message_time = flags.GetBool("use-message-time");
  if (Status s = FillClickHouse(flags, c); !s.ok()) return s;
  c->query_socket = flags.GetString("query-socket");
  if (c->query_socket.empty()) c->query_socket = QuerySocketPath(c->db_dir);
  if (c->query_socket == "none") c->query_socket.clear();
  return Status::Ok();
}

}  // namespace

std::span<const FlagSpec> CollectorFlagSpecs() { return DaemonOptionSpecs(); }

Result<ListenAddress> ParseListenUrl(std::string_view url) {
  ListenAddress a;
  a.url = std::string(url);
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("--listen: '" + std::string(url) + "' " + std::string(why) +
                                   " (udp://0.0.0.0:5514, udp://[::]:5514, tcp://127.0.0.1:6514)");
  };
  std::string_view rest = url;
  if (rest.rfind("udp://", 0) == 0) {
    a.transport = ListenAddress::Transport::kUdp;
  } else if (rest.rfind("tcp://", 0) == 0) {
    a.transport = ListenAddress::Transport::kTcp;
  } else if (rest.rfind("tls://", 0) == 0) {
    a.transport = ListenAddress::Transport::kTls;
  } else {
    return bad("does not start with udp://, tcp:// or tls://");
  }
  rest.remove_prefix(6);
  Result<HostPort> split = SplitHostPort(rest, PortRule::kRequired);
  if (!split.ok()) return bad(split.status().message());
  a.host = split->host;
  a.port = split->port;
  return a;
}

Result<CollectorArgs> ParseCollectorArgs(std::span<const std::string_view> args) {
  CollectorArgs out;
  FlagSet flags(DaemonOptionSpecs());
  if (Status s = flags.Parse(args); !s.ok()) return s;
  if (flags.IsSet("clickhouse-password")) {
    return Status::InvalidArgument(
        "--clickhouse-password: set it in the config file (clickhouse_password), not on the "
        "command line where every user sees it");
  }
  if (!flags.positional().empty()) {
    return Status::InvalidArgument("unexpected argument '" + flags.positional()[0] + "'");
  }
  if (flags.GetBool("help")) {
    out.help = true;
    std::string description(kDescription);
    description +=
        "\n\nThe --config file is one JSON object: the options below as keys, and these "
        "sections:";
    for (const ConfigSection& section : ConfigSections()) {
      description += "\n  " + std::string(section.name) + ": " + std::string(section.summary);
    }
    out.help_text = flags.Help(kUsage, description, kExamples);
    return out;
  }
  if (flags.GetBool("help-config")) {
    out.help = true;
    out.help_text = ConfigSectionsMarkdown();
    return out;
  }
  if (flags.GetBool("help-markdown")) {
    out.help = true;
    out.help_text = flags.MarkdownTable();
    return out;
  }
  out.version = flags.GetBool("version");
  std::string config_text;
  if (flags.IsSet("config")) {
    Result<ConfigFile> file = ApplyConfigFile(flags.GetString("config"), &flags);
    if (!file.ok()) return file.status();
    // Every section is checked here, before the daemon creates its store or its sockets.
    if (Status s = file->ValidateSections(); !s.ok()) return s;
    config_text = file->text();
  }
  if (Status s = Fill(flags, &out.config); !s.ok()) return s;
  out.config.config_text = std::move(config_text);
  return out;
}

Result<std::string> RereadConfigFile(const std::string& config_path) {
  FlagSet flags(DaemonOptionSpecs());
  Result<ConfigFile> file = ApplyConfigFile(config_path, &flags);
  if (!file.ok()) return file.status();
  if (Status s = file->ValidateSections(); !s.ok()) return s;
  CollectorConfig fresh;
  if (Status s = Fill(flags, &fresh); !s.ok()) return s;
  return file->text();
}

}  // namespace resyncwatch
