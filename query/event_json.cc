#include "query/event_json.h"

#include "common/time_format.h"

namespace resyncwatch {
namespace {

void Text(JsonWriter* w, std::string_view key, const std::string& value) {
  if (value.empty()) {
    w->Null(key);
  } else {
    w->String(key, value);
  }
}

void Number(JsonWriter* w, std::string_view key, int64_t value, bool present) {
  if (present) {
    w->Int(key, value);
  } else {
    w->Null(key);
  }
}

}  // namespace

void AppendEventJson(JsonWriter* w, const Event& e, bool with_receive_fields) {
  w->String("format", ToString(e.format));
  Number(w, "facility", e.facility, e.facility >= 0);
  Number(w, "severity", e.severity, e.severity >= 0);
  Text(w, "timestamp", e.timestamp_text);
  Text(w, "host", e.host);
  Text(w, "app", e.app);
  Text(w, "identifier", e.identifier);
  w->String("kind", ToString(e.kind));
  if (e.mac != 0) {
    char mac[12];
    FormatMac(e.mac, mac);
    w->String("mac", std::string_view(mac, sizeof mac));
  } else {
    w->Null("mac");
  }
  Text(w, "sn", e.sn);
  Text(w, "model", e.model);
  Text(w, "url", e.url);
  Text(w, "scheme", e.scheme);
  Text(w, "server", e.server);
  Number(w, "port", e.port, e.port > 0);
  Text(w, "path", e.path);
  Text(w, "error", e.error);
  Text(w, "message", e.message);
  if (with_receive_fields) {
    // What orders the events: the receive time live, the message's own time on import.
    w->String("time", FormatIso8601Utc(e.event_time_us));
    w->String("received_at", FormatIso8601Utc(e.received_us));
    Text(w, "source", e.source);
  }
}

}  // namespace resyncwatch
