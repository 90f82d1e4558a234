// FleetStats: what `resyncwatch fleet` computes from a range of events: devices seen,
// attempts and outcomes, devices whose last attempt failed, top errors and servers,
// per-group rows (--by) and per-bucket counts for the chart. Partial results over
// consecutive time slices merge into one (MergeLater), equal to one scan of the whole
// range whatever the slices. FleetSummary is the finished result the command renders;
// FleetStats (a scan) and FleetRollup (query/fleet_rollup.h, per-minute rollups) both
// produce it. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
  bool operator==(const OutcomeCounts&) const = default;
  void Add(const OutcomeCounts& o) {
    attempts += o.attempts;
    successes += o.successes;
    failures += o.failures;
  }
};

struct GroupRow {
  std::string key;  // model, server or error text; for --by hour the hour's start (micros)
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

// What `fleet` prints, whoever computed it.
struct FleetSummary {
  GroupBy by = GroupBy::kNone;
  uint64_t events = 0;
  uint64_t devices = 0;
  uint64_t devices_last_failed = 0;
  OutcomeCounts resync, upgrade;
  int64_t first_us = 0;  // of the first and last event (0 when none)
  int64_t last_us = 0;
  // Every error with failures, most first; every server with counts, most attempts first.
  std::vector<std::pair<std::string, uint64_t>> errors;
  std::vector<std::pair<std::string, OutcomeCounts>> servers;
  std::vector<GroupRow> groups;  // as FleetStats::Groups()
  std::vector<Bucket> minutes;   // outcomes per minute, any order

  OutcomeCounts total() const;
  std::vector<std::pair<std::string, uint64_t>> TopErrors(size_t n) const;
  std::vector<std::pair<std::string, OutcomeCounts>> TopServers(size_t n) const;
  // As FleetStats::Buckets.
  std::vector<Bucket> Buckets(int64_t width_us) const;
};

// The orders the command prints in (ties by name, so any input order gives one output).
void SortErrors(std::vector<std::pair<std::string, uint64_t>>* v);
void SortServers(std::vector<std::pair<std::string, OutcomeCounts>>* v);
// REQUIRES: for kHour, each key is the hour's start in decimal micros.
void SortGroups(GroupBy by, std::vector<GroupRow>* rows);

class FleetStats {
 public:
  // Outcomes are counted per minute; Buckets() widens them for the chart.
  explicit FleetStats(GroupBy by);

  // REQUIRES: events in time order.
  void Add(const Event& e);
  // Folds in the stats of the time slice that follows this one.
  void MergeLater(const FleetStats& later);

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
  // Successes and failures per width_us (a multiple of a minute), aligned to multiples
  // of it since the epoch, in time order.
  std::vector<Bucket> Buckets(int64_t width_us) const;
  // Time of the first and last event added (0 when none).
  int64_t first_us() const { return first_us_; }
  int64_t last_us() const { return last_us_; }
  FleetSummary Summarize() const;

 private:
  // Small sets of repeated strings (models, servers, errors) as dense ids; 0 is "".
  class Interner {
   public:
    Interner() : names_{""} {}
    uint32_t Id(std::string_view s);
    const std::string& Name(uint32_t id) const { return names_[id]; }
    size_t size() const { return names_.size(); }

   private:
    struct Hash {
      using is_transparent = void;
      size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
    };
    std::vector<std::string> names_;
    std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
  };
  struct DeviceTally {
    int8_t last_outcome = 0;  // 0 none, 1 success, -1 failure
    uint32_t model = 0;
    uint32_t server = 0;     // of its latest request
    bool requested = false;  // a request seen in this slice
    // Outcomes counted under server 0 for want of a request earlier in this slice: an
    // earlier slice's request claims them on merge.
    uint32_t orphan_successes = 0;
    uint32_t orphan_failures = 0;
    // The same for the --by server or model groups: events put in group 0 for want of a
    // request (a model) earlier in this slice, and whether group 0 also has it otherwise.
    OutcomeCounts orphan_group;
    uint32_t orphan_events = 0;
    bool zero_member = false;
  };
  struct Group {
    std::unordered_set<MacAddress> devices;
    OutcomeCounts counts;
    uint64_t events = 0;  // events keyed to it
  };
  // The server or model an earlier slice gives a device's orphan events, if any.
  std::optional<uint32_t> Reference(const DeviceTally& d) const;
  // MergeLater's steps. IdMaps: the later slice's ids in this slice's interners.
  struct IdMaps {
    std::vector<uint32_t> model, server, error;
  };
  // Later events put in group 0 for want of a request (model) in their slice, moved to
  // the group of the earlier slices' latest one.
  struct OrphanMove {
    MacAddress mac;
    uint32_t to;
    OutcomeCounts counts;
    uint32_t events;
    bool leaves_zero;
  };
  void MergeTotals(const FleetStats& later, const IdMaps& ids);
  std::vector<OrphanMove> FindOrphanMoves(const FleetStats& later) const;
  void MergeDevices(const FleetStats& later, const IdMaps& ids);
  void MergeGroups(const FleetStats& later, const IdMaps& ids);
  void ApplyOrphanMoves(const std::vector<OrphanMove>& moves);
  // Add's grouping step: the event's group and the device's orphan bookkeeping.
  void AddToGroup(const Event& e, DeviceTally& d, const OutcomeCounts* family, int outcome,
                  uint32_t error);
  Group& GroupFor(int64_t key) { return groups_[key]; }
  std::string GroupName(int64_t key) const;

  GroupBy by_;
  uint64_t events_ = 0;
  int64_t first_us_ = 0;
  int64_t last_us_ = 0;
  OutcomeCounts resync_, upgrade_;
  Interner models_, servers_, errors_;
  std::unordered_map<MacAddress, DeviceTally> devices_;
  std::vector<uint64_t> error_counts_;         // by error id
  std::vector<OutcomeCounts> server_counts_;   // by server id
  std::unordered_map<int64_t, Group> groups_;  // by interned id, or hour start for kHour
  std::unordered_map<int64_t, Bucket> buckets_;
};

}  // namespace resyncwatch
