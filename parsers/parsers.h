// parsers: turns the bytes of one syslog datagram (or TCP frame) from a Cisco MPP/SPA
// phone, or from a relay in front of it, into a ParsedMessage. Pure functions: no I/O,
// no clock reads, no logging, no globals. A ParsedMessage borrows from the input bytes
// (and from its own small scratch buffer); it is valid while the input is. A TemplateSet
// is immutable after construction and may be shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace resyncwatch {

// Which syslog framing was recognised.
enum class SyslogFormat : uint8_t { kRaw = 0, kRfc3164 = 1, kRfc5424 = 2, kBare = 3 };

// What the message says happened. Values are stored on disk: append only.
enum class EventKind : uint8_t {
  kUnknown = 0,
  kResyncRequest = 1,
  kResyncSuccess = 2,
  kResyncFailure = 3,
  kUpgradeRequest = 4,
  kUpgradeSuccess = 5,
  kUpgradeFailure = 6,
  kDebug = 7,
};
constexpr int kEventKindCount = 8;

// How the Syslog_Identifier token after the timestamp was spelled.
enum class IdentifierForm : uint8_t { kNone = 0, kMa = 1, kMau = 2, kMac = 3, kSn = 4 };

std::string_view ToString(SyslogFormat format);  // "rfc3164", "rfc5424", "bare", "raw"
std::string_view ToString(EventKind kind);       // "resync_request", ..., "debug", "unknown"
std::optional<EventKind> EventKindFromString(std::string_view name);

// A 48-bit MAC address; 0 means "none".
using MacAddress = uint64_t;
// Accepts 00:0e:08:ab:cd:ef, 00-0E-08-AB-CD-EF, 000e.08ab.cdef, 000E08ABCDEF (and a
// rsyslog-split "00: 0e:08:ab:cd:ef" is the parser's job, not this one's).
std::optional<MacAddress> ParseMac(std::string_view text);
// Canonical 12 lower-case hex digits, "000e08abcdef".
std::string FormatMac(MacAddress mac);
void FormatMac(MacAddress mac, char out[12]);

}  // namespace resyncwatch
