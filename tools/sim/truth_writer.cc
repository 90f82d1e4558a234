#include "tools/sim/truth_writer.h"

#include <cstdio>

#include "common/json_writer.h"
#include "common/time_format.h"

namespace resyncwatch {
namespace {

void AddSchedule(JsonWriter& w, std::string_view key, const ScheduleConfig& c) {
  w.BeginObject(key);
  w.String("Resync_Periodic", c.periodic.ToString());
  w.String("Resync_Error_Retry_Delay", c.retry.ToString());
  w.Int("Resync_Random_Delay", c.random_delay);
  w.String("Resync_At__HHmm_", c.at_text);
  w.Int("Resync_At_Random_Delay", c.at_random_delay_s);
  w.Int("utc_offset_minutes", c.utc_offset_minutes);
  w.EndObject();
}

void OptionalTime(JsonWriter& w, std::string_view key, int64_t us) {
  if (us) {
    w.String(key, FormatIso8601Utc(us));
  } else {
    w.Null(key);
  }
}

}  // namespace

Status WriteTruth(const FleetSim& sim, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Status::IoError(path + ": cannot create");
  JsonWriter w;
  auto line = [&] {
    std::fwrite(w.str().data(), 1, w.str().size(), f);
    std::fputc('\n', f);
  };
  TimeFormatter time = [](int64_t us) { return FormatIso8601Utc(us); };
  for (const SimPhone& p : sim.phones()) {
    w.Begin();
    w.String("type", "phone");
    w.String("mac", FormatMac(p.mac));
    w.String("model", p.model);
    const SimServer& s = sim.servers()[p.server];
    w.String("server", s.scheme + "://" + s.ip + ":" + std::to_string(s.port));
    w.Int("profiles", p.profiles);
    w.String("misconfig", ToString(p.misconfig));
    AddSchedule(w, "expected", p.expected);
    AddSchedule(w, "actual", p.actual);
    OptionalTime(w, "offline_at", p.offline_at_us);
    OptionalTime(w, "back_at", p.back_at_us);
    OptionalTime(w, "upgrade_at", p.upgrade_at_us);
    w.End();
    line();
  }
  for (const TruthGap& g : sim.gaps()) {
    w.Begin();
    w.String("type", "gap");
    AddGapJson(w, sim.phones()[g.phone].mac, g.gap, time);
    w.End();
    line();
  }
  for (const TruthFinal& fin : sim.finals()) {
    const SimPhone& p = sim.phones()[fin.phone];
    w.Begin();
    w.String("type", "final");
    AddDeviceJson(w, p.mac, p.model, fin.analysis, time);
    w.End();
    line();
  }
  return std::fclose(f) == 0 ? Status::Ok() : Status::IoError(path + ": write failed");
}

}  // namespace resyncwatch
