// `resyncwatch recovery`: after a provisioning-server outage, the phones whose last resync
// attempt failed, when each will retry by itself (the same analysis as `schedule --fleet`)
// and the URL that forces a resync now.
#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/recovery.h"
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

void SortLastBackFirst(std::vector<FailingPhone>* rows) {
  std::sort(rows->begin(), rows->end(), [](const FailingPhone& a, const FailingPhone& b) {
    int64_t ka = a.next_due_us.value_or(INT64_MAX), kb = b.next_due_us.value_or(INT64_MAX);
    return ka != kb ? ka > kb : a.mac < b.mac;
  });
}

void PrintJson(std::FILE* out, const std::vector<FailingPhone>& rows, const RetryBuckets& b) {
  JsonWriter w;
  for (const FailingPhone& r : rows) {
    w.Begin();
    w.String("type", "phone");
    w.String("mac", FormatMac(r.mac));
    w.String("model", r.model);
    if (r.server.empty()) {
      w.Null("server");
    } else {
      w.String("server", r.server);
    }
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

void PrintTable(const Cli& cli, std::FILE* out, bool color, const std::vector<FailingPhone>& rows,
                const RetryBuckets& b) {
  Table t;
  t.AddColumn("MAC");
  t.AddColumn("MODEL");
  t.AddColumn("SERVER");
  t.AddColumn("STEP", Table::Align::kRight);
  t.AddColumn("NEXT DUE");
  t.AddColumn("LAST IP");
  t.AddColumn("FORCE URL");
  for (const FailingPhone& r : rows) {
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
  Cli cli(kHelp, kFlagDb | kFlagClickHouse | kFlagJson | kFlagRange | kFlagUtc, {kServer}, io,
          kAnalysisFlags);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  RecoveryQuery q;
  Result<AnalysisOptions> options = OptionsFromFlags(cli.flags());
  if (!options.ok()) return cli.Fail(options.status());
  q.options = *options;
  // The config (50 ms at 50,000 per-phone overrides) is parsed while the store is opened
  // and the candidates are read from the summaries; its errors still come first.
  std::future<Result<ScheduleConfigSet>> loading =
      std::async(std::launch::async, LoadConfig, cli.flags().GetString("config"));
  q.now_us = cli.now_us();
  q.range = cli.range();
  if (!cli.flags().IsSet("since")) q.range.since_us = q.now_us - 2 * 86400 * kMicrosPerSecond;
  q.range.until_us = std::min(q.range.until_us, q.now_us + 1);
  q.server = cli.flags().GetString("server");
  Result<StoreHandle> store = cli.OpenStore();
  RecoveryCandidates candidates;
  Status s = store.ok() ? ReadRecoveryCandidates(**store, q.range, &candidates) : Status::Ok();
  Result<ScheduleConfigSet> configs = loading.get();
  if (!configs.ok()) return cli.Fail(configs.status());
  q.configs = &*configs;
  if (!store.ok()) return cli.Fail(store.status());
  std::vector<FailingPhone> rows;
  if (s.ok()) s = CollectRecovery(**store, q, candidates, &rows);
  if (!s.ok()) return cli.Fail("cannot read events: " + s.message());
  if (rows.empty()) {
    return cli.Nothing(q.server.empty() ? "no phone's last resync attempt failed"
                                        : "no phone of server " + q.server + " is failing");
  }
  SortLastBackFirst(&rows);
  RetryBuckets buckets;
  for (const FailingPhone& r : rows) buckets.Add(r.next_due_us, cli.now_us());
  if (cli.json()) {
    PrintJson(io.out, rows, buckets);
  } else {
    PrintTable(cli, io.out, io.color, rows, buckets);
  }
  return kExitFound;
}

}  // namespace resyncwatch
