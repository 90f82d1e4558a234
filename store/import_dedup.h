// import_dedup (store-internal): which records of an import the store already holds.
// The stored records are the evidence: an import writes no key per record beside them.
// The n-th record of an import run identical to others (same time, same content hash) is
// new when the store held fewer than n + 1 of them before the run met that time; so a
// file's own repeated lines are all kept, however far apart, and a file imported again
// (or anything the store already holds, imported or received live) adds nothing.
// Owned by the store's writer and used under its write lock: not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace resyncwatch::store_format {

// Records by content hash, per time.
using ContentCounts = std::unordered_map<uint64_t, int>;
using CountsByTime = std::unordered_map<int64_t, ContentCounts>;

class ImportSessions {
 public:
  // Fills *out with the store's records at exactly time_us, by content hash.
  using Loader = std::function<Status(int64_t time_us, ContentCounts* out)>;

  struct Counts {
    CountsByTime before;  // the store's records when the run first met each time
    CountsByTime seen;    // the run's records
  };

  // One Write's checks for one kind of record: nothing reaches the run until Commit, so a
  // failed Write leaves the run as it was.
  class Check {
   public:
    // Whether the record is new; a store read error is returned as is.
    Result<bool> IsNew(int64_t time_us, uint64_t hash, const Loader& load);

   private:
    friend class ImportSessions;
    Counts* run_ = nullptr;  // nullptr: a batch without a run id counts within itself
    Counts staged_;          // times the run had not met, and this batch's records
  };

  // Runs are named by the importer (WriteBatch::import_session); 0 is no run.
  Check Begin(uint64_t run, int kind);
  void Commit(uint64_t run, int kind, Check* check);
  // Forgets every run (after retention removed records their counts include).
  void Clear() { runs_.clear(); }

  // What one run remembers at most, in hashes over all its times: beyond it the times met
  // first are forgotten, and a forgotten time met again counts the run's own earlier
  // records as held before it (the lines may then be taken for copies).
  static constexpr size_t kMaxEntriesPerRun = 1 << 18;
  static constexpr size_t kMaxRuns = 4;
  static constexpr int kKinds = 2;  // events, raw datagrams

 private:
  struct Run {
    uint64_t id = 0;
    uint64_t last_used = 0;
    Counts counts[kKinds];
    std::deque<std::pair<int, int64_t>> met;  // (kind, time) in the order first met
    size_t entries = 0;
  };
  Run* Find(uint64_t id);
  void Forget(Run* run);

  std::vector<std::unique_ptr<Run>> runs_;  // a Run stays put while Checks point into it
  uint64_t clock_ = 0;
};

}  // namespace resyncwatch::store_format
