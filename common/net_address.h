// net_address: the one form of a network address in resyncwatch, with its one parser and
// one printer. Every "host:port" text (listen options, alert targets, an event's source,
// a device's last address) is split by SplitHostPort and written by JoinHostPort; a
// numeric sender address is a PeerAddress, parsed from and printed to that same text.
// Text forms: "10.1.2.3", "10.1.2.3:514", "[2001:db8::5]", "[2001:db8::5]:514", a bare
// IPv6 address "2001:db8::5" (two or more colons and no brackets: never a port), and,
// where the caller accepts names, "syslog.example:514".
// Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace resyncwatch {

// A host and an optional port, as text.
struct HostPort {
  std::string host;        // without brackets: a name, an IPv4 or an IPv6 address
  int port = -1;           // 0..65535; -1 when the text had no port
  bool bracketed = false;  // the host was written "[...]"
  bool has_port() const { return port >= 0; }
};

// Splits text into host and port. With kRequired a text without a port is an error, and
// so is an IPv6 address without brackets. Errors are a phrase that follows the value in
// the caller's message ("--listen: 'udp://::1:514' needs [brackets] around an IPv6
// address"): "is missing ']'", "has something after ']' other than :PORT", "has a bad
// port", "has no host", "has no :PORT", "needs [brackets] around an IPv6 address".
enum class PortRule { kOptional, kRequired };
Result<HostPort> SplitHostPort(std::string_view text, PortRule rule = PortRule::kOptional);

// "host:port", "[v6]:port"; the host alone ("[v6]" for IPv6) when port < 0.
std::string JoinHostPort(std::string_view host, int port);

// The host part of text as SplitHostPort reads it, without brackets; text itself when it
// does not split. No allocation: for the writer's per-event path.
std::string_view HostOf(std::string_view text);

// True when host (without brackets) is a numeric IPv4 or IPv6 address.
bool IsIpAddress(std::string_view host);

// A numeric sender address as a socket reports it: family, port and address bytes.
struct PeerAddress {
  uint8_t family = 0;  // AF_INET or AF_INET6; 0 = none
  uint16_t port = 0;   // host order
  uint8_t addr[16] = {};

  // A numeric address in any form SplitHostPort reads, port 0 when absent; nullopt for
  // names, bad ports and anything else.
  static std::optional<PeerAddress> Parse(std::string_view text);
  std::string ToString() const;           // "10.1.2.3:514", "[2001:db8::5]:514", "unknown"
  void FormatTo(std::string* out) const;  // the same into *out, reusing its buffer
  std::string HostText() const;           // "10.1.2.3", "2001:db8::5" (no brackets, no port)
  bool operator==(const PeerAddress&) const = default;
};

}  // namespace resyncwatch
