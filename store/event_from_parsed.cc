// ParsedMessage -> Event: the one place where the parser's borrowed views become the
// store's owned strings.
#include "store/store.h"

namespace resyncwatch {

Event EventFromParsed(const ParsedMessage& m, int64_t received_us, std::string_view source,
                      bool use_message_time) {
  Event e;
  e.received_us = received_us;
  e.message_time_us = m.message_time_us;
  e.event_time_us = use_message_time && m.message_time_us ? *m.message_time_us : received_us;
  e.kind = m.kind;
  e.format = m.format;
  e.facility = static_cast<int16_t>(m.facility);
  e.severity = static_cast<int16_t>(m.severity);
  e.mac = m.mac;
  e.sn = m.sn;
  e.model = m.model;
  e.host = m.host;
  e.app = m.app;
  e.identifier = m.identifier;
  e.timestamp_text = m.timestamp_text;
  e.url = m.url;
  e.scheme = m.scheme;
  e.server = m.server;
  e.port = m.port;
  e.path = m.path;
  e.error = m.error;
  e.message = m.message;
  e.source = source;
  return e;
}

}  // namespace resyncwatch
