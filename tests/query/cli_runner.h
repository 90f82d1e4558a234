// Runs the real resyncwatch binary (path from CMake) and captures what it prints.
#pragma once

#include <string>
#include <vector>

namespace resyncwatch::testing {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::vector<std::string> OutLines() const;
};

// args excludes the program name; env entries ("TZ=UTC") are added to a minimal
// environment (no NO_COLOR games: stdout is a pipe, so no colour anyway).
CliRun RunCli(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
// The same for another program: resyncwatch-full, or a copy of the front.
CliRun RunProgram(const std::string& program, const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {});

}  // namespace resyncwatch::testing
