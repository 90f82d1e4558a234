// The JSON form of an Event, shared by `resyncwatch parse` (the contract) and every
// --json output that prints events, so that the keys and their order are defined once.
// Pure function; thread-safe.
#pragma once

#include "common/json_writer.h"
#include "store/store.h"

namespace resyncwatch {

// Appends to the object being built in *w (the caller calls Begin/End), in this order:
// format, facility, severity, timestamp, host, app, identifier, kind, mac, sn, model, url,
// scheme, server, port, path, error, message (null when absent), then, when
// with_receive_fields, received_at (ISO-8601 UTC, microseconds) and source.
void AppendEventJson(JsonWriter* w, const Event& e, bool with_receive_fields);

}  // namespace resyncwatch
