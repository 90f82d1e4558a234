// `resyncwatch fleet`: fleet health over a time range, optionally grouped, with a chart.
#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clickhouse/clickhouse.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/fleet_rollup.h"
#include "query/fleet_stats.h"
#include "query/table.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "fleet",
    "resyncwatch fleet [--since T] [--until T] [--by model|server|error|hour] [--json]",
    "Summarises the fleet's resyncs and upgrades over a time range: devices seen, attempts,\n"
    "successes, failures, success rate, devices whose last attempt failed, top errors and\n"
    "top provisioning servers. --by prints one row per model, server, error or hour. On a\n"
    "terminal (or with --chart) a chart shows successes and failures per time bucket.",
    "  resyncwatch fleet --since 1h                 # the last hour at a glance\n"
    "  resyncwatch fleet --since 24h --by model     # which models fail\n"
    "  resyncwatch fleet --since 7d --by error --json\n"
    "  resyncwatch fleet --since 2026-11-25T08:00:00Z --until 2026-11-25T09:00:00Z --by hour\n",
};

constexpr FlagSpec kBy = {"by", FlagType::kString, "", "GROUP",
                          "one row per model, server, error or hour"};
constexpr FlagSpec kTop = {"top", FlagType::kInt, "5", "N", "how many top errors and servers"};
constexpr FlagSpec kChart = {"chart", FlagType::kBool, "", "",
                             "draw the chart even when not on a terminal"};

constexpr int64_t kMinute = 60 * kMicrosPerSecond;
constexpr int64_t kBucketWidths[] = {kMinute,       5 * kMinute,   10 * kMinute,   15 * kMinute,
                                     30 * kMinute,  60 * kMinute,  120 * kMinute,  180 * kMinute,
                                     360 * kMinute, 720 * kMinute, 1440 * kMinute, 10080 * kMinute};
constexpr int kMaxBuckets = 24;

int64_t BucketWidth(int64_t span_us) {
  for (int64_t w : kBucketWidths) {
    if (span_us / w <= kMaxBuckets) return w;
  }
  return kBucketWidths[std::size(kBucketWidths) - 1];
}

std::string Rate(const OutcomeCounts& c) {
  double r = c.SuccessRate();
  if (r < 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", r * 100.0);
  return buf;
}

void JsonRate(JsonWriter& w, const OutcomeCounts& c) {
  double r = c.SuccessRate();
  if (r < 0) {
    w.Null("success_rate");
  } else {
    w.Double("success_rate", r);
  }
}

void JsonCounts(JsonWriter& w, const OutcomeCounts& c) {
  w.Int("attempts", static_cast<int64_t>(c.attempts));
  w.Int("successes", static_cast<int64_t>(c.successes));
  w.Int("failures", static_cast<int64_t>(c.failures));
  JsonRate(w, c);
}

// A bar of value/scale * width columns, in eighths of a block.
std::string Bar(uint64_t value, uint64_t scale, int width) {
  static const char* kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  if (value == 0 || scale == 0) return "";
  uint64_t eighths = std::max<uint64_t>(1, value * width * 8 / scale);
  std::string out;
  for (uint64_t i = 0; i < eighths / 8; ++i) out += "█";
  out += kEighths[eighths % 8];
  return out;
}

void PrintChart(const Cli& cli, const FleetSummary& stats, int64_t width_us, CommandIo& io) {
  std::vector<Bucket> buckets = stats.Buckets(width_us);
  if (buckets.empty()) return;
  uint64_t scale = 0;
  for (const Bucket& b : buckets) scale = std::max(scale, b.successes + b.failures);
  std::string out = "\nSuccesses (" + std::string(io.color ? "green" : "█") + ") and failures (" +
                    std::string(io.color ? "red" : "░") + ") per " + FormatDurationHuman(width_us) +
                    ":\n";
  for (const Bucket& b : buckets) {
    std::string ok = Bar(b.successes, scale, 50);
    std::string bad = Bar(b.failures, scale, 50);
    if (!io.color) {
      // Without colour the failure bar is drawn in a lighter shade.
      std::string light;
      for (size_t i = 0; i < DisplayWidth(bad); ++i) light += "░";
      bad = light;
    }
    out += "  " + cli.TableTime(b.start_us).substr(0, 16) + "  ";
    if (io.color)
      out += std::string(ansi::kGreen) + ok + std::string(ansi::kRed) + bad +
             std::string(ansi::kReset);
    else
      out += ok + bad;
    out += " " + std::to_string(b.successes) + " ok, " + std::to_string(b.failures) + " failed\n";
  }
  std::fwrite(out.data(), 1, out.size(), io.out);
}

// Scans range into *stats, decoding only the fields FleetStats reads (Store::ScanHeads).
// A bounded range is cut into consecutive time slices scanned by parallel threads (reads
// are thread-safe) whose partial stats merge in order.
Status ScanFleet(const Store& store, TimeRange range, int64_t now, GroupBy by, FleetStats* stats) {
  int threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  if (range.since_us == INT64_MIN || threads == 1) {
    return store.ScanHeads(range, [&](const Event& e) {
      stats->Add(e);
      return true;
    });
  }
  // The last slice stays open-ended when the range is (events stamped after "now").
  int64_t end = std::min(range.until_us, std::max(now, range.since_us + 1));
  int64_t step = std::max<int64_t>(1, (end - range.since_us) / threads);
  std::vector<FleetStats> parts(threads, FleetStats(by));
  std::vector<Status> status(threads);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    TimeRange slice{range.since_us + i * step,
                    i + 1 == threads ? range.until_us : range.since_us + (i + 1) * step};
    workers.emplace_back([&, i, slice] {
      status[i] = store.ScanHeads(slice, [&](const Event& e) {
        parts[i].Add(e);
        return true;
      });
    });
  }
  for (auto& w : workers) w.join();
  for (int i = 0; i < threads; ++i) {
    if (!status[i].ok()) return status[i];
    stats->MergeLater(parts[i]);
  }
  return Status::Ok();
}

// --by: the flag value, the JSON key and the table column of each grouping.
struct GroupingName {
  GroupBy by;
  std::string_view flag;
  std::string_view column;
};
constexpr GroupingName kGroupings[] = {{GroupBy::kModel, "model", "MODEL"},
                                       {GroupBy::kServer, "server", "SERVER"},
                                       {GroupBy::kError, "error", "ERROR"},
                                       {GroupBy::kHour, "hour", "HOUR"}};

const GroupingName& NameOf(GroupBy by) {
  for (const GroupingName& g : kGroupings) {
    if (g.by == by) return g;
  }
  return kGroupings[0];
}

// What one `fleet` run asks for, from its flags.
struct FleetQuery {
  GroupBy by = GroupBy::kNone;
  int64_t top = 5;
  TimeRange range;
  int64_t since = 0;  // the range with its open ends filled: 24 h back, now
  int64_t until = 0;
  int64_t now = 0;
};

Result<FleetQuery> ReadFleetQuery(const Cli& cli) {
  FleetQuery q;
  if (cli.flags().IsSet("by")) {
    const std::string v = cli.flags().GetString("by");
    auto it = std::find_if(std::begin(kGroupings), std::end(kGroupings),
                           [&](const GroupingName& g) { return g.flag == v; });
    if (it == std::end(kGroupings)) {
      return Status::InvalidArgument("--by: '" + v + "' is not one of model, server, error, hour");
    }
    q.by = it->by;
  }
  q.top = cli.flags().GetInt("top");
  if (q.top < 0) return Status::InvalidArgument("--top: must be 0 or more");
  q.range = cli.range();
  q.now = cli.now_us();
  q.since = q.range.since_us == INT64_MIN ? q.now - 24 * 60 * kMinute : q.range.since_us;
  q.until = q.range.until_us == INT64_MAX ? q.now : q.range.until_us;
  return q;
}

// FleetStats's answer from ClickHouse's aggregation (clickhouse.h, AggregateFleet): the
// same figures, named and ordered as FleetStats names and orders them.
Result<FleetSummary> SummarizeInClickHouse(const Store& store, const FleetQuery& q) {
  static constexpr FleetGrouping kGrouping[] = {FleetGrouping::kNone, FleetGrouping::kModel,
                                                FleetGrouping::kServer, FleetGrouping::kError,
                                                FleetGrouping::kHour};
  Result<std::vector<FleetAggregateRow>> rows =
      AggregateFleet(store, q.range, kGrouping[static_cast<int>(q.by)]);
  if (!rows.ok()) return rows.status();
  auto named = [](std::string key) { return key.empty() ? std::string("(none)") : key; };
  FleetSummary s;
  s.by = q.by;
  using Section = FleetAggregateRow::Section;
  for (FleetAggregateRow& r : *rows) {
    const OutcomeCounts counts{r.attempts, r.successes, r.failures};
    switch (r.section) {
      case Section::kTotal:
        s.events = r.events;
        s.devices = r.devices;
        s.devices_last_failed = r.devices_last_failed;
        s.first_us = r.first_us;
        s.last_us = r.last_us;
        break;
      case Section::kResync:
        s.resync = counts;
        break;
      case Section::kUpgrade:
        s.upgrade = counts;
        break;
      case Section::kError:
        s.errors.emplace_back(named(std::move(r.key)), r.failures);
        break;
      case Section::kServer:
        s.servers.emplace_back(named(std::move(r.key)), counts);
        break;
      case Section::kMinute:
        s.minutes.push_back({std::stoll(r.key), r.successes, r.failures});
        break;
      case Section::kGroup:
        s.groups.push_back({q.by == GroupBy::kHour ? std::move(r.key) : named(std::move(r.key)),
                            r.devices, counts, r.devices_last_failed});
        break;
    }
  }
  SortErrors(&s.errors);
  SortServers(&s.servers);
  SortGroups(q.by, &s.groups);
  return s;
}

// The daemon's rollups answer what they can answer exactly; ClickHouse aggregates itself;
// a scan the rest.
Result<FleetSummary> Summarize(const Cli& cli, const Store& store, const FleetQuery& q,
                               const CommandIo& io) {
  if (cli.clickhouse()) return SummarizeInClickHouse(store, q);
  if (io.fleet_rollup != nullptr) {
    if (std::optional<FleetSummary> rolled = io.fleet_rollup->Answer(q.range, q.by)) {
      return std::move(*rolled);
    }
  }
  FleetStats scan(q.by);
  if (Status s = ScanFleet(store, q.range, q.now, q.by, &scan); !s.ok()) return s;
  return scan.Summarize();
}

void PrintGroupsJson(const FleetQuery& q, const FleetSummary& stats, CommandIo& io) {
  for (const GroupRow& r : stats.groups) {
    JsonWriter w;
    w.Begin();
    if (q.by == GroupBy::kHour) {
      w.String("hour", FormatIso8601Utc(std::stoll(r.key)));
    } else {
      w.String(NameOf(q.by).flag, r.key);
    }
    w.Int("devices", static_cast<int64_t>(r.devices));
    JsonCounts(w, r.counts);
    w.Int("devices_last_failed", static_cast<int64_t>(r.devices_last_failed));
    w.End();
    std::fprintf(io.out, "%s\n", w.str().c_str());
  }
}

void JsonTops(const FleetQuery& q, const FleetSummary& stats, JsonWriter& w) {
  w.BeginArray("top_errors");
  for (const auto& [error, n] : stats.TopErrors(q.top)) {
    w.ArrayBeginObject();
    w.String("error", error);
    w.Int("failures", static_cast<int64_t>(n));
    w.EndObject();
  }
  w.EndArray();
  w.BeginArray("top_servers");
  for (const auto& [server, c] : stats.TopServers(q.top)) {
    w.ArrayBeginObject();
    w.String("server", server);
    JsonCounts(w, c);
    w.EndObject();
  }
  w.EndArray();
}

void PrintSummaryJson(const FleetQuery& q, const FleetSummary& stats, int64_t width,
                      CommandIo& io) {
  JsonWriter w;
  w.Begin();
  if (q.range.since_us != INT64_MIN) w.String("since", FormatIso8601Utc(q.range.since_us));
  if (q.range.until_us != INT64_MAX) w.String("until", FormatIso8601Utc(q.range.until_us));
  w.Int("events", static_cast<int64_t>(stats.events));
  w.Int("devices", static_cast<int64_t>(stats.devices));
  JsonCounts(w, stats.total());
  w.Int("devices_last_failed", static_cast<int64_t>(stats.devices_last_failed));
  w.BeginObject("resync");
  JsonCounts(w, stats.resync);
  w.EndObject();
  w.BeginObject("upgrade");
  JsonCounts(w, stats.upgrade);
  w.EndObject();
  JsonTops(q, stats, w);
  w.BeginArray("buckets");
  for (const Bucket& b : stats.Buckets(width)) {
    w.ArrayBeginObject();
    w.String("start", FormatIso8601Utc(b.start_us));
    w.Int("successes", static_cast<int64_t>(b.successes));
    w.Int("failures", static_cast<int64_t>(b.failures));
    w.EndObject();
  }
  w.EndArray();
  w.Int("bucket_seconds", width / kMicrosPerSecond);
  w.End();
  std::fprintf(io.out, "%s\n", w.str().c_str());
}

void PrintGroupsTable(const Cli& cli, const FleetQuery& q, const FleetSummary& stats,
                      CommandIo& io) {
  Table t;
  t.AddColumn(std::string(NameOf(q.by).column));
  for (const char* column : {"DEVICES", "ATTEMPTS", "OK", "FAILED", "RATE", "LAST FAILED"}) {
    t.AddColumn(column, Table::Align::kRight);
  }
  for (const GroupRow& r : stats.groups) {
    bool bad = r.counts.failures > 0;
    std::string key =
        q.by == GroupBy::kHour ? cli.TableTime(std::stoll(r.key)).substr(0, 16) : r.key;
    t.AddRow({{std::move(key), {}},
              {std::to_string(r.devices), {}},
              {std::to_string(r.counts.attempts), {}},
              {std::to_string(r.counts.successes), ansi::kGreen},
              {std::to_string(r.counts.failures), bad ? ansi::kRed : std::string_view()},
              {Rate(r.counts), {}},
              {std::to_string(r.devices_last_failed),
               r.devices_last_failed ? ansi::kRed : std::string_view()}});
  }
  t.Print(io.out, io.color, 60);
}

void PrintSummaryTable(const Cli& cli, const FleetQuery& q, const FleetSummary& stats,
                       CommandIo& io) {
  const TimeRange& range = q.range;
  std::string head =
      "Fleet from " +
      (range.since_us == INT64_MIN ? std::string("the first event")
                                   : cli.TableTime(q.since).substr(0, 19)) +
      " to " +
      (range.until_us == INT64_MAX ? std::string("now") : cli.TableTime(q.until).substr(0, 19)) +
      "\n";
  std::fwrite(head.data(), 1, head.size(), io.out);
  OutcomeCounts total = stats.total();
  Table summary;
  summary.AddColumn("");
  summary.AddColumn("", Table::Align::kRight);
  auto row = [&](std::string name, std::string value, std::string_view style = {}) {
    summary.AddRow({{std::move(name), {}}, {std::move(value), style}});
  };
  row("devices seen", std::to_string(stats.devices));
  row("attempts", std::to_string(total.attempts));
  row("successes", std::to_string(total.successes), ansi::kGreen);
  row("failures", std::to_string(total.failures), total.failures ? ansi::kRed : std::string_view());
  row("success rate", Rate(total));
  uint64_t last_failed = stats.devices_last_failed;
  row("devices whose last attempt failed", std::to_string(last_failed),
      last_failed ? ansi::kRed : std::string_view());
  if (stats.upgrade.attempts + stats.upgrade.successes + stats.upgrade.failures > 0) {
    row("  of which upgrades: attempts", std::to_string(stats.upgrade.attempts));
    row("  upgrade failures", std::to_string(stats.upgrade.failures));
  }
  summary.Print(io.out, io.color);
}

void PrintTops(const FleetQuery& q, const FleetSummary& stats, CommandIo& io) {
  auto errors = stats.TopErrors(q.top);
  if (!errors.empty()) {
    std::fputs("\n", io.out);
    Table t;
    t.AddColumn("TOP ERRORS");
    t.AddColumn("FAILURES", Table::Align::kRight);
    for (const auto& [error, n] : errors) t.AddRow({{error, ansi::kRed}, {std::to_string(n), {}}});
    t.Print(io.out, io.color, 80);
  }
  auto servers = stats.TopServers(q.top);
  if (servers.empty()) return;
  std::fputs("\n", io.out);
  Table t;
  t.AddColumn("TOP SERVERS");
  for (const char* column : {"ATTEMPTS", "OK", "FAILED", "RATE"}) {
    t.AddColumn(column, Table::Align::kRight);
  }
  for (const auto& [server, c] : servers) {
    t.AddRow({{server, {}},
              {std::to_string(c.attempts), {}},
              {std::to_string(c.successes), {}},
              {std::to_string(c.failures), c.failures ? ansi::kRed : std::string_view()},
              {Rate(c), {}}});
  }
  t.Print(io.out, io.color, 60);
}

}  // namespace

int RunFleet(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagClickHouse | kFlagRange | kFlagJson | kFlagUtc, {kBy, kTop, kChart},
          io);
  if (std::optional<int> code = cli.Parse(args)) return *code;
  Result<FleetQuery> q = ReadFleetQuery(cli);
  if (!q.ok()) return cli.Fail(q.status().message());
  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());
  Result<FleetSummary> stats = Summarize(cli, **store, *q, io);
  if (!stats.ok()) return cli.Fail("cannot read events: " + stats.status().message());
  // Chart buckets: the asked range, or the events' own span when it is open.
  int64_t span =
      q->range.since_us == INT64_MIN ? stats->last_us - stats->first_us : q->until - q->since;
  int64_t width = BucketWidth(std::max<int64_t>(span, kMinute));
  if (stats->events == 0) return cli.Nothing("no events in the given range");

  if (cli.json()) {
    if (q->by != GroupBy::kNone) {
      PrintGroupsJson(*q, *stats, io);
    } else {
      PrintSummaryJson(*q, *stats, width, io);
    }
    return kExitFound;
  }
  if (q->by != GroupBy::kNone) {
    PrintGroupsTable(cli, *q, *stats, io);
  } else {
    PrintSummaryTable(cli, *q, *stats, io);
    PrintTops(*q, *stats, io);
  }
  if (io.out_is_tty || cli.flags().GetBool("chart")) PrintChart(cli, *stats, width, io);
  return kExitFound;
}

}  // namespace resyncwatch
