// AlertEngine: per event, at most four group lookups (fleet, server, error, model) and one
// device lookup, each O(1). Groups sit in LRU lists so that idle ones are evicted from the
// tail; failing devices sit in a flat table swept incrementally by Tick(); firing
// incidents are also kept in small sets that Tick() visits.
#include <algorithm>
#include <array>
#include <atomic>
#include <list>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "alerts/alert_internal.h"
#include "alerts/alerts.h"
#include "alerts/fleet_rules.h"
#include "alerts/mac_table.h"
#include "alerts/window.h"

namespace resyncwatch {
namespace {

constexpr int64_t kLruResolutionUs = 1'000'000;

enum Dim { kFleet = 0, kServer = 1, kError = 2, kModel = 3 };
constexpr int kDims = 4;

AlertRule CountRule(int dim) { return static_cast<AlertRule>(dim); }
AlertRule RatioRule(int dim) { return static_cast<AlertRule>(4 + dim); }

bool Enabled(const AlertGrouping& g, int dim) {
  switch (dim) {
    case kFleet:
      return g.fleet;
    case kServer:
      return g.server;
    case kError:
      return g.error;
    default:
      return g.model;
  }
}

void AddSample(std::vector<MacAddress>* sample, MacAddress mac, size_t limit) {
  if (mac == 0 || sample->size() >= limit) return;
  if (std::find(sample->begin(), sample->end(), mac) != sample->end()) return;
  sample->push_back(mac);
}

// One rule's incident state within a group.
struct Incident {
  bool firing = false;
  bool dirty = false;          // counts changed since the last emitted change
  int64_t below_since_us = 0;  // 0 = not below the clear threshold
  int64_t last_emit_us = 0;
  Alert alert;
};

struct Group {
  explicit Group(const AlertConfig& c)
      : fail_count(c.failures_window_us),
        fail_ratio(c.ratio_window_us),
        attempts_ratio(c.ratio_window_us) {}
  WindowCounter fail_count;
  WindowCounter fail_ratio;
  WindowCounter attempts_ratio;
  std::vector<MacAddress> recent_macs;  // ring of recent distinct failing MACs
  size_t recent_next = 0;
  int64_t burst_first_us = 0;  // first failure since the count window was empty
  int64_t last_fail_us = 0;
  int64_t last_event_us = 0;
  int64_t lru_us = 0;  // when last moved to the LRU front
  std::string last_error;
  Incident count;
  Incident ratio;
  std::list<std::string>::iterator lru;
};

// A device with failures in a row (a success removes it): 24 bytes, kept inline.
constexpr uint16_t kNoServer = UINT16_MAX;
constexpr size_t kMaxServerNames = kNoServer;
constexpr uint16_t kMaxConsecutive = 0x7FFF;

// Every device seen recently (until silent for device_idle_resolve_us): the server of its
// latest request and its failures in a row. Kept inline in a flat table.
struct DeviceAlertState {  // 16 bytes: four to a cache line with their keys
  int64_t first_fail_us = 0;
  uint32_t last_event_s = 0;       // seconds since the engine's base time
  uint16_t server_id = kNoServer;  // index into server_names_
  uint16_t consecutive : 15 = 0;   // saturates
  uint16_t firing : 1 = 0;         // its incident is in firing_devices_
};

struct Dimension {
  std::unordered_map<std::string, Group> groups;
  std::list<std::string> lru;  // front = most recently used
  std::unordered_set<std::string> firing;
};

}  // namespace

class AlertEngine::Impl {
 public:
  Impl(const AlertConfig& config, AlertListener listener)
      : c_(config),
        listener_(std::move(listener)),
        fleet_rules_(config, [this](AlertChange::Kind kind, const Alert& alert) {
          CountActive(kind, alert.rule);
          Emit(kind, alert);
        }) {
    for (auto& a : active_) a.store(0, std::memory_order_relaxed);
    idle_us_ = std::max(c_.failures_window_us, c_.ratio_window_us) + c_.resolve_after_us;
  }

  // The batch form prefetches a few events ahead, Observe(event) just before; Impl::Observe
  // does not, so that no event's entry is asked for twice.
  void PrefetchDevice(MacAddress mac) const {
    if (mac != 0) devices_.Prefetch(mac);
  }

  void Observe(const Event& e) {
    if (!c_.enabled) return;
    bool failure = e.kind == EventKind::kResyncFailure || e.kind == EventKind::kUpgradeFailure;
    bool success = e.kind == EventKind::kResyncSuccess || e.kind == EventKind::kUpgradeSuccess;
    bool request = e.kind == EventKind::kResyncRequest || e.kind == EventKind::kUpgradeRequest;
    if (!failure && !success && !request) return;
    int64_t t = e.event_time_us;
    if (t > now_us_) now_us_ = t;
    if (request) {
      Attribute(e, t);
      return;
    }
    // The fleet group always counts: its attempts are the error groups' denominator.
    if (!fleet_) fleet_ = Touch(kFleet, std::string(), t);
    if (t > fleet_->last_event_us) fleet_->last_event_us = t;
    Count(fleet_, e, failure, t);
    int64_t fleet_attempts = fleet_->attempts_ratio.sum();
    // Only a failure can make a rule fire; firing incidents are re-evaluated by Tick().
    if (failure) Evaluate(kFleet, std::string(), fleet_, fleet_attempts, t, false);
    if (failure && !e.error.empty()) ObserveGroup(kError, e.error, e, failure, t, fleet_attempts);
    if (!e.model.empty()) ObserveGroup(kModel, e.model, e, failure, t, 0);
    auto [dev, server] = Attribute(e, t);
    Group* server_group = nullptr;
    if (server) server_group = ObserveGroup(kServer, *server, e, failure, t, 0);
    if (c_.device_enabled && dev) {
      // While the fleet or the phone's server has an alert firing, that alert already
      // covers the phone: one alert per incident, not one per phone.
      bool covered = Firing(*fleet_) || (server_group && Firing(*server_group));
      DeviceOutcome(e, dev, failure, covered, t);
    }
  }

  // Failure messages name no server ("Resync failed: $ERR"): a failure counts for the
  // server of the device's latest request or success. Returns the device's entry (nullptr
  // when unattributed or the table is full) and the server the event counts for.
  std::pair<DeviceAlertState*, const std::string*> Attribute(const Event& e, int64_t t) {
    const std::string* server = e.server.empty() ? nullptr : &e.server;
    if (e.mac == 0) return {nullptr, server};
    DeviceAlertState* dev = FindOrAddDevice(e.mac);
    if (!dev) return {nullptr, server};
    dev->last_event_s = std::max(dev->last_event_s, Seconds(t));
    if (server) {
      if (dev->server_id == kNoServer || server_names_[dev->server_id] != *server) {
        dev->server_id = Intern(*server);
      }
    } else if (dev->server_id != kNoServer) {
      server = &server_names_[dev->server_id];
    }
    return {dev, server};
  }

  // A firing incident takes its group's latest failure time and error when it is emitted,
  // rather than on every event.
  static void SyncFromGroup(const Group& g, Incident* inc) {
    if (!inc->firing) return;
    inc->alert.last_us = g.last_fail_us;
    if (inc->alert.last_error != g.last_error) inc->alert.last_error = g.last_error;
  }

  static bool Firing(const Group& g) { return g.count.firing || g.ratio.firing; }

  void ObserveDatagram(const SenderNetwork& network, int64_t received_us) {
    if (c_.enabled) fleet_rules_.ObserveDatagram(network, received_us);
  }
  void SetFleetSchedule(FleetScheduleSummary summary) {
    if (c_.enabled) fleet_rules_.SetSummary(std::move(summary));
  }
  FleetRules& fleet_rules() { return fleet_rules_; }
  const FleetRules& fleet_rules() const { return fleet_rules_; }

  void Tick(int64_t now) {
    if (!c_.enabled) return;
    // The fleet rules compare the clock with receive times: no event time in between.
    fleet_rules_.Tick(now);
    if (now > now_us_) now_us_ = now;
    now = now_us_;
    int64_t fleet_attempts = 0;
    auto fleet_it = dims_[kFleet].groups.find(std::string());
    if (fleet_it != dims_[kFleet].groups.end()) {
      fleet_attempts = fleet_it->second.attempts_ratio.Sum(now);
    }
    for (int d = 0; d < kDims; ++d) {
      Dimension& dim = dims_[d];
      std::vector<std::string> keys(dim.firing.begin(), dim.firing.end());
      for (const std::string& key : keys) {
        auto it = dim.groups.find(key);
        if (it == dim.groups.end()) continue;
        Evaluate(d, key, &it->second, fleet_attempts, now, true);
        for (Incident* inc : {&it->second.count, &it->second.ratio}) {
          SyncFromGroup(it->second, inc);
          EmitUpdate(inc, now);
        }
      }
      EvictIdle(&dim, now);
    }
    TickDevices(now);
  }

  int64_t ActiveCount(AlertRule rule) const {
    return active_[static_cast<int>(rule)].load(std::memory_order_relaxed);
  }

  std::vector<Alert> ActiveAlerts() const {
    std::vector<Alert> out;
    for (const Dimension& dim : dims_) {
      for (const std::string& key : dim.firing) {
        const Group& g = dim.groups.at(key);
        if (g.count.firing) out.push_back(g.count.alert);
        if (g.ratio.firing) out.push_back(g.ratio.alert);
      }
    }
    for (const auto& [mac, inc] : firing_devices_) out.push_back(inc.alert);
    fleet_rules_.AppendActive(&out);
    return out;
  }

  int64_t evicted() const { return evicted_; }

 private:
  // Finds or creates the group, moving it to the LRU front; nullptr when the dimension
  // is full of firing groups.
  Group* Touch(int d, const std::string& key, int64_t t) {
    Dimension& dim = dims_[d];
    auto it = dim.groups.find(key);
    if (it == dim.groups.end()) {
      if (static_cast<int64_t>(dim.groups.size()) >= c_.max_groups) {
        const std::string& victim = dim.lru.back();
        if (dim.firing.count(victim)) {
          ++evicted_;
          return nullptr;
        }
        dim.groups.erase(victim);
        dim.lru.pop_back();
        ++evicted_;
      }
      it = dim.groups.try_emplace(key, c_).first;
      dim.lru.push_front(key);
      it->second.lru = dim.lru.begin();
      it->second.lru_us = t;
    } else if (t - it->second.lru_us >= kLruResolutionUs) {
      // Eviction needs the LRU order only to the second: a hot group moves once a second.
      dim.lru.splice(dim.lru.begin(), dim.lru, it->second.lru);
      it->second.lru_us = t;
    }
    if (t > it->second.last_event_us) it->second.last_event_us = t;
    return &it->second;
  }

  void Count(Group* g, const Event& e, bool failure, int64_t t) {
    g->attempts_ratio.Add(t);
    if (!failure) return;
    if (g->fail_count.Sum(t) == 0) g->burst_first_us = t;
    g->fail_count.Add(t);
    g->fail_ratio.Add(t);
    if (t > g->last_fail_us) g->last_fail_us = t;
    if (g->last_error != e.error) g->last_error = e.error;
    if (e.mac != 0 && c_.sample_macs > 0) {
      auto& r = g->recent_macs;
      if (std::find(r.begin(), r.end(), e.mac) == r.end()) {
        if (r.size() < static_cast<size_t>(c_.sample_macs)) {
          r.push_back(e.mac);
        } else {
          r[g->recent_next] = e.mac;
          g->recent_next = (g->recent_next + 1) % r.size();
        }
      }
    }
    for (Incident* inc : {&g->count, &g->ratio}) {
      if (!inc->firing) continue;
      inc->alert.incident_failures++;  // last_us and last_error: see SyncFromGroup
      AddSample(&inc->alert.sample_macs, e.mac, c_.sample_macs);
      inc->dirty = true;
    }
  }

  Group* ObserveGroup(int d, const std::string& key, const Event& e, bool failure, int64_t t,
                      int64_t fleet_attempts) {
    Group* g = Touch(d, key, t);
    if (!g) return nullptr;
    Count(g, e, failure, t);
    if (failure) Evaluate(d, key, g, fleet_attempts, t, false);
    return g;
  }

  // Fires or arms/disarms the resolve timer of both rules of one group at time now;
  // with firing_too false (the per-event path) firing incidents are left to Tick().
  void Evaluate(int d, const std::string& key, Group* g, int64_t fleet_attempts, int64_t now,
                bool firing_too) {
    if (c_.failures_enabled && Enabled(c_.failures_group_by, d) &&
        (firing_too || !g->count.firing)) {
      int64_t failures = g->fail_count.Sum(now);
      bool on = failures >= c_.failures_min;
      bool below = failures == 0 || failures < c_.failures_min * c_.resolve_fraction;
      Step(d, key, g, &g->count, CountRule(d), on, below, failures, 0, now);
    }
    if (c_.ratio_enabled && Enabled(c_.ratio_group_by, d) && (firing_too || !g->ratio.firing)) {
      int64_t failures = g->fail_ratio.Sum(now);
      int64_t attempts = d == kError ? fleet_attempts : g->attempts_ratio.Sum(now);
      double ratio = attempts > 0 ? static_cast<double>(failures) / attempts : 0.0;
      bool on = attempts >= c_.ratio_min_attempts && ratio >= c_.ratio_min;
      bool below = failures == 0 || attempts < c_.ratio_min_attempts ||
                   ratio < c_.ratio_min * c_.resolve_fraction;
      Step(d, key, g, &g->ratio, RatioRule(d), on, below, failures, attempts, now);
    }
  }

  void Step(int d, const std::string& key, Group* g, Incident* inc, AlertRule rule, bool on,
            bool below, int64_t failures, int64_t attempts, int64_t now) {
    if (inc->firing) {
      if (inc->alert.failures != failures || inc->alert.attempts != attempts) {
        inc->alert.failures = failures;
        inc->alert.attempts = attempts;
        inc->dirty = true;
      }
      if (!below) {
        inc->below_since_us = 0;
      } else if (inc->below_since_us == 0) {
        inc->below_since_us = now;
      } else if (now - inc->below_since_us >= c_.resolve_after_us) {
        SyncFromGroup(*g, inc);
        Resolve(inc, now);
        if (!g->count.firing && !g->ratio.firing) dims_[d].firing.erase(key);
      }
      return;
    }
    if (!on) return;
    Alert& a = inc->alert;
    a = Alert();
    a.rule = rule;
    a.group_value = key;
    a.state = Alert::State::kFiring;
    bool ratio = static_cast<int>(rule) >= 4;
    a.window_us = ratio ? c_.ratio_window_us : c_.failures_window_us;
    a.threshold = ratio ? c_.ratio_min : static_cast<double>(c_.failures_min);
    a.failures = failures;
    a.attempts = attempts;
    a.incident_failures = failures;
    a.first_us = g->burst_first_us;
    a.last_us = g->last_fail_us;
    a.started_us = now;
    a.updated_us = now;
    a.last_error = g->last_error;
    a.sample_macs = g->recent_macs;
    a.id = std::string(ToString(rule)) + "/" + key + "/" + std::to_string(now);
    inc->firing = true;
    inc->below_since_us = 0;
    Fire(inc, now);
    dims_[d].firing.insert(key);
  }

  void Fire(Incident* inc, int64_t now) {
    inc->dirty = false;
    inc->last_emit_us = now;
    active_[static_cast<int>(inc->alert.rule)].fetch_add(1, std::memory_order_relaxed);
    Emit(AlertChange::Kind::kFired, inc->alert);
  }

  void Resolve(Incident* inc, int64_t now) {
    inc->firing = false;
    inc->dirty = false;
    inc->alert.state = Alert::State::kResolved;
    inc->alert.updated_us = now;
    inc->alert.resolved_us = now;
    active_[static_cast<int>(inc->alert.rule)].fetch_sub(1, std::memory_order_relaxed);
    Emit(AlertChange::Kind::kResolved, inc->alert);
  }

  void EmitUpdate(Incident* inc, int64_t now) {
    if (!inc->firing || !inc->dirty || now - inc->last_emit_us < c_.update_interval_us) return;
    inc->dirty = false;
    inc->last_emit_us = now;
    inc->alert.updated_us = now;
    Emit(AlertChange::Kind::kUpdated, inc->alert);
  }

  void CountActive(AlertChange::Kind kind, AlertRule rule) {
    auto& active = active_[static_cast<int>(rule)];
    if (kind == AlertChange::Kind::kFired) active.fetch_add(1, std::memory_order_relaxed);
    if (kind == AlertChange::Kind::kResolved) active.fetch_sub(1, std::memory_order_relaxed);
  }

  void Emit(AlertChange::Kind kind, const Alert& alert) {
    if (!listener_) return;
    AlertChange change;
    change.kind = kind;
    change.alert = alert;
    listener_(change);
  }

  void EvictIdle(Dimension* dim, int64_t now) {
    while (!dim->lru.empty()) {
      auto it = dim->groups.find(dim->lru.back());
      if (it->second.last_event_us + idle_us_ > now || dim->firing.count(it->first)) break;
      if (&it->second == fleet_) fleet_ = nullptr;
      dim->groups.erase(it);
      dim->lru.pop_back();
    }
  }

  // The device's entry, created when there is room (nullptr when the table is full).
  DeviceAlertState* FindOrAddDevice(MacAddress mac) {
    if (DeviceAlertState* s = devices_.Find(mac)) return s;
    if (static_cast<int64_t>(devices_.size()) >= c_.max_devices) {
      ++evicted_;  // full: the idle sweep in Tick() makes room again
      return nullptr;
    }
    return devices_.Insert(mac);
  }

  // Seconds since base_us_ (set by the first event), for the compact device entries.
  uint32_t Seconds(int64_t t) {
    if (base_us_ == INT64_MIN) base_us_ = t;
    if (t <= base_us_) return 0;
    return static_cast<uint32_t>(std::min<int64_t>((t - base_us_) / 1'000'000, UINT32_MAX));
  }

  uint16_t Intern(const std::string& server) {
    auto it = server_ids_.find(server);
    if (it != server_ids_.end()) return it->second;
    if (server_names_.size() >= kMaxServerNames) return kNoServer;
    uint16_t id = static_cast<uint16_t>(server_names_.size());
    server_names_.push_back(server);
    server_ids_.emplace(server, id);
    return id;
  }

  void DeviceOutcome(const Event& e, DeviceAlertState* s, bool failure, bool covered, int64_t t) {
    if (!failure) {
      if (s->firing) ResolveDevice(e.mac, s, t);
      s->consecutive = 0;
      return;
    }
    if (s->consecutive == 0) s->first_fail_us = t;
    if (s->consecutive < kMaxConsecutive) s->consecutive = s->consecutive + 1;
    if (s->firing) {
      Incident& inc = firing_devices_[e.mac];
      inc.alert.failures = s->consecutive;
      inc.alert.incident_failures++;
      inc.alert.last_us = std::max(inc.alert.last_us, t);
      if (inc.alert.last_error != e.error) inc.alert.last_error = e.error;
      inc.dirty = true;
      return;
    }
    if (s->consecutive < c_.device_consecutive_min || covered) return;
    s->firing = true;
    Incident& inc = firing_devices_[e.mac];
    Alert& a = inc.alert;
    a = Alert();
    a.rule = AlertRule::kDeviceConsecutive;
    a.group_value = MacHex(e.mac);
    a.threshold = static_cast<double>(c_.device_consecutive_min);
    a.failures = s->consecutive;
    a.incident_failures = s->consecutive;
    a.first_us = s->first_fail_us;
    a.last_us = t;
    a.started_us = t;
    a.updated_us = t;
    a.last_error = e.error;
    a.sample_macs = {e.mac};
    a.id = std::string(ToString(a.rule)) + "/" + a.group_value + "/" + std::to_string(t);
    inc.firing = true;
    Fire(&inc, t);
  }

  // Updates of firing device alerts, and an incremental sweep (1/16 of the table per
  // tick) that resolves and forgets devices silent for device_idle_resolve_us.
  void TickDevices(int64_t now) {
    for (auto& [mac, inc] : firing_devices_) EmitUpdate(&inc, now);
    const uint32_t idle_s = static_cast<uint32_t>(
        std::min<int64_t>(c_.device_idle_resolve_us / 1'000'000 + 1, UINT32_MAX / 2));
    size_t n = devices_.capacity() / 16 + 1;
    for (size_t k = 0; k < n; ++k) {
      sweep_ = (sweep_ + 1) % devices_.capacity();
      auto& slot = devices_.slot(sweep_);
      if (slot.key == 0 || slot.value.last_event_s + idle_s > Seconds(now)) continue;
      MacAddress mac = slot.key;
      if (slot.value.firing) ResolveDevice(mac, &slot.value, now);
      devices_.Erase(mac);
    }
  }

  void ResolveDevice(MacAddress mac, DeviceAlertState* s, int64_t now) {
    auto it = firing_devices_.find(mac);
    Resolve(&it->second, now);
    firing_devices_.erase(it);
    s->firing = false;
  }

  AlertConfig c_;
  AlertListener listener_;
  int64_t idle_us_ = 0;
  int64_t now_us_ = INT64_MIN;
  int64_t evicted_ = 0;
  Group* fleet_ = nullptr;  // the one group of the fleet dimension, once created
  std::array<Dimension, kDims> dims_;
  MacTable<DeviceAlertState> devices_;
  std::vector<std::string> server_names_;  // interned server names, never removed
  std::unordered_map<std::string, uint16_t> server_ids_;
  int64_t base_us_ = INT64_MIN;
  size_t sweep_ = 0;
  std::unordered_map<MacAddress, Incident> firing_devices_;
  std::array<std::atomic<int64_t>, kAlertRuleCount> active_;
  FleetRules fleet_rules_;  // last: its emit function uses the members above
};

AlertEngine::AlertEngine(const AlertConfig& config, AlertListener listener)
    : impl_(std::make_unique<Impl>(config, std::move(listener))) {}
AlertEngine::~AlertEngine() = default;
void AlertEngine::Observe(const Event& event) {
  // The device's entry is the one likely cache miss: it loads while the group work that
  // does not need it runs.
  impl_->PrefetchDevice(event.mac);
  impl_->Observe(event);
}

void AlertEngine::Observe(std::span<const Event> events) {
  constexpr size_t kAhead = 6;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size()) impl_->PrefetchDevice(events[i + kAhead].mac);
    impl_->Observe(events[i]);
  }
}
void AlertEngine::ObserveDatagram(const SenderNetwork& network, int64_t received_us) {
  impl_->ObserveDatagram(network, received_us);
}
void AlertEngine::SetFleetSchedule(FleetScheduleSummary summary) {
  impl_->SetFleetSchedule(std::move(summary));
}
void AlertEngine::Tick(int64_t now_us) { impl_->Tick(now_us); }
int64_t AlertEngine::ActiveCount(AlertRule rule) const { return impl_->ActiveCount(rule); }
std::vector<Alert> AlertEngine::ActiveAlerts() const { return impl_->ActiveAlerts(); }
int64_t AlertEngine::evicted_groups() const { return impl_->evicted(); }
int64_t AlertEngine::tracked_networks() const { return impl_->fleet_rules().tracked(); }
int64_t AlertEngine::evicted_networks() const { return impl_->fleet_rules().evicted(); }

}  // namespace resyncwatch
