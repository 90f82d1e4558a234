#include "parsers/syslog_header.h"

#include "common/time_format.h"

namespace resyncwatch::parsers_internal {
namespace {

constexpr int64_t kDayUs = 86400 * kMicrosPerSecond;
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly n digits at text[*i].
bool Digits(std::string_view text, size_t* i, size_t n, int* value) {
  if (*i + n > text.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = text[*i + k];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *value = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

std::optional<int64_t> ResolveYear(CivilTime t, const ParseContext& ctx, YearCache* years) {
  if (ctx.year) {
    t.year = *ctx.year;
    if (t.day > DaysInMonth(t.year, t.month)) return std::nullopt;
    return MicrosFromCivil(t);
  }
  int64_t latest = ctx.reference_us + kDayUs;
  int year = years->YearOf(latest);
  for (int y = year; y > year - 8; --y) {  // Feb 29 can need up to 8 years back
    if (t.day > DaysInMonth(y, t.month)) continue;
    t.year = y;
    int64_t us = MicrosFromCivil(t);
    if (us <= latest) return us;
  }
  return std::nullopt;
}

size_t SkipSpaces(std::string_view text, size_t i) {
  while (i < text.size() && text[i] == ' ') ++i;
  return i;
}

bool ReadBsd(std::string_view text, const ParseContext& ctx, YearCache* years, size_t* end,
             Timestamp* ts) {
  if (text.size() < 14) return false;
  if (text[3] != ' ' || text[0] < 'A' || text[0] > 'S') return false;
  int month = 0;
  for (int m = 0; m < 12 && month == 0; ++m) {
    if (text[0] == kMonths[m][0] && text[1] == kMonths[m][1] && text[2] == kMonths[m][2]) {
      month = m + 1;
    }
  }
  if (month == 0) return false;
  size_t i = 4;
  if (text[i] == ' ') ++i;  // space-padded day
  int day = 0;
  if (i + 1 < text.size() && IsDigit(text[i]) && IsDigit(text[i + 1])) {
    Digits(text, &i, 2, &day);
  } else if (!Digits(text, &i, 1, &day)) {
    return false;
  }
  if (day < 1 || day > 31 || i >= text.size() || text[i] != ' ') return false;
  ++i;
  CivilTime t;
  t.month = month;
  t.day = day;
  std::optional<int> year;
  size_t save = i;
  int y = 0;
  if (Digits(text, &i, 4, &y) && i < text.size() && text[i] == ' ') {
    year = y;
    ++i;
  } else {
    i = save;
  }
  size_t k = i;
  if (!Digits(text, &k, 2, &t.hour) || k >= text.size() || text[k++] != ':' ||
      !Digits(text, &k, 2, &t.minute) || k >= text.size() || text[k++] != ':' ||
      !Digits(text, &k, 2, &t.second)) {
    return false;
  }
  if (t.hour > 23 || t.minute > 59 || t.second > 60) return false;
  if (k < text.size() && text[k] == '.') {
    size_t f = k + 1;
    int scale = 100000;
    while (f < text.size() && IsDigit(text[f])) {
      if (scale > 0) t.micros += (text[f] - '0') * scale;
      scale /= 10;
      ++f;
    }
    if (f == k + 1) return false;
    k = f;
  }
  if (k < text.size() && text[k] != ' ') return false;
  if (t.second == 60) t.second = 59;  // a leap second stays in its minute
  ts->text = text.substr(0, k);
  if (year) {
    t.year = *year;
    ts->micros =
        t.day <= DaysInMonth(t.year, t.month) ? std::optional(MicrosFromCivil(t)) : std::nullopt;
  } else {
    ts->micros = ResolveYear(t, ctx, years);
  }
  *end = k;
  return true;
}

bool ReadIso(std::string_view text, size_t* end, Timestamp* ts) {
  if (text.size() < 19 || !IsDigit(text[0]) || text[4] != '-' || text[10] != 'T') return false;
  size_t k = text.find(' ');
  if (k == std::string_view::npos) k = text.size();
  std::string_view token = text.substr(0, k);
  auto us = ParseIso8601(token);
  if (!us) return false;
  ts->text = token;
  ts->micros = us;
  *end = k;
  return true;
}

// One space-delimited RFC 5424 header field; "-" reads as empty.
bool Field(std::string_view* text, std::string_view* value) {
  size_t sp = text->find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  *value = text->substr(0, sp);
  if (*value == "-") *value = {};
  text->remove_prefix(sp + 1);
  return true;
}

}  // namespace

PriStatus ReadPri(std::string_view* text, int* pri, std::string_view* reason) {
  if (text->empty() || text->front() != '<') return PriStatus::kAbsent;
  size_t i = 1;
  int value = 0;
  while (i < text->size() && i <= 3 && IsDigit((*text)[i])) {
    value = value * 10 + ((*text)[i] - '0');
    ++i;
  }
  if (i == 1) {
    *reason = "PRI without a number";
    return PriStatus::kMalformed;
  }
  if (i < text->size() && IsDigit((*text)[i])) {
    *reason = "PRI longer than 3 digits";
    return PriStatus::kMalformed;
  }
  if (i >= text->size() || (*text)[i] != '>') {
    *reason = "PRI not terminated by '>'";
    return PriStatus::kMalformed;
  }
  if (value > 191) {
    *reason = "PRI out of range 0-191";
    return PriStatus::kMalformed;
  }
  *pri = value;
  text->remove_prefix(i + 1);
  return PriStatus::kOk;
}

int YearCache::YearOf(int64_t us) {
  if (us < begin_us || us >= end_us) {
    year = CivilFromMicros(us).year;
    begin_us = MicrosFromCivil(CivilTime{year, 1, 1});
    end_us = MicrosFromCivil(CivilTime{year + 1, 1, 1});
  }
  return year;
}

bool ReadTimestamp(std::string_view* text, const ParseContext& ctx, Timestamp* ts,
                   YearCache* years) {
  size_t end = 0;
  if (!ReadBsd(*text, ctx, years, &end, ts) && !ReadIso(*text, &end, ts)) return false;
  text->remove_prefix(SkipSpaces(*text, end));
  return true;
}

bool ReadRfc5424(std::string_view text, Rfc5424Fields* out, std::string_view* reason) {
  std::string_view ts, procid, msgid;
  if (!Field(&text, &ts) || !Field(&text, &out->host) || !Field(&text, &out->app) ||
      !Field(&text, &procid) || !Field(&text, &msgid) || text.empty()) {
    *reason = "RFC 5424 header cut short";
    return false;
  }
  out->timestamp = {};
  if (!ts.empty()) {
    out->timestamp.text = ts;
    out->timestamp.micros = ParseIso8601(ts);
  }
  size_t i = 0;
  if (!text.empty() && text[0] == '-') {
    i = 1;
  } else {
    if (text.empty() || text[0] != '[') {
      *reason = "RFC 5424 structured data is neither '-' nor '['";
      return false;
    }
    while (i < text.size() && text[i] == '[') {
      ++i;
      bool quoted = false;
      bool closed = false;
      for (; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
          if (c == '\\') {
            ++i;  // \" \\ \] : the next byte is part of the value
          } else if (c == '"') {
            quoted = false;
          }
        } else if (c == '"') {
          quoted = true;
        } else if (c == ']') {
          closed = true;
          ++i;
          break;
        }
      }
      if (!closed) {
        *reason = "RFC 5424 structured data not terminated";
        return false;
      }
    }
  }
  std::string_view msg = text.substr(std::min(i, text.size()));
  if (!msg.empty() && msg[0] == ' ') msg.remove_prefix(1);
  if (msg.substr(0, 3) == "\xEF\xBB\xBF") msg.remove_prefix(3);
  out->msg = msg;
  return true;
}

}  // namespace resyncwatch::parsers_internal
