// The rows of the ClickHouse tables (internal to clickhouse/): the schema's statements,
// the column lists, and events and raw datagrams to and from TabSeparated lines. Pure
// functions: thread-safe.
#pragma once

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

// Appends one TabSeparated line (with '\n').
void AppendEventRow(const Origin& origin, const Event& e, std::string* out);
void AppendRawRow(const Origin& origin, const RawDatagram& r, std::string* out);
// The same with the origin's columns as OriginColumns made them: an exporter's rows all
// start with the same text, encoded once.
std::string OriginColumns(const Origin& origin);
void AppendEventRow(std::string_view origin_columns, const Event& e, std::string* out);
void AppendRawRow(std::string_view origin_columns, const RawDatagram& r, std::string* out);

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
