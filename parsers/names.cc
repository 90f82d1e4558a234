// Names of the parsers' enums and the MAC address spellings.
#include <array>

#include "parsers/parsers.h"

namespace resyncwatch {
namespace {

constexpr std::string_view kKindNames[kEventKindCount] = {
    "unknown",         "resync_request",  "resync_success",  "resync_failure",
    "upgrade_request", "upgrade_success", "upgrade_failure", "debug",
};

constexpr std::array<int8_t, 256> BuildHex() {
  std::array<int8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c >= '0' && c <= '9'   ? static_cast<int8_t>(c - '0')
           : c >= 'a' && c <= 'f' ? static_cast<int8_t>(c - 'a' + 10)
           : c >= 'A' && c <= 'F' ? static_cast<int8_t>(c - 'A' + 10)
                                  : -1;
  }
  return t;
}
constexpr std::array<int8_t, 256> kHexValue = BuildHex();

// Reads 12 hex digits from text, in groups of kGroup digits separated by one `sep` byte
// (no separators when kGroup is 12). REQUIRES: text.size() == 12 + 12 / kGroup - 1.
template <int kGroup>
bool ReadGroups(std::string_view text, char sep, MacAddress* mac) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
  MacAddress v = 0;
  bool bad = false;
  for (int g = 0; g < 12 / kGroup; ++g) {
    if (g > 0) bad |= *p++ != static_cast<unsigned char>(sep);
    for (int d = 0; d < kGroup; ++d) {
      int h = kHexValue[*p++];
      bad |= h < 0;
      v = (v << 4) | static_cast<MacAddress>(h & 0xF);
    }
  }
  *mac = v;
  return !bad;
}

}  // namespace

std::string_view ToString(SyslogFormat format) {
  switch (format) {
    case SyslogFormat::kRfc3164:
      return "rfc3164";
    case SyslogFormat::kRfc5424:
      return "rfc5424";
    case SyslogFormat::kBare:
      return "bare";
    case SyslogFormat::kRaw:
      break;
  }
  return "raw";
}

std::string_view ToString(EventKind kind) {
  auto i = static_cast<size_t>(kind);
  return i < std::size(kKindNames) ? kKindNames[i] : "unknown";
}

std::optional<EventKind> EventKindFromString(std::string_view name) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == name) return static_cast<EventKind>(i);
  }
  return std::nullopt;
}

std::string_view ToString(FrameError error) {
  switch (error) {
    case FrameError::kOversize:
      return "oversize";
    case FrameError::kGarbled:
      return "garbled";
    case FrameError::kNone:
      break;
  }
  return "none";
}

std::optional<MacAddress> ParseMac(std::string_view text) {
  MacAddress mac = 0;
  bool ok = false;
  switch (text.size()) {
    case 12:
      ok = ReadGroups<12>(text, 0, &mac);
      break;
    case 14:
      ok = ReadGroups<4>(text, '.', &mac);
      break;
    case 17:
      ok = ReadGroups<2>(text, text[2] == '-' ? '-' : ':', &mac);
      break;
    default:
      break;
  }
  if (!ok || mac == 0) return std::nullopt;
  return mac;
}

void FormatMac(MacAddress mac, char out[12]) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 11; i >= 0; --i) {
    out[i] = kHex[mac & 0xF];
    mac >>= 4;
  }
}

std::string FormatMac(MacAddress mac) {
  std::string s(12, '0');
  FormatMac(mac, s.data());
  return s;
}

}  // namespace resyncwatch
