#include "common/time_format.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace resyncwatch {
namespace {

constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

bool ReadDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

// The era-based day count (400-year cycles of 146097 days) keeps the arithmetic exact
// for any year without loops or tables.
int64_t DaysFromCivil(int year, int month, int day) {
  int64_t y = year - (month <= 2 ? 1 : 0);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = month > 2 ? month - 3 : month + 9;
  int64_t doy = (153 * mp + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilTime CivilFromMicros(int64_t unix_us) {
  // Floor division by remainder: negating a time near INT64_MIN would overflow.
  int64_t days = unix_us / kMicrosPerDay;
  int64_t rem = unix_us % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  CivilTime t;
  t.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = static_cast<int>(yoe + era * 400 + (t.month <= 2 ? 1 : 0));
  int64_t secs = rem / kMicrosPerSecond;
  t.hour = static_cast<int>(secs / 3600);
  t.minute = static_cast<int>(secs / 60 % 60);
  t.second = static_cast<int>(secs % 60);
  t.micros = static_cast<int>(rem % kMicrosPerSecond);
  return t;
}

int64_t MicrosFromCivil(const CivilTime& t) {
  int64_t days = DaysFromCivil(t.year, t.month, t.day);
  return ((days * 86400 + t.hour * 3600 + t.minute * 60 + t.second) * kMicrosPerSecond) + t.micros;
}

std::string FormatIso8601Utc(int64_t unix_us) {
  CivilTime t = CivilFromMicros(unix_us);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", t.year, t.month, t.day,
                t.hour, t.minute, t.second, t.micros);
  return buf;
}

std::string FormatIso8601Local(int64_t unix_us) {
  time_t secs =
      static_cast<time_t>(unix_us >= 0 ? unix_us / kMicrosPerSecond
                                       : -((-unix_us + kMicrosPerSecond - 1) / kMicrosPerSecond));
  int micros = static_cast<int>(unix_us - static_cast<int64_t>(secs) * kMicrosPerSecond);
  struct tm local;
  localtime_r(&secs, &local);
  long off = local.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02ld:%02ld",
                local.tm_year + 1900, local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min,
                local.tm_sec, micros, sign, off / 3600, off / 60 % 60);
  return buf;
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  CivilTime t;
  if (!ReadDigits(s, 0, 4, &t.year) || s.size() < 10 || s[4] != '-' ||
      !ReadDigits(s, 5, 2, &t.month) || s[7] != '-' || !ReadDigits(s, 8, 2, &t.day)) {
    return std::nullopt;
  }
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > DaysInMonth(t.year, t.month)) {
    return std::nullopt;
  }
  size_t pos = 10;
  if (pos == s.size()) return MicrosFromCivil(t);
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  ++pos;
  if (!ReadDigits(s, pos, 2, &t.hour) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !ReadDigits(s, pos + 3, 2, &t.minute)) {
    return std::nullopt;
  }
  pos += 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!ReadDigits(s, pos + 1, 2, &t.second)) return std::nullopt;
    pos += 3;
  }
  if (t.hour > 23 || t.minute > 59 || t.second > 60) return std::nullopt;
  if (t.second == 60) t.second = 59;  // a leap second is kept inside its minute
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    size_t start = pos;
    int scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) {
        t.micros += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  int64_t offset_us = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh = 0, om = 0;
      bool neg = s[pos] == '-';
      if (!ReadDigits(s, pos + 1, 2, &oh)) return std::nullopt;
      pos += 3;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (!ReadDigits(s, pos, 2, &om)) return std::nullopt;
      pos += 2;
      if (oh > 23 || om > 59) return std::nullopt;
      offset_us = (oh * 3600LL + om * 60LL) * kMicrosPerSecond * (neg ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size()) return std::nullopt;
  return MicrosFromCivil(t) - offset_us;
}

std::optional<int64_t> ParseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data() || value < 0) return std::nullopt;
  std::string_view unit(end, s.data() + s.size() - end);
  int64_t mult;
  if (unit.empty() || unit == "s") {
    mult = 1;
  } else if (unit == "m" || unit == "min") {
    mult = 60;
  } else if (unit == "h") {
    mult = 3600;
  } else if (unit == "d") {
    mult = 86400;
  } else if (unit == "w") {
    mult = 7 * 86400;
  } else {
    return std::nullopt;
  }
  if (value > (INT64_MAX / kMicrosPerSecond) / mult) return std::nullopt;
  return value * mult * kMicrosPerSecond;
}

Result<int64_t> ParseTimeSpec(std::string_view text, int64_t now_us) {
  if (auto d = ParseDuration(text)) return now_us - *d;
  if (auto t = ParseIso8601(text)) return *t;
  if (text == "now") return now_us;
  return Status::InvalidArgument("'" + std::string(text) +
                                 "' is neither a duration (2h, 7d) nor an ISO-8601 time");
}

std::string FormatDurationHuman(int64_t micros) {
  bool neg = micros < 0;
  int64_t s = (neg ? -micros : micros) / kMicrosPerSecond;
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm %02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh %02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd %02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s / 3600 % 24));
  }
  return neg ? "-" + std::string(buf) : std::string(buf);
}

}  // namespace resyncwatch
