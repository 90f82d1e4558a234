#include "query/recovery.h"

#include <algorithm>
#include <cctype>
#include <span>
#include <thread>
#include <unordered_map>

#include "common/net_address.h"
#include "common/time_format.h"

namespace resyncwatch {
namespace {

constexpr uint32_t kFailureKindMask = 1u << static_cast<unsigned>(EventKind::kResyncFailure) |
                                      1u << static_cast<unsigned>(EventKind::kUpgradeFailure);

// "[2001:DB8::5]" and "2001:db8::5" name one server.
std::string BareHost(std::string_view host) {
  std::string out(HostOf(host));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The scan that reads the failures of by_failure[first..]: up to the latest of them, which
// may lie after the analysed range.
TimeRange ScanWindow(const std::vector<FailingPhone*>& by_failure, size_t first) {
  return {by_failure[first]->last_failure_us, by_failure.back()->last_failure_us + 1};
}

// Phones sorted by last failure: those from index `first` on are read by one scan from
// their earliest failure, the older ones by one lookup each, whichever costs less.
size_t FirstScanned(const std::vector<FailingPhone*>& by_failure, const RecoveryQuery& q,
                    double events_per_us) {
  size_t best = by_failure.size();
  double best_cost = static_cast<double>(by_failure.size()) * q.lookup_us;
  for (size_t i = 0; i < by_failure.size(); ++i) {
    TimeRange window = ScanWindow(by_failure, i);
    double span = static_cast<double>(window.until_us - window.since_us);
    double cost = span * events_per_us * q.scan_us_per_event + static_cast<double>(i) * q.lookup_us;
    if (cost < best_cost) {
      best_cost = cost;
      best = i;
    }
  }
  return best;
}

// The host field of each phone's latest failure message, one History lookup each, the
// phones split over the threads (each writes only its own phones).
Status LookUpFailureHosts(const Store& store, std::span<FailingPhone* const> phones,
                          int requested_threads) {
  size_t threads = requested_threads > 0
                       ? static_cast<size_t>(requested_threads)
                       : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  threads = std::clamp<size_t>(phones.size() / 256, 1, threads);
  std::vector<Status> status(threads);
  auto work = [&](size_t part) {
    for (size_t i = part; i < phones.size(); i += threads) {
      FailingPhone& p = *phones[i];
      status[part] =
          store.History(p.mac, {p.last_failure_us, p.last_failure_us + 1}, [&](const Event& e) {
            if ((kFailureKindMask >> static_cast<unsigned>(e.kind) & 1u) != 0) p.host = e.host;
            return true;
          });
      if (!status[part].ok()) return;
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  for (auto& w : workers) w.join();
  for (const Status& st : status) {
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// The host field of each phone's latest failure message that the analysis' scan did not
// see (it came before or after the range).
Status ReadFailureHosts(const Store& store, const RecoveryQuery& q, double events_per_us,
                        std::vector<FailingPhone>* phones) {
  std::vector<FailingPhone*> by_failure;
  for (FailingPhone& p : *phones) {
    if (!p.host_read) by_failure.push_back(&p);
  }
  if (by_failure.empty()) return Status::Ok();
  std::sort(by_failure.begin(), by_failure.end(), [](const FailingPhone* a, const FailingPhone* b) {
    return a->last_failure_us < b->last_failure_us;
  });
  size_t first = FirstScanned(by_failure, q, events_per_us);
  Status s = LookUpFailureHosts(store, std::span(by_failure).first(first), q.options.threads);
  if (!s.ok()) return s;
  if (first == by_failure.size()) return Status::Ok();
  std::unordered_map<MacAddress, FailingPhone*> scanned;
  for (size_t i = first; i < by_failure.size(); ++i) scanned[by_failure[i]->mac] = by_failure[i];
  return store.ScanKinds(ScanWindow(by_failure, first), kFailureKindMask, [&](const Event& e) {
    auto it = scanned.find(e.mac);
    if (it != scanned.end()) it->second->host = e.host;
    return true;
  });
}

}  // namespace

std::string UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  return std::string(HostOf(rest));
}

std::string ForceResyncUrl(std::string_view ip) {
  return "http://" + JoinHostPort(ip, -1) + "/admin/resync";
}

void RetryBuckets::Add(std::optional<int64_t> next_due_us, int64_t now_us) {
  ++phones;
  if (!next_due_us) {
    ++never;
    return;
  }
  int64_t wait_us = std::max<int64_t>(0, *next_due_us - now_us);
  for (size_t i = 0; i < kWithinSeconds.size(); ++i) {
    if (wait_us <= kWithinSeconds[i] * 1'000'000) ++within[i];
  }
}

namespace {

// Whether the analysis can find the device's last attempt in range failed, from its
// summary: it failed, or its cycle had a failure shortly before the success that ended
// it, or a request went unanswered (a fleet that sends no failures), or the device has
// events after the range, which the summary cannot speak for.
bool MayHaveFailedLast(const DeviceSummary& d, TimeRange range) {
  constexpr int64_t kCycleSlackUs = 3600 * kMicrosPerSecond;  // far beyond any one cycle
  if (d.last_seen_us >= range.until_us) return true;
  if (d.last_failure_us != 0 && d.last_failure_us + kCycleSlackUs >= d.last_success_us) {
    return true;
  }
  return d.last_request_us > std::max(d.last_success_us, d.last_failure_us);
}

// The failing phones by the schedule analysis, over the candidates only: one scan that
// skips the other phones' events on their MAC. Each gets its server, source address and
// last failure from its summary.
Status FailingPhones(const Store& store, const RecoveryQuery& q,
                     std::span<const DeviceSummary> candidates, std::vector<FailingPhone>* phones) {
  std::unordered_map<MacAddress, const DeviceSummary*> summary_of;
  for (const DeviceSummary& d : candidates) summary_of[d.mac] = &d;
  return AnalyzeDevices(
      store, *q.configs, candidates, q.range, q.now_us, q.options, [&](FleetDevice& d) {
        if (d.analysis.last_outcome != Outcome::kFailure) return;
        const DeviceSummary& summary = *summary_of.at(d.mac);
        // The scan saw its latest failure message when that is in range.
        bool seen = d.last_failure_us != 0 && d.last_failure_us == summary.last_failure_us;
        phones->push_back({.mac = d.mac,
                           .model = std::move(d.model),
                           .backoff_step = d.analysis.backoff_step,
                           .next_due_us = d.analysis.next_due_us,
                           .server = UrlHost(summary.last_url),
                           .ip = {},
                           .source_ip = summary.last_ip,
                           .host = seen ? std::move(d.last_failure_host) : std::string(),
                           .last_failure_us = summary.last_failure_us,
                           .host_read = seen});
      });
}

}  // namespace

Status ReadRecoveryCandidates(const Store& store, TimeRange range, RecoveryCandidates* out) {
  int64_t first = INT64_MAX, last = INT64_MIN;
  double events = 0;
  Status s = store.ForEachDevice([&](const DeviceSummary& d) {
    events += static_cast<double>(d.events);
    first = std::min(first, d.first_seen_us);
    last = std::max(last, d.last_seen_us);
    if (MayHaveFailedLast(d, range)) out->devices.push_back(d);
    return true;
  });
  if (!s.ok()) return s;
  out->events_per_us = last > first ? events / static_cast<double>(last - first) : 0;
  return Status::Ok();
}

Status CollectRecovery(const Store& store, const RecoveryQuery& q,
                       std::vector<FailingPhone>* phones) {
  RecoveryCandidates candidates;
  Status s = ReadRecoveryCandidates(store, q.range, &candidates);
  if (!s.ok()) return s;
  return CollectRecovery(store, q, candidates, phones);
}

Status CollectRecovery(const Store& store, const RecoveryQuery& q,
                       const RecoveryCandidates& candidates, std::vector<FailingPhone>* phones) {
  double events_per_us = candidates.events_per_us;
  Status s = FailingPhones(store, q, candidates.devices, phones);
  if (!s.ok()) return s;
  if (!q.server.empty()) {
    std::string only = BareHost(q.server);
    std::erase_if(*phones, [&](const FailingPhone& p) { return BareHost(p.server) != only; });
  }
  s = ReadFailureHosts(store, q, events_per_us, phones);
  if (!s.ok()) return s;
  for (FailingPhone& p : *phones) {
    const std::string& address = p.host.empty() ? p.source_ip : p.host;
    if (IsIpAddress(address)) p.ip = address;
  }
  return Status::Ok();
}

}  // namespace resyncwatch
