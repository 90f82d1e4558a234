// Opening and closing the RocksDB store, schema check, writer-state recovery, and the
// maintenance calls (catch-up, flush, compaction, retention).
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "store/event_codec.h"
#include "store/record_codec.h"
#include "store/rocks_faults.h"
#include "store/rocks_options.h"
#include "store/rocks_store.h"

namespace resyncwatch {

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  return store_format::RocksStore::OpenRocks(dir, options);
}

Result<std::unique_ptr<DeviceReader>> Store::OpenDeviceReader(const std::string& dir,
                                                              StoreOptions options) {
  options.mode = StoreOptions::Mode::kReadOnlyView;
  Result<std::unique_ptr<Store>> store =
      store_format::RocksStore::OpenRocks(dir, options, /*device_history_only=*/true);
  if (!store.ok()) return store.status();
  return std::unique_ptr<DeviceReader>(std::move(*store));
}

namespace store_format {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Busy(msg);
  if (s.IsNotSupported()) return Status::Unsupported(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::IoError(msg);
}

namespace {

// "permission denied: ..." naming the directory's group, whose members may read it.
Status PermissionDenied(const std::string& dir) {
  std::string group;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (const struct group* g = getgrgid(st.st_gid)) {
      group = g->gr_name;
    } else {
      group = std::to_string(st.st_gid);
    }
  }
  return Status::IoError(
      "permission denied: the store " + dir + " is private to its owner" +
      (group.empty() ? std::string() : " and the group '" + group + "' (ask to join it)"));
}

// "store DIR is open for writing by another process (resyncwatchd, pid 1234): ...", so that a
// second start says what runs and how to stop it.
std::string WriterHoldsStore(const std::string& dir) {
  const int pid = StoreWriterPid(dir);
  std::string who;
  if (pid > 0) {
    std::string name;
    if (std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/comm").c_str(), "r")) {
      char buf[64] = {};
      if (std::fgets(buf, sizeof buf, f) != nullptr) name = buf;
      std::fclose(f);
      while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    }
    who = " (" + (name.empty() ? "pid " : name + ", pid ") + std::to_string(pid) + ")";
  }
  return "store " + dir + " is open for writing by another process" + who +
         ": a collector or an import runs on it" +
         (pid > 0 ? "; stop it first (Ctrl-C in its terminal, or kill " + std::to_string(pid) + ")"
                  : std::string());
}

bool IsPermissionDenied(const rocksdb::Status& s) {
  return s.ToString().find("Permission denied") != std::string::npos;
}

// RocksDB creates its files with the process umask. A writer keeps the store private
// whatever umask it was started with: nothing for other users, read access at most for
// the group (the operators' group, see README "The store is private"). Existing
// directories and files created under a laxer umask are tightened the same way.
void MakePrivate(const std::string& dir) {
  const mode_t previous = ::umask(0);
  ::umask(previous | 027);
  std::error_code ec;
  auto strip = [](const std::filesystem::path& p, mode_t extra) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    const mode_t tight = st.st_mode & 07777 & ~(S_IRWXO | extra);
    if (tight != (st.st_mode & 07777)) ::chmod(p.c_str(), tight);
  };
  strip(dir, 0);
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    strip(entry.path(), entry.is_directory(ec) ? 0 : S_IWGRP | S_IXGRP);
  }
}

// The column families one device's history reads (Store::OpenDeviceReader).
std::vector<rocksdb::ColumnFamilyDescriptor> DeviceHistoryCfs(
    std::vector<rocksdb::ColumnFamilyDescriptor> all) {
  std::vector<rocksdb::ColumnFamilyDescriptor> kept;
  for (int id : {kCfDefault, kCfEvents, kCfDeviceIndex, kCfDevices, kCfSerials}) {
    kept.push_back(std::move(all[id]));
  }
  return kept;
}

// RocksDB's handles, in the order of cfs, placed at their column family's id (nullptr for
// a column family not opened).
std::vector<rocksdb::ColumnFamilyHandle*> ByCfId(
    const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs,
    std::vector<rocksdb::ColumnFamilyHandle*> handles) {
  std::vector<rocksdb::ColumnFamilyHandle*> by_id(kCfCount, nullptr);
  for (size_t i = 0; i < cfs.size() && i < handles.size(); ++i) {
    int id = 0;
    while (id < kCfCount && cfs[i].name != CfName(id)) ++id;
    if (id < kCfCount) by_id[id] = handles[i];
  }
  return by_id;
}

}  // namespace

void RocksStore::NotOpened(int id) {
  std::fprintf(stderr,
               "resyncwatch: internal error: column family %s read from a store opened "
               "for device history only\n",
               CfName(id));
  std::abort();
}

Result<std::unique_ptr<Store>> RocksStore::OpenRocks(const std::string& dir,
                                                     const StoreOptions& options,
                                                     bool device_history_only) {
  namespace fs = std::filesystem;
  std::unique_ptr<RocksStore> store(new RocksStore());
  store->dir_ = dir;
  store->options_ = options;
  store->retention_ = std::make_shared<RetentionCutoff>();
  std::error_code ec;
  if (!store->read_only()) MakePrivate(dir);
  const bool exists = fs::exists(fs::path(dir) / "CURRENT", ec);
  if (ec == std::errc::permission_denied) return PermissionDenied(dir);
  if (!exists) {
    if (store->read_only() || !options.create_if_missing) {
      return Status::NotFound("no store at " + dir + " (start resyncwatchd or import first)");
    }
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError("cannot create store directory " + dir + ": " + ec.message());
    MakePrivate(dir);
  }
  rocksdb::DBOptions db_options = MakeDbOptions(store->read_only());
  if (options.faults != nullptr) {
    store->fault_env_ = NewFaultEnv(options.faults);
    db_options.env = store->fault_env_.get();
  }
  db_options.create_if_missing = !store->read_only() && options.create_if_missing;
  if (options.low_priority_background && !store->read_only()) {
    rocksdb::Env* env = db_options.env;
    env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow);
  }
  auto cfs = MakeCfDescriptors(store->retention_);
  if (store->read_only() && device_history_only) cfs = DeviceHistoryCfs(std::move(cfs));
  if (options.mode == StoreOptions::Mode::kReadOnlyView) {
    Status st = store->OpenReadOnlyView(db_options, cfs);
    if (!st.ok()) return st;
  } else if (store->secondary()) {
    Status st = store->OpenSecondary(db_options, cfs);
    if (!st.ok()) return st;
  } else {
    // The writer must open every column family, including any a newer version added, so
    // that the schema check can refuse such a store with a clear message.
    std::vector<std::string> existing;
    rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
    for (const auto& name : existing) {
      bool known = false;
      for (const auto& d : cfs) known = known || d.name == name;
      if (!known) cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options, dir, cfs, &store->handles_, &raw);
    if (!s.ok()) {
      if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
        return Status::Busy(WriterHoldsStore(dir));
      }
      if (IsPermissionDenied(s)) return PermissionDenied(dir);
      return FromRocks(s, "opening store " + dir);
    }
    store->db_.reset(raw);
  }
  Status st = store->CheckSchema();
  if (!st.ok()) return st;
  if (!store->read_only()) {
    st = store->LoadWriterState();
    if (!st.ok()) return st;
    if (options.export_journal) st = store->OpenExportJournal();
    if (!st.ok()) return st;
  }
  return std::unique_ptr<Store>(std::move(store));
}

namespace {

// What identifies the writer's current MANIFEST state: CURRENT's content and the
// manifest's size (every flush, compaction and file deletion appends to it).
std::string ManifestState(const std::string& dir) {
  std::string current;
  if (FILE* f = std::fopen((dir + "/CURRENT").c_str(), "r")) {
    char buf[128];
    size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    current.assign(buf, n);
  }
  while (!current.empty() && (current.back() == '\n' || current.back() == '\r')) {
    current.pop_back();
  }
  std::error_code ec;
  auto size = std::filesystem::file_size(std::filesystem::path(dir) / current, ec);
  return current + "/" + (ec ? std::string("?") : std::to_string(size));
}

}  // namespace

// A read-only open takes no lock and no temporary directory. It is consistent when no
// flush or compaction finished while it ran: such a change could delete a table file or
// log it meant to read, or move events from a log into a table it did not list. The
// manifest records every such change, so an open that saw it change is retried; a writer
// this busy after several tries is read through a secondary instead.
Status RocksStore::OpenReadOnlyView(const rocksdb::DBOptions& db_options,
                                    const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs) {
  constexpr int kTries = 5;
  rocksdb::Status s;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    const std::string before = ManifestState(dir_);
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    s = rocksdb::DB::OpenForReadOnly(db_options, dir_, cfs, &handles, &raw);
    if (s.ok() && ManifestState(dir_) == before) {
      handles_ = ByCfId(cfs, std::move(handles));
      db_.reset(raw);
      return Status::Ok();
    }
    if (raw) {
      for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
      delete raw;
    }
    if (!s.ok() && IsPermissionDenied(s)) return PermissionDenied(dir_);
    // Anything but a file vanishing under us (the writer's doing) is a real error.
    if (!s.ok() && !s.IsPathNotFound() && !s.IsNotFound() &&
        s.ToString().find("No such file") == std::string::npos) {
      return FromRocks(s, "opening store " + dir_);
    }
  }
  options_.mode = StoreOptions::Mode::kReadOnlySecondary;
  return OpenSecondary(db_options, cfs);
}

// A secondary may open just the column families it knows: the schema check refuses a store
// written by a newer version.
Status RocksStore::OpenSecondary(const rocksdb::DBOptions& db_options,
                                 const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs) {
  char tmpl[] = "/tmp/resyncwatch-reader-XXXXXX";
  if (!mkdtemp(tmpl)) return Status::IoError("cannot create a temporary directory in /tmp");
  secondary_dir_ = tmpl;
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      rocksdb::DB::OpenAsSecondary(db_options, dir_, secondary_dir_, cfs, &handles, &raw);
  if (!s.ok()) return FromRocks(s, "opening store " + dir_);
  handles_ = ByCfId(cfs, std::move(handles));
  db_.reset(raw);
  return Status::Ok();
}

RocksStore::~RocksStore() {
  if (db_) {
    if (!read_only() && !dirty_macs_.empty()) {
      std::lock_guard lock(write_mu_);
      FlushIndex();
    }
    for (auto* h : handles_) {
      if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
    }
    handles_.clear();
    db_->Close();
    db_.reset();
  }
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Status RocksStore::CheckSchema() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kCfDefault), kMetaSchemaVersion, &value);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kCfEvents)));
    it->SeekToFirst();
    if (it->Valid())
      return Status::Corruption("store " + dir_ + " has events but no schema version");
    if (read_only()) return Status::Ok();  // the writer has not finished creating it
    return WriteSchemaVersion();
  }
  if (!s.ok()) return FromRocks(s, "reading schema version");
  if (value.size() != 4) return Status::Corruption("store " + dir_ + ": bad schema version record");
  uint32_t version = GetFixed32(value.data());
  if (version > kSchemaVersion) {
    return Status::Unsupported("store " + dir_ + " was written by schema version " +
                               std::to_string(version) + "; this resyncwatch reads version " +
                               std::to_string(kSchemaVersion) + " and older: upgrade resyncwatch");
  }
  if (version < kSchemaVersion && !read_only()) {
    // What this writer adds is in the newer encodings: from now on an older resyncwatch
    // must refuse the store rather than fail on each newer record.
    return WriteSchemaVersion();
  }
  return Status::Ok();
}

Status RocksStore::WriteSchemaVersion() {
  std::string v;
  PutFixed32(&v, kSchemaVersion);
  return FromRocks(db_->Put(rocksdb::WriteOptions(), cf(kCfDefault), kMetaSchemaVersion, v),
                   "writing schema version");
}

Status RocksStore::LoadWriterState() {
  ClearDevices();
  dirty_macs_.clear();
  pending_count_ = 0;
  serials_.clear();
  last_index_flush_us_ = options_.clock->NowMicros();
  rocksdb::ReadOptions ro;
  std::string v;
  rocksdb::Status s = db_->Get(ro, cf(kCfDefault), kMetaNextSeq, &v);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading next seq");
  next_seq_ = s.ok() && v.size() == 8 ? GetFixed64(v.data()) : 1;
  s = db_->Get(ro, cf(kCfDefault), kMetaIndexWatermark, &v);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading index watermark");
  watermark_ = s.ok() && v.size() == 8 ? GetFixed64(v.data()) : 1;
  s = db_->Get(ro, cf(kCfDefault), kMetaTailStart, &v);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading tail start");
  tail_start_ = s.ok() ? v : std::string();
  if (tail_start_.empty() || watermark_ >= next_seq_) {
    tail_start_.clear();
    return Status::Ok();
  }
  // Replay events written after the last index flush (a crash or a kill lost them from
  // memory only) into the pending index and the summaries.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kCfEvents)));
  std::vector<std::string_view> split;
  for (it->Seek(tail_start_); it->Valid(); it->Next()) {
    Status st = ForEachEventIn(it->key().ToStringView(), it->value().ToStringView(), &split,
                               nullptr, [&](const TimeSeq& at, std::string_view encoded, bool*) {
                                 if (at.seq < watermark_) return Status::Ok();
                                 Event e;
                                 e.seq = at.seq;
                                 e.event_time_us = at.time_us;
                                 Status decoded = DecodeEvent(encoded, &e);
                                 return decoded.ok() ? ApplyToDevice(e) : decoded;
                               });
    if (st.code() == Status::Code::kCorruption) {
      return Status::Corruption(st.message() + " in " + dir_);
    }
    if (!st.ok()) return st;
  }
  return FromRocks(it->status(), "replaying the unindexed tail");
}

Status RocksStore::ApplyToDevice(const Event& e, DeviceState* known) {
  if (e.mac == 0) return Status::Ok();
  if (known) return ApplyToKnownDevice(e, known);
  bool inserted = false;
  DeviceState** slot = devices_.FindOrInsert(e.mac, &inserted);
  if (inserted) {
    device_states_.push_back(std::make_unique<DeviceState>());
    *slot = device_states_.back().get();
    DeviceState& fresh = **slot;
    fresh.summary.mac = e.mac;
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kCfDevices), MacKey(e.mac), &v);
    Status st = s.IsNotFound() ? Status::Ok() : FromRocks(s, "reading device summary");
    if (st.ok() && s.ok()) st = DecodeSummary(v, &fresh.summary);
    if (!st.ok()) {
      devices_.Erase(e.mac);
      device_states_.pop_back();
      return st;
    }
  }
  DeviceState& state = **slot;
  return ApplyToKnownDevice(e, &state);
}

Status RocksStore::ApplyToKnownDevice(const Event& e, DeviceState* state) {
  if (!state->dirty) {
    state->dirty = true;
    dirty_macs_.emplace_back(e.mac, state);
  }
  state->pending.push_back(IndexEntryOf(e.event_time_us, e.seq));
  ++pending_count_;
  ApplyEventToSummary(e, &state->summary);
  return Status::Ok();
}

void RocksStore::ForgetWrittenChunks() {
  for (auto& [mac, state] : dirty_macs_) {
    state->dirty = false;
    state->pending.clear();
  }
  dirty_macs_.clear();
  pending_count_ = 0;
  // Bound the cache on very large fleets: clean summaries are re-read on demand.
  constexpr size_t kMaxCachedDevices = 2'000'000;
  if (devices_.size() > kMaxCachedDevices) ClearDevices();
}

void RocksStore::ClearDevices() {
  devices_.Clear();
  device_states_.clear();
}

Status RocksStore::CatchUp() {
  if (options_.mode == StoreOptions::Mode::kReadOnlyView) {
    return Status::Unsupported("a one-shot view does not follow the writer: open a new one");
  }
  if (!secondary()) return Status::Ok();
  return FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the writer");
}

Status RocksStore::Flush() {
  if (read_only()) return Status::Ok();  // a reader holds nothing to flush
  Status st;
  {
    std::lock_guard lock(write_mu_);
    st = FlushIndex();
  }
  if (!st.ok()) return st;
  rocksdb::FlushOptions fo;
  return FromRocks(db_->Flush(fo, handles_), "flushing memtables");
}

Status RocksStore::Compact() {
  if (read_only()) return Status::Unsupported("a reader cannot compact the store");
  Status st = Flush();
  if (!st.ok()) return st;
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (auto* h : handles_) {
    st = FromRocks(db_->CompactRange(co, h, nullptr, nullptr), "compacting");
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status RocksStore::ApplyRetention() {
  if (read_only()) return Status::Unsupported("a reader cannot apply retention");
  if (options_.retention_us <= 0) return Status::Ok();
  const int64_t cutoff = options_.clock->NowMicros() - options_.retention_us;
  rocksdb::WriteOptions wo;
  for (int id : {kCfEvents, kCfRaw}) {
    Status st = FromRocks(
        db_->DeleteRange(wo, cf(id), TimeBoundKey(INT64_MIN), TimeBoundKey(cutoff)), "retention");
    if (!st.ok()) return st;
  }
  Status st = FromRocks(
      db_->DeleteRange(wo, cf(kCfDedup), DedupKey(INT64_MIN, 0), DedupKey(cutoff, 0)), "retention");
  if (!st.ok()) return st;
  {
    // The last import batch's counts may name records just removed.
    std::lock_guard lock(write_mu_);
    import_sessions_.Clear();
  }
  if (options_.export_journal) {
    st = TrimExportJournal(cutoff);
    if (!st.ok()) return st;
  }
  // Index chunks are keyed by device; the compaction filter drops the expired ones.
  retention_->cutoff_us.store(cutoff, std::memory_order_relaxed);
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  return FromRocks(db_->CompactRange(co, cf(kCfDeviceIndex), nullptr, nullptr),
                   "retention compaction of the device index");
}

}  // namespace store_format
}  // namespace resyncwatch
