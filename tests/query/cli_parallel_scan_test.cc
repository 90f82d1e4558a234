// fleet and grep cut a bounded range into parallel time slices; their results must equal
// one sequential scan of the same events (an unbounded range is scanned in one pass).
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "parsers/parsers.h"
#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {
namespace {

constexpr int kCycles = 24;
constexpr int kPhones = 40;

// Attempt n (from 1) of the fleet, by phone d in cycle c, fails.
bool Fails(int c, int d) {
  int n = c * kPhones + d + 1;
  return n % 7 == 0 || (c == kCycles - 1 && d % 5 == 0);
}

// 40 phones resyncing every 30 minutes for 12 hours; every 7th attempt fails, and in the
// last cycle every 5th phone fails too.
void WriteBusyFleet(const std::string& dir) {
  auto store = Store::Open(dir, {});
  REQUIRE(store.ok());
  const char* errors[] = {"http_get failed", "corrupt file", "tftp timeout"};
  WriteBatch batch;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    for (int d = 0; d < kPhones; ++d) {
      std::string mac = FormatMac(0x000e08100000ULL + d);
      std::string model = d % 2 ? "CP-8851-3PCC" : "CP-7841-3PCC";
      std::string url =
          "http://10.23.45." + std::to_string(60 + d % 3) + ":80/cisco/" + mac + ".cfg";
      int64_t t = kT0 + cycle * 1800 * kSec + d * 17 * kSec;
      batch.events.push_back(
          MakeEvent(EventKind::kResyncRequest, mac, model, t, url, "10.1.0.1:514"));
      bool fail = Fails(cycle, d);
      batch.events.push_back(
          fail ? MakeEvent(EventKind::kResyncFailure, mac, model, t + 900000, errors[d % 3],
                           "10.1.0.1:514")
               : MakeEvent(EventKind::kResyncSuccess, mac, model, t + 900000, url, "10.1.0.1:514"));
    }
  }
  REQUIRE((*store)->Write(batch).ok());
  REQUIRE((*store)->Flush().ok());
}

}  // namespace

TEST_CASE("fleet over parallel time slices agrees with one sequential scan") {
  TempDir dir;
  WriteBusyFleet(dir.path());
  for (const char* by : {"", "model", "server", "error", "hour"}) {
    INFO("--by " << by);
    std::vector<std::string> seq = {"fleet", "--json", "--db", dir.path()};
    std::vector<std::string> par = {"fleet",   "--json",
                                    "--db",    dir.path(),
                                    "--since", "2026-11-25T07:00:00Z",
                                    "--until", "2026-11-26T07:00:00Z"};
    if (*by) {
      for (auto* v : {&seq, &par}) {
        v->push_back("--by");
        v->push_back(by);
      }
    }
    CliRun a = RunCli(seq);
    CliRun b = RunCli(par);
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    if (*by) {
      CHECK(a.out == b.out);
    } else {
      // The whole-fleet object also echoes the range and sizes its chart buckets to it;
      // compare the figures in between.
      auto figures = [](const std::string& out) {
        size_t from = out.find("\"events\"");
        return out.substr(from, out.find("\"buckets\"") - from);
      };
      CHECK(figures(a.out) == figures(b.out));
      int last_failed = 0;
      for (int d = 0; d < kPhones; ++d) last_failed += Fails(kCycles - 1, d);
      CHECK(a.out.find("\"devices_last_failed\":" + std::to_string(last_failed) + ",") !=
            std::string::npos);
    }
  }
}

TEST_CASE("grep over parallel time slices prints the same lines in time order") {
  TempDir dir;
  WriteBusyFleet(dir.path());
  CliRun seq = RunCli({"grep", "resync", "--db", dir.path(), "--utc"});
  CliRun par = RunCli({"grep", "resync", "--db", dir.path(), "--utc", "--since", "2026-11-25",
                       "--until", "2026-11-27"});
  REQUIRE(seq.exit_code == 0);
  REQUIRE(par.exit_code == 0);
  size_t failures = 0;
  for (int c = 0; c < kCycles; ++c) {
    for (int d = 0; d < kPhones; ++d) failures += Fails(c, d);
  }
  // Every request and success says "resync"; failures say "Resync failed".
  CHECK(seq.OutLines().size() == kCycles * kPhones * 2 - failures);
  CHECK(par.out == seq.out);
  auto lines = par.OutLines();
  CHECK(std::is_sorted(lines.begin(), lines.end()));  // lines start with the time
}

}  // namespace resyncwatch::testing
