// `resyncwatch devices`: one line per device, from the per-device summaries.
#include <algorithm>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/table.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "devices",
    "resyncwatch devices [MAC|SN ...] [--failing] [--model M] [--since T] [--json|--csv]",
    "Lists every device the collector has seen, one line each, from its summary: model,\n"
    "serial, last address, when it was last seen, its last resync outcome, consecutive\n"
    "failure messages and its last error. --since keeps devices seen since T. With MAC\n"
    "addresses (any spelling) or serial numbers, only those devices, in the order given.",
    "  resyncwatch devices                         # the whole fleet\n"
    "  resyncwatch devices 00:0E:08:AB:CD:EF       # one phone's summary\n"
    "  resyncwatch devices --failing               # devices whose last attempt failed\n"
    "  resyncwatch devices --model CP-8851-3PCC --since 1d\n"
    "  resyncwatch devices --failing --json | jq -r .mac\n",
};

constexpr FlagSpec kFailing = {"failing", FlagType::kBool, "", "",
                               "only devices whose last resync or upgrade failed"};
constexpr FlagSpec kModel = {"model", FlagType::kString, "", "M",
                             "only this model (case-insensitive, e.g. CP-8851-3PCC)"};

// Devices named on one command line; more is a job for the unnamed listing and a filter.
constexpr size_t kMaxNamedDevices = 10000;

bool Failing(const DeviceSummary& d) {
  return d.last_kind == EventKind::kResyncFailure || d.last_kind == EventKind::kUpgradeFailure;
}

bool SameModel(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string_view LastOutcome(const DeviceSummary& d) {
  return d.last_kind == EventKind::kUnknown ? std::string_view() : ToString(d.last_kind);
}

// Whether the flags keep d.
bool Selected(const DeviceSummary& d, const Cli& cli) {
  const std::string model = cli.flags().GetString("model");
  const TimeRange& range = cli.range();
  if (cli.flags().GetBool("failing") && !Failing(d)) return false;
  if (!model.empty() && !SameModel(model, d.model)) return false;
  return d.last_seen_us >= range.since_us && d.first_seen_us < range.until_us;
}

// The devices named on the command line (a MAC in any spelling, or a serial number), in
// that order, each once, that the flags keep: one summary read each, not the fleet's.
Result<std::vector<DeviceSummary>> NamedDevices(const Store& store, const Cli& cli) {
  std::vector<DeviceSummary> devices;
  std::vector<MacAddress> seen;
  for (const std::string& arg : cli.positional()) {
    Result<MacAddress> mac = Cli::ResolveDevice(store, arg);
    if (!mac.ok()) return mac.status();
    if (std::find(seen.begin(), seen.end(), *mac) != seen.end()) continue;
    seen.push_back(*mac);
    Result<DeviceSummary> d = store.GetDevice(*mac);
    if (!d.ok() && d.status().IsNotFound()) continue;
    if (!d.ok()) return d.status();
    if (Selected(*d, cli)) devices.push_back(std::move(*d));
  }
  return devices;
}

// The devices the flags select, in the store's (MAC) order, or those named.
Result<std::vector<DeviceSummary>> SelectDevices(const Store& store, const Cli& cli) {
  if (!cli.positional().empty()) return NamedDevices(store, cli);
  std::vector<DeviceSummary> devices;
  Status s = store.ForEachDevice([&](const DeviceSummary& d) {
    if (Selected(d, cli)) devices.push_back(d);
    return true;
  });
  if (!s.ok()) return s;
  return devices;
}

void PrintDevicesJson(const std::vector<DeviceSummary>& devices, CommandIo& io) {
  JsonWriter w;
  for (const DeviceSummary& d : devices) {
    w.Begin();
    w.String("mac", FormatMac(d.mac));
    w.String("sn", d.sn);
    w.String("model", d.model);
    w.String("last_ip", d.last_ip);
    auto time = [&](std::string_view key, int64_t us) {
      if (us == 0) {
        w.Null(key);
      } else {
        w.String(key, FormatIso8601Utc(us));
      }
    };
    time("first_seen", d.first_seen_us);
    time("last_seen", d.last_seen_us);
    time("last_request", d.last_request_us);
    time("last_success", d.last_success_us);
    time("last_failure", d.last_failure_us);
    w.String("last_kind", ToString(d.last_kind));
    w.Bool("failing", Failing(d));
    w.Int("consecutive_failures", d.consecutive_failures);
    w.String("last_error", d.last_error);
    w.String("last_url", d.last_url);
    w.Int("requests", static_cast<int64_t>(d.requests));
    w.Int("successes", static_cast<int64_t>(d.successes));
    w.Int("failures", static_cast<int64_t>(d.failures));
    w.Int("events", static_cast<int64_t>(d.events));
    w.End();
    std::fprintf(io.out, "%s\n", w.str().c_str());
  }
}

void PrintDevicesCsv(const Cli& cli, const std::vector<DeviceSummary>& devices, CommandIo& io) {
  WriteCsvRow(io.out,
              {"mac", "sn", "model", "last_ip", "last_seen", "last_kind", "consecutive_failures",
               "requests", "successes", "failures", "last_success", "last_error", "last_url"});
  for (const DeviceSummary& d : devices) {
    WriteCsvRow(io.out, {FormatMac(d.mac), d.sn, d.model, d.last_ip,
                         d.last_seen_us ? cli.IsoTime(d.last_seen_us) : "", LastOutcome(d),
                         std::to_string(d.consecutive_failures), std::to_string(d.requests),
                         std::to_string(d.successes), std::to_string(d.failures),
                         d.last_success_us ? cli.IsoTime(d.last_success_us) : "", d.last_error,
                         d.last_url});
  }
}

void PrintDevicesTable(const Cli& cli, const std::vector<DeviceSummary>& devices, CommandIo& io) {
  auto time_or_blank = [&](int64_t us) { return us == 0 ? std::string() : cli.TableTime(us); };
  Table table;
  for (const char* column : {"MAC", "SN", "MODEL", "LAST IP", "LAST SEEN", "LAST"}) {
    table.AddColumn(column);
  }
  for (const char* column : {"FAILS", "REQ", "OK", "FAIL"}) {
    table.AddColumn(column, Table::Align::kRight);
  }
  table.AddColumn("LAST SUCCESS");
  table.AddColumn("LAST ERROR");
  for (const DeviceSummary& d : devices) {
    bool bad = Failing(d);
    table.AddRow({{FormatMac(d.mac), {}},
                  {d.sn, {}},
                  {d.model, {}},
                  {d.last_ip, {}},
                  {time_or_blank(d.last_seen_us), {}},
                  {std::string(LastOutcome(d)), bad ? ansi::kRed : ansi::kGreen},
                  {std::to_string(d.consecutive_failures), bad ? ansi::kRed : std::string_view()},
                  {std::to_string(d.requests), {}},
                  {std::to_string(d.successes), {}},
                  {std::to_string(d.failures), {}},
                  {time_or_blank(d.last_success_us), {}},
                  {d.last_error, bad ? ansi::kRed : ansi::kDim}});
  }
  table.Print(io.out, io.color, 60);
}

}  // namespace

int RunDevices(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagClickHouse | kFlagJson | kFlagCsv | kFlagRange | kFlagUtc,
          {kFailing, kModel}, io);
  if (std::optional<int> code = cli.Parse(args, 0, kMaxNamedDevices)) return *code;
  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());
  Result<std::vector<DeviceSummary>> devices = SelectDevices(**store, cli);
  if (!devices.ok() && devices.status().code() == Status::Code::kInvalidArgument) {
    return cli.Fail(devices.status());
  }
  if (!devices.ok()) return cli.Fail("cannot read devices: " + devices.status().message());
  if (devices->empty()) return cli.Nothing("no devices match");
  if (cli.json()) {
    PrintDevicesJson(*devices, io);
  } else if (cli.csv()) {
    PrintDevicesCsv(cli, *devices, io);
  } else {
    PrintDevicesTable(cli, *devices, io);
  }
  return kExitFound;
}

}  // namespace resyncwatch
