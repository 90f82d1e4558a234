// AddressMap: sender address (IPv4 or IPv6, without port) -> MacAddress, a flat
// open-addressing table with linear probing: one probe is one cache line, with no string
// built, hashed or compared per datagram. Grows by doubling at half load; Clear() empties
// it. Writer thread only (not thread-safe).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "collector/ingest_queue.h"
#include "common/prefetch.h"
#include "store/store.h"

namespace resyncwatch {

class AddressMap {
 public:
  AddressMap() { slots_.resize(kInitial); }

  // The value for peer's address, or nullptr.
  MacAddress* Find(const PeerAddress& peer) {
    const Key k = KeyOf(peer);
    for (size_t i = Home(k);; i = (i + 1) & Mask()) {
      if (slots_[i].family == 0) return nullptr;
      if (slots_[i].key == k) return &slots_[i].mac;
    }
  }
  // The value for peer's address, inserted as `mac` when absent; *inserted says which.
  MacAddress* FindOrInsert(const PeerAddress& peer, MacAddress mac, bool* inserted) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const Key k = KeyOf(peer);
    size_t i = Home(k);
    for (; slots_[i].family != 0; i = (i + 1) & Mask()) {
      if (slots_[i].key == k) {
        *inserted = false;
        return &slots_[i].mac;
      }
    }
    slots_[i] = Slot{k, mac, k.family};
    ++size_;
    *inserted = true;
    return &slots_[i].mac;
  }
  // Starts loading the line where peer's probe begins, for a Find a little later.
  void Prefetch(const PeerAddress& peer) const { PrefetchForRead(&slots_[Home(KeyOf(peer))]); }
  size_t size() const { return size_; }
  void Clear() {
    slots_.assign(kInitial, Slot{});
    size_ = 0;
  }

 private:
  struct Key {
    uint64_t hi = 0, lo = 0;  // IPv4 in lo; IPv6 as two halves
    uint8_t family = 0;       // 0 = empty slot
    bool operator==(const Key&) const = default;
  };
  struct Slot {
    Key key;
    MacAddress mac = 0;
    uint8_t family = 0;  // copy of key.family, the emptiness test
  };
  static constexpr size_t kInitial = 1024;

  static Key KeyOf(const PeerAddress& peer) {
    Key k;
    k.family = peer.family == 0 ? 0xff : peer.family;
    if (peer.family == AF_INET6) {
      std::memcpy(&k.hi, peer.addr, 8);
      std::memcpy(&k.lo, peer.addr + 8, 8);
    } else {
      uint32_t v4 = 0;
      std::memcpy(&v4, peer.addr, 4);
      k.lo = v4;
    }
    return k;
  }
  size_t Mask() const { return slots_.size() - 1; }
  size_t Home(const Key& k) const {
    const uint64_t h = (k.hi * 0x9E3779B97F4A7C15ULL) ^ (k.lo * 0xC2B2AE3D27D4EB4FULL) ^ k.family;
    return static_cast<size_t>((h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ULL >> 32) & Mask();
  }
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.family == 0) continue;
      size_t i = Home(s.key);
      while (slots_[i].family != 0) i = (i + 1) & Mask();
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace resyncwatch
