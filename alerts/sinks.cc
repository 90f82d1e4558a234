// The local sinks: the log (spdlog), a JSON-lines file, and a command run with the alert
// JSON on its stdin.
#include "alerts/sinks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "alerts/alert_internal.h"
#include "common/clock.h"

extern char** environ;

namespace resyncwatch {
namespace {

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

class LogSink final : public AlertSink {
 public:
  std::string_view name() const override { return "log"; }
  Status Deliver(const AlertMessage& m) override {
    std::string macs;
    for (MacAddress mac : m.alert.sample_macs) {
      if (!macs.empty()) macs += ',';
      macs += MacHex(mac);
    }
    if (m.kind == AlertChange::Kind::kFired) {
      // The schedule and silence rules have no error, the silence rules no MACs.
      std::string details = "id " + m.alert.id;
      if (!m.alert.last_error.empty()) details += "; last error '" + m.alert.last_error + "'";
      if (!macs.empty()) details += "; e.g. " + macs;
      spdlog::warn("alert {} ({})", AlertSummary(m.alert), details);
    } else {
      spdlog::info("alert {} (id {})", AlertSummary(m.alert), m.alert.id);
    }
    return Status::Ok();
  }
};

class FileSink final : public AlertSink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)) {}
  std::string_view name() const override { return "file"; }
  // Opened per alert (alerts are rare), so that log rotation needs no signal.
  Status Deliver(const AlertMessage& m) override {
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return Status::IoError(Errno(path_));
    std::string line = m.json + "\n";
    ssize_t n = ::write(fd, line.data(), line.size());
    int saved = errno;
    ::close(fd);
    errno = saved;
    if (n != static_cast<ssize_t>(line.size())) {
      return Status::IoError(n < 0 ? Errno(path_) : path_ + ": short write");
    }
    return Status::Ok();
  }

 private:
  std::string path_;
};

class ExecSink final : public AlertSink {
 public:
  ExecSink(std::string command, int64_t timeout_us)
      : command_(std::move(command)), timeout_us_(timeout_us) {}
  std::string_view name() const override { return "exec"; }

  Status Deliver(const AlertMessage& m) override {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IoError(Errno("pipe"));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    // The child starts with default signal handling and an empty mask, whatever the
    // daemon's threads block or ignore.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const char* argv[] = {"/bin/sh", "-c", command_.c_str(), nullptr};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[0]);
    if (rc != 0) {
      ::close(fds[1]);
      return Status::IoError("exec '" + command_ + "': " + std::strerror(rc));
    }
    // The JSON is small (well under a pipe buffer), so this write does not wait on the
    // child; a child that exits without reading gives EPIPE (SIGPIPE is blocked here).
    std::string line = m.json + "\n";
    ssize_t n = ::write(fds[1], line.data(), line.size());
    int write_errno = errno;
    ::close(fds[1]);
    int status = 0;
    Status waited = WaitWithTimeout(pid, &status);
    if (!waited.ok()) return waited;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      if (n != static_cast<ssize_t>(line.size())) {
        return Status::IoError("exec '" + command_ + "': stdin: " + std::strerror(write_errno));
      }
      return Status::Ok();
    }
    if (WIFSIGNALED(status)) {
      return Status::IoError("exec '" + command_ + "': killed by signal " +
                             std::to_string(WTERMSIG(status)));
    }
    return Status::IoError("exec '" + command_ + "': exit status " +
                           std::to_string(WEXITSTATUS(status)));
  }

 private:
  // Waits for the child through a pidfd (poll with a timeout); kills it when late.
  Status WaitWithTimeout(pid_t pid, int* status) {
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      int timeout_ms = static_cast<int>(timeout_us_ / 1000);
      int r;
      do {
        r = ::poll(&p, 1, timeout_ms);
      } while (r < 0 && errno == EINTR);
      ::close(pidfd);
      if (r == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, status, 0);
        return Status::IoError("exec '" + command_ + "': no exit within " +
                               std::to_string(timeout_us_ / 1000) + " ms, killed");
      }
    }
    while (::waitpid(pid, status, 0) < 0) {
      if (errno != EINTR) return Status::IoError(Errno("waitpid"));
    }
    return Status::Ok();
  }

  std::string command_;
  int64_t timeout_us_;
};

}  // namespace

std::unique_ptr<AlertSink> MakeLogSink() { return std::make_unique<LogSink>(); }
std::unique_ptr<AlertSink> MakeFileSink(const std::string& path) {
  return std::make_unique<FileSink>(path);
}
std::unique_ptr<AlertSink> MakeExecSink(const std::string& command, int64_t timeout_us) {
  return std::make_unique<ExecSink>(command, timeout_us);
}

}  // namespace resyncwatch
