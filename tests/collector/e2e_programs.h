// The programs the collector's end-to-end tests run: the daemon and CLI under test (paths
// from CMake) and util-linux logger as a real client.
#pragma once

#include <string>

namespace resyncwatch::testing {

inline const std::string kDaemon = RESYNCWATCHD_PATH;
inline const std::string kCli = RESYNCWATCH_CLI_PATH;
inline const std::string kLogger = "/usr/bin/logger";

}  // namespace resyncwatch::testing
