// AggregateFleet: what `resyncwatch fleet` computes, as one ClickHouse query whose answer
// is a few hundred rows, instead of streaming every event to the CLI.
//
// FleetStats (query/fleet_stats.cc) folds events in time order, and three of its figures
// depend on what came before an event of the same phone: an outcome without a server is
// credited to the server of the phone's latest request, --by model files an event under
// the phone's latest model, and a phone's last outcome decides "last failed". ClickHouse
// 18.16 has no window functions, so the query gathers each phone's events into one array
// (groupUniqArray: copies of a record sent twice are equal rows and collapse, which makes
// the answer exact without FINAL), sorts it by (time, store_id, seq) and derives "latest
// so far" with cumulative sums used as indexes into the arrays of requests and models.
// Events without a phone (mac 0) count alone, each as its own group of one, as FleetStats
// gives each a fresh tally. Every event then yields a few facts (section, key, counts),
// and the outer GROUP BY adds them up.
#include <array>
#include <charconv>
#include <unordered_map>

#include "clickhouse/clickhouse.h"
#include "clickhouse/http.h"
#include "clickhouse/rows.h"

namespace resyncwatch {
namespace {

std::string RangeWhere(TimeRange range) {
  std::string w = "1";
  if (range.since_us != INT64_MIN) w += " AND event_time_us >= " + std::to_string(range.since_us);
  if (range.until_us != INT64_MAX) w += " AND event_time_us < " + std::to_string(range.until_us);
  return w;
}

// A text column as the number the query carries instead of the text: 0 for "", else its
// cityHash64 (Int64). Numbers make the per-phone arrays several times cheaper than strings;
// Names() maps them back, and fails on a collision rather than merging two names.
std::string Id(const char* column) {
  return std::string("if(") + column + " = '', toInt64(0), toInt64(cityHash64(" + column + ")))";
}

// Per phone (or per record without one): its events in order, each once, with the server
// and model the phone had at that event, and the phone's final state.
std::string PhoneSequences(const std::string& db, TimeRange range) {
  // x: (time, store_id, seq, kind, server id, model id, error id). Kinds: 1-3 resync
  // request, success, failure; 4-6 the same for upgrades (parsers.h, append-only). Copies
  // of one record sort next to each other and all but the first are dropped.
  return "SELECT mac,"
         " arraySort(x -> (x.1, x.2, x.3), groupArray((event_time_us, store_id, seq,"
         "   CAST(kind AS Int8), " +
         Id("server") + ", " + Id("model") + ", " + Id("error") +
         "))) AS sorted,"
         " arrayFilter((x, i) -> i = 1 OR x.2 != sorted[i - 1].2 OR x.3 != sorted[i - 1].3,"
         "   sorted, arrayEnumerate(sorted)) AS ev,"
         " arrayMap(x -> x.4 = 1 OR x.4 = 4, ev) AS is_request,"
         " arrayMap(x -> x.5, arrayFilter(x -> x.4 = 1 OR x.4 = 4, ev)) AS request_servers,"
         " arrayMap(n -> request_servers[n], arrayCumSum(is_request)) AS current_server,"
         " arrayMap(x -> x.6, arrayFilter(x -> x.6 != 0, ev)) AS models,"
         " arrayMap(n -> models[n], arrayCumSum(arrayMap(x -> x.6 != 0, ev))) AS current_model,"
         " arrayMap(x -> multiIf(x.4 = 2 OR x.4 = 5, 1, x.4 = 3 OR x.4 = 6, -1, 0), ev)"
         "   AS outcome,"
         " arrayFilter(o -> o != 0, outcome) AS outcomes,"
         " outcomes[length(outcomes)] AS last_outcome,"
         " request_servers[length(request_servers)] AS final_server,"
         " models[length(models)] AS final_model"
         " FROM " +
         db + ".events WHERE " + RangeWhere(range) +
         " GROUP BY mac, if(mac = 0, store_id, 0), if(mac = 0, seq, 0)";
}

// The event time t rounded down to a multiple of width_us (negative times too), in Int64:
// a literal over 2^31 would be a UInt32 and its sums would wrap.
std::string FloorTime(int64_t width_us) {
  const std::string w = "toInt64(" + std::to_string(width_us) + ")";
  return "(t - ((t % " + w + ") + " + w + ") % " + w + ")";
}

// The key an event is grouped under for --by, and whether its phone counts as "last
// failed" in that group (FleetStats::Groups: for models and servers, only where the phone
// belongs at the end).
std::pair<std::string, std::string> GroupKey(FleetGrouping by) {
  const std::string failed_phone = "mac != 0 AND last_outcome = -1";
  switch (by) {
    case FleetGrouping::kModel:
      return {"current_model", failed_phone + " AND final_model = current_model"};
    case FleetGrouping::kServer:
      return {"if(server != 0, server, current_server)",
              failed_phone + " AND final_server = if(server != 0, server, current_server)"};
    case FleetGrouping::kError:
      return {"error", failed_phone};
    case FleetGrouping::kHour:
      return {FloorTime(3'600'000'000), failed_phone};
    case FleetGrouping::kNone:
      break;
  }
  return {"toInt64(0)", "0"};
}

// Each event's facts: (section, key, attempt, success, failure, counts as last failed),
// sections numbered as FleetAggregateRow::Section; 255 marks a fact that does not apply.
std::string EventFacts(FleetGrouping by) {
  const auto [group_key, group_failed] = GroupKey(by);
  std::string group_applies = "0";
  if (by != FleetGrouping::kNone) {
    group_applies = "(family != 0 OR mac != 0)";
    if (by == FleetGrouping::kError) group_applies += " AND o = -1";
  }
  const std::string zero = "toUInt8(0)";
  return "arrayFilter(f -> f.1 != 255, ["
         " tuple(" +
         zero + ", toInt64(0), " + zero + ", " + zero + ", " + zero +
         ", toUInt8(mac != 0 AND last_outcome = -1)),"
         " tuple(toUInt8(if(family = 1, 1, if(family = 2, 2, 255))), toInt64(0), attempt,"
         "   success, failure, " +
         zero +
         "),"
         " tuple(toUInt8(if(failure, 3, 255)), error, " +
         zero + ", " + zero + ", toUInt8(1), " + zero +
         "),"
         " tuple(toUInt8(if(family != 0, 4, 255)),"
         "   if((kind = 2 OR kind = 5) AND server != 0, server, current_server), attempt,"
         "   success, failure, " +
         zero +
         "),"
         " tuple(toUInt8(if(o != 0, 5, 255)), " +
         FloorTime(60'000'000) + ", " + zero + ", success, failure, " + zero +
         "),"
         " tuple(toUInt8(if(" +
         group_applies + ", 6, 255)), toInt64(" + group_key +
         "), attempt, success, failure, toUInt8(" + group_failed + "))])";
}

std::string FleetSql(const std::string& db, TimeRange range, FleetGrouping by) {
  const std::string per_event =
      "SELECT mac, last_outcome, final_server, final_model, e.1 AS t, e.4 AS kind,"
      " e.5 AS server, e.7 AS error, current_server, current_model, o,"
      " multiIf(kind >= 1 AND kind <= 3, 1, kind >= 4 AND kind <= 6, 2, 0) AS family,"
      " toUInt8(family != 0 AND o = 0) AS attempt, toUInt8(o = 1) AS success,"
      " toUInt8(o = -1) AS failure"
      " FROM (" +
      PhoneSequences(db, range) +
      ") ARRAY JOIN ev AS e, current_server, current_model, outcome AS o";
  return "SELECT f.1, f.2, count(), uniqExactIf(mac, mac != 0 AND (f.1 = 0 OR f.1 = 6)),"
         " sum(f.3), sum(f.4), sum(f.5), uniqExactIf(mac, f.6 = 1), min(t), max(t)"
         " FROM (SELECT mac, t, " +
         EventFacts(by) + " AS facts FROM (" + per_event +
         ")) ARRAY JOIN facts AS f GROUP BY f.1, f.2 FORMAT TabSeparated";
}

// The texts behind the ids of the range: column index (0 server, 1 model, 2 error), id, text.
std::string NamesSql(const std::string& db, TimeRange range) {
  std::string sql;
  const char* columns[] = {"server", "model", "error"};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) sql += " UNION ALL ";
    sql += "SELECT toUInt8(" + std::to_string(i) + "), " + Id(columns[i]) + ", " + columns[i] +
           " FROM " + db + ".events WHERE " + RangeWhere(range) + " AND " + columns[i] +
           " != '' GROUP BY " + columns[i];
  }
  return sql + " FORMAT TabSeparated";
}

using NameMaps = std::array<std::unordered_map<int64_t, std::string>, 3>;

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Splits a TabSeparated line into exactly n fields; false when it has another count.
bool SplitFields(std::string_view line, std::string_view* fields, size_t n) {
  size_t i = 0;
  for (size_t start = 0;; ++i) {
    const size_t tab = line.find('\t', start);
    if (i == n) return false;
    fields[i] = line.substr(start, tab == std::string_view::npos ? line.npos : tab - start);
    if (tab == std::string_view::npos) return i + 1 == n;
    start = tab + 1;
  }
}

Status ReadNames(const clickhouse::StoreEndpoint& ch, TimeRange range, NameMaps* names) {
  Status parse;
  Status s = ch.http->Query(NamesSql(ch.database, range), [&](std::string_view line) {
    std::string_view f[3];
    unsigned column = 0;
    int64_t id = 0;
    if (!SplitFields(line, f, 3) || !ParseNumber(f[0], &column) || column > 2 ||
        !ParseNumber(f[1], &id)) {
      parse = Status::Corruption("ClickHouse name row of the wrong shape");
      return false;
    }
    auto [it, fresh] = (*names)[column].emplace(id, clickhouse::Unescape(f[2]));
    if (!fresh && it->second != clickhouse::Unescape(f[2])) {
      parse = Status::Unsupported("two names share one cityHash64 in this range: '" + it->second +
                                  "'; use --db per collector");
      return false;
    }
    return true;
  });
  return s.ok() ? parse : s;
}

// Which name map a row's key is an id of (-1: the key is a time or unused).
int NameColumn(FleetAggregateRow::Section section, FleetGrouping by) {
  using Section = FleetAggregateRow::Section;
  switch (section) {
    case Section::kServer:
      return 0;
    case Section::kError:
      return 2;
    case Section::kGroup:
      return by == FleetGrouping::kServer  ? 0
             : by == FleetGrouping::kModel ? 1
             : by == FleetGrouping::kError ? 2
                                           : -1;
    default:
      return -1;
  }
}

Status ParseFleetRow(std::string_view line, FleetGrouping by, const NameMaps& names,
                     FleetAggregateRow* row) {
  std::string_view f[10];
  unsigned section = 0;
  int64_t key = 0;
  if (!SplitFields(line, f, 10) || !ParseNumber(f[0], &section) || section > 6 ||
      !ParseNumber(f[1], &key) || !ParseNumber(f[2], &row->events) ||
      !ParseNumber(f[3], &row->devices) || !ParseNumber(f[4], &row->attempts) ||
      !ParseNumber(f[5], &row->successes) || !ParseNumber(f[6], &row->failures) ||
      !ParseNumber(f[7], &row->devices_last_failed) || !ParseNumber(f[8], &row->first_us) ||
      !ParseNumber(f[9], &row->last_us)) {
    return Status::Corruption("ClickHouse fleet row of the wrong shape");
  }
  row->section = static_cast<FleetAggregateRow::Section>(section);
  const int column = NameColumn(row->section, by);
  if (column < 0) {
    row->key = row->section == FleetAggregateRow::Section::kMinute ||
                       row->section == FleetAggregateRow::Section::kGroup
                   ? std::to_string(key)
                   : "";
  } else if (key != 0) {
    auto it = names[column].find(key);
    if (it == names[column].end()) return Status::Corruption("ClickHouse fleet row: unknown name");
    row->key = it->second;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<FleetAggregateRow>> AggregateFleet(const Store& store, TimeRange range,
                                                      FleetGrouping by) {
  std::optional<clickhouse::StoreEndpoint> ch = clickhouse::EndpointOf(store);
  if (!ch) return Status::InvalidArgument("AggregateFleet needs a ClickHouse store");
  NameMaps names;
  if (Status s = ReadNames(*ch, range, &names); !s.ok()) return s;
  std::vector<FleetAggregateRow> rows;
  Status parse;
  Status s = ch->http->Query(FleetSql(ch->database, range, by), [&](std::string_view line) {
    parse = ParseFleetRow(line, by, names, &rows.emplace_back());
    return parse.ok();
  });
  if (!s.ok()) return s;
  if (!parse.ok()) return parse;
  return rows;
}

}  // namespace resyncwatch
