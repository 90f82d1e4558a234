// Internal to parsers/: splitting a provisioning URL and hiding the secrets in text.
#pragma once

#include <string>
#include <string_view>

namespace resyncwatch::parsers_internal {

struct UrlParts {
  std::string_view scheme;
  std::string_view userinfo;  // between "://" and "@", without the "@"
  std::string_view server;    // host name, IPv4, or "[v6]" with brackets
  std::string_view port;      // digits, or empty
  std::string_view path;      // from the first "/" after the authority, or empty
};

// Splits "scheme://[user:pass@]server[:port][/path]". False when it has no "://" or no
// server.
bool SplitUrl(std::string_view url, UrlParts* parts);

// 69 for tftp, 80 for http, 443 for https, 0 otherwise (case-insensitive).
int DefaultPort(std::string_view scheme);

// True when text holds a URL user-info ("://user:pass@"), a URL cut inside its
// credentials at the end of the text ("http://user:secr"), or the value of a secret
// option (--key, --pwd, --passwd, --password; quoted or not).
bool NeedsRedaction(std::string_view text);
// Appends text to out with each of those secrets replaced by "***" (a quoted value with
// its quotes). Appends at most 4 * text.size() + 3 bytes.
void AppendRedacted(std::string_view text, std::string* out);

}  // namespace resyncwatch::parsers_internal
