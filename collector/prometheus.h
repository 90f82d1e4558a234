// Renders the collector's counters in the Prometheus text exposition format (0.0.4) for
// /metrics: resyncwatch_<name>_total counters, events by kind, the store write latency
// histogram and the queue depth gauge. Reads atomics only: thread-safe.
#pragma once

#include <string>

#include "collector/counters.h"

namespace resyncwatch {

std::string RenderPrometheus(const Counters& counters, int64_t tcp_connections);

}  // namespace resyncwatch
