#include "store/rfc3339_form.h"

#include "common/time_format.h"

namespace resyncwatch::store_format {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "hh:mm" at text[at..at+5) as minutes, or -1.
int ReadOffset(std::string_view text, size_t at) {
  if (text.size() != at + 5 || text[at + 2] != ':') return -1;
  for (size_t i : {at, at + 1, at + 3, at + 4}) {
    if (!IsDigit(text[i])) return -1;
  }
  const int hours = (text[at] - '0') * 10 + (text[at + 1] - '0');
  const int minutes = (text[at + 3] - '0') * 10 + (text[at + 4] - '0');
  return minutes > 59 ? -1 : hours * 60 + minutes;
}

char* PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

}  // namespace

std::optional<Rfc3339Form> Rfc3339FormOf(std::string_view text) {
  // yyyy-mm-ddThh:mm:ss is 19 bytes; the digits are checked by rendering, not here.
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':' ||
      (text[10] != 'T' && text[10] != ' ')) {
    return std::nullopt;
  }
  Rfc3339Form form;
  form.space_separator = text[10] == ' ';
  size_t at = 19;
  if (text[at] == '.') {
    size_t end = at + 1;
    while (end < text.size() && IsDigit(text[end])) ++end;
    form.fraction_digits = static_cast<int>(end - at - 1);
    if (form.fraction_digits == 0 || form.fraction_digits > 6) return std::nullopt;
    at = end;
  }
  if (at + 1 == text.size() && text[at] == 'Z') return form;
  if (at >= text.size() || (text[at] != '+' && text[at] != '-')) return std::nullopt;
  const int minutes = ReadOffset(text, at + 1);
  if (minutes < 0 || minutes > kMaxRfc3339OffsetMinutes) return std::nullopt;
  form.zulu = false;
  form.offset_minutes = text[at] == '-' ? -minutes : minutes;
  return form;
}

bool CanRenderRfc3339(int64_t unix_us, const Rfc3339Form& form, int64_t* local_us) {
  // Four-digit years: 0000-01-01T00:00:00 up to, not including, 10000-01-01.
  static const int64_t kFirst = MicrosFromCivil(CivilTime{0, 1, 1, 0, 0, 0, 0});
  static const int64_t kEnd = MicrosFromCivil(CivilTime{10000, 1, 1, 0, 0, 0, 0});
  if (form.fraction_digits < 0 || form.fraction_digits > 6 ||
      form.offset_minutes < -kMaxRfc3339OffsetMinutes ||
      form.offset_minutes > kMaxRfc3339OffsetMinutes || (form.zulu && form.offset_minutes != 0)) {
    return false;
  }
  int64_t local;
  if (__builtin_add_overflow(unix_us, int64_t{form.offset_minutes} * 60 * kMicrosPerSecond,
                             &local)) {
    return false;
  }
  if (local_us != nullptr) *local_us = local;
  return local >= kFirst && local < kEnd;
}

size_t RenderRfc3339(int64_t unix_us, const Rfc3339Form& form, char (&buf)[kRfc3339MaxLength]) {
  int64_t local_us;
  if (!CanRenderRfc3339(unix_us, form, &local_us)) return 0;
  const CivilTime t = CivilFromMicros(local_us);
  char* p = PutDigits(buf, t.year, 4);
  *p++ = '-';
  p = PutDigits(p, t.month, 2);
  *p++ = '-';
  p = PutDigits(p, t.day, 2);
  *p++ = form.space_separator ? ' ' : 'T';
  p = PutDigits(p, t.hour, 2);
  *p++ = ':';
  p = PutDigits(p, t.minute, 2);
  *p++ = ':';
  p = PutDigits(p, t.second, 2);
  if (form.fraction_digits > 0) {
    *p++ = '.';
    int64_t fraction = t.micros;
    for (int i = form.fraction_digits; i < 6; ++i) fraction /= 10;
    p = PutDigits(p, fraction, form.fraction_digits);
  }
  if (form.zulu) {
    *p++ = 'Z';
  } else {
    const int minutes = form.offset_minutes < 0 ? -form.offset_minutes : form.offset_minutes;
    *p++ = form.offset_minutes < 0 ? '-' : '+';
    p = PutDigits(p, minutes / 60, 2);
    *p++ = ':';
    p = PutDigits(p, minutes % 60, 2);
  }
  return static_cast<size_t>(p - buf);
}

uint64_t PackRfc3339Form(const Rfc3339Form& form) {
  return static_cast<uint64_t>(form.fraction_digits) | (form.space_separator ? 8u : 0u) |
         (form.zulu ? 16u : 0u);
}

std::optional<Rfc3339Form> UnpackRfc3339Form(uint64_t packed) {
  if (packed >= 32 || (packed & 7) > 6) return std::nullopt;
  Rfc3339Form form;
  form.fraction_digits = static_cast<int>(packed & 7);
  form.space_separator = (packed & 8) != 0;
  form.zulu = (packed & 16) != 0;
  return form;
}

}  // namespace resyncwatch::store_format
