// rocks_store: the RocksDB implementation of Store (internal to store/; others use
// store/store.h). Reads are thread-safe. Write, AddCounters, PutAlert and Flush share the
// writer's in-memory state (pending index runs, summaries, serials) under write_mu_, so
// the alert engine may call PutAlert from another thread than the collector's writer.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/flat_table.h"
#include "store/device_state.h"
#include "store/event_record.h"
#include "store/import_dedup.h"
#include "store/key_format.h"
#include "store/store.h"

namespace resyncwatch::store_format {

// A RocksDB status as one of ours, prefixed with what was being done.
Status FromRocks(const rocksdb::Status& s, std::string_view what);

// Appends the export journal's entry for one Write: seqs [first, end), its events' time
// range and its raw datagrams' (lowest > highest: none).
void AppendJournalEntry(rocksdb::WriteBatch* wb, rocksdb::ColumnFamilyHandle* meta, uint64_t first,
                        uint64_t end, int64_t ev_min, int64_t ev_max, int64_t raw_min,
                        int64_t raw_max);

// The cutoff shared with the device-index compaction filter (retention).
struct RetentionCutoff {
  std::atomic<int64_t> cutoff_us{INT64_MIN};
};

enum ImportKind : int { kImportEvents = 0, kImportRaw };

class RocksStore final : public Store {
 public:
  ~RocksStore() override;
  // device_history_only: read-only, the column families Store::OpenDeviceReader needs.
  static Result<std::unique_ptr<Store>> OpenRocks(const std::string& dir,
                                                  const StoreOptions& options,
                                                  bool device_history_only = false);

  Result<WriteResult> Write(WriteBatch& batch) override;
  Status History(MacAddress mac, TimeRange range, const EventVisitor& visit) const override;
  Status Scan(TimeRange range, const EventVisitor& visit) const override;
  Status ScanHeads(TimeRange range, const EventVisitor& visit) const override;
  Status ScanHeadsOf(TimeRange range, const std::function<bool(MacAddress)>& want,
                     const EventVisitor& visit) const override;
  Status ScanKinds(TimeRange range, uint32_t kind_mask, const EventVisitor& visit) const override;
  Status ScanRaw(TimeRange range,
                 const std::function<bool(const RawDatagram&)>& visit) const override;
  Result<DeviceSummary> GetDevice(MacAddress mac) const override;
  Status ForEachDevice(const std::function<bool(const DeviceSummary&)>& visit) const override;
  Result<MacAddress> MacForSerial(std::string_view sn) const override;
  Result<std::map<std::string, int64_t>> Counters() const override;
  Status AddCounters(const std::map<std::string, int64_t>& deltas) override;
  Status PutAlert(const AlertRecord& alert) override;
  Status ScanAlerts(TimeRange started, bool active_only,
                    const std::function<bool(const AlertRecord&)>& visit) const override;
  Result<ExportCursor> LoadExportCursor() const override;
  Status VisitForExport(const ExportCursor& from, size_t max_records, const ExportVisitor& visit,
                        ExportCursor* next) const override;
  Status SaveExportCursor(const ExportCursor& cursor) override;
  Result<uint64_t> NextSeq() const override;
  Result<uint64_t> ExportStoreId() const override;
  Status SetExportTap(ExportTap* tap) override;
  Status CatchUp() override;
  Status ApplyRetention() override;
  Status Flush() override;
  Status Compact() override;

 private:
  RocksStore() = default;
  // Every column family by id. One a device reader did not open stops the process here:
  // only its DeviceReader methods are reachable, and they read none such.
  rocksdb::ColumnFamilyHandle* cf(int id) const {
    if (handles_[id] == nullptr) NotOpened(id);
    return handles_[id];
  }
  [[noreturn]] static void NotOpened(int id);
  bool secondary() const { return options_.mode == StoreOptions::Mode::kReadOnlySecondary; }
  bool read_only() const { return options_.mode != StoreOptions::Mode::kReadWrite; }
  Status OpenReadOnlyView(const rocksdb::DBOptions& db_options,
                          const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs);
  Status OpenSecondary(const rocksdb::DBOptions& db_options,
                       const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs);

  Status CheckSchema();
  Status WriteSchemaVersion();  // this build's kSchemaVersion into the meta column family
  // Writer: loads next seq and watermark, replays the unindexed tail into memory.
  Status LoadWriterState();
  // Adds the event to its device's pending index entries and summary; `known` is the
  // device's state when the caller already looked it up (nullptr: look it up).
  Status ApplyToDevice(const Event& event, DeviceState* known = nullptr);
  Status ApplyToKnownDevice(const Event& event, DeviceState* state);
  void ForgetWrittenChunks();
  // Appends every pending index chunk and summary, and the watermark that says they cover
  // the events below `watermark`; IndexFlushed once that committed.
  void AppendIndexFlush(rocksdb::WriteBatch* wb, uint64_t watermark);
  void IndexFlushed(int64_t now_us);
  bool IndexFlushDue(int64_t now_us) const;
  Status ResumeIfNeeded();
  Status CommitBatch(rocksdb::WriteBatch* wb);
  Status FlushIndex();
  struct StagedWrite;  // one Write's staged records (rocks_write.cc)
  // The export journal (rocks_export.cc).
  Status OpenExportJournal();
  void AppendJournal(const StagedWrite& w, rocksdb::WriteBatch* wb);
  Result<bool> OpenExportSpan(ExportCursor* c) const;
  // Removes the journal entries whose records are all older than cutoff_us (retention
  // removed them unexported), outside the cursor's open span, and counts their records
  // as export_expired.
  Status TrimExportJournal(int64_t cutoff_us);
  // Decoded records handed to an ExportVisitor, one object of each kind reused.
  struct ExportScratch {
    const ExportVisitor* visit;
    Event event;
    RawDatagram raw;
  };
  Result<bool> ReadSpanPhase(ExportCursor* c, size_t* room, ExportScratch* out) const;

  // Write's steps, in order (store/rocks_write.cc): stage the events (import dedup, SN ->
  // MAC), the raw datagrams and the counters into one RocksDB batch, apply the events to
  // the device states, stage the meta keys (index flush policy), commit, and then either
  // WriteCommitted or AbandonWrite, the single rollback path.
  template <typename Record, typename Decode, typename Hash>
  Result<bool> ClaimImport(StagedWrite* w, ImportKind kind, const Record& record, int64_t time_us,
                           const Decode& decode, const Hash& hash_of);
  void StageSerial(const Event& e, StagedWrite* w);
  Status StageEvents(WriteBatch& batch, StagedWrite* w);
  Status StageRaw(WriteBatch& batch, StagedWrite* w);
  void StageCounters(const WriteBatch& batch, StagedWrite* w);
  Status ApplyToDevices(StagedWrite* w);
  void StageMeta(StagedWrite* w);
  void WriteCommitted(StagedWrite* w);
  Status AbandonWrite(StagedWrite* w, Status st);

  // Readers: the events written after the index watermark, as of a snapshot.
  struct Tail {
    uint64_t watermark = 0;
    std::string start_key;  // empty: no tail
  };
  Result<Tail> ReadTail(const rocksdb::Snapshot* snap) const;
  // The writer's own view of the device summaries: a snapshot taken between two writes
  // and, matching it, the summaries of the devices with events in the unindexed tail
  // (sorted by MAC). A reader, or a writer whose last write failed and is not resumed yet,
  // gets no view (nullopt): it rebuilds them from the tail instead.
  struct WriterDevices {
    const rocksdb::Snapshot* snapshot = nullptr;  // released by the caller
    std::vector<DeviceSummary> unindexed;
  };
  std::optional<WriterDevices> TakeWriterDevices() const;
  Status ForEachDeviceFromTail(const std::function<bool(const DeviceSummary&)>& visit) const;
  // Visits the tail's events (seq >= watermark) from max(tail start, since) to until, each
  // with its encoding.
  Status ScanTail(
      const Tail& tail, const rocksdb::Snapshot* snap, TimeRange range,
      const std::function<bool(const TimeSeq& at, std::string_view encoded)>& visit) const;
  // Iterates a (time, seq)-keyed column family over range in key order, as one scan (no
  // block caching); on_entry decodes and visits one entry and clears *more to stop.
  Status ForEachInTimeRange(int cf_index, TimeRange range, const char* what,
                            const std::function<Status(std::string_view key, std::string_view value,
                                                       bool* more)>& on_entry) const;
  // The same over the events column family, one call per event of its records.
  Status ForEachEventInTimeRange(
      TimeRange range,
      const std::function<Status(const TimeSeq& at, std::string_view encoded, bool* more)>&
          on_event) const;

  std::string dir_;
  std::string secondary_dir_;
  StoreOptions options_;
  std::unique_ptr<rocksdb::Env> fault_env_;  // with options_.faults; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<RetentionCutoff> retention_;

  // Writer state, guarded by write_mu_ (mutable: readers in the writer's process read the
  // summaries it holds instead of rebuilding them from the tail).
  mutable std::mutex write_mu_;
  uint64_t next_seq_ = 1;
  uint64_t watermark_ = 1;  // every seq below is indexed and in the summaries
  std::string tail_start_;  // lowest event key at or above the watermark ("" = none)
  // The devices' states, found by MAC through a flat table of pointers (one cache line per
  // lookup, which the write path fetches ahead); the states themselves stay put.
  FlatTable<MacAddress, DeviceState*, NonZeroU64Keys> devices_;
  std::vector<std::unique_ptr<DeviceState>> device_states_;  // owns what devices_ points to
  void ClearDevices();
  // Devices with pending index entries, with their states (stable: owned by device_states_)
  // so that a flush does not look 100,000 devices up again.
  std::vector<std::pair<MacAddress, DeviceState*>> dirty_macs_;
  size_t pending_count_ = 0;
  std::unordered_map<std::string, MacAddress> serials_;
  ImportSessions import_sessions_;   // what each import run met (store/import_dedup.h)
  EventRecordBuilder event_record_;  // reused by each write: its buffers keep their capacity
  // Each Write stages its records here: a batch built anew grew by doubling (copying it
  // about twice over) or was reserved for its largest size, in fresh memory every time.
  rocksdb::WriteBatch write_batch_;
  static constexpr size_t kKeptWriteBatchBytes = 8 << 20;
  int64_t last_index_flush_us_ = 0;
  bool needs_resume_ = false;
  ExportTap* export_tap_ = nullptr;
  int64_t journal_forgotten_us_ = 0;  // when SaveExportCursor last deleted journal entries
  static constexpr int64_t kJournalForgetUs = 30'000'000;
  // next_seq_ for NextSeq without the lock once a Write committed (0: read the store).
  std::atomic<uint64_t> committed_next_seq_{0};
};

}  // namespace resyncwatch::store_format
