// prometheus_text: the one writer of the Prometheus text exposition format (0.0.4) that
// every /metrics producer (collector counters, HTTP counters, fleet rollup) appends to.
// Names and label values come from fixed sets chosen by the caller; help text is one
// line. Not thread-safe: one writer per rendering.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace resyncwatch {

class PrometheusText {
 public:
  // A family with one sample: "# HELP", "# TYPE", "name value".
  void Counter(std::string_view name, std::string_view help, int64_t value);
  void Gauge(std::string_view name, std::string_view help, int64_t value);
  // A family whose samples the caller adds with Sample.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // name{label="value",...} v. Label values come from fixed sets (no escaping).
  struct Label {
    std::string_view name;
    std::string_view value;
  };
  void Sample(std::string_view name, std::initializer_list<Label> labels, int64_t value);
  // A histogram family: cumulative counts per upper bound, then +Inf, _sum and _count.
  void Histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                 std::span<const uint64_t> cumulative, uint64_t count, double sum);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace resyncwatch
