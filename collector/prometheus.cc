#include "collector/prometheus.h"

#include <spdlog/fmt/fmt.h>

namespace resyncwatch {
namespace {

void Family(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void Sample(std::string* out, std::string_view name, int64_t value) {
  fmt::format_to(std::back_inserter(*out), "{} {}\n", name, value);
}

}  // namespace

std::string RenderPrometheus(const Counters& counters, int64_t tcp_connections) {
  std::string out;
  out.reserve(4096);
  // Plain counters, one family each, in the order of the Counter enum.
  for (int i = 0; i < kCounterCount; ++i) {
    Counter c = static_cast<Counter>(i);
    if (c >= Counter::kEventsUnknown) break;
    std::string name = fmt::format("resyncwatch_{}_total", CounterName(c));
    Family(&out, name, "counter", CounterHelp(c));
    Sample(&out, name, counters.Get(c));
  }
  Family(&out, "resyncwatch_events_total", "counter", "events stored, by kind");
  for (int k = 0; k < kEventKindCount; ++k) {
    EventKind kind = static_cast<EventKind>(k);
    fmt::format_to(std::back_inserter(out), "resyncwatch_events_total{{kind=\"{}\"}} {}\n",
                   ToString(kind), counters.Get(EventCounter(kind)));
  }
  Family(&out, "resyncwatch_queue_depth", "gauge", "datagrams waiting for the store writer");
  Sample(&out, "resyncwatch_queue_depth", counters.queue_depth.load(std::memory_order_relaxed));
  Family(&out, "resyncwatch_tcp_open_connections", "gauge", "TCP connections open now");
  Sample(&out, "resyncwatch_tcp_open_connections", tcp_connections);

  Counters::Histogram h = counters.WriteLatency();
  constexpr std::string_view kHist = "resyncwatch_store_write_seconds";
  Family(&out, kHist, "histogram", "time of one batched store write");
  for (size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", kHist,
                   kLatencyBucketsSeconds[i], h.cumulative[i]);
  }
  fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n", kHist, h.count);
  fmt::format_to(std::back_inserter(out), "{}_sum {}\n{}_count {}\n", kHist, h.sum_seconds, kHist,
                 h.count);
  return out;
}

}  // namespace resyncwatch
