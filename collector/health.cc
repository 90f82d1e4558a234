#include "collector/health.h"

#include <spdlog/fmt/fmt.h>

namespace resyncwatch {

std::string HealthReason(const HealthSnapshot& s) {
  std::string reason;
  auto add = [&](const std::string& part) {
    if (!reason.empty()) reason += "; ";
    reason += part;
  };
  if (s.store_failing_since_us != 0) {
    add(fmt::format("store writes failing for {} s, {} datagrams held for retry: {}",
                    (s.now_us - s.store_failing_since_us) / 1'000'000, s.queue_depth,
                    s.store_error));
  }
  if (s.last_queue_drop_us != 0 && s.now_us - s.last_queue_drop_us < kQueueDropWindowUs) {
    add(fmt::format("writer queue full: datagrams dropped {} s ago (queue_drops {})",
                    (s.now_us - s.last_queue_drop_us) / 1'000'000, s.queue_drops));
  }
  if (s.now_us - s.writer_heartbeat_us > kWriterStallUs) add("store writer stalled");
  return reason;
}

}  // namespace resyncwatch
