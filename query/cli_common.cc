#include "query/cli_common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/time_format.h"

namespace resyncwatch {
namespace {

constexpr FlagSpec kHelpFlag = {"help", FlagType::kBool, "", "", "show this help and exit"};
constexpr FlagSpec kDbFlag = {
    "db", FlagType::kString, "", "DIR",
    "store directory (default: $RESYNCWATCH_DB, else the one a collector runs on, else "
    "/var/lib/resyncwatch if it exists, else ~/.local/state/resyncwatch)"};
constexpr FlagSpec kClickHouseFlag = {
    "clickhouse", FlagType::kString, "", "URL",
    "read every collector's records from ClickHouse (http://ch1:8123) instead of --db"};
constexpr FlagSpec kClickHouseDbFlag = {"clickhouse-database", FlagType::kString, "resyncwatch",
                                        "NAME", "the ClickHouse database of --clickhouse"};
constexpr FlagSpec kSinceFlag = {"since", FlagType::kString, "", "T",
                                 "from this time: 2h, 7d, or an ISO-8601 time"};
constexpr FlagSpec kUntilFlag = {"until", FlagType::kString, "", "T",
                                 "up to this time (exclusive): 30m, or an ISO-8601 time"};
constexpr FlagSpec kNowFlag = {"now", FlagType::kString, "", "T",
                               "take T (ISO-8601) as the current time for relative times"};
constexpr FlagSpec kUtcFlag = {"utc", FlagType::kBool, "", "",
                               "print times in UTC, not local time"};
constexpr FlagSpec kJsonFlag = {"json", FlagType::kBool, "", "", "print JSON lines"};
constexpr FlagSpec kCsvFlag = {"csv", FlagType::kBool, "", "", "print CSV with a header row"};

}  // namespace

CommandIo ProcessCommandIo() {
  CommandIo io;
  io.out_is_tty = isatty(STDOUT_FILENO) == 1;
  const char* no_color = std::getenv("NO_COLOR");
  io.color = io.out_is_tty && (no_color == nullptr || no_color[0] == '\0');
  return io;
}

Cli::Cli(CommandHelp help, unsigned common, std::initializer_list<FlagSpec> own, CommandIo& io,
         std::span<const FlagSpec> shared)
    : help_(help), io_(io), flags_({}) {
  if (common & kFlagDb) specs_.push_back(kDbFlag);
  if (common & kFlagClickHouse) {
    specs_.push_back(kClickHouseFlag);
    specs_.push_back(kClickHouseDbFlag);
  }
  if (common & kFlagRange) {
    specs_.push_back(kSinceFlag);
    specs_.push_back(kUntilFlag);
    specs_.push_back(kNowFlag);
  }
  specs_.insert(specs_.end(), own.begin(), own.end());
  specs_.insert(specs_.end(), shared.begin(), shared.end());
  if (common & kFlagJson) specs_.push_back(kJsonFlag);
  if (common & kFlagCsv) specs_.push_back(kCsvFlag);
  if (common & kFlagUtc) specs_.push_back(kUtcFlag);
  specs_.push_back(kHelpFlag);
  flags_ = FlagSet(specs_);
}

std::optional<int> Cli::Parse(std::span<const std::string_view> args, size_t min_positional,
                              size_t max_positional) {
  if (Status s = flags_.Parse(args); !s.ok()) return Fail(s.message());
  if (flags_.GetBool("help")) {
    std::string text = flags_.Help(help_.usage, help_.description, help_.examples);
    std::fwrite(text.data(), 1, text.size(), io_.out);
    return kExitFound;
  }
  const auto& pos = flags_.positional();
  if (pos.size() < min_positional || pos.size() > max_positional) {
    if (pos.size() > max_positional) {
      return Fail("unexpected argument '" + pos[max_positional] +
                  "' (usage: " + std::string(help_.usage) + ")");
    }
    return Fail("missing argument (usage: " + std::string(help_.usage) + ")");
  }
  now_us_ = io_.clock->NowMicros();
  if (flags_.IsSet("now")) {
    std::optional<int64_t> now = ParseIso8601(flags_.GetString("now"));
    if (!now) return Fail("--now: '" + flags_.GetString("now") + "' is not an ISO-8601 time");
    now_us_ = *now;
  }
  for (const char* name : {"since", "until"}) {
    if (!flags_.IsSet(name)) continue;
    Result<int64_t> t = ParseTimeSpec(flags_.GetString(name), now_us_);
    if (!t.ok()) return Fail("--" + std::string(name) + ": " + t.status().message());
    (name[0] == 's' ? range_.since_us : range_.until_us) = *t;
  }
  if (range_.since_us >= range_.until_us) {
    return Fail("--since must be earlier than --until");
  }
  if (flags_.GetBool("json") && flags_.GetBool("csv")) {
    return Fail("--json and --csv exclude each other");
  }
  return std::nullopt;
}

int Cli::Fail(std::string_view message) {
  Warn(message);
  return kExitUsage;
}

int Cli::Nothing(std::string_view message) {
  std::fflush(io_.out);
  std::fprintf(io_.err, "%.*s\n", static_cast<int>(message.size()), message.data());
  return kExitNothing;
}

void Cli::Warn(std::string_view message) {
  std::fprintf(io_.err, "resyncwatch %.*s: %.*s\n", static_cast<int>(help_.name.size()),
               help_.name.data(), static_cast<int>(message.size()), message.data());
}

std::string Cli::StoreDir() const {
  return flags_.IsSet("db") ? flags_.GetString("db") : DefaultStoreDir();
}

bool Cli::clickhouse() const {
  for (const FlagSpec& spec : specs_) {
    if (spec.name == "clickhouse") return flags_.IsSet("clickhouse");
  }
  return false;
}

Result<std::unique_ptr<QueryClient>> Cli::ConnectToWriter() {
  return QueryClient::ConnectToWriter(StoreDir());
}

Result<MacAddress> Cli::ResolveDevice(const DeviceReader& store, std::string_view arg) {
  if (std::optional<MacAddress> mac = ParseMac(arg)) return *mac;
  Result<MacAddress> by_sn = store.MacForSerial(arg);
  if (by_sn.ok()) return *by_sn;
  if (!by_sn.status().IsNotFound()) return by_sn.status();
  return Status::InvalidArgument("'" + std::string(arg) +
                                 "' is neither a MAC address nor a known serial number");
}

std::string Cli::TableTime(int64_t unix_us) const {
  std::string iso = utc() ? FormatIso8601Utc(unix_us) : FormatIso8601Local(unix_us);
  // "2026-11-25T09:00:01.123456+01:00" -> "2026-11-25 09:00:01.123"
  std::string out = iso.substr(0, 23);
  if (out.size() > 10) out[10] = ' ';
  if (utc()) out += 'Z';
  return out;
}

std::string Cli::IsoTime(int64_t unix_us) const {
  return utc() ? FormatIso8601Utc(unix_us) : FormatIso8601Local(unix_us);
}

void AppendCsvField(std::string* out, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(value);
    return;
  }
  out->push_back('"');
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void WriteCsvRow(std::FILE* out, std::initializer_list<std::string_view> fields) {
  std::string line;
  bool first = true;
  for (std::string_view f : fields) {
    if (!first) line.push_back(',');
    first = false;
    AppendCsvField(&line, f);
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out);
}

Result<std::vector<bool>> ParseKindFilter(std::string_view text) {
  std::vector<bool> wanted(kEventKindCount, false);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view word = text.substr(0, comma);
    if (word == "resync") {
      for (EventKind k :
           {EventKind::kResyncRequest, EventKind::kResyncSuccess, EventKind::kResyncFailure}) {
        wanted[static_cast<int>(k)] = true;
      }
    } else if (word == "upgrade") {
      for (EventKind k :
           {EventKind::kUpgradeRequest, EventKind::kUpgradeSuccess, EventKind::kUpgradeFailure}) {
        wanted[static_cast<int>(k)] = true;
      }
    } else if (std::optional<EventKind> k = EventKindFromString(word)) {
      wanted[static_cast<int>(*k)] = true;
    } else {
      return Status::InvalidArgument(
          "--kind: '" + std::string(word) +
          "' is not a kind (resync_request, resync_success, resync_failure, upgrade_request, "
          "upgrade_success, upgrade_failure, debug, unknown, resync, upgrade)");
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return wanted;
}

}  // namespace resyncwatch
