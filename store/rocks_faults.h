// rocks_faults: the fault seam of StoreOptions::faults (internal to store/). An Env whose
// file system fails every write with "No space left on device" while the test says so,
// as a full disk does, and every read of a table file with an I/O error while the test
// says so; everything else goes to the default file system.
#pragma once

#include <rocksdb/env.h>

#include <memory>

#include "store/store.h"

namespace resyncwatch::store_format {

std::unique_ptr<rocksdb::Env> NewFaultEnv(std::shared_ptr<StoreFaults> faults);

}  // namespace resyncwatch::store_format
