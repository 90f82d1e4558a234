// `resyncwatch recovery`: after a provisioning-server outage, the phones whose last resync
// attempt failed, when each will retry by itself (the same analysis as `schedule --fleet`)
// and the URL that forces a resync now.
#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/recovery_view.h"
#include "query/schedule_cli.h"
#include "query/table.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "recovery",
    "resyncwatch recovery [--server HOST] [options]",
    "After a provisioning-server outage: every phone whose last resync attempt failed, its\n"
    "server, its back-off step (failures in a row), when it will retry by itself (as\n"
    "`schedule --fleet` computes it; none when retries are disabled), its address and the\n"
    "URL that forces a resync now. The table puts the phones that come back last first;\n"
    "then how many will have retried within 10 min, 1 h, 6 h, 24 h, and never.\n"
    "Default range: the last 2 days.",
    "  resyncwatch recovery                                # every failing phone\n"
    "  resyncwatch recovery --server 10.23.45.67 --json    # JSON lines, then a summary\n"
    "  resyncwatch recovery --json | jq -r 'select(.type==\"phone\") | .force_url'\n",
};

constexpr FlagSpec kServer = {"server", FlagType::kString, "", "HOST",
                              "only phones whose latest URL names this server"};

constexpr uint32_t kFailureKindMask = 1u << static_cast<unsigned>(EventKind::kResyncFailure) |
                                      1u << static_cast<unsigned>(EventKind::kUpgradeFailure);

struct Row {
  MacAddress mac = 0;
  std::string model;
  int backoff_step = 0;
  std::optional<int64_t> next_due_us;
  std::string server;
  std::string source_ip;  // the summary's last_ip: source of the latest datagram
  std::string host;       // host field of the latest failure message
  std::string ip;         // the phone's address; "" when not known
  int64_t last_failure_us = 0;
};

Status CollectFailing(Cli& cli, const Store& store, std::vector<Row>* rows) {
  using namespace schedule_cli;
  Result<AnalysisOptions> options = OptionsFromFlags(cli.flags());
  if (!options.ok()) return options.status();
  Result<ScheduleConfigSet> configs = LoadConfig(cli.flags().GetString("config"));
  if (!configs.ok()) return configs.status();
  TimeRange range = cli.range();
  if (!cli.flags().IsSet("since")) range.since_us = cli.now_us() - 2 * 86400 * kMicrosPerSecond;
  range.until_us = std::min(range.until_us, cli.now_us() + 1);
  return AnalyzeFleet(store, *configs, range, cli.now_us(), *options, [&](const FleetDevice& d) {
    if (d.analysis.last_outcome != Outcome::kFailure) return;
    rows->push_back({.mac = d.mac,
                     .model = d.model,
                     .backoff_step = d.analysis.backoff_step,
                     .next_due_us = d.analysis.next_due_us});
  });
}

std::string BareHost(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1);
  std::string out(host.substr(0, host.find(']')));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Server and source address from the device summaries; drops rows of other servers.
Status AttachSummaries(const Store& store, const std::string& only_server, std::vector<Row>* rows) {
  std::unordered_map<MacAddress, Row*> by_mac;
  for (Row& r : *rows) by_mac[r.mac] = &r;
  Status s = store.ForEachDevice([&](const DeviceSummary& d) {
    auto it = by_mac.find(d.mac);
    if (it == by_mac.end()) return true;
    Row& r = *it->second;
    r.server = UrlHost(d.last_url);
    r.source_ip = d.last_ip;
    r.last_failure_us = d.last_failure_us;
    return true;
  });
  if (!s.ok() || only_server.empty()) return s;
  std::erase_if(*rows, [&](const Row& r) { return BareHost(r.server) != only_server; });
  return Status::Ok();
}

// The phone's address, from its latest failure message: a host field is written by a relay
// or an archive (phones send none), and names the phone when it is an address (else it is
// the relay's own name, and the source is the relay's too); without one the message came
// from the phone itself, whose source address the summary keeps.
Status AttachAddresses(const Store& store, int64_t until_us, std::vector<Row>* rows) {
  std::unordered_map<MacAddress, Row*> by_mac;
  int64_t since = INT64_MAX;
  for (Row& r : *rows) {
    by_mac[r.mac] = &r;
    since = std::min(since, r.last_failure_us);
  }
  if (rows->empty()) return Status::Ok();
  Status s = store.ScanKinds({since, until_us}, kFailureKindMask, [&](const Event& e) {
    auto it = by_mac.find(e.mac);
    if (it != by_mac.end()) it->second->host = e.host;
    return true;
  });
  if (!s.ok()) return s;
  for (Row& r : *rows) {
    const std::string& address = r.host.empty() ? r.source_ip : r.host;
    if (IsIpAddress(address)) r.ip = address;
  }
  return Status::Ok();
}

void SortLastBackFirst(std::vector<Row>* rows) {
  std::sort(rows->begin(), rows->end(), [](const Row& a, const Row& b) {
    int64_t ka = a.next_due_us.value_or(INT64_MAX), kb = b.next_due_us.value_or(INT64_MAX);
    return ka != kb ? ka > kb : a.mac < b.mac;
  });
}

void PrintJson(std::FILE* out, const std::vector<Row>& rows, const RetryBuckets& b) {
  JsonWriter w;
  for (const Row& r : rows) {
    w.Begin();
    w.String("type", "phone");
    w.String("mac", FormatMac(r.mac));
    w.String("model", r.model);
    w.String("server", r.server);
    w.Int("backoff_step", r.backoff_step);
    if (r.next_due_us) {
      w.String("next_due", FormatIso8601Utc(*r.next_due_us));
    } else {
      w.Null("next_due");
    }
    if (r.ip.empty()) {
      w.Null("last_ip");
      w.Null("force_url");
    } else {
      w.String("last_ip", r.ip);
      w.String("force_url", ForceResyncUrl(r.ip));
    }
    w.End();
    std::fprintf(out, "%s\n", w.str().c_str());
  }
  w.Begin();
  w.String("type", "summary");
  w.Int("phones", b.phones);
  w.Int("within_10m", b.within[0]);
  w.Int("within_1h", b.within[1]);
  w.Int("within_6h", b.within[2]);
  w.Int("within_24h", b.within[3]);
  w.Int("never", b.never);
  w.End();
  std::fprintf(out, "%s\n", w.str().c_str());
}

void PrintTable(const Cli& cli, std::FILE* out, bool color, const std::vector<Row>& rows,
                const RetryBuckets& b) {
  Table t;
  t.AddColumn("MAC");
  t.AddColumn("MODEL");
  t.AddColumn("SERVER");
  t.AddColumn("STEP", Table::Align::kRight);
  t.AddColumn("NEXT DUE");
  t.AddColumn("LAST IP");
  t.AddColumn("FORCE URL");
  for (const Row& r : rows) {
    t.AddRow({{FormatMac(r.mac), {}},
              {r.model, {}},
              {r.server.empty() ? "-" : r.server, {}},
              {std::to_string(r.backoff_step), {}},
              {r.next_due_us ? cli.TableTime(*r.next_due_us) : "never (retries disabled)",
               r.next_due_us || !color ? std::string_view() : ansi::kRed},
              {r.ip.empty() ? "-" : r.ip, {}},
              {r.ip.empty() ? "-" : ForceResyncUrl(r.ip), {}}});
  }
  t.Print(out, color, 60);
  std::fprintf(out,
               "\n%lld phones failing; retried by themselves within 10m: %lld, 1h: %lld, "
               "6h: %lld, 24h: %lld; never: %lld\n",
               static_cast<long long>(b.phones), static_cast<long long>(b.within[0]),
               static_cast<long long>(b.within[1]), static_cast<long long>(b.within[2]),
               static_cast<long long>(b.within[3]), static_cast<long long>(b.never));
}

}  // namespace

int RunRecovery(std::span<const std::string_view> args, CommandIo& io) {
  using namespace schedule_cli;
  Cli cli(kHelp, kFlagDb | kFlagJson | kFlagRange | kFlagUtc,
          {kServer, kConfig, kTolerance, kTolerancePct, kCycleGap, kOutcomeWait, kOnDemand, kGrace,
           kDeepBackoff},
          io);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  Result<std::unique_ptr<Store>> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());
  std::vector<Row> rows;
  if (Status s = CollectFailing(cli, **store, &rows); !s.ok()) return cli.Fail(s);
  Status s = AttachSummaries(**store, BareHost(cli.flags().GetString("server")), &rows);
  if (s.ok()) s = AttachAddresses(**store, std::min(cli.range().until_us, cli.now_us() + 1), &rows);
  if (!s.ok()) return cli.Fail("cannot read devices: " + s.message());
  if (rows.empty()) return cli.Nothing("no phone's last resync attempt failed");
  SortLastBackFirst(&rows);
  RetryBuckets buckets;
  for (const Row& r : rows) buckets.Add(r.next_due_us, cli.now_us());
  if (cli.json()) {
    PrintJson(io.out, rows, buckets);
  } else {
    PrintTable(cli, io.out, io.color, rows, buckets);
  }
  return kExitFound;
}

}  // namespace resyncwatch
