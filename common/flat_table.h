// FlatTable<Key, V, Keys>: a hash map with its values stored inline in one array, linear
// probing and backward-shift deletion: one cache line per lookup, no allocation per
// entry. Grows by doubling at half load. Keys supplies IsEmpty(key) (Key{} is the empty
// key and never inserted) and Hash(key), whose high 32 bits pick the home slot. Pointers
// to values are invalidated by Insert, FindOrInsert, Erase and Clear. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/prefetch.h"

namespace resyncwatch {

// Keys for 64-bit keys that are never 0 (MAC addresses): 0 marks an empty slot, and a
// Fibonacci hash spreads consecutive values (a fleet's MACs often are) over the table.
struct NonZeroU64Keys {
  static bool IsEmpty(uint64_t key) { return key == 0; }
  static uint64_t Hash(uint64_t key) { return key * 0x9E3779B97F4A7C15ULL; }
};

template <typename Key, typename V, typename Keys>
class FlatTable {
 public:
  struct Slot {
    Key key{};
    V value{};
  };

  FlatTable() { slots_.resize(kInitial); }

  // Starts loading the line where key's probe begins, so that a later lookup hits the cache.
  void Prefetch(const Key& key) const { PrefetchForRead(&slots_[Home(key)]); }

  V* Find(const Key& key) {
    for (size_t i = Home(key);; i = (i + 1) & Mask()) {
      if (Keys::IsEmpty(slots_[i].key)) return nullptr;
      if (slots_[i].key == key) return &slots_[i].value;
    }
  }

  const V* Find(const Key& key) const { return const_cast<FlatTable*>(this)->Find(key); }

  // REQUIRES: key is not empty and not present. The value starts as V{}.
  V* Insert(const Key& key) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    ++size_;
    return Place(key, V{});
  }

  // key's value, inserted as V{} when absent; *inserted says which.
  V* FindOrInsert(const Key& key, bool* inserted) {
    if (V* v = Find(key)) {
      *inserted = false;
      return v;
    }
    *inserted = true;
    return Insert(key);
  }

  void Erase(const Key& key) {
    size_t i = Home(key);
    while (!(slots_[i].key == key)) {
      if (Keys::IsEmpty(slots_[i].key)) return;
      i = (i + 1) & Mask();
    }
    // Shift back the entries of the probe run that would become unreachable.
    for (size_t j = (i + 1) & Mask(); !Keys::IsEmpty(slots_[j].key); j = (j + 1) & Mask()) {
      size_t k = Home(slots_[j].key);
      bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot();
    --size_;
  }

  void Clear() {
    slots_.assign(kInitial, Slot());
    size_ = 0;
  }

  size_t size() const { return size_; }
  // For sweeps: slot i of capacity(); Keys::IsEmpty(slot(i).key) for an empty one.
  size_t capacity() const { return slots_.size(); }
  Slot& slot(size_t i) { return slots_[i]; }

 private:
  static constexpr size_t kInitial = 1024;

  size_t Mask() const { return slots_.size() - 1; }
  size_t Home(const Key& key) const { return static_cast<size_t>(Keys::Hash(key) >> 32) & Mask(); }
  V* Place(const Key& key, const V& value) {
    size_t i = Home(key);
    while (!Keys::IsEmpty(slots_[i].key)) i = (i + 1) & Mask();
    slots_[i] = {key, value};
    return &slots_[i].value;
  }
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (!Keys::IsEmpty(s.key)) Place(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace resyncwatch
