// recovery: what `resyncwatch recovery` knows about the phones whose last resync attempt
// failed: back-off step and next retry from the schedule analysis (AnalyzeFleet, as
// `schedule --fleet`), server and address from the device summaries and the latest
// failure messages, and the buckets of "will have retried by itself within". The helpers
// are pure; CollectRecovery reads a store (reads are thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schedule/schedule.h"
#include "store/store.h"

namespace resyncwatch {

// The host of "scheme://[user:pass@]host[:port]/path", IPv6 without its brackets
// ("2001:db8::5"); "" when the text is not such a URL.
std::string UrlHost(std::string_view url);

// "http://10.1.2.3/admin/resync", "http://[2001:db8::7]/admin/resync".
// REQUIRES: IsIpAddress(ip) (common/net_address.h).
std::string ForceResyncUrl(std::string_view ip);

// Phones that will have retried by themselves within 10 min, 1 h, 6 h and 24 h of now
// (cumulative: a phone due in 5 min counts in all four; one already past due counts as
// due now), and those that never will (retries disabled).
struct RetryBuckets {
  static constexpr std::array<int64_t, 4> kWithinSeconds = {600, 3600, 6 * 3600, 24 * 3600};
  std::array<int64_t, 4> within{};
  int64_t never = 0;
  int64_t phones = 0;
  void Add(std::optional<int64_t> next_due_us, int64_t now_us);
};

struct FailingPhone {
  MacAddress mac = 0;
  std::string model;
  int backoff_step = 0;                // failures in a row
  std::optional<int64_t> next_due_us;  // none: retries disabled
  std::string server;                  // bare host of its latest URL; "" when none
  std::string ip;                      // its address; "" when not known
  // Where the address comes from.
  std::string source_ip;  // the summary's last_ip: source of its latest datagram
  std::string host;       // host field of its latest failure message
  int64_t last_failure_us = 0;
  bool host_read = false;  // host is known (the analysis' scan saw that message)
};

struct RecoveryQuery {
  const ScheduleConfigSet* configs = nullptr;
  AnalysisOptions options;
  TimeRange range;  // of the schedule analysis
  int64_t now_us = 0;
  std::string server;  // only this server (bare host, any case); "" = all
  // Costs weighed to read the latest failure messages: a scan from the earliest one passes
  // every event after it, a History lookup reads one. Measured on the 100,000-phone
  // schedule_bench store (CPU microseconds).
  double scan_us_per_event = 0.38;
  double lookup_us = 20;
};

// CollectRecovery's first step, which needs no schedule config (a command reads them while
// its config file is parsed): the devices whose last attempt in range may have failed, by
// their summaries, and the fleet's event rate.
struct RecoveryCandidates {
  std::vector<DeviceSummary> devices;
  double events_per_us = 0;
};
Status ReadRecoveryCandidates(const Store& store, TimeRange range, RecoveryCandidates* out);

// The phones whose last attempt in q.range failed (per AnalyzeFleet), in no set order.
// The address is the host field of the latest failure message when that is an IP address
// (a relay or an archive wrote it); none when it is a name (a relay's own: the source is
// the relay's too); otherwise the source address of the phone's own datagrams.
// REQUIRES: candidates read for q.range.
Status CollectRecovery(const Store& store, const RecoveryQuery& q,
                       const RecoveryCandidates& candidates, std::vector<FailingPhone>* phones);
// Both steps.
Status CollectRecovery(const Store& store, const RecoveryQuery& q,
                       std::vector<FailingPhone>* phones);

}  // namespace resyncwatch
