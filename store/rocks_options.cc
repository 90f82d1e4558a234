#include "store/rocks_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "store/record_codec.h"

namespace resyncwatch::store_format {
namespace {

class Int64AddOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    // Saturating: a counter can only grow by what was stored, but the bytes come from disk.
    const int64_t a = existing ? DecodeCounter(*existing) : 0, b = DecodeCounter(value);
    int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) sum = b > 0 ? INT64_MAX : INT64_MIN;
    *new_value = EncodeCounter(sum);
    return true;
  }
  const char* Name() const override { return "resyncwatch.Int64Add"; }
};

// Appends the runs the writer merges into a device's index list.
class IndexListMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    std::string_view lists[2] = {existing ? existing->ToStringView() : std::string_view(),
                                 value.ToStringView()};
    if (!existing) {
      new_value->assign(lists[1]);
      return true;
    }
    return MergeIndexLists(lists, 2, new_value).ok();
  }
  const char* Name() const override { return "resyncwatch.IndexListMerge"; }
};

// Drops index entries older than the retention cutoff (the events are range-deleted).
class IndexRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit IndexRetentionFilter(std::shared_ptr<RetentionCutoff> cutoff)
      : cutoff_(std::move(cutoff)) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string* new_value,
              bool* value_changed) const override {
    const int64_t cutoff = cutoff_->cutoff_us.load(std::memory_order_relaxed);
    if (cutoff == INT64_MIN) return false;
    std::vector<IndexEntry> entries;
    if (!DecodeIndexList(value.ToStringView(), &entries).ok()) return false;
    const size_t before = entries.size();
    std::erase_if(entries, [cutoff](const IndexEntry& e) {
      return (e.exact ? IndexSlotFirstUs(e.slot) : IndexSlotLastUs(e.slot)) < cutoff;
    });
    if (entries.empty()) return true;
    if (entries.size() == before) return false;
    new_value->clear();
    EncodeIndexList(std::move(entries), new_value);
    *value_changed = true;
    return false;
  }
  const char* Name() const override { return "resyncwatch.IndexRetention"; }

 private:
  std::shared_ptr<RetentionCutoff> cutoff_;
};

class IndexRetentionFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  explicit IndexRetentionFilterFactory(std::shared_ptr<RetentionCutoff> cutoff)
      : cutoff_(std::move(cutoff)) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context&) override {
    return std::make_unique<IndexRetentionFilter>(cutoff_);
  }
  const char* Name() const override { return "resyncwatch.IndexRetentionFactory"; }

 private:
  std::shared_ptr<RetentionCutoff> cutoff_;
};

// RocksDB's own LOG file lives in the store directory; when that file system fills up
// its writer fails (and Debian's build asserts on the next log line). Errors go to stderr
// instead, where the collector's journal keeps them.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::ERROR_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", buf);
  }
};

// RocksDB's automatic recovery from "no space" waits until the free space exceeds the
// largest memtable, which a small disk may never have; the store resumes by itself on
// the next Write instead (RocksStore::CommitBatch).
class ManualRecoveryListener final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

std::shared_ptr<rocksdb::Cache> SharedCache() {
  static std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(128 << 20);
  return cache;
}

// `restart_interval`: keys between two full keys in a block (RocksDB's default is 16).
rocksdb::ColumnFamilyOptions BaseCf(size_t block_size, bool bloom, int restart_interval) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = SharedCache();
  t.block_size = block_size;
  t.block_restart_interval = restart_interval;
  t.format_version = 5;
  // Debian's RocksDB computes CRC32c without SSE 4.2 (its portable fallback): XXH3 block
  // checksums cost flushes and compactions a fraction of that.
  t.checksum = rocksdb::kXXH3;
  // A CLI run opens every table file (readers use max_open_files = -1): with one
  // flat index per file that means reading every index whole before the first lookup.
  // Partitioned indexes and filters, kept in the block cache, make opening a file read only
  // the small top level; a lookup then reads the one partition it needs.
  t.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  t.partition_filters = bloom;
  t.metadata_block_size = 4096;
  t.cache_index_and_filter_blocks = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_top_level_index_and_filter = true;
  if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.write_buffer_size = 16 << 20;
  o.level_compaction_dynamic_level_bytes = true;
  return o;
}

// The writer's index flush inserts one key per dirty device in key order, interleaved
// with the keys already in the memtable: one shared insert hint (empty prefix) lets the
// skiplist continue from the previous insert instead of searching from the top each time.
std::shared_ptr<const rocksdb::SliceTransform> SortedRunHint() {
  static const std::shared_ptr<const rocksdb::SliceTransform> hint(
      rocksdb::NewFixedPrefixTransform(0));
  return hint;
}

// Events and raw datagrams arrive in key order (time, then seq): one shared insert hint
// lets each insert continue from the previous one instead of searching the memtable's
// skiplist from its top. RocksDB 7.8 keeps a column family's hints for its range
// deletions too, and a hint taken from one skiplist breaks the other: only record keys are
// in the domain. Retention's range deletions start at a time bound, whose seq is 0, which
// no record has (seqs start at 1).
class RecordKeyHint final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "resyncwatch.RecordKeyHint"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), 0);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() == kTimeSeqKeySize && GetFixed64(key.data() + 8) != 0;
  }
};

// Events and raw datagrams: appended in time order, settled with zstd and a dictionary,
// since neighbouring records share most of their bytes. The dictionary is sampled records
// (raw content), not a trained one: Debian's RocksDB cannot keep a trained dictionary's
// entropy tables digested, so every block read rebuilt them, two thirds of a history's
// decoding; raw content costs nothing to load (docs/store-format.md).
rocksdb::ColumnFamilyOptions TimeOrderedCf(size_t block_size) {
  // A full key every 64 records instead of 16: the seq in each full key is bytes
  // no match covers (0.66 bytes/event less on an imported store). Finding a key in a
  // block then reads up to 64 records from a full key, about a microsecond.
  rocksdb::ColumnFamilyOptions o = BaseCf(block_size, false, 64);
  static const std::shared_ptr<const rocksdb::SliceTransform> hint =
      std::make_shared<RecordKeyHint>();
  o.memtable_insert_with_hint_prefix_extractor = hint;
  o.write_buffer_size = 64 << 20;
  // Level 0 stays LZ4: written uncompressed, flushes cost 40% less CPU, but the store
  // right after ingest grew from 42-48 to 131-134 bytes per event, and a quiet store can
  // keep its level-0 files for a long time before a compaction rewrites them.
  o.bottommost_compression_opts.enabled = true;
  // Level 7 and a 64 KiB dictionary instead of 6 and 16 KiB: 0.3-0.35 bytes/event less
  // for about 0.1 µs/event more of the compaction that writes the bottommost level
  // (docs/store-format.md, fifth round).
  o.bottommost_compression_opts.level = 7;
  o.bottommost_compression_opts.max_dict_bytes = 64 << 10;
  o.bottommost_compression_opts.zstd_max_train_bytes = 0;
  return o;
}

}  // namespace

std::string EncodeCounter(int64_t v) {
  std::string s;
  PutFixed64(&s, static_cast<uint64_t>(v));
  return s;
}

int64_t DecodeCounter(const rocksdb::Slice& s) {
  return s.size() == 8 ? static_cast<int64_t>(GetFixed64(s.data())) : 0;
}

rocksdb::DBOptions MakeDbOptions(bool reader) {
  rocksdb::DBOptions o;
  o.create_if_missing = false;
  o.create_missing_column_families = !reader;
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  o.keep_log_file_num = 3;
  o.max_total_wal_size = 256 << 20;
  o.info_log_level = rocksdb::InfoLogLevel::ERROR_LEVEL;
  o.info_log = std::make_shared<StderrLogger>();
  o.listeners.push_back(std::make_shared<ManualRecoveryListener>());
  // Readers open every table file at once and keep it open: a file the writer deletes
  // afterwards stays readable (and secondary instances require it).
  if (reader) o.max_open_files = -1;
  // A reader opens every table file at once; the default 16 opener threads per column
  // family cost more (thread creation) than they save for a short CLI run.
  if (reader) o.max_file_opening_threads = 1;
  return o;
}

std::vector<rocksdb::ColumnFamilyDescriptor> MakeCfDescriptors(
    const std::shared_ptr<RetentionCutoff>& retention) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (int id = 0; id < kCfCount; ++id) {
    rocksdb::ColumnFamilyOptions o = BaseCf(4096, false, 16);
    switch (id) {
      case kCfEvents:
        // One device's history reads about one block per event (events are time-first), so
        // blocks are small. A 12 KiB block holds about 100 v2 events; against 8 KiB it
        // saves 0.65-0.94 bytes/event (measurements: docs/store-format.md).
        o = TimeOrderedCf(12 << 10);
        break;
      case kCfRaw:
        o = TimeOrderedCf(8 << 10);  // read only by whole-window scans (sizes measured on events)
        break;
      case kCfDeviceIndex:
        o = BaseCf(8192, true, 16);
        o.memtable_insert_with_hint_prefix_extractor = SortedRunHint();
        o.merge_operator = std::make_shared<IndexListMergeOperator>();
        o.compaction_filter_factory = std::make_shared<IndexRetentionFilterFactory>(retention);
        break;
      case kCfDevices:
        o = BaseCf(4096, true, 16);
        o.memtable_insert_with_hint_prefix_extractor = SortedRunHint();
        break;
      case kCfSerials:
      case kCfDedup:
        o = BaseCf(4096, true, 16);
        break;
      case kCfCounters:
        o.merge_operator = std::make_shared<Int64AddOperator>();
        break;
      default:
        break;
    }
    cfs.emplace_back(CfName(id), o);
  }
  return cfs;
}

}  // namespace resyncwatch::store_format
