// The `resyncwatch` front: a small program without RocksDB that starts in well under a
// millisecond. It answers `history` through the collector's query socket itself, the
// command support types all day, and hands every other command, and any history the
// collector cannot answer, to the full CLI `resyncwatch-full` beside it, with the same
// arguments. Both print the same output and exit codes (tests/query).
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

// extra: an argument inserted after the command name (--direct once the collector failed).
[[noreturn]] void RunFull(int argc, char** argv, const char* extra) {
  std::vector<char*> args(argv, argv + argc);
  if (extra != nullptr && args.size() >= 2) args.insert(args.begin() + 2, const_cast<char*>(extra));
  args.push_back(nullptr);
  std::fflush(nullptr);
  const std::string full = FullCliPath();
  ::execv(full.c_str(), args.data());
  std::fprintf(stderr, "resyncwatch: cannot run %s: %s\n", full.c_str(), std::strerror(errno));
  std::exit(resyncwatch::kExitUsage);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "history") RunFull(argc, argv, nullptr);
  resyncwatch::CommandIo io = resyncwatch::ProcessCommandIo();
  std::vector<std::string_view> args(argv + 2, argv + argc);
  resyncwatch::HistoryCommand history(io);
  if (std::optional<int> code = history.Parse(args)) return *code;
  if (history.follow()) return history.Follow();
  if (history.direct()) RunFull(argc, argv, nullptr);
  resyncwatch::Status why;
  if (std::optional<int> code = history.AskCollector(&why)) return *code;
  // The full CLI reads the store; it must not ask the collector a second time.
  history.WarnIfCollectorFailed(why);
  RunFull(argc, argv, "--direct");
}
