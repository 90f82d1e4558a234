// clickhouse: resyncwatch past one machine. Collectors export every stored event and raw
// datagram to a ClickHouse server over its HTTP interface, and the CLI reads the whole
// fleet back from it through the same Store interface it reads a local store with
// (design, schema and guarantees: docs/clickhouse.md).
//
// - ClickHouseExporter runs on its own thread in resyncwatchd. It sends what the local
//   store holds after the cursor kept in the store as INSERTs (taken in memory from the
//   writer's bounded handoff when it has them, else read through the store's export
//   journal), and moves the cursor only once ClickHouse acknowledged them: at least once. Every row
//   carries its store's id and seq, and the tables are ReplacingMergeTree on a key that ends with
//   them, read with FINAL: a batch sent twice is never counted twice.
// - OpenClickHouseStore answers the Store read calls (History, Scan*, ForEachDevice,
//   GetDevice, MacForSerial) with queries; it never writes.
//
// Ownership: the exporter borrows the store (REQUIRES: it outlives the exporter). Thread
// safety: ClickHouseExporter's public calls are thread-safe; the Store from
// OpenClickHouseStore is safe for concurrent reads (one HTTP connection per call).
// Credentials are never logged, never put in an error message or a metric.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace resyncwatch {

struct ClickHouseOptions {
  std::string url;  // the HTTP interface: http://host:8123 (https:// with TLS)
  std::string database = "resyncwatch";
  std::string user;      // "" = ClickHouse's default user
  std::string password;  // never shown
  // With https: PEM file of the CAs that may sign the server's certificate ("" = the
  // system's). The certificate and its host name are always verified.
  std::string ca_file;
  int timeout_ms = 30'000;
};

// InvalidArgument naming the problem unless url is http(s)://host[:port] with nothing
// after, and database a plain identifier.
Status ValidateClickHouseOptions(const ClickHouseOptions& options);

// The statements that create the database and tables, ';'-terminated, for a DBA who
// creates them by hand. The exporter runs the same statements (IF NOT EXISTS) on connect.
std::string ClickHouseSchemaSql(const std::string& database);
// Runs ClickHouseSchemaSql against the server.
Status CreateClickHouseSchema(const ClickHouseOptions& options);

// Drops every day partition of the events and raw tables whose whole (UTC) day is before
// cutoff_us: what a TTL would do on a newer ClickHouse. Sets *dropped to how many it
// dropped. Safe to run from several collectors at once.
Status DropExpiredClickHousePartitions(const ClickHouseOptions& options, int64_t cutoff_us,
                                       int* dropped);

// A read-only Store over the ClickHouse tables (all collectors' records, duplicates
// removed). Checks that the server answers and the tables exist.
Result<std::unique_ptr<Store>> OpenClickHouseStore(const ClickHouseOptions& options);

// `resyncwatch fleet` aggregated inside ClickHouse, so that only its answer crosses the
// network (docs/clickhouse.md, "fleet in SQL"). Each record counts once however often it
// was sent: the events of one phone are gathered as a set of whole rows, in which copies
// of one (store_id, seq) are equal. The figures are those FleetStats (query/) computes over
// the same events in time order: one row per section and key.
enum class FleetGrouping { kNone, kModel, kServer, kError, kHour };
struct FleetAggregateRow {
  enum class Section : uint8_t {
    kTotal = 0,    // key "": events, devices, devices_last_failed, first_us, last_us
    kResync = 1,   // key "": attempts, successes, failures of resyncs
    kUpgrade = 2,  // key "": the same of upgrades
    kError = 3,    // key the error text: failures
    kServer = 4,   // key the server an outcome is credited to: attempts, successes, failures
    kMinute = 5,   // key the minute's start (decimal micros): successes, failures
    kGroup = 6,    // key the group's name (hour: decimal micros): devices, counts, last failed
  };
  Section section = Section::kTotal;
  std::string key;
  uint64_t events = 0, devices = 0, attempts = 0, successes = 0, failures = 0;
  uint64_t devices_last_failed = 0;
  int64_t first_us = 0, last_us = 0;
};
// REQUIRES: store came from OpenClickHouseStore (InvalidArgument otherwise).
Result<std::vector<FleetAggregateRow>> AggregateFleet(const Store& store, TimeRange range,
                                                      FleetGrouping by);

struct ExporterOptions {
  ClickHouseOptions clickhouse;
  std::string collector_name;             // shown in the rows' collector column
  size_t min_batch_rows = 1'000;          // send when this many wait ...
  int64_t max_delay_us = 1'000'000;       // ... or the oldest has waited this long
  size_t max_batch_rows = 50'000;         // rows per INSERT at most
  int64_t retry_min_us = 200'000;         // back-off after a failed INSERT, doubling ...
  int64_t retry_max_us = 5'000'000;       // ... up to this
  int64_t warn_interval_us = 60'000'000;  // at most one warning per interval while down
  // ClickHouse 18.16 has no TTL: when retention_us > 0 the exporter drops the tables' day
  // partitions whose whole day is older than now - retention_us, at start and then every
  // retention_interval_us (DropExpiredClickHousePartitions).
  int64_t retention_us = 0;
  int64_t retention_interval_us = 3'600'000'000;
  // The writer hands each Write's records to the exporter in memory, as the rows to send,
  // up to about this many bytes of them (~250 bytes an event); the exporter reads the
  // store only for what the handoff did not keep (0: always read the store).
  size_t handoff_max_bytes = 32 << 20;
};

struct ExporterStats {
  uint64_t exported_events = 0;  // acknowledged by ClickHouse (a resent row counts again)
  uint64_t exported_raw = 0;
  uint64_t batches = 0;
  uint64_t failed_batches = 0;
  uint64_t dropped_partitions = 0;  // day partitions dropped by retention
  uint64_t backlog = 0;             // seqs stored but not yet acknowledged
  bool up = false;                  // the last INSERT (or schema check) succeeded
  // Where the acknowledged records came from (not metrics: how the export works, for
  // tests and the bench): the writer's handoff, or the store; and how many records the
  // writer stored that the handoff did not keep (left to the store path).
  uint64_t sent_from_handoff = 0;
  uint64_t sent_from_store = 0;
  uint64_t handoff_passed = 0;
};

class ClickHouseExporter {
 public:
  // REQUIRES: store was opened read-write with StoreOptions::export_journal and outlives
  // the exporter. Starts the thread; ClickHouse being down is not an error here.
  static Result<std::unique_ptr<ClickHouseExporter>> Start(Store* store,
                                                           const ExporterOptions& options);
  // Stops the thread; an INSERT under way is waited for (at most the timeout) and, if
  // unacknowledged, sent again by the next start.
  ~ClickHouseExporter();
  ClickHouseExporter(const ClickHouseExporter&) = delete;
  ClickHouseExporter& operator=(const ClickHouseExporter&) = delete;

  ExporterStats stats() const;
  // Prometheus text: resyncwatch_clickhouse_* counters and gauges.
  std::string RenderMetrics() const;

 private:
  class Impl;
  explicit ClickHouseExporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace resyncwatch
