// The rows of the ClickHouse tables (internal to clickhouse/): the schema's statements,
// the column lists, and events and raw datagrams to and from TabSeparated lines. Pure
// functions: thread-safe.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/store.h"

namespace resyncwatch::clickhouse {

// Where a row came from: the exporting store's id and the collector's name.
struct Origin {
  uint64_t store_id = 0;
  std::string_view collector;
};

// Columns of `events` an INSERT names (origin first), and those a read selects, in the
// order of the Event fields that ParseEventRow fills.
extern const std::string_view kEventInsertColumns;
extern const std::string_view kEventReadColumns;
// The same list with the bulky text blanked but for debug events (Store::ScanHeads).
extern const std::string_view kEventHeadColumns;
extern const std::string_view kRawInsertColumns;
extern const std::string_view kRawReadColumns;

// A growable byte buffer the row encoders write into directly: a std::string would zero
// what it grows by, or check its capacity at every byte. Move-only; not thread-safe.
class RowBuffer {
 public:
  RowBuffer() = default;
  ~RowBuffer() { std::free(data_); }
  RowBuffer(RowBuffer&& o) noexcept : data_(o.data_), size_(o.size_), capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }
  RowBuffer& operator=(RowBuffer&&) = delete;
  RowBuffer(const RowBuffer&) = delete;

  std::string_view view() const { return {data_, size_}; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void clear() { size_ = 0; }
  // Room for at least n more bytes: where they go. End() then says where they stopped.
  char* Grow(size_t n);
  void End(const char* end) { size_ = static_cast<size_t>(end - data_); }

 private:
  char* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

// Appends one TabSeparated line (with '\n').
void AppendEventRow(const Origin& origin, const Event& e, std::string* out);
void AppendRawRow(const Origin& origin, const RawDatagram& r, std::string* out);
// The same with the origin's columns as OriginColumns made them: an exporter's rows all
// start with the same text, encoded once.
std::string OriginColumns(const Origin& origin);
void AppendEventRow(std::string_view origin_columns, const Event& e, std::string* out);
void AppendRawRow(std::string_view origin_columns, const RawDatagram& r, std::string* out);
void AppendEventRow(std::string_view origin_columns, const Event& e, RowBuffer* out);
void AppendRawRow(std::string_view origin_columns, const RawDatagram& r, RowBuffer* out);

// One line (without '\n') of kEventReadColumns / kRawReadColumns. Corruption naming the
// column when the line does not fit.
Status ParseEventRow(std::string_view line, Event* e);
Status ParseRawRow(std::string_view line, RawDatagram* r);

// The CREATE statements, each ';'-terminated on its own lines.
std::string SchemaStatements(const std::string& database);

// TabSeparated escaping of one field, and its inverse.
void AppendEscaped(std::string_view field, std::string* out);
std::string Unescape(std::string_view field);

}  // namespace resyncwatch::clickhouse
