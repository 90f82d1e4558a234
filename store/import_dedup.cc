#include "store/import_dedup.h"

#include <algorithm>

namespace resyncwatch::store_format {

Result<bool> ImportSessions::Check::IsNew(int64_t time_us, uint64_t hash, const Loader& load) {
  const ContentCounts* before = nullptr;
  int earlier = 0;  // the run's records of this content at this time, before this batch
  if (run_ != nullptr) {
    if (auto it = run_->before.find(time_us); it != run_->before.end()) before = &it->second;
    if (auto it = run_->seen.find(time_us); it != run_->seen.end()) {
      if (auto n = it->second.find(hash); n != it->second.end()) earlier = n->second;
    }
  }
  if (before == nullptr) {
    auto [slot, fresh] = staged_.before.try_emplace(time_us);
    if (fresh) {
      if (Status st = load(time_us, &slot->second); !st.ok()) {
        staged_.before.erase(slot);
        return st;
      }
    }
    before = &slot->second;
  }
  const int occurrence = earlier + staged_.seen[time_us][hash]++;
  auto held = before->find(hash);
  return held == before->end() || occurrence >= held->second;
}

ImportSessions::Run* ImportSessions::Find(uint64_t id) {
  for (const std::unique_ptr<Run>& run : runs_) {
    if (run->id == id) return run.get();
  }
  return nullptr;
}

ImportSessions::Check ImportSessions::Begin(uint64_t run, int kind) {
  Check check;
  if (run == 0) return check;
  Run* found = Find(run);
  if (found == nullptr) {
    if (runs_.size() >= kMaxRuns) {
      auto oldest = std::min_element(runs_.begin(), runs_.end(), [](const auto& a, const auto& b) {
        return a->last_used < b->last_used;
      });
      runs_.erase(oldest);
    }
    runs_.push_back(std::make_unique<Run>());
    found = runs_.back().get();
    found->id = run;
  }
  found->last_used = ++clock_;
  check.run_ = &found->counts[kind];
  return check;
}

void ImportSessions::Commit(uint64_t run_id, int kind, Check* check) {
  Run* run = run_id == 0 ? nullptr : Find(run_id);
  if (run == nullptr) return;
  Counts& counts = run->counts[kind];
  for (auto& [time_us, held] : check->staged_.before) {
    run->entries += held.size();
    run->met.emplace_back(kind, time_us);
    counts.before.emplace(time_us, std::move(held));
  }
  for (auto& [time_us, batch_seen] : check->staged_.seen) {
    ContentCounts& seen = counts.seen[time_us];
    for (const auto& [hash, n] : batch_seen) {
      auto [slot, fresh] = seen.try_emplace(hash, 0);
      run->entries += fresh;
      slot->second += n;
    }
  }
  check->staged_ = Counts();
  Forget(run);
}

// Drops the times the run met first until it remembers at most kMaxEntriesPerRun hashes.
void ImportSessions::Forget(Run* run) {
  while (run->entries > kMaxEntriesPerRun && !run->met.empty()) {
    const auto [kind, time_us] = run->met.front();
    run->met.pop_front();
    Counts& counts = run->counts[kind];
    for (CountsByTime* map : {&counts.before, &counts.seen}) {
      auto it = map->find(time_us);
      if (it == map->end()) continue;
      run->entries -= std::min(run->entries, it->second.size());
      map->erase(it);
    }
  }
}

}  // namespace resyncwatch::store_format
