#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/store.h"
#include "tests/store/store_checks.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

// A small tmpfs mounted for the test's lifetime (needs CAP_SYS_ADMIN).
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    mounted_ = mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=24m") == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// A store at dir whose files go through the fault seam `faults` (with `options` besides).
std::unique_ptr<Store> OpenWithFaults(const std::string& dir,
                                      const std::shared_ptr<StoreFaults>& faults,
                                      StoreOptions options = {}) {
  options.faults = faults;
  auto opened = Store::Open(dir, options);
  REQUIRE(opened.ok());
  return std::move(*opened);
}

}  // namespace

// The real thing, kept beside the fault-seam tests below: RocksDB's own POSIX file system
// hitting ENOSPC in foreground and background writes, and free space really returning.
// Skipped where no tmpfs can be mounted.
TEST_CASE("Disk full: Write reports an I/O error and resumes storing when space returns") {
  TempDir tmp;
  SmallTmpfs fs(tmp.Join("mnt"));
  if (!fs.mounted()) {
    WARN("skipped: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)");
    return;
  }
  const std::string dir = tmp.Join("mnt/store");
  const std::string ballast = tmp.Join("mnt/ballast");
  StoreOptions options;
  options.index_flush_events = 500;
  auto opened = Store::Open(dir, options);
  REQUIRE(opened.ok());
  auto& store = *opened;
  {
    // Leave about 1 MiB free.
    std::ofstream out(ballast, std::ios::binary);
    std::string mib(1 << 20, 'x');
    for (int i = 0; i < 64 && out.write(mib.data(), mib.size()); ++i) {
    }
  }
  std::filesystem::resize_file(ballast, std::filesystem::file_size(ballast) - (1 << 20));

  long batch_no = 0;
  long committed = 0;
  Status failure;
  for (; batch_no < 5000; ++batch_no) {
    WriteBatch batch;
    for (int i = 0; i < kCrashBatchEvents; ++i) batch.events.push_back(CrashEvent(batch_no, i));
    auto r = store->Write(batch);
    if (!r.ok()) {
      failure = r.status();
      break;
    }
    ++committed;
  }
  INFO("committed " << committed << " batches before the disk filled");
  REQUIRE_FALSE(failure.ok());
  CHECK(failure.code() == Status::Code::kIoError);
  // Still full: still an error, not a crash or a hang.
  {
    WriteBatch batch;
    batch.events.push_back(CrashEvent(batch_no, 0));
    CHECK_FALSE(store->Write(batch).ok());
  }

  std::filesystem::remove(ballast);
  // RocksDB polls for free space in the background: writes resume within seconds.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  long b = batch_no + 1;
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    WriteBatch batch;
    for (int i = 0; i < kCrashBatchEvents; ++i) batch.events.push_back(CrashEvent(b, i));
    auto r = store->Write(batch);
    last = r.status();
    if (r.ok()) break;
    CHECK(last.code() == Status::Code::kIoError);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling interval
  }
  INFO(last.ToString());
  REQUIRE(last.ok());
  long resumed = 1;
  for (++b; b < batch_no + 50; ++b) {
    WriteBatch batch;
    for (int i = 0; i < kCrashBatchEvents; ++i) batch.events.push_back(CrashEvent(b, i));
    auto r = store->Write(batch);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    ++resumed;
  }
  CHECK(resumed == 49);  // one per batch number after the failed one
  REQUIRE(store->Flush().ok());
  store.reset();

  auto reopened = Store::Open(dir, options);
  INFO(reopened.status().ToString());
  REQUIRE(reopened.ok());
  uint64_t events = 0;
  REQUIRE((*reopened)->Scan({}, [&](const Event&) { return ++events, true; }).ok());
  CHECK(events >= static_cast<uint64_t>((committed + resumed) * kCrashBatchEvents));
  uint64_t summary_events = 0;
  REQUIRE((*reopened)
              ->ForEachDevice([&](const DeviceSummary& d) {
                summary_events += d.events;
                return true;
              })
              .ok());
  CHECK(summary_events == events);
}

TEST_CASE(
    "Disk full through the fault seam: writes fail while full and resume when space returns") {
  TempDir tmp;
  auto faults = std::make_shared<StoreFaults>();
  auto store = OpenWithFaults(tmp.Join("store"), faults);
  auto write = [&](long batch_no) {
    WriteBatch batch;
    for (int i = 0; i < kCrashBatchEvents; ++i) batch.events.push_back(CrashEvent(batch_no, i));
    return store->Write(batch);
  };
  REQUIRE(write(0).ok());
  faults->no_space = true;
  auto failed = write(1);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message().find("No space left on device") != std::string::npos);
  CHECK_FALSE(write(1).ok());  // still full: still an error
  faults->no_space = false;
  auto resumed = write(1);
  INFO(resumed.status().ToString());
  REQUIRE(resumed.ok());
  REQUIRE(write(2).ok());
  uint64_t events = 0;
  REQUIRE(store->Scan({}, [&](const Event&) { return ++events, true; }).ok());
  CHECK(events == 3u * kCrashBatchEvents);
}

TEST_CASE("Summaries read while a failed write waits to resume leave out that write's events") {
  // The failed write already changed the writer's in-memory summaries (they are rebuilt
  // from the store on resume): readers in its process must not take them meanwhile.
  TempDir tmp;
  auto faults = std::make_shared<StoreFaults>();
  auto store = OpenWithFaults(tmp.Join("store"), faults);
  const MacAddress mac = 0x000e08c0ffee;
  auto write = [&](int64_t t, EventKind kind) {
    WriteBatch batch;
    batch.events.push_back(PhoneEvent(mac, t, kind));
    return store->Write(batch);
  };
  REQUIRE(write(kT0, EventKind::kResyncRequest).ok());
  faults->no_space = true;
  REQUIRE_FALSE(write(kT0 + kSec, EventKind::kResyncFailure).ok());
  auto summary = store->GetDevice(mac);
  REQUIRE(summary.ok());
  CHECK(summary->events == 1);
  CHECK(summary->failures == 0);
  uint64_t events = 0;
  REQUIRE(
      store->ForEachDevice([&](const DeviceSummary& d) { return events += d.events, true; }).ok());
  CHECK(events == 1);
  faults->no_space = false;
  REQUIRE(write(kT0 + 2 * kSec, EventKind::kResyncSuccess).ok());
  summary = store->GetDevice(mac);
  REQUIRE(summary.ok());
  CHECK(summary->events == 2);
  CHECK(summary->successes == 1);
}

TEST_CASE("Disk full during index flushes: writes resume and a reopened store agrees with itself") {
  // The tmpfs test above without a mount: the fault seam fills the disk between batches
  // while index chunks and summaries are being flushed every few batches.
  TempDir tmp;
  auto faults = std::make_shared<StoreFaults>();
  StoreOptions options;
  options.index_flush_events = 25;
  const std::string dir = tmp.Join("store");
  auto store = OpenWithFaults(dir, faults, options);
  options.faults = faults;  // the reopen below goes through the seam too
  auto write = [&](long batch_no) {
    WriteBatch batch;
    for (int i = 0; i < kCrashBatchEvents; ++i) batch.events.push_back(CrashEvent(batch_no, i));
    return store->Write(batch);
  };
  long batch_no = 0;
  for (; batch_no < 12; ++batch_no) REQUIRE(write(batch_no).ok());
  faults->no_space = true;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto failed = write(batch_no);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().code() == Status::Code::kIoError);
  }
  faults->no_space = false;
  for (; batch_no < 40; ++batch_no) {
    auto r = write(batch_no);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
  }
  REQUIRE(store->Flush().ok());
  store.reset();

  auto reopened = Store::Open(dir, options);
  INFO(reopened.status().ToString());
  REQUIRE(reopened.ok());
  uint64_t events = 0;
  REQUIRE((*reopened)->Scan({}, [&](const Event&) { return ++events, true; }).ok());
  CHECK(events == 40u * kCrashBatchEvents);
  uint64_t summary_events = 0, history_events = 0;
  REQUIRE((*reopened)
              ->ForEachDevice([&](const DeviceSummary& d) {
                summary_events += d.events;
                Status s = (*reopened)->History(d.mac, {}, [&](const Event&) {
                  ++history_events;
                  return true;
                });
                return s.ok();
              })
              .ok());
  CHECK(summary_events == events);
  CHECK(history_events == events);
}
