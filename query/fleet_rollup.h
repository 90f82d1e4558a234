// FleetRollup: what `resyncwatch fleet` computes, kept up to date per minute as events
// are stored, so that the daemon's wall panels do not scan a day of events on every
// refresh. It holds, per minute: event, attempt and outcome counts (resyncs and upgrades
// apart), failures per error, attempts and outcomes per server, counts per server and
// model group; and, per device, the minutes it was seen in, flagged (its last outcome in
// each, requests, events naming a server or a model), with its latest server and model.
// Distinct devices, group membership and "last attempt failed" come from the per-device
// minutes, never from summing buckets.
//
// Answer() gives exactly what FleetStats (the scan) gives for the same events, or nullopt
// when it cannot: a range not on whole minutes, open at the start or older than the
// window, --by error, --by server (model) when some device's own server (model) changed
// within the range, a rollup not (yet) built, or a device's events stored out of time
// order (whose attribution to servers the minutes cannot redo: Observe then marks the
// rollup stale until the next Rebuild).
//
// Ownership: the daemon owns one; its writer thread calls Observe after each stored
// batch, a background thread Rebuild (at start, and when stale). Every method is
// thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "query/fleet_stats.h"
#include "store/store.h"

namespace resyncwatch {

class FleetRollup {
 public:
  struct Options {
    // How far back the rollup answers (the wall's oldest panel is 48 h..24 h).
    int64_t window_us = int64_t{49} * 3600 * 1'000'000;
    // The store's retention (0: none): ranges reaching within an hour of the retention
    // edge are scanned, since the store drops events there on its own schedule.
    int64_t retention_us = 0;
    const Clock* clock = &SystemClock::Instance();  // not owned
  };
  explicit FleetRollup(Options options);
  FleetRollup();
  ~FleetRollup();
  FleetRollup(const FleetRollup&) = delete;
  FleetRollup& operator=(const FleetRollup&) = delete;

  // The events of one stored batch, in the order the store gave them sequence numbers.
  // REQUIRES: called by one thread at a time (the store's writer).
  void Observe(std::span<const Event> events);

  // Reads the window ending now (and anything later) from store and replaces the rollup
  // with it; batches observed meanwhile are applied after, without double counting (by
  // sequence number). Slow (a scan of the window): call off the ingest path.
  Status Rebuild(const Store& store);

  // True when built and not stale.
  bool Ready() const;
  // True when not built or stale: the daemon's background thread then calls Rebuild.
  bool NeedsRebuild() const { return !Ready(); }

  // The summary of events in range, grouped by `by`, or nullopt (then scan).
  std::optional<FleetSummary> Answer(TimeRange range, GroupBy by) const;

  // Out-of-order device events seen since start (each made the rollup stale).
  uint64_t out_of_order() const;
  // Memory held, roughly (devices' minutes, minute buckets), in bytes.
  size_t ApproxBytes() const;
  // Prometheus text: answers given and declined (scanned), rebuilds, out-of-order events,
  // whether ready.
  std::string RenderMetrics() const;

 private:
  struct State;
  std::optional<FleetSummary> Sum(TimeRange range, GroupBy by) const;
  struct Tally;
  Options options_;
  mutable std::mutex mu_;
  mutable std::atomic<uint64_t> answered_{0};
  mutable std::atomic<uint64_t> declined_{0};
  std::atomic<uint64_t> rebuilds_{0};
  std::unique_ptr<State> state_;  // guarded by mu_
};

}  // namespace resyncwatch
