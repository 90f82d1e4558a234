// Where the collector keeps its store unless told otherwise, and its query socket in it;
// shared by the daemon, the CLI and its front, so it lives apart from the RocksDB code.
#include <cstdlib>

#include "store/store.h"

namespace resyncwatch {

std::string DefaultStoreDir() {
  const char* env = std::getenv("RESYNCWATCH_DB");
  return env && *env ? env : "/var/lib/resyncwatch";
}

std::string QuerySocketPath(const std::string& store_dir) { return store_dir + "/query.sock"; }

}  // namespace resyncwatch
