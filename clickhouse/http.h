// The ClickHouse HTTP interface as this module uses it (internal to clickhouse/): a
// statement with a body (INSERT, DDL), and a query whose TabSeparated answer is handed
// over row by row as it streams in. One connection per call: thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "clickhouse/clickhouse.h"

namespace resyncwatch::clickhouse {

// Returning false stops reading (not an error).
using RowVisitor = std::function<bool(std::string_view line)>;

class Http {
 public:
  explicit Http(const ClickHouseOptions& options) : options_(options) {}

  // Runs `sql` with `body` as its data (INSERT ... FORMAT TabSeparated, or "" for DDL).
  // IoError with ClickHouse's own first line on failure (never the credentials).
  Status Execute(const std::string& sql, const std::string& body) const;
  // The same with the body in pieces, sent one after the other as they are (no copy).
  Status Execute(const std::string& sql, std::span<const std::string_view> body) const;
  // Runs a SELECT ending in FORMAT TabSeparated and visits each row without its '\n'.
  Status Query(const std::string& sql, const RowVisitor& visit) const;

 private:
  ClickHouseOptions options_;
};

// The connection and database behind a Store from OpenClickHouseStore; nullopt for any
// other store (ch_store.cc).
struct StoreEndpoint {
  const Http* http;
  std::string database;
};
std::optional<StoreEndpoint> EndpointOf(const Store& store);

// 'text' as a ClickHouse string literal.
std::string SqlQuote(std::string_view text);

}  // namespace resyncwatch::clickhouse
