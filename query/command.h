// query: the `resyncwatch` command line. Each subcommand is one function in its own
// file (cmd_<name>.cc), listed once in commands.cc; main() only dispatches. A command
// returns its exit code (0 found, 1 nothing found, 2 usage or store error) and never
// calls exit(); errors become one line on io.err.
#pragma once

#include <cstdio>
#include <span>
#include <string_view>

#include "common/clock.h"

namespace resyncwatch {

class Store;
class FleetRollup;

struct CommandIo {
  std::FILE* in = stdin;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool out_is_tty = false;  // colour, bars and progress only when true
  bool color = false;       // out_is_tty and NO_COLOR unset
  const Clock* clock = &SystemClock::Instance();
  // When set, commands read this store instead of opening --db: resyncwatchd's own, so that
  // its HTTP API runs the same command code without reopening the store per request.
  // Not owned; commands only read it (Store is thread-safe for concurrent reads).
  Store* store = nullptr;
  // resyncwatchd's per-minute rollups: `fleet` answers from them when they can answer
  // exactly (query/fleet_rollup.h), else scans. Not owned; thread-safe.
  const FleetRollup* fleet_rollup = nullptr;
};

// The process's own streams; colour when stdout is a terminal and NO_COLOR is unset.
CommandIo ProcessCommandIo();

// args excludes the program and subcommand names.
using CommandFn = int (*)(std::span<const std::string_view> args, CommandIo& io);

struct Command {
  std::string_view name;
  std::string_view summary;  // one line for `resyncwatch --help`
  CommandFn run;
};

std::span<const Command> AllCommands();

constexpr int kExitFound = 0;
constexpr int kExitNothing = 1;
constexpr int kExitUsage = 2;

}  // namespace resyncwatch
