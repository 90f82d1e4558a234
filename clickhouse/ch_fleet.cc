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
#include <charconv>

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

// Per phone (or per record without one): its events in order, each with the server and
// model the phone had at that event, and the phone's final state.
std::string PhoneSequences(const std::string& db, TimeRange range) {
  // x: (time, store_id, seq, kind, server, model, error). Kinds: 1-3 resync request,
  // success, failure; 4-6 the same for upgrades (parsers.h, append-only).
  return "SELECT mac,"
         " arraySort(x -> (x.1, x.2, x.3), groupUniqArray((event_time_us, store_id, seq,"
         "   CAST(kind AS Int8), server, model, error))) AS ev,"
         " arrayMap(x -> x.4 = 1 OR x.4 = 4, ev) AS is_request,"
         " arrayMap(x -> x.5, arrayFilter(x -> x.4 = 1 OR x.4 = 4, ev)) AS request_servers,"
         " arrayMap(n -> request_servers[n], arrayCumSum(is_request)) AS current_server,"
         " arrayMap(x -> x.6, arrayFilter(x -> x.6 != '', ev)) AS models,"
         " arrayMap(n -> models[n], arrayCumSum(arrayMap(x -> x.6 != '', ev)))"
         "   AS current_model,"
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
      return {"if(server != '', server, current_server)",
              failed_phone + " AND final_server = if(server != '', server, current_server)"};
    case FleetGrouping::kError:
      return {"error", failed_phone};
    case FleetGrouping::kHour:
      return {"toString(" + FloorTime(3'600'000'000) + ")", failed_phone};
    case FleetGrouping::kNone:
      break;
  }
  return {"''", "0"};
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
  return "arrayFilter(f -> f.1 != 255, ["
         " tuple(toUInt8(0), '', toUInt8(0), toUInt8(0), toUInt8(0),"
         "   toUInt8(mac != 0 AND last_outcome = -1)),"
         " tuple(toUInt8(if(family = 1, 1, if(family = 2, 2, 255))), '', attempt, success,"
         "   failure, toUInt8(0)),"
         " tuple(toUInt8(if(failure, 3, 255)), error, toUInt8(0), toUInt8(0), toUInt8(1),"
         "   toUInt8(0)),"
         " tuple(toUInt8(if(family != 0, 4, 255)),"
         "   if((kind = 2 OR kind = 5) AND server != '', server, current_server), attempt,"
         "   success, failure, toUInt8(0)),"
         " tuple(toUInt8(if(o != 0, 5, 255)),"
         "   toString(" +
         FloorTime(60'000'000) +
         "), toUInt8(0), success,"
         "   failure, toUInt8(0)),"
         " tuple(toUInt8(if(" +
         group_applies + ", 6, 255)), " + group_key + ", attempt, success, failure, toUInt8(" +
         group_failed + "))])";
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

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Status ParseFleetRow(std::string_view line, FleetAggregateRow* row) {
  std::string_view f[10];
  size_t n = 0;
  for (size_t start = 0; n < 10; ++n) {
    const size_t tab = line.find('\t', start);
    f[n] = line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    if (tab == std::string_view::npos) {
      ++n;
      break;
    }
    start = tab + 1;
  }
  unsigned section = 0;
  if (n != 10 || !ParseNumber(f[0], &section) || section > 6 || !ParseNumber(f[2], &row->events) ||
      !ParseNumber(f[3], &row->devices) || !ParseNumber(f[4], &row->attempts) ||
      !ParseNumber(f[5], &row->successes) || !ParseNumber(f[6], &row->failures) ||
      !ParseNumber(f[7], &row->devices_last_failed) || !ParseNumber(f[8], &row->first_us) ||
      !ParseNumber(f[9], &row->last_us)) {
    return Status::Corruption("ClickHouse fleet row of the wrong shape");
  }
  row->section = static_cast<FleetAggregateRow::Section>(section);
  row->key = clickhouse::Unescape(f[1]);
  return Status::Ok();
}

}  // namespace

Result<std::vector<FleetAggregateRow>> AggregateFleet(const Store& store, TimeRange range,
                                                      FleetGrouping by) {
  std::optional<clickhouse::StoreEndpoint> ch = clickhouse::EndpointOf(store);
  if (!ch) return Status::InvalidArgument("AggregateFleet needs a ClickHouse store");
  std::vector<FleetAggregateRow> rows;
  Status parse;
  Status s = ch->http->Query(FleetSql(ch->database, range, by), [&](std::string_view line) {
    parse = ParseFleetRow(line, &rows.emplace_back());
    return parse.ok();
  });
  if (!s.ok()) return s;
  if (!parse.ok()) return parse;
  return rows;
}

}  // namespace resyncwatch
