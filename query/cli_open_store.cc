// Cli::OpenStore, apart from cli_common.cc: only the full CLI reads ClickHouse, and the
// front (front_main.cc) must not pull the ClickHouse client and OpenSSL in.
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
  return OpenLocalStore();
}

Result<DeviceReaderHandle> Cli::OpenDeviceReader() {
  if (!clickhouse()) return OpenLocalDeviceReader();
  Result<StoreHandle> store = OpenStore();
  if (!store.ok()) return store.status();
  return DeviceReaderHandle(std::move(*store));
}

}  // namespace resyncwatch
