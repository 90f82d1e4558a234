// `resyncwatch grep <RE2>`: searches message bodies across the fleet or one device.
#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/json_writer.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/event_json.h"
#include "query/ordered_output.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "grep",
    "resyncwatch grep <RE2> [--mac M] [--since T] [--until T] [--kind K] [--json]",
    "Prints the stored messages whose body matches a regular expression (RE2 syntax), in\n"
    "time order, across the fleet or for one device (--mac takes a MAC in any spelling or\n"
    "a serial number). A pattern without special characters is a plain substring search.",
    "  resyncwatch grep 'http_get failed' --since 24h\n"
    "  resyncwatch grep '(?i)corrupt' --kind resync_failure --since 7d\n"
    "  resyncwatch grep 'sip88xx\\.12-' --mac 00:0e:08:ab:cd:ef --json\n"
    "  resyncwatch grep 'Requesting resync https://' --count\n",
};

constexpr FlagSpec kMac = {"mac", FlagType::kString, "", "M", "only this device (MAC or serial)"};
constexpr FlagSpec kKind = {"kind", FlagType::kString, "", "K",
                            "only these kinds (comma list; resync, upgrade, debug, ...)"};
constexpr FlagSpec kIgnoreCase = {"ignore-case", FlagType::kBool, "", "",
                                  "match without regard to case"};
constexpr FlagSpec kCount = {"count", FlagType::kBool, "", "", "print only the number of matches"};
constexpr FlagSpec kLimit = {"limit", FlagType::kInt, "0", "N", "stop after N matches (0: all)"};

constexpr size_t kChunk = 64 * 1024;

bool IsLiteral(std::string_view pattern) {
  return pattern.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos;
}

void AppendOneLine(std::string* out, std::string_view text) {
  for (char c : text) {
    out->push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  }
}

}  // namespace

int RunGrep(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagClickHouse | kFlagRange | kFlagJson | kFlagUtc,
          {kMac, kKind, kIgnoreCase, kCount, kLimit}, io);
  if (std::optional<int> code = cli.Parse(args, 1, 1)) return *code;
  const std::string& pattern = cli.positional()[0];
  bool ignore_case = cli.flags().GetBool("ignore-case");
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!ignore_case);
  options.set_max_mem(64 << 20);
  RE2 re(pattern, options);
  if (!re.ok()) return cli.Fail("bad regular expression '" + pattern + "': " + re.error());
  bool literal = !ignore_case && IsLiteral(pattern);

  std::vector<bool> kinds(kEventKindCount, true);
  if (cli.flags().IsSet("kind")) {
    Result<std::vector<bool>> k = ParseKindFilter(cli.flags().GetString("kind"));
    if (!k.ok()) return cli.Fail(k.status());
    kinds = std::move(*k);
  }
  int64_t limit = cli.flags().GetInt("limit");
  if (limit < 0) return cli.Fail("--limit: must be 0 or more");
  bool count_only = cli.flags().GetBool("count");

  Result<StoreHandle> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());

  bool highlight = io.color && !cli.json();
  std::unique_ptr<RE2> highlight_re;
  if (highlight) highlight_re = std::make_unique<RE2>("(" + pattern + ")", options);
  bool json = cli.json();

  // Appends the line printed for e to out when e matches.
  auto match = [&](const Event& e, JsonWriter& w, std::string& out) {
    if (!kinds[static_cast<int>(e.kind)]) return false;
    std::string_view body = e.message;
    if (literal ? body.find(pattern) == std::string_view::npos : !RE2::PartialMatch(body, re)) {
      return false;
    }
    if (count_only) return true;
    if (json) {
      w.Begin();
      AppendEventJson(&w, e, true);
      w.End();
      out += w.str();
    } else {
      out += cli.TableTime(e.event_time_us);
      out += "  ";
      if (e.mac != 0) {
        char mac[12];
        FormatMac(e.mac, mac);
        out.append(mac, 12);
      } else {
        out += "-           ";
      }
      out += "  ";
      re2::StringPiece m;
      if (highlight && RE2::PartialMatch(body, *highlight_re, &m) && !m.empty()) {
        AppendOneLine(&out, body.substr(0, m.data() - body.data()));
        out += ansi::kRed;
        out += ansi::kBold;
        AppendOneLine(&out, std::string_view(m.data(), m.size()));
        out += ansi::kReset;
        AppendOneLine(&out, body.substr(m.data() + m.size() - body.data()));
      } else {
        AppendOneLine(&out, body);
      }
    }
    out.push_back('\n');
    return true;
  };

  std::optional<MacAddress> mac;
  if (cli.flags().IsSet("mac")) {
    Result<MacAddress> m = Cli::ResolveDevice(**store, cli.flags().GetString("mac"));
    if (!m.ok()) return cli.Fail("--mac: " + m.status().message());
    mac = *m;
  }
  const TimeRange& range = cli.range();
  // A fleet-wide scan over a bounded range runs in parallel time slices whose output
  // keeps time order; one device's history, or --limit, is read in one pass.
  int slices = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  if (mac || limit > 0 || range.since_us == INT64_MIN) slices = 1;
  int64_t end = std::min(range.until_us, std::max(cli.now_us(), range.since_us + 1));
  int64_t step = slices == 1 ? 0 : std::max<int64_t>(1, (end - range.since_us) / slices);
  OrderedOutput output(io.out, slices, 64 << 20);
  std::vector<int64_t> matches(slices, 0);
  std::vector<Status> status(slices);
  auto scan = [&](int i) {
    TimeRange slice = range;
    if (slices > 1) {
      slice.since_us = range.since_us + i * step;
      if (i + 1 < slices) slice.until_us = range.since_us + (i + 1) * step;
    }
    JsonWriter w;
    std::string out;
    auto visit = [&](const Event& e) {
      if (!match(e, w, out)) return true;
      ++matches[i];
      if (out.size() >= kChunk) output.Write(i, std::exchange(out, std::string()));
      return limit == 0 || matches[i] < limit;
    };
    status[i] = mac ? (*store)->History(*mac, slice, visit) : (*store)->Scan(slice, visit);
    output.Write(i, std::move(out));
    output.Finish(i);
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < slices; ++i) workers.emplace_back(scan, i);
  std::thread first(scan, 0);
  output.Drain();
  first.join();
  for (auto& t : workers) t.join();
  int64_t total = 0;
  for (int i = 0; i < slices; ++i) {
    if (!status[i].ok()) return cli.Fail("cannot read events: " + status[i].message());
    total += matches[i];
  }
  if (count_only) std::fprintf(io.out, "%lld\n", static_cast<long long>(total));
  if (total == 0) return cli.Nothing("no messages match '" + pattern + "'");
  return kExitFound;
}

}  // namespace resyncwatch
