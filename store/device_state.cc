#include "store/device_state.h"

#include <algorithm>

namespace resyncwatch::store_format {

std::string_view SourceHost(std::string_view source) {
  if (source.empty() || source.starts_with("file:")) return {};
  if (source.front() == '[') {
    size_t close = source.find(']');
    return close == std::string_view::npos ? source : source.substr(1, close - 1);
  }
  size_t colon = source.rfind(':');
  if (colon != std::string_view::npos && source.find(':') == colon) return source.substr(0, colon);
  return source;
}

void ApplyEventToSummary(const Event& e, DeviceSummary* s) {
  const int64_t t = e.event_time_us;
  const bool newest = s->events == 0 || t >= s->last_seen_us;
  if (s->events == 0 || t < s->first_seen_us) s->first_seen_us = t;
  if (newest) {
    s->last_seen_us = t;
    std::string_view ip = SourceHost(e.source);
    if (!ip.empty() && ip != s->last_ip) s->last_ip = ip;
  }
  ++s->events;
  if (!e.model.empty() && (newest || s->model.empty()) && e.model != s->model) s->model = e.model;
  if (!e.sn.empty() && (newest || s->sn.empty()) && e.sn != s->sn) s->sn = e.sn;

  switch (e.kind) {
    case EventKind::kResyncRequest:
    case EventKind::kUpgradeRequest:
      ++s->requests;
      s->last_request_us = std::max(s->last_request_us, t);
      break;
    case EventKind::kResyncSuccess:
    case EventKind::kUpgradeSuccess:
      ++s->successes;
      if (t >= s->last_failure_us) s->consecutive_failures = 0;
      s->last_success_us = std::max(s->last_success_us, t);
      break;
    case EventKind::kResyncFailure:
    case EventKind::kUpgradeFailure:
      ++s->failures;
      if (t >= s->last_success_us) ++s->consecutive_failures;
      if (t >= s->last_failure_us && !e.error.empty() && e.error != s->last_error) {
        s->last_error = e.error;
      }
      s->last_failure_us = std::max(s->last_failure_us, t);
      break;
    case EventKind::kDebug:
    case EventKind::kUnknown:
      return;
  }
  // Only resync/upgrade events reach here.
  if (t >= s->last_request_us && t >= s->last_success_us && t >= s->last_failure_us) {
    s->last_kind = e.kind;
  }
  if (!e.url.empty() && t >= s->last_request_us && e.url != s->last_url) s->last_url = e.url;
}

}  // namespace resyncwatch::store_format

namespace resyncwatch {
void ApplyEventToDeviceSummary(const Event& event, DeviceSummary* summary) {
  store_format::ApplyEventToSummary(event, summary);
}
}  // namespace resyncwatch
