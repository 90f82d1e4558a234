// AlertSink: one way of delivering an alert change (log, JSON-lines file, command,
// HTTP webhook, RFC 5424 syslog over UDP). Internal to alerts/; the dispatcher owns the
// sinks and calls Deliver() from one thread per sink, so a sink needs no locking.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "alerts/alerts.h"
#include "common/clock.h"
#include "common/status.h"

namespace resyncwatch {

// What a sink is handed: the change and its rendered JSON (one object, no newline).
struct AlertMessage {
  AlertChange::Kind kind = AlertChange::Kind::kFired;
  Alert alert;
  std::string json;
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual std::string_view name() const = 0;
  // Delivers once; a non-ok Status makes the dispatcher retry later.
  virtual Status Deliver(const AlertMessage& message) = 0;
};

// REQUIRES: sink comes from a validated AlertConfig.
std::unique_ptr<AlertSink> MakeLogSink();
std::unique_ptr<AlertSink> MakeFileSink(const std::string& path);
std::unique_ptr<AlertSink> MakeExecSink(const std::string& command, int64_t timeout_us);
// The webhook POSTs over http:// or https:// (cpp-httplib with OpenSSL). https verifies the
// server's certificate and name against ca_file (PEM), or the system's trust store when
// ca_file is empty, unless verify_tls is false.
std::unique_ptr<AlertSink> MakeWebhookSink(const AlertConfig::Sink& sink);
// The message's timestamp is clock's now. REQUIRES: clock outlives the sink.
std::unique_ptr<AlertSink> MakeSyslogSink(const std::string& target, const std::string& hostname,
                                          int facility, const Clock* clock);

// The RFC 5424 line the syslog sink sends (exposed for tests):
// <PRI>1 TIMESTAMP HOSTNAME resyncwatchd PROCID MSGID [resyncwatch@32473 ...] JSON
std::string FormatRfc5424Alert(const AlertMessage& message, std::string_view hostname, int facility,
                               int64_t now_us, int pid);

// "http[s]://host[:port][/path]" split; errors name the URL.
struct HttpUrl {
  bool https = false;
  std::string host;  // without brackets
  int port = 80;     // 443 for https without a port
  std::string path = "/";
  std::string host_header;  // as written (with port when given)
};
Result<HttpUrl> ParseHttpUrl(std::string_view url);

}  // namespace resyncwatch
