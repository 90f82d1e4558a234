#include "common/prometheus_text.h"

#include <cstdio>
#include <cstdlib>

namespace resyncwatch {
namespace {

// Prometheus reads Go's float syntax; %g gives the shortest form of the bucket bounds
// ("0.0005", "1", "2.5").
std::string Float(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string shortest = buf;
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) return buf;
  }
  return shortest;
}

}  // namespace

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusText::Sample(std::string_view name, std::initializer_list<Label> labels,
                            int64_t value) {
  out_.append(name);
  const char* sep = "{";
  for (const Label& l : labels) {
    out_.append(sep).append(l.name).append("=\"").append(l.value).append("\"");
    sep = ",";
  }
  if (labels.size() != 0) out_.append("}");
  out_.append(" ").append(std::to_string(value)).append("\n");
}

void PrometheusText::Counter(std::string_view name, std::string_view help, int64_t value) {
  Family(name, "counter", help);
  Sample(name, {}, value);
}

void PrometheusText::Gauge(std::string_view name, std::string_view help, int64_t value) {
  Family(name, "gauge", help);
  Sample(name, {}, value);
}

void PrometheusText::Histogram(std::string_view name, std::string_view help,
                               std::span<const double> bounds, std::span<const uint64_t> cumulative,
                               uint64_t count, double sum) {
  Family(name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    Sample(bucket, {{"le", Float(bounds[i])}}, static_cast<int64_t>(cumulative[i]));
  }
  Sample(bucket, {{"le", "+Inf"}}, static_cast<int64_t>(count));
  out_.append(name).append("_sum ").append(Float(sum)).append("\n");
  Sample(std::string(name) + "_count", {}, static_cast<int64_t>(count));
}

}  // namespace resyncwatch
