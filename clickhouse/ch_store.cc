// The Store read calls over the ClickHouse tables: every collector's records, each once
// (FINAL folds rows sent twice), in the order a local store gives them (event time, then
// the record's identity). Summaries are folded from the events with the store's own rule.
//
// Whole-range reads have no ORDER BY: ClickHouse 18.16 reads FINAL through one merge of
// every part in sorting-key order, so the rows arrive in key order, while an ORDER BY
// would sort wide rows again (ten times the cost measured on 1,000,000 rows). The order is
// checked row by row: should a server answer otherwise, the read fails instead of
// answering wrong.
#include <algorithm>
#include <cinttypes>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "clickhouse/clickhouse.h"
#include "clickhouse/http.h"
#include "clickhouse/rows.h"

namespace resyncwatch {
namespace {

using clickhouse::Http;

std::string TimeWhere(const char* column, TimeRange range) {
  std::string w;
  if (range.since_us != INT64_MIN)
    w += std::string(" AND ") + column + " >= " + std::to_string(range.since_us);
  if (range.until_us != INT64_MAX)
    w += std::string(" AND ") + column + " < " + std::to_string(range.until_us);
  return w;
}

// What ApplyEventToDeviceSummary reads, without the bulky text it does not.
constexpr std::string_view kSummaryColumns =
    "seq, event_time_us, received_us, message_time_us, has_message_time, kind, format, "
    "facility, severity, mac, sn, model, '', '', '', '', url, scheme, server, port, path, "
    "error, '', source";

std::string KindList(uint32_t mask) {
  std::string list;
  for (int k = 0; k < kEventKindCount; ++k) {
    if (!(mask >> k & 1u)) continue;
    if (!list.empty()) list += ", ";
    list += clickhouse::SqlQuote(ToString(static_cast<EventKind>(k)));
  }
  return list.empty() ? "''" : list;
}

class ClickHouseStore final : public Store {
 public:
  explicit ClickHouseStore(const ClickHouseOptions& options)
      : http_(options), db_(options.database) {}

  Status Check() const {
    return http_.Query("SELECT count() FROM " + db_ + ".events WHERE 0 FORMAT TabSeparated",
                       [](std::string_view) { return true; });
  }

  Result<WriteResult> Write(WriteBatch&) override { return ReadOnly(); }

  Status History(MacAddress mac, TimeRange range, const EventVisitor& visit) const override {
    std::vector<Event> events;
    if (Status s = PhoneEvents(mac, range, &events); !s.ok()) return s;
    for (const Event& e : events) {
      if (!visit(e)) break;
    }
    return Status::Ok();
  }
  Status Scan(TimeRange range, const EventVisitor& visit) const override {
    return Events(kEventReadColumnsRef(), "events", TimeWhere("event_time_us", range), visit);
  }
  Status ScanHeads(TimeRange range, const EventVisitor& visit) const override {
    return Events(clickhouse::kEventHeadColumns, "events", TimeWhere("event_time_us", range),
                  visit);
  }
  Status ScanKinds(TimeRange range, uint32_t mask, const EventVisitor& visit) const override {
    return Events(kEventReadColumnsRef(), "events",
                  " AND kind IN (" + KindList(mask) + ")" + TimeWhere("event_time_us", range),
                  visit);
  }
  Status ScanRaw(TimeRange range,
                 const std::function<bool(const RawDatagram&)>& visit) const override {
    return OrderedScan<RawDatagram>(clickhouse::kRawReadColumns, "raw",
                                    TimeWhere("received_us", range), clickhouse::ParseRawRow,
                                    &RawDatagram::received_us, visit);
  }

  Result<DeviceSummary> GetDevice(MacAddress mac) const override {
    std::vector<Event> events;
    if (Status s = PhoneEvents(mac, {}, &events); !s.ok()) return s;
    if (events.empty())
      return Status::NotFound("no events of " + FormatMac(mac) + " in ClickHouse");
    DeviceSummary summary;
    summary.mac = mac;
    for (const Event& e : events) ApplyEventToDeviceSummary(e, &summary);
    return summary;
  }
  Status ForEachDevice(const std::function<bool(const DeviceSummary&)>& visit) const override;
  Result<MacAddress> MacForSerial(std::string_view sn) const override {
    MacAddress mac = 0;
    Status s =
        http_.Query("SELECT mac FROM " + db_ + ".events WHERE sn = " + clickhouse::SqlQuote(sn) +
                        " AND mac != 0 ORDER BY event_time_us DESC, store_id DESC, seq DESC"
                        " LIMIT 1 FORMAT TabSeparated",
                    [&](std::string_view line) {
                      mac = std::strtoull(std::string(line).c_str(), nullptr, 10);
                      return false;
                    });
    if (!s.ok()) return s;
    if (mac == 0) return Status::NotFound("no device with serial number " + std::string(sn));
    return mac;
  }

  Result<std::map<std::string, int64_t>> Counters() const override {
    return Status::Unsupported(
        "counters are kept by each collector: ask each with resyncwatch stats --db");
  }
  Status AddCounters(const std::map<std::string, int64_t>&) override { return ReadOnly(); }
  Status PutAlert(const AlertRecord&) override { return ReadOnly(); }
  Status ScanAlerts(TimeRange, bool,
                    const std::function<bool(const AlertRecord&)>&) const override {
    return Status::Unsupported(
        "alerts are kept by each collector: ask each with resyncwatch alerts --db");
  }
  Status CatchUp() override { return Status::Ok(); }  // every read is fresh
  Status ApplyRetention() override { return ReadOnly(); }
  Status Flush() override { return Status::Ok(); }
  Status Compact() override { return ReadOnly(); }

 private:
  static std::string_view kEventReadColumnsRef() { return clickhouse::kEventReadColumns; }
  static Status ReadOnly() {
    return Status::Unsupported("the ClickHouse tables are written by the collectors only");
  }

  static Status OutOfOrder() {
    return Status::Corruption("ClickHouse returned rows out of key order (FINAL without a merge?)");
  }

  // Rows of `table` (sorted by time first) in its key order, each parsed into one reused
  // T and checked to come no earlier than the one before (on `time`).
  template <typename T>
  Status OrderedScan(std::string_view columns, const char* table, const std::string& where,
                     Status (*parse)(std::string_view, T*), int64_t T::*time,
                     const std::function<bool(const T&)>& visit) const {
    const std::string sql = "SELECT " + std::string(columns) + " FROM " + db_ + "." + table +
                            " FINAL WHERE 1" + where + " FORMAT TabSeparated";
    Status parsed;
    T row;
    int64_t last = INT64_MIN;
    Status s = http_.Query(sql, [&](std::string_view line) {
      parsed = parse(line, &row);
      if (parsed.ok() && row.*time < last) parsed = OutOfOrder();
      last = row.*time;
      return parsed.ok() && visit(row);
    });
    return s.ok() ? parsed : s;
  }
  Status Events(std::string_view columns, const char* table, const std::string& where,
                const EventVisitor& visit) const {
    return OrderedScan<Event>(columns, table, where, clickhouse::ParseEventRow,
                              &Event::event_time_us, visit);
  }

  // One phone's events, each once, in time order. Without FINAL: the mac condition then
  // reads the mac column and the few granules that hold the phone, where FINAL would read
  // the key columns of the whole range; the handful of rows is folded here instead.
  Status PhoneEvents(MacAddress mac, TimeRange range, std::vector<Event>* out) const {
    const std::string sql = "SELECT store_id, " + std::string(clickhouse::kEventReadColumns) +
                            " FROM " + db_ + ".events WHERE mac = " + std::to_string(mac) +
                            TimeWhere("event_time_us", range) + " FORMAT TabSeparated";
    std::vector<std::pair<uint64_t, Event>> rows;
    Status parse;
    Status s = http_.Query(sql, [&](std::string_view line) {
      const size_t tab = line.find('\t');
      auto& [store_id, e] = rows.emplace_back();
      store_id = std::strtoull(std::string(line.substr(0, tab)).c_str(), nullptr, 10);
      parse = clickhouse::ParseEventRow(line.substr(tab + 1), &e);
      return parse.ok();
    });
    if (!s.ok()) return s;
    if (!parse.ok()) return parse;
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second.event_time_us, a.first, a.second.seq) <
             std::tie(b.second.event_time_us, b.first, b.second.seq);
    });
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i > 0 && rows[i].first == rows[i - 1].first &&
          rows[i].second.seq == rows[i - 1].second.seq) {
        continue;  // the same record sent twice, not yet merged
      }
      out->push_back(std::move(rows[i].second));
    }
    return Status::Ok();
  }

  Http http_;
  std::string db_;
  friend std::optional<clickhouse::StoreEndpoint> clickhouse::EndpointOf(const Store&);
};

// Every device's events in time order (one FINAL scan, no sort), folded per device as
// they come, then visited in MAC order as a local store does.
Status ClickHouseStore::ForEachDevice(
    const std::function<bool(const DeviceSummary&)>& visit) const {
  std::unordered_map<MacAddress, DeviceSummary> devices;
  Status s = Events(kSummaryColumns, "events", " AND mac != 0", [&](const Event& e) {
    DeviceSummary& d = devices[e.mac];
    d.mac = e.mac;
    ApplyEventToDeviceSummary(e, &d);
    return true;
  });
  if (!s.ok()) return s;
  std::vector<const DeviceSummary*> sorted;
  sorted.reserve(devices.size());
  for (const auto& [mac, d] : devices) sorted.push_back(&d);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->mac < b->mac; });
  for (const DeviceSummary* d : sorted) {
    if (!visit(*d)) break;
  }
  return Status::Ok();
}

}  // namespace

std::optional<clickhouse::StoreEndpoint> clickhouse::EndpointOf(const Store& store) {
  const auto* ch = dynamic_cast<const ClickHouseStore*>(&store);
  if (ch == nullptr) return std::nullopt;
  return StoreEndpoint{&ch->http_, ch->db_};
}

Result<std::unique_ptr<Store>> OpenClickHouseStore(const ClickHouseOptions& options) {
  if (Status s = ValidateClickHouseOptions(options); !s.ok()) return s;
  auto store = std::make_unique<ClickHouseStore>(options);
  if (Status s = store->Check(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace resyncwatch
