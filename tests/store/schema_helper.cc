// Test-only access to the raw RocksDB store: to forge what a newer or an older version
// would write, and to count what one column family holds.
#include <rocksdb/db.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/key_format.h"
#include "store/rocks_options.h"

namespace resyncwatch {

namespace {

// The store's RocksDB with every column family it holds, in their listed order.
struct RawStore {
  std::vector<std::string> names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::unique_ptr<rocksdb::DB> db;
  ~RawStore() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
};

// With the store's own column family options: its merge operators in particular, without
// which recovering a write-ahead log of index and counter merges loses them.
Status OpenRaw(const std::string& dir, bool read_only, RawStore* out) {
  rocksdb::DBOptions options = store_format::MakeDbOptions(read_only);
  rocksdb::DB::ListColumnFamilies(options, dir, &out->names);
  auto known = store_format::MakeCfDescriptors(std::make_shared<store_format::RetentionCutoff>());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : out->names) {
    auto it = std::find_if(known.begin(), known.end(),
                           [&n](const rocksdb::ColumnFamilyDescriptor& d) { return d.name == n; });
    cfs.emplace_back(n, it != known.end() ? it->options : rocksdb::ColumnFamilyOptions());
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = read_only
                          ? rocksdb::DB::OpenForReadOnly(options, dir, cfs, &out->handles, &db)
                          : rocksdb::DB::Open(options, dir, cfs, &out->handles, &db);
  out->db.reset(db);
  return s.ok() ? Status::Ok() : Status::IoError(s.ToString());
}

}  // namespace

Status BumpSchemaVersionForTest(const std::string& dir, uint32_t version) {
  RawStore store;
  if (Status s = OpenRaw(dir, /*read_only=*/false, &store); !s.ok()) return s;
  std::string v;
  store_format::PutFixed32(&v, version);
  rocksdb::Status s =
      store.db->Put(rocksdb::WriteOptions(), store.handles[0], store_format::kMetaSchemaVersion, v);
  return s.ok() ? Status::Ok() : Status::IoError(s.ToString());
}

Result<uint32_t> SchemaVersionForTest(const std::string& dir) {
  RawStore store;
  if (Status s = OpenRaw(dir, /*read_only=*/true, &store); !s.ok()) return s;
  std::string v;
  rocksdb::Status s =
      store.db->Get(rocksdb::ReadOptions(), store.handles[0], store_format::kMetaSchemaVersion, &v);
  if (!s.ok() || v.size() != 4) return Status::NotFound("no schema version");
  return store_format::GetFixed32(v.data());
}

Result<int64_t> CountKeysForTest(const std::string& dir, const std::string& cf_name) {
  RawStore store;
  if (Status s = OpenRaw(dir, /*read_only=*/true, &store); !s.ok()) return s;
  for (size_t i = 0; i < store.names.size(); ++i) {
    if (store.names[i] != cf_name) continue;
    std::unique_ptr<rocksdb::Iterator> it(
        store.db->NewIterator(rocksdb::ReadOptions(), store.handles[i]));
    int64_t count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
    return count;
  }
  return Status::NotFound("no column family " + cf_name);
}

Status PutRawForTest(const std::string& dir, const std::string& cf_name, const std::string& key,
                     const std::string& value) {
  RawStore store;
  if (Status s = OpenRaw(dir, /*read_only=*/false, &store); !s.ok()) return s;
  for (size_t i = 0; i < store.names.size(); ++i) {
    if (store.names[i] != cf_name) continue;
    rocksdb::Status s = store.db->Put(rocksdb::WriteOptions(), store.handles[i], key, value);
    return s.ok() ? Status::Ok() : Status::IoError(s.ToString());
  }
  return Status::NotFound("no column family " + cf_name);
}

Status ForgeRangeDeletionForTest(const std::string& dir, const std::string& cf_name,
                                 const std::string& begin, const std::string& end,
                                 const std::vector<std::pair<std::string, std::string>>& puts) {
  RawStore store;
  if (Status s = OpenRaw(dir, /*read_only=*/false, &store); !s.ok()) return s;
  for (size_t i = 0; i < store.names.size(); ++i) {
    if (store.names[i] != cf_name) continue;
    rocksdb::WriteOptions wo;
    rocksdb::ColumnFamilyHandle* cf = store.handles[i];
    rocksdb::Status s = rocksdb::Status::OK();
    for (size_t k = 0; k < puts.size() && s.ok(); ++k) {
      s = store.db->Put(wo, cf, puts[k].first, puts[k].second);
      // The range deletion after the first put: records go into the same memtable before
      // and after it.
      if (s.ok() && k == 0) s = store.db->DeleteRange(wo, cf, begin, end);
    }
    return s.ok() ? Status::Ok() : Status::IoError(s.ToString());
  }
  return Status::NotFound("no column family " + cf_name);
}

}  // namespace resyncwatch
