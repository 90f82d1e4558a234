// `resyncwatch alerts`: the alerts the collector's rules raised, as kept in the store.
#include <string>
#include <vector>

#include "alerts/alerts.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/table.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "alerts",
    "resyncwatch alerts [--since T] [--active] [--json|--csv]",
    "Lists the alerts raised by resyncwatchd's rules (failure bursts and failure ratios\n"
    "for the fleet, a provisioning server, an error text or a model; devices failing\n"
    "again and again), newest first: when each started, whether it is still firing,\n"
    "its counts and a sample of the affected phones. --since keeps alerts started since T.",
    "  resyncwatch alerts --active                 # what is firing now\n"
    "  resyncwatch alerts --since 1d               # the last day's incidents\n"
    "  resyncwatch alerts --since 7d --json | jq -r 'select(.rule==\"server_failures\")'\n",
};

constexpr FlagSpec kActive = {"active", FlagType::kBool, "", "", "only alerts firing now"};

std::string MacList(const std::vector<MacAddress>& macs, size_t shown) {
  std::string out;
  for (size_t i = 0; i < macs.size() && i < shown; ++i) {
    if (i) out += ',';
    out += FormatMac(macs[i]);
  }
  if (macs.size() > shown) out += ",…";
  return out;
}

// Failures (of attempts) for the failure rules; for the schedule and silence rules, which
// count phones, the phones in the state (of the phones with a known state).
std::string Counts(const Alert& a) {
  if (a.failures == 0 && a.phones > 0) {
    std::string out = std::to_string(a.phones) + " phones";
    if (a.fleet_phones > 0) out += " of " + std::to_string(a.fleet_phones);
    return out;
  }
  if (a.attempts > 0) return std::to_string(a.failures) + "/" + std::to_string(a.attempts);
  return std::to_string(a.failures);
}

}  // namespace

int RunAlerts(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagJson | kFlagCsv | kFlagRange | kFlagUtc, {kActive}, io);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());

  bool active = cli.flags().GetBool("active");
  std::vector<AlertRecord> records;
  Status s = (*store)->ScanAlerts(cli.range(), active, [&](const AlertRecord& r) {
    records.push_back(r);
    return true;
  });
  if (!s.ok()) return cli.Fail("cannot read alerts: " + s.message());
  if (records.empty()) return cli.Nothing(active ? "no active alerts" : "no alerts");
  std::stable_sort(records.begin(), records.end(), [](const AlertRecord& a, const AlertRecord& b) {
    return a.started_us > b.started_us;
  });

  if (cli.json()) {
    for (const AlertRecord& r : records) std::fprintf(io.out, "%s\n", r.json.c_str());
    return kExitFound;
  }
  std::vector<Alert> alerts;
  for (const AlertRecord& r : records) {
    Result<Alert> a = AlertFromJson(r.json);
    if (!a.ok()) return cli.Fail("alert " + r.id + ": " + a.status().message());
    alerts.push_back(std::move(*a));
  }
  auto ended = [&](const Alert& a) {
    return a.state == Alert::State::kFiring ? std::string() : cli.TableTime(a.resolved_us);
  };
  if (cli.csv()) {
    WriteCsvRow(io.out, {"started", "state", "rule", "group_by", "group", "failures", "attempts",
                         "first", "last", "resolved", "last_error", "sample_macs", "id"});
    for (const Alert& a : alerts) {
      bool firing = a.state == Alert::State::kFiring;
      WriteCsvRow(io.out,
                  {cli.IsoTime(a.started_us), firing ? "firing" : "resolved", ToString(a.rule),
                   GroupByName(a.rule), a.group_value, std::to_string(a.failures),
                   std::to_string(a.attempts), cli.IsoTime(a.first_us), cli.IsoTime(a.last_us),
                   firing ? "" : cli.IsoTime(a.resolved_us), a.last_error,
                   MacList(a.sample_macs, a.sample_macs.size()), a.id});
    }
    return kExitFound;
  }
  Table table;
  table.AddColumn("STARTED");
  table.AddColumn("STATE");
  table.AddColumn("RULE");
  table.AddColumn("GROUP");
  table.AddColumn("COUNT", Table::Align::kRight);
  table.AddColumn("FOR", Table::Align::kRight);
  table.AddColumn("ENDED");
  table.AddColumn("LAST ERROR");
  table.AddColumn("PHONES");
  for (const Alert& a : alerts) {
    bool firing = a.state == Alert::State::kFiring;
    int64_t end = firing ? cli.now_us() : a.resolved_us;
    table.AddRow({{cli.TableTime(a.started_us), ""},
                  {firing ? "FIRING" : "resolved", firing ? ansi::kRed : ansi::kGreen},
                  {std::string(ToString(a.rule)), ""},
                  {a.group_value, ""},
                  {Counts(a), ""},
                  {FormatDurationHuman(std::max<int64_t>(0, end - a.started_us)), ""},
                  {ended(a), ""},
                  {a.last_error, ""},
                  {MacList(a.sample_macs, 3), ""}});
  }
  table.Print(io.out, io.color, 48);
  return kExitFound;
}

}  // namespace resyncwatch
