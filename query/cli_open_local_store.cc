// Cli::OpenLocalStore: the store read-only, for the full CLI and the front alike.
#include <sys/stat.h>

#include <cstdlib>

#include "query/cli_common.h"

namespace resyncwatch {

Result<StoreHandle> Cli::OpenLocalStore(bool device_history_only) {
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
  options.device_history_only = device_history_only;
  Result<std::unique_ptr<Store>> store = Store::Open(dir, options);
  if (!store.ok()) {
    return Status::IoError("cannot open the store at " + dir + ": " + store.status().message());
  }
  return StoreHandle(store->release());
}

}  // namespace resyncwatch
