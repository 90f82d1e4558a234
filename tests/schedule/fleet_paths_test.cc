// The three ways the schedule analysis reads a store judge every device alike: the whole
// fleet (AnalyzeFleet: `schedule --fleet`), chosen devices (AnalyzeDevices: `recovery`) and
// one device by its History (AnalyzeStoredDevice: `schedule MAC`). The store holds a fleet
// of simulated phones (resyncwatch-sim's archive lines, parsed and stored as `import` does).
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "parsers/parsers.h"
#include "schedule/schedule.h"
#include "store/store.h"
#include "tests/testlib/testlib.h"
#include "tools/sim/sim.h"

namespace resyncwatch {
namespace {

using testing::TempDir;

constexpr int64_t kHour = 3600 * kMicrosPerSecond;

// Everything a device's judgement says, gaps included, as one comparable text.
std::string Judgement(const FleetDevice& d) {
  auto time = [](int64_t us) { return std::to_string(us); };
  JsonWriter w;
  w.Begin();
  AddDeviceJson(w, d.mac, d.model, d.analysis, time);
  w.Int("deferral_allowance_us", d.analysis.deferral_allowance_us);
  w.Int("resyncs_disabled", d.analysis.resyncs_disabled);
  w.End();
  std::string out = w.str();
  for (const Gap& gap : d.analysis.gaps) {
    JsonWriter g;
    g.Begin();
    AddGapJson(g, d.mac, gap, time);
    g.End();
    out += "\n" + g.str();
  }
  return out;
}

// The latest failure message of the device in range, read by its History.
std::pair<int64_t, std::string> LatestFailure(const Store& store, MacAddress mac, TimeRange range) {
  std::pair<int64_t, std::string> latest{0, ""};
  REQUIRE(store
              .History(mac, range,
                       [&](const Event& e) {
                         if (e.kind == EventKind::kResyncFailure ||
                             e.kind == EventKind::kUpgradeFailure) {
                           latest = {e.event_time_us, e.host};
                         }
                         return true;
                       })
              .ok());
  return latest;
}

struct SimulatedStore {
  TempDir dir;
  sim::Fleet fleet;
  ManualClock clock;
  std::unique_ptr<Store> store;

  explicit SimulatedStore(sim::Options options) : fleet(options), clock(fleet.end_us()) {
    fleet.Run();
    StoreOptions store_options;
    store_options.clock = &clock;
    auto opened = Store::Open(dir.path(), store_options);
    REQUIRE(opened.ok());
    store = std::move(*opened);
    auto templates = TemplateSet::FromConfigJson(fleet.ConfigJson());
    REQUIRE(templates.ok());
    ParseContext ctx;
    ctx.reference_us = fleet.end_us();
    WriteBatch batch;
    for (const sim::SimLine& line : fleet.lines()) {
      ParsedMessage m = Parse(fleet.ArchiveLine(line), *templates, ctx);
      batch.events.push_back(EventFromParsed(m, fleet.end_us(), "file:fleet.log", true));
      if (batch.events.size() == 5000) {
        REQUIRE(store->Write(batch).ok());
        batch.events.clear();
      }
    }
    REQUIRE(store->Write(batch).ok());
  }
};

}  // namespace

TEST_CASE("AnalyzeDevices and one device's History judge each phone as AnalyzeFleet does") {
  sim::Options options;
  options.phones = 300;
  options.start_us = *ParseIso8601("2026-11-22T00:00:00Z");
  options.duration_us = 30 * kHour;
  options.seed = 15;
  SimulatedStore s(options);
  auto configs = ScheduleConfigSet::Parse(s.fleet.ConfigJson());
  REQUIRE(configs.ok());
  std::vector<DeviceSummary> summaries;
  REQUIRE(s.store
              ->ForEachDevice([&](const DeviceSummary& d) {
                summaries.push_back(d);
                return true;
              })
              .ok());
  REQUIRE(summaries.size() == 300);
  const int64_t now = s.fleet.end_us();
  const int64_t start = options.start_us;
  AnalysisOptions analysis;
  analysis.threads = 2;

  // The whole range, one that starts and ends mid-way (first attempts deep in a back-off,
  // outcomes after the range), and a last minute in which most phones are silent.
  for (TimeRange range : {TimeRange{start, now}, TimeRange{start + 7 * kHour, now - 5 * kHour},
                          TimeRange{now - 60 * kMicrosPerSecond, now}}) {
    INFO("range " << range.since_us << " .. " << range.until_us);
    std::map<MacAddress, FleetDevice> fleet;
    REQUIRE(AnalyzeFleet(*s.store, *configs, range, now, analysis, [&](FleetDevice& d) {
              fleet[d.mac] = std::move(d);
            }).ok());
    REQUIRE(fleet.size() == summaries.size());
    int failing = 0;
    for (const auto& [mac, d] : fleet) failing += d.analysis.last_outcome == Outcome::kFailure;
    CHECK(failing > 0);

    // Every device, and every third one (the others' events skipped on their MAC).
    for (size_t step : {size_t{1}, size_t{3}}) {
      std::vector<DeviceSummary> chosen;
      for (size_t i = 0; i < summaries.size(); i += step) chosen.push_back(summaries[i]);
      std::map<MacAddress, FleetDevice> devices;
      REQUIRE(AnalyzeDevices(*s.store, *configs, chosen, range, now, analysis, [&](FleetDevice& d) {
                CHECK(devices.count(d.mac) == 0);
                devices[d.mac] = std::move(d);
              }).ok());
      REQUIRE(devices.size() == chosen.size());
      for (const DeviceSummary& summary : chosen) {
        INFO("mac " << FormatMac(summary.mac) << ", every " << step);
        const FleetDevice& d = devices.at(summary.mac);
        const FleetDevice& f = fleet.at(summary.mac);
        CHECK(Judgement(d) == Judgement(f));
        CHECK(d.last_failure_us == f.last_failure_us);
        CHECK(d.last_failure_host == f.last_failure_host);
        std::pair<int64_t, std::string> latest = LatestFailure(*s.store, summary.mac, range);
        CHECK(d.last_failure_us == latest.first);
        CHECK(d.last_failure_host == latest.second);
      }
    }

    for (size_t i = 0; i < summaries.size(); i += 10) {
      INFO("mac " << FormatMac(summaries[i].mac));
      FleetDevice one;
      one.mac = summaries[i].mac;
      auto judged =
          AnalyzeStoredDevice(*s.store, one.mac, *configs, range, now, analysis, &one.model);
      REQUIRE(judged.ok());
      one.analysis = std::move(*judged);
      CHECK(Judgement(one) == Judgement(fleet.at(one.mac)));
    }
  }
}

}  // namespace resyncwatch
