#include "common/prometheus_text.h"

#include <catch2/catch.hpp>
#include <set>

#include "common/counter_names.h"

using namespace resyncwatch;

TEST_CASE("Prometheus text has HELP and TYPE before each family's samples") {
  PrometheusText out;
  out.Counter("resyncwatch_x_total", "things counted", 7);
  out.Gauge("resyncwatch_depth", "waiting now", 2);
  out.Family("resyncwatch_events_total", "counter", "events by kind");
  out.Sample("resyncwatch_events_total", {{"kind", "debug"}}, 3);
  const double bounds[] = {0.0005, 1, 2.5};
  const uint64_t cumulative[] = {1, 1, 2};
  out.Histogram("resyncwatch_write_seconds", "write time", bounds, cumulative, 3, 4.25);
  CHECK(out.str() ==
        "# HELP resyncwatch_x_total things counted\n# TYPE resyncwatch_x_total counter\n"
        "resyncwatch_x_total 7\n"
        "# HELP resyncwatch_depth waiting now\n# TYPE resyncwatch_depth gauge\n"
        "resyncwatch_depth 2\n"
        "# HELP resyncwatch_events_total events by kind\n"
        "# TYPE resyncwatch_events_total counter\n"
        "resyncwatch_events_total{kind=\"debug\"} 3\n"
        "# HELP resyncwatch_write_seconds write time\n"
        "# TYPE resyncwatch_write_seconds histogram\n"
        "resyncwatch_write_seconds_bucket{le=\"0.0005\"} 1\n"
        "resyncwatch_write_seconds_bucket{le=\"1\"} 1\n"
        "resyncwatch_write_seconds_bucket{le=\"2.5\"} 2\n"
        "resyncwatch_write_seconds_bucket{le=\"+Inf\"} 3\n"
        "resyncwatch_write_seconds_sum 4.25\n"
        "resyncwatch_write_seconds_count 3\n");
}

TEST_CASE("Counter names are unique, snake_case and each has help") {
  std::set<std::string_view> names;
  for (const CounterInfo& info : AllCounters()) {
    CHECK(names.insert(info.name).second);
    CHECK_FALSE(info.help.empty());
    for (char c : info.name) CHECK(((c >= 'a' && c <= 'z') || c == '_'));
  }
  CHECK(names.size() == static_cast<size_t>(kCounterCount));
}
