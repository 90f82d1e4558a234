#include "query/firmware.h"

#include <algorithm>
#include <cctype>
#include <thread>
#include <unordered_map>
#include <utility>

namespace resyncwatch {
namespace {

std::string_view LastPathSegment(std::string_view path) {
  path = path.substr(0, path.find_first_of("?#"));
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool Later(int64_t t, uint64_t seq, int64_t than_t, uint64_t than_seq) {
  return std::pair(t, seq) > std::pair(than_t, than_seq);
}

using UpgradeMap = std::unordered_map<MacAddress, UpgradeState>;

bool SameModel(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
    return std::tolower(x) == std::tolower(y);
  });
}

// The upgrade messages of range, scanned in parallel time slices within [first, last]
// (the span of every device's events) and merged per phone.
Status ScanUpgrades(const Store& store, TimeRange range, int64_t first_us, int64_t last_us,
                    UpgradeMap* out) {
  int slices = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  int64_t since = std::max(range.since_us, first_us);
  int64_t end = std::min(range.until_us, last_us + 1);
  if (end <= since) return Status::Ok();
  int64_t step = std::max<int64_t>(1, (end - since) / slices);
  std::vector<UpgradeMap> parts(slices);
  std::vector<Status> status(slices);
  auto scan = [&](int i) {
    TimeRange slice{i == 0 ? range.since_us : since + i * step,
                    i + 1 == slices ? range.until_us : since + (i + 1) * step};
    status[i] = store.ScanKinds(slice, kUpgradeKindMask, [&](const Event& e) {
      if (e.mac != 0) ApplyUpgradeEvent(e, &parts[i][e.mac]);
      return true;
    });
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < slices; ++i) workers.emplace_back(scan, i);
  scan(0);
  for (std::thread& t : workers) t.join();
  for (int i = 0; i < slices; ++i) {
    if (!status[i].ok()) return status[i];
    for (auto& [mac, state] : parts[i]) MergeUpgradeState(state, &(*out)[mac]);
  }
  return Status::Ok();
}

}  // namespace

Status CollectFirmware(const Store& store, TimeRange range, std::string_view model,
                       std::vector<PhoneFirmware>* rows) {
  int64_t first = INT64_MAX, last = INT64_MIN;
  Status s = store.ForEachDevice([&](const DeviceSummary& d) {
    if (!model.empty() && !SameModel(model, d.model)) return true;
    rows->push_back({d.mac, d.model, {}});
    first = std::min(first, d.first_seen_us);
    last = std::max(last, d.last_seen_us);
    return true;
  });
  if (!s.ok() || rows->empty()) return s;
  UpgradeMap upgrades;
  s = ScanUpgrades(store, range, first, last, &upgrades);
  if (!s.ok()) return s;
  for (PhoneFirmware& r : *rows) {
    auto it = upgrades.find(r.mac);
    if (it != upgrades.end()) r.upgrade = std::move(it->second);
  }
  return Status::Ok();
}

std::string FirmwareOf(const Event& e) {
  if (!e.error.empty()) return e.error;
  if (!e.path.empty()) return std::string(LastPathSegment(e.path));
  std::string_view url = e.url;
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  url.remove_prefix(scheme + 3);
  size_t slash = url.find('/');
  return slash == std::string_view::npos ? std::string()
                                         : std::string(LastPathSegment(url.substr(slash)));
}

void ApplyUpgradeEvent(const Event& e, UpgradeState* s) {
  bool first = s->last_kind == EventKind::kUnknown;
  if (first || Later(e.event_time_us, e.seq, s->last_us, s->last_seq)) {
    s->last_kind = e.kind;
    s->last_us = e.event_time_us;
    s->last_seq = e.seq;
  }
  if (e.kind != EventKind::kUpgradeSuccess) return;
  if (!s->upgraded || Later(e.event_time_us, e.seq, s->upgraded_us, s->upgraded_seq)) {
    s->upgraded = true;
    s->firmware = FirmwareOf(e);
    s->upgraded_us = e.event_time_us;
    s->upgraded_seq = e.seq;
  }
}

void MergeUpgradeState(const UpgradeState& o, UpgradeState* s) {
  if (o.last_kind != EventKind::kUnknown &&
      (s->last_kind == EventKind::kUnknown ||
       Later(o.last_us, o.last_seq, s->last_us, s->last_seq))) {
    s->last_kind = o.last_kind;
    s->last_us = o.last_us;
    s->last_seq = o.last_seq;
  }
  if (o.upgraded &&
      (!s->upgraded || Later(o.upgraded_us, o.upgraded_seq, s->upgraded_us, s->upgraded_seq))) {
    s->upgraded = true;
    s->firmware = o.firmware;
    s->upgraded_us = o.upgraded_us;
    s->upgraded_seq = o.upgraded_seq;
  }
}

std::string_view LastUpgradeText(const UpgradeState& s) {
  switch (s.last_kind) {
    case EventKind::kUpgradeSuccess:
      return "success";
    case EventKind::kUpgradeFailure:
      return "failure";
    case EventKind::kUpgradeRequest:
      return "requested";
    default:
      return {};
  }
}

}  // namespace resyncwatch
