// Names of the parsers' enums and the MAC address spellings.
#include "parsers/parsers.h"

namespace resyncwatch {
namespace {

constexpr std::string_view kKindNames[kEventKindCount] = {
    "unknown",         "resync_request",  "resync_success",  "resync_failure",
    "upgrade_request", "upgrade_success", "upgrade_failure", "debug",
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the hex digits of text to *mac, skipping the separator `sep` at the positions
// where `every` digits have been read. Returns false on any other byte.
bool ReadGroups(std::string_view text, size_t group, char sep, MacAddress* mac) {
  size_t digits = 0;
  size_t in_group = 0;
  for (char c : text) {
    if (in_group == group) {
      if (c != sep) return false;
      in_group = 0;
      continue;
    }
    int v = HexValue(c);
    if (v < 0) return false;
    *mac = (*mac << 4) | static_cast<MacAddress>(v);
    ++digits;
    ++in_group;
  }
  return digits == 12 && in_group == group;
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
      ok = ReadGroups(text, 12, 0, &mac);
      break;
    case 14:
      ok = ReadGroups(text, 4, '.', &mac);
      break;
    case 17:
      ok = ReadGroups(text, 2, text[2] == '-' ? '-' : ':', &mac);
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
