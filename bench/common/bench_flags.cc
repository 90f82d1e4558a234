#include "bench/common/bench_flags.h"

#include <cstdio>
#include <string>
#include <vector>

namespace resyncwatch::bench {
namespace {

std::string Problem(const FlagSet& flags, const BenchCommand& command, const Status& parsed) {
  if (!parsed.ok()) return parsed.message();
  if (flags.GetBool("help")) return "";
  for (std::string_view name : command.required) {
    if (!flags.IsSet(name)) return "--" + std::string(name) + " is required";
  }
  if (flags.positional().size() > command.max_positional) {
    return "unexpected argument '" + flags.positional()[command.max_positional] + "'";
  }
  return "";
}

}  // namespace

std::vector<FlagSpec> JoinFlags(std::initializer_list<std::span<const FlagSpec>> tables) {
  std::vector<FlagSpec> joined;
  for (std::span<const FlagSpec> t : tables) joined.insert(joined.end(), t.begin(), t.end());
  return joined;
}

std::optional<int> ParseBenchFlags(FlagSet& flags, const BenchCommand& command, int argc,
                                   char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  Status parsed = flags.Parse(args);
  std::string problem = Problem(flags, command, parsed);
  std::string help = flags.Help(command.usage, command.description, "");
  if (!problem.empty()) {
    std::fprintf(stderr, "%.*s: %s\n\n%s", static_cast<int>(command.program.size()),
                 command.program.data(), problem.c_str(), help.c_str());
    return 2;
  }
  if (flags.GetBool("help")) {
    std::fputs(help.c_str(), stdout);
    return 0;
  }
  return std::nullopt;
}

}  // namespace resyncwatch::bench
