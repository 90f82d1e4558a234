// Civil-time arithmetic and the textual time forms resyncwatch reads and prints:
// ISO-8601 / RFC 3339 timestamps, durations such as "2h" or "30d", and "--since" specs.
// Pure functions of their arguments (no clock reads, no time zone database): thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace resyncwatch {

constexpr int64_t kMicrosPerSecond = 1'000'000;

struct CivilTime {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
  int micros = 0;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t DaysFromCivil(int year, int month, int day);
CivilTime CivilFromMicros(int64_t unix_us);
int64_t MicrosFromCivil(const CivilTime& t);  // interprets t as UTC

// "2026-11-25T08:00:01.123456Z" (always UTC, always six fractional digits).
std::string FormatIso8601Utc(int64_t unix_us);
// The same instant in the machine's local time zone with its offset ("+01:00").
std::string FormatIso8601Local(int64_t unix_us);

// RFC 3339 / ISO-8601 with optional fraction (any digits, kept to microseconds) and
// "Z" or "+hh:mm"; a time without offset is taken as UTC. Also accepts a bare date
// "2026-11-25" and a space instead of "T". Returns microseconds since the epoch.
std::optional<int64_t> ParseIso8601(std::string_view text);

// "90s", "15m", "2h", "7d", "1w", or a plain number of seconds. Returns microseconds.
std::optional<int64_t> ParseDuration(std::string_view text);

// A "--since/--until/--now" value: a duration ago relative to now_us ("2h"), or an
// ISO-8601 time. Errors name the text.
Result<int64_t> ParseTimeSpec(std::string_view text, int64_t now_us);

// "3h 12m", "45s", "2d 4h": a compact human rendering of a duration.
std::string FormatDurationHuman(int64_t micros);

}  // namespace resyncwatch
