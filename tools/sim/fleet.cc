// The fleet: who each phone is (model, MAC, server, profiles, behaviour, parameters),
// the provisioning servers' outages, and what the phones' lines, the config and the
// truth look like as text.
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "tools/sim/phone.h"
#include "tools/sim/sim.h"

namespace resyncwatch::sim {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kHour = 3600 * kS;

struct Model {
  const char* name;
  const char* psn;
  bool spa;
};
constexpr Model kModels[] = {
    {"CP-8851-3PCC", "8851-3PCC", false},
    {"CP-7841-3PCC", "7841-3PCC", false},
    {"CP-6841-3PCC", "6841-3PCC", false},
    {"CP-8845-3PCC", "8845-3PCC", false},
    {"CP-8832-3PCC", "8832-3PCC", false},
    {"ATA192-3PCC", "192-3PCC", false},
    {"SPA112", "112", true},
    {"SPA504G", "504G", true},
    {"SPA2102", "2102", true},
};
constexpr int kMppModels = 6;
constexpr int kSpaModels = 3;
constexpr int kServers = 8;
constexpr int kStableServers = 4;
constexpr uint64_t kOuis[] = {0x001234, 0x000e08, 0x001bd4};

constexpr const char* kMppRetry = "60,120,240,480,960,1920,3840,7680,15360,30720,61440,86400";

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

PhoneParams Factory(bool spa) {
  PhoneParams p;
  p.periodic = ParseDelayList("3600");
  p.retry = ParseDelayList(spa ? "3600" : kMppRetry);
  return p;
}

std::string ServerIp(int server) { return "10.23.45." + std::to_string(60 + server); }

std::string Hex2(uint64_t v) {
  static const char* kHex = "0123456789abcdef";
  return {kHex[(v >> 4) & 15], kHex[v & 15]};
}

std::string Ma(uint64_t mac) {
  std::string s;
  for (int i = 5; i >= 0; --i) s += Hex2(mac >> (8 * i));
  return s;
}

std::string OffsetText(int minutes) {
  char buf[16];
  int a = std::abs(minutes);
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", minutes < 0 ? '-' : '+', a / 60, a % 60);
  return buf;
}

template <typename T>
const T& Pick(std::mt19937_64& rng, std::initializer_list<T> list) {
  size_t i = std::uniform_int_distribution<size_t>(0, list.size() - 1)(rng);
  return *(list.begin() + i);
}

}  // namespace

DelayList ParseDelayList(std::string_view text) {
  DelayList list;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    DelaySpec d;
    size_t plus = item.find('+');
    std::from_chars(item.data(), item.data() + std::min(plus, item.size()), d.base_s);
    if (plus != std::string_view::npos) {
      std::from_chars(item.data() + plus + 1, item.data() + item.size(), d.span_s);
    }
    list.push_back(d);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return list;
}

std::string FormatDelayList(const DelayList& list) {
  std::string s;
  for (const DelaySpec& d : list) {
    if (!s.empty()) s += ',';
    s += std::to_string(d.base_s);
    if (d.span_s > 0) s += '+' + std::to_string(d.span_s);
  }
  return s;
}

bool Disabled(const DelayList& list) {
  return list.empty() || (list.size() == 1 && list[0].base_s == 0 && list[0].span_s == 0);
}

const DelaySpec& NthDelay(const DelayList& list, int n) {
  size_t i = static_cast<size_t>(std::max(n, 1) - 1);
  return list[std::min(i, list.size() - 1)];
}

std::string_view ToString(Rule r) {
  switch (r) {
    case Rule::kPeriodic:
      return "periodic";
    case Rule::kRetry:
      return "retry";
    case Rule::kAtHhmm:
      return "at_hhmm";
    case Rule::kPowerOn:
      return "power_on";
    case Rule::kOnDemand:
      return "on_demand";
  }
  return "?";
}

std::string_view ToString(Verdict v) {
  switch (v) {
    case Verdict::kOnTime:
      return "on_time";
    case Verdict::kEarly:
      return "early";
    case Verdict::kLate:
      return "late";
    case Verdict::kDeferred:
      return "deferred";
    case Verdict::kMissing:
      return "missing";
  }
  return "?";
}

std::string_view ToString(State s) {
  switch (s) {
    case State::kOk:
      return "ok";
    case State::kHammering:
      return "hammering";
    case State::kDeepBackoff:
      return "deep_backoff";
    case State::kOverdue:
      return "overdue";
    case State::kGaveUp:
      return "gave_up";
    case State::kUnknown:
      return "unknown";
  }
  return "?";
}

namespace {

bool Chance(std::mt19937_64& rng, double p) {
  return std::uniform_real_distribution<double>(0, 1)(rng) < p;
}

// The behaviour whose share covers r (in [0, 1)); "plain" past the last share.
const char* BehaviourAt(const Shares& sh, double r) {
  double acc = 0;
  for (auto [share, name] : {std::pair{sh.hhmm, "hhmm"},
                             {sh.hammer_retry, "hammer_retry"},
                             {sh.hammer_periodic, "hammer_periodic"},
                             {sh.offline_return, "offline_return"},
                             {sh.offline_never, "offline_never"},
                             {sh.provision_off, "provision_off"},
                             {sh.gave_up, "gave_up"},
                             {sh.fnf, "fnf"}}) {
    acc += share;
    if (r < acc) return name;
  }
  return "plain";
}

// The timers a provisioning server would give this phone (periodic, retry, delays).
void DrawTimers(Phone& ph, const Options& options, std::mt19937_64& rng) {
  PhoneParams& a = ph.actual;
  if (!options.default_periodic.empty()) {
    a.periodic = ParseDelayList(options.default_periodic);
  } else if (ph.behaviour != "hhmm") {
    a.periodic = ParseDelayList(
        Pick<const char*>(rng, {"3600", "3600", "3600", "3600", "7200", "7200", "10800+600",
                                "600,1200,1800,3600", "14400", "1800+300,3600"}));
  }
  if (Chance(rng, 0.25) && ph.behaviour != "hammer_retry") {
    a.retry = ParseDelayList(
        Pick<const char*>(rng, {"60+30,300,900,3600", "30,60,120,300,600,1800,3600,7200", "120"}));
  }
  a.random_delay = Pick<int64_t>(rng, {2, 2, 2, 2, 2, 2, 2, 2, 0, 15});
  if (Chance(rng, 0.1)) a.forced_resync_delay = 3600;
  ph.declared = a;
}

// What the phone's behaviour changes: what it does (actual) against what it was told
// (declared), and how many profiles it fetches.
void ApplyBehaviour(Phone& ph, const Options& options, std::mt19937_64& rng) {
  PhoneParams& a = ph.actual;
  if (ph.behaviour == "hhmm") {
    int64_t start_local_min = 0;
    for (;;) {
      a.hhmm = static_cast<int>(rng() % (24 * 60));
      a.utc_offset_min = Pick<int>(rng, {0, 60, -300, 330, 540});
      a.at_random_delay = Pick<int64_t>(rng, {300, 600, 900, 1000, 1800});
      start_local_min = NextHhmm(a, options.start_us) - options.start_us;
      if (start_local_min > 2 * kHour) break;
    }
    ph.declared = a;
  } else if (ph.behaviour == "hammer_retry") {
    a.retry = {DelaySpec{15 + static_cast<int64_t>(rng() % 6), 10}};
    ph.profiles = 1;
  } else if (ph.behaviour == "hammer_periodic") {
    ph.declared.periodic = ParseDelayList("3600");
    a.periodic = ParseDelayList(Pick<const char*>(rng, {"600", "900+60", "300"}));
    ph.profiles = 1;
  } else if (ph.behaviour == "provision_off") {
    a.provision_enable = false;
    ph.declared = a;
  } else if (ph.behaviour == "gave_up") {
    a.retry = ParseDelayList("0");
    ph.declared = a;
    ph.profiles = 1;
  } else if (ph.behaviour == "fnf") {
    ph.profiles = 2 + static_cast<int>(rng() % 2);
    ph.fnf_profile = 0;
    a.fails_on_fnf = Chance(rng, 0.5);
    ph.declared = a;
  }
}

}  // namespace

Fleet::Fleet(Options options) : options_(std::move(options)) { BuildPhones(); }

void Fleet::BuildPhones() {
  std::mt19937_64 rng(SplitMix(options_.seed));
  const Shares& sh = options_.shares;
  phones_.reserve(static_cast<size_t>(options_.phones));
  for (int i = 0; i < options_.phones; ++i) {
    Phone ph{};
    uint64_t low = (static_cast<uint64_t>(i) * 2654435761ULL + 0x5a17ULL) & 0xffffff;
    ph.mac = (kOuis[static_cast<size_t>(i) % 3] << 24) | low;
    bool spa = Chance(rng, sh.spa);
    ph.model = spa ? kMppModels + static_cast<int>(rng() % kSpaModels)
                   : static_cast<int>(rng() % kMppModels);
    ph.dual = Chance(rng, sh.dual);
    ph.identifier = Chance(rng, sh.identifier);
    ph.profiles = Chance(rng, sh.multi_profile) ? 2 + static_cast<int>(rng() % 2) : 1;
    ph.fnf_profile = -1;
    ph.actual = Factory(spa);
    ph.behaviour = BehaviourAt(sh, std::uniform_real_distribution<double>(0, 1)(rng));
    if (options_.no_failure_template && ph.behaviour == "fnf") ph.behaviour = "plain";
    bool stable = ph.behaviour != "plain" && ph.behaviour != "fnf" &&
                  ph.behaviour != "offline_return" && ph.behaviour != "offline_never";
    ph.server = stable || Chance(rng, 0.7) ? static_cast<int>(rng() % kStableServers)
                                           : kStableServers + static_cast<int>(rng() % 4);
    DrawTimers(ph, options_, rng);
    ApplyBehaviour(ph, options_, rng);
    phones_.push_back(std::move(ph));
  }
}

void Fleet::Run() {
  int64_t s = options_.start_us, d = options_.duration_us;
  std::vector<std::vector<Outage>> outages(kServers);
  outages[4] = {{s + d * 15 / 100, s + d * 15 / 100 + 40 * 60 * kS}};
  outages[5] = {{s + d * 40 / 100, s + d * 40 / 100 + 6 * kHour}};
  outages[6] = {{s + d * 10 / 100, s + d * 38 / 100}};
  outages[7] = {{s + d * 80 / 100, s + d + 24 * kHour}};
  PhoneWorld world{&options_, &outages};
  for (uint32_t i = 0; i < phones_.size(); ++i) {
    for (uint64_t attempt = 0;; ++attempt) {
      std::mt19937_64 rng(SplitMix(options_.seed ^ SplitMix((uint64_t{i} << 20) + attempt)));
      PhoneResult r = SimulatePhone(phones_[i], i, world, rng);
      for (auto& [k, v] : r.local_redraws) redraws_[k] += v;
      if (r.ambiguous && attempt < 200) {
        ++redraws_["phone rerun: " + r.ambiguity];
        continue;
      }
      lines_.insert(lines_.end(), r.lines.begin(), r.lines.end());
      gaps_.insert(gaps_.end(), r.gaps.begin(), r.gaps.end());
      devices_.push_back(r.device);
      break;
    }
  }
  std::sort(lines_.begin(), lines_.end(), [](const SimLine& a, const SimLine& b) {
    if (a.t_us != b.t_us) return a.t_us < b.t_us;
    if (a.phone != b.phone) return a.phone < b.phone;
    return a.copy < b.copy;
  });
}

std::string Fleet::MacText(uint32_t phone) const {
  uint64_t mac = phones_[phone].mac;
  std::string s;
  for (int i = 5; i >= 0; --i) {
    s += Hex2(mac >> (8 * i));
    if (i > 0) s += ':';
  }
  return s;
}

void Fleet::AppendBody(const SimLine& line, bool split_mac, std::string* out) const {
  const Phone& ph = phones_[line.phone];
  const Model& m = kModels[ph.model];
  std::string mac = MacText(line.phone);
  out->append(m.name).append(" ");
  // rsyslog takes the model as host and "00:" as the tag: "CP-8851-3PCC 00: 12:34:...".
  if (split_mac) mac.insert(3, " ");
  out->append(mac).append(" -- ");
  auto base = [&] {
    out->append(m.spa ? "tftp://" : "http://").append(ServerIp(ph.server));
    out->append(m.spa ? ":69" : ":80");
  };
  auto profile_url = [&](int p) {
    base();
    bool own = (p == 1) != (ph.fnf_profile == 0);
    if (p >= 2) {
      out->append(m.spa ? "/dialplan.cfg" : "/cisco/dialplan.xml");
    } else if (own) {
      out->append(m.spa ? "/spa" : "/cisco/").append(Ma(ph.mac)).append(m.spa ? ".cfg" : ".xml");
    } else {
      out->append(m.spa ? "/spa" : "/cisco/").append(m.psn).append(m.spa ? ".cfg" : ".xml");
    }
  };
  auto image = [&] {
    base();
    if (m.spa) {
      out->append("/firmware/spa").append(m.psn).append("-7-6-2.bin");
    } else {
      out->append("/firmware/sip88xx.12-0-1MPP-14.loads");
    }
  };
  switch (line.kind) {
    case MsgKind::kRequest:
      out->append("Requesting resync ");
      profile_url(line.profile);
      break;
    case MsgKind::kSuccess:
      out->append("Successful resync ");
      profile_url(line.profile);
      break;
    case MsgKind::kFailHttp:
      out->append("Resync failed: http_get failed");
      break;
    case MsgKind::kFailCorrupt:
      out->append("Resync failed: corrupt file");
      break;
    case MsgKind::kFailNotFound:
      out->append("Resync failed: file not found");
      break;
    case MsgKind::kUpgradeRequest:
      out->append("Requesting upgrade ");
      image();
      break;
    case MsgKind::kUpgradeSuccess:
      out->append("Successful upgrade ");
      image();
      out->append(" -- ").append(m.spa ? "7.6.2" : "sip88xx.12-0-1MPP-14.loads");
      break;
    case MsgKind::kUpgradeFailure:
      out->append("Upgrade failed: corrupt file");
      break;
  }
}

std::string Fleet::Body(const SimLine& line) const {
  std::string out;
  AppendBody(line, false, &out);
  return out;
}

void Fleet::AppendArchiveLine(const SimLine& line, std::string* out) const {
  CivilTime c = CivilFromMicros(line.t_us);
  char ts[48];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00 ", c.year, c.month, c.day,
                c.hour, c.minute, c.second, c.micros);
  out->append(ts);
  const Phone& ph = phones_[line.phone];
  if (ph.identifier) out->append(Ma(ph.mac)).append(" ");
  AppendBody(line, !ph.identifier, out);
}

std::string Fleet::ArchiveLine(const SimLine& line) const {
  std::string out;
  AppendArchiveLine(line, &out);
  return out;
}

std::string Fleet::Datagram(const SimLine& line) const {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  CivilTime c = CivilFromMicros(line.t_us);
  char head[48];
  std::snprintf(head, sizeof head, "<134>%s %2d %02d:%02d:%02d ", kMonths[c.month - 1], c.day,
                c.hour, c.minute, c.second);
  const Phone& ph = phones_[line.phone];
  std::string out = head;
  if (ph.identifier) out.append(Ma(ph.mac)).append(" ");
  AppendBody(line, false, &out);
  return out;
}

std::string Fleet::ConfigJson() const {
  JsonWriter w;
  w.Begin();
  if (options_.no_failure_template) {
    w.BeginObject("templates");
    w.BeginArray("resync_failure");
    w.EndArray();
    w.EndObject();
  }
  w.BeginObject("schedule");
  w.BeginObject("defaults");
  w.Int("Forced_Resync_Delay", 14400);
  if (options_.wrong_config) {
    // Not what the phones do: the truth stays the phones' own.
    w.String("Resync_Periodic", "1800");
    w.String("Resync_Error_Retry_Delay", "30,60");
  }
  w.EndObject();
  w.BeginObject("models");
  w.BeginObject("SPA504G");
  w.Int("Resync_Error_Retry_Delay", 3600);
  w.EndObject();
  w.EndObject();
  w.BeginObject("macs");
  for (uint32_t i = 0; i < phones_.size(); ++i) {
    const Phone& ph = phones_[i];
    const PhoneParams& p = ph.declared;
    PhoneParams f = Factory(kModels[ph.model].spa);
    std::string periodic = FormatDelayList(p.periodic), retry = FormatDelayList(p.retry);
    bool any = periodic != FormatDelayList(f.periodic) || retry != FormatDelayList(f.retry) ||
               p.random_delay != f.random_delay || p.hhmm >= 0 ||
               p.forced_resync_delay != f.forced_resync_delay || !p.fails_on_fnf ||
               !p.provision_enable;
    if (!any) continue;
    w.BeginObject(MacText(i));
    if (periodic != FormatDelayList(f.periodic)) w.String("Resync_Periodic", periodic);
    if (retry != FormatDelayList(f.retry)) w.String("Resync_Error_Retry_Delay", retry);
    if (p.random_delay != f.random_delay) w.Int("Resync_Random_Delay", p.random_delay);
    if (p.hhmm >= 0) {
      char hhmm[8];
      std::snprintf(hhmm, sizeof hhmm, "%02d%02d", p.hhmm / 60, p.hhmm % 60);
      w.String("Resync_At__HHmm_", hhmm);
      w.Int("Resync_At_Random_Delay", p.at_random_delay);
      w.String("utc_offset", OffsetText(p.utc_offset_min));
    }
    if (p.forced_resync_delay != f.forced_resync_delay) {
      w.Int("Forced_Resync_Delay", p.forced_resync_delay);
    }
    if (!p.fails_on_fnf) w.String("Resync_Fails_On_FNF", "No");
    if (!p.provision_enable) w.String("Provision_Enable", "No");
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  w.End();
  return w.str() + "\n";
}

std::string Fleet::TruthJsonLines() const {
  std::string out;
  JsonWriter w;
  for (const TruthGap& g : gaps_) {
    w.Begin();
    w.String("type", "gap");
    w.String("mac", MacText(g.phone));
    w.String("from", FormatIso8601Utc(g.from_us));
    w.String("to", FormatIso8601Utc(g.to_us));
    w.String("rule", ToString(g.rule));
    w.Int("retry_step", g.retry_step);
    w.String("verdict", ToString(g.verdict));
    w.End();
    out += w.str();
    out += '\n';
  }
  for (const TruthDevice& d : devices_) {
    if (d.attempts == 0) continue;  // sent nothing: not in the store
    w.Begin();
    w.String("type", "device");
    w.String("mac", MacText(d.phone));
    w.String("state", ToString(d.state));
    w.Int("backoff_step", d.backoff_step);
    w.Int("attempts", d.attempts);
    w.String("last_outcome", !d.has_outcome ? "unknown" : d.last_success ? "success" : "failure");
    w.String("behaviour", phones_[d.phone].behaviour);
    w.End();
    out += w.str();
    out += '\n';
  }
  return out;
}

}  // namespace resyncwatch::sim
