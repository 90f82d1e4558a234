// gzip for the API's answers: the answers are JSON lines (application/x-ndjson), a type
// cpp-httplib 0.11 does not compress by itself (it compresses text/* only, which covers
// /metrics and the pages), so the API compresses with zlib when the client accepts it.
// Internal to web/. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace resyncwatch {

// Bodies shorter than this go as they are: gzip's header and a round trip cost more.
inline constexpr size_t kGzipMinBytes = 1024;

// True when an Accept-Encoding header value accepts gzip (a "gzip" or "*" token whose q is
// not 0).
bool AcceptsGzip(std::string_view accept_encoding);

// The gzip member (RFC 1952) of body, at zlib's default level.
std::string Gzip(std::string_view body);

}  // namespace resyncwatch
