#include "collector/config.h"

#include <simdjson.h>

#include <charconv>

#include "collector/sender_filter.h"
#include "common/file_text.h"
#include "common/http_listen.h"
#include "common/time_format.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

// The one option table. Every entry is a flag and a config-file key (the key may also be
// spelled with '_' for '-'); "config", "help", "help-markdown" and "version" are
// command-line only.
constexpr FlagSpec kSpecs[] = {
    {"config", FlagType::kString, "", "FILE",
     "JSON configuration file; every option below is also a key"},
    {"db", FlagType::kString, "", "DIR",
     "store directory (default: $RESYNCWATCH_DB, else /var/lib/resyncwatch if it exists, else "
     "$XDG_STATE_HOME/resyncwatch or ~/.local/state/resyncwatch)"},
    {"listen", FlagType::kStringList, "udp://0.0.0.0:5514,udp://[::]:5514", "URL",
     "where to receive, repeatable: udp://0.0.0.0:5514, udp://[::]:5514, tcp://127.0.0.1:6514, "
     "tls://0.0.0.0:6514 (RFC 5425, needs --tls-cert and --tls-key; port 0: ephemeral)"},
    {"retention", FlagType::kDuration, "0", "DUR",
     "remove events older than this (30d); 0 keeps everything"},
    {"retention-interval", FlagType::kDuration, "1h", "DUR", "how often retention is applied"},
    {"log-level", FlagType::kString, "info", "LEVEL", "trace, debug, info, warn, error or off"},
    {"rcvbuf", FlagType::kBytes, "32MiB", "BYTES", "UDP socket receive buffer (SO_RCVBUF)"},
    {"udp-coalesce-ms", FlagType::kInt, "1", "MS",
     "under load, let UDP datagrams gather in the socket buffer this long between reads (fewer "
     "wake-ups); used only when the granted rcvbuf holds 4 MiB per ms; 0 = off"},
    {"queue-size", FlagType::kInt, "2000000", "N",
     "datagrams that may wait for the store writer before new ones are dropped (and counted)"},
    {"batch-size", FlagType::kInt, "512", "N", "datagrams per store write at most"},
    {"max-frame", FlagType::kBytes, "64KiB", "BYTES",
     "largest TCP frame accepted; longer frames are cut and counted as tcp_oversize"},
    {"max-tcp-connections", FlagType::kInt, "1024", "N",
     "TCP connections served at once; one more closes the connection idle longest"},
    {"tcp-idle-timeout", FlagType::kDuration, "10m", "DUR",
     "close a TCP connection that sent nothing this long; 0 = never"},
    {"allow", FlagType::kStringList, "", "CIDR",
     "accept datagrams and connections only from these senders, repeatable (10.0.0.0/8, "
     "2001:db8::/32, 192.0.2.7); others are dropped unparsed and counted; default: everyone"},
    {"tls-cert", FlagType::kString, "", "FILE", "PEM certificate (chain) of tls:// listeners"},
    {"tls-key", FlagType::kString, "", "FILE", "PEM private key of --tls-cert"},
    {"tls-client-ca", FlagType::kString, "", "FILE",
     "PEM CA certificates: tls:// clients must present a certificate they signed; default: "
     "no client certificate asked"},
    {"http-listen", FlagType::kString, "", "ADDR:PORT",
     "serve the web console, /api, /metrics and /healthz here (127.0.0.1:8080, or a bare port "
     "for loopback); a non-loopback address needs --http-users or --http-tokens; off when empty"},
    {"metrics-listen", FlagType::kString, "", "ADDR:PORT",
     "a further address of the same HTTP server (127.0.0.1:9514, or a bare port for loopback), "
     "for Prometheus configs that name it; off when empty"},
    {"http-users", FlagType::kString, "", "FILE",
     "users of the HTTP server, one name:HASH per line (yescrypt $y$ or SHA-512 $6$ from "
     "mkpasswd or openssl passwd -6), asked with HTTP basic auth"},
    {"http-tokens", FlagType::kString, "", "FILE",
     "bearer tokens of the HTTP server (Authorization: Bearer T), one per line"},
    {"http-tls-cert", FlagType::kString, "", "FILE",
     "serve HTTPS with this PEM certificate (chain); needs --http-tls-key"},
    {"http-tls-key", FlagType::kString, "", "FILE", "the PEM private key of --http-tls-cert"},
    {"http-threads", FlagType::kInt, "8", "N",
     "HTTP connections served at once; more wait, idle ones are closed after 5 s"},
    {"port-file", FlagType::kString, "", "PATH",
     "write the bound addresses (\"udp 127.0.0.1:40123\" per line) here once listening"},
    {"summary-interval", FlagType::kDuration, "60s", "DUR",
     "how often a one-line counter summary is logged"},
    {"query-socket", FlagType::kString, "", "PATH",
     "Unix socket on which resyncwatch history queries this daemon (default: DIR/query.sock); "
     "none disables it"},
    {"use-message-time", FlagType::kBool, "", "",
     "order live events by the message's own timestamp instead of the receive time"},
    {"help", FlagType::kBool, "", "", "print this help and exit"},
    {"help-markdown", FlagType::kBool, "", "",
     "print this option table as Markdown (the README's list) and exit"},
    {"version", FlagType::kBool, "", "", "print the version and exit"},
};

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

bool CommandLineOnly(std::string_view name) {
  return name == "config" || name == "help" || name == "help-markdown" || name == "version";
}

std::string Scalar(simdjson::dom::element value, bool* ok) {
  *ok = true;
  switch (value.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(std::string_view(value.get_string().value()));
    case simdjson::dom::element_type::INT64:
      return std::to_string(int64_t(value.get_int64().value()));
    case simdjson::dom::element_type::UINT64:
      return std::to_string(uint64_t(value.get_uint64().value()));
    case simdjson::dom::element_type::BOOL:
      return value.get_bool().value() ? "true" : "false";
    default:
      *ok = false;
      return {};
  }
}

// Applies each key of the config file to flags unless the command line set it.
Status ApplyConfigFile(const std::string& path, FlagSet* flags, std::string* config_text) {
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  *config_text = *text;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(*text).get(root); err) {
    return Status::InvalidArgument("config " + path + ": not valid JSON (" +
                                   simdjson::error_message(err) + ")");
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    return Status::InvalidArgument("config " + path + ": the top level must be a JSON object");
  }
  // A list given on the command line replaces the file's.
  const bool listen_on_command_line = flags->IsSet("listen");
  const bool allow_on_command_line = flags->IsSet("allow");
  for (auto field : object) {
    std::string key(field.key);
    std::string name = key;
    for (char& c : name) {
      if (c == '_') c = '-';
    }
    auto fail = [&](std::string_view why) {
      return Status::InvalidArgument("config " + path + ": key \"" + key +
                                     "\": " + std::string(why));
    };
    // Sections other modules read from the same file.
    if (name == "alerts" || name == "templates" || name == "schedule") {
      if (!field.value.is_object()) return fail("must be an object");
      continue;
    }
    bool known = false;
    FlagType type = FlagType::kString;
    for (const FlagSpec& spec : flags->specs()) {
      if (spec.name == name && !CommandLineOnly(name)) {
        known = true;
        type = spec.type;
      }
    }
    if (!known) return fail("unknown key");
    auto rename = [&](const Status& s) {
      std::string msg = s.message();
      std::string prefix = "--" + name + ": ";
      if (msg.rfind(prefix, 0) == 0) msg.erase(0, prefix.size());
      return fail(msg);
    };
    if (type == FlagType::kStringList) {
      std::vector<std::string> items;
      simdjson::dom::array array;
      bool ok = true;
      if (!field.value.get_array().get(array)) {
        for (auto item : array) {
          if (!item.is_string()) return fail("must be an array of strings");
          items.push_back(Scalar(item, &ok));
        }
      } else if (field.value.is_string()) {
        items.push_back(Scalar(field.value, &ok));
      } else {
        return fail("must be an array of strings");
      }
      if (name == "listen" && listen_on_command_line) continue;
      if (name == "allow" && allow_on_command_line) continue;
      for (const std::string& item : items) {
        if (Status s = flags->AppendIfUnset(name, item); !s.ok()) return rename(s);
      }
      continue;
    }
    bool ok = false;
    std::string value = Scalar(field.value, &ok);
    if (!ok) return fail("must be a string, a number or a boolean");
    if (Status s = flags->SetIfUnset(name, value); !s.ok()) return rename(s);
  }
  return Status::Ok();
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
  c->query_socket = flags.GetString("query-socket");
  if (c->query_socket.empty()) c->query_socket = QuerySocketPath(c->db_dir);
  if (c->query_socket == "none") c->query_socket.clear();
  return Status::Ok();
}

}  // namespace

std::span<const FlagSpec> CollectorFlagSpecs() { return kSpecs; }

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
  std::string_view host, port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return bad("needs [IPv6]:PORT");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("has no :PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return bad("needs brackets around an IPv6 address");
  }
  if (host.empty()) return bad("has no address");
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) {
    return bad("has a bad port");
  }
  a.host = std::string(host);
  a.port = p;
  return a;
}

Result<CollectorArgs> ParseCollectorArgs(std::span<const std::string_view> args) {
  CollectorArgs out;
  FlagSet flags(kSpecs);
  if (Status s = flags.Parse(args); !s.ok()) return s;
  if (!flags.positional().empty()) {
    return Status::InvalidArgument("unexpected argument '" + flags.positional()[0] + "'");
  }
  if (flags.GetBool("help")) {
    out.help = true;
    out.help_text = flags.Help(kUsage, kDescription, kExamples);
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
    if (Status s = ApplyConfigFile(flags.GetString("config"), &flags, &config_text); !s.ok()) {
      return s;
    }
  }
  if (Status s = Fill(flags, &out.config); !s.ok()) return s;
  out.config.config_text = std::move(config_text);
  return out;
}

Result<std::string> RereadConfigFile(const std::string& config_path) {
  FlagSet flags(kSpecs);
  std::string config_text;
  if (Status s = ApplyConfigFile(config_path, &flags, &config_text); !s.ok()) return s;
  CollectorConfig fresh;
  if (Status s = Fill(flags, &fresh); !s.ok()) return s;
  return config_text;
}

}  // namespace resyncwatch
