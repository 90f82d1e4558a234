// crash_writer: the child process of the kill -9 test. Opens the store in argv[1] and
// writes batches numbered from argv[2] on, printing each batch number to stdout after its
// Write returned OK, until it is killed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/store.h"
#include "tests/store/test_util.h"

using namespace resyncwatch;

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  StoreOptions options;
  options.index_flush_events = 150;  // chunk flushes happen at many random moments
  auto store = Store::Open(argv[1], options);
  if (!store.ok()) {
    std::fprintf(stderr, "crash_writer: %s\n", store.status().ToString().c_str());
    return 1;
  }
  for (long batch_no = std::atol(argv[2]);; ++batch_no) {
    WriteBatch batch;
    for (int i = 0; i < testing::kCrashBatchEvents; ++i) {
      batch.events.push_back(testing::CrashEvent(batch_no, i));
    }
    batch.raw.push_back({0, testing::CrashTime(batch_no, 0), "10.0.0.1:514", "test", "raw"});
    batch.counter_deltas["received_datagrams"] = testing::kCrashBatchEvents + 1;
    auto r = (*store)->Write(batch);
    if (!r.ok()) {
      std::fprintf(stderr, "crash_writer: %s\n", r.status().ToString().c_str());
      return 1;
    }
    std::printf("%ld\n", batch_no);
    std::fflush(stdout);
  }
}
