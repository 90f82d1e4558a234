// schedule: the Cisco MPP/SPA resync rules (Resync_Periodic, Resync_Error_Retry_Delay,
// Resync_Random_Delay, Resync_At__HHmm_), their JSON configuration, and the analysis that
// judges one device's resync attempts against them. Pure logic: callers pass events and
// "now"; no I/O, no clock reads. Every function is thread-safe; parsed values are immutable.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/flags.h"
#include "common/status.h"
#include "parsers/parsers.h"

namespace resyncwatch {

struct Event;  // store/store.h

// ---------------------------------------------------------------------------------------
// Rule forms

// One wait: between min_s and max_s seconds. "3000" -> [3000,3000]; "2400+30" -> [2400,2430].
struct DelaySpec {
  int64_t min_s = 0;
  int64_t max_s = 0;
  bool operator==(const DelaySpec&) const = default;
};
// Errors name the text: "'12x' is not a delay (N or A+B seconds)".
Result<DelaySpec> ParseDelaySpec(std::string_view text);

// A Resync_Periodic or Resync_Error_Retry_Delay value: "0" (disabled), one delay, or a
// comma list where the n-th value applies to the n-th consecutive wait and the last repeats.
class RetrySchedule {
 public:
  RetrySchedule() = default;  // disabled
  explicit RetrySchedule(std::vector<DelaySpec> delays) : delays_(std::move(delays)) {}
  static Result<RetrySchedule> Parse(std::string_view text);

  bool disabled() const { return delays_.empty(); }
  // The n-th consecutive wait (n >= 1; the last value repeats). REQUIRES: !disabled().
  const DelaySpec& At(int n) const;
  // The smallest n whose wait, widened by tolerance_s, contains seconds; 0 when none.
  int StepFitting(double seconds, double tolerance_s) const;
  const std::vector<DelaySpec>& delays() const { return delays_; }
  std::string ToString() const;  // canonical text, "0" when disabled

 private:
  std::vector<DelaySpec> delays_;
};

constexpr std::string_view kDefaultPeriodic = "3600";
constexpr std::string_view kDefaultRetryMpp =
    "60,120,240,480,960,1920,3840,7680,15360,30720,61440,86400";
constexpr std::string_view kDefaultRetrySpa = "3600";
constexpr int kDefaultRandomDelay = 2;  // x 20 s
constexpr int kResyncRandomDelayUnitS = 20;
constexpr int kDefaultAtRandomDelayS = 600;

// Resync_At__HHmm_: minutes after local midnight (0..1440) when the text is a valid
// "HHmm" in 0000-2400; std::nullopt otherwise (the phone ignores an invalid value).
std::optional<int> ParseResyncAt(std::string_view text);
// Resync_At_Random_Delay (s) -> the window after HHmm in seconds: (v + 30) / 60 whole
// minutes (the value rounded to the nearest minute: 600 -> 600, 900 -> 900); 600 s for any
// value below 600.
int64_t ResyncAtWindowSeconds(int64_t at_random_delay_s);
constexpr int64_t kDefaultForcedResyncDelayS = 14400;

// Which resync messages the fleet sends: a kind whose template list is empty in the
// config's "templates" section is not sent, and its absence means something.
struct MessagesSent {
  bool request = true;
  bool success = true;
  bool failure = true;
};

// ---------------------------------------------------------------------------------------
// Configuration

struct ScheduleConfig {
  RetrySchedule periodic;                  // Resync_Periodic
  RetrySchedule retry;                     // Resync_Error_Retry_Delay
  int random_delay = kDefaultRandomDelay;  // Resync_Random_Delay, units of 20 s
  std::string at_text;                     // Resync_At__HHmm_ as configured ("" = unset)
  std::optional<int> at_minute;            // valid Resync_At__HHmm_, overrides periodic
  int64_t at_random_delay_s = kDefaultAtRandomDelayS;  // Resync_At_Random_Delay
  int utc_offset_minutes = 0;                          // the phone's time zone, for Resync_At
  int64_t forced_resync_delay_s = kDefaultForcedResyncDelayS;  // waits for idle lines
  bool resync_on_reset = true;          // Resync_On_Reset: an attempt follows every power-on
  bool fails_on_fnf = true;             // Resync_Fails_On_FNF: file not found fails the resync
  bool provision_enable = true;         // Provision_Enable: No = the phone never resyncs
  bool has_trigger_conditions = false;  // Resync_Trigger_1/2 set: not visible in syslog
  MessagesSent sent;                    // from the "templates" section

  // The phone's factory defaults (MPP): periodic 3600, the MPP retry list, delay 2.
  static ScheduleConfig FactoryDefault();
  int64_t RandomDelaySeconds() const { return int64_t{random_delay} * kResyncRandomDelayUnitS; }
};

// Only the keys an override names.
struct ScheduleOverride {
  std::optional<RetrySchedule> periodic;
  std::optional<RetrySchedule> retry;
  std::optional<int> random_delay;
  std::optional<std::string> at_text;
  std::optional<int64_t> at_random_delay_s;
  std::optional<int> utc_offset_minutes;
  std::optional<int64_t> forced_resync_delay_s;
  std::optional<bool> resync_on_reset;
  std::optional<bool> fails_on_fnf;
  std::optional<bool> provision_enable;
  std::optional<bool> has_trigger_conditions;
  void ApplyTo(ScheduleConfig* config) const;
};

// The "schedule" section of the resyncwatch config file:
//   {"schedule": {"defaults": {...}, "models": {"CP-8851-3PCC": {...}},
//                 "macs": {"00:0e:08:ab:cd:ef": {...}}}}
// with keys Resync_Periodic, Resync_Error_Retry_Delay, Resync_Random_Delay,
// Resync_At__HHmm_, Resync_At_Random_Delay, Forced_Resync_Delay (strings or integers),
// Resync_On_Reset, Resync_Fails_On_FNF, Provision_Enable (Yes/No), Resync_Trigger_1/2
// (accepted, not evaluated) and utc_offset ("+01:00"). The "templates" section of the same
// file gives which messages are sent (MessagesSent).
// Every key of the "schedule" section with the phone's factory default, from the table
// that reads them.
std::vector<ConfigKeyDoc> ScheduleConfigKeyDocs();

class ScheduleConfigSet {
 public:
  ScheduleConfigSet() : defaults_(ScheduleConfig::FactoryDefault()) {}
  // Parses a whole config file: the "schedule" and "templates" sections; other top-level
  // keys are ignored, a missing "schedule" key gives the factory defaults. Errors name the
  // key and the value.
  static Result<ScheduleConfigSet> Parse(std::string_view json);

  // defaults <- model override <- MAC override. When the config's defaults do not set
  // Resync_Error_Retry_Delay, SPA models (model name "SPA...") get their own factory
  // default, 3600, instead of the MPP list.
  ScheduleConfig For(MacAddress mac, std::string_view model) const;
  const ScheduleConfig& defaults() const { return defaults_; }

 private:
  ScheduleConfig defaults_;
  bool defaults_set_retry_ = false;
  std::map<std::string, ScheduleOverride, std::less<>> by_model_;
  std::unordered_map<MacAddress, ScheduleOverride> by_mac_;
};

// ---------------------------------------------------------------------------------------
// Analysis

enum class Outcome : uint8_t { kUnknown = 0, kSuccess = 1, kFailure = 2 };
enum class Rule : uint8_t { kPeriodic, kRetry, kAtHhmm, kPowerOn, kOnDemand };
// Values index DeviceAnalysis::verdicts and are printed in that order: append only.
enum class Verdict : uint8_t { kOnTime = 0, kEarly = 1, kLate = 2, kMissing = 3, kDeferred = 4 };
constexpr int kVerdictCount = 5;
enum class ScheduleState : uint8_t { kOk, kHammering, kDeepBackoff, kOverdue, kGaveUp, kUnknown };

std::string_view ToString(Rule rule);            // "periodic", "retry", "at_hhmm", ...
std::string_view ToString(Verdict verdict);      // "on_time", "early", "late", "missing", ...
std::string_view ToString(ScheduleState state);  // "ok", "hammering", ...
std::string_view ToString(Outcome outcome);      // "unknown", "success", "failure"

struct AnalysisOptions {
  int64_t tolerance_us = 5 * 1'000'000;   // network and clock jitter, both sides of a window
  double tolerance_ratio = 0.005;         // plus this share of the window's end
  int64_t cycle_gap_us = 10 * 1'000'000;  // a cycle's profiles come closer than this
  // The same message of a device again within this is a copy (Syslog_Server and
  // Debug_Server both pointing at the collector).
  int64_t duplicate_window_us = 2 * 1'000'000;
  // An outcome this long after a request still answers it (slow server, HTTP timeout).
  int64_t outcome_wait_us = 300 * 1'000'000LL;
  // An upgrade or NOTIFY makes the next attempt on demand when it comes within this, plus
  // Resync_Random_Delay x 20 s (upgrade: reboot) or Forced_Resync_Delay (NOTIFY: calls).
  int64_t on_demand_window_us = 900 * 1'000'000;
  // overdue: next_due + Forced_Resync_Delay passed by more than this
  int64_t grace_us = 900 * 1'000'000;
  int64_t deep_backoff_us = 3600 * 1'000'000LL;  // failed, next retry wait >= this
  int hammering_min_early = 2;                   // early gaps among the last kHammeringWindow
  // The first attempt of the range may be deep in a back-off; pick the step whose window
  // fits the first gap. Off when the range starts at power-on (simulations).
  bool infer_initial_step = true;
  int threads = 0;  // fleet analysis: worker threads (0 = one per core, at most 8)
};
constexpr int kHammeringWindow = 10;

// What the analysis needs from a stored event. ToResyncEvent reads only the fields a fleet
// scan's event heads carry (Store::ScanHeads: kind, times, URL parts, error; debug events
// whole), so that the fleet path and one device's History judge alike.
struct ResyncEvent {
  int64_t time_us = 0;
  EventKind kind = EventKind::kUnknown;
  bool sip_notify_resync = false;  // a debug SIP NOTIFY "Event: resync"
  bool file_not_found = false;     // a resync failure whose $ERR says the file was not found
  uint32_t text_hash = 0;          // of the message's text: copies have the same
  uint32_t url_hash = 0;           // of the requested URL (requests); 0: none
};
ResyncEvent ToResyncEvent(const Event& event);
// True for a debug message that is a SIP NOTIFY carrying "Event: resync".
bool IsSipNotifyResync(std::string_view message);
// Whether the analysis reads the event: resync and upgrade messages, and SIP NOTIFY
// resyncs among the debug output (scans keep nothing else).
bool MattersToSchedule(const Event& event);

// True for a failure $ERR that says the profile was not found ("404", "not found").
bool IsFileNotFound(std::string_view error);

// One resync attempt: all profiles of one cycle (each a request and its outcome), or bare
// outcomes when the fleet sends no requests. Copies are not counted.
struct Attempt {
  int64_t start_us = 0;
  int64_t end_us = 0;
  Outcome outcome = Outcome::kUnknown;
  bool on_demand = false;  // an upgrade or SIP NOTIFY came within the phone's delay for it
};
// REQUIRES: events in time order. config gives Resync_Fails_On_FNF, the messages sent and
// the on-demand delays.
std::vector<Attempt> GroupAttempts(std::span<const ResyncEvent> events,
                                   const ScheduleConfig& config, const AnalysisOptions& options);

// Consecutive outcomes since the last reset (power-on, on-demand): what picks the n-th value.
struct BackoffState {
  int failures = 0;   // consecutive failures: the retry step
  int successes = 0;  // consecutive successes: the periodic step
  void Apply(Outcome outcome);
};

// When the next attempt is due after an attempt that ended at from_us.
struct Window {
  int64_t earliest_us = 0;
  int64_t latest_us = 0;
  Rule rule = Rule::kPeriodic;
  int step = 0;  // retry step (n-th consecutive failure) or periodic step
};
// std::nullopt when nothing is scheduled (retries or periodic resync disabled).
// REQUIRES: state already includes the attempt that ended at from_us.
std::optional<Window> NextWindow(const ScheduleConfig& config, Outcome last,
                                 const BackoffState& state, int64_t from_us);
int64_t ToleranceUs(const Window& window, int64_t from_us, const AnalysisOptions& options);

struct Gap {
  int64_t from_us = 0;  // end of the previous attempt
  int64_t to_us = 0;    // start of this attempt
  Rule rule = Rule::kPeriodic;
  int retry_step = 0;              // the n of "retry n" (0 unless rule is retry)
  std::optional<Window> expected;  // none when nothing was scheduled
  int64_t tolerance_us = 0;
  Verdict verdict = Verdict::kOnTime;
  Outcome outcome = Outcome::kUnknown;  // of the attempt at to_us
  int64_t observed_us() const { return to_us - from_us; }
};

// Judges an attempt at to_us against the window after from_us: early, on_time, deferred
// (after the window by at most allowance_us, Forced_Resync_Delay), late, or missing when
// it came after `after` (the window that would follow a presumed attempt at
// window.latest_us; std::nullopt: none) plus the allowance: more than one never came.
Verdict Judge(const Window& window, int64_t from_us, int64_t to_us,
              const std::optional<Window>& after, int64_t allowance_us,
              const AnalysisOptions& options);

struct DeviceAnalysis {
  std::vector<Gap> gaps;
  std::array<int64_t, kVerdictCount> verdicts{};
  int64_t attempts = 0;
  int64_t last_attempt_us = 0;  // end of the latest attempt; 0 when none
  Outcome last_outcome = Outcome::kUnknown;
  int backoff_step = 0;                // consecutive failures now
  std::optional<Window> next;          // the next expected attempt
  std::optional<int64_t> next_due_us;  // next->latest_us + tolerance
  int64_t overdue_us = 0;              // now - (next_due + Forced_Resync_Delay) when positive
  int64_t deferral_allowance_us = 0;   // Forced_Resync_Delay: a due attempt may wait this
  bool resyncs_disabled = false;       // Provision_Enable No: nothing is expected
  ScheduleState state = ScheduleState::kUnknown;
};

// REQUIRES: events of one device in time order.
DeviceAnalysis AnalyzeDevice(std::span<const ResyncEvent> events, const ScheduleConfig& config,
                             int64_t now_us, const AnalysisOptions& options);

// The fleet state from a finished analysis (gaps, next window, last outcome) and now.
ScheduleState ClassifyDevice(const DeviceAnalysis& analysis, int64_t now_us,
                             const AnalysisOptions& options);

// ---------------------------------------------------------------------------------------
// Over a store (store/store.h): the events of the range, judged as above.

class Store;
struct TimeRange;
struct DeviceSummary;

// One device's events in range, judged as AnalyzeFleet judges it (a device silent in the
// range from its summary). model receives the device's model (may be null).
Result<DeviceAnalysis> AnalyzeStoredDevice(const Store& store, MacAddress mac,
                                           const ScheduleConfigSet& configs, TimeRange range,
                                           int64_t now_us, const AnalysisOptions& options,
                                           std::string* model);

struct FleetDevice {
  MacAddress mac = 0;
  std::string model;
  DeviceAnalysis analysis;
  // Its latest failure message in range (resync or upgrade; the last one at that time):
  // when, and its host field (a relay's or an archive line's). 0 and "" when none.
  int64_t last_failure_us = 0;
  std::string last_failure_host;
};
// Gets each device once; it may move from it (a fleet's gaps are hundreds of MB).
using FleetVisitor = std::function<void(FleetDevice&)>;
// Every device with events in range (one Scan), plus the devices the store knows that were
// silent in the range (judged from the last outcome in their summary, so that a phone that
// went quiet before the range shows up as overdue). Visit order is unspecified.
Status AnalyzeFleet(const Store& store, const ScheduleConfigSet& configs, TimeRange range,
                    int64_t now_us, const AnalysisOptions& options, const FleetVisitor& visit);
// The same judgement for the given devices only (their summaries, as ForEachDevice gives
// them): one scan that decodes the events of these devices and skips the others on their
// MAC. For recovery, whose phones are those whose last attempt may have failed. The visitor
// is called from the calling thread; the order is unspecified.
Status AnalyzeDevices(const Store& store, const ScheduleConfigSet& configs,
                      std::span<const DeviceSummary> devices, TimeRange range, int64_t now_us,
                      const AnalysisOptions& options, const FleetVisitor& visit);

// ---------------------------------------------------------------------------------------
// JSON shapes (contracts of `resyncwatch schedule --json`, shared with the simulator's truth)

class JsonWriter;
using TimeFormatter = std::function<std::string(int64_t unix_us)>;

// Adds mac, from, to, rule, retry_step, expected_min_s, expected_max_s (null when nothing
// was scheduled), tolerance_s, observed_s, outcome, verdict to the current object.
void AddGapJson(JsonWriter& w, MacAddress mac, const Gap& gap, const TimeFormatter& time);
// Adds mac, model, state, verdicts {on_time, early, late, missing, deferred}, attempts,
// backoff_step,
// last_attempt, last_outcome, next_rule, next_earliest, next_due (null when none), overdue_s.
void AddDeviceJson(JsonWriter& w, MacAddress mac, std::string_view model,
                   const DeviceAnalysis& analysis, const TimeFormatter& time);

}  // namespace resyncwatch
