#include "query/fleet_stats.h"

#include <algorithm>

namespace resyncwatch {
namespace {

constexpr int64_t kHourUs = int64_t{3600} * 1'000'000;

std::string_view OrNone(std::string_view s) { return s.empty() ? "(none)" : s; }

int64_t FloorTo(int64_t t, int64_t width) {
  int64_t q = t / width;
  if (t % width != 0 && t < 0) --q;
  return q * width;
}

}  // namespace

double OutcomeCounts::SuccessRate() const {
  uint64_t n = successes + failures;
  return n == 0 ? -1.0 : static_cast<double>(successes) / static_cast<double>(n);
}

FleetStats::FleetStats(GroupBy by, int64_t bucket_us) : by_(by), bucket_us_(bucket_us) {}

OutcomeCounts FleetStats::total() const {
  return {resync_.attempts + upgrade_.attempts, resync_.successes + upgrade_.successes,
          resync_.failures + upgrade_.failures};
}

FleetStats::Group& FleetStats::GroupFor(const Event& e, const DeviceState& d) {
  std::string key;
  switch (by_) {
    case GroupBy::kModel:
      key = !e.model.empty() ? e.model : d.model;
      break;
    case GroupBy::kServer:
      key = !e.server.empty() ? e.server : d.server;
      break;
    case GroupBy::kError:
      key = e.error;
      break;
    case GroupBy::kHour:
      key = std::to_string(FloorTo(e.event_time_us, kHourUs));
      break;
    case GroupBy::kNone:
      break;
  }
  return groups_[std::string(OrNone(key))];
}

void FleetStats::Add(const Event& e) {
  ++events_;
  static DeviceState no_device;
  DeviceState& d = e.mac != 0 ? devices_[e.mac] : no_device;
  if (!e.model.empty() && d.model != e.model) d.model = e.model;

  OutcomeCounts* family = nullptr;
  int outcome = 0;
  switch (e.kind) {
    case EventKind::kResyncRequest:
    case EventKind::kUpgradeRequest:
      family = e.kind == EventKind::kResyncRequest ? &resync_ : &upgrade_;
      ++family->attempts;
      if (d.server != e.server) d.server = e.server;
      ++servers_[std::string(OrNone(e.server))].attempts;
      break;
    case EventKind::kResyncSuccess:
    case EventKind::kUpgradeSuccess:
      family = e.kind == EventKind::kResyncSuccess ? &resync_ : &upgrade_;
      ++family->successes;
      outcome = 1;
      ++servers_[std::string(OrNone(!e.server.empty() ? e.server : d.server))].successes;
      break;
    case EventKind::kResyncFailure:
    case EventKind::kUpgradeFailure:
      family = e.kind == EventKind::kResyncFailure ? &resync_ : &upgrade_;
      ++family->failures;
      outcome = -1;
      ++errors_[std::string(OrNone(e.error))];
      ++servers_[std::string(OrNone(d.server))].failures;
      break;
    default:
      break;
  }
  if (outcome != 0) {
    d.last_outcome = static_cast<int8_t>(outcome);
    Bucket& b = buckets_[FloorTo(e.event_time_us, bucket_us_)];
    (outcome > 0 ? b.successes : b.failures) += 1;
  }
  bool groupable = family != nullptr || e.mac != 0;
  if (by_ != GroupBy::kNone && groupable && (by_ != GroupBy::kError || outcome < 0)) {
    Group& g = GroupFor(e, d);
    if (e.mac != 0) g.devices.insert(e.mac);
    if (family == &resync_ || family == &upgrade_) {
      g.counts.attempts += outcome == 0;
      g.counts.successes += outcome > 0;
      g.counts.failures += outcome < 0;
    }
  }
}

uint64_t FleetStats::DevicesLastFailed() const {
  uint64_t n = 0;
  for (const auto& [mac, d] : devices_) n += d.last_outcome < 0;
  return n;
}

std::vector<std::pair<std::string, uint64_t>> FleetStats::TopErrors(size_t n) const {
  std::vector<std::pair<std::string, uint64_t>> v(errors_.begin(), errors_.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

std::vector<std::pair<std::string, OutcomeCounts>> FleetStats::TopServers(size_t n) const {
  std::vector<std::pair<std::string, OutcomeCounts>> v(servers_.begin(), servers_.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second.attempts != b.second.attempts ? a.second.attempts > b.second.attempts
                                                  : a.first < b.first;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

std::vector<GroupRow> FleetStats::Groups() const {
  std::vector<GroupRow> rows;
  for (const auto& [key, g] : groups_) {
    GroupRow r{key, g.devices.size(), g.counts, 0};
    for (MacAddress mac : g.devices) {
      auto it = devices_.find(mac);
      if (it == devices_.end() || it->second.last_outcome >= 0) continue;
      // The device's last attempt failed; count it where that attempt belongs.
      const DeviceState& d = it->second;
      if ((by_ == GroupBy::kModel && OrNone(d.model) == key) ||
          (by_ == GroupBy::kServer && OrNone(d.server) == key) || by_ == GroupBy::kError ||
          by_ == GroupBy::kHour) {
        ++r.devices_last_failed;
      }
    }
    rows.push_back(std::move(r));
  }
  if (by_ == GroupBy::kHour) {
    std::sort(rows.begin(), rows.end(), [](const GroupRow& a, const GroupRow& b) {
      return std::stoll(a.key) < std::stoll(b.key);
    });
  } else {
    std::sort(rows.begin(), rows.end(), [&](const GroupRow& a, const GroupRow& b) {
      uint64_t x = by_ == GroupBy::kError ? a.counts.failures : a.counts.attempts + a.devices;
      uint64_t y = by_ == GroupBy::kError ? b.counts.failures : b.counts.attempts + b.devices;
      return x != y ? x > y : a.key < b.key;
    });
  }
  return rows;
}

std::vector<Bucket> FleetStats::Buckets() const {
  std::vector<Bucket> v;
  for (const auto& [start, b] : buckets_) {
    v.push_back(b);
    v.back().start_us = start;
  }
  std::sort(v.begin(), v.end(),
            [](const Bucket& a, const Bucket& b) { return a.start_us < b.start_us; });
  return v;
}

}  // namespace resyncwatch
