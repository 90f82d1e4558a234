// rocks_options: the RocksDB options of each column family (compression, block sizes,
// filters), the counter merge operator and the device-index retention filter
// (internal to store/). Built once per Open; the returned objects are thread-safe.
#pragma once

#include <rocksdb/options.h>

#include <memory>
#include <vector>

#include "store/rocks_store.h"

namespace resyncwatch::store_format {

rocksdb::DBOptions MakeDbOptions(bool reader);
// One descriptor per Cf, in Cf order.
std::vector<rocksdb::ColumnFamilyDescriptor> MakeCfDescriptors(
    const std::shared_ptr<RetentionCutoff>& retention);

// Counters are int64 stored as 8 big-endian bytes; merge operands are added.
std::string EncodeCounter(int64_t v);
int64_t DecodeCounter(const rocksdb::Slice& s);

}  // namespace resyncwatch::store_format
