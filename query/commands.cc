#include "query/command.h"

namespace resyncwatch {

// One declaration and one table row per subcommand; each lives in cmd_<name>.cc.
int RunParse(std::span<const std::string_view> args, CommandIo& io);

std::span<const Command> AllCommands() {
  static const Command kCommands[] = {
      {"parse", "parse datagrams from stdin into JSON lines", RunParse},
  };
  return kCommands;
}

}  // namespace resyncwatch
