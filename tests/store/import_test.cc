#include <sys/stat.h>
#include <utime.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "query/command.h"
#include "store/store.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using resyncwatch::testing::TempDir;

namespace resyncwatch {
int RunImport(std::span<const std::string_view> args, CommandIo& io);
}

namespace {

const std::string kData = RESYNCWATCH_STORE_TEST_DATA;

struct Run {
  int code;
  std::string out, err;
};

Run Import(std::vector<std::string> argv) {
  std::vector<std::string_view> args(argv.begin(), argv.end());
  char *out_buf = nullptr, *err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
  CommandIo io;
  io.out = open_memstream(&out_buf, &out_len);
  io.err = open_memstream(&err_buf, &err_len);
  int code = RunImport(args, io);
  std::fclose(io.out);
  std::fclose(io.err);
  Run r{code, std::string(out_buf, out_len), std::string(err_buf, err_len)};
  free(out_buf);
  free(err_buf);
  return r;
}

std::string CopyWithMtime(const std::string& from, const std::string& to, int64_t mtime_s) {
  std::filesystem::copy_file(from, to);
  utimbuf times{static_cast<time_t>(mtime_s), static_cast<time_t>(mtime_s)};
  utime(to.c_str(), &times);
  return to;
}

std::vector<Event> AllEvents(const std::string& db) {
  StoreOptions ro;
  ro.mode = StoreOptions::Mode::kReadOnlySecondary;
  auto store = Store::Open(db, ro);
  REQUIRE(store.ok());
  std::vector<Event> out;
  REQUIRE((*store)
              ->Scan({},
                     [&](const Event& e) {
                       out.push_back(e);
                       return true;
                     })
              .ok());
  return out;
}

int64_t At(const char* iso) { return *ParseIso8601(iso); }

}  // namespace

TEST_CASE("Import of an rsyslog archive orders events by the messages' own timestamps") {
  TempDir tmp;
  const std::string log = CopyWithMtime(kData + "/rsyslog_archive.log", tmp.Join("phones.log"),
                                        At("2026-11-25T09:00:00Z") / 1'000'000);
  Run r = Import({"--db", tmp.Join("db"), log});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("8 lines read, 8 events stored, 0 raw lines, 0 duplicates skipped") !=
        std::string::npos);
  auto events = AllEvents(tmp.Join("db"));
  REQUIRE(events.size() == 8);
  CHECK(events.front().event_time_us == At("2026-11-25T08:00:01Z"));
  CHECK(events.front().mac == 0x001234ab45de);
  CHECK(events.back().event_time_us == At("2026-11-25T08:02:00Z"));
  for (size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i - 1].event_time_us <= events[i].event_time_us);
  }
  for (const Event& e : events) CHECK(e.source == "file:phones.log");
  StoreOptions ro;
  ro.mode = StoreOptions::Mode::kReadOnlySecondary;
  auto store = Store::Open(tmp.Join("db"), ro);
  REQUIRE(store.ok());
  auto device = (*store)->GetDevice(0x001234ab45de);
  REQUIRE(device.ok());
  CHECK(device->successes == 1);
  CHECK(device->consecutive_failures == 0);
  CHECK(device->last_success_us == At("2026-11-25T08:01:03Z"));
}

TEST_CASE("Importing the same archive again, gzip-compressed or not, stores nothing twice") {
  TempDir tmp;
  const int64_t mtime = At("2026-11-25T09:00:00Z") / 1'000'000;
  const std::string log =
      CopyWithMtime(kData + "/rsyslog_archive.log", tmp.Join("phones.log"), mtime);
  {
    std::ifstream in(log, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gzFile gz = gzopen(tmp.Join("phones.log.1.gz").c_str(), "wb");
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
    utimbuf times{static_cast<time_t>(mtime), static_cast<time_t>(mtime)};
    utime(tmp.Join("phones.log.1.gz").c_str(), &times);
  }
  REQUIRE(Import({"--db", tmp.Join("db"), log}).code == 0);
  Run again = Import({"--db", tmp.Join("db"), "--json", tmp.Join("phones.log.1.gz"), log});
  INFO(again.err);
  REQUIRE(again.code == 0);
  CHECK(again.out ==
        "{\"lines_read\":16,\"events_stored\":0,\"raw_lines\":0,\"duplicates_skipped\":16}\n");
  CHECK(AllEvents(tmp.Join("db")).size() == 8);
}

TEST_CASE("A gzip archive alone is read through its magic bytes") {
  TempDir tmp;
  const std::string path = tmp.Join("archive");  // no .gz suffix on purpose
  gzFile gz = gzopen(path.c_str(), "wb");
  std::string line =
      "Nov 25 08:00:01 10.1.2.3 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed\n";
  gzwrite(gz, line.data(), static_cast<unsigned>(line.size()));
  gzclose(gz);
  Run r = Import({"--db", tmp.Join("db"), "--year", "2025", path});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto events = AllEvents(tmp.Join("db"));
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kResyncFailure);
  CHECK(events[0].event_time_us == At("2025-11-25T08:00:01Z"));  // --year wins
}

TEST_CASE("JSON lines from a relay are imported from their message or msg field") {
  TempDir tmp;
  const std::string path = CopyWithMtime(kData + "/relay.jsonl", tmp.Join("relay.jsonl"),
                                         At("2026-11-26T00:00:00Z") / 1'000'000);
  Run r = Import({"--db", tmp.Join("db"), path});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("3 lines read") != std::string::npos);
  auto events = AllEvents(tmp.Join("db"));
  std::vector<Event> failures;
  for (const Event& e : events) {
    if (e.kind == EventKind::kResyncFailure) failures.push_back(e);
  }
  REQUIRE(failures.size() == 2);
  CHECK(failures[0].mac == 0x000e08778899);
  CHECK(failures[0].event_time_us == At("2026-11-25T08:03:00Z"));  // the message's own stamp
  CHECK(failures[1].mac == 0x000e08aaa010);
  CHECK(failures[1].event_time_us == At("2026-11-25T08:04:00Z"));  // the relay's timestamp
  CHECK(failures[1].error == "corrupt file");
}

TEST_CASE("Import of a missing file or into a store held by a writer fails with one line") {
  TempDir tmp;
  Run missing = Import({"--db", tmp.Join("db"), tmp.Join("nope.log")});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("nope.log") != std::string::npos);
  auto writer = Store::Open(tmp.Join("db"), {});
  REQUIRE(writer.ok());
  Run busy = Import({"--db", tmp.Join("db"), kData + "/relay.jsonl"});
  CHECK(busy.code == 2);
  CHECK(busy.err.find("open for writing by another process") != std::string::npos);
  CHECK(std::count(busy.err.begin(), busy.err.end(), '\n') == 1);
}
