#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace resyncwatch::testing {

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& stderr_path,
            bool stdout_only = false) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (!stderr_path.empty()) {
    int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      if (!stdout_only) dup2(fd, 2);
      dup2(fd, 1);
      close(fd);
    }
  }
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

int WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  int result = -1;
  WaitUntil(
      [&] {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
          result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        }
        return false;
      },
      timeout);
  return result;
}

}  // namespace

int RunProgram(const std::vector<std::string>& argv) {
  pid_t pid = Spawn(argv, "");
  if (pid < 0) return -1;
  return WaitExit(pid, std::chrono::seconds(20));
}

int RunCapture(const std::vector<std::string>& argv, std::string* out) {
  char name[] = "/tmp/resyncwatch-c-out-XXXXXX";
  int fd = mkstemp(name);
  if (fd < 0) return -1;
  close(fd);
  pid_t pid = Spawn(argv, name, /*stdout_only=*/true);
  int rc = pid < 0 ? -1 : WaitExit(pid, std::chrono::seconds(20));
  *out = ReadFileText(name);
  std::remove(name);
  return rc;
}

bool ProgramExists(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

Daemon::Daemon(const std::string& binary, std::vector<std::string> args, const std::string& workdir,
               bool with_port_file) {
  port_file_ = workdir + "/ports." + std::to_string(reinterpret_cast<uintptr_t>(this));
  stderr_file_ = port_file_ + ".stderr";
  std::remove(port_file_.c_str());
  for (const std::string& a : args) {
    if (a.rfind("udp://", 0) == 0 || a.rfind("tcp://", 0) == 0 || a.rfind("tls://", 0) == 0) {
      ++expected_listeners_;
    }
  }
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  if (with_port_file) {
    argv.push_back("--port-file");
    argv.push_back(port_file_);
  }
  pid_ = Spawn(argv, stderr_file_);
}

Daemon::~Daemon() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Daemon::WaitListening() {
  bool ok = WaitUntil([&] {
    if (!running()) return true;
    std::istringstream in(ReadFileText(port_file_));
    std::vector<std::pair<std::string, int>> ports;
    std::string transport, address;
    while (in >> transport >> address) {
      ports.emplace_back(transport, std::atoi(address.substr(address.rfind(':') + 1).c_str()));
    }
    if (ports.size() < std::max<size_t>(expected_listeners_, 1)) return false;
    ports_ = ports;
    return true;
  });
  return ok && !ports_.empty();
}

int Daemon::Port(const std::string& transport, int index) const {
  for (const auto& [t, p] : ports_) {
    if (t == transport && index-- == 0) return p;
  }
  return -1;
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int Daemon::Stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int rc = WaitExit(pid_, std::chrono::seconds(20));
  if (rc >= 0) pid_ = -1;
  return rc;
}

std::string Daemon::Stderr() const { return ReadFileText(stderr_file_); }

int64_t Daemon::LastReceivedSummary() const {
  std::string text = Stderr();
  size_t at = text.rfind("received ");
  int64_t last = -1;
  while (at != std::string::npos) {
    const char* p = text.c_str() + at + 9;
    char* end = nullptr;
    long long v = std::strtoll(p, &end, 10);
    if (end != p && std::strncmp(end, " datagrams", 10) == 0) {
      last = v;
      break;
    }
    if (at == 0) break;
    at = text.rfind("received ", at - 1);
  }
  return last;
}

void SendUdp(int port, const std::vector<std::string>& payloads, bool v6) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  sockaddr_storage to{};
  socklen_t len = 0;
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&to);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    in6->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&to);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  }
  for (const std::string& p : payloads) {
    sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), len);
  }
  close(fd);
}

bool SendTcp(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return false;
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  close(fd);
  return sent == bytes.size();
}

namespace {

sockaddr_in Loopback4(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

}  // namespace

void SendUdpFrom(const std::string& source_ip, int port, const std::vector<std::string>& payloads) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in from = Loopback4(source_ip, 0);
  bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from));
  sockaddr_in to = Loopback4("127.0.0.1", port);
  for (const std::string& p : payloads) {
    sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }
  close(fd);
}

int ConnectTcp(int port, const std::string& source_ip) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in from = Loopback4(source_ip, 0);
  sockaddr_in to = Loopback4("127.0.0.1", port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool RaiseFileLimit(int64_t n) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (static_cast<int64_t>(limit.rlim_cur) >= n) return true;
  if (static_cast<int64_t>(limit.rlim_max) < n) return false;
  limit.rlim_cur = static_cast<rlim_t>(n);
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

}  // namespace resyncwatch::testing
