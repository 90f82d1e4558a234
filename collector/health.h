// Health of the collector, as /healthz reports it: healthy while everything received is
// being stored. Unhealthy (with a one-line reason) while store writes fail (the writer
// holds datagrams and retries), when datagrams were dropped for a full queue within the
// last kQueueDropWindowUs, or when the writer thread has not looped for kWriterStallUs.
// A pure function of a snapshot the collector samples, so that tests set the times.
#pragma once

#include <cstdint>
#include <string>

namespace resyncwatch {

constexpr int64_t kWriterStallUs = 30'000'000;
constexpr int64_t kQueueDropWindowUs = 60'000'000;

struct HealthSnapshot {
  int64_t now_us = 0;
  int64_t writer_heartbeat_us = 0;
  int64_t store_failing_since_us = 0;  // 0: store writes succeed
  std::string store_error;             // the latest failure's text
  int64_t last_queue_drop_us = 0;      // 0: never dropped
  int64_t queue_drops = 0;             // total since start
  int64_t queue_depth = 0;
};

// "" when healthy, else why not ("store writes failing for 12 s, 5000 datagrams held: ...").
std::string HealthReason(const HealthSnapshot& s);

}  // namespace resyncwatch
