// The `resyncwatch` front: a small program that starts in about a millisecond. It answers
// `history`, the command support types all day, itself: through the collector's query
// socket, or from the store read-only when no collector serves it (a copied store, a
// stopped appliance). It hands every other command, and history from ClickHouse, to the
// full CLI `resyncwatch-full` beside it, with the same arguments. Both print the same
// output and exit codes (tests/query).
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "query/history_command.h"

namespace {

constexpr std::string_view kFullName = "resyncwatch-full";

// The full CLI in the directory this program was started from.
std::string FullCliPath() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return std::string(kFullName);
  std::string path(self, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return path.substr(0, slash + 1) + std::string(kFullName);
}

[[noreturn]] void RunFull(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  std::fflush(nullptr);
  const std::string full = FullCliPath();
  ::execv(full.c_str(), args.data());
  std::fprintf(stderr, "resyncwatch: cannot run %s: %s\n", full.c_str(), std::strerror(errno));
  std::exit(resyncwatch::kExitUsage);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "history") RunFull(argc, argv);
  resyncwatch::CommandIo io = resyncwatch::ProcessCommandIo();
  std::vector<std::string_view> args(argv + 2, argv + argc);
  resyncwatch::HistoryCommand history(io);
  if (std::optional<int> code = history.Parse(args)) return *code;
  if (history.follow()) return history.Follow();
  resyncwatch::Cli& cli = history.cli();
  if (cli.clickhouse()) RunFull(argc, argv);
  return history.Answer([&cli] { return cli.OpenLocalDeviceReader(); });
}
