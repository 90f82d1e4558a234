// rfc3339_form: how an RFC 3339 timestamp text is laid out (fraction digits, separator,
// zone), so that the event codec can store a message's timestamp text as a few bytes
// beside the message time it already keeps, and render it back byte for byte.
// Internal to store/. Pure functions: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace resyncwatch::store_format {

struct Rfc3339Form {
  int fraction_digits = 0;       // 0..6
  bool space_separator = false;  // "2026-11-22 08:00:01" instead of "...T08:00:01"
  bool zulu = true;              // "Z"; otherwise a numeric offset "+hh:mm"
  int offset_minutes = 0;        // east of UTC; 0 with !zulu is "+00:00"
};
constexpr int kMaxRfc3339OffsetMinutes = 24 * 60 - 1;
constexpr size_t kRfc3339MaxLength = 32;

// The layout of text when it is an RFC 3339 timestamp of a shape this codec renders;
// nullopt otherwise. The digits are not checked: the caller renders and compares.
std::optional<Rfc3339Form> Rfc3339FormOf(std::string_view text);

// Whether unix_us (UTC) has a text in form: false for a year outside 0000..9999, an
// offset out of range or a fraction longer than 6 digits. What RenderRfc3339 decides,
// without writing the text (decoders that skip the text check it). Sets *local_us, when
// given, to the time at the form's offset.
bool CanRenderRfc3339(int64_t unix_us, const Rfc3339Form& form, int64_t* local_us = nullptr);

// The text of unix_us (UTC) in form into buf; 0 when it has none (CanRenderRfc3339).
size_t RenderRfc3339(int64_t unix_us, const Rfc3339Form& form, char (&buf)[kRfc3339MaxLength]);

// The form packed into one varint value and back (the offset is stored apart).
uint64_t PackRfc3339Form(const Rfc3339Form& form);
std::optional<Rfc3339Form> UnpackRfc3339Form(uint64_t packed);

}  // namespace resyncwatch::store_format
