#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "store/store.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

// Starts the writer child; returns its pid and the read end of its stdout.
std::pair<pid_t, int> SpawnWriter(const std::string& dir, long first_batch) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::string first = std::to_string(first_batch);
    execl(RESYNCWATCH_CRASH_WRITER, RESYNCWATCH_CRASH_WRITER, dir.c_str(), first.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads whole lines of batch numbers available on fd until the deadline (or EOF).
bool ReadReported(int fd, std::string* buf, std::set<long>* reported,
                  std::chrono::steady_clock::time_point deadline) {
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    timeval tv{0, 5000};
    if (select(fd + 1, &set, nullptr, nullptr, &tv) <= 0) continue;
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buf->append(chunk, n);
    size_t nl;
    while ((nl = buf->find('\n')) != std::string::npos) {
      reported->insert(std::stol(buf->substr(0, nl)));
      buf->erase(0, nl + 1);
    }
  }
  return true;
}

}  // namespace

TEST_CASE("A writer killed with SIGKILL at random moments loses no committed batch") {
  TempDir tmp;
  std::mt19937 rng(std::random_device{}());
  std::set<long> reported;
  long next_batch = 0;
  for (int round = 0; round < 6; ++round) {
    auto [pid, fd] = SpawnWriter(tmp.path(), next_batch);
    std::string buf;
    // Wait (bounded) until the child has committed something, then kill it at a random
    // moment of its writing.
    const size_t before = reported.size();
    const auto started_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (reported.size() == before && std::chrono::steady_clock::now() < started_deadline) {
      if (!ReadReported(fd, &buf, &reported,
                        std::chrono::steady_clock::now() + std::chrono::milliseconds(10))) {
        break;
      }
    }
    ReadReported(fd, &buf, &reported,
                 std::chrono::steady_clock::now() + std::chrono::milliseconds(rng() % 300));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Whatever the child printed before it died was committed.
    ReadReported(fd, &buf, &reported,
                 std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    close(fd);
    INFO("round " << round);
    REQUIRE(WIFSIGNALED(status));

    auto opened = Store::Open(tmp.path(), {});
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    auto& store = *opened;
    std::map<long, int> per_batch;
    std::map<MacAddress, uint64_t> per_device;
    REQUIRE(store
                ->Scan({},
                       [&](const Event& e) {
                         ++per_batch[CrashBatchOf(e.event_time_us)];
                         ++per_device[e.mac];
                         return true;
                       })
                .ok());
    for (long b : reported) {
      INFO("batch " << b);
      CHECK(per_batch.count(b) == 1);
    }
    for (const auto& [b, n] : per_batch) {
      INFO("batch " << b);
      CHECK(n == kCrashBatchEvents);  // atomic: all or nothing
    }
    // Index and summaries agree with the events, whatever moment the kill hit.
    uint64_t summary_events = 0;
    REQUIRE(store
                ->ForEachDevice([&](const DeviceSummary& d) {
                  summary_events += d.events;
                  CHECK(d.events == per_device[d.mac]);
                  return true;
                })
                .ok());
    uint64_t scanned = 0;
    for (const auto& [mac, n] : per_device) scanned += n;
    CHECK(summary_events == scanned);
    const MacAddress probe = per_device.empty() ? 0 : per_device.begin()->first;
    uint64_t history = 0;
    REQUIRE(store->History(probe, {}, [&](const Event&) { return ++history, true; }).ok());
    CHECK(history == per_device[probe]);
    next_batch = per_batch.empty() ? 0 : per_batch.rbegin()->first + 1;
  }
  CHECK(reported.size() >= 6);  // every round committed at least one batch
}
