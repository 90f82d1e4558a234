// Where the collector keeps its store unless told otherwise, and its query socket in it;
// shared by the daemon, the CLI and its front, so it lives apart from the RocksDB code.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "store/store.h"

namespace resyncwatch {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string UserStoreDir() {
  const char* state = std::getenv("XDG_STATE_HOME");
  // The XDG spec says a relative value is invalid and must be ignored.
  if (state != nullptr && state[0] == '/') return std::string(state) + "/resyncwatch";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.local/state/resyncwatch";
  return {};
}

std::vector<std::string> StoreDirCandidates() {
  std::vector<std::string> dirs = {std::string(kSystemStoreDir)};
  if (std::string user = UserStoreDir(); !user.empty()) dirs.push_back(std::move(user));
  return dirs;
}

std::string DefaultStoreDir() {
  const char* env = std::getenv("RESYNCWATCH_DB");
  if (env != nullptr && *env != '\0') return env;
  const std::vector<std::string> dirs = StoreDirCandidates();
  for (const std::string& dir : dirs) {
    if (StoreWriterPid(dir) != 0) return dir;
  }
  for (const std::string& dir : dirs) {
    if (IsDirectory(dir)) return dir;
  }
  return dirs.back();
}

int StoreWriterPid(const std::string& store_dir) {
  // RocksDB's writer holds a POSIX record lock on DIR/LOCK for as long as the store is
  // open (readers take none). F_GETLK asks who holds it without taking it.
  const std::string lock = store_dir + "/LOCK";
  int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock probe = {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  int pid = 0;
  if (::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK) {
    pid = probe.l_pid > 0 ? static_cast<int>(probe.l_pid) : -1;
  }
  ::close(fd);
  return pid;
}

std::string QuerySocketPath(const std::string& store_dir) { return store_dir + "/query.sock"; }

}  // namespace resyncwatch
