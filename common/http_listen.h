// HttpListen: the address of resyncwatchd's HTTP server (--http-listen, --metrics-listen),
// parsed once here for the option checks and the server. "127.0.0.1:8080", "[::1]:8080",
// "0.0.0.0:8080", or a bare port "8080" (loopback). Port 0 asks for an ephemeral port.
// Plain values and pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace resyncwatch {

struct HttpListen {
  std::string host;  // numeric, without brackets
  int port = 0;
  // True for 127.0.0.0/8 and ::1: the only addresses served without credentials.
  bool IsLoopback() const;
};

// Parses text; errors name option (e.g. "--http-listen") and the value.
Result<HttpListen> ParseHttpListen(std::string_view text,
                                   std::string_view option = "--http-listen");

}  // namespace resyncwatch
