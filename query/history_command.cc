#include "query/history_command.h"

#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "query/event_json.h"
#include "query/follow.h"
#include "query/pairing.h"
#include "query/table.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "history",
    "resyncwatch history <MAC|SN> [--since T] [--until T] [--kind K] [--json|--csv]",
    "Prints one device's timeline: time, kind, model, URL, error and source of every\n"
    "event. Each request is paired with its outcome (the next success for the same URL,\n"
    "or the next failure) and the attempt's duration; a request with no outcome within\n"
    "--timeout says \"no outcome\". The device is a MAC in any spelling or a serial number.\n"
    "The running resyncwatchd answers over its query socket (DIR/query.sock) when it serves\n"
    "the store; otherwise, or with --direct, the store is opened and read here.\n"
    "--follow prints the device's events as the running resyncwatchd stores them, one line\n"
    "(or one JSON object with --json) each, until Ctrl-C.",
    "  resyncwatch history 00:0e:08:ab:cd:ef                # the whole timeline\n"
    "  resyncwatch history 000E08ABCDEF --since 2h          # the last two hours\n"
    "  resyncwatch history FCH2251A1B2 --kind resync_failure\n"
    "  resyncwatch history 000e.08ab.cdef --since 7d --csv > phone.csv\n"
    "  resyncwatch history 00:0e:08:ab:cd:ef --follow       # watch it live, Ctrl-C to stop\n",
};

constexpr FlagSpec kKind = {"kind", FlagType::kString, "", "K",
                            "only these kinds (comma list; resync, upgrade, resync_failure, ...)"};
constexpr FlagSpec kTimeout = {"timeout", FlagType::kDuration, "120s", "DURATION",
                               "a request without an outcome this long has \"no outcome\""};
constexpr FlagSpec kDirect = {"direct", FlagType::kBool, "", "",
                              "read the store here, not through the collector's query socket"};

std::string DurationText(int64_t us) {
  if (us < 0) return "";
  if (us < 10 * kMicrosPerSecond) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(us) / kMicrosPerSecond);
    return buf;
  }
  return FormatDurationHuman(us);
}

std::string_view KindStyle(EventKind k) {
  switch (k) {
    case EventKind::kResyncSuccess:
    case EventKind::kUpgradeSuccess:
      return ansi::kGreen;
    case EventKind::kResyncFailure:
    case EventKind::kUpgradeFailure:
      return ansi::kRed;
    case EventKind::kResyncRequest:
    case EventKind::kUpgradeRequest:
      return ansi::kCyan;
    default:
      return ansi::kDim;
  }
}

std::string_view OutcomeStyle(Pairing::Outcome o) {
  switch (o) {
    case Pairing::Outcome::kSuccess:
      return ansi::kGreen;
    case Pairing::Outcome::kFailure:
      return ansi::kRed;
    case Pairing::Outcome::kNoOutcome:
      return ansi::kYellow;
    default:
      return {};
  }
}

bool HasFields(EventKind k) { return k != EventKind::kDebug && k != EventKind::kUnknown; }

using Timeline = HistoryCommand::Timeline;

// InvalidArgument when arg names no device: an answer, not a failure of the store.
Status ReadTimeline(const DeviceReader& store, const std::string& arg, TimeRange wide,
                    Timeline* out) {
  Result<MacAddress> mac = Cli::ResolveDevice(store, arg);
  if (!mac.ok()) return mac.status();
  out->mac = *mac;
  Status s = store.History(*mac, wide, [&](const Event& e) {
    out->events.push_back(e);
    return true;
  });
  if (!s.ok()) return Status::IoError("cannot read the history of " + arg + ": " + s.message());
  if (out->events.empty()) {
    Result<DeviceSummary> device = store.GetDevice(*mac);
    if (!device.ok() && !device.status().IsNotFound()) {
      return Status::IoError("cannot read the device " + arg + ": " + device.status().message());
    }
    out->known = device.ok();
  }
  return Status::Ok();
}

}  // namespace

HistoryCommand::HistoryCommand(CommandIo& io)
    : cli_(kHelp, kFlagDb | kFlagClickHouse | kFlagRange | kFlagJson | kFlagCsv | kFlagUtc,
           {kKind, kTimeout, kDirect}, io, FollowFlags()),
      kinds_(kEventKindCount, true) {}

std::optional<int> HistoryCommand::Parse(std::span<const std::string_view> args) {
  if (std::optional<int> code = cli_.Parse(args, 1, 1)) return code;
  if (cli_.flags().IsSet("kind")) {
    Result<std::vector<bool>> k = ParseKindFilter(cli_.flags().GetString("kind"));
    if (!k.ok()) return cli_.Fail(k.status());
    kinds_ = std::move(*k);
  }
  timeout_us_ = cli_.flags().GetDuration("timeout");
  if (follow()) {
    if (cli_.csv()) return cli_.Fail("--follow prints lines or --json, not --csv");
    if (cli_.flags().IsSet("since") || cli_.flags().IsSet("until") || direct()) {
      return cli_.Fail("--follow shows events from now on: without --since, --until, --direct");
    }
  }
  // Read a timeout beyond each end so that attempts crossing the range are paired.
  wide_ = cli_.range();
  if (wide_.since_us != INT64_MIN) wide_.since_us -= timeout_us_;
  if (wide_.until_us != INT64_MAX) wide_.until_us += timeout_us_;
  return std::nullopt;
}

// ClickHouse answers for every collector: no local collector to ask.
bool HistoryCommand::direct() const { return cli_.flags().GetBool("direct") || cli_.clickhouse(); }

bool HistoryCommand::follow() const { return cli_.flags().GetBool("follow"); }

int HistoryCommand::Follow() {
  Result<std::unique_ptr<QueryClient>> client = ConnectForFollow(cli_);
  if (!client.ok()) return cli_.Fail(client.status());
  const std::string& arg = cli_.positional()[0];
  Result<MacAddress> mac = Cli::ResolveDevice(**client, arg);
  if (!mac.ok()) return cli_.Fail(mac.status());
  FollowRequest request;
  request.filter.mac = *mac;
  request.filter.kind_mask = 0;
  for (int k = 0; k < kEventKindCount; ++k) {
    if (kinds_[k]) request.filter.kind_mask |= 1u << k;
  }
  request.what = FormatMac(*mac);
  JsonWriter w;
  request.render = [&](const Event& e, std::string* out) {
    if (!cli_.json()) return RenderFollowLine(cli_, e, out);
    w.Begin();
    AppendEventJson(&w, e, true);
    w.End();
    out->append(w.str()).push_back('\n');
  };
  return RunFollow(cli_, **client, request);
}

std::optional<int> HistoryCommand::AskCollector(Status* why) {
  timeline_ = Timeline{};
  Result<std::unique_ptr<QueryClient>> writer = cli_.ConnectToWriter();
  Status read = writer.ok() ? ReadTimeline(**writer, cli_.positional()[0], wide_, &timeline_)
                            : writer.status();
  if (read.ok()) return Print();
  if (read.code() == Status::Code::kInvalidArgument) return cli_.Fail(read);
  *why = std::move(read);
  return std::nullopt;
}

void HistoryCommand::WarnIfCollectorFailed(const Status& why) {
  if (why.ok() || why.IsNotFound()) return;
  cli_.Warn("the collector did not answer (" + why.message() + "); reading the store");
}

int HistoryCommand::Answer(const std::function<Result<DeviceReaderHandle>()>& open_store) {
  if (!direct()) {
    Status why;
    if (std::optional<int> code = AskCollector(&why)) return *code;
    WarnIfCollectorFailed(why);
  }
  Result<DeviceReaderHandle> store = open_store();
  if (!store.ok()) return cli_.Fail(store.status());
  return ReadStore(**store);
}

int HistoryCommand::ReadStore(const DeviceReader& store) {
  timeline_ = Timeline{};
  if (Status s = ReadTimeline(store, cli_.positional()[0], wide_, &timeline_); !s.ok()) {
    return cli_.Fail(s);
  }
  return Print();
}

namespace {

// One JSON object a line: the event, its outcome and duration, and its partner's seq.
void PrintJson(std::FILE* out, const std::vector<Event>& events, const std::vector<int>& shown,
               const std::vector<Pairing>& pairs) {
  JsonWriter w;
  std::string line;
  for (int i : shown) {
    const Pairing& p = pairs[i];
    w.Begin();
    AppendEventJson(&w, events[i], true);
    if (p.outcome != Pairing::Outcome::kNone) w.String("outcome", ToString(p.outcome));
    if (p.duration_us >= 0) {
      w.Int("duration_ms", p.duration_us / 1000);
    } else if (p.outcome != Pairing::Outcome::kNone) {
      w.Null("duration_ms");
    }
    if (p.partner >= 0) {
      w.Int(p.outcome != Pairing::Outcome::kNone ? "outcome_seq" : "request_seq",
            static_cast<int64_t>(events[p.partner].seq));
    }
    w.End();
    line.assign(w.str()).push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out);
  }
}

void PrintCsv(Cli& cli, const std::vector<Event>& events, const std::vector<int>& shown,
              const std::vector<Pairing>& pairs) {
  std::FILE* out = cli.io().out;
  WriteCsvRow(out, {"time", "kind", "model", "url", "error", "source", "outcome", "duration_ms",
                    "seq", "mac", "sn", "message"});
  for (int i : shown) {
    const Event& e = events[i];
    const Pairing& p = pairs[i];
    WriteCsvRow(
        out, {cli.IsoTime(e.event_time_us), ToString(e.kind), e.model, e.url, e.error, e.source,
              ToString(p.outcome), p.duration_us >= 0 ? std::to_string(p.duration_us / 1000) : "",
              std::to_string(e.seq), e.mac ? FormatMac(e.mac) : "", e.sn, e.message});
  }
}

void PrintTable(Cli& cli, const std::vector<Event>& events, const std::vector<int>& shown,
                const std::vector<Pairing>& pairs) {
  Table table;
  table.AddColumn(cli.utc() ? "TIME (UTC)" : "TIME");
  table.AddColumn("KIND");
  table.AddColumn("MODEL");
  table.AddColumn("URL");
  table.AddColumn("OUTCOME");
  table.AddColumn("DURATION", Table::Align::kRight);
  table.AddColumn("SOURCE");
  table.AddColumn("ERROR / MESSAGE");
  for (int i : shown) {
    const Event& e = events[i];
    const Pairing& p = pairs[i];
    // Outcome rows show the duration of the attempt they close; debug lines their body.
    std::string detail = HasFields(e.kind) ? e.error : e.message;
    table.AddRow({{cli.TableTime(e.event_time_us), {}},
                  {std::string(ToString(e.kind)), KindStyle(e.kind)},
                  {e.model, {}},
                  {e.url, {}},
                  {std::string(ToString(p.outcome)), OutcomeStyle(p.outcome)},
                  {DurationText(p.duration_us), {}},
                  {e.source, ansi::kDim},
                  {detail, HasFields(e.kind) ? ansi::kRed : ansi::kDim}});
  }
  table.Print(cli.io().out, cli.io().color, 100);
}

}  // namespace

int HistoryCommand::Print() {
  const MacAddress mac = timeline_.mac;
  const std::vector<Event>& events = timeline_.events;
  const TimeRange& range = cli_.range();
  std::vector<Pairing> pairs = PairAttempts(events, timeout_us_, cli_.now_us());

  std::vector<int> shown;
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    const Event& e = events[i];
    if (e.event_time_us < range.since_us || e.event_time_us >= range.until_us) continue;
    if (!kinds_[static_cast<int>(e.kind)]) continue;
    shown.push_back(i);
  }
  if (shown.empty()) {
    bool seen = !events.empty() || timeline_.known;
    return cli_.Nothing(seen ? "no events for " + FormatMac(mac) + " in the given range"
                             : "no events for " + FormatMac(mac));
  }
  if (cli_.json()) {
    PrintJson(cli_.io().out, events, shown, pairs);
  } else if (cli_.csv()) {
    PrintCsv(cli_, events, shown, pairs);
  } else {
    PrintTable(cli_, events, shown, pairs);
  }
  return kExitFound;
}

}  // namespace resyncwatch
