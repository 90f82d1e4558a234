// FleetStats: what `resyncwatch fleet` computes from a range of events: devices seen,
// attempts and outcomes, devices whose last attempt failed, top errors and servers,
// per-group rows (--by) and per-bucket counts for the chart. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/store.h"

namespace resyncwatch {

struct OutcomeCounts {
  uint64_t attempts = 0;  // requests
  uint64_t successes = 0;
  uint64_t failures = 0;
  // successes / (successes + failures); -1 when neither.
  double SuccessRate() const;
};

struct GroupRow {
  std::string key;
  uint64_t devices = 0;
  OutcomeCounts counts;
  uint64_t devices_last_failed = 0;
};

struct Bucket {
  int64_t start_us = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
};

enum class GroupBy { kNone, kModel, kServer, kError, kHour };

class FleetStats {
 public:
  // bucket_us: width of the chart buckets, aligned to multiples of it since the epoch.
  FleetStats(GroupBy by, int64_t bucket_us);

  void Add(const Event& e);

  uint64_t events() const { return events_; }
  uint64_t devices() const { return devices_.size(); }
  const OutcomeCounts& resync() const { return resync_; }
  const OutcomeCounts& upgrade() const { return upgrade_; }
  OutcomeCounts total() const;
  uint64_t DevicesLastFailed() const;
  // Most frequent first, at most n.
  std::vector<std::pair<std::string, uint64_t>> TopErrors(size_t n) const;
  std::vector<std::pair<std::string, OutcomeCounts>> TopServers(size_t n) const;
  // One row per group, largest first (by time for kHour).
  std::vector<GroupRow> Groups() const;
  std::vector<Bucket> Buckets() const;

 private:
  struct DeviceState {
    int8_t last_outcome = 0;  // 0 none, 1 success, -1 failure
    std::string model;
    std::string server;  // of its latest request
  };
  struct Group {
    std::unordered_set<MacAddress> devices;
    OutcomeCounts counts;
  };
  Group& GroupFor(const Event& e, const DeviceState& d);

  GroupBy by_;
  int64_t bucket_us_;
  uint64_t events_ = 0;
  OutcomeCounts resync_, upgrade_;
  std::unordered_map<MacAddress, DeviceState> devices_;
  std::unordered_map<std::string, uint64_t> errors_;
  std::unordered_map<std::string, OutcomeCounts> servers_;
  std::unordered_map<std::string, Group> groups_;
  std::unordered_map<int64_t, Bucket> buckets_;
};

}  // namespace resyncwatch
