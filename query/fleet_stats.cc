#include "query/fleet_stats.h"

#include <algorithm>
#include <cstdint>

namespace resyncwatch {
namespace {

constexpr int64_t kHourUs = int64_t{3600} * 1'000'000;

std::string_view OrNone(std::string_view s) { return s.empty() ? "(none)" : s; }

int64_t FloorTo(int64_t t, int64_t width) {
  int64_t q = t / width;
  if (t % width != 0 && t < 0) --q;
  return q * width;
}

template <typename T>
T& At(std::vector<T>& v, size_t i) {
  if (v.size() <= i) v.resize(i + 1);
  return v[i];
}

// Sums minute buckets into buckets of width_us aligned to multiples of it, in time order.
std::vector<Bucket> WidenBuckets(const std::vector<Bucket>& minutes, int64_t width_us) {
  std::unordered_map<int64_t, Bucket> wide;
  for (const Bucket& b : minutes) {
    Bucket& w = wide[FloorTo(b.start_us, width_us)];
    w.successes += b.successes;
    w.failures += b.failures;
  }
  std::vector<Bucket> v;
  for (const auto& [start, b] : wide) {
    v.push_back(b);
    v.back().start_us = start;
  }
  std::sort(v.begin(), v.end(),
            [](const Bucket& a, const Bucket& b) { return a.start_us < b.start_us; });
  return v;
}

}  // namespace

double OutcomeCounts::SuccessRate() const {
  uint64_t n = successes + failures;
  return n == 0 ? -1.0 : static_cast<double>(successes) / static_cast<double>(n);
}

uint32_t FleetStats::Interner::Id(std::string_view s) {
  if (s.empty()) return 0;
  auto it = ids_.find(s);
  if (it != ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(s);
  ids_.emplace(std::string(s), id);
  return id;
}

constexpr int64_t kMinuteUs = int64_t{60} * 1'000'000;

FleetStats::FleetStats(GroupBy by) : by_(by) { devices_.reserve(1024); }

OutcomeCounts FleetStats::total() const {
  OutcomeCounts t = resync_;
  t.Add(upgrade_);
  return t;
}

void FleetStats::Add(const Event& e) {
  if (events_++ == 0) first_us_ = e.event_time_us;
  last_us_ = e.event_time_us;
  DeviceTally none;
  DeviceTally& d = e.mac != 0 ? devices_[e.mac] : none;
  if (!e.model.empty()) d.model = models_.Id(e.model);

  OutcomeCounts* family = nullptr;
  int outcome = 0;
  uint32_t error = 0;
  switch (e.kind) {
    case EventKind::kResyncRequest:
    case EventKind::kUpgradeRequest:
      family = e.kind == EventKind::kResyncRequest ? &resync_ : &upgrade_;
      ++family->attempts;
      d.server = servers_.Id(e.server);
      d.requested = true;
      ++At(server_counts_, d.server).attempts;
      break;
    case EventKind::kResyncSuccess:
    case EventKind::kUpgradeSuccess:
      family = e.kind == EventKind::kResyncSuccess ? &resync_ : &upgrade_;
      ++family->successes;
      outcome = 1;
      ++At(server_counts_, e.server.empty() ? d.server : servers_.Id(e.server)).successes;
      d.orphan_successes += e.server.empty() && !d.requested;
      break;
    case EventKind::kResyncFailure:
    case EventKind::kUpgradeFailure:
      family = e.kind == EventKind::kResyncFailure ? &resync_ : &upgrade_;
      ++family->failures;
      outcome = -1;
      error = errors_.Id(e.error);
      ++At(error_counts_, error);
      ++At(server_counts_, d.server).failures;
      d.orphan_failures += !d.requested;
      break;
    default:
      break;
  }
  if (outcome != 0) {
    d.last_outcome = static_cast<int8_t>(outcome);
    Bucket& b = buckets_[FloorTo(e.event_time_us, kMinuteUs)];
    (outcome > 0 ? b.successes : b.failures) += 1;
  }
  AddToGroup(e, d, family, outcome, error);
}

void FleetStats::AddToGroup(const Event& e, DeviceTally& d, const OutcomeCounts* family,
                            int outcome, uint32_t error) {
  if (by_ == GroupBy::kNone || (family == nullptr && e.mac == 0)) return;
  if (by_ == GroupBy::kError && outcome >= 0) return;
  int64_t key = 0;
  switch (by_) {
    case GroupBy::kModel:
      key = d.model;
      break;
    case GroupBy::kServer:
      key = e.server.empty() ? d.server : servers_.Id(e.server);
      break;
    case GroupBy::kError:
      key = error;
      break;
    case GroupBy::kHour:
      key = FloorTo(e.event_time_us, kHourUs);
      break;
    case GroupBy::kNone:
      break;
  }
  Group& g = GroupFor(key);
  ++g.events;
  if (e.mac != 0) g.devices.insert(e.mac);
  OutcomeCounts counts;
  if (family != nullptr) {
    counts.attempts = outcome == 0;
    counts.successes = outcome > 0;
    counts.failures = outcome < 0;
    g.counts.Add(counts);
  }
  if (e.mac == 0 || key != 0) return;
  const bool orphan =
      by_ == GroupBy::kServer ? e.server.empty() && !d.requested : by_ == GroupBy::kModel;
  if (orphan) {
    d.orphan_group.Add(counts);
    ++d.orphan_events;
  } else {
    d.zero_member = true;
  }
}

void FleetStats::MergeTotals(const FleetStats& later, const IdMaps& ids) {
  if (later.events_ > 0) {
    if (events_ == 0) first_us_ = later.first_us_;
    last_us_ = later.last_us_;
  }
  events_ += later.events_;
  resync_.Add(later.resync_);
  upgrade_.Add(later.upgrade_);
  for (size_t i = 0; i < later.error_counts_.size(); ++i) {
    At(error_counts_, ids.error[i]) += later.error_counts_[i];
  }
  for (size_t i = 0; i < later.server_counts_.size(); ++i) {
    At(server_counts_, ids.server[i]).Add(later.server_counts_[i]);
  }
  for (const auto& [start, theirs] : later.buckets_) {
    Bucket& b = buckets_[start];
    b.successes += theirs.successes;
    b.failures += theirs.failures;
  }
}

// Found before the groups merge, applied after.
std::vector<FleetStats::OrphanMove> FleetStats::FindOrphanMoves(const FleetStats& later) const {
  std::vector<OrphanMove> moves;
  if (by_ != GroupBy::kServer && by_ != GroupBy::kModel) return moves;
  auto zero = groups_.find(0);
  for (const auto& [mac, theirs] : later.devices_) {
    if (theirs.orphan_events == 0) continue;
    auto mine = devices_.find(mac);
    if (mine == devices_.end()) continue;
    std::optional<uint32_t> to = Reference(mine->second);
    if (!to || *to == 0) continue;
    const bool zero_before = zero != groups_.end() && zero->second.devices.count(mac) > 0;
    moves.push_back(
        {mac, *to, theirs.orphan_group, theirs.orphan_events, !theirs.zero_member && !zero_before});
  }
  return moves;
}

void FleetStats::MergeDevices(const FleetStats& later, const IdMaps& ids) {
  for (const auto& [mac, theirs] : later.devices_) {
    DeviceTally& d = devices_[mac];
    const std::optional<uint32_t> earlier_reference = Reference(d);
    if (theirs.last_outcome != 0) d.last_outcome = theirs.last_outcome;
    if (theirs.model != 0) d.model = ids.model[theirs.model];
    if (d.requested && d.server != 0 && theirs.orphan_successes + theirs.orphan_failures > 0) {
      // One scan would have counted them for this device's latest request.
      OutcomeCounts& none = At(server_counts_, 0);
      none.successes -= theirs.orphan_successes;
      none.failures -= theirs.orphan_failures;
      At(server_counts_, d.server).successes += theirs.orphan_successes;
      At(server_counts_, d.server).failures += theirs.orphan_failures;
    }
    if (!d.requested) {
      d.orphan_successes += theirs.orphan_successes;
      d.orphan_failures += theirs.orphan_failures;
    }
    if (!earlier_reference) {
      d.orphan_group.Add(theirs.orphan_group);
      d.orphan_events += theirs.orphan_events;
    } else if (*earlier_reference == 0 && theirs.orphan_events > 0) {
      d.zero_member = true;
    }
    d.zero_member |= theirs.zero_member;
    if (theirs.requested) {
      d.requested = true;
      d.server = ids.server[theirs.server];
    }
  }
}

void FleetStats::MergeGroups(const FleetStats& later, const IdMaps& ids) {
  for (const auto& [key, theirs] : later.groups_) {
    int64_t k = key;
    if (by_ == GroupBy::kModel) k = ids.model[key];
    if (by_ == GroupBy::kServer) k = ids.server[key];
    if (by_ == GroupBy::kError) k = ids.error[key];
    Group& g = groups_[k];
    g.devices.insert(theirs.devices.begin(), theirs.devices.end());
    g.counts.Add(theirs.counts);
    g.events += theirs.events;
  }
}

void FleetStats::ApplyOrphanMoves(const std::vector<OrphanMove>& moves) {
  for (const OrphanMove& m : moves) {
    Group& zero = groups_[0];
    zero.counts.attempts -= m.counts.attempts;
    zero.counts.successes -= m.counts.successes;
    zero.counts.failures -= m.counts.failures;
    zero.events -= m.events;
    if (m.leaves_zero) zero.devices.erase(m.mac);
    if (zero.events == 0) groups_.erase(0);
    Group& to = groups_[m.to];
    to.counts.Add(m.counts);
    to.events += m.events;
    to.devices.insert(m.mac);
  }
}

void FleetStats::MergeLater(const FleetStats& later) {
  auto remap = [](Interner& mine, const Interner& theirs) {
    std::vector<uint32_t> map(theirs.size());
    for (uint32_t i = 0; i < theirs.size(); ++i) map[i] = mine.Id(theirs.Name(i));
    return map;
  };
  const IdMaps ids{remap(models_, later.models_), remap(servers_, later.servers_),
                   remap(errors_, later.errors_)};
  MergeTotals(later, ids);
  std::vector<OrphanMove> moves = FindOrphanMoves(later);
  MergeDevices(later, ids);
  MergeGroups(later, ids);
  ApplyOrphanMoves(moves);
}

std::optional<uint32_t> FleetStats::Reference(const DeviceTally& d) const {
  if (by_ == GroupBy::kServer && d.requested) return d.server;
  if (by_ == GroupBy::kModel && d.model != 0) return d.model;
  return std::nullopt;
}

uint64_t FleetStats::DevicesLastFailed() const {
  uint64_t n = 0;
  for (const auto& [mac, d] : devices_) n += d.last_outcome < 0;
  return n;
}

std::vector<std::pair<std::string, uint64_t>> FleetStats::TopErrors(size_t n) const {
  std::vector<std::pair<std::string, uint64_t>> v;
  for (size_t i = 0; i < error_counts_.size(); ++i) {
    if (error_counts_[i] > 0) v.emplace_back(OrNone(errors_.Name(i)), error_counts_[i]);
  }
  SortErrors(&v);
  if (v.size() > n) v.resize(n);
  return v;
}

std::vector<std::pair<std::string, OutcomeCounts>> FleetStats::TopServers(size_t n) const {
  std::vector<std::pair<std::string, OutcomeCounts>> v;
  for (size_t i = 0; i < server_counts_.size(); ++i) {
    const OutcomeCounts& c = server_counts_[i];
    if (c.attempts + c.successes + c.failures > 0) v.emplace_back(OrNone(servers_.Name(i)), c);
  }
  SortServers(&v);
  if (v.size() > n) v.resize(n);
  return v;
}

std::string FleetStats::GroupName(int64_t key) const {
  switch (by_) {
    case GroupBy::kModel:
      return std::string(OrNone(models_.Name(key)));
    case GroupBy::kServer:
      return std::string(OrNone(servers_.Name(key)));
    case GroupBy::kError:
      return std::string(OrNone(errors_.Name(key)));
    default:
      return std::to_string(key);
  }
}

std::vector<GroupRow> FleetStats::Groups() const {
  std::vector<GroupRow> rows;
  for (const auto& [key, g] : groups_) {
    GroupRow r{GroupName(key), g.devices.size(), g.counts, 0};
    for (MacAddress mac : g.devices) {
      auto it = devices_.find(mac);
      if (it == devices_.end() || it->second.last_outcome >= 0) continue;
      // The device's last attempt failed; for models and servers, count it where it
      // belongs now.
      const DeviceTally& d = it->second;
      if ((by_ == GroupBy::kModel && d.model != key) ||
          (by_ == GroupBy::kServer && d.server != key)) {
        continue;
      }
      ++r.devices_last_failed;
    }
    rows.push_back(std::move(r));
  }
  SortGroups(by_, &rows);
  return rows;
}

std::vector<Bucket> FleetStats::Buckets(int64_t width_us) const {
  std::vector<Bucket> minutes;
  for (const auto& [start, b] : buckets_) minutes.push_back({start, b.successes, b.failures});
  return WidenBuckets(minutes, width_us);
}

FleetSummary FleetStats::Summarize() const {
  FleetSummary s;
  s.by = by_;
  s.events = events_;
  s.devices = devices_.size();
  s.devices_last_failed = DevicesLastFailed();
  s.resync = resync_;
  s.upgrade = upgrade_;
  s.first_us = first_us_;
  s.last_us = last_us_;
  s.errors = TopErrors(SIZE_MAX);
  s.servers = TopServers(SIZE_MAX);
  if (by_ != GroupBy::kNone) s.groups = Groups();
  for (const auto& [start, b] : buckets_) s.minutes.push_back({start, b.successes, b.failures});
  return s;
}

OutcomeCounts FleetSummary::total() const {
  OutcomeCounts t = resync;
  t.Add(upgrade);
  return t;
}

std::vector<std::pair<std::string, uint64_t>> FleetSummary::TopErrors(size_t n) const {
  return {errors.begin(), errors.begin() + std::min(n, errors.size())};
}

std::vector<std::pair<std::string, OutcomeCounts>> FleetSummary::TopServers(size_t n) const {
  return {servers.begin(), servers.begin() + std::min(n, servers.size())};
}

std::vector<Bucket> FleetSummary::Buckets(int64_t width_us) const {
  return WidenBuckets(minutes, width_us);
}

void SortErrors(std::vector<std::pair<std::string, uint64_t>>* v) {
  std::sort(v->begin(), v->end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
}

void SortServers(std::vector<std::pair<std::string, OutcomeCounts>>* v) {
  std::sort(v->begin(), v->end(), [](const auto& a, const auto& b) {
    return a.second.attempts != b.second.attempts ? a.second.attempts > b.second.attempts
                                                  : a.first < b.first;
  });
}

void SortGroups(GroupBy by, std::vector<GroupRow>* rows) {
  std::sort(rows->begin(), rows->end(), [&](const GroupRow& x, const GroupRow& y) {
    if (by == GroupBy::kHour) return std::stoll(x.key) < std::stoll(y.key);
    uint64_t wx = by == GroupBy::kError ? x.counts.failures : x.counts.attempts + x.devices;
    uint64_t wy = by == GroupBy::kError ? y.counts.failures : y.counts.attempts + y.devices;
    return wx != wy ? wx > wy : x.key < y.key;
  });
}

}  // namespace resyncwatch
