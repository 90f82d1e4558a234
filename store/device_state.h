// device_state: how one event changes its device's summary, and the writer's buffer of
// device-index entries not yet written as chunks (internal to store/). Plain values
// owned by the single writer (or built per read by a reader): not thread-safe.
#pragma once

#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/key_format.h"
#include "store/store.h"

namespace resyncwatch::store_format {

// REQUIRES: event.mac == summary->mac. Idempotence is not given: apply each event once.
void ApplyEventToSummary(const Event& event, DeviceSummary* summary);

// "10.1.2.3" from "10.1.2.3:5060", "2001:db8::1" from "[2001:db8::1]:514"; "" for
// "file:..." and other non-network sources.
std::string_view SourceHost(std::string_view source);

// Index entries per device since the last chunk flush.
class PendingIndex {
 public:
  void Add(MacAddress mac, int64_t time_us, uint64_t seq) {
    entries_[mac].push_back({time_us, seq});
    ++count_;
  }
  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  const std::unordered_map<MacAddress, std::vector<TimeSeq>>& entries() const { return entries_; }
  void Clear() {
    entries_.clear();
    count_ = 0;
  }

 private:
  std::unordered_map<MacAddress, std::vector<TimeSeq>> entries_;
  size_t count_ = 0;
};

}  // namespace resyncwatch::store_format
