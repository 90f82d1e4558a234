#include "store/rocks_faults.h"

#include <rocksdb/file_system.h>

namespace resyncwatch::store_format {
namespace {

// As the POSIX file system reports ENOSPC: retryable.
rocksdb::IOStatus NoSpace() {
  rocksdb::IOStatus s =
      rocksdb::IOStatus::NoSpace("No space left on device (StoreFaults::no_space)");
  s.SetRetryable(true);
  return s;
}

rocksdb::IOStatus ReadError() {
  return rocksdb::IOStatus::IOError("Input/output error (StoreFaults::read_error)");
}

class FaultRandomAccessFile final : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  FaultRandomAccessFile(std::unique_ptr<rocksdb::FSRandomAccessFile>&& file,
                        std::shared_ptr<StoreFaults> faults)
      : FSRandomAccessFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}

  rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& options,
                         rocksdb::Slice* result, char* scratch,
                         rocksdb::IODebugContext* dbg) const override {
    if (failing()) return ReadError();
    return FSRandomAccessFileOwnerWrapper::Read(offset, n, options, result, scratch, dbg);
  }
  rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num_reqs,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (failing()) return ReadError();
    return FSRandomAccessFileOwnerWrapper::MultiRead(reqs, num_reqs, options, dbg);
  }
  rocksdb::IOStatus ReadAsync(rocksdb::FSReadRequest& req, const rocksdb::IOOptions& opts,
                              std::function<void(const rocksdb::FSReadRequest&, void*)> cb,
                              void* cb_arg, void** io_handle, rocksdb::IOHandleDeleter* del_fn,
                              rocksdb::IODebugContext* dbg) override {
    if (failing()) return ReadError();
    return FSRandomAccessFileOwnerWrapper::ReadAsync(req, opts, cb, cb_arg, io_handle, del_fn, dbg);
  }

 private:
  bool failing() const { return faults_->read_error.load(std::memory_order_relaxed); }
  std::shared_ptr<StoreFaults> faults_;
};

class FaultWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::unique_ptr<rocksdb::FSWritableFile>&& file,
                    std::shared_ptr<StoreFaults> faults)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (full()) return NoSpace();
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Flush(options, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  bool full() const { return faults_->no_space.load(std::memory_order_relaxed); }
  std::shared_ptr<StoreFaults> faults_;
};

class FaultFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFileSystem(std::shared_ptr<StoreFaults> faults)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(std::move(faults)) {}
  const char* Name() const override { return "resyncwatch.FaultFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (faults_->no_space.load(std::memory_order_relaxed)) return NoSpace();
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(f, options, &file, dbg);
    if (s.ok()) *r = std::make_unique<FaultWritableFile>(std::move(file), faults_);
    return s;
  }

  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSRandomAccessFile> file;
    rocksdb::IOStatus s = target()->NewRandomAccessFile(f, options, &file, dbg);
    if (s.ok()) *r = std::make_unique<FaultRandomAccessFile>(std::move(file), faults_);
    return s;
  }

  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options,
                                 uint64_t* diskfree, rocksdb::IODebugContext* dbg) override {
    if (faults_->no_space.load(std::memory_order_relaxed)) {
      *diskfree = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, options, diskfree, dbg);
  }

 private:
  std::shared_ptr<StoreFaults> faults_;
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewFaultEnv(std::shared_ptr<StoreFaults> faults) {
  return rocksdb::NewCompositeEnv(std::make_shared<FaultFileSystem>(std::move(faults)));
}

}  // namespace resyncwatch::store_format
