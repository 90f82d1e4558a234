// `--follow` for `history` and `grep`: asks the collector serving --db for the events it
// stores from now on (query_socket.h) and prints each as it arrives, until Ctrl-C
// (SIGINT/SIGTERM: exit 0), a --limit, or the collector ends the stream (cut off because
// this reader fell behind, or the collector stops: one line, exit 2). Without a running
// collector it says so in one line (exit 2): following needs the collector. Not
// thread-safe; installs SIGINT/SIGTERM handlers for the duration of the follow.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "query/cli_common.h"
#include "query_socket/query_socket.h"

namespace resyncwatch {

// The --follow flags history and grep share (pass to Cli as `shared`).
std::span<const FlagSpec> FollowFlags();

// Appends text to *out with control characters (escapes, newlines) as spaces: network
// text is shown on one line and never drives the terminal.
void AppendOneLine(std::string* out, std::string_view text);

struct FollowRequest {
  FollowFilter filter;
  std::string what;   // "00:0e:08:ab:cd:ef", "'http_get failed'": for the one stderr line
  int64_t limit = 0;  // stop after this many events (0: no limit)
  // Renders one event as the line(s) to print (with its newline).
  std::function<void(const Event&, std::string*)> render;
};

// Runs the follow: the exit code. The filter's device must already be resolved (see
// ConnectForFollow).
int RunFollow(Cli& cli, QueryClient& client, FollowRequest& request);

// The client of the collector for a follow, or the exit code after one line on stderr
// when there is none.
Result<std::unique_ptr<QueryClient>> ConnectForFollow(Cli& cli);

// The default one-line text rendering of an event while following.
void RenderFollowLine(const Cli& cli, const Event& e, std::string* out);

}  // namespace resyncwatch
