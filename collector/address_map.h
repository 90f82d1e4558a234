// AddressMap: sender address (IPv4 or IPv6, without the port) -> MacAddress, a FlatTable
// keyed by the raw address bytes: no string is built, hashed or compared per datagram.
// Writer thread only (not thread-safe).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "collector/ingest_queue.h"
#include "common/flat_table.h"
#include "store/store.h"

namespace resyncwatch {

class AddressMap {
 public:
  // The value for peer's address, or nullptr.
  MacAddress* Find(const PeerAddress& peer) { return table_.Find(KeyOf(peer)); }
  // The value for peer's address, inserted as `mac` when absent; *inserted says which.
  MacAddress* FindOrInsert(const PeerAddress& peer, MacAddress mac, bool* inserted) {
    MacAddress* v = table_.FindOrInsert(KeyOf(peer), inserted);
    if (*inserted) *v = mac;
    return v;
  }
  // Starts loading the line where peer's probe begins, for a lookup a little later.
  void Prefetch(const PeerAddress& peer) const { table_.Prefetch(KeyOf(peer)); }
  size_t size() const { return table_.size(); }
  void Clear() { table_.Clear(); }

 private:
  struct Key {
    uint64_t hi = 0, lo = 0;  // IPv4 in lo; IPv6 as two halves
    uint8_t family = 0;       // 0 = empty slot
    bool operator==(const Key&) const = default;
  };
  struct Keys {
    static bool IsEmpty(const Key& k) { return k.family == 0; }
    static uint64_t Hash(const Key& k) {
      const uint64_t h = (k.hi * 0x9E3779B97F4A7C15ULL) ^ (k.lo * 0xC2B2AE3D27D4EB4FULL) ^ k.family;
      return (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ULL;
    }
  };

  static Key KeyOf(const PeerAddress& peer) {
    Key k;
    k.family = peer.family == 0 ? 0xff : peer.family;  // never the empty key
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

  FlatTable<Key, MacAddress, Keys> table_;
};

}  // namespace resyncwatch
