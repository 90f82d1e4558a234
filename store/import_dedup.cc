#include "store/import_dedup.h"

#include <algorithm>

namespace resyncwatch::store_format {

Result<bool> ImportSessions::Check::IsNew(int64_t time_us, uint64_t hash, const Loader& load) {
  const std::optional<int64_t>& newest = run_ ? run_->newest_held : staged_.newest_held;
  if (time_us > *newest) return true;
  if (!(run_ && run_->met.count(time_us)) && staged_.met.insert(time_us).second) {
    Status st = load(time_us, [&](uint64_t held) { ++staged_.tallies[{time_us, held}].before; });
    if (!st.ok()) {
      staged_.met.erase(time_us);
      return st;
    }
  }
  const Counts::Key key{time_us, hash};
  Counts::Tally known;  // what the run knew before this batch
  if (run_ != nullptr) {
    if (auto it = run_->tallies.find(key); it != run_->tallies.end()) known = it->second;
  }
  Counts::Tally& batch = staged_.tallies[key];
  const int occurrence = known.seen + batch.seen++;
  return occurrence >= known.before + batch.before;
}

ImportSessions::Run* ImportSessions::Find(uint64_t id) {
  for (const std::unique_ptr<Run>& run : runs_) {
    if (run->id == id) return run.get();
  }
  return nullptr;
}

Result<ImportSessions::Check> ImportSessions::Begin(uint64_t run, int kind,
                                                    const NewestLoader& newest) {
  Check check;
  Counts* counts = &check.staged_;
  if (run != 0) {
    Run* found = Find(run);
    if (found == nullptr) {
      if (runs_.size() >= kMaxRuns) {
        runs_.erase(std::min_element(runs_.begin(), runs_.end(), [](const auto& a, const auto& b) {
          return a->last_used < b->last_used;
        }));
      }
      runs_.push_back(std::make_unique<Run>());
      found = runs_.back().get();
      found->id = run;
    }
    found->last_used = ++clock_;
    counts = check.run_ = &found->counts[kind];
  }
  if (!counts->newest_held) {
    Result<int64_t> t = newest();
    if (!t.ok()) return t.status();
    counts->newest_held = *t;
  }
  return check;
}

void ImportSessions::Commit(uint64_t run_id, int kind, Check* check) {
  Run* run = run_id == 0 ? nullptr : Find(run_id);
  if (run == nullptr) return;
  Counts& counts = run->counts[kind];
  counts.met.merge(check->staged_.met);
  for (const auto& [key, batch] : check->staged_.tallies) {
    Counts::Tally& tally = counts.tallies[key];
    tally.before += batch.before;
    tally.seen += batch.seen;
  }
  check->staged_ = Counts();
  if (counts.tallies.size() > kMaxTalliesPerRun) {
    counts.met.clear();
    counts.tallies.clear();
  }
}

}  // namespace resyncwatch::store_format
