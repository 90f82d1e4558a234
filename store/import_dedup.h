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
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"

namespace resyncwatch::store_format {

class ImportSessions {
 public:
  // Calls add(hash) for each record the store holds at exactly time_us.
  using Loader =
      std::function<Status(int64_t time_us, const std::function<void(uint64_t hash)>& add)>;
  // The newest time the store holds a record of the kind at (INT64_MIN: none).
  using NewestLoader = std::function<Result<int64_t>()>;

  // What a run (or one batch) knows of the times it met.
  struct Counts {
    struct Key {
      int64_t time_us;
      uint64_t hash;
      bool operator==(const Key&) const = default;
    };
    struct KeyHash {
      size_t operator()(const Key& k) const { return k.hash ^ (uint64_t(k.time_us) * 31); }
    };
    struct Tally {
      int before = 0;  // the store's records when the run first met the time
      int seen = 0;    // the run's records
    };
    std::unordered_set<int64_t> met;  // the times read from the store
    std::unordered_map<Key, Tally, KeyHash> tallies;
    // The newest time the store held a record at when the run began: nothing later can
    // be held before the run (new data, the common case, costs no read and no memory).
    std::optional<int64_t> newest_held;
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
  Result<Check> Begin(uint64_t run, int kind, const NewestLoader& newest);
  void Commit(uint64_t run, int kind, Check* check);
  // Forgets every run (after retention removed records their counts include).
  void Clear() { runs_.clear(); }

  // What one run remembers at most, in (time, hash) tallies, before it forgets all it met:
  // a time met again then counts the run's own earlier records as held before it (its
  // lines at that time may be taken for copies). Only times the store already held
  // records around take memory: a re-import, or an overlapping archive.
  static constexpr size_t kMaxTalliesPerRun = 1 << 20;
  static constexpr size_t kMaxRuns = 4;
  static constexpr int kKinds = 2;  // events, raw datagrams

 private:
  struct Run {
    uint64_t id = 0;
    uint64_t last_used = 0;
    Counts counts[kKinds];
  };
  Run* Find(uint64_t id);

  std::vector<std::unique_ptr<Run>> runs_;  // a Run stays put while Checks point into it
  uint64_t clock_ = 0;
};

}  // namespace resyncwatch::store_format
