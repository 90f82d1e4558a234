// The benchmarks' shared command line (bench/common/bench_flags.h): exit statuses and values.
#include "bench/common/bench_flags.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace resyncwatch {
namespace {

constexpr FlagSpec kShared[] = {{"db", FlagType::kString, "", "DIR", "store directory"}};
constexpr FlagSpec kOwn[] = {
    {"runs", FlagType::kInt, "3", "N", "timed runs"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

// argv as main gets it, program name first.
std::optional<int> ParseArgs(FlagSet& flags, std::vector<std::string> words,
                             const bench::BenchCommand& command) {
  words.insert(words.begin(), "bench");
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  return bench::ParseBenchFlags(flags, command, static_cast<int>(argv.size()), argv.data());
}

const bench::BenchCommand kCommand = {
    "test_bench", "test_bench --db DIR [options]", "Times nothing.", {"db"}, 1};

TEST_CASE("A benchmark's options and positional argument are read from its joined tables") {
  const std::vector<FlagSpec> specs = bench::JoinFlags({kShared, kOwn});
  REQUIRE(specs.size() == 3);
  CHECK(specs[0].name == "db");
  CHECK(specs[2].name == "help");
  FlagSet flags(specs);
  CHECK_FALSE(ParseArgs(flags, {"--db", "/tmp/x", "--runs=5", "7"}, kCommand).has_value());
  CHECK(flags.GetString("db") == "/tmp/x");
  CHECK(flags.GetInt("runs") == 5);
  CHECK(flags.positional() == std::vector<std::string>{"7"});
}

TEST_CASE("A benchmark's --help exits 0 before its required options are checked") {
  const std::vector<FlagSpec> specs = bench::JoinFlags({kShared, kOwn});
  FlagSet flags(specs);
  CHECK(ParseArgs(flags, {"--help"}, kCommand) == std::optional<int>(0));
}

TEST_CASE("A benchmark exits 2 on a bad, missing or extra argument") {
  const std::vector<FlagSpec> specs = bench::JoinFlags({kShared, kOwn});
  for (const std::vector<std::string>& words : std::vector<std::vector<std::string>>{
           {"--runs", "5"},                  // --db missing
           {"--db", "x", "--bogus"},         // unknown option
           {"--db", "x", "--runs", "many"},  // not a number
           {"--db", "x", "one", "two"}}) {   // one positional at most
    FlagSet flags(specs);
    CHECK(ParseArgs(flags, words, kCommand) == std::optional<int>(2));
  }
}

}  // namespace
}  // namespace resyncwatch
