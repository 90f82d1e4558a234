// key_format: the byte layout of every RocksDB key in the store, one column family per
// kind of record (docs/store-format.md is the prose spec). Integers are big-endian so
// that byte order is numeric order; signed times are biased by 2^63 first.
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "parsers/parsers.h"

namespace resyncwatch::store_format {

// Schema version written into the meta column family; bump on any layout change. A writer
// opening an older store raises its version (it reads every older version). 2: event
// encoding v2 (store/event_codec.h). 3: device index lists of times only (record_codec.h).
// 4: records of several events (store/event_record.h).
constexpr uint32_t kSchemaVersion = 4;

// Column family names, in the order the store opens them (index = handle slot).
enum Cf : int {
  kCfDefault = 0,  // "default": meta (schema version, next seq, index watermark)
  kCfEvents,       // (event_time, seq) -> encoded Event
  kCfDeviceIndex,  // mac -> list of index entries (record_codec.h), appended by merge
  kCfDevices,      // mac -> encoded DeviceSummary
  kCfSerials,      // sn -> mac
  kCfRaw,          // (received_time, seq) -> encoded RawDatagram
  kCfAlerts,       // (started, id) -> encoded AlertRecord
  kCfCounters,     // name -> int64 (merged by addition)
  kCfDedup,        // (event_time, content hash) -> "" (idempotent imports)
  kCfCount,
};
const char* CfName(int cf);

// Meta keys in the default column family.
inline constexpr std::string_view kMetaSchemaVersion = "schema_version";  // fixed32 BE
inline constexpr std::string_view kMetaNextSeq = "next_seq";              // fixed64 BE
// Every event with seq < index_watermark is in the device index and the summaries.
inline constexpr std::string_view kMetaIndexWatermark = "index_watermark";  // fixed64 BE
// Lowest event-time key of any event at or above the watermark (the unindexed tail).
inline constexpr std::string_view kMetaTailStart = "tail_start";  // event key
// The export journal (docs/clickhouse.md): one entry per Write while it is kept,
// JournalKey(first seq) -> fixed64 end seq (exclusive), then the biased lowest and highest
// event time and the lowest and highest raw receive time (fixed64 each; lowest > highest
// when the Write stored none of that kind).
inline constexpr std::string_view kMetaJournalPrefix = "xj/";
inline constexpr std::string_view kMetaExportCursor = "export_cursor";
inline constexpr std::string_view kMetaStoreId = "store_id";  // fixed64 BE, random

void PutFixed32(std::string* out, uint32_t v);
void PutFixed64(std::string* out, uint64_t v);
uint32_t GetFixed32(const char* p);
uint64_t GetFixed64(const char* p);
// Order-preserving map of a signed time onto uint64.
inline uint64_t BiasTime(int64_t t) { return static_cast<uint64_t>(t) ^ (1ULL << 63); }
inline int64_t UnbiasTime(uint64_t v) { return static_cast<int64_t>(v ^ (1ULL << 63)); }

std::string JournalKey(uint64_t first_seq);

// Events and raw datagrams: 16 bytes, biased time then seq.
constexpr size_t kTimeSeqKeySize = 16;
std::string TimeSeqKey(int64_t time_us, uint64_t seq);
// The same key in a caller's buffer: the write path makes one per event.
struct TimeSeqKeyBuf {
  char bytes[kTimeSeqKeySize];
  TimeSeqKeyBuf(int64_t time_us, uint64_t seq) {
    const uint64_t parts[2] = {BiasTime(time_us), seq};
    for (int p = 0; p < 2; ++p) {
      for (int i = 0; i < 8; ++i) bytes[8 * p + i] = static_cast<char>(parts[p] >> (56 - 8 * i));
    }
  }
  std::string_view view() const { return std::string_view(bytes, kTimeSeqKeySize); }
};
struct TimeSeq {
  int64_t time_us = 0;
  uint64_t seq = 0;
};
std::optional<TimeSeq> ParseTimeSeqKey(std::string_view key);
// The smallest key at or after time_us (seq 0, which no record has): the bound of a time
// range.
inline std::string TimeBoundKey(int64_t time_us) { return TimeSeqKey(time_us, 0); }

// Device index and summaries: the 6-byte MAC, big-endian.
constexpr size_t kMacKeySize = 6;
std::string MacKey(MacAddress mac);
std::optional<MacAddress> ParseMacKey(std::string_view key);

// Alerts: biased start time then the id bytes.
std::string AlertKey(int64_t started_us, std::string_view id);

// Dedup: biased event time then a 64-bit content hash.
std::string DedupKey(int64_t event_time_us, uint64_t content_hash);

}  // namespace resyncwatch::store_format
