// A child program for the end-to-end tests whose stdout and stderr the test reads as it
// goes (waiting on their text with a deadline, never on time). Header-only.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

extern char** environ;

namespace resyncwatch::testing {

// A program with its stdout and stderr on pipes that the test reads when it wants to.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int out[2], err[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(err_);
  }

  // Reads both pipes until stdout (or stderr) holds text, or the deadline; true if found.
  bool WaitOut(const std::string& text, std::chrono::seconds limit = std::chrono::seconds(10)) {
    return Wait([&] { return out.find(text) != std::string::npos; }, limit);
  }
  bool WaitErr(const std::string& text, std::chrono::seconds limit = std::chrono::seconds(10)) {
    return Wait([&] { return err.find(text) != std::string::npos; }, limit);
  }
  // Reads everything until both pipes end, then the exit status (-1: not in time).
  int Finish(std::chrono::seconds limit = std::chrono::seconds(30)) {
    Wait([&] { return out_done_ && err_done_; }, limit);
    int status = 0;
    for (auto end = std::chrono::steady_clock::now() + limit;;) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
      if (std::chrono::steady_clock::now() > end) return -1;
      ::poll(nullptr, 0, 10);  // the process exits right after closing its pipes
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void Signal(int sig) { ::kill(pid_, sig); }

  std::string out, err;

 private:
  template <typename Pred>
  bool Wait(Pred done, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || (out_done_ && err_done_)) return done();
      pollfd fds[2] = {{out_done_ ? -1 : out_, POLLIN, 0}, {err_done_ ? -1 : err_, POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
      Drain(fds[0], out_, &out, &out_done_);
      Drain(fds[1], err_, &err, &err_done_);
    }
    return true;
  }
  static void Drain(const pollfd& p, int fd, std::string* into, bool* done) {
    if (p.revents == 0) return;
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) into->append(buf, static_cast<size_t>(n));
    if (n == 0) *done = true;
  }

  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool out_done_ = false, err_done_ = false;
};

}  // namespace resyncwatch::testing
