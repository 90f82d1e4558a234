#include "tools/sim/fleet_sim.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "common/time_format.h"

namespace resyncwatch {
namespace {

constexpr int64_t kS = kMicrosPerSecond;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kHour = 3600 * kS;

using Rng = std::mt19937_64;

int64_t Uniform(Rng& rng, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}
bool Chance(Rng& rng, double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

struct ModelShare {
  const char* model;
  double share;
  const char* firmware;
  bool mpp;
};
constexpr ModelShare kModels[] = {
    {"CP-8851-3PCC", 0.30, "sip88xx.12-0-1MPP-14.loads", true},
    {"CP-7841-3PCC", 0.20, "sip78xx.12-0-1MPP-14.loads", true},
    {"CP-6841-3PCC", 0.15, "sip68xx.12-0-1MPP-14.loads", true},
    {"CP-8845-3PCC", 0.10, "sip8845_65.12-0-1MPP-14.loads", true},
    {"CP-8832-3PCC", 0.05, "sip8832.12-0-1MPP-14.loads", true},
    {"ATA192-3PCC", 0.06, "ata192.1-2-5.loads", true},
    {"SPA112", 0.07, "spa112-1-4-1-SR5.bin", false},
    {"SPA504G", 0.07, "spa50x-30x-7-6-2f.bin", false},
};
constexpr uint64_t kOuis[] = {0x000e08, 0xc4b9cd, 0x0c1167, 0x5c5015};
constexpr int kAtHhmmMacOverrides = 12;

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string ColonMac(MacAddress mac) {
  std::string ma = FormatMac(mac);
  std::string out;
  for (size_t i = 0; i < 12; i += 2) {
    if (i) out += ':';
    out += ma.substr(i, 2);
  }
  return out;
}

const char* FirmwareFor(std::string_view model) {
  for (const auto& m : kModels) {
    if (model == m.model) return m.firmware;
  }
  return "firmware.loads";
}

}  // namespace

std::string_view ToString(Misconfig m) {
  switch (m) {
    case Misconfig::kNone:
      return "none";
    case Misconfig::kHammering:
      return "hammering";
    case Misconfig::kWrongRetryList:
      return "wrong_retry_list";
    case Misconfig::kShortPeriodic:
      return "short_periodic";
  }
  return "none";
}

AnalysisOptions FleetSim::TruthOptions() {
  AnalysisOptions o;
  o.infer_initial_step = false;  // every phone powers on inside the simulated range
  return o;
}

FleetSim::FleetSim(SimOptions options) : options_(options) {
  MakeServers(Mix(options_.seed ^ 0x5e4e4));
  MakePhones();
}

void FleetSim::MakeServers(uint64_t seed) {
  Rng rng(seed);
  servers_ = {{"http", "10.23.45.67", 80, {}},
              {"https", "10.23.45.68", 443, {}},
              {"http", "192.168.10.5", 6970, {}},
              {"tftp", "192.168.1.200", 69, {}}};
  if (!options_.outages) return;
  int64_t start = options_.start_us;
  int64_t end = start + options_.duration_us;
  int64_t d = options_.duration_us;
  // A short outage early, a long one in the middle, one still going on at the end.
  int64_t a = start + Uniform(rng, d / 10, d / 4);
  servers_[0].outages.push_back({a, a + Uniform(rng, 20 * kMin, 3 * kHour)});
  int64_t b = start + Uniform(rng, d / 3, d / 2);
  servers_[1].outages.push_back({b, b + Uniform(rng, 6 * kHour, 10 * kHour)});
  int64_t c = end - Uniform(rng, 8 * kHour, 12 * kHour);
  servers_[2].outages.push_back({c, end + 24 * kHour});
}

void FleetSim::MakePhones() {
  Rng rng(Mix(options_.seed));
  phones_.resize(options_.phones);
  int64_t start = options_.start_us;
  int64_t d = options_.duration_us;
  std::string macs_json;
  int at_overrides = 0;
  for (int i = 0; i < options_.phones; ++i) {
    SimPhone& p = phones_[i];
    uint64_t oui = kOuis[i % 4];
    uint64_t low = (static_cast<uint64_t>(i / 4) * 2654435761ULL + 0x3a5c1) & 0xffffff;
    p.mac = (oui << 24) | low;
    double r = std::uniform_real_distribution<double>(0, 1)(rng);
    const ModelShare* model = &kModels[0];
    for (const auto& m : kModels) {
      model = &m;
      if (r < m.share) break;
      r -= m.share;
    }
    p.model = model->model;
    p.server = static_cast<int>(Uniform(rng, 0, 9));
    p.server = p.server < 4 ? 0 : p.server < 7 ? 1 : p.server < 9 ? 2 : 3;
    int64_t pr = Uniform(rng, 0, 9);
    p.profiles = pr < 6 ? 1 : pr < 9 ? 2 : 3;
    p.identifier_ma = Chance(rng, 0.2);
    bool configurable = model->mpp && p.model != "ATA192-3PCC" && p.model != "CP-7841-3PCC";
    if (configurable && Chance(rng, options_.misconfigured_share)) {
      p.misconfig = static_cast<Misconfig>(Uniform(rng, 1, 3));
    }
    if (Chance(rng, options_.offline_share)) {
      p.offline_at_us = start + Uniform(rng, 6 * kHour, d - 6 * kHour);
      if (Chance(rng, 0.5)) p.back_at_us = p.offline_at_us + Uniform(rng, 2 * kHour, 20 * kHour);
    } else if (Chance(rng, options_.upgrade_share)) {
      p.upgrade_at_us = start + Uniform(rng, 2 * kHour, d - 2 * kHour);
    }
    if (configurable && p.misconfig == Misconfig::kNone && at_overrides < kAtHhmmMacOverrides &&
        p.model == "CP-8851-3PCC") {
      ++at_overrides;
      std::string key = ColonMac(p.mac);
      std::transform(key.begin(), key.end(), key.begin(), ::toupper);
      if (!macs_json.empty()) macs_json += ",\n";
      macs_json += at_overrides % 2 ? "    \"" + key + "\": {\"Resync_Periodic\": \"600,1200,300\"}"
                                    : "    \"" + key + "\": {\"Resync_Periodic\": \"2400+30\"}";
    }
  }
  config_json_ =
      "{\"schedule\": {\n"
      "  \"defaults\": {\"Resync_Periodic\": \"" +
      options_.default_periodic +
      "\", \"Resync_Random_Delay\": 2},\n"
      "  \"models\": {\n"
      "    \"CP-7841-3PCC\": {\"Resync_At__HHmm_\": \"0230\", \"Resync_At_Random_Delay\": 900,"
      " \"utc_offset\": \"+01:00\"},\n"
      "    \"SPA112\": {\"Resync_Periodic\": \"21600+1800\", \"Resync_Error_Retry_Delay\": 3600},\n"
      "    \"SPA504G\": {\"Resync_Error_Retry_Delay\": \"1800,3600\", \"Resync_Random_Delay\": "
      "3},\n"
      "    \"ATA192-3PCC\": {\"Resync_Error_Retry_Delay\": \"0\"}\n"
      "  },\n"
      "  \"macs\": {\n" +
      macs_json + "\n  }\n}}\n";
  ScheduleConfigSet set = ScheduleConfigSet::Parse(config_json_).value();
  for (SimPhone& p : phones_) {
    p.expected = set.For(p.mac, p.model);
    p.actual = p.expected;
    switch (p.misconfig) {
      case Misconfig::kNone:
        break;
      case Misconfig::kHammering:
        p.actual.retry = RetrySchedule({DelaySpec{15, 15}});
        break;
      case Misconfig::kWrongRetryList:
        p.actual.retry = RetrySchedule({DelaySpec{60, 60}});
        break;
      case Misconfig::kShortPeriodic:
        p.actual.periodic = RetrySchedule({DelaySpec{900, 900}});
        break;
    }
  }
}

void FleetSim::Run() {
  events_.clear();
  gaps_.clear();
  finals_.clear();
  anomalies_ = 0;
  for (uint32_t i = 0; i < phones_.size(); ++i) SimulatePhone(i);
  std::stable_sort(events_.begin(), events_.end(),
                   [](const SimEvent& a, const SimEvent& b) { return a.time_us < b.time_us; });
}

void FleetSim::SimulatePhone(uint32_t index) {
  const SimPhone& p = phones_[index];
  Rng rng(Mix(options_.seed * 0x100000001b3ULL + index + 1));
  const AnalysisOptions opt = TruthOptions();
  const SimServer& srv = servers_[p.server];
  const int64_t end = end_us();
  // Anything that would still be going on at the end of the range is left out.
  const int64_t last_start = end - 30 * kS;
  auto in_outage = [&](int64_t t) {
    for (const auto& o : srv.outages) {
      if (t >= o.first && t < o.second) return true;
    }
    return false;
  };
  auto emit = [&](int64_t t, EventKind kind, int profile, int error) {
    events_.push_back({t, index, kind, static_cast<uint8_t>(profile), static_cast<uint8_t>(error)});
  };
  enum class Cause { kScheduled, kPowerOn, kOnDemand };

  BackoffState st;     // as the truth counts
  BackoffState phone;  // as the phone counts
  bool have_prev = false;
  int64_t prev_end = 0;
  Outcome prev_out = Outcome::kUnknown;
  std::vector<Gap> gaps;
  DeviceAnalysis fin;

  int64_t boot = options_.start_us + Uniform(rng, 0, kHour);
  int64_t t_next = boot + Uniform(rng, 0, p.actual.RandomDelaySeconds() * kS);
  bool scheduled = true;
  Cause cause = Cause::kPowerOn;
  int64_t offline_at = p.offline_at_us, back_at = p.back_at_us, upgrade_at = p.upgrade_at_us;

  while (true) {
    int64_t t_att = scheduled ? t_next : INT64_MAX;
    int64_t t_off = offline_at ? offline_at : INT64_MAX;
    int64_t t_upg = upgrade_at ? upgrade_at : INT64_MAX;
    int64_t t = std::min({t_att, t_off, t_upg});
    if (t >= last_start) break;
    if (t == t_off) {
      offline_at = 0;
      scheduled = false;
      if (back_at == 0) break;  // silent to the end
      int64_t b = back_at;
      if (have_prev) {  // off long enough that more than one expected attempt never came
        if (auto w = NextWindow(p.expected, prev_out, st, prev_end)) {
          BackoffState presumed = st;
          presumed.Apply(prev_out);
          auto after = NextWindow(p.expected, prev_out, presumed, w->latest_us);
          int64_t thr = after->latest_us + ToleranceUs(*w, prev_end, opt) +
                        ToleranceUs(*after, w->latest_us, opt);
          b = std::max(b, thr + kMin);
        }
      }
      t_next = b + Uniform(rng, 0, p.actual.RandomDelaySeconds() * kS);
      cause = Cause::kPowerOn;
      scheduled = true;
      continue;
    }
    if (t == t_upg) {
      upgrade_at = 0;
      if (have_prev && t <= prev_end) t = prev_end + kS;
      if (t + 10 * kMin >= end) continue;
      emit(t, EventKind::kUpgradeRequest, 0, 0);
      bool ok = Chance(rng, 0.85);
      int64_t t2 = t + Uniform(rng, 30 * kS, 90 * kS);
      emit(t2, ok ? EventKind::kUpgradeSuccess : EventKind::kUpgradeFailure, 0, 2);
      int64_t ready = ok ? t2 + Uniform(rng, 60 * kS, 120 * kS) : t2 + Uniform(rng, kS, 5 * kS);
      t_next = ready + Uniform(rng, 0, p.actual.RandomDelaySeconds() * kS);
      cause = Cause::kOnDemand;
      scheduled = true;
      continue;
    }
    // A resync cycle: each profile's request and outcome; a failure ends the cycle.
    int64_t ct = t;
    Outcome out = Outcome::kSuccess;
    for (int j = 0; j < p.profiles; ++j) {
      emit(ct, EventKind::kResyncRequest, j, 0);
      bool outage = in_outage(ct);
      bool fail = outage || Chance(rng, options_.random_failure);
      ct += outage ? Uniform(rng, 2 * kS, 12 * kS) : Uniform(rng, 50'000, 1'500'000);
      if (fail) {
        emit(ct, EventKind::kResyncFailure, j, outage ? 0 : 1);
        out = Outcome::kFailure;
        break;
      }
      emit(ct, EventKind::kResyncSuccess, j, 0);
      if (j + 1 < p.profiles) ct += Uniform(rng, 200'000, 2'000'000);
    }
    if (cause != Cause::kScheduled) phone = BackoffState{};
    if (have_prev) {
      Gap g;
      g.from_us = prev_end;
      g.to_us = t;
      g.outcome = out;
      bool reset = false;
      std::optional<Window> w = NextWindow(p.expected, prev_out, st, prev_end);
      if (!w) {
        g.rule = Rule::kOnDemand;
        g.verdict = Verdict::kOnTime;
        reset = true;
      } else {
        BackoffState presumed = st;
        presumed.Apply(prev_out);
        auto after = NextWindow(p.expected, prev_out, presumed, w->latest_us);
        g.verdict = Judge(*w, g.from_us, g.to_us, after, 0, opt);
        g.expected = w;
        g.tolerance_us = ToleranceUs(*w, g.from_us, opt);
        g.rule = w->rule;
        g.retry_step = w->rule == Rule::kRetry ? w->step : 0;
        if (cause == Cause::kOnDemand) {
          g.rule = Rule::kOnDemand;
          if (g.verdict == Verdict::kEarly) g.verdict = Verdict::kOnTime;
          reset = true;
        } else if (cause == Cause::kPowerOn || g.verdict == Verdict::kMissing) {
          if (g.verdict != Verdict::kMissing || cause != Cause::kPowerOn) ++anomalies_;
          g.rule = Rule::kPowerOn;
          reset = true;
        }
      }
      if (reset) st = BackoffState{};
      ++fin.verdicts[static_cast<int>(g.verdict)];
      gaps.push_back(g);
    }
    st.Apply(out);
    phone.Apply(out);
    ++fin.attempts;
    have_prev = true;
    prev_end = ct;
    prev_out = out;
    std::optional<Window> next = NextWindow(p.actual, out, phone, ct);
    scheduled = next.has_value();
    if (next) t_next = Uniform(rng, next->earliest_us, next->latest_us);
    cause = Cause::kScheduled;
  }

  if (have_prev) {
    fin.last_attempt_us = prev_end;
    fin.last_outcome = prev_out;
    fin.backoff_step = st.failures;
    fin.next = NextWindow(p.expected, prev_out, st, prev_end);
    if (fin.next) {
      fin.next_due_us = fin.next->latest_us + ToleranceUs(*fin.next, prev_end, opt);
      fin.overdue_us = std::max<int64_t>(0, end - *fin.next_due_us);
    }
  }
  fin.gaps = std::move(gaps);
  fin.state = ClassifyDevice(fin, end, opt);
  for (const Gap& g : fin.gaps) gaps_.push_back({index, g});
  fin.gaps.clear();
  finals_.push_back({index, std::move(fin)});
}

std::string FleetSim::UrlFor(const SimPhone& p, int profile) const {
  const SimServer& s = servers_[p.server];
  std::string path;
  bool spa = p.model.rfind("SPA", 0) == 0;
  switch (profile) {
    case 0:
      path = (spa ? "/spa/" : "/cisco/") + FormatMac(p.mac) + (spa ? ".cfg" : ".xml");
      break;
    case 1:
      path = "/cisco/" + p.model.substr(p.model.find('-') + 1) + ".xml";
      break;
    default:
      path = "/cisco/dialplan.xml";
      break;
  }
  return s.scheme + "://" + s.ip + ":" + std::to_string(s.port) + path;
}

std::string FleetSim::MessageText(const SimEvent& e) const {
  const SimPhone& p = phones_[e.phone];
  std::string head = p.model + " " + ColonMac(p.mac) + " -- ";
  const SimServer& s = servers_[p.server];
  switch (e.kind) {
    case EventKind::kResyncRequest:
      return head + "Requesting resync " + UrlFor(p, e.profile);
    case EventKind::kResyncSuccess:
      return head + "Successful resync " + UrlFor(p, e.profile);
    case EventKind::kResyncFailure:
      return head + "Resync failed: " + (e.error == 0 ? "http_get failed" : "corrupt file");
    case EventKind::kUpgradeRequest:
      return head + "Requesting upgrade " + s.scheme + "://" + s.ip + ":" + std::to_string(s.port) +
             "/firmware/" + FirmwareFor(p.model);
    case EventKind::kUpgradeSuccess:
      return head + "Successful upgrade " + s.scheme + "://" + s.ip + ":" + std::to_string(s.port) +
             "/firmware/" + FirmwareFor(p.model) + " -- " + FirmwareFor(p.model);
    case EventKind::kUpgradeFailure:
      return head + "Upgrade failed: http_get failed";
    default:
      return head;
  }
}

std::string FleetSim::ArchiveLine(const SimEvent& e) const {
  const SimPhone& p = phones_[e.phone];
  std::string ts = FormatIso8601Utc(e.time_us);
  if (!ts.empty() && ts.back() == 'Z') ts.replace(ts.size() - 1, 1, "+00:00");
  std::string text = MessageText(e);
  if (p.identifier_ma) return ts + " " + FormatMac(p.mac) + " " + text;
  // rsyslog takes the model as host name and "00:" as the tag: "CP-8851-3PCC 00: 12:34:..."
  size_t colon = text.find(':');
  text.insert(colon + 1, " ");
  return ts + " " + text;
}

std::string FleetSim::Datagram(const SimEvent& e) const {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const SimPhone& p = phones_[e.phone];
  int severity =
      (e.kind == EventKind::kResyncFailure || e.kind == EventKind::kUpgradeFailure) ? 3 : 6;
  CivilTime c = CivilFromMicros(e.time_us);
  char head[48];
  std::snprintf(head, sizeof head, "<%d>%s %2d %02d:%02d:%02d ", 16 * 8 + severity,
                kMonths[c.month - 1], c.day, c.hour, c.minute, c.second);
  std::string out = head;
  if (p.identifier_ma) out += FormatMac(p.mac) + " ";
  return out + MessageText(e);
}

}  // namespace resyncwatch
