// FleetRules: schedule rules fire and resolve on analyses (every few minutes); silence
// rules on Tick (about once a second). Each incident fires once, is updated while its
// numbers change, and resolves once.
#include "alerts/fleet_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace resyncwatch {
namespace {

constexpr int64_t kLruResolutionUs = 1'000'000;

}  // namespace

SenderNetwork SenderNetwork::FromIpv4(const uint8_t* a) {
  SenderNetwork n;
  n.prefix = uint64_t{a[0]} << 16 | uint64_t{a[1]} << 8 | a[2];
  return n;
}

SenderNetwork SenderNetwork::FromIpv6(const uint8_t* a) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a, kMapped, sizeof kMapped) == 0) return FromIpv4(a + 12);
  SenderNetwork n;
  n.v6 = true;
  for (int i = 0; i < 8; ++i) n.prefix = n.prefix << 8 | a[i];
  return n;
}

std::string SenderNetwork::ToString() const {
  uint8_t bytes[16] = {};
  char text[INET6_ADDRSTRLEN] = {};
  if (!v6) {
    for (int i = 0; i < 3; ++i) bytes[i] = static_cast<uint8_t>(prefix >> (16 - 8 * i));
    inet_ntop(AF_INET, bytes, text, sizeof text);
    return std::string(text) + "/24";
  }
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(prefix >> (56 - 8 * i));
  inet_ntop(AF_INET6, bytes, text, sizeof text);
  return std::string(text) + "/64";
}

FleetRules::FleetRules(const AlertConfig& config, EmitFn emit)
    : c_(config), emit_(std::move(emit)) {}

void FleetRules::SetSummary(FleetScheduleSummary summary) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_ = std::move(summary);
}

void FleetRules::ObserveDatagram(const SenderNetwork& network, int64_t t) {
  if (t > last_datagram_us_) last_datagram_us_ = t;
  if (!c_.network_silence_enabled) return;
  Network* n =
      last_network_ != nullptr && last_key_ == network ? last_network_ : FindOrAdd(network, t);
  if (n == nullptr) return;
  n->recent.Add(t);
  if (t > n->last_us) n->last_us = t;
  if (t - n->lru_us >= kLruResolutionUs) {
    // Eviction needs the order only to the second: a busy network moves once a second.
    lru_.splice(lru_.begin(), lru_, n->lru);
    n->lru_us = t;
  }
}

FleetRules::Network* FleetRules::FindOrAdd(const SenderNetwork& key, int64_t t) {
  auto it = networks_.find(key);
  if (it == networks_.end()) {
    if (static_cast<int64_t>(networks_.size()) >= c_.max_networks && !EvictOne()) return nullptr;
    it = networks_.try_emplace(key, c_.network_active_window_us).first;
    lru_.push_front(key);
    it->second.lru = lru_.begin();
    it->second.lru_us = t;
    tracked_.store(static_cast<int64_t>(networks_.size()), std::memory_order_relaxed);
  }
  last_key_ = key;
  last_network_ = &it->second;
  return last_network_;
}

// Evicts the network heard least recently whose alert is not firing (a firing one stays
// until it sends or is forgotten). False when every tracked network is firing.
bool FleetRules::EvictOne() {
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    auto victim = networks_.find(*it);
    if (victim->second.alert) continue;
    Forget(victim);
    evicted_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  evicted_.fetch_add(1, std::memory_order_relaxed);  // refused: counted the same
  return false;
}

FleetRules::Networks::iterator FleetRules::Forget(Networks::iterator it) {
  if (last_network_ == &it->second) last_network_ = nullptr;
  lru_.erase(it->second.lru);
  auto next = networks_.erase(it);
  tracked_.store(static_cast<int64_t>(networks_.size()), std::memory_order_relaxed);
  return next;
}

void FleetRules::Tick(int64_t now) {
  if (first_tick_us_ == INT64_MIN) first_tick_us_ = now;
  JudgeSchedule(now);
  JudgeFleetSilence(now);
  JudgeNetworkSilence(now);
}

void FleetRules::JudgeSchedule(int64_t now) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!pending_) return;
    summary_ = std::move(pending_);
    pending_.reset();
  }
  const FleetScheduleSummary& s = *summary_;
  if (c_.overdue_enabled) {
    double share = s.phones > 0 ? static_cast<double>(s.overdue) / s.phones : 0.0;
    bool on = s.overdue >= c_.overdue_min_phones ||
              (s.overdue > 0 && c_.overdue_min_share > 0 && share >= c_.overdue_min_share);
    StepSchedule(&overdue_, AlertRule::kScheduleOverdue, on, s.overdue, s.worst_overdue,
                 static_cast<double>(c_.overdue_min_phones), now);
  }
  if (c_.hammering_enabled) {
    bool on = s.hammering >= c_.hammering_min_phones;
    StepSchedule(&hammering_, AlertRule::kScheduleHammering, on, s.hammering, s.worst_hammering,
                 static_cast<double>(c_.hammering_min_phones), now);
  }
}

// Fires, updates (when the numbers changed) or resolves one schedule incident.
void FleetRules::StepSchedule(Incident* inc, AlertRule rule, bool on, int64_t phones,
                              const std::vector<MacAddress>& worst, double threshold, int64_t now) {
  const FleetScheduleSummary& s = *summary_;
  Alert& a = inc->alert;
  if (!inc->firing && !on) return;
  bool changed = a.phones != phones || a.fleet_phones != s.phones || a.sample_macs != worst;
  if (!inc->firing) {
    a = NewAlert(rule, "", now);
    a.threshold = threshold;
    if (rule == AlertRule::kScheduleOverdue) a.share_threshold = c_.overdue_min_share;
    a.first_us = s.now_us;
  }
  a.phones = phones;
  a.fleet_phones = s.phones;
  a.sample_macs = worst;
  a.last_us = s.now_us;
  if (!inc->firing) {
    inc->firing = true;
    Fire(&a);
  } else if (!on) {
    inc->firing = false;
    Resolve(&a, now);
  } else if (changed) {
    a.updated_us = now;
    emit_(AlertChange::Kind::kUpdated, a);
  }
}

void FleetRules::JudgeFleetSilence(int64_t now) {
  if (!c_.fleet_silence_enabled) return;
  Alert& a = fleet_silence_.alert;
  if (fleet_silence_.firing) {
    if (last_datagram_us_ > a.first_us) {
      fleet_silence_.firing = false;
      a.last_us = last_datagram_us_;
      Resolve(&a, now);
    }
    return;
  }
  // Before the first datagram, the silence counts from the first tick (the start).
  int64_t since = std::max(last_datagram_us_, first_tick_us_);
  if (now - since < c_.fleet_silence_us) return;
  int64_t due = summary_ ? summary_->DueAt(now) : 0;
  if (due == 0) return;
  a = NewAlert(AlertRule::kFleetSilence, "", now);
  a.window_us = c_.fleet_silence_us;
  a.threshold = static_cast<double>(c_.fleet_silence_us) / 1e6;
  a.first_us = a.last_us = since;
  a.phones = due;
  a.fleet_phones = summary_->phones;
  fleet_silence_.firing = true;
  Fire(&a);
}

void FleetRules::JudgeNetworkSilence(int64_t now) {
  if (!c_.network_silence_enabled) return;
  bool fleet_sends =
      last_datagram_us_ != INT64_MIN && now - last_datagram_us_ < c_.network_silence_us;
  for (auto it = networks_.begin(); it != networks_.end();) {
    if (JudgeNetwork(it->first, &it->second, fleet_sends, now)) {
      ++it;
    } else {
      it = Forget(it);
    }
  }
}

// Fires or resolves one network's silence alert; false when the network is to be forgotten.
bool FleetRules::JudgeNetwork(const SenderNetwork& key, Network* n, bool fleet_sends, int64_t now) {
  bool forget = now - n->last_us >= c_.network_forget_us;
  if (n->alert) {
    if (n->last_us > n->alert->first_us || forget) {
      n->alert->last_us = n->last_us;
      Resolve(n->alert.get(), now);
      n->alert.reset();
    }
    return !forget;
  }
  if (forget) return false;
  if (!fleet_sends || now - n->last_us < c_.network_silence_us) return true;
  // recent.sum() is as of the network's last datagram: its activity before the silence.
  if (n->recent.sum() < c_.network_min_datagrams) return true;
  n->alert = std::make_unique<Alert>(NewAlert(AlertRule::kNetworkSilence, key.ToString(), now));
  Alert& a = *n->alert;
  a.window_us = c_.network_silence_us;
  a.threshold = static_cast<double>(c_.network_silence_us) / 1e6;
  a.first_us = a.last_us = n->last_us;
  a.phones = n->recent.sum();
  Fire(&a);
  return true;
}

Alert FleetRules::NewAlert(AlertRule rule, std::string group_value, int64_t now) const {
  Alert a;
  a.rule = rule;
  a.group_value = std::move(group_value);
  a.state = Alert::State::kFiring;
  a.started_us = a.updated_us = now;
  a.id = std::string(ToString(rule)) + "/" + a.group_value + "/" + std::to_string(now);
  return a;
}

void FleetRules::Fire(Alert* a) { emit_(AlertChange::Kind::kFired, *a); }

void FleetRules::Resolve(Alert* a, int64_t now) {
  a->state = Alert::State::kResolved;
  a->updated_us = a->resolved_us = now;
  emit_(AlertChange::Kind::kResolved, *a);
}

void FleetRules::AppendActive(std::vector<Alert>* out) const {
  for (const Incident* inc : {&overdue_, &hammering_, &fleet_silence_}) {
    if (inc->firing) out->push_back(inc->alert);
  }
  for (const auto& [key, n] : networks_) {
    if (n.alert) out->push_back(*n.alert);
  }
}

}  // namespace resyncwatch
