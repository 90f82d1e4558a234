// ParsedMessage -> Event: the one place where the parser's borrowed views become the
// store's owned strings.
#include "store/store.h"

namespace resyncwatch {

void EventFromParsed(const ParsedMessage& m, int64_t received_us, std::string_view source,
                     bool use_message_time, Event* out) {
  Event& e = *out;
  e.seq = 0;
  e.received_us = received_us;
  e.message_time_us = m.message_time_us;
  e.event_time_us = use_message_time && m.message_time_us ? *m.message_time_us : received_us;
  e.kind = m.kind;
  e.format = m.format;
  e.facility = static_cast<int16_t>(m.facility);
  e.severity = static_cast<int16_t>(m.severity);
  e.mac = m.mac;
  // assign() keeps the strings' buffers when they are large enough.
  e.sn.assign(m.sn);
  e.model.assign(m.model);
  e.host.assign(m.host);
  e.app.assign(m.app);
  e.identifier.assign(m.identifier);
  e.timestamp_text.assign(m.timestamp_text);
  e.url.assign(m.url);
  e.scheme.assign(m.scheme);
  e.server.assign(m.server);
  e.port = m.port;
  e.path.assign(m.path);
  e.error.assign(m.error);
  e.message.assign(m.message);
  e.source.assign(source);
}

Event EventFromParsed(const ParsedMessage& m, int64_t received_us, std::string_view source,
                      bool use_message_time) {
  Event e;
  EventFromParsed(m, received_us, source, use_message_time, &e);
  return e;
}

}  // namespace resyncwatch
