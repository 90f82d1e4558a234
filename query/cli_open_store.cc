// Cli::OpenStore, apart from cli_common.cc: only the full CLI opens the store itself, and
// the static front (front_main.cc) must not pull RocksDB in.
#include <sys/stat.h>

#include <cstdlib>

#include "clickhouse/clickhouse.h"
#include "query/cli_common.h"

namespace resyncwatch {

namespace {

Result<StoreHandle> OpenClickHouse(const FlagSet& flags) {
  ClickHouseOptions options;
  options.url = flags.GetString("clickhouse");
  options.database = flags.GetString("clickhouse-database");
  if (const char* user = std::getenv("RESYNCWATCH_CLICKHOUSE_USER")) options.user = user;
  if (const char* ca = std::getenv("RESYNCWATCH_CLICKHOUSE_CA_FILE")) options.ca_file = ca;
  if (const char* password = std::getenv("RESYNCWATCH_CLICKHOUSE_PASSWORD")) {
    options.password = password;
  }
  Result<std::unique_ptr<Store>> store = OpenClickHouseStore(options);
  if (!store.ok()) return store.status();
  return StoreHandle(store->release());
}

}  // namespace

Result<StoreHandle> Cli::OpenStore() {
  if (clickhouse()) {
    if (flags_.IsSet("db"))
      return Status::InvalidArgument("--db and --clickhouse exclude each other");
    return OpenClickHouse(flags_);
  }
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
