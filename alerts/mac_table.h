// MacTable<V>: a flat open-addressing hash map from MacAddress (never 0) to a small plain
// value stored inline, with linear probing and backward-shift deletion: one cache line
// per lookup and no allocation per entry. Grows by doubling at half load. Pointers to
// values are invalidated by Insert and Erase. Internal to alerts/. Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "common/prefetch.h"
#include "store/store.h"

namespace resyncwatch {

template <typename V>
class MacTable {
 public:
  struct Slot {
    MacAddress key = 0;  // 0 = empty
    V value{};
  };

  MacTable() { slots_.resize(kInitial); }

  // Starts loading the line where mac's probe begins, so that a later Find hits the cache.
  void Prefetch(MacAddress mac) const { PrefetchForRead(&slots_[Home(mac)]); }

  V* Find(MacAddress mac) {
    for (size_t i = Home(mac);; i = (i + 1) & Mask()) {
      if (slots_[i].key == mac) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }

  // REQUIRES: mac != 0 and not present.
  V* Insert(MacAddress mac) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    ++size_;
    return Place(mac, V{});
  }

  void Erase(MacAddress mac) {
    size_t i = Home(mac);
    while (slots_[i].key != mac) {
      if (slots_[i].key == 0) return;
      i = (i + 1) & Mask();
    }
    // Shift back the entries of the probe run that would become unreachable.
    for (size_t j = (i + 1) & Mask(); slots_[j].key != 0; j = (j + 1) & Mask()) {
      size_t k = Home(slots_[j].key);
      bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot();
    --size_;
  }

  size_t size() const { return size_; }
  // For sweeps: slot i of capacity(); key 0 = empty.
  size_t capacity() const { return slots_.size(); }
  Slot& slot(size_t i) { return slots_[i]; }

 private:
  static constexpr size_t kInitial = 1024;

  size_t Mask() const { return slots_.size() - 1; }
  size_t Home(MacAddress mac) const {
    return static_cast<size_t>((mac * 0x9E3779B97F4A7C15ULL) >> 32) & Mask();
  }
  V* Place(MacAddress mac, const V& value) {
    size_t i = Home(mac);
    while (slots_[i].key != 0) i = (i + 1) & Mask();
    slots_[i] = {mac, value};
    return &slots_[i].value;
  }
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.key != 0) Place(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace resyncwatch
