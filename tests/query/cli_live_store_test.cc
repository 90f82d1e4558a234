// The CLI reads a store while resyncwatchd-like writer keeps writing to it: each run
// opens a fresh secondary and sees what was committed before it started.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {

TEST_CASE("the CLI sees events written while it queries a live store") {
  TempDir dir;
  auto opened = Store::Open(dir.path(), {});
  REQUIRE(opened.ok());
  std::unique_ptr<Store> store = std::move(*opened);
  const char* mac = "00:0e:08:12:34:56";
  const char* url = "https://prov.example.net:443/cisco/000e08123456.xml";

  // The writer adds request/success pairs (one per batch, a second apart in event time)
  // up to a target that the test raises before each query, so writes overlap the runs.
  std::mutex mu;
  std::condition_variable cv;
  int target = 0;
  bool stop = false;
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0;; ++i) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || i < target; });
        if (stop) return;
      }
      WriteBatch batch;
      int64_t t = kT0 + i * kSec;
      batch.events.push_back(
          MakeEvent(EventKind::kResyncRequest, mac, "CP-7841-3PCC", t, url, "10.9.0.5:514"));
      batch.events.push_back(MakeEvent(EventKind::kResyncSuccess, mac, "CP-7841-3PCC", t + 300000,
                                       url, "10.9.0.5:514"));
      batch.counter_deltas["received_datagrams"] = 2;
      if (!store->Write(batch).ok()) return;
      written.fetch_add(1);
    }
  });
  auto raise_target = [&](int by) {
    std::lock_guard<std::mutex> lock(mu);
    target += by;
    cv.notify_all();
  };

  // Each run must see at least what was committed before it started, and later runs
  // must see more: the reader follows the writer. Bounded by a deadline, not a sleep.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int first_seen = -1;
  bool followed = false;
  int runs = 0;
  raise_target(1);
  while (std::chrono::steady_clock::now() < deadline && !followed) {
    raise_target(200);
    int before = written.load();
    CliRun r = RunCli({"grep", "Successful resync", "--mac", mac, "--count", "--db", dir.path()});
    ++runs;
    if (before == 0 && r.exit_code == 1) continue;  // nothing committed yet
    REQUIRE(r.exit_code == 0);
    int seen = std::stoi(r.out);
    CHECK(seen >= before);
    if (first_seen < 0) {
      first_seen = seen;
    } else if (seen > first_seen) {
      followed = true;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  }
  writer.join();
  CHECK(followed);
  INFO("runs: " << runs);

  // After the writer stops, history and stats agree with what was written.
  int total = written.load();
  CliRun history = RunCli({"history", mac, "--csv", "--db", dir.path()});
  REQUIRE(history.exit_code == 0);
  CHECK(history.OutLines().size() == static_cast<size_t>(1 + 2 * total));
  CliRun stats = RunCli({"stats", "--json", "--db", dir.path()});
  CHECK(stats.out.find("\"received_datagrams\":" + std::to_string(2 * total)) != std::string::npos);
}

}  // namespace resyncwatch::testing
