// CLI plumbing shared by the resyncwatch subcommands: the common flags (--db, --json,
// --csv, --since, --until, --utc, --help), parsing them with one clear error line, opening
// the store read-only, resolving a device argument and rendering times. Not thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/flags.h"
#include "common/status.h"
#include "parsers/parsers.h"
#include "query/command.h"
#include "query_socket/query_socket.h"
#include "store/store.h"

namespace resyncwatch {

// Which of the common flags a command takes (--help is always there).
enum CommonFlags : unsigned {
  kFlagDb = 1u << 0,     // --db DIR
  kFlagJson = 1u << 1,   // --json
  kFlagCsv = 1u << 2,    // --csv
  kFlagRange = 1u << 3,  // --since T, --until T, --now T
  kFlagUtc = 1u << 4,    // --utc
  // --clickhouse URL, --clickhouse-database NAME: read every collector's records from
  // ClickHouse instead of --db (OpenStore answers with a ClickHouse-backed Store).
  kFlagClickHouse = 1u << 5,
};

struct CommandHelp {
  std::string_view name;         // "history"
  std::string_view usage;        // "resyncwatch history <MAC|SN> [options]"
  std::string_view description;  // a few lines
  std::string_view examples;     // one example per line, with a short comment
};

// The store a command reads: opened by it (and closed with the handle), or CommandIo::store
// lent by the daemon (left open).
struct StoreRelease {
  bool owned = true;
  void operator()(DeviceReader* store) const {
    if (owned) delete store;
  }
};
using StoreHandle = std::unique_ptr<Store, StoreRelease>;
using DeviceReaderHandle = std::unique_ptr<DeviceReader, StoreRelease>;

// One invocation of a subcommand: its flags, its error reporting, its store.
class Cli {
 public:
  // own: the command's own options, listed after the common ones in --help.
  // shared: a table of options several commands take (after own, in --help too).
  Cli(CommandHelp help, unsigned common, std::initializer_list<FlagSpec> own, CommandIo& io,
      std::span<const FlagSpec> shared = {});

  // Parses args. Returns an exit code when the command must stop now (--help printed: 0;
  // a usage error printed as one line: 2), std::nullopt to go on.
  // max_positional: how many positional arguments the command takes (min_positional..max).
  std::optional<int> Parse(std::span<const std::string_view> args, size_t min_positional = 0,
                           size_t max_positional = 0);

  const FlagSet& flags() const { return flags_; }
  const std::vector<std::string>& positional() const { return flags_.positional(); }
  bool json() const { return flags_.GetBool("json"); }
  bool csv() const { return flags_.GetBool("csv"); }
  bool utc() const { return flags_.GetBool("utc"); }
  CommandIo& io() { return io_; }
  int64_t now_us() const { return now_us_; }

  // --since/--until as a half-open range; both relative to the same "now".
  const TimeRange& range() const { return range_; }

  // Prints "resyncwatch <name>: <message>" on io.err; returns kExitUsage.
  int Fail(std::string_view message);
  int Fail(const Status& status) { return Fail(status.message()); }
  // Prints the one line that says the result is empty on io.err; returns kExitNothing.
  int Nothing(std::string_view message);

  // Opens --db read-only as a secondary and catches up with the writer (or lends
  // CommandIo::store when set). A missing store is an error that names the directory.
  // With --clickhouse, the ClickHouse tables instead (user and password from
  // $RESYNCWATCH_CLICKHOUSE_USER and $RESYNCWATCH_CLICKHOUSE_PASSWORD).
  Result<StoreHandle> OpenStore();
  // What one device's history reads, from ClickHouse with --clickhouse, else from the local
  // store opened for that alone (Store::OpenDeviceReader, faster than OpenStore).
  Result<DeviceReaderHandle> OpenDeviceReader();
  // The local parts, apart so that the front can read a store without the ClickHouse
  // client: --db (or CommandIo::store), never ClickHouse.
  Result<StoreHandle> OpenLocalStore();
  Result<DeviceReaderHandle> OpenLocalDeviceReader();
  // A client of the collector serving --db on its query socket. NotFound when no
  // collector serves it: open the store instead.
  Result<std::unique_ptr<QueryClient>> ConnectToWriter();
  // --clickhouse was given: the answer comes from ClickHouse, not a local store.
  bool clickhouse() const;
  // Prints "resyncwatch <name>: <message>" on io.err and goes on.
  void Warn(std::string_view message);

  // A MAC in any spelling, or a serial number known to the store. Anything else is an
  // InvalidArgument naming the text.
  static Result<MacAddress> ResolveDevice(const DeviceReader& store, std::string_view arg);

  // "2026-11-25 09:00:01.123" in local time, or "2026-11-25 08:00:01.123Z" with --utc.
  std::string TableTime(int64_t unix_us) const;
  // Full ISO-8601 with microseconds: UTC with --utc, else local with its offset.
  std::string IsoTime(int64_t unix_us) const;

 private:
  std::string StoreDir() const;
  // --db's directory when it is one, else the NotFound that says where it looked.
  Result<std::string> ExistingStoreDir() const;

  CommandHelp help_;
  CommandIo& io_;
  std::vector<FlagSpec> specs_;
  FlagSet flags_;
  int64_t now_us_ = 0;
  TimeRange range_;
};

// Appends value as one CSV field (RFC 4180 quoting when needed), without separator.
void AppendCsvField(std::string* out, std::string_view value);
// Writes a CSV record (fields joined by ',', terminated by '\n') to out.
void WriteCsvRow(std::FILE* out, std::initializer_list<std::string_view> fields);

// Parses a comma-separated list of event kind names ("resync_failure,upgrade_failure");
// also "resync" / "upgrade" for all three kinds of the family. Errors name the bad word.
Result<std::vector<bool>> ParseKindFilter(std::string_view text);

// The message templates of the "templates" section of a config file; the defaults when
// path is empty. Errors name the file and what is wrong in it.
Result<TemplateSet> LoadTemplates(const std::string& path);

// The ANSI colour codes used by tables and charts (empty when colour is off).
namespace ansi {
constexpr std::string_view kReset = "\x1b[0m";
constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kDim = "\x1b[2m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kGreen = "\x1b[32m";
constexpr std::string_view kYellow = "\x1b[33m";
constexpr std::string_view kCyan = "\x1b[36m";
}  // namespace ansi

}  // namespace resyncwatch
