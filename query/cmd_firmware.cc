// `resyncwatch firmware`: the firmware each phone last installed (from its latest
// successful upgrade message) and how its latest upgrade attempt ended.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/firmware.h"
#include "query/table.h"

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

void PrintJson(std::FILE* out, const std::vector<PhoneFirmware>& rows) {
  JsonWriter w;
  for (const PhoneFirmware& r : rows) {
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

void PrintTable(const Cli& cli, std::FILE* out, bool color,
                const std::vector<PhoneFirmware>& rows) {
  Table t;
  t.AddColumn("MAC");
  t.AddColumn("MODEL");
  t.AddColumn("FIRMWARE");
  t.AddColumn("UPGRADED");
  t.AddColumn("LAST UPGRADE");
  std::map<std::pair<std::string, std::string>, int64_t> per_model;
  for (const PhoneFirmware& r : rows) {
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
  Cli cli(kHelp, kFlagDb | kFlagClickHouse | kFlagJson | kFlagRange | kFlagUtc, {kModel, kNot}, io);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());
  std::vector<PhoneFirmware> rows;
  Status s = CollectFirmware(**store, cli.range(), cli.flags().GetString("model"), &rows);
  if (!s.ok()) return cli.Fail("cannot read events: " + s.message());
  if (cli.flags().IsSet("not")) {
    std::string version = cli.flags().GetString("not");
    std::erase_if(
        rows, [&](const PhoneFirmware& r) { return r.known() && r.upgrade.firmware == version; });
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
