// recovery_view: the pieces of `resyncwatch recovery` that need no store: the server
// host of a URL, which host texts are addresses, the phone's forced-resync URL and the
// buckets of "will have retried by itself within". Pure functions: thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace resyncwatch {

// The host of "scheme://[user:pass@]host[:port]/path", IPv6 without its brackets
// ("2001:db8::5"); "" when the text is not such a URL.
std::string UrlHost(std::string_view url);

// True for an IPv4 or IPv6 address literal (no brackets, no port).
bool IsIpAddress(std::string_view host);

// "http://10.1.2.3/admin/resync", "http://[2001:db8::7]/admin/resync".
// REQUIRES: IsIpAddress(ip).
std::string ForceResyncUrl(std::string_view ip);

// Phones that will have retried by themselves within 10 min, 1 h, 6 h and 24 h of now
// (cumulative: a phone due in 5 min counts in all four; one already past due counts as
// due now), and those that never will (retries disabled).
struct RetryBuckets {
  static constexpr std::array<int64_t, 4> kWithinSeconds = {600, 3600, 6 * 3600, 24 * 3600};
  std::array<int64_t, 4> within{};
  int64_t never = 0;
  int64_t phones = 0;
  void Add(std::optional<int64_t> next_due_us, int64_t now_us);
};

}  // namespace resyncwatch
