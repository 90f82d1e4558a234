// event_codec: the versioned binary value encodings of events and raw datagrams
// (spec: docs/store-format.md). The event's time and seq live in the key, not here.
// Bodies, identifiers and URLs that repeat the event's own fields are stored as
// references to them and rebuilt exactly on decode. Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "store/store.h"

namespace resyncwatch::store_format {

// Version 2 added two flags: RFC 3339 timestamp texts rendered from the message time, and
// whole receive times. Decoders read 1 and 2; encoders write 2.
constexpr uint8_t kEventCodecVersion = 2;
constexpr uint8_t kOldestEventCodecVersion = 1;
constexpr uint8_t kRawCodecVersion = 1;

// Appends the encoding of everything in event except seq and event_time_us.
void EncodeEvent(const Event& event, std::string* out);
// REQUIRES: event->seq and event->event_time_us already set from the key.
Status DecodeEvent(std::string_view value, Event* event);
// The leading fields only: kind, format, facility, severity, received and message times,
// mac, sn, model, server, port and error (the others are left as they are), for scans
// that need no more.
Status DecodeEventHead(std::string_view value, Event* event);
// The MAC stored in an encoded event without decoding the rest (0 when none).
Result<MacAddress> PeekEventMac(std::string_view value);
// The kind byte of an encoded event without decoding the rest.
Result<EventKind> PeekEventKind(std::string_view value);

void EncodeRaw(const RawDatagram& raw, std::string* out);
// REQUIRES: raw->seq and raw->received_us already set from the key.
Status DecodeRaw(std::string_view value, RawDatagram* raw);

// Text with references to candidate strings: each maximal candidate occurrence of at
// least 4 bytes becomes a 2-byte reference. Exact round trip for any bytes.
void EncodeWithRefs(std::string_view text, const std::string_view* candidates, size_t n,
                    std::string* out);
bool DecodeWithRefs(std::string_view encoded, const std::string_view* candidates, size_t n,
                    std::string* out);

// "Nov  5 08:00:01" for a time (UTC), the BSD syslog form.
std::string FormatBsdTimestamp(int64_t unix_us);

// A stable 64-bit content hash (FNV-1a then a final mix), for the dedup keys.
uint64_t ContentHash(std::string_view bytes);

}  // namespace resyncwatch::store_format
