// collector: resyncwatchd's engine. Receives syslog over UDP (recvmmsg batches) and TCP
// (RFC 6587) on a libuv loop, hands datagrams through a bounded queue to a writer thread
// that parses, attributes and stores them in batches, and counts everything (counters.h
// names). The Collector does not own the Store; Stop() is the only call that is safe from
// other threads (and from signal context it is done by the loop's own signal handlers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "collector/config.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace resyncwatch {

class Counters;

class Collector {
 public:
  // REQUIRES: store outlives the Collector; clock too.
  Collector(CollectorConfig config, Store* store, const Clock* clock = &SystemClock::Instance());
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Called on the writer thread with each batch of events once stored (seq set), in
  // storing order; for the daemon's fleet rollups. REQUIRES: before Start; fn cheap.
  void SetStoredObserver(std::function<void(std::span<const Event>)> fn);
  // Called on the writer thread after the stored observer, with the batch's Events, which
  // fn may swap for others (recycled ones, or none) to take the batch without a copy; for
  // the followers' fan-out (query_socket.h). REQUIRES: before Start; fn cheap.
  void SetStoredBatchTaker(std::function<void(std::vector<Event>*)> fn);

  // Called on the loop thread after SIGHUP has reloaded the templates and the tls://
  // certificate (the daemon reloads its HTTPS certificate there). REQUIRES: before Run.
  void SetReloadObserver(std::function<void()> fn);

  // Compiles the templates, binds every --listen address and starts the writer thread.
  // Errors name the address or template. (The HTTP server is the daemon's: web/web.h.)
  Status Start();
  // "udp 127.0.0.1:40123", "tcp [::1]:6514": what Start bound, in --listen order.
  std::vector<std::string> BoundAddresses() const;

  // Runs the event loop until Stop(), or SIGTERM/SIGINT when handle_signals (then SIGHUP
  // reloads the templates from the config file and the tls:// certificate and key; a bad
  // one keeps the old and logs why, and no established connection is dropped). On the way out:
  // stops reading (after taking what the kernel already queued), drains the queue into the store
  // and joins the writer, so that nothing received is lost. on_ready runs on the calling
  // thread once those signals are handled and before the loop starts: the daemon announces
  // its addresses there, so that a SIGTERM sent on seeing them always stops it cleanly.
  void Run(bool handle_signals, const std::function<void()>& on_ready = nullptr);
  // Thread-safe: makes Run return (after draining).
  void Stop();
  // Thread-safe: recompiles the templates from the config file; keeps the old ones (and
  // logs why) when the file or a template is bad.
  void Reload();

  // Thread-safe, after Start: writes a batch from an import through the writer (one
  // Store::Write at a time); Busy before Start.
  Result<WriteResult> WriteImported(WriteBatch& batch);

  const Counters& counters() const;
  // Thread-safe, after Start: "" while everything received is being stored, else the
  // reason (what /healthz answers with 503; collector/health.h).
  std::string Health() const;
  // The Prometheus text of /metrics.
  std::string RenderMetrics() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace resyncwatch
