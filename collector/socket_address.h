// The socket address a --listen URL binds to, shared by the UDP and TCP inputs.
// Pure function of its argument; thread-safe.
#pragma once

#include <sys/socket.h>

#include "collector/config.h"
#include "common/status.h"

namespace resyncwatch {

// Fills *out with the numeric IPv4 or IPv6 address and port of address and sets *is_v6.
// An address libuv cannot read is an error naming the --listen URL.
Status ListenSocketAddress(const ListenAddress& address, sockaddr_storage* out, bool* is_v6);

}  // namespace resyncwatch
