#include "query/fleet_rollup.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/flat_table.h"
#include "common/prefetch.h"
#include "common/prometheus_text.h"

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

// A device's minute: (minute << 8) | flags.
constexpr uint64_t kOutcome = 2;  // an outcome in this minute
constexpr uint64_t kFailed = 4;   // ... and the minute's last one failed
constexpr uint64_t kRequest = 8;  // a request
// An event keyed to its device's latest request (no server of its own) before any request
// in this minute: in a range starting here, it goes to server "" (none).
constexpr uint64_t kServerOrphan = 16;
constexpr uint64_t kOwnServer = 32;     // an event keyed to its own server (requests too)
constexpr uint64_t kModel = 64;         // an event naming the model
constexpr uint64_t kModelOrphan = 128;  // an event without model before any with one
constexpr uint64_t kFlags = 255;
int64_t EntryMinute(uint64_t entry) { return static_cast<int64_t>(entry) >> 8; }
uint64_t Entry(int64_t minute) { return (static_cast<uint64_t>(minute) << 8) | 1; }
// A key's reference minute when the event names its server (model) itself.
constexpr int64_t kOwn = INT64_MAX;

class Names {
 public:
  Names() : names_{""} {}
  uint32_t Id(const std::string& s) {
    if (s.empty()) return 0;
    // An event's server is looked up for its totals and again for its groups.
    if (last_id_ != 0 && s == names_[last_id_]) return last_id_;
    auto [it, added] = ids_.try_emplace(s, static_cast<uint32_t>(names_.size()));
    if (added) names_.push_back(s);
    last_id_ = it->second;
    return last_id_;
  }
  const std::string& Name(uint32_t id) const { return names_[id]; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> ids_;
  uint32_t last_id_ = 0;  // the latest name looked up (0: none)
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
    // The --by server and model groups: (server or model, minute of the request or model
    // event it was taken from, kOwn when the event's own) -> counts. A range starting
    // after that minute puts them in group "" (none), as the scan does.
    struct Cell {
      OutcomeCounts counts;
      uint64_t events = 0;
    };
    std::map<std::pair<uint32_t, int64_t>, Cell> by_server, by_model;
  };
  struct Device {
    MacAddress mac = 0;  // 0: a free record
    int64_t last_us = INT64_MIN;
    uint32_t server = 0;                  // of its latest request
    int64_t request_minute = kNoRequest;  // of its latest request
    std::vector<uint64_t> minutes;        // Entry()s in time order
    // Its latest own server and model, and the minutes they last changed: while no
    // device's changed since a range's start, its groups follow from its minutes' flags.
    uint32_t own_server = 0;
    bool has_own_server = false;
    int64_t server_changed = kNoRequest;
    uint32_t model = 0;
    int64_t model_minute = kNoRequest;
    int64_t model_changed = kNoRequest;
  };

  int64_t start_minute = 0;  // the first minute held
  std::map<int64_t, Minute> minutes;
  // The devices' records in one vector (freed ones reused), found by MAC through a flat
  // table of indexes: a lookup is one cache line, which Observe fetches ahead.
  std::vector<Device> devices;
  FlatTable<MacAddress, uint32_t, NonZeroU64Keys> device_index;
  std::vector<uint32_t> free_devices;
  Names errors, servers, models;
  int64_t server_changed = kNoRequest;  // the latest of any device's
  int64_t model_changed = kNoRequest;
  bool built = false;
  bool stale = false;
  bool rebuilding = false;
  std::vector<Event> pending;           // observed during a rebuild
  std::vector<uint32_t> batch_devices;  // Observe's per-event lookups (kNoDevice), reused
  uint64_t out_of_order = 0;
  // The highest seq the rebuild's scan counted (0: none): a batch stored before the scan
  // began but observed after the rebuild finished is already in (Store::Write and
  // Observe are two steps), so events up to this seq are not counted again.
  uint64_t scanned_through_seq = 0;
  int64_t pruned_devices_at = 0;  // start_minute when device minutes were last pruned

  // The bucket of minute m, created when absent: the previous event's when it is the same
  // minute (nearly always), which spares a walk down a tree of 2,940 minutes.
  Minute& MinuteAt(int64_t m) {
    if (last_minute == nullptr || last_minute_key != m) {
      last_minute = &minutes[m];
      last_minute_key = m;
    }
    return *last_minute;
  }
  Minute* last_minute = nullptr;  // minutes[last_minute_key]; reset when minutes are erased
  int64_t last_minute_key = 0;
  static constexpr uint32_t kNoDevice = UINT32_MAX;
  // The index of mac's record, created when absent. REQUIRES: mac != 0.
  uint32_t DeviceIndex(MacAddress mac);
  void Add(const Event& e) { Add(e, e.mac != 0 ? &devices[DeviceIndex(e.mac)] : nullptr); }
  // REQUIRES: d is e's device (nullptr when e names none).
  void Add(const Event& e, Device* d);
  // Totals, errors and servers; the counts (one of attempts, successes, failures) when
  // the event is an attempt or an outcome.
  std::optional<OutcomeCounts> AddTotals(const Event& e, int64_t m, Minute& b, Device* d);
  // The --by server and model cells and the device's minute flags for them.
  void AddGroups(const Event& e, int64_t m, Minute& b, Device* d, const OutcomeCounts& counts);
  void Advance(int64_t start);
};

void FleetRollup::State::Add(const Event& e, Device* d) {
  const int64_t m = FloorDiv(e.event_time_us, kMinuteUs);
  if (m < start_minute) return;
  Minute& b = MinuteAt(m);
  ++b.events;
  if (d != nullptr) {
    if (e.event_time_us < d->last_us) {
      // Its minutes and the server its outcomes went to assumed time order.
      stale = true;
      ++out_of_order;
    }
    d->last_us = std::max(d->last_us, e.event_time_us);
    if (d->minutes.empty() || EntryMinute(d->minutes.back()) < m) d->minutes.push_back(Entry(m));
  }
  std::optional<OutcomeCounts> counts = AddTotals(e, m, b, d);
  if (!counts && e.mac == 0) return;
  ++b.grouped;
  AddGroups(e, m, b, d, counts.value_or(OutcomeCounts()));
}

std::optional<OutcomeCounts> FleetRollup::State::AddTotals(const Event& e, int64_t m, Minute& b,
                                                           Device* d) {
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
  if (family == nullptr) return std::nullopt;
  OutcomeCounts counts;
  counts.attempts = outcome == 0;
  counts.successes = outcome > 0;
  counts.failures = outcome < 0;
  return counts;
}

void FleetRollup::State::AddGroups(const Event& e, int64_t m, Minute& b, Device* d,
                                   const OutcomeCounts& counts) {
  uint64_t flags = 0;
  std::pair<uint32_t, int64_t> server_key{0, kNoRequest};
  const bool request = e.kind == EventKind::kResyncRequest || e.kind == EventKind::kUpgradeRequest;
  if (request || !e.server.empty()) {
    const uint32_t own = servers.Id(e.server);
    server_key = {own, kOwn};
    flags |= kOwnServer | (request ? kRequest : 0);
    if (d != nullptr) {
      if (d->has_own_server && d->own_server != own) server_changed = d->server_changed = m;
      d->own_server = own;
      d->has_own_server = true;
    }
  } else if (d != nullptr && d->request_minute != kNoRequest) {
    server_key = {d->server, d->request_minute};
  }
  std::pair<uint32_t, int64_t> model_key{0, kNoRequest};
  if (!e.model.empty()) {
    const uint32_t own = models.Id(e.model);
    model_key = {own, kOwn};
    flags |= kModel;
    if (d != nullptr) {
      if (d->model_minute != kNoRequest && d->model != own) model_changed = d->model_changed = m;
      d->model = own;
      d->model_minute = m;
    }
  } else if (d != nullptr && d->model_minute != kNoRequest) {
    model_key = {d->model, d->model_minute};
  }
  for (auto [cells, key] :
       {std::pair{&b.by_server, server_key}, std::pair{&b.by_model, model_key}}) {
    Minute::Cell& cell = (*cells)[key];
    cell.counts.Add(counts);
    ++cell.events;
  }
  if (d == nullptr || EntryMinute(d->minutes.back()) != m) return;
  uint64_t& entry = d->minutes.back();
  if (!(flags & kOwnServer) && !(entry & kRequest)) flags |= kServerOrphan;
  if (!(flags & kModel) && !(entry & kModel)) flags |= kModelOrphan;
  entry |= flags;
}

void FleetRollup::State::Advance(int64_t start) {
  if (start <= start_minute) return;
  start_minute = start;
  minutes.erase(minutes.begin(), minutes.lower_bound(start));
  last_minute = nullptr;
  // Device minutes go hourly: a range never starts before start_minute, so older ones
  // are only memory.
  if (start - pruned_devices_at < kHourMinutes) return;
  pruned_devices_at = start;
  for (uint32_t i = 0; i < devices.size(); ++i) {
    Device& d = devices[i];
    if (d.mac == 0) continue;
    std::vector<uint64_t>& v = d.minutes;
    v.erase(v.begin(), std::lower_bound(v.begin(), v.end(), Entry(start) & ~kFlags));
    if (!v.empty()) continue;
    device_index.Erase(d.mac);
    d = Device();
    free_devices.push_back(i);
  }
}

uint32_t FleetRollup::State::DeviceIndex(MacAddress mac) {
  bool inserted = false;
  uint32_t* index = device_index.FindOrInsert(mac, &inserted);
  if (!inserted) return *index;
  if (free_devices.empty()) {
    *index = static_cast<uint32_t>(devices.size());
    devices.emplace_back();
  } else {
    *index = free_devices.back();
    free_devices.pop_back();
  }
  devices[*index].mac = mac;
  return *index;
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
  // The devices first, in a loop of independent lookups: during a burst the table has left
  // the cache between two events of a phone, and these misses overlap where the ones inside
  // Add would wait for each other; the table's lines are fetched a few events ahead.
  // Indexes, not pointers: the records' vector may grow while the batch is looked up.
  constexpr size_t kAhead = 8;
  s.batch_devices.clear();
  auto scanned = [&s](const Event& e) { return e.seq != 0 && e.seq <= s.scanned_through_seq; };
  for (size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size() && events[i + kAhead].mac != 0) {
      s.device_index.Prefetch(events[i + kAhead].mac);
    }
    const Event& e = events[i];
    const bool counted =
        e.mac != 0 && !scanned(e) && FloorDiv(e.event_time_us, kMinuteUs) >= s.start_minute;
    s.batch_devices.push_back(counted ? s.DeviceIndex(e.mac) : State::kNoDevice);
  }
  // Add then waits on two dependent misses per event, the device and the heap buffer of
  // its minutes: the devices a few events ahead are fetched first, their minutes after.
  auto device = [&s](size_t i) -> State::Device* {
    return i < s.batch_devices.size() && s.batch_devices[i] != State::kNoDevice
               ? &s.devices[s.batch_devices[i]]
               : nullptr;
  };
  for (size_t i = 0; i < events.size(); ++i) {
    if (const State::Device* ahead = device(i + kAhead)) {
      const char* d = reinterpret_cast<const char*>(ahead);
      PrefetchForRead(d);
      PrefetchForRead(d + sizeof(State::Device) - 1);
    }
    if (const State::Device* ahead = device(i + kAhead / 2); ahead && !ahead->minutes.empty()) {
      PrefetchForRead(&ahead->minutes.back());
    }
    if (!scanned(events[i])) s.Add(events[i], device(i));
  }
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
  fresh->scanned_through_seq = any ? max_seq : 0;
  fresh->out_of_order = state_->out_of_order + fresh->out_of_order;
  fresh->built = true;
  state_ = std::move(fresh);
  rebuilds_.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

size_t FleetRollup::ApproxBytes() const {
  std::lock_guard lock(mu_);
  const State& s = *state_;
  // The minutes' tree nodes at about two pointers and a header over their payload.
  size_t bytes = s.devices.capacity() * sizeof(State::Device) +
                 s.device_index.capacity() * (sizeof(MacAddress) + sizeof(uint32_t));
  for (const State::Device& d : s.devices) bytes += d.minutes.capacity() * sizeof(uint64_t);
  for (const auto& [m, b] : s.minutes) {
    bytes += sizeof(b) + 48 + (b.errors.size() + b.servers.size()) * 64 +
             (b.via_request.size() + b.by_server.size() + b.by_model.size()) * 80;
  }
  return bytes;
}

bool FleetRollup::Ready() const {
  std::lock_guard lock(mu_);
  return state_->built && !state_->stale && !state_->rebuilding;
}

uint64_t FleetRollup::out_of_order() const {
  std::lock_guard lock(mu_);
  return state_->out_of_order;
}

// A device's first entry at or after minute `since`. The wall's ranges end at now and read
// the tail of a device's entries: galloping back from the newest touches only that tail,
// where a binary search from the middle would touch lines of the array the range never reads.
std::vector<uint64_t>::const_iterator FirstFrom(const std::vector<uint64_t>& minutes,
                                                int64_t since) {
  const uint64_t key = Entry(since) & ~kFlags;
  auto hi = minutes.end();
  size_t step = 1;
  while (static_cast<size_t>(hi - minutes.begin()) > step && *(hi - step) >= key) {
    hi -= step;
    step *= 2;
  }
  auto lo = static_cast<size_t>(hi - minutes.begin()) > step ? hi - step : minutes.begin();
  return std::lower_bound(lo, hi, key);
}

// One answer being summed: the summary, and its parts keyed by id until named.
struct FleetRollup::Tally {
  GroupBy by;
  int64_t since;  // minutes
  int64_t until;
  FleetSummary out;
  std::map<uint32_t, uint64_t> errors;
  std::map<uint32_t, OutcomeCounts> servers;
  std::map<int64_t, GroupRow> rows;  // by hour start (micros), server or model id
  std::set<int64_t> touched;         // rows with an event (an hour's, a group's)
  // --by hour: devices and devices last failed per hour from the range's first hour.
  int64_t first_hour = 0;  // minutes
  std::vector<uint64_t> hour_devices, hour_failed;
  std::vector<uint32_t> hours;  // scratch: one device's hours

  // The group an event keyed (id, reference minute) falls in for this range.
  int64_t Resolve(const std::pair<uint32_t, int64_t>& key) const {
    return key.second >= since ? key.first : 0;
  }
  void AddMinute(int64_t minute, const State::Minute& b);
  void AddDevice(const State::Device& d);
};

void FleetRollup::Tally::AddMinute(int64_t minute, const State::Minute& b) {
  out.events += b.events;
  out.resync.Add(b.resync);
  out.upgrade.Add(b.upgrade);
  for (const auto& [id, n] : b.errors) errors[id] += n;
  for (const auto& [id, c] : b.servers) servers[id].Add(c);
  for (const auto& [key, n] : b.via_request) {
    OutcomeCounts& c = servers[Resolve(key)];
    c.successes += n.first;
    c.failures += n.second;
  }
  const uint64_t ok = b.resync.successes + b.upgrade.successes;
  const uint64_t failed = b.resync.failures + b.upgrade.failures;
  if (ok + failed > 0) out.minutes.push_back({minute * kMinuteUs, ok, failed});
  if (by == GroupBy::kHour && b.grouped > 0) {
    const int64_t hour = FloorDiv(minute, kHourMinutes) * kHourMinutes * kMinuteUs;
    rows[hour].counts.Add(b.resync);
    rows[hour].counts.Add(b.upgrade);
    touched.insert(hour);
  }
  if (by == GroupBy::kServer || by == GroupBy::kModel) {
    for (const auto& [key, cell] : by == GroupBy::kServer ? b.by_server : b.by_model) {
      const int64_t group = Resolve(key);
      rows[group].counts.Add(cell.counts);
      if (cell.events > 0) touched.insert(group);
    }
  }
}

// The device's part: seen, last outcome failed, and the rows it belongs to. For servers
// and models (its own value unchanged since the range's start): its value's row when an
// event named it, row "" when an event preceded the first that did; and it counts as
// last failed in the row of its final value ("" when no event in range named one).
void FleetRollup::Tally::AddDevice(const State::Device& d) {
  auto first = FirstFrom(d.minutes, since);
  if (first == d.minutes.end() || EntryMinute(*first) >= until) return;
  ++out.devices;
  const uint64_t own = by == GroupBy::kServer ? kOwnServer : kModel;
  const uint64_t orphan = by == GroupBy::kServer ? kServerOrphan : kModelOrphan;
  const uint64_t reference = by == GroupBy::kServer ? kRequest : kModel;
  int last_outcome = 0;
  bool has_own = false, has_reference = false, in_none = false;
  hours.clear();
  int64_t hour_end = INT64_MIN;  // the first minute after the hour last pushed
  for (auto e = first; e != d.minutes.end() && EntryMinute(*e) < until; ++e) {
    if (*e & kOutcome) last_outcome = (*e & kFailed) ? -1 : 1;
    // Entries are in time order: a division only when an entry starts a new hour.
    if (by == GroupBy::kHour && EntryMinute(*e) >= hour_end) {
      const auto hour = static_cast<uint32_t>((EntryMinute(*e) - first_hour) / kHourMinutes);
      hours.push_back(hour);
      hour_end = first_hour + (static_cast<int64_t>(hour) + 1) * kHourMinutes;
    }
    if (!has_reference && (*e & orphan)) in_none = true;
    has_reference |= (*e & reference) != 0;
    has_own |= (*e & own) != 0;
  }
  const bool failed = last_outcome < 0;
  out.devices_last_failed += failed;
  if (by == GroupBy::kHour) {
    for (uint32_t hour : hours) {
      if (hour_devices.size() <= hour) {
        hour_devices.resize(hour + 1);
        hour_failed.resize(hour + 1);
      }
      ++hour_devices[hour];
      hour_failed[hour] += failed;
    }
  } else if (by == GroupBy::kServer || by == GroupBy::kModel) {
    const int64_t value = by == GroupBy::kServer ? d.own_server : d.model;
    const int64_t final_value = has_reference ? value : 0;
    auto join = [&](int64_t group) {
      ++rows[group].devices;
      rows[group].devices_last_failed += failed && final_value == group;
    };
    if (has_own) join(value);
    if (in_none && !(has_own && value == 0)) join(0);
  }
}

std::optional<FleetSummary> FleetRollup::Answer(TimeRange range, GroupBy by) const {
  std::optional<FleetSummary> out = Sum(range, by);
  (out ? answered_ : declined_).fetch_add(1, std::memory_order_relaxed);
  return out;
}

std::string FleetRollup::RenderMetrics() const {
  PrometheusText out;
  out.Counter("resyncwatch_fleet_rollup_answers_total", "fleet questions the rollup answered",
              static_cast<int64_t>(answered_.load()));
  out.Counter("resyncwatch_fleet_rollup_declined_total",
              "fleet questions left to a scan of the store",
              static_cast<int64_t>(declined_.load()));
  out.Counter("resyncwatch_fleet_rollup_rebuilds_total", "rebuilds of the rollup from the store",
              static_cast<int64_t>(rebuilds_.load()));
  out.Counter("resyncwatch_fleet_rollup_out_of_order_total",
              "out-of-order device events (each made the rollup stale)",
              static_cast<int64_t>(out_of_order()));
  out.Gauge("resyncwatch_fleet_rollup_ready", "1 while the rollup is built and not stale",
            Ready() ? 1 : 0);
  return out.Take();
}

std::optional<FleetSummary> FleetRollup::Sum(TimeRange range, GroupBy by) const {
  if (by == GroupBy::kError) return std::nullopt;
  if (range.since_us == INT64_MIN || range.since_us % kMinuteUs != 0) return std::nullopt;
  if (range.until_us != INT64_MAX && range.until_us % kMinuteUs != 0) return std::nullopt;
  const int64_t now = options_.clock->NowMicros();
  if (options_.retention_us > 0 && range.since_us < now - options_.retention_us + 60 * kMinuteUs) {
    return std::nullopt;
  }
  Tally t;
  t.by = by;
  t.since = FloorDiv(range.since_us, kMinuteUs);
  t.until = range.until_us == INT64_MAX ? INT64_MAX : FloorDiv(range.until_us, kMinuteUs);

  std::lock_guard lock(mu_);
  const State& s = *state_;
  if (!s.built || s.stale || s.rebuilding) return std::nullopt;
  // The window's start moves with the clock even between batches.
  if (t.since < std::max(s.start_minute, FloorDiv(now - options_.window_us, kMinuteUs) + 1)) {
    return std::nullopt;
  }
  // A device whose server (model) changed within the range may be in several groups.
  if ((by == GroupBy::kServer && s.server_changed >= t.since) ||
      (by == GroupBy::kModel && s.model_changed >= t.since)) {
    return std::nullopt;
  }
  for (auto it = s.minutes.lower_bound(t.since); it != s.minutes.end() && it->first < t.until;
       ++it) {
    t.AddMinute(it->first, it->second);
  }
  t.out.by = by;
  if (t.out.events == 0) return std::move(t.out);
  t.first_hour = FloorDiv(t.since, kHourMinutes) * kHourMinutes;
  for (const State::Device& d : s.devices) {
    if (d.mac != 0) t.AddDevice(d);
  }
  for (size_t h = 0; h < t.hour_devices.size(); ++h) {
    GroupRow& row = t.rows[(t.first_hour + static_cast<int64_t>(h) * kHourMinutes) * kMinuteUs];
    row.devices += t.hour_devices[h];
    row.devices_last_failed += t.hour_failed[h];
  }

  FleetSummary& out = t.out;
  for (const auto& [id, n] : t.errors) {
    if (n > 0) out.errors.emplace_back(OrNone(s.errors.Name(id)), n);
  }
  SortErrors(&out.errors);
  for (const auto& [id, c] : t.servers) {
    if (c.attempts + c.successes + c.failures > 0) {
      out.servers.emplace_back(OrNone(s.servers.Name(id)), c);
    }
  }
  SortServers(&out.servers);
  for (auto& [key, row] : t.rows) {
    if (!t.touched.count(key)) continue;
    row.key = by == GroupBy::kHour     ? std::to_string(key)
              : by == GroupBy::kServer ? OrNone(s.servers.Name(key))
                                       : OrNone(s.models.Name(key));
    out.groups.push_back(std::move(row));
  }
  SortGroups(by, &out.groups);
  return std::move(out);
}

}  // namespace resyncwatch
