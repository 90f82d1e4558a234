#include "query/recovery_view.h"

#include <arpa/inet.h>

#include <algorithm>

namespace resyncwatch {

std::string UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (rest.starts_with('[')) {
    size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string() : std::string(rest.substr(1, close - 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

bool IsIpAddress(std::string_view host) {
  if (host.empty() || host.size() > 45) return false;
  std::string text(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

std::string ForceResyncUrl(std::string_view ip) {
  bool v6 = ip.find(':') != std::string_view::npos;
  return std::string("http://") + (v6 ? "[" : "") + std::string(ip) + (v6 ? "]" : "") +
         "/admin/resync";
}

void RetryBuckets::Add(std::optional<int64_t> next_due_us, int64_t now_us) {
  ++phones;
  if (!next_due_us) {
    ++never;
    return;
  }
  int64_t wait_us = std::max<int64_t>(0, *next_due_us - now_us);
  for (size_t i = 0; i < kWithinSeconds.size(); ++i) {
    if (wait_us <= kWithinSeconds[i] * 1'000'000) ++within[i];
  }
}

}  // namespace resyncwatch
