#include "query/fleet_rollup.h"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace resyncwatch {
namespace {

constexpr int64_t kMinuteUs = int64_t{60} * 1'000'000;
constexpr int64_t kHourMinutes = 60;
constexpr int64_t kNoRequest = INT64_MIN;

int64_t FloorDiv(int64_t t, int64_t width) {
  int64_t q = t / width;
  if (t % width != 0 && t < 0) --q;
  return q;
}

std::string OrNone(const std::string& s) { return s.empty() ? "(none)" : s; }

// A device's minute: (minute << 3) | flags.
constexpr uint64_t kOutcome = 2;  // an outcome in this minute
constexpr uint64_t kFailed = 4;   // ... and the minute's last one failed
int64_t EntryMinute(uint64_t entry) { return static_cast<int64_t>(entry) >> 3; }
uint64_t Entry(int64_t minute) { return (static_cast<uint64_t>(minute) << 3) | 1; }

class Names {
 public:
  Names() : names_{""} {}
  uint32_t Id(const std::string& s) {
    if (s.empty()) return 0;
    auto [it, added] = ids_.try_emplace(s, static_cast<uint32_t>(names_.size()));
    if (added) names_.push_back(s);
    return it->second;
  }
  const std::string& Name(uint32_t id) const { return names_[id]; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> ids_;
};

}  // namespace

struct FleetRollup::State {
  struct Minute {
    uint64_t events = 0;
    uint64_t grouped = 0;  // events that make a --by hour row: attempts, outcomes, a device's
    OutcomeCounts resync, upgrade;
    std::map<uint32_t, uint64_t> errors;        // failures by error id
    std::map<uint32_t, OutcomeCounts> servers;  // attempts, and successes naming their server
    // Outcomes counted for the device's latest request: (server, request minute) ->
    // (successes, failures). A range starting after that minute counts them for no server.
    std::map<std::pair<uint32_t, int64_t>, std::pair<uint64_t, uint64_t>> via_request;
  };
  struct Device {
    int64_t last_us = INT64_MIN;
    uint32_t server = 0;                  // of its latest request
    int64_t request_minute = kNoRequest;  // of its latest request
    std::vector<uint64_t> minutes;        // Entry()s in time order
  };

  int64_t start_minute = 0;  // the first minute held
  std::map<int64_t, Minute> minutes;
  std::unordered_map<MacAddress, Device> devices;
  Names errors, servers;
  bool built = false;
  bool stale = false;
  bool rebuilding = false;
  std::vector<Event> pending;  // observed during a rebuild
  uint64_t out_of_order = 0;
  int64_t pruned_devices_at = 0;  // start_minute when device minutes were last pruned

  void Add(const Event& e);
  void Advance(int64_t start);
};

void FleetRollup::State::Add(const Event& e) {
  const int64_t m = FloorDiv(e.event_time_us, kMinuteUs);
  if (m < start_minute) return;
  Minute& b = minutes[m];
  ++b.events;
  Device* d = nullptr;
  if (e.mac != 0) {
    d = &devices[e.mac];
    if (e.event_time_us < d->last_us) {
      // Its minutes and the server its outcomes went to assumed time order.
      stale = true;
      ++out_of_order;
    }
    d->last_us = std::max(d->last_us, e.event_time_us);
    if (d->minutes.empty() || EntryMinute(d->minutes.back()) < m) d->minutes.push_back(Entry(m));
  }
  OutcomeCounts* family = nullptr;
  int outcome = 0;
  switch (e.kind) {
    case EventKind::kResyncRequest:
    case EventKind::kUpgradeRequest: {
      family = e.kind == EventKind::kResyncRequest ? &b.resync : &b.upgrade;
      ++family->attempts;
      const uint32_t server = servers.Id(e.server);
      ++b.servers[server].attempts;
      if (d != nullptr) {
        d->server = server;
        d->request_minute = m;
      }
      break;
    }
    case EventKind::kResyncSuccess:
    case EventKind::kUpgradeSuccess:
      family = e.kind == EventKind::kResyncSuccess ? &b.resync : &b.upgrade;
      ++family->successes;
      outcome = 1;
      break;
    case EventKind::kResyncFailure:
    case EventKind::kUpgradeFailure:
      family = e.kind == EventKind::kResyncFailure ? &b.resync : &b.upgrade;
      ++family->failures;
      outcome = -1;
      ++b.errors[errors.Id(e.error)];
      break;
    default:
      break;
  }
  if (outcome > 0 && !e.server.empty()) {
    ++b.servers[servers.Id(e.server)].successes;
  } else if (outcome != 0) {
    std::pair<uint32_t, int64_t> key{0, kNoRequest};
    if (d != nullptr && d->request_minute != kNoRequest) key = {d->server, d->request_minute};
    auto& [successes, failures] = b.via_request[key];
    (outcome > 0 ? successes : failures) += 1;
  }
  if (outcome != 0 && d != nullptr && EntryMinute(d->minutes.back()) == m) {
    uint64_t& entry = d->minutes.back();
    entry = (entry & ~kFailed) | kOutcome | (outcome < 0 ? kFailed : 0);
  }
  if (family != nullptr || e.mac != 0) ++b.grouped;
}

void FleetRollup::State::Advance(int64_t start) {
  if (start <= start_minute) return;
  start_minute = start;
  minutes.erase(minutes.begin(), minutes.lower_bound(start));
  // Device minutes go hourly: a range never starts before start_minute, so older ones
  // are only memory.
  if (start - pruned_devices_at < kHourMinutes) return;
  pruned_devices_at = start;
  for (auto it = devices.begin(); it != devices.end();) {
    std::vector<uint64_t>& v = it->second.minutes;
    v.erase(v.begin(), std::lower_bound(v.begin(), v.end(), Entry(start) & ~uint64_t{7}));
    it = v.empty() ? devices.erase(it) : std::next(it);
  }
}

FleetRollup::FleetRollup(Options options) : options_(options), state_(std::make_unique<State>()) {}
FleetRollup::FleetRollup() : FleetRollup(Options()) {}
FleetRollup::~FleetRollup() = default;

void FleetRollup::Observe(std::span<const Event> events) {
  std::lock_guard lock(mu_);
  State& s = *state_;
  if (s.rebuilding) {
    s.pending.insert(s.pending.end(), events.begin(), events.end());
    return;
  }
  if (!s.built) return;
  s.Advance(FloorDiv(options_.clock->NowMicros() - options_.window_us, kMinuteUs) + 1);
  for (const Event& e : events) s.Add(e);
}

Status FleetRollup::Rebuild(const Store& store) {
  {
    std::lock_guard lock(mu_);
    state_->rebuilding = true;
    state_->pending.clear();
  }
  auto fresh = std::make_unique<State>();
  fresh->start_minute = FloorDiv(options_.clock->NowMicros() - options_.window_us, kMinuteUs) + 1;
  fresh->pruned_devices_at = fresh->start_minute;
  uint64_t max_seq = 0;
  bool any = false;
  Status st = store.ScanHeads({fresh->start_minute * kMinuteUs, INT64_MAX}, [&](const Event& e) {
    fresh->Add(e);
    max_seq = std::max(max_seq, e.seq);
    any = true;
    return true;
  });
  std::lock_guard lock(mu_);
  if (!st.ok()) {
    state_->rebuilding = false;
    state_->pending.clear();
    return st;
  }
  // The scan read one snapshot of the store, so it holds every event stored before it
  // began (sequence numbers are given in storing order): the batches observed
  // meanwhile add only what came later.
  for (const Event& e : state_->pending) {
    if (!any || e.seq > max_seq) fresh->Add(e);
  }
  fresh->out_of_order = state_->out_of_order + fresh->out_of_order;
  fresh->built = true;
  state_ = std::move(fresh);
  return Status::Ok();
}

bool FleetRollup::Ready() const {
  std::lock_guard lock(mu_);
  return state_->built && !state_->stale && !state_->rebuilding;
}

uint64_t FleetRollup::out_of_order() const {
  std::lock_guard lock(mu_);
  return state_->out_of_order;
}

std::optional<FleetSummary> FleetRollup::Answer(TimeRange range, GroupBy by) const {
  if (by != GroupBy::kNone && by != GroupBy::kHour) return std::nullopt;
  if (range.since_us == INT64_MIN || range.since_us % kMinuteUs != 0) return std::nullopt;
  if (range.until_us != INT64_MAX && range.until_us % kMinuteUs != 0) return std::nullopt;
  const int64_t now = options_.clock->NowMicros();
  if (options_.retention_us > 0 && range.since_us < now - options_.retention_us + 60 * kMinuteUs) {
    return std::nullopt;
  }
  const int64_t since = FloorDiv(range.since_us, kMinuteUs);
  const int64_t until =
      range.until_us == INT64_MAX ? INT64_MAX : FloorDiv(range.until_us, kMinuteUs);

  std::lock_guard lock(mu_);
  const State& s = *state_;
  if (!s.built || s.stale || s.rebuilding) return std::nullopt;
  // The window's start moves with the clock even between batches.
  if (since < std::max(s.start_minute, FloorDiv(now - options_.window_us, kMinuteUs) + 1)) {
    return std::nullopt;
  }

  FleetSummary out;
  out.by = by;
  std::map<uint32_t, uint64_t> errors;
  std::map<uint32_t, OutcomeCounts> servers;
  std::map<int64_t, GroupRow> hours;  // by hour start (micros)
  for (auto it = s.minutes.lower_bound(since); it != s.minutes.end() && it->first < until; ++it) {
    const State::Minute& b = it->second;
    out.events += b.events;
    out.resync.Add(b.resync);
    out.upgrade.Add(b.upgrade);
    for (const auto& [id, n] : b.errors) errors[id] += n;
    for (const auto& [id, c] : b.servers) servers[id].Add(c);
    for (const auto& [key, n] : b.via_request) {
      OutcomeCounts& c = servers[key.second >= since ? key.first : 0];
      c.successes += n.first;
      c.failures += n.second;
    }
    const uint64_t ok = b.resync.successes + b.upgrade.successes;
    const uint64_t failed = b.resync.failures + b.upgrade.failures;
    if (ok + failed > 0) out.minutes.push_back({it->first * kMinuteUs, ok, failed});
    if (by == GroupBy::kHour && b.grouped > 0) {
      GroupRow& row = hours[FloorDiv(it->first, kHourMinutes) * kHourMinutes * kMinuteUs];
      row.counts.Add(b.resync);
      row.counts.Add(b.upgrade);
    }
  }
  if (out.events == 0) return out;

  std::vector<int64_t> device_hours;
  for (const auto& [mac, d] : s.devices) {
    auto first = std::lower_bound(d.minutes.begin(), d.minutes.end(), Entry(since) & ~uint64_t{7});
    if (first == d.minutes.end() || EntryMinute(*first) >= until) continue;
    ++out.devices;
    int last_outcome = 0;
    device_hours.clear();
    for (auto e = first; e != d.minutes.end() && EntryMinute(*e) < until; ++e) {
      if (*e & kOutcome) last_outcome = (*e & kFailed) ? -1 : 1;
      if (by == GroupBy::kHour) {
        const int64_t hour = FloorDiv(EntryMinute(*e), kHourMinutes) * kHourMinutes * kMinuteUs;
        if (device_hours.empty() || device_hours.back() != hour) device_hours.push_back(hour);
      }
    }
    out.devices_last_failed += last_outcome < 0;
    for (int64_t hour : device_hours) {
      GroupRow& row = hours[hour];
      ++row.devices;
      row.devices_last_failed += last_outcome < 0;
    }
  }

  for (const auto& [id, n] : errors) {
    if (n > 0) out.errors.emplace_back(OrNone(s.errors.Name(id)), n);
  }
  SortErrors(&out.errors);
  for (const auto& [id, c] : servers) {
    if (c.attempts + c.successes + c.failures > 0) {
      out.servers.emplace_back(OrNone(s.servers.Name(id)), c);
    }
  }
  SortServers(&out.servers);
  for (auto& [start, row] : hours) {
    row.key = std::to_string(start);
    out.groups.push_back(std::move(row));
  }
  SortGroups(by, &out.groups);
  return out;
}

}  // namespace resyncwatch
