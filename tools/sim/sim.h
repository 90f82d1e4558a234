// resyncwatch-sim: a fleet of virtual Cisco MPP/SPA phones written from the provisioning
// guide's rules alone (shared reference, section 5), on a simulated clock with a seeded
// random generator. Each phone is a small state machine (power-on delay, periodic timer,
// error back-off, Resync_At__HHmm_, calls, reboots, upgrades, outages, offline periods,
// misconfiguration) that emits what the phone logs, and the ground truth: why each attempt
// happened and how docs/schedule.md says it must be judged. Nothing here comes from the
// analysis in schedule/: the truth is derived from the phone's own timers.
//
// A Fleet is a plain value owned by one caller; Run() is deterministic for a seed. Not
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace resyncwatch::sim {

// One value of Resync_Periodic / Resync_Error_Retry_Delay: "N" (span 0) or "A+B".
struct DelaySpec {
  int64_t base_s = 0;
  int64_t span_s = 0;
};
// A comma list of DelaySpec; the n-th consecutive wait takes the n-th, the last repeats.
// Empty or a lone 0 means disabled.
using DelayList = std::vector<DelaySpec>;
DelayList ParseDelayList(std::string_view text);
std::string FormatDelayList(const DelayList& list);
bool Disabled(const DelayList& list);
const DelaySpec& NthDelay(const DelayList& list, int n);  // n >= 1; REQUIRES: !Disabled

// The provisioning parameters of one phone (what the phone does, or what a config says).
struct PhoneParams {
  DelayList periodic;
  DelayList retry;
  int64_t random_delay = 2;  // Resync_Random_Delay, x 20 s
  int hhmm = -1;             // Resync_At__HHmm_ as minutes after local midnight; -1 none
  int64_t at_random_delay = 600;
  int utc_offset_min = 0;
  int64_t forced_resync_delay = 14400;
  bool fails_on_fnf = true;
  bool provision_enable = true;
};

enum class Rule { kPeriodic, kRetry, kAtHhmm, kPowerOn, kOnDemand };
enum class Verdict { kOnTime, kEarly, kLate, kDeferred, kMissing };
enum class State { kOk, kHammering, kDeepBackoff, kOverdue, kGaveUp, kUnknown };
std::string_view ToString(Rule r);
std::string_view ToString(Verdict v);
std::string_view ToString(State s);

// What a line says. Requests and successes name a profile URL.
enum class MsgKind : uint8_t {
  kRequest,
  kSuccess,
  kFailHttp,      // Resync failed: http_get failed
  kFailCorrupt,   // Resync failed: corrupt file
  kFailNotFound,  // Resync failed: file not found
  kUpgradeRequest,
  kUpgradeSuccess,
  kUpgradeFailure,
};

struct SimLine {
  int64_t t_us;
  uint32_t phone;
  MsgKind kind;
  uint8_t profile;  // 0.. for requests/successes
  bool copy;        // the Debug_Server copy of a dual-delivery phone
};

struct TruthGap {
  uint32_t phone;
  int64_t from_us;
  int64_t to_us;
  Rule rule;
  int retry_step;
  Verdict verdict;
};

struct TruthDevice {
  uint32_t phone;
  State state;
  int backoff_step;
  int attempts;
  bool has_outcome;
  bool last_success;
};

// Behaviour shares (fractions of the fleet); the rest are plain scheduled phones.
struct Shares {
  double hhmm = 0.06;
  double hammer_retry = 0.01;
  double hammer_periodic = 0.01;
  double offline_return = 0.01;
  double offline_never = 0.01;
  double provision_off = 0.01;
  double gave_up = 0.005;
  double fnf = 0.03;  // a per-phone profile that does not exist
  double multi_profile = 0.2;
  double dual = 0.1;
  double identifier = 0.2;  // Syslog_Identifier $MA
  double spa = 0.1;
  double reboot_per_attempt = 0.01;
  double upgrade_per_attempt = 0.004;
  double call_per_attempt = 0.03;
  double corrupt_per_fetch = 0.004;
};

struct Options {
  int phones = 1000;
  int64_t start_us = 0;
  int64_t duration_us = 0;
  uint64_t seed = 1;
  bool no_failure_template = false;  // the fleet's Log_Failure_Msg is empty
  bool wrong_config = false;         // write a config that differs from the phones
  std::string default_periodic;      // when set: every plain phone uses this periodic
  Shares shares;
};

struct Phone {
  uint64_t mac;
  int model;
  int server;
  int profiles;     // 1..3
  int fnf_profile;  // index of the profile that is not found; -1 none
  bool dual;
  bool identifier;
  PhoneParams actual;    // what the phone does
  PhoneParams declared;  // what the NOC's config says (and what the truth judges by)
  std::string behaviour;
};

class Fleet {
 public:
  explicit Fleet(Options options);
  void Run();

  const Options& options() const { return options_; }
  int64_t end_us() const { return options_.start_us + options_.duration_us; }
  const std::vector<Phone>& phones() const { return phones_; }
  // Every line the phones sent, in time order (copies included).
  const std::vector<SimLine>& lines() const { return lines_; }
  const std::vector<TruthGap>& gaps() const { return gaps_; }
  const std::vector<TruthDevice>& devices() const { return devices_; }
  // Counts of random draws thrown away because the truth would have sat within a safety
  // margin of one of the analysis' boundaries, by reason.
  const std::map<std::string, int64_t>& redraws() const { return redraws_; }

  // The phone's message body: "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync ...".
  std::string Body(const SimLine& line) const;
  // An rsyslog file line (ISO time, model as host, the MAC split after "00:").
  std::string ArchiveLine(const SimLine& line) const;
  void AppendArchiveLine(const SimLine& line, std::string* out) const;
  // The phone's own datagram: "<134>Nov 22 00:00:01 [identifier] body".
  std::string Datagram(const SimLine& line) const;
  // The resyncwatch config (schedule section, and templates when failures are not sent).
  std::string ConfigJson() const;
  std::string TruthJsonLines() const;
  std::string MacText(uint32_t phone) const;

 private:
  void BuildPhones();
  void AppendBody(const SimLine& line, bool split_mac, std::string* out) const;
  Options options_;
  std::vector<Phone> phones_;
  std::vector<SimLine> lines_;
  std::vector<TruthGap> gaps_;
  std::vector<TruthDevice> devices_;
  std::map<std::string, int64_t> redraws_;
};

}  // namespace resyncwatch::sim
