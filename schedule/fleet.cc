// Running the analysis over a store: one device (History) or the whole fleet (one Scan).
#include <unordered_map>

#include "schedule/schedule.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

bool Relevant(EventKind kind) { return kind != EventKind::kUnknown; }

}  // namespace

Result<DeviceAnalysis> AnalyzeStoredDevice(const Store& store, MacAddress mac,
                                           const ScheduleConfigSet& configs, TimeRange range,
                                           int64_t now_us, const AnalysisOptions& options,
                                           std::string* model) {
  std::vector<ResyncEvent> events;
  std::string seen_model;
  Status s = store.History(mac, range, [&](const Event& e) {
    if (!Relevant(e.kind)) return true;
    if (seen_model.empty() && !e.model.empty()) seen_model = e.model;
    events.push_back(ToResyncEvent(e));
    return true;
  });
  if (!s.ok()) return s;
  if (seen_model.empty()) {
    auto summary = store.GetDevice(mac);
    if (summary.ok()) seen_model = summary->model;
  }
  if (model) *model = seen_model;
  return AnalyzeDevice(events, configs.For(mac, seen_model), now_us, options);
}

Status AnalyzeFleet(const Store& store, const ScheduleConfigSet& configs, TimeRange range,
                    int64_t now_us, const AnalysisOptions& options,
                    const std::function<void(const FleetDevice&)>& visit) {
  struct Pending {
    std::string model;
    std::vector<ResyncEvent> events;
  };
  std::unordered_map<MacAddress, Pending> devices;
  Status s = store.Scan(range, [&](const Event& e) {
    if (e.mac == 0 || !Relevant(e.kind)) return true;
    Pending& p = devices[e.mac];
    if (p.model.empty() && !e.model.empty()) p.model = e.model;
    p.events.push_back(ToResyncEvent(e));
    return true;
  });
  if (!s.ok()) return s;
  // Devices known to the store but silent in the range: judged from their summary.
  s = store.ForEachDevice([&](const DeviceSummary& d) {
    auto it = devices.find(d.mac);
    if (it != devices.end()) {
      if (it->second.model.empty()) it->second.model = d.model;
      return true;
    }
    Pending& p = devices[d.mac];
    p.model = d.model;
    int64_t last = std::max(d.last_success_us, d.last_failure_us);
    if (last != 0 && last < range.since_us) {
      p.events.push_back({last,
                          d.last_failure_us > d.last_success_us ? EventKind::kResyncFailure
                                                                : EventKind::kResyncSuccess,
                          false});
    }
    return true;
  });
  if (!s.ok()) return s;
  FleetDevice out;
  for (auto& [mac, p] : devices) {
    out.mac = mac;
    out.model = p.model;
    out.analysis = AnalyzeDevice(p.events, configs.For(mac, p.model), now_us, options);
    visit(out);
  }
  return Status::Ok();
}

}  // namespace resyncwatch
