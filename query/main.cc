#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "query/command.h"

namespace {

int PrintUsage(std::FILE* out) {
  std::fprintf(out, "Usage: resyncwatch <command> [options]\n\nCommands:\n");
  for (const auto& c : resyncwatch::AllCommands()) {
    std::fprintf(out, "  %-10.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::fprintf(out, "\nRun 'resyncwatch <command> --help' for a command's options and examples.\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintUsage(stderr);
    return resyncwatch::kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") return PrintUsage(stdout);
  resyncwatch::CommandIo io = resyncwatch::ProcessCommandIo();
  for (const auto& c : resyncwatch::AllCommands()) {
    if (c.name == args[0]) {
      return c.run(std::span<const std::string_view>(args).subspan(1), io);
    }
  }
  std::fprintf(stderr, "resyncwatch: unknown command '%s' (see resyncwatch --help)\n",
               std::string(args[0]).c_str());
  return resyncwatch::kExitUsage;
}
