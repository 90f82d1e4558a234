// Test-only access to the raw RocksDB store: to forge what a newer version would write,
// and to count what one column family holds.
#include <rocksdb/db.h>

#include <memory>

#include "common/status.h"
#include "store/key_format.h"

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

Status OpenRaw(const std::string& dir, bool read_only, RawStore* out) {
  rocksdb::Options options;
  rocksdb::DB::ListColumnFamilies(options, dir, &out->names);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : out->names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
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

}  // namespace resyncwatch
