// Internal to parsers/: the pieces of a syslog header (PRI, timestamps, RFC 5424
// fields). Each reader looks at the start of its input and consumes nothing on failure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "parsers/parsers.h"

namespace resyncwatch::parsers_internal {

enum class PriStatus { kAbsent, kOk, kMalformed };
// "<PRI>" at the start of *text: on kOk, *pri is 0..191 and *text starts after '>'.
// On kMalformed, *reason says why ("PRI not terminated", "PRI out of range", ...).
PriStatus ReadPri(std::string_view* text, int* pri, std::string_view* reason);

struct Timestamp {
  std::string_view text;  // as it appeared
  std::optional<int64_t> micros;
};
// The calendar year that holds an instant, remembered between parses (the reference
// time moves slowly; working the year out of it is most of a BSD timestamp's cost).
struct YearCache {
  int64_t begin_us = 1;  // [begin_us, end_us) is `year`; empty until first use
  int64_t end_us = 0;
  int year = 0;
  int YearOf(int64_t us);
};

// A BSD "Mmm dd hh:mm:ss" (space-padded or unpadded day, optional year before the time,
// optional fraction) or an ISO-8601 token at the start of *text, followed by a space or
// the end. On success *text starts after it and its trailing spaces.
bool ReadTimestamp(std::string_view* text, const ParseContext& ctx, Timestamp* ts,
                   YearCache* years);

struct Rfc5424Fields {
  Timestamp timestamp;
  std::string_view host;  // empty for NILVALUE
  std::string_view app;
  std::string_view msg;  // after the structured data and a UTF-8 BOM
};
// The rest of an RFC 5424 message after "<PRI>1 ". False (with *reason) when malformed.
bool ReadRfc5424(std::string_view text, Rfc5424Fields* out, std::string_view* reason);

}  // namespace resyncwatch::parsers_internal
