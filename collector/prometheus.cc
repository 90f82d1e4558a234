#include "collector/prometheus.h"

#include "common/prometheus_text.h"

namespace resyncwatch {
std::string RenderPrometheus(const Counters& counters, int64_t tcp_connections) {
  PrometheusText out;
  // Plain counters, one family each, in the order of the registry, up to the event kinds.
  for (const CounterInfo& info : AllCounters()) {
    if (info.counter >= Counter::kEventsUnknown) break;
    out.Counter("resyncwatch_" + std::string(info.name) + "_total", info.help,
                counters.Get(info.counter));
  }
  out.Family("resyncwatch_events_total", "counter", "events stored, by kind");
  for (int k = 0; k < kEventKindCount; ++k) {
    EventKind kind = static_cast<EventKind>(k);
    out.Sample("resyncwatch_events_total", {{"kind", ToString(kind)}},
               counters.Get(EventCounter(kind)));
  }
  out.Gauge("resyncwatch_queue_depth", "datagrams waiting for the store writer",
            counters.queue_depth.load(std::memory_order_relaxed));
  out.Gauge("resyncwatch_tcp_open_connections", "TCP connections open now", tcp_connections);
  Counters::Histogram h = counters.WriteLatency();
  out.Histogram("resyncwatch_store_write_seconds", "time of one batched store write",
                kLatencyBucketsSeconds, h.cumulative, h.count, h.sum_seconds);
  return out.Take();
}

}  // namespace resyncwatch
