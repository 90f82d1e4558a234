// resyncwatchd's option table: its flags, --help, README's option list and the option keys
// of the config file. It lives here, not in collector/, so that every command that reads
// the config file knows the daemon's keys without linking the daemon.
#include "config/config_file.h"

namespace resyncwatch {
namespace {

// The one option table. Every entry is a flag and a config-file key (the key may also be
// spelled with '_' for '-'); "config", "help", "help-markdown", "help-config" and "version"
// are command-line only.
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
     "HTTP requests answered at once per address; waiting connections hold no thread"},
    {"http-max-connections", FlagType::kInt, "512", "N",
     "HTTP connections open at once per address; one more closes the one idle longest"},
    {"port-file", FlagType::kString, "", "PATH",
     "write the bound addresses (\"udp 127.0.0.1:40123\" per line) here once listening "
     "and handling SIGTERM (a stop sent on seeing the file is a clean one)"},
    {"summary-interval", FlagType::kDuration, "60s", "DUR",
     "how often a one-line counter summary is logged"},
    {"query-socket", FlagType::kString, "", "PATH",
     "Unix socket for resyncwatch history, --follow and import into this daemon (default: "
     "DIR/query.sock); none disables it"},
    {"use-message-time", FlagType::kBool, "", "",
     "order live events by the message's own timestamp instead of the receive time"},
    {"clickhouse", FlagType::kString, "", "URL",
     "export every stored event and raw datagram to ClickHouse's HTTP interface "
     "(http://ch1:8123)"},
    {"clickhouse-database", FlagType::kString, "resyncwatch", "NAME",
     "the ClickHouse database (created with the tables on first connect)"},
    {"clickhouse-user", FlagType::kString, "", "NAME", "ClickHouse user (default: default)"},
    {"clickhouse-password", FlagType::kString, "", "TEXT",
     "ClickHouse password: a config file key only, never a flag (it would show in ps)"},
    {"clickhouse-ca-file", FlagType::kString, "", "PATH",
     "PEM CAs that may sign an https:// ClickHouse's certificate (default: the system's)"},
    {"clickhouse-retention", FlagType::kDuration, "0", "DUR",
     "drop ClickHouse's day partitions wholly older than this (400d); 0 keeps everything"},
    {"collector-name", FlagType::kString, "", "NAME",
     "this collector's name in the exported rows (default: the host name)"},
    {"help", FlagType::kBool, "", "", "print this help and exit"},
    {"help-markdown", FlagType::kBool, "", "",
     "print this option table as Markdown (the README's list) and exit"},
    {"help-config", FlagType::kBool, "", "",
     "print every key of the config file's sections as Markdown (the README's lists) and exit"},
    {"version", FlagType::kBool, "", "", "print the version and exit"},
};

}  // namespace

std::span<const FlagSpec> DaemonOptionSpecs() { return kSpecs; }

bool IsCommandLineOnlyOption(std::string_view name) {
  return name == "config" || name == "help" || name == "help-markdown" || name == "help-config" ||
         name == "version";
}

}  // namespace resyncwatch
