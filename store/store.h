// store: the RocksDB-backed record of everything resyncwatchd received: events, raw
// datagrams, per-device summaries, SN -> MAC, alerts and counters (layout and encoding:
// docs/store-format.md). One writer process opens a store read-write; any number of
// readers open a one-shot view of it, or a secondary that CatchUp()s with new writes. A Store
// object is thread-safe for concurrent reads; Write() must be called from one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "parsers/parsers.h"

namespace resyncwatch {

// One parsed message as stored. Strings are owned; empty means absent.
struct Event {
  uint64_t seq = 0;           // assigned by Store::Write; unique, ascending
  int64_t event_time_us = 0;  // orders the event: receive time live, message time on import
  int64_t received_us = 0;    // when the collector (or import) got it, UTC
  std::optional<int64_t> message_time_us;  // the message's own timestamp, when it had one
  EventKind kind = EventKind::kUnknown;
  SyslogFormat format = SyslogFormat::kRaw;
  int16_t facility = -1;  // -1 = absent
  int16_t severity = -1;
  MacAddress mac = 0;  // 0 = not attributed to a device
  std::string sn;
  std::string model;
  std::string host;
  std::string app;
  std::string identifier;      // Syslog_Identifier as it appeared
  std::string timestamp_text;  // the message's timestamp as it appeared
  std::string url;             // credentials already replaced by ***
  std::string scheme;
  std::string server;
  int32_t port = 0;  // 0 = absent
  std::string path;
  std::string error;
  std::string message;  // the body
  std::string source;   // sender "ip:port" ("[v6]:port"), or "file:NAME" on import
};

// A datagram that parsed to nothing usable: kept byte for byte with the reason.
struct RawDatagram {
  uint64_t seq = 0;
  int64_t received_us = 0;
  std::string source;
  std::string reason;
  std::string bytes;
};

// Derived per-device state, updated with every event of the device in the same atomic
// write as the event, so it never disagrees with the events.
struct DeviceSummary {
  MacAddress mac = 0;
  std::string model;
  std::string sn;
  std::string last_ip;  // source address of its latest event
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  int64_t last_request_us = 0;  // 0 = never
  int64_t last_success_us = 0;
  int64_t last_failure_us = 0;
  uint32_t consecutive_failures = 0;  // resets on success; the back-off step
  std::string last_error;
  std::string last_url;
  EventKind last_kind = EventKind::kUnknown;  // latest resync/upgrade kind
  uint64_t requests = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
  uint64_t events = 0;  // all kinds, debug included
};

// An alert as kept for `resyncwatch alerts`: the store keeps the JSON the alert engine
// rendered and indexes it by id and start time.
struct AlertRecord {
  std::string id;  // stable per incident (rule + group + start)
  int64_t started_us = 0;
  int64_t updated_us = 0;
  bool active = true;
  std::string json;
};

// Everything the collector hands over in one atomic write.
struct WriteBatch {
  std::vector<Event> events;
  std::vector<RawDatagram> raw;
  // Counter increments, by fixed low-cardinality name ("received_datagrams", ...).
  std::map<std::string, int64_t> counter_deltas;
  // Import: skip events and raw datagrams the store already holds with identical content
  // (idempotent re-import; store/import_dedup.h). Identity: event time (raw: received_us),
  // MAC, kind, host, app, identifier, timestamp text and body (raw: reason and bytes), and
  // the how-many-th identical one in the import run; not received_us or the source.
  bool skip_duplicates = false;
  // The import run the batch belongs to (random, nonzero, the same for all its batches):
  // identical records are counted over the whole run. 0: within this batch only.
  uint64_t import_session = 0;
};

struct WriteResult {
  uint64_t events_stored = 0;
  uint64_t raw_stored = 0;
  uint64_t duplicates_skipped = 0;
};

// A fault seam for tests, in the manner of LevelDB's Env: while no_space is true every
// write to the store's files fails as on a full disk ("No space left on device"); reads
// go on. While read_error is true every read of a store file (a table block, not the
// memtable) fails as on a bad sector ("Input/output error"). Shared by the test and the
// store; null (no seam) in production.
struct StoreFaults {
  std::atomic<bool> no_space{false};
  std::atomic<bool> read_error{false};
};

struct StoreOptions {
  // kReadOnlyView: a consistent view as of opening, for one-shot commands; it costs about
  // half of a secondary's open and leaves nothing behind, but cannot CatchUp().
  // kReadOnlySecondary: a long-lived reader that CatchUp()s with the writer.
  enum class Mode { kReadWrite, kReadOnlyView, kReadOnlySecondary };
  Mode mode = Mode::kReadWrite;
  bool create_if_missing = true;
  // Events, raw datagrams and index entries older than this are removed; 0 keeps all.
  int64_t retention_us = 0;
  const Clock* clock = &SystemClock::Instance();
  // The per-device index and the device summaries are written in chunks: every
  // index_flush_interval_us (by clock) while fewer than index_flush_events / 20 events
  // are pending, else every index_flush_events events or 30 intervals, whichever first.
  // Readers see newer events at once anyway (they scan the unindexed tail).
  int64_t index_flush_interval_us = 2'000'000;
  uint64_t index_flush_events = 1'000'000;
  // fsync the WAL on every Write (survives power loss; kill -9 is safe without it).
  bool sync_writes = false;
  // Run RocksDB's compaction threads at the lowest CPU priority (nice 19), for a collector
  // whose receiving thread must keep its core during a burst: compactions that fall
  // behind slow Write down, and the collector's queue absorbs that. Flushes keep their
  // priority (a flush that falls behind stops Write). The thread pools are shared by
  // every store in the process, so this holds for all of them.
  bool low_priority_background = false;
  std::shared_ptr<StoreFaults> faults;
  // Keep the export journal (writer only): each Write also records which seqs it stored
  // and their time span, so that an exporter finds everything not yet exported without
  // scanning the store (docs/clickhouse.md). Costs one small put per Write.
  bool export_journal = false;
};

// Half-open time range [since_us, until_us) over event time.
struct TimeRange {
  int64_t since_us = INT64_MIN;
  int64_t until_us = INT64_MAX;
};

// Returning false from a visitor stops the scan early (not an error).
using EventVisitor = std::function<bool(const Event&)>;

// Where an exporter stands in the export journal; kept in the store (SaveExportCursor).
// Records are exported one span at a time: a span is a run of consecutive seqs
// [seq, span_end) with the time ranges its events and raw datagrams fall in. Within the
// open span the events are read in key order, then the raw datagrams, and after_key says
// how far that got. Plain value.
struct ExportCursor {
  uint64_t seq = 1;       // every event and raw datagram with a lower seq is exported
  uint64_t span_end = 0;  // 0: no span open
  int phase = 0;          // 0: events of the span, 1: its raw datagrams
  // Records of the phase at or before this (time, seq) key are exported: an event's key,
  // which may lie inside a stored group of events (store/event_record.h).
  std::string after_key;
  int64_t events_since_us = 0, events_until_us = -1;  // the span's event times (inclusive)
  int64_t raw_since_us = 0, raw_until_us = -1;        // its raw receive times (inclusive)
  bool operator==(const ExportCursor&) const = default;
};

// What VisitForExport hands each record to, in a stable order. The references are valid
// during the call only (the store decodes every record into the same object).
struct ExportVisitor {
  std::function<void(const Event&)> event;
  std::function<void(const RawDatagram&)> raw;
};

// Receives what each committed Write stored, so that an exporter can send the records
// without reading them back from the store: seqs [first_seq, end_seq), every one of them
// among `events` and `raw` (seq set), in batch order. Called on the writer's thread, under
// the store's write lock, right after the commit: it must return at once and never block.
// What it does not keep is in the store anyway (the export journal), for the exporter to
// read there. The pointers are valid during the call only.
class ExportTap {
 public:
  virtual ~ExportTap() = default;
  virtual void Stored(uint64_t first_seq, uint64_t end_seq, std::span<const Event* const> events,
                      std::span<const RawDatagram* const> raw) = 0;
  // Retention removed journal entries whose records were never exported (and counted them
  // as export_expired): the records the tap holds may be among them.
  virtual void JournalTrimmed() = 0;
};

// What ReadForExport hands out: records in a stable order and the cursor after them.
struct ExportRecords {
  std::vector<Event> events;
  std::vector<RawDatagram> raw;
  ExportCursor next;
};

// The reads that concern one device: what a client of the collector's query socket
// (query_socket/query_socket.h) answers as well as the store itself, so that `history`
// reads either through the same code. Implementations are thread-safe for reads.
class DeviceReader {
 public:
  virtual ~DeviceReader() = default;
  // One device's events in event-time order.
  virtual Status History(MacAddress mac, TimeRange range, const EventVisitor& visit) const = 0;
  virtual Result<DeviceSummary> GetDevice(MacAddress mac) const = 0;       // NotFound when unseen
  virtual Result<MacAddress> MacForSerial(std::string_view sn) const = 0;  // NotFound
};

class Store : public DeviceReader {
 public:
  // Opens (and for kReadWrite creates) the store in dir. A store written by a newer
  // schema version is refused with a message that names both versions. kReadWrite keeps
  // the store private: it raises the process umask to at least 027 (RocksDB creates files
  // with it) and takes the other-user bits off dir and the files in it. A store this user
  // may not read is an IoError starting "permission denied", never NotFound.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options);
  // A one-shot read-only view (options.mode is taken as kReadOnlyView) of only what one
  // device's history reads: its events, index, summary and serial numbers. It opens about
  // 1 ms faster than Open for a `history` run, leaving raw datagrams, alerts and counters
  // closed.
  static Result<std::unique_ptr<DeviceReader>> OpenDeviceReader(const std::string& dir,
                                                                StoreOptions options);

  // Atomically stores the batch, assigning seq numbers; updates device summaries,
  // SN -> MAC and counters ("stored_events", "stored_raw" are counted here).
  virtual Result<WriteResult> Write(WriteBatch& batch) = 0;

  // The whole fleet's events in event-time order.
  virtual Status Scan(TimeRange range, const EventVisitor& visit) const = 0;
  // Like Scan, but only seq, event_time_us, received_us, message_time_us, kind, format,
  // facility, severity, mac, sn, model, host, scheme, server, port, path and error are filled,
  // except for debug events which come whole; the other fields are empty. For whole-fleet
  // analyses (schedule, fleet); the default calls Scan.
  virtual Status ScanHeads(TimeRange range, const EventVisitor& visit) const {
    return Scan(range, visit);
  }
  // Like ScanHeads, but only the events of the devices `want` accepts (MAC; 0 for
  // unattributed events) are decoded and visited: the others are skipped on their MAC. An
  // empty `want` accepts every device.
  virtual Status ScanHeadsOf(TimeRange range, const std::function<bool(MacAddress)>& want,
                             const EventVisitor& visit) const {
    if (!want) return ScanHeads(range, visit);
    return ScanHeads(range, [&](const Event& e) { return !want(e.mac) || visit(e); });
  }
  // Like Scan, but only the events whose kind has its bit (1u << kind) set in kind_mask
  // are decoded and visited; the others are skipped on their kind byte without decoding.
  // For scans after rare kinds (upgrades) over long ranges; the default filters Scan.
  virtual Status ScanKinds(TimeRange range, uint32_t kind_mask, const EventVisitor& visit) const {
    return Scan(range, [&](const Event& e) {
      return (kind_mask >> static_cast<unsigned>(e.kind) & 1u) == 0 || visit(e);
    });
  }
  virtual Status ScanRaw(TimeRange range,
                         const std::function<bool(const RawDatagram&)>& visit) const = 0;

  virtual Status ForEachDevice(const std::function<bool(const DeviceSummary&)>& visit) const = 0;

  // Totals since the store was created.
  virtual Result<std::map<std::string, int64_t>> Counters() const = 0;
  virtual Status AddCounters(const std::map<std::string, int64_t>& deltas) = 0;

  virtual Status PutAlert(const AlertRecord& alert) = 0;
  virtual Status ScanAlerts(TimeRange started, bool active_only,
                            const std::function<bool(const AlertRecord&)>& visit) const = 0;

  // The export journal (StoreOptions::export_journal); the defaults answer Unsupported.
  // The cursor as last saved (a fresh one when none was). VisitForExport visits at most
  // max_records (> 0) records after `from`, in a stable order, and sets *next to the cursor
  // after them; nothing visited and *next == from means everything written so far is
  // exported. ReadForExport is the same collected into *out (appended). SaveExportCursor
  // persists the cursor and forgets the journal below cursor.seq (at once or at a later
  // save: no reader looks below the cursor). NextSeq is one more than
  // the highest seq stored. ExportStoreId is a random id the store keeps for good: with the
  // seq it names a record across every store of a fleet.
  virtual Result<ExportCursor> LoadExportCursor() const {
    return Status::Unsupported("this store keeps no export journal");
  }
  virtual Status VisitForExport(const ExportCursor& /*from*/, size_t /*max_records*/,
                                const ExportVisitor& /*visit*/, ExportCursor* /*next*/) const {
    return Status::Unsupported("this store keeps no export journal");
  }
  Status ReadForExport(const ExportCursor& from, size_t max_records, ExportRecords* out) const {
    ExportVisitor collect{[out](const Event& e) { out->events.push_back(e); },
                          [out](const RawDatagram& r) { out->raw.push_back(r); }};
    return VisitForExport(from, max_records, collect, &out->next);
  }
  virtual Status SaveExportCursor(const ExportCursor& /*cursor*/) {
    return Status::Unsupported("this store keeps no export journal");
  }
  virtual Result<uint64_t> NextSeq() const { return Status::Unsupported("no seq here"); }
  virtual Result<uint64_t> ExportStoreId() const { return Status::Unsupported("no store id"); }
  // A writer keeping the journal hands every later Write's records to tap (nullptr: to
  // none); waits for a Write under way. REQUIRES: tap outlives its registration.
  virtual Status SetExportTap(ExportTap* /*tap*/) {
    return Status::Unsupported("this store keeps no export journal");
  }

  // Secondary only: replays what the writer committed since the last call.
  virtual Status CatchUp() = 0;
  // Removes what retention_us puts out of range, as of the clock's now.
  virtual Status ApplyRetention() = 0;
  // Flushes memtables (clean shutdown).
  virtual Status Flush() = 0;
  // Writes the pending index chunks and compacts every column family fully (benchmarks,
  // maintenance); slow on a large store.
  virtual Status Compact() = 0;
};

// The Event for a parsed message (owned copies of its fields). event_time_us is the
// message's own time when use_message_time and it had one (imports), else received_us.
// Implemented in store/event_from_parsed.cc.
Event EventFromParsed(const ParsedMessage& m, int64_t received_us, std::string_view source,
                      bool use_message_time);
// The same, filling *out in place (every field, seq reset to 0): a writer that reuses its
// Events keeps their string buffers instead of allocating new ones per message.
void EventFromParsed(const ParsedMessage& m, int64_t received_us, std::string_view source,
                     bool use_message_time, Event* out);

// How one event changes its device's summary, as the store applies it on Write: folding a
// device's events into a fresh summary (mac set) gives what GetDevice answers. Stores built
// on other engines fold with it so that their summaries agree.
void ApplyEventToDeviceSummary(const Event& event, DeviceSummary* summary);

// Where the store is when no --db is given; the daemon and every command agree, so that
// `resyncwatch history MAC` finds what a collector started without --db (or by
// scripts/run) stores:
//   1. $RESYNCWATCH_DB when set;
//   2. of the candidates (StoreDirCandidates: /var/lib/resyncwatch, a system install, then
//      the user's own UserStoreDir), the first on which a writer (a collector, an import)
//      runs now;
//   3. else the first candidate that exists;
//   4. else the user's own directory (the daemon creates it).
std::string DefaultStoreDir();
inline constexpr std::string_view kSystemStoreDir = "/var/lib/resyncwatch";
// $XDG_STATE_HOME/resyncwatch, else $HOME/.local/state/resyncwatch ("" when neither is an
// absolute path).
std::string UserStoreDir();
std::vector<std::string> StoreDirCandidates();
// The process id of the writer that holds the store in DIR open (its RocksDB lock), 0 when
// none does, -1 when one does whose id is not visible (another PID namespace).
int StoreWriterPid(const std::string& store_dir);

// DIR/query.sock: where the writer of the store in DIR answers queries by default.
std::string QuerySocketPath(const std::string& store_dir);

}  // namespace resyncwatch
