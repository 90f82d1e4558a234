// Cli::OpenStore, apart from cli_common.cc: only the full CLI opens the store itself, and
// the static front (front_main.cc) must not pull RocksDB in.
#include <sys/stat.h>

#include <cstdlib>

#include "query/cli_common.h"

namespace resyncwatch {

Result<StoreHandle> Cli::OpenStore() {
  if (io_.store != nullptr) return StoreHandle(io_.store, StoreRelease{.owned = false});
  std::string dir = StoreDir();
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::string looked;
    const char* env = std::getenv("RESYNCWATCH_DB");
    if (!flags_.IsSet("db") && (env == nullptr || *env == '\0')) {
      for (const std::string& candidate : StoreDirCandidates()) {
        looked += (looked.empty() ? "" : ", ") + candidate;
      }
      looked = "; looked in " + looked;
    }
    return Status::NotFound("no store at " + dir + " (start resyncwatchd, or pass --db DIR" +
                            looked + ")");
  }
  StoreOptions options;
  options.mode = StoreOptions::Mode::kReadOnlyView;
  options.create_if_missing = false;
  options.clock = io_.clock;
  Result<std::unique_ptr<Store>> store = Store::Open(dir, options);
  if (!store.ok()) {
    return Status::IoError("cannot open the store at " + dir + ": " + store.status().message());
  }
  return StoreHandle(store->release());
}

}  // namespace resyncwatch
