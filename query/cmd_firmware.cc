// `resyncwatch firmware`: the firmware each phone last installed (from its latest
// successful upgrade message) and how its latest upgrade attempt ended.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/table.h"
#include "query/upgrade_state.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "firmware",
    "resyncwatch firmware [--model M] [--not VERSION] [options]",
    "Lists every phone the store knows with the firmware its latest successful upgrade\n"
    "installed (the $ERR of \"Successful upgrade\", else the file name of its URL), when,\n"
    "and how its latest upgrade attempt ended (success, failure, requested: no outcome).\n"
    "A phone never seen upgrading has no firmware. Then the phones per firmware per model.\n"
    "Only upgrade messages are read. Default range: all time; --since/--until limit the\n"
    "upgrade messages considered.",
    "  resyncwatch firmware                                  # the whole fleet\n"
    "  resyncwatch firmware --model CP-8851-3PCC --json      # JSON lines\n"
    "  resyncwatch firmware --not sip88xx.12-0-1MPP-14.loads # phones still to upgrade\n",
};

constexpr FlagSpec kModel = {"model", FlagType::kString, "", "M",
                             "only this model (case-insensitive, e.g. CP-8851-3PCC)"};
constexpr FlagSpec kNot = {"not", FlagType::kString, "", "VERSION",
                           "only phones whose firmware is not VERSION (unknown counts as not)"};

using UpgradeMap = std::unordered_map<MacAddress, UpgradeState>;

struct Row {
  MacAddress mac = 0;
  std::string model;
  UpgradeState upgrade;
  bool known() const { return upgrade.upgraded && !upgrade.firmware.empty(); }
};

bool SameModel(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// The upgrade messages of range, scanned in parallel time slices within [first, last]
// (the span of every device's events) and merged per phone.
Status ScanUpgrades(const Store& store, TimeRange range, int64_t first_us, int64_t last_us,
                    UpgradeMap* out) {
  int slices = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  int64_t since = std::max(range.since_us, first_us);
  int64_t end = std::min(range.until_us, last_us + 1);
  if (end <= since) return Status::Ok();
  int64_t step = std::max<int64_t>(1, (end - since) / slices);
  std::vector<UpgradeMap> parts(slices);
  std::vector<Status> status(slices);
  auto scan = [&](int i) {
    TimeRange slice{i == 0 ? range.since_us : since + i * step,
                    i + 1 == slices ? range.until_us : since + (i + 1) * step};
    status[i] = store.ScanKinds(slice, kUpgradeKindMask, [&](const Event& e) {
      if (e.mac != 0) ApplyUpgradeEvent(e, &parts[i][e.mac]);
      return true;
    });
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < slices; ++i) workers.emplace_back(scan, i);
  scan(0);
  for (std::thread& t : workers) t.join();
  for (int i = 0; i < slices; ++i) {
    if (!status[i].ok()) return status[i];
    for (auto& [mac, state] : parts[i]) MergeUpgradeState(state, &(*out)[mac]);
  }
  return Status::Ok();
}

// Every phone of the store (model-filtered), with its upgrade state.
Status CollectRows(const Store& store, TimeRange range, std::string_view model,
                   std::vector<Row>* rows) {
  int64_t first = INT64_MAX, last = INT64_MIN;
  Status s = store.ForEachDevice([&](const DeviceSummary& d) {
    if (!model.empty() && !SameModel(model, d.model)) return true;
    rows->push_back({d.mac, d.model, {}});
    first = std::min(first, d.first_seen_us);
    last = std::max(last, d.last_seen_us);
    return true;
  });
  if (!s.ok() || rows->empty()) return s;
  UpgradeMap upgrades;
  s = ScanUpgrades(store, range, first, last, &upgrades);
  if (!s.ok()) return s;
  for (Row& r : *rows) {
    auto it = upgrades.find(r.mac);
    if (it != upgrades.end()) r.upgrade = std::move(it->second);
  }
  return Status::Ok();
}

void PrintJson(std::FILE* out, const std::vector<Row>& rows) {
  JsonWriter w;
  for (const Row& r : rows) {
    w.Begin();
    w.String("mac", FormatMac(r.mac));
    w.String("model", r.model);
    if (r.known()) {
      w.String("firmware", r.upgrade.firmware);
    } else {
      w.Null("firmware");
    }
    if (r.upgrade.upgraded) {
      w.String("upgraded_at", FormatIso8601Utc(r.upgrade.upgraded_us));
    } else {
      w.Null("upgraded_at");
    }
    std::string_view last = LastUpgradeText(r.upgrade);
    w.OptionalString("last_upgrade",
                     last.empty() ? std::nullopt : std::optional<std::string_view>(last));
    w.End();
    std::fprintf(out, "%s\n", w.str().c_str());
  }
}

void PrintTable(const Cli& cli, std::FILE* out, bool color, const std::vector<Row>& rows) {
  Table t;
  t.AddColumn("MAC");
  t.AddColumn("MODEL");
  t.AddColumn("FIRMWARE");
  t.AddColumn("UPGRADED");
  t.AddColumn("LAST UPGRADE");
  std::map<std::pair<std::string, std::string>, int64_t> per_model;
  for (const Row& r : rows) {
    std::string firmware = r.known() ? r.upgrade.firmware : "unknown";
    std::string_view last = LastUpgradeText(r.upgrade);
    t.AddRow({{FormatMac(r.mac), {}},
              {r.model, {}},
              {firmware, r.known() ? std::string_view() : ansi::kDim},
              {r.upgrade.upgraded ? cli.TableTime(r.upgrade.upgraded_us) : "-", {}},
              {last.empty() ? "-" : std::string(last), last == "failure" ? ansi::kRed : ""}});
    ++per_model[{r.model, firmware}];
  }
  t.Print(out, color, 60);
  std::fprintf(out, "\n%zu phones\n", rows.size());
  Table summary;
  summary.AddColumn("MODEL");
  summary.AddColumn("FIRMWARE");
  summary.AddColumn("PHONES", Table::Align::kRight);
  for (const auto& [key, n] : per_model) {
    summary.AddRow({{key.first, {}}, {key.second, {}}, {std::to_string(n), {}}});
  }
  summary.Print(out, color, 60);
}

}  // namespace

int RunFirmware(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagJson | kFlagRange | kFlagUtc, {kModel, kNot}, io);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  Result<std::unique_ptr<Store>> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());
  std::vector<Row> rows;
  Status s = CollectRows(**store, cli.range(), cli.flags().GetString("model"), &rows);
  if (!s.ok()) return cli.Fail("cannot read events: " + s.message());
  if (cli.flags().IsSet("not")) {
    std::string version = cli.flags().GetString("not");
    std::erase_if(rows, [&](const Row& r) { return r.known() && r.upgrade.firmware == version; });
  }
  if (rows.empty()) return cli.Nothing("no phones match");
  if (cli.json()) {
    PrintJson(io.out, rows);
  } else {
    PrintTable(cli, io.out, io.color, rows);
  }
  return kExitFound;
}

}  // namespace resyncwatch
