// Test-only access to the raw RocksDB store: to forge what a newer version would write,
// and to count what one column family holds.
#include <rocksdb/db.h>

#include <memory>

#include "common/status.h"
#include "store/key_format.h"

namespace resyncwatch {

Status BumpSchemaVersionForTest(const std::string& dir, uint32_t version) {
  rocksdb::Options options;
  std::vector<std::string> names;
  rocksdb::DB::ListColumnFamilies(options, dir, &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, cfs, &handles, &db);
  if (!s.ok()) return Status::IoError(s.ToString());
  std::string v;
  store_format::PutFixed32(&v, version);
  s = db->Put(rocksdb::WriteOptions(), handles[0], store_format::kMetaSchemaVersion, v);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return s.ok() ? Status::Ok() : Status::IoError(s.ToString());
}

Result<int64_t> CountKeysForTest(const std::string& dir, const std::string& cf_name) {
  rocksdb::Options options;
  std::vector<std::string> names;
  rocksdb::DB::ListColumnFamilies(options, dir, &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, dir, cfs, &handles, &db);
  if (!s.ok()) return Status::IoError(s.ToString());
  int64_t count = -1;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != cf_name) continue;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  if (count < 0) return Status::NotFound("no column family " + cf_name);
  return count;
}

}  // namespace resyncwatch
