// Cli::OpenLocalStore and OpenLocalDeviceReader: the store read-only, for the full CLI and
// the front alike.
#include <sys/stat.h>

#include <cstdlib>

#include "query/cli_common.h"

namespace resyncwatch {

namespace {

StoreOptions OneShotView(const Clock* clock) {
  StoreOptions options;
  options.mode = StoreOptions::Mode::kReadOnlyView;
  options.create_if_missing = false;
  options.clock = clock;
  return options;
}

Status CannotOpen(const std::string& dir, const Status& why) {
  return Status::IoError("cannot open the store at " + dir + ": " + why.message());
}

}  // namespace

Result<std::string> Cli::ExistingStoreDir() const {
  std::string dir = StoreDir();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  std::string looked;
  const char* env = std::getenv("RESYNCWATCH_DB");
  if (!flags_.IsSet("db") && (env == nullptr || *env == '\0')) {
    for (const std::string& candidate : StoreDirCandidates()) {
      looked += (looked.empty() ? "" : ", ") + candidate;
    }
    looked = "; looked in " + looked;
  }
  return Status::NotFound("no store at " + dir + " (start resyncwatchd, or pass --db DIR" + looked +
                          ")");
}

Result<StoreHandle> Cli::OpenLocalStore() {
  if (io_.store != nullptr) return StoreHandle(io_.store, StoreRelease{.owned = false});
  Result<std::string> dir = ExistingStoreDir();
  if (!dir.ok()) return dir.status();
  Result<std::unique_ptr<Store>> store = Store::Open(*dir, OneShotView(io_.clock));
  if (!store.ok()) return CannotOpen(*dir, store.status());
  return StoreHandle(store->release());
}

Result<DeviceReaderHandle> Cli::OpenLocalDeviceReader() {
  if (io_.store != nullptr) return DeviceReaderHandle(io_.store, StoreRelease{.owned = false});
  Result<std::string> dir = ExistingStoreDir();
  if (!dir.ok()) return dir.status();
  Result<std::unique_ptr<DeviceReader>> store =
      Store::OpenDeviceReader(*dir, OneShotView(io_.clock));
  if (!store.ok()) return CannotOpen(*dir, store.status());
  return DeviceReaderHandle(store->release());
}

}  // namespace resyncwatch
