#include "clickhouse/rows.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

namespace resyncwatch::clickhouse {
namespace {

constexpr SyslogFormat kFormats[] = {SyslogFormat::kRaw, SyslogFormat::kRfc3164,
                                     SyslogFormat::kRfc5424, SyslogFormat::kBare};

// Enum8 declarations whose values are the store's own enum values (append-only there).
std::string KindEnum() {
  std::string out = "Enum8(";
  for (int k = 0; k < kEventKindCount; ++k) {
    if (k) out += ", ";
    out += "'" + std::string(ToString(static_cast<EventKind>(k))) + "' = " + std::to_string(k);
  }
  return out + ")";
}

std::string FormatEnum() {
  std::string out = "Enum8(";
  for (SyslogFormat f : kFormats) {
    if (f != SyslogFormat::kRaw) out += ", ";
    out += "'" + std::string(ToString(f)) + "' = " + std::to_string(static_cast<int>(f));
  }
  return out + ")";
}

template <typename T>
bool ParseInt(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

// Splits a line at its tabs (escaped tabs are "\t", never a raw tab).
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string_view::npos; start = tab + 1) {
    fields.push_back(line.substr(start, tab - start));
  }
  fields.push_back(line.substr(start));
  return fields;
}

}  // namespace

const std::string_view kEventReadColumns =
    "seq, event_time_us, received_us, message_time_us, has_message_time, kind, format, "
    "facility, severity, mac, sn, model, host, app, identifier, timestamp_text, url, scheme, "
    "server, port, path, error, message, source";
const std::string_view kEventInsertColumns =
    "store_id, collector, seq, event_time_us, received_us, message_time_us, has_message_time, "
    "kind, format, facility, severity, mac, sn, model, host, app, identifier, timestamp_text, "
    "url, scheme, server, port, path, error, message, source";
const std::string_view kEventHeadColumns =
    "seq, event_time_us, received_us, message_time_us, has_message_time, kind, format, "
    "facility, severity, mac, sn, model, host, "
    "if(kind = 'debug', app, ''), if(kind = 'debug', identifier, ''), "
    "if(kind = 'debug', timestamp_text, ''), if(kind = 'debug', url, ''), scheme, server, "
    "port, path, error, if(kind = 'debug', message, ''), if(kind = 'debug', source, '')";
const std::string_view kRawReadColumns = "seq, received_us, source, reason, bytes";
const std::string_view kRawInsertColumns =
    "store_id, collector, seq, received_us, source, reason, bytes";

namespace {

// Whether any of the 8 bytes in w is one TabSeparated escapes (\\ \t \n \r \0): exact as
// a yes/no (the classic "has a byte below n" and "has a zero byte" word tricks), with
// some other control bytes as false alarms, which the byte loop then passes over.
bool MayNeedEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101, kHigh = 0x8080808080808080;
  const uint64_t control = (w - kOnes * 0x0E) & ~w & kHigh;  // a byte below '\r' + 1
  const uint64_t x = w ^ (kOnes * static_cast<uint8_t>('\\'));
  const uint64_t backslash = (x - kOnes) & ~x & kHigh;
  return (control | backslash) != 0;
}

char* PutByte(char c, char* p) {
  char escaped;
  switch (c) {
    case '\\':
      escaped = '\\';
      break;
    case '\t':
      escaped = 't';
      break;
    case '\n':
      escaped = 'n';
      break;
    case '\r':
      escaped = 'r';
      break;
    case '\0':
      escaped = '0';
      break;
    default:
      *p = c;
      return p + 1;
  }
  p[0] = '\\';
  p[1] = escaped;
  return p + 2;
}

// Writes field escaped at p: at most 2 * field.size() bytes. Most fields need no escape:
// clean 8-byte words are stored whole.
char* PutEscaped(std::string_view field, char* p) {
  const char* s = field.data();
  const char* const end = s + field.size();
  for (; end - s >= 8; s += 8) {
    uint64_t w;
    std::memcpy(&w, s, 8);
    if (!MayNeedEscape(w)) {
      std::memcpy(p, &w, 8);
      p += 8;
      continue;
    }
    for (int i = 0; i < 8; ++i) p = PutByte(s[i], p);
  }
  while (s < end) p = PutByte(*s++, p);
  return p;
}

char* PutText(std::string_view text, char* p) {
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

template <typename T>
char* PutNumber(T v, char* p) {
  return std::to_chars(p, p + 24, v).ptr;  // 24: room for any 64-bit number
}

}  // namespace

char* RowBuffer::Grow(size_t n) {
  if (capacity_ - size_ < n) {
    const size_t want = std::max(size_ + n, capacity_ * 2);
    char* grown = static_cast<char*>(std::realloc(data_, want));
    if (grown == nullptr) std::abort();  // as operator new would throw
    data_ = grown;
    capacity_ = want;
  }
  return data_ + size_;
}

void AppendEscaped(std::string_view field, std::string* out) {
  const size_t at = out->size();
  out->resize(at + 2 * field.size());
  char* const base = out->data();
  out->resize(static_cast<size_t>(PutEscaped(field, base + at) - base));
}

std::string Unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out.push_back(c);
      continue;
    }
    switch (char n = field[++i]) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '0':
        out.push_back('\0');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      default:
        out.push_back(n);  // \\ \' and anything else: the character itself
    }
  }
  return out;
}

std::string OriginColumns(const Origin& origin) {
  std::string out;
  AppendUint(origin.store_id, &out);
  out.push_back('\t');
  AppendEscaped(origin.collector, &out);
  out.push_back('\t');
  return out;
}

void AppendEventRow(const Origin& origin, const Event& e, std::string* out) {
  AppendEventRow(OriginColumns(origin), e, out);
}

void AppendRawRow(const Origin& origin, const RawDatagram& r, std::string* out) {
  AppendRawRow(OriginColumns(origin), r, out);
}

void AppendEventRow(std::string_view origin_columns, const Event& e, std::string* out) {
  RowBuffer row;
  AppendEventRow(origin_columns, e, &row);
  out->append(row.view());
}

void AppendRawRow(std::string_view origin_columns, const RawDatagram& r, std::string* out) {
  RowBuffer row;
  AppendRawRow(origin_columns, r, &row);
  out->append(row.view());
}

void AppendEventRow(std::string_view origin_columns, const Event& e, RowBuffer* out) {
  const std::string* texts[] = {
      &e.sn,     &e.model,  &e.host, &e.app,   &e.identifier, &e.timestamp_text, &e.url,
      &e.scheme, &e.server, &e.path, &e.error, &e.message,    &e.source};
  // The most one row can take: every text escaped whole, 24 bytes for each of the 9
  // numbers, the enum names, 14 tabs and the newline.
  size_t most =
      origin_columns.size() + 9 * 24 + ToString(e.kind).size() + ToString(e.format).size() + 15;
  for (const std::string* s : texts) most += 2 * s->size();
  char* p = out->Grow(most);
  p = PutText(origin_columns, p);
  p = PutNumber(e.seq, p);
  for (int64_t v : {e.event_time_us, e.received_us, e.message_time_us.value_or(0),
                    int64_t{e.message_time_us.has_value()}}) {
    *p++ = '\t';
    p = PutNumber(v, p);
  }
  *p++ = '\t';
  p = PutText(ToString(e.kind), p);
  *p++ = '\t';
  p = PutText(ToString(e.format), p);
  *p++ = '\t';
  p = PutNumber(int{e.facility}, p);
  *p++ = '\t';
  p = PutNumber(int{e.severity}, p);
  *p++ = '\t';
  p = PutNumber(e.mac, p);
  for (size_t i = 0; i < 9; ++i) {  // sn .. server
    *p++ = '\t';
    p = PutEscaped(*texts[i], p);
  }
  *p++ = '\t';
  p = PutNumber(e.port, p);
  for (size_t i = 9; i < std::size(texts); ++i) {  // path, error, message, source
    *p++ = '\t';
    p = PutEscaped(*texts[i], p);
  }
  *p++ = '\n';
  out->End(p);
}

void AppendRawRow(std::string_view origin_columns, const RawDatagram& r, RowBuffer* out) {
  char* p = out->Grow(origin_columns.size() + 64 +
                      2 * (r.source.size() + r.reason.size() + r.bytes.size()));
  p = PutText(origin_columns, p);
  p = PutNumber(r.seq, p);
  *p++ = '\t';
  p = PutNumber(r.received_us, p);
  for (const std::string* s : {&r.source, &r.reason, &r.bytes}) {
    *p++ = '\t';
    p = PutEscaped(*s, p);
  }
  *p++ = '\n';
  out->End(p);
}

Status ParseEventRow(std::string_view line, Event* e) {
  std::vector<std::string_view> f = Fields(line);
  if (f.size() != 24) {
    return Status::Corruption("ClickHouse event row with " + std::to_string(f.size()) +
                              " columns instead of 24");
  }
  auto bad = [](const char* column) {
    return Status::Corruption(std::string("ClickHouse event row: bad ") + column);
  };
  *e = Event();
  int64_t message_time = 0, has_message_time = 0;
  if (!ParseInt(f[0], &e->seq)) return bad("seq");
  if (!ParseInt(f[1], &e->event_time_us)) return bad("event_time_us");
  if (!ParseInt(f[2], &e->received_us)) return bad("received_us");
  if (!ParseInt(f[3], &message_time) || !ParseInt(f[4], &has_message_time)) {
    return bad("message_time_us");
  }
  if (has_message_time) e->message_time_us = message_time;
  std::optional<EventKind> kind = EventKindFromString(f[5]);
  if (!kind) return bad("kind");
  e->kind = *kind;
  bool format_known = false;
  for (SyslogFormat fmt : kFormats) {
    if (ToString(fmt) == f[6]) {
      e->format = fmt;
      format_known = true;
    }
  }
  if (!format_known) return bad("format");
  if (!ParseInt(f[7], &e->facility) || !ParseInt(f[8], &e->severity)) return bad("facility");
  if (!ParseInt(f[9], &e->mac)) return bad("mac");
  std::string* texts[] = {&e->sn,  &e->model,      &e->host,
                          &e->app, &e->identifier, &e->timestamp_text,
                          &e->url, &e->scheme,     &e->server};
  for (size_t i = 0; i < std::size(texts); ++i) *texts[i] = Unescape(f[10 + i]);
  if (!ParseInt(f[19], &e->port)) return bad("port");
  e->path = Unescape(f[20]);
  e->error = Unescape(f[21]);
  e->message = Unescape(f[22]);
  e->source = Unescape(f[23]);
  return Status::Ok();
}

Status ParseRawRow(std::string_view line, RawDatagram* r) {
  std::vector<std::string_view> f = Fields(line);
  if (f.size() != 5) return Status::Corruption("ClickHouse raw row of the wrong shape");
  *r = RawDatagram();
  if (!ParseInt(f[0], &r->seq) || !ParseInt(f[1], &r->received_us)) {
    return Status::Corruption("ClickHouse raw row: bad seq or received_us");
  }
  r->source = Unescape(f[2]);
  r->reason = Unescape(f[3]);
  r->bytes = Unescape(f[4]);
  return Status::Ok();
}

std::string SchemaStatements(const std::string& db) {
  // `events` is sorted by time (a time window is a key range, and FINAL reads come out in
  // time order) and ends its key with the record's identity (store_id, seq), so that
  // ReplacingMergeTree folds a row sent twice into one and reads with FINAL never see both.
  // One phone's history reads the mac column and the granules that hold the phone.
  // Partitions are UTC days.
  const std::string day = "toYYYYMMDD(toDateTime(intDiv(event_time_us, 1000000), 'UTC'))";
  const std::string raw_day = "toYYYYMMDD(toDateTime(intDiv(received_us, 1000000), 'UTC'))";
  const std::string columns =
      " (\n"
      "  store_id UInt64, collector String, seq UInt64,\n"
      "  event_time_us Int64, received_us Int64, message_time_us Int64,\n"
      "  has_message_time UInt8,\n"
      "  kind " +
      KindEnum() +
      ",\n"
      "  format " +
      FormatEnum() +
      ",\n"
      "  facility Int16, severity Int16, mac UInt64, sn String, model String,\n"
      "  host String, app String, identifier String, timestamp_text String,\n"
      "  url String, scheme String, server String, port Int32, path String,\n"
      "  error String, message String, source String\n"
      ") ENGINE = ReplacingMergeTree\n"
      "PARTITION BY " +
      day + "\n";
  std::string sql = "CREATE DATABASE IF NOT EXISTS " + db + ";\n";
  sql += "CREATE TABLE IF NOT EXISTS " + db + ".events" + columns;
  sql += "ORDER BY (event_time_us, store_id, seq);\n";
  sql += "CREATE TABLE IF NOT EXISTS " + db + ".raw (\n";
  sql += "  store_id UInt64, collector String, seq UInt64, received_us Int64,\n";
  sql += "  source String, reason String, bytes String\n";
  sql += ") ENGINE = ReplacingMergeTree\n";
  sql += "PARTITION BY " + raw_day + "\n";
  sql += "ORDER BY (received_us, store_id, seq);\n";
  return sql;
}

}  // namespace resyncwatch::clickhouse
