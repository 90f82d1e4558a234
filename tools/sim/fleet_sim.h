// FleetSim: a discrete-event simulation of N Cisco MPP/SPA phones resyncing under the
// schedule rules (schedule/schedule.h) on a simulated clock with a seeded RNG, with
// provisioning-server outages, reboots after firmware upgrades, offline phones and a share
// of misconfigured phones; it records every message a phone sends and the ground truth
// (each gap's expected rule, window and verdict, each phone's final state). Internal to
// tools/sim and its tests; a FleetSim is a plain value, not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parsers/parsers.h"
#include "schedule/schedule.h"

namespace resyncwatch {

struct SimOptions {
  int phones = 1000;
  int64_t start_us = 1795305600LL * 1'000'000;  // 2026-11-22T00:00:00Z
  int64_t duration_us = 3LL * 86400 * 1'000'000;
  uint64_t seed = 1;
  double misconfigured_share = 0.02;           // hammering / wrong retry list / short periodic
  double offline_share = 0.02;                 // go off for hours, half of them never come back
  double upgrade_share = 0.03;                 // one firmware upgrade (reboot, resync on demand)
  double random_failure = 0.004;               // "corrupt file" on an attempt
  bool outages = true;                         // provisioning-server outage windows
  std::string default_periodic = "10800+600";  // the fleet-wide Resync_Periodic
};

enum class Misconfig : uint8_t { kNone, kHammering, kWrongRetryList, kShortPeriodic };
std::string_view ToString(Misconfig m);

struct SimServer {
  std::string scheme;
  std::string ip;
  int port = 0;
  std::vector<std::pair<int64_t, int64_t>> outages;  // [from, to)
};

struct SimPhone {
  MacAddress mac = 0;
  std::string model;
  int server = 0;
  int profiles = 1;            // Profile_Rule, _B, _C fetched per cycle
  bool identifier_ma = false;  // Syslog_Identifier $MA (else None)
  Misconfig misconfig = Misconfig::kNone;
  ScheduleConfig expected;    // what the fleet config says
  ScheduleConfig actual;      // what the phone really does
  int64_t offline_at_us = 0;  // 0 = stays on
  int64_t back_at_us = 0;     // 0 = never comes back
  int64_t upgrade_at_us = 0;  // 0 = no upgrade
};

// One message a phone sends.
struct SimEvent {
  int64_t time_us = 0;
  uint32_t phone = 0;
  EventKind kind = EventKind::kUnknown;
  uint8_t profile = 0;  // 0..2: which profile URL
  uint8_t error = 0;    // 0 http_get failed, 1 corrupt file, 2 upgrade: no such file
};

struct TruthGap {
  uint32_t phone = 0;
  Gap gap;
};

struct TruthFinal {
  uint32_t phone = 0;
  DeviceAnalysis analysis;  // gaps left empty; verdict counts, next, state filled
};

class FleetSim {
 public:
  explicit FleetSim(SimOptions options);

  // The fleet's schedule config (the "schedule" section), as the sim judges phones by it.
  const std::string& config_json() const { return config_json_; }
  // Runs the whole simulation. Events come out sorted by time.
  void Run();

  const SimOptions& options() const { return options_; }
  const std::vector<SimServer>& servers() const { return servers_; }
  const std::vector<SimPhone>& phones() const { return phones_; }
  const std::vector<SimEvent>& events() const { return events_; }
  const std::vector<TruthGap>& gaps() const { return gaps_; }
  const std::vector<TruthFinal>& finals() const { return finals_; }
  int64_t end_us() const { return options_.start_us + options_.duration_us; }
  // Truth gaps the simulator could not make unambiguous (should be 0).
  int64_t anomalies() const { return anomalies_; }
  // The analysis options the truth is computed with (defaults, whole range from power-on).
  static AnalysisOptions TruthOptions();

  // The text the phone sends for an event (default templates), e.g.
  // "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/a.xml".
  std::string MessageText(const SimEvent& e) const;
  // The line rsyslog writes to a file for it (RSYSLOG_FileFormat, full ISO-8601 time).
  std::string ArchiveLine(const SimEvent& e) const;
  // The datagram the phone sends (BSD syslog header from the simulated clock).
  std::string Datagram(const SimEvent& e) const;

 private:
  void MakeServers(uint64_t seed);
  void MakePhones();
  void SimulatePhone(uint32_t index);
  std::string UrlFor(const SimPhone& p, int profile) const;

  SimOptions options_;
  std::string config_json_;
  std::vector<SimServer> servers_;
  std::vector<SimPhone> phones_;
  std::vector<SimEvent> events_;
  std::vector<TruthGap> gaps_;
  std::vector<TruthFinal> finals_;
  int64_t anomalies_ = 0;
};

}  // namespace resyncwatch
