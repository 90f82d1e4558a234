// Running the analysis over a store: one device (History), the whole fleet or chosen
// devices (one scan). The fleet path scans time slices of the range in parallel, each into
// its own table of devices, merges the tables in time order and analyses devices in
// parallel batches. The chosen-devices path appends their events to a flat list per slice
// and groups them by device after the scan. The visitor is always called from the calling
// thread. docs/schedule.md, "Reading a store", says why.
#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>

#include "schedule/schedule.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

struct Pending {
  std::string model;
  std::vector<ResyncEvent> events;
  int64_t last_failure_us = 0;
  std::string last_failure_host;
  // Events come in (time, seq) order: the last failure seen is the latest.
  void NoteFailure(const Event& e) {
    if (e.kind != EventKind::kResyncFailure && e.kind != EventKind::kUpgradeFailure) return;
    last_failure_us = e.event_time_us;
    last_failure_host = e.host;
  }
};

// Devices by MAC: open addressing on a power-of-two table (one cache miss per lookup).
class DeviceTable {
 public:
  DeviceTable() { Rehash(1 << 12); }

  Pending& At(MacAddress mac) {
    if ((macs_.size() + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(mac) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == kEmpty) {
        slots_[i] = static_cast<uint32_t>(macs_.size());
        macs_.push_back(mac);
        pending_.emplace_back();
        return pending_.back();
      }
      if (macs_[slots_[i]] == mac) return pending_[slots_[i]];
    }
  }
  Pending* Find(MacAddress mac) {
    uint32_t i = IndexOf(mac);
    return i == kNone ? nullptr : &pending_[i];
  }
  // The device's index (in the order At added them), kNone when absent.
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t IndexOf(MacAddress mac) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(mac) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == kEmpty || macs_[slots_[i]] == mac) return slots_[i];
    }
  }
  size_t size() const { return macs_.size(); }
  MacAddress mac(size_t i) const { return macs_[i]; }
  Pending& pending(size_t i) { return pending_[i]; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static size_t Hash(MacAddress mac) { return (mac * 0x9E3779B97F4A7C15ULL) >> 20; }
  void Rehash(size_t capacity) {
    slots_.assign(capacity, kEmpty);
    size_t mask = capacity - 1;
    for (uint32_t n = 0; n < macs_.size(); ++n) {
      size_t i = Hash(macs_[n]) & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = n;
    }
  }
  std::vector<uint32_t> slots_;
  std::vector<MacAddress> macs_;
  std::deque<Pending> pending_;  // stable references while the table grows
};

using DeviceFilter = std::function<bool(MacAddress)>;  // empty: every device

// A set of MACs that may answer yes for a MAC not added, never no for one added: one bit
// per hashed MAC, 16 to 32 bits per expected MAC (a false yes for one MAC in 16 to 32),
// 2^12 to 2^24 bits. Every scanned event is tested and the block decoding around it keeps
// evicting the bits from the caches: at 10,000 MACs a fixed 128 KiB (2^20 bits) missed them
// more often than 32 KiB does, and the extra false yeses cost less than those misses
// (the test's share of the recovery bench's CPU: 7.4 % -> 6.0 %).
class MacBits {
 public:
  explicit MacBits(size_t expected) {
    while (shift_ > 64 - 24 && (size_t{1} << (64 - shift_)) < expected * 16) --shift_;
    words_.assign((size_t{1} << (64 - shift_)) / 64, 0);
  }
  void Add(MacAddress mac) { words_[Bit(mac) / 64] |= 1ULL << (Bit(mac) % 64); }
  bool MayContain(MacAddress mac) const { return (words_[Bit(mac) / 64] >> (Bit(mac) % 64)) & 1; }

 private:
  size_t Bit(MacAddress mac) const { return (mac * 0x9E3779B97F4A7C15ULL) >> shift_; }
  int shift_ = 64 - 12;  // 2^12 bits at least
  std::vector<uint64_t> words_;
};

Status ScanInto(const Store& store, TimeRange range, const DeviceFilter& want, DeviceTable* table) {
  MacAddress last_mac = 0;
  Pending* last = nullptr;
  return store.ScanHeadsOf(range, want, [&](const Event& e) {
    if (e.mac == 0 || !MattersToSchedule(e)) return true;
    if (e.mac != last_mac || last == nullptr) {
      last = &table->At(e.mac);
      last_mac = e.mac;
      if (last->events.empty()) last->events.reserve(16);
    }
    if (last->model.empty() && !e.model.empty()) last->model = e.model;
    last->events.push_back(ToResyncEvent(e));
    last->NoteFailure(e);
    return true;
  });
}

int ThreadCount(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
}

// A device silent for the whole range is judged from the last outcome its summary holds,
// so that a phone that went quiet before the range shows up as overdue.
void AddSummaryOutcome(const DeviceSummary& d, TimeRange range, std::vector<ResyncEvent>* out) {
  int64_t last_us = std::max(d.last_success_us, d.last_failure_us);
  if (last_us == 0 || last_us >= range.since_us) return;
  ResyncEvent e;
  e.time_us = last_us;
  e.kind =
      d.last_failure_us > d.last_success_us ? EventKind::kResyncFailure : EventKind::kResyncSuccess;
  out->push_back(e);
}

// One device by its History, as AnalyzeFleet judges it. summary may be null (unknown).
FleetDevice AnalyzeOne(const Store& store, MacAddress mac, const DeviceSummary* summary,
                       const ScheduleConfigSet& configs, TimeRange range, int64_t now_us,
                       const AnalysisOptions& options, Status* status) {
  FleetDevice out;
  out.mac = mac;
  std::vector<ResyncEvent> events;
  *status = store.History(mac, range, [&](const Event& e) {
    if (!MattersToSchedule(e)) return true;
    if (out.model.empty() && !e.model.empty()) out.model = e.model;
    events.push_back(ToResyncEvent(e));
    if (e.kind == EventKind::kResyncFailure || e.kind == EventKind::kUpgradeFailure) {
      out.last_failure_us = e.event_time_us;
      out.last_failure_host = e.host;
    }
    return true;
  });
  if (summary != nullptr) {
    if (out.model.empty()) out.model = summary->model;
    if (events.empty()) AddSummaryOutcome(*summary, range, &events);
  }
  out.analysis = AnalyzeDevice(events, configs.For(mac, out.model), now_us, options);
  return out;
}

}  // namespace

Result<DeviceAnalysis> AnalyzeStoredDevice(const Store& store, MacAddress mac,
                                           const ScheduleConfigSet& configs, TimeRange range,
                                           int64_t now_us, const AnalysisOptions& options,
                                           std::string* model) {
  Result<DeviceSummary> summary = store.GetDevice(mac);
  if (!summary.ok() && !summary.status().IsNotFound()) return summary.status();
  Status s;
  FleetDevice d = AnalyzeOne(store, mac, summary.ok() ? &*summary : nullptr, configs, range, now_us,
                             options, &s);
  if (!s.ok()) return s;
  if (model) *model = d.model;
  return std::move(d.analysis);
}

namespace {

// The range in `slices` time slices (one when it is unbounded), scanned by fn(i, slice) on
// `threads` threads. Each thread takes the next slice not yet taken, so that a thread slowed
// down (a busy core, a denser hour) does not leave the other waiting at the end.
Status ForEachSlice(TimeRange range, int threads, int slices,
                    const std::function<Status(int, TimeRange)>& fn) {
  std::vector<Status> status(slices);
  int64_t span = slices > 1 ? (range.until_us - range.since_us) / slices : 0;
  std::atomic<int> next{0};
  auto work = [&] {
    for (int i = next++; i < slices; i = next++) {
      TimeRange part = range;
      if (slices > 1) {
        part.since_us = range.since_us + span * i;
        if (i + 1 < slices) part.until_us = part.since_us + span;
      }
      status[i] = fn(i, part);
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < std::min(threads, slices); ++t) workers.emplace_back(work);
  for (auto& w : workers) w.join();
  for (const Status& s : status) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

bool Bounded(TimeRange range) { return range.since_us != INT64_MIN && range.until_us != INT64_MAX; }

// The events in range of the devices `want` accepts, one slice per thread, merged in time
// order into *all.
Status ScanDevices(const Store& store, TimeRange range, const DeviceFilter& want, int threads,
                   DeviceTable* all) {
  int slices = Bounded(range) ? threads : 1;
  std::vector<DeviceTable> tables(slices);
  Status s = ForEachSlice(range, threads, slices, [&](int i, TimeRange part) {
    return ScanInto(store, part, want, &tables[i]);
  });
  if (!s.ok()) return s;
  *all = std::move(tables[0]);
  for (int i = 1; i < slices; ++i) {  // later slices hold later events
    for (size_t d = 0; d < tables[i].size(); ++d) {
      Pending& src = tables[i].pending(d);
      Pending& dst = all->At(tables[i].mac(d));
      if (dst.model.empty()) dst.model = std::move(src.model);
      if (src.last_failure_us != 0) {
        dst.last_failure_us = src.last_failure_us;
        dst.last_failure_host = std::move(src.last_failure_host);
      }
      dst.events.insert(dst.events.end(), src.events.begin(), src.events.end());
      std::vector<ResyncEvent>().swap(src.events);
    }
  }
  return Status::Ok();
}

// A device known to the store: its model when its events had none, and its summary's
// outcome when it was silent in the range.
void AddKnownDevice(const DeviceSummary& d, TimeRange range, DeviceTable* all) {
  if (Pending* p = all->Find(d.mac)) {
    if (p->model.empty()) p->model = d.model;
    return;
  }
  Pending& p = all->At(d.mac);
  p.model = d.model;
  AddSummaryOutcome(d, range, &p.events);
}

// Analyses every device of the table in batches (bounded memory), each batch split over
// the threads; the visitor is called from the calling thread.
void AnalyzeTable(DeviceTable& all, const ScheduleConfigSet& configs, int64_t now_us,
                  const AnalysisOptions& options, int threads, const FleetVisitor& visit) {
  constexpr size_t kBatch = 8192;
  std::vector<FleetDevice> batch;
  for (size_t first = 0; first < all.size(); first += kBatch) {
    size_t n = std::min(kBatch, all.size() - first);
    batch.assign(n, FleetDevice{});
    auto work = [&](size_t from, size_t to) {
      for (size_t i = from; i < to; ++i) {
        Pending& p = all.pending(first + i);
        FleetDevice& out = batch[i];
        out.mac = all.mac(first + i);
        out.model = std::move(p.model);
        out.last_failure_us = p.last_failure_us;
        out.last_failure_host = std::move(p.last_failure_host);
        out.analysis = AnalyzeDevice(p.events, configs.For(out.mac, out.model), now_us, options);
        std::vector<ResyncEvent>().swap(p.events);
      }
    };
    std::vector<std::thread> workers;
    size_t per = (n + threads - 1) / threads;
    for (int t = 1; t < threads && per * t < n; ++t) {
      workers.emplace_back(work, per * t, std::min(n, per * (t + 1)));
    }
    work(0, std::min(n, per));
    for (auto& w : workers) w.join();
    for (FleetDevice& d : batch) visit(d);
  }
}

}  // namespace

Status AnalyzeFleet(const Store& store, const ScheduleConfigSet& configs, TimeRange range,
                    int64_t now_us, const AnalysisOptions& options, const FleetVisitor& visit) {
  int threads = ThreadCount(options.threads);
  DeviceTable all;
  Status s = ScanDevices(store, range, nullptr, threads, &all);
  if (!s.ok()) return s;
  s = store.ForEachDevice([&](const DeviceSummary& d) {
    AddKnownDevice(d, range, &all);
    return true;
  });
  if (!s.ok()) return s;
  AnalyzeTable(all, configs, now_us, options, threads, visit);
  return Status::Ok();
}

namespace {

// The wanted devices of AnalyzeDevices, by index (the order of the summaries), behind a bit
// per hashed MAC that stays in the cache: most scanned events belong to other devices and
// are rejected by one bit test instead of a probe of the table. The scan threads only read.
struct WantedDevices {
  DeviceTable table;
  MacBits maybe;
  std::vector<const DeviceSummary*> summary;  // by index; the first of a MAC given twice
  explicit WantedDevices(std::span<const DeviceSummary> devices) : maybe(devices.size()) {
    for (const DeviceSummary& d : devices) {
      table.At(d.mac);
      if (table.size() > summary.size()) summary.push_back(&d);
      maybe.Add(d.mac);
    }
  }
  uint32_t IndexOf(MacAddress mac) const {
    if (mac == 0 || !maybe.MayContain(mac)) return DeviceTable::kNone;
    return table.IndexOf(mac);
  }
};

// One time slice's events of the wanted devices, appended in scan order: no per-device
// structure is touched while scanning (each was a cache miss per event, next to the block
// decoding), the events are grouped by device afterwards.
struct WantedSlice {
  struct Failure {
    uint32_t device;
    int64_t time_us;
    std::string host;
  };
  std::vector<std::pair<uint32_t, ResyncEvent>> events;
  std::vector<std::pair<uint32_t, std::string>> models;  // each device's first in the slice
  std::vector<Failure> failures;
};

Status ScanWanted(const Store& store, TimeRange range, const WantedDevices& wanted,
                  WantedSlice* out) {
  std::vector<bool> has_model(wanted.table.size());
  return store.ScanHeadsOf(
      range, [&](MacAddress mac) { return wanted.IndexOf(mac) != DeviceTable::kNone; },
      [&](const Event& e) {
        if (!MattersToSchedule(e)) return true;
        uint32_t d = wanted.IndexOf(e.mac);  // hot: the filter just probed it
        if (d == DeviceTable::kNone) return true;
        if (!has_model[d] && !e.model.empty()) {
          has_model[d] = true;
          out->models.emplace_back(d, e.model);
        }
        out->events.emplace_back(d, ToResyncEvent(e));
        if (e.kind == EventKind::kResyncFailure || e.kind == EventKind::kUpgradeFailure) {
          out->failures.push_back({d, e.event_time_us, e.host});
        }
        return true;
      });
}

// The slices' events grouped by device in time order (slices are in time order): device
// d's are events[start[d] .. start[d + 1]). Frees the slices' events.
struct GroupedEvents {
  std::vector<ResyncEvent> events;
  std::vector<size_t> start;
  std::vector<std::string> model;
  std::vector<int64_t> last_failure_us;
  std::vector<std::string> last_failure_host;
};

void GroupByDevice(std::vector<WantedSlice>& slices, size_t devices, GroupedEvents* g) {
  g->start.assign(devices + 1, 0);
  for (const WantedSlice& s : slices) {
    for (const auto& [d, e] : s.events) ++g->start[d + 1];
  }
  for (size_t d = 0; d < devices; ++d) g->start[d + 1] += g->start[d];
  g->events.resize(g->start[devices]);
  std::vector<size_t> next(g->start.begin(), g->start.end() - 1);
  g->model.assign(devices, {});
  g->last_failure_us.assign(devices, 0);
  g->last_failure_host.assign(devices, {});
  for (WantedSlice& s : slices) {
    for (const auto& [d, e] : s.events) g->events[next[d]++] = e;
    for (auto& [d, model] : s.models) {
      if (g->model[d].empty()) g->model[d] = std::move(model);
    }
    for (WantedSlice::Failure& f : s.failures) {  // the latest wins
      g->last_failure_us[f.device] = f.time_us;
      g->last_failure_host[f.device] = std::move(f.host);
    }
    s = WantedSlice();
  }
}

// Device d (summary `summary`) as AnalyzeFleet judges it: its events in range, else the
// outcome its summary holds; its model from its events, else from its summary.
FleetDevice JudgeGrouped(GroupedEvents& g, size_t d, const DeviceSummary& summary,
                         const ScheduleConfigSet& configs, TimeRange range, int64_t now_us,
                         const AnalysisOptions& options) {
  FleetDevice out;
  out.mac = summary.mac;
  out.model = g.model[d].empty() ? summary.model : std::move(g.model[d]);
  out.last_failure_us = g.last_failure_us[d];
  out.last_failure_host = std::move(g.last_failure_host[d]);
  std::span<const ResyncEvent> events(g.events.data() + g.start[d], g.start[d + 1] - g.start[d]);
  std::vector<ResyncEvent> silent;
  if (events.empty()) {
    AddSummaryOutcome(summary, range, &silent);
    events = silent;
  }
  out.analysis = AnalyzeDevice(events, configs.For(out.mac, out.model), now_us, options);
  return out;
}

// A few devices' events are small: more slices than threads balance the threads' work.
constexpr int kSlicesPerThread = 4;

}  // namespace

Status AnalyzeDevices(const Store& store, const ScheduleConfigSet& configs,
                      std::span<const DeviceSummary> devices, TimeRange range, int64_t now_us,
                      const AnalysisOptions& options, const FleetVisitor& visit) {
  int threads = ThreadCount(options.threads);
  WantedDevices wanted(devices);
  int slices = Bounded(range) ? threads * kSlicesPerThread : 1;
  std::vector<WantedSlice> parts(slices);
  Status s = ForEachSlice(range, threads, slices, [&](int i, TimeRange part) {
    return ScanWanted(store, part, wanted, &parts[i]);
  });
  if (!s.ok()) return s;
  GroupedEvents grouped;
  GroupByDevice(parts, wanted.table.size(), &grouped);
  // Judged in batches split over the threads; visited from this thread.
  constexpr size_t kBatch = 8192;
  std::vector<FleetDevice> batch;
  for (size_t first = 0; first < wanted.summary.size(); first += kBatch) {
    size_t n = std::min(kBatch, wanted.summary.size() - first);
    batch.assign(n, FleetDevice{});
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < n; i = next++) {
        batch[i] = JudgeGrouped(grouped, first + i, *wanted.summary[first + i], configs, range,
                                now_us, options);
      }
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) workers.emplace_back(work);
    work();
    for (auto& w : workers) w.join();
    for (FleetDevice& d : batch) visit(d);
  }
  return Status::Ok();
}

}  // namespace resyncwatch
