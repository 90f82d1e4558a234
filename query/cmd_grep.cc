// `resyncwatch grep <RE2>`: searches message bodies across the fleet or one device.
#include <re2/re2.h>

#include <memory>
#include <string>

#include "common/json_writer.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query/event_json.h"

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

bool IsLiteral(std::string_view pattern) {
  return pattern.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos;
}

// Output is buffered here and written in large chunks.
class Sink {
 public:
  explicit Sink(std::FILE* out) : out_(out) { buf_.reserve(kChunk + 4096); }
  ~Sink() { Flush(); }
  std::string& buf() { return buf_; }
  void MaybeFlush() {
    if (buf_.size() >= kChunk) Flush();
  }
  void Flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
    buf_.clear();
  }

 private:
  static constexpr size_t kChunk = 64 * 1024;
  std::FILE* out_;
  std::string buf_;
};

void AppendOneLine(std::string* out, std::string_view text) {
  for (char c : text) {
    out->push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  }
}

}  // namespace

int RunGrep(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagRange | kFlagJson | kFlagUtc,
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

  Result<std::unique_ptr<Store>> store = cli.OpenStore();
  if (!store.ok()) return cli.Fail(store.status());

  Sink sink(io.out);
  JsonWriter w;
  int64_t matches = 0;
  bool highlight = io.color && !cli.json();
  std::unique_ptr<RE2> highlight_re;
  if (highlight) highlight_re = std::make_unique<RE2>("(" + pattern + ")", options);
  auto visit = [&](const Event& e) {
    if (!kinds[static_cast<int>(e.kind)]) return true;
    std::string_view body = e.message;
    if (literal ? body.find(pattern) == std::string_view::npos : !RE2::PartialMatch(body, re)) {
      return true;
    }
    ++matches;
    if (count_only) return limit == 0 || matches < limit;
    std::string& out = sink.buf();
    if (cli.json()) {
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
    sink.MaybeFlush();
    return limit == 0 || matches < limit;
  };

  Status s;
  if (cli.flags().IsSet("mac")) {
    Result<MacAddress> mac = Cli::ResolveDevice(**store, cli.flags().GetString("mac"));
    if (!mac.ok()) return cli.Fail("--mac: " + mac.status().message());
    s = (*store)->History(*mac, cli.range(), visit);
  } else {
    s = (*store)->Scan(cli.range(), visit);
  }
  if (!s.ok()) return cli.Fail("cannot read events: " + s.message());
  if (count_only) sink.buf() += std::to_string(matches) + "\n";
  sink.Flush();
  if (matches == 0) return cli.Nothing("no messages match '" + pattern + "'");
  return kExitFound;
}

}  // namespace resyncwatch
