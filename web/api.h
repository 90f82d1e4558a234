// The JSON API: one GET endpoint per CLI command, answering exactly what the command prints
// with --json (JSON lines: one object per line, or nothing when the command found nothing).
// The command runs in memory (CommandIo with memory streams) against the daemon's store;
// only the query parameters listed in the route table reach it, each as one --flag=value,
// and path or search text goes after "--", so no request can pass --db or any other flag.
// Internal to web/. Thread-safe: each call builds its own command invocation.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace resyncwatch {

class Store;
class FleetRollup;
class WallPrecompute;

struct ApiRequest {
  std::string path;                                // "/api/devices/0012.34ab.45de/history"
  std::multimap<std::string, std::string> params;  // decoded query parameters
};

struct ApiReply {
  int status = 200;          // 200, 400 (bad parameter or value), 404 (no such endpoint)
  std::string body;          // JSON lines, or {"error": "..."} on 4xx
  std::string nothing;       // with 200 and an empty body: the command's "nothing found" line
  bool precomputed = false;  // served by the wall precompute (web/wall_precompute.h)
  std::string as_of{};       // precomputed as of this time, not for a now= (X-Resyncwatch-As-Of)
  // The body gzipped ahead (web/gzip.h), for clients that accept it; null: made on demand.
  std::shared_ptr<const std::string> gzip{};
};

struct ApiContext {
  Store* store = nullptr;   // the daemon's; not owned
  std::string config_path;  // the daemon's --config, for the commands that read it
  const FleetRollup* fleet_rollup = nullptr;  // /api/fleet answers from it when it can
  // /api/schedule/fleet?now=<its ready minute> (that parameter alone) and /api/firmware
  // (no parameter, while its result is at most a minute old) answer from it.
  const WallPrecompute* wall_precompute = nullptr;
};

// Answers one /api/... request.
ApiReply HandleApi(const ApiContext& context, const ApiRequest& request);

// One line per endpoint ("/api/fleet  fleet --json  [since until now by top]"), for the
// README and GET /api.
std::string DescribeApi();

}  // namespace resyncwatch
