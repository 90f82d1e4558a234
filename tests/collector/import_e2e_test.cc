// End to end: `resyncwatch import` into a running resyncwatchd (through its query socket),
// and an import that either side abandons midway, resumed to exact counts.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "child.h"
#include "e2e_programs.h"
#include "harness.h"
#include "stored.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

std::vector<std::string> Import(const std::string& db, const std::string& file) {
  return {kCli, "import", file, "--db", db, "--year", "2026", "--json"};
}

// The lines imports have sent to the store so far, read beside the running collector.
int64_t ImportedLines(const std::string& db) {
  StoreOptions options;
  options.mode = StoreOptions::Mode::kReadOnlyView;
  options.create_if_missing = false;
  auto store = Store::Open(db, options);
  if (!store.ok()) return 0;
  auto counters = (*store)->Counters();
  if (!counters.ok()) return 0;
  auto it = counters->find("imported_lines");
  return it == counters->end() ? 0 : it->second;
}

int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::string marker = "\"" + key + "\":";
  size_t at = json.find(marker);
  if (at == std::string::npos) return -1;
  return std::stoll(json.substr(at + marker.size()));
}

}  // namespace

TEST_CASE("import while the collector runs goes through it and its events appear at once") {
  TempDir dir;
  const std::string db = dir.Join("db");
  Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string archive = std::string(RESYNCWATCH_TEST_DATA) + "/store/rsyslog_archive.log";
  std::string out;
  REQUIRE(RunCapture({kCli, "import", archive, "--db", db, "--year", "2026"}, &out) == 0);
  CHECK(out.find("8 events stored") != std::string::npos);
  CHECK(out.find("(through the running collector)") != std::string::npos);

  // The collector answers history with them at once, through the same socket.
  std::string history;
  REQUIRE(RunCapture({kCli, "history", "00:12:34:ab:45:de", "--db", db, "--json"}, &history) == 0);
  CHECK(std::count(history.begin(), history.end(), '\n') == 4);
  CHECK(history.find("\"source\":\"file:rsyslog_archive.log\"") != std::string::npos);
  // Again: every line is a duplicate now.
  REQUIRE(RunCapture(Import(db, archive), &out) == 0);
  CHECK(JsonInt(out, "events_stored") == 0);
  CHECK(JsonInt(out, "duplicates_skipped") == 8);
  CHECK(daemon.Stop(SIGTERM) == 0);
  CHECK(StoredEvents(db).size() == 8);
}

TEST_CASE("An import cut by killing the collector, then the importer, resumes to exact counts") {
  TempDir dir;
  const std::string db = dir.Join("db");
  // 200,000 distinct lines of 2,000 phones, one of every 1,000 unparseable (kept raw).
  constexpr int kLines = 200000;
  std::string text;
  int raw = 0;
  for (int i = 0; i < kLines; ++i) {
    if (i % 1000 == 999) {
      text += "<999>not syslog " + std::to_string(i) + "\n";
      ++raw;
      continue;
    }
    char line[200];
    std::snprintf(line, sizeof line,
                  "Nov 25 %02d:%02d:%02d 10.1.2.3 phone CP-8851-3PCC 00:12:34:%02x:%02x:de -- "
                  "Resync failed: http_get failed %d\n",
                  i / 3600 % 24, i / 60 % 60, i % 60, i % 2000 / 100, i % 100, i);
    text += line;
  }
  const std::string archive = dir.Join("phones.log");
  WriteFileText(archive, text);
  const int64_t events = kLines - raw;

  // 1. The collector is killed while the import runs: the import fails, saying so. The
  // archive's first half reaches the importer through a pipe named and timed like the file
  // (the same source, and raw lines keyed by the same time), and the collector is killed
  // while the importer waits for the rest: it cannot have finished first, however the
  // machine schedules it.
  const std::string pipe = dir.Join("pipe/phones.log");
  std::filesystem::create_directories(dir.Join("pipe"));
  REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
  struct stat file_times;
  REQUIRE(::stat(archive.c_str(), &file_times) == 0);
  const timespec times[2] = {file_times.st_atim, file_times.st_mtim};
  REQUIRE(::utimensat(AT_FDCWD, pipe.c_str(), times, 0) == 0);
  {
    Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
    REQUIRE(daemon.WaitListening());
    Child import(Import(db, pipe));
    // An importer that exits early makes the writes fail (EPIPE, not a signal that would end
    // the test without its message), and the open waits for it with a deadline, not forever.
    ::signal(SIGPIPE, SIG_IGN);
    int fd = -1;
    REQUIRE(WaitUntil([&] {
      fd = ::open(pipe.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // ENXIO until it reads
      return fd >= 0;
    }));
    REQUIRE(::fcntl(fd, F_SETFL, 0) == 0);
    std::FILE* writer = ::fdopen(fd, "w");
    REQUIRE(writer != nullptr);
    const size_t half = text.find('\n', text.size() / 2) + 1;
    REQUIRE(std::fwrite(text.data(), 1, half, writer) == half);
    REQUIRE(std::fflush(writer) == 0);
    REQUIRE(WaitUntil([&] { return ImportedLines(db) > 0; }, std::chrono::seconds(60)));
    daemon.Stop(SIGKILL);
    std::fclose(writer);  // the end: the importer's last batch goes to a dead collector
    CHECK(import.Finish() == 2);
    INFO(import.err);
    CHECK(import.err.find("run the same import again") != std::string::npos);
  }
  const int64_t after_first = ImportedLines(db);
  INFO("lines stored before the collector was killed: " << after_first);
  CHECK(after_first < kLines);

  Daemon daemon(kDaemon, {"--db", db, "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  // 2. The importer is killed while its second run goes through the restarted collector.
  {
    Child import(Import(db, archive));
    REQUIRE(WaitUntil([&] { return ImportedLines(db) > after_first; }, std::chrono::seconds(60)));
    import.Signal(SIGKILL);
    import.Finish();
  }
  // 3. The same import again completes: what was stored is skipped, the rest stored.
  std::string out;
  REQUIRE(RunCapture(Import(db, archive), &out) == 0);
  INFO(out);
  CHECK(JsonInt(out, "lines_read") == kLines);
  CHECK(JsonInt(out, "events_stored") + JsonInt(out, "raw_lines") +
            JsonInt(out, "duplicates_skipped") ==
        kLines);
  CHECK(JsonInt(out, "events_stored") + JsonInt(out, "raw_lines") < kLines);
  REQUIRE(daemon.Stop(SIGTERM) == 0);

  // Exactly one of each line, and a fourth run (the store opened here) stores nothing.
  CHECK(static_cast<int64_t>(StoredEvents(db).size()) == events);
  REQUIRE(RunCapture(Import(db, archive), &out) == 0);
  CHECK(JsonInt(out, "events_stored") == 0);
  CHECK(JsonInt(out, "raw_lines") == 0);
  CHECK(JsonInt(out, "duplicates_skipped") == kLines);
  std::map<std::string, int64_t> counters = StoredCounters(db);
  CHECK(counters["stored_events"] == events);
  CHECK(counters["stored_raw"] == raw);
}
