// bench_flags: the command line of the benchmark programs under bench/. Each program declares
// its options once as a FlagSpec table (with a "help" entry) and hands argv to ParseBenchFlags,
// which answers --help, and turns a bad or missing option into one error line plus the help,
// so every benchmark reads its options and fails on them the same way.
// Plain functions on a caller-owned FlagSet; not thread-safe.
#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/flags.h"

namespace resyncwatch::bench {

struct BenchCommand {
  std::string_view program;      // "store_bench": prefixes the error line
  std::string_view usage;        // "store_bench [options]"
  std::string_view description;  // one sentence for --help
  // Options that must be given (a missing one is an error naming it).
  std::initializer_list<std::string_view> required = {};
  // Positional arguments accepted at most (more are an error).
  size_t max_positional = 0;
};

// Several option tables as one, in order: options that several benchmarks share (such as
// bench::kFleetFlags) and then the program's own. The FlagSet keeps a view of the result, so it
// must outlive the FlagSet.
std::vector<FlagSpec> JoinFlags(std::initializer_list<std::span<const FlagSpec>> tables);

// Parses argv[1..argc) into `flags`. Returns the exit status when main should stop now: 0 after
// --help (printed on stdout), 2 after a bad, missing or extra argument (one line on stderr
// naming it, then the help). std::nullopt when the options are ready to read.
// REQUIRES: flags' table has a kBool "help" entry.
std::optional<int> ParseBenchFlags(FlagSet& flags, const BenchCommand& command, int argc,
                                   char** argv);

}  // namespace resyncwatch::bench
