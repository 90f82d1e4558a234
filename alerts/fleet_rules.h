// FleetRules: the AlertEngine's rules over the fleet as a whole: the schedule rules
// (phones overdue, phones hammering), judged on the latest FleetScheduleSummary, and the
// silence rules (the fleet, one sender network), judged on the datagrams received.
// Internal to alerts/. Single-threaded (the engine's thread) except SetSummary(),
// tracked() and evicted(), which any thread may call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "alerts/alerts.h"
#include "alerts/window.h"

namespace resyncwatch {

struct SenderNetworkHash {
  size_t operator()(const SenderNetwork& n) const {
    uint64_t x = n.prefix ^ (n.v6 ? 0xD6E8FEB86659FD93ULL : 0);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return static_cast<size_t>(x ^ (x >> 31));
  }
};

class FleetRules {
 public:
  // Receives every change; the engine counts active alerts and tells its listener.
  using EmitFn = std::function<void(AlertChange::Kind, const Alert&)>;
  FleetRules(const AlertConfig& config, EmitFn emit);

  void SetSummary(FleetScheduleSummary summary);
  void ObserveDatagram(const SenderNetwork& network, int64_t received_us);
  void Tick(int64_t now_us);
  void AppendActive(std::vector<Alert>* out) const;
  int64_t tracked() const { return tracked_.load(std::memory_order_relaxed); }
  int64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }

 private:
  struct Incident {
    bool firing = false;
    Alert alert;
  };
  struct Network {
    explicit Network(int64_t active_window_us) : recent(active_window_us) {}
    WindowCounter recent;  // datagrams within the active window before the last one
    int64_t last_us = 0;
    int64_t lru_us = 0;
    std::unique_ptr<Alert> alert;  // while its silence alert fires
    std::list<SenderNetwork>::iterator lru;
  };
  using Networks = std::unordered_map<SenderNetwork, Network, SenderNetworkHash>;

  void JudgeSchedule(int64_t now_us);
  void StepSchedule(Incident* inc, AlertRule rule, bool on, int64_t phones,
                    const std::vector<MacAddress>& worst, double threshold, int64_t now_us);
  void JudgeFleetSilence(int64_t now_us);
  void JudgeNetworkSilence(int64_t now_us);
  bool JudgeNetwork(const SenderNetwork& key, Network* n, bool fleet_sends, int64_t now_us);
  Network* FindOrAdd(const SenderNetwork& key, int64_t t_us);
  bool EvictOne();
  Networks::iterator Forget(Networks::iterator it);
  Alert NewAlert(AlertRule rule, std::string group_value, int64_t now_us) const;
  void Fire(Alert* alert);
  void Resolve(Alert* alert, int64_t now_us);

  AlertConfig c_;
  EmitFn emit_;

  std::mutex mu_;
  std::optional<FleetScheduleSummary> pending_;  // guarded by mu_
  std::optional<FleetScheduleSummary> summary_;  // the latest judged
  Incident overdue_;
  Incident hammering_;
  Incident fleet_silence_;

  int64_t first_tick_us_ = INT64_MIN;  // silence counts from here when nothing came yet
  int64_t last_datagram_us_ = INT64_MIN;
  Networks networks_;
  std::list<SenderNetwork> lru_;  // front: heard most recently (to the second)
  SenderNetwork last_key_;        // consecutive datagrams mostly share a sender
  Network* last_network_ = nullptr;
  std::atomic<int64_t> tracked_{0};
  std::atomic<int64_t> evicted_{0};
};

}  // namespace resyncwatch
