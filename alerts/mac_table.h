// MacTable<V>: the alert engine's per-device table, a FlatTable keyed by MacAddress
// (never 0, which marks an empty slot) with small plain values stored inline. Internal
// to alerts/.
#pragma once

#include <cstdint>

#include "common/flat_table.h"
#include "store/store.h"

namespace resyncwatch {

using MacKeys = NonZeroU64Keys;

template <typename V>
using MacTable = FlatTable<MacAddress, V, MacKeys>;

}  // namespace resyncwatch
