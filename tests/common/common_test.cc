#include <catch2/catch.hpp>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/flags.h"
#include "common/flat_table.h"
#include "common/json_writer.h"
#include "common/printable.h"
#include "common/thread_priority.h"
#include "common/time_format.h"

using namespace resyncwatch;

TEST_CASE("ISO-8601 times round-trip through civil arithmetic") {
  auto t = ParseIso8601("2026-11-25T08:00:01.123456+00:00");
  REQUIRE(t);
  CHECK(FormatIso8601Utc(*t) == "2026-11-25T08:00:01.123456Z");
  CHECK(*ParseIso8601("2026-11-25T09:00:01.123456+01:00") == *t);
  CHECK(*ParseIso8601("2024-02-29") == DaysFromCivil(2024, 2, 29) * 86400LL * kMicrosPerSecond);
  CHECK_FALSE(ParseIso8601("2026-02-29"));
  CHECK_FALSE(ParseIso8601("2026-11-25T25:00:00Z"));
  CHECK_FALSE(ParseIso8601("2026-11-25T08:00:00Zjunk"));
  CHECK(FormatIso8601Utc(-1) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("Civil time of the earliest microsecond values is far in the past and in range") {
  // Found by the query-socket fuzzer: times near INT64_MIN overflowed on negation.
  for (int64_t v : {INT64_MIN, INT64_MIN + 1, int64_t{-9'223'372'036'854'764'929}}) {
    CivilTime t = CivilFromMicros(v);
    INFO(v);
    CHECK(t.year < -290000);
    CHECK(t.month >= 1);
    CHECK(t.month <= 12);
    CHECK(t.day >= 1);
    CHECK(t.day <= 31);
    CHECK(t.hour >= 0);
    CHECK(t.hour < 24);
  }
  CHECK(FormatIso8601Utc(-86'400'000'000) == "1969-12-31T00:00:00.000000Z");
  CHECK(FormatIso8601Utc(-86'400'000'001) == "1969-12-30T23:59:59.999999Z");
}

TEST_CASE("Durations and --since specs are parsed with their units") {
  CHECK(*ParseDuration("2h") == 7200 * kMicrosPerSecond);
  CHECK(*ParseDuration("30d") == 30 * 86400LL * kMicrosPerSecond);
  CHECK(*ParseDuration("45") == 45 * kMicrosPerSecond);
  CHECK_FALSE(ParseDuration("2x"));
  CHECK_FALSE(ParseDuration("-5s"));
  int64_t now = 1'000'000 * kMicrosPerSecond;
  CHECK(*ParseTimeSpec("1h", now) == now - 3600 * kMicrosPerSecond);
  CHECK_FALSE(ParseTimeSpec("yesterday", now).ok());
}

TEST_CASE("FlagSet parses, validates and lets flags win over config values") {
  static constexpr FlagSpec kSpecs[] = {
      {"db", FlagType::kString, "/var/lib/resyncwatch", "DIR", "store directory"},
      {"json", FlagType::kBool, "", "", "JSON lines"},
      {"listen", FlagType::kStringList, "udp://0.0.0.0:5514", "URL", "where to listen"},
      {"grace", FlagType::kDuration, "15m", "DUR", "grace"},
      {"rcvbuf", FlagType::kBytes, "32MiB", "BYTES", "socket buffer"},
  };
  FlagSet flags(kSpecs);
  std::vector<std::string_view> args = {"history",      "--json",   "--db=/tmp/x",      "--listen",
                                        "udp://[::]:1", "--listen", "tcp://127.0.0.1:2"};
  REQUIRE(flags.Parse(args).ok());
  CHECK(flags.positional() == std::vector<std::string>{"history"});
  CHECK(flags.GetBool("json"));
  CHECK(flags.GetString("db") == "/tmp/x");
  CHECK(flags.GetList("listen").size() == 2);
  CHECK(flags.GetDuration("grace") == 900 * kMicrosPerSecond);
  CHECK(flags.GetBytes("rcvbuf") == 32 << 20);
  CHECK(flags.SetIfUnset("db", "/elsewhere").ok());
  CHECK(flags.GetString("db") == "/tmp/x");

  FlagSet bad(kSpecs);
  std::vector<std::string_view> unknown = {"--nope"};
  Status s = bad.Parse(unknown);
  CHECK(s.message() == "unknown option '--nope'");
  FlagSet bad2(kSpecs);
  std::vector<std::string_view> bad_value = {"--grace", "soon"};
  CHECK(bad2.Parse(bad_value).message().find("--grace: 'soon'") == 0);
}

TEST_CASE("JSON strings are escaped and invalid UTF-8 becomes U+FFFD") {
  JsonWriter w;
  w.Begin();
  w.String("m", std::string_view("a\"b\\c\n\x01\xff\xc3\xa9", 10));
  w.OptionalInt("port", std::nullopt);
  w.End();
  CHECK(w.str() == "{\"m\":\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\xC3\xA9\",\"port\":null}");
}

namespace {

// Few bits of hash on purpose: long probe runs that wrap around the table's end, so that
// Erase's backward shift is exercised.
struct CrowdedKeys {
  static bool IsEmpty(uint64_t k) { return k == 0; }
  static uint64_t Hash(uint64_t k) { return (k % 7) << 32; }
};
struct SpreadKeys {
  static bool IsEmpty(uint64_t k) { return k == 0; }
  static uint64_t Hash(uint64_t k) { return k * 0x9E3779B97F4A7C15ULL; }
};

template <typename Keys>
void CheckAgainstStdMap(uint32_t seed, int ops, uint64_t key_range) {
  FlatTable<uint64_t, int, Keys> table;
  std::unordered_map<uint64_t, int> model;
  std::mt19937_64 rng(seed);
  for (int op = 0; op < ops; ++op) {
    const uint64_t key = 1 + rng() % key_range;
    switch (rng() % 3) {
      case 0: {
        bool inserted = false;
        int* v = table.FindOrInsert(key, &inserted);
        REQUIRE(inserted == (model.count(key) == 0));
        *v = op;
        model[key] = op;
        break;
      }
      case 1:
        table.Erase(key);
        model.erase(key);
        break;
      default: {
        int* v = table.Find(key);
        auto it = model.find(key);
        REQUIRE((v != nullptr) == (it != model.end()));
        if (v != nullptr) REQUIRE(*v == it->second);
      }
    }
    REQUIRE(table.size() == model.size());
  }
  size_t occupied = 0;
  for (size_t i = 0; i < table.capacity(); ++i) occupied += table.slot(i).key != 0;
  CHECK(occupied == model.size());
  for (const auto& [key, value] : model) {
    int* v = table.Find(key);
    REQUIRE(v != nullptr);
    CHECK(*v == value);
  }
}

}  // namespace

TEST_CASE("FlatTable agrees with std::unordered_map over random inserts, erases and finds") {
  CheckAgainstStdMap<SpreadKeys>(1, 200000, 5000);
  CheckAgainstStdMap<CrowdedKeys>(2, 20000, 300);
  FlatTable<uint64_t, int, SpreadKeys> table;
  bool inserted = false;
  *table.FindOrInsert(42, &inserted) = 7;
  table.Clear();
  CHECK(table.size() == 0);
  CHECK(table.Find(42) == nullptr);
}

TEST_CASE("A thread lowers its own priority and leaves the others' alone") {
  errno = 0;
  const int before = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  REQUIRE(errno == 0);
  int inside = -100;
  bool lowered = false;
  std::thread t([&] {
    lowered = resyncwatch::LowerThisThreadPriority(before + 3);
    inside = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  });
  t.join();
  CHECK(lowered);
  CHECK(inside == std::min(before + 3, 19));
  CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))) == before);
}

TEST_CASE("Printable keeps text on one line and leaves other bytes alone") {
  CHECK(Printable("retentio\nn") == "retentio\\nn");
  CHECK(Printable(std::string_view("a\0b\x7f\t\r", 6)) == "a\\x00b\\x7f\\t\\r");
  CHECK(Printable("Café 90d") == "Café 90d");
  CHECK(Printable("") == "");
}

TEST_CASE("A flag value with a line break is shown on one line") {
  static constexpr FlagSpec kSpecs[] = {
      {"retention", FlagType::kDuration, "0", "DUR", "keep"},
  };
  FlagSet flags(kSpecs);
  std::vector<std::string_view> args = {"--retention", "9\n0", "--x\ny"};
  Status s = flags.Parse(args);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find('\n') == std::string::npos);
  CHECK(s.message().find("'9\\n0'") != std::string::npos);
  std::vector<std::string_view> unknown = {"--x\ny"};
  Status u = FlagSet(kSpecs).Parse(unknown);
  REQUIRE_FALSE(u.ok());
  CHECK(u.message() == "unknown option '--x\\ny'");
}
