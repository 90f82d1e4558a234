// MacTable<V>: the alert engine's per-device table, a FlatTable keyed by MacAddress
// (never 0, which marks an empty slot) with small plain values stored inline. Internal
// to alerts/.
#pragma once

#include <cstdint>

#include "common/flat_table.h"
#include "store/store.h"

namespace resyncwatch {

struct MacKeys {
  static bool IsEmpty(MacAddress mac) { return mac == 0; }
  static uint64_t Hash(MacAddress mac) { return mac * 0x9E3779B97F4A7C15ULL; }
};

template <typename V>
using MacTable = FlatTable<MacAddress, V, MacKeys>;

}  // namespace resyncwatch
