// alerts: live rules over the collector's event stream (failure bursts, failure ratios by
// fleet/server/error/model, per-device consecutive failures), rules over the fleet's
// resync schedule (phones overdue, phones hammering; from a periodic schedule analysis of
// the store, FleetScheduleWatcher), silence rules over the received datagrams (the whole
// fleet, one sender network), and the delivery of alert state changes to sinks (log,
// JSON-lines file, command, HTTP webhook, RFC 5424 syslog).
// AlertEngine is single-threaded (the collector's writer thread) except ActiveCount(),
// SetFleetSchedule() and the network counters, which any thread may call;
// AlertDispatcher::Submit is thread-safe and never blocks on a sink.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/flags.h"
#include "common/status.h"
#include "store/store.h"

namespace resyncwatch {

// The fixed, low-cardinality set of rules; the names are Prometheus label values and
// appear in alert JSON. Values are stored in alert ids: append only.
enum class AlertRule : uint8_t {
  kFleetFailures = 0,      // failures >= N within W, whole fleet
  kServerFailures = 1,     // ... grouped by provisioning server (URL host)
  kErrorFailures = 2,      // ... grouped by error text
  kModelFailures = 3,      // ... grouped by phone model
  kFleetFailureRatio = 4,  // failures / attempts >= R over W with >= M attempts
  kServerFailureRatio = 5,
  kErrorFailureRatio = 6,  // denominator: all of the fleet's attempts in W
  kModelFailureRatio = 7,
  kDeviceConsecutive = 8,   // one device, >= K consecutive failures, unless an alert of the
                            // fleet or of its server is firing (that one covers it)
  kScheduleOverdue = 9,     // >= N phones overdue, or >= P of the phones with a known state
  kScheduleHammering = 10,  // >= N phones retrying faster than configured
  kFleetSilence = 11,       // no datagram at all for W while some phone is due
  kNetworkSilence = 12,     // an active sender network (/24, /64) silent for W
};
constexpr int kAlertRuleCount = 13;
// "fleet_failures", "server_failures", ..., "fleet_failure_ratio", ...,
// "device_consecutive_failures", "schedule_overdue", "schedule_hammering",
// "fleet_silence", "network_silence"
std::string_view ToString(AlertRule rule);
// "fleet", "server", "error", "model", "device", "network"
std::string_view GroupByName(AlertRule rule);

// Which dimensions the count and ratio rules group by.
struct AlertGrouping {
  bool fleet = true;
  bool server = true;
  bool error = true;
  bool model = true;
};

struct AlertConfig {
  bool enabled = true;
  // Count rule: at least failures_min failures within failures_window_us.
  bool failures_enabled = true;
  int64_t failures_window_us = 5 * 60 * 1'000'000LL;
  int64_t failures_min = 50;
  AlertGrouping failures_group_by;
  // Ratio rule: failures / attempts >= ratio_min over ratio_window_us, with at least
  // ratio_min_attempts attempts (successes + failures) in the window.
  bool ratio_enabled = true;
  int64_t ratio_window_us = 5 * 60 * 1'000'000LL;
  double ratio_min = 0.5;
  int64_t ratio_min_attempts = 20;
  AlertGrouping ratio_group_by;
  // Per-device rule: at least device_consecutive_min failures in a row.
  bool device_enabled = true;
  int64_t device_consecutive_min = 5;
  // A device alert also resolves when the device has been silent this long.
  int64_t device_idle_resolve_us = 24 * 3600 * 1'000'000LL;
  // Hysteresis: a firing count/ratio alert resolves only once its value has stayed
  // below resolve_fraction x its threshold for resolve_after_us.
  double resolve_fraction = 0.5;
  int64_t resolve_after_us = 2 * 60 * 1'000'000LL;
  // Firing alerts are re-persisted (kUpdated) at most this often when their counts change.
  int64_t update_interval_us = 60 * 1'000'000LL;
  int64_t max_groups = 10'000;  // per dimension; idle groups are evicted first
  // Devices tracked (the server of each one's latest request, its failures in a row);
  // a device silent for device_idle_resolve_us leaves the table.
  int64_t max_devices = 200'000;
  int64_t sample_macs = 10;  // affected MACs carried by each alert (schedule rules: the worst)

  // Schedule rules, judged on a schedule analysis (AnalyzeFleet) of the store's last
  // schedule_range_us, recomputed every schedule_interval_us off the ingest path.
  bool overdue_enabled = true;
  int64_t overdue_min_phones = 50;  // fires at >= this many phones overdue,
  double overdue_min_share = 0.05;  // or at >= this share of the phones with a known state
  bool hammering_enabled = true;
  int64_t hammering_min_phones = 1;  // fires at >= this many phones hammering
  int64_t schedule_interval_us = 5 * 60 * 1'000'000LL;
  int64_t schedule_range_us = 2 * 86400 * 1'000'000LL;
  // Silence rules, judged at each Tick on the datagrams received (any datagram counts,
  // parsed or not).
  bool fleet_silence_enabled = true;
  int64_t fleet_silence_us = 10 * 60 * 1'000'000LL;  // and some phone's window has opened
  bool network_silence_enabled = true;
  int64_t network_silence_us = 10 * 60 * 1'000'000LL;  // while the rest of the fleet sends
  // A network counts as active with >= this many datagrams within network_active_window_us
  // before its last one; a network never active raises nothing.
  int64_t network_min_datagrams = 5;
  int64_t network_active_window_us = 3600 * 1'000'000LL;
  // A network silent this long is forgotten (its alert resolves); at most max_networks
  // are tracked, the longest silent evicted first.
  int64_t network_forget_us = 24 * 3600 * 1'000'000LL;
  int64_t max_networks = 4096;

  struct Sink {
    enum class Type { kLog, kFile, kExec, kWebhook, kSyslog };
    Type type = Type::kLog;
    std::string target;  // file path, shell command, http(s):// URL, "host:port" of the NMS
    int64_t timeout_us = 5 * 1'000'000LL;
    std::string ca_file;     // webhook over https: trusted CAs (PEM); "" = the system's
    bool verify_tls = true;  // webhook over https: check the certificate and host name
  };
  std::vector<Sink> sinks{Sink{}};
  int64_t sink_queue = 1000;                      // alerts waiting per sink
  int64_t retry_initial_us = 1'000'000LL;         // first back-off
  int64_t retry_max_us = 5 * 60 * 1'000'000LL;    // back-off cap
  int64_t retry_give_up_us = 3600 * 1'000'000LL;  // an alert older than this is dropped
  std::string syslog_hostname;                    // "" = gethostname()
  int syslog_facility = 16;                       // local0
};

// Reads the top-level "alerts" object of a resyncwatch config file (other top-level keys
// are ignored; an absent "alerts" gives the defaults above). Errors name the key and the
// value: "alerts.rules.failures.window: 'x' is not a duration".
Result<AlertConfig> AlertConfigFromJson(std::string_view config_json_text);
// The same for the text of the "alerts" object itself ("" gives the defaults).
Result<AlertConfig> AlertConfigFromAlertsJson(std::string_view alerts_json_text);
// Every key of the "alerts" section with its default, from the tables that read them.
std::vector<ConfigKeyDoc> AlertConfigKeyDocs();

struct Alert {
  enum class State : uint8_t { kFiring, kResolved };
  std::string id;  // "<rule>/<group value>/<started_us>", stable per incident
  AlertRule rule = AlertRule::kFleetFailures;
  std::string group_value;  // "" for the fleet; host, error text, model or MAC otherwise
  State state = State::kFiring;
  int64_t window_us = 0;          // 0 for the device rule
  double threshold = 0;           // N, R or K
  int64_t failures = 0;           // in the window (device rule: consecutive failures)
  int64_t attempts = 0;           // in the window (ratio rules; 0 otherwise)
  int64_t incident_failures = 0;  // all failures seen in the group since it fired
  int64_t first_us = 0;           // first failure of the incident (event time)
  int64_t last_us = 0;            // latest failure of the incident
  int64_t started_us = 0;         // when it fired
  int64_t updated_us = 0;
  int64_t resolved_us = 0;  // 0 while firing
  std::string last_error;
  std::vector<MacAddress> sample_macs;  // distinct, at most AlertConfig::sample_macs
  // Schedule rules: phones in the state (overdue, hammering) and phones with a known state,
  // as of the latest analysis; silence rules: phones due (fleet) or datagrams in the
  // active window before the silence (network). first_us/last_us: the last datagram.
  int64_t phones = 0;
  int64_t fleet_phones = 0;
  double share_threshold = 0;  // schedule_overdue: P, as a share (0.05)
};

// One JSON object (no newline): what the sinks deliver and the store keeps.
std::string AlertToJson(const Alert& alert);
AlertRecord ToAlertRecord(const Alert& alert);
// Reads back what AlertToJson wrote (for `resyncwatch alerts`); errors name the field.
Result<Alert> AlertFromJson(std::string_view json);
// "52 failures within 5m (>= 50)"-style one-line description, starting with the state.
std::string AlertSummary(const Alert& alert);

struct AlertChange {
  enum class Kind : uint8_t { kFired, kUpdated, kResolved };
  Kind kind = Kind::kFired;
  Alert alert;
};
std::string_view ToString(AlertChange::Kind kind);  // "fired", "updated", "resolved"

// Called on the engine's thread for each change; must not block for long (persist it,
// hand it to an AlertDispatcher).
using AlertListener = std::function<void(const AlertChange&)>;

// A sender network: the /24 of an IPv4 source address, the /64 of an IPv6 one (an
// IPv4-mapped IPv6 address is IPv4). A relay's address is the source of what it relays.
struct SenderNetwork {
  bool v6 = false;
  uint64_t prefix = 0;  // the network's leading 24 (IPv4) or 64 (IPv6) bits
  // REQUIRES: addr holds 4 (IPv4) or 16 (IPv6) bytes in network order.
  static SenderNetwork FromIpv4(const uint8_t* addr);
  static SenderNetwork FromIpv6(const uint8_t* addr);
  std::string ToString() const;  // "192.0.2.0/24", "2001:db8:0:1::/64"
  bool operator==(const SenderNetwork&) const = default;
};

// What the schedule rules need from one schedule analysis of the fleet.
struct FleetScheduleSummary {
  int64_t now_us = 0;                       // the analysis' "now"
  int64_t phones = 0;                       // phones with a known state (at least one attempt)
  int64_t overdue = 0;                      // phones in state overdue
  int64_t hammering = 0;                    // phones in state hammering
  std::vector<MacAddress> worst_overdue;    // longest overdue first, at most sample_macs
  std::vector<MacAddress> worst_hammering;  // most early gaps first, at most sample_macs
  std::vector<int64_t> window_starts;       // each phone's next window opens, ascending
  // Phones whose next window has opened by t_us.
  int64_t DueAt(int64_t t_us) const;
};

class AlertEngine {
 public:
  AlertEngine(const AlertConfig& config, AlertListener listener);
  ~AlertEngine();
  AlertEngine(const AlertEngine&) = delete;
  AlertEngine& operator=(const AlertEngine&) = delete;

  // Feeds one stored event (uses event_time_us, kind, mac, server, error, model).
  // Resync and upgrade successes and failures count; requests only tell which server a
  // device uses (failure messages name none); other kinds are ignored. Constant work per
  // event; may fire alerts.
  void Observe(const Event& event);
  // The same for a batch, in order; with 100,000 phones each device's entry is a cache
  // miss, so the entries a few events ahead are loaded while one is observed.
  void Observe(std::span<const Event> events);
  // One received datagram (parsed or not) from a sender network, at the collector's
  // receive time. Constant work; the silence rules are judged by Tick().
  void ObserveDatagram(const SenderNetwork& network, int64_t received_us);
  // Any thread: the latest schedule analysis, judged (schedule rules) at the next Tick().
  void SetFleetSchedule(FleetScheduleSummary summary);
  // Advances time (about once a second): resolves quiet incidents, emits throttled
  // updates of firing ones, evicts idle groups, judges the schedule and silence rules.
  // now_us must not go backwards much.
  void Tick(int64_t now_us);

  // Alerts firing now for a rule; safe from any thread.
  int64_t ActiveCount(AlertRule rule) const;
  // Copies of the firing alerts (engine thread only).
  std::vector<Alert> ActiveAlerts() const;
  // Groups evicted or refused because a dimension was full (engine thread only).
  int64_t evicted_groups() const;
  // Sender networks tracked now, and evicted because max_networks were tracked (any thread).
  int64_t tracked_networks() const;
  int64_t evicted_networks() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Prometheus text lines for active alerts by rule, with HELP and TYPE:
// resyncwatch_active_alerts{rule="fleet_failures"} 0 ... (every rule, zeros included),
// then resyncwatch_alert_networks (tracked) and resyncwatch_alert_networks_evicted_total.
std::string RenderActiveAlertsMetrics(const AlertEngine& engine);

class ScheduleConfigSet;  // schedule/schedule.h

// One schedule analysis (AnalyzeFleet on one thread) of the store's events within
// config.schedule_range_us before now_us, reduced to a summary. Errors are the store's.
Result<FleetScheduleSummary> AnalyzeFleetSchedule(const Store& store,
                                                  const ScheduleConfigSet& schedules,
                                                  const AlertConfig& config, int64_t now_us);

// Runs AnalyzeFleetSchedule on its own thread whenever Tick() finds the last run
// schedule_interval_us old, and hands each summary to the engine; ingest never waits for
// it (a Tick while a run is under way asks for nothing). Tick/Stop/RenderMetrics are
// thread-safe. REQUIRES: store, engine and clock outlive the watcher.
class FleetScheduleWatcher {
 public:
  FleetScheduleWatcher(const Store* store, const ScheduleConfigSet& schedules,
                       const AlertConfig& config, AlertEngine* engine, const Clock* clock);
  ~FleetScheduleWatcher();  // Stop()s
  FleetScheduleWatcher(const FleetScheduleWatcher&) = delete;
  FleetScheduleWatcher& operator=(const FleetScheduleWatcher&) = delete;

  void Start();
  // Asks the thread for a run as of now_us when due (the first call always is). While
  // ingest_busy (a burst is being written) a due run waits, at most one interval: a
  // mass-reboot storm is when receiving needs the cores, and the analysis is as good a
  // few seconds later. Returns whether a run was asked for.
  bool Tick(int64_t now_us, bool ingest_busy = false);
  // Waits for a run under way to end, then joins the thread.
  void Stop();
  // Synchronous, on the caller's thread: one run as of now_us handed to the engine.
  Status RunOnce(int64_t now_us);
  // resyncwatch_schedule_analyses_total{result="ok|error"} and
  // resyncwatch_schedule_analysis_seconds (the latest run's duration).
  std::string RenderMetrics() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Delivers alert changes (kFired and kResolved; kUpdated is only for the store) to the
// configured sinks, each on its own thread with a bounded queue, retrying a failing sink
// with exponential back-off. Submit() never blocks: a full queue drops and counts.
class AlertDispatcher {
 public:
  // Every time the dispatcher reads (queueing, retry back-off, giving up, the syslog
  // sink's timestamp) comes from clock. REQUIRES: clock outlives the dispatcher.
  static Result<std::unique_ptr<AlertDispatcher>> Start(
      const AlertConfig& config, const Clock* clock = &SystemClock::Instance());
  virtual ~AlertDispatcher() = default;

  // Thread-safe; returns false when some sink's queue was full (the alert is counted as
  // dropped for that sink).
  virtual bool Submit(const AlertChange& change) = 0;
  // Delivers what is queued until deadline_us (by the clock), then stops the threads.
  virtual void Stop(int64_t deadline_us) = 0;

  struct SinkStats {
    std::string name;  // "log", "file", "exec", "webhook", "syslog"
    int64_t delivered = 0;
    int64_t failed_attempts = 0;
    int64_t dropped = 0;  // queue full or given up
    int64_t queued = 0;
  };
  virtual std::vector<SinkStats> Stats() const = 0;
  // Waits until done(Stats()) holds, woken by every change of the statistics (a queued,
  // delivered, failed or dropped alert), not by polling; false when timeout passes first.
  virtual bool WaitFor(const std::function<bool(const std::vector<SinkStats>&)>& done,
                       std::chrono::milliseconds timeout) const = 0;
  // resyncwatch_alert_notifications_total{sink="...",result="delivered|failed|dropped"}.
  virtual std::string RenderMetrics() const = 0;
};

}  // namespace resyncwatch
