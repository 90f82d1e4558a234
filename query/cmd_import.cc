// `resyncwatch import FILE...`: loads syslog archives into the store, as rsyslog and
// syslog-ng write them (one message per line, with or without their own timestamp and
// host), gzip-compressed or not, and JSON lines with a `message`/`msg` field. Events take
// the messages' own timestamps; re-importing a file stores nothing twice. While a
// collector runs on the store, the batches go through its query socket and its writer;
// otherwise the store is opened here.
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>

#include "common/counter_names.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "parsers/parsers.h"
#include "query/cli_common.h"
#include "query/command.h"
#include "query_socket/query_socket.h"
#include "store/store.h"

namespace resyncwatch {
namespace {

constexpr CommandHelp kHelp = {
    "import",
    "resyncwatch import [--db DIR] [--year YYYY] [--config FILE] FILE...",
    "Loads archived syslog into the store: rsyslog / syslog-ng files (one message per\n"
    "line, with or without their own timestamp and host), gzip files (detected by their\n"
    "magic bytes), and JSON lines with a \"message\" or \"msg\" field (and optionally\n"
    "\"timestamp\" / \"@timestamp\"). Each event is ordered by the message's own time; a\n"
    "year-less timestamp takes its year from the file's modification time (or --year).\n"
    "Lines that parse to nothing are kept as raw lines. Importing the same file again\n"
    "stores nothing twice. While resyncwatchd runs on the store, the archive goes through\n"
    "it (its query socket) and its events appear at once; if either side stops midway,\n"
    "run the same import again: what was stored is skipped.",
    "  resyncwatch import /var/log/phones.log /var/log/phones.log.1.gz\n"
    "  resyncwatch import --year 2025 --db ./var/resyncwatch archive/*.log\n"
    "  resyncwatch import relay.jsonl --json     # summary as one JSON object\n",
};

constexpr size_t kBatchEvents = 4096;
// A batch is also cut at this many bytes of lines, so that it stays far below the query
// socket's frame limit (16 MiB) when it goes through the collector.
constexpr size_t kBatchBytes = 4 << 20;

struct Totals {
  uint64_t lines = 0, events = 0, raw = 0, duplicates = 0;
};

// A JSON line from a log relay: its message text and, when present, its timestamp.
bool FromJsonLine(simdjson::ondemand::parser& parser, std::string_view line, std::string* message,
                  std::optional<int64_t>* time_us) {
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return false;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return false;
  bool found = false;
  time_us->reset();
  for (auto field : obj) {
    std::string_view key, value;
    if (field.unescaped_key().get(key)) return false;
    if (key != "message" && key != "msg" && key != "timestamp" && key != "@timestamp") continue;
    if (field.value().get_string().get(value)) continue;
    if (key == "message" || (key == "msg" && !found)) {
      message->assign(value);
      found = true;
    } else if (key == "timestamp" || key == "@timestamp") {
      if (auto t = ParseIso8601(value)) *time_us = *t;
    }
  }
  return found;
}

// Where the batches go: the store opened here, or the running collector.
using BatchWriter = std::function<Result<WriteResult>(WriteBatch&)>;

// A random nonzero id for one file's import run (WriteBatch::import_session).
uint64_t NewImportRun() {
  std::random_device random;
  uint64_t run = 0;
  while (run == 0) run = (uint64_t{random()} << 32) ^ random();
  return run;
}

class Importer {
 public:
  Importer(BatchWriter write, const TemplateSet& templates, std::optional<int> year, CommandIo& io)
      : write_(std::move(write)), templates_(templates), year_(year), io_(io) {}

  Status ImportFile(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::NotFound("cannot read " + path);
    const int64_t mtime_us =
        static_cast<int64_t>(st.st_mtim.tv_sec) * kMicrosPerSecond + st.st_mtim.tv_nsec / 1000;
    // zlib reads gzip files (found by their magic bytes) and passes other files through.
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) return Status::IoError("cannot open " + path);
    gzbuffer(file, 1 << 17);
    const std::string source = "file:" + path.substr(path.find_last_of('/') + 1);
    // One import run per file: its own repeated lines are all kept, however far apart,
    // and what an earlier file (or run) stored is skipped.
    run_ = NewImportRun();
    // Every event of a run is stamped received at the run's start: one time for the whole
    // file, which the store keeps in a few bytes (a clock read per line would be a
    // different number in every event, about 5 bytes of each after compression).
    run_started_us_ = io_.clock->NowMicros();
    ParseContext ctx;
    ctx.reference_us = mtime_us;
    ctx.year = year_;
    file_size_ = static_cast<uint64_t>(st.st_size);
    path_ = path;
    std::string pending, json_message;
    std::vector<char> buf(1 << 17);
    Status status;
    for (;;) {
      int n = gzread(file, buf.data(), static_cast<unsigned>(buf.size()));
      if (n < 0) {
        int errnum;
        status = Status::IoError(path + ": " + gzerror(file, &errnum));
        break;
      }
      if (n == 0) break;
      pending.append(buf.data(), n);
      size_t start = 0, nl;
      while ((nl = pending.find('\n', start)) != std::string::npos) {
        status = Line(std::string_view(pending).substr(start, nl - start), ctx, mtime_us, source,
                      &json_message);
        if (!status.ok()) break;
        start = nl + 1;
      }
      pending.erase(0, start);
      if (!status.ok()) break;
      Progress(static_cast<uint64_t>(gzoffset(file)));
    }
    if (status.ok() && !pending.empty()) {
      status = Line(pending, ctx, mtime_us, source, &json_message);
    }
    gzclose(file);
    if (status.ok()) status = Commit();
    return status;
  }

  void ClearProgress() {
    if (tty_progress_) std::fputs("\r\x1b[K", io_.err);
  }
  const Totals& totals() const { return totals_; }

 private:
  Status Line(std::string_view line, const ParseContext& ctx, int64_t mtime_us,
              const std::string& source, std::string* json_message) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return Status::Ok();
    ++totals_.lines;
    batch_bytes_ += line.size();
    std::optional<int64_t> json_time;
    std::string_view text = line;
    if (line.front() == '{' && FromJsonLine(json_parser_, line, json_message, &json_time)) {
      text = *json_message;
    }
    ParseContext line_ctx = ctx;
    if (json_time) line_ctx.reference_us = *json_time;
    Parse(text, templates_, line_ctx, &parsed_);
    if (parsed_.format == SyslogFormat::kRaw) {
      // Raw lines are keyed by the file's time so that a re-import finds them again.
      batch_.raw.push_back({0, json_time.value_or(mtime_us), source,
                            std::string(parsed_.raw_reason), std::string(parsed_.message)});
    } else {
      Event e = EventFromParsed(parsed_, run_started_us_, source, /*use_message_time=*/true);
      if (!parsed_.message_time_us) e.event_time_us = json_time.value_or(mtime_us);
      batch_.events.push_back(std::move(e));
    }
    if (batch_.events.size() + batch_.raw.size() >= kBatchEvents || batch_bytes_ >= kBatchBytes) {
      return Commit();
    }
    return Status::Ok();
  }

  Status Commit() {
    if (batch_.events.empty() && batch_.raw.empty()) return Status::Ok();
    batch_.skip_duplicates = true;
    batch_.import_session = run_;
    batch_.counter_deltas[std::string(CounterName(Counter::kImportedLines))] =
        static_cast<int64_t>(batch_.events.size() + batch_.raw.size());
    auto r = write_(batch_);
    batch_ = WriteBatch();
    batch_bytes_ = 0;
    if (!r.ok()) return r.status();
    totals_.events += r->events_stored;
    totals_.raw += r->raw_stored;
    totals_.duplicates += r->duplicates_skipped;
    return Status::Ok();
  }

  void Progress(uint64_t offset) {
    if (!tty_progress_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < std::chrono::milliseconds(200)) return;
    last_progress_ = now;
    const double frac = file_size_ ? std::min(1.0, double(offset) / double(file_size_)) : 1.0;
    const int width = 30, filled = static_cast<int>(frac * width);
    std::string bar(filled, '#');
    bar.append(width - filled, '.');
    std::fprintf(io_.err, "\r\x1b[K%s [%s] %3.0f%%  %llu lines", path_.c_str(), bar.c_str(),
                 frac * 100, static_cast<unsigned long long>(totals_.lines));
    std::fflush(io_.err);
  }

  BatchWriter write_;
  const TemplateSet& templates_;
  std::optional<int> year_;
  CommandIo& io_;
  const bool tty_progress_ = isatty(fileno(io_.err)) == 1;
  std::chrono::steady_clock::time_point last_progress_;
  simdjson::ondemand::parser json_parser_;
  ParsedMessage parsed_;
  WriteBatch batch_;
  uint64_t run_ = 0;
  int64_t run_started_us_ = 0;
  size_t batch_bytes_ = 0;
  Totals totals_;
  uint64_t file_size_ = 0;
  std::string path_;
};

}  // namespace

int RunImport(std::span<const std::string_view> args, CommandIo& io) {
  Cli cli(kHelp, kFlagDb | kFlagJson,
          {{"year", FlagType::kInt, "", "YYYY",
            "year of year-less timestamps (default: from "
            "each file's modification time)"},
           {"config", FlagType::kString, "", "FILE",
            "resyncwatch config file; its \"templates\" key sets the message templates"}},
          io);
  if (std::optional<int> code = cli.Parse(args, 1, SIZE_MAX)) return *code;
  std::optional<int> year;
  if (cli.flags().IsSet("year")) {
    int64_t y = cli.flags().GetInt("year");
    if (y < 1970 || y > 9999) return cli.Fail("--year: '" + std::to_string(y) + "' is not a year");
    year = static_cast<int>(y);
  }
  auto templates = LoadTemplates(cli.flags().GetString("config"));
  if (!templates.ok()) return cli.Fail(templates.status());
  for (const std::string& path : cli.positional()) {
    if (::access(path.c_str(), R_OK) != 0) return cli.Fail("cannot read " + path);
  }
  const std::string dir = cli.flags().IsSet("db") ? cli.flags().GetString("db") : DefaultStoreDir();
  // A running collector owns the store: the batches go through it. Without one, the
  // store is opened here (and refused, naming the reason, if something else holds it).
  std::unique_ptr<QueryClient> collector;
  std::unique_ptr<Store> store;
  if (Result<std::unique_ptr<QueryClient>> c = QueryClient::ConnectToWriter(dir); c.ok()) {
    collector = std::move(*c);
  } else {
    Result<std::unique_ptr<Store>> opened = Store::Open(dir, StoreOptions());
    if (!opened.ok()) return cli.Fail(opened.status());
    store = std::move(*opened);
  }
  BatchWriter write = [&](WriteBatch& batch) -> Result<WriteResult> {
    if (store) return store->Write(batch);
    Result<WriteResult> r = collector->Import(batch);
    if (r.ok() || r.status().code() == Status::Code::kUnsupported) return r;
    return Status::IoError("the collector stopped taking the import (" + r.status().message() +
                           "); run the same import again: what was stored is skipped");
  };
  Importer importer(write, *templates, year, io);
  Status s;
  for (const std::string& path : cli.positional()) {
    if (s = importer.ImportFile(path); !s.ok()) break;
  }
  importer.ClearProgress();
  // Compacted, what an import wrote takes a third of the space and a cold reader opens a
  // few bottommost files (docs/performance.md); a collector compacts its own store.
  if (s.ok() && store) s = store->Compact();
  if (!s.ok()) return cli.Fail(s);
  const Totals& t = importer.totals();
  if (cli.json()) {
    JsonWriter w;
    w.Begin();
    w.Int("lines_read", static_cast<int64_t>(t.lines));
    w.Int("events_stored", static_cast<int64_t>(t.events));
    w.Int("raw_lines", static_cast<int64_t>(t.raw));
    w.Int("duplicates_skipped", static_cast<int64_t>(t.duplicates));
    w.End();
    std::fprintf(io.out, "%s\n", w.str().c_str());
  } else {
    std::fprintf(io.out,
                 "imported %zu file(s): %llu lines read, %llu events stored, %llu raw lines, "
                 "%llu duplicates skipped%s\n",
                 cli.positional().size(), static_cast<unsigned long long>(t.lines),
                 static_cast<unsigned long long>(t.events), static_cast<unsigned long long>(t.raw),
                 static_cast<unsigned long long>(t.duplicates),
                 collector ? " (through the running collector)" : "");
  }
  return kExitFound;
}

}  // namespace resyncwatch
