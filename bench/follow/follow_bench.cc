// follow_bench: what followers cost the collector. Starts the real resyncwatchd on a
// fresh store, subscribes F followers through its query socket (half follow one device,
// half grep a pattern that about a third of the messages match), sends N messages over
// one TCP connection (so that nothing is lost on the way), waits until the last one is
// stored (one more follower, of a sentinel device whose one message comes last, says
// when: polling the store would cost the daemon more than what is measured), and prints the CPU
// time the daemon's threads spent per stored event: ingest (every thread but the query socket's)
// and the followers' own threads (matching and sending), read from /proc/PID/task/*/stat. Run once
// per follower count, e.g.
//   follow_bench --daemon build/collector/resyncwatchd --followers 0
//   follow_bench --daemon build/collector/resyncwatchd --followers 8
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/bench_flags.h"
#include "common/flags.h"
#include "query_socket/query_socket.h"
#include "store/store.h"

extern char** environ;

namespace resyncwatch {
namespace {

constexpr FlagSpec kFlags[] = {
    {"daemon", FlagType::kString, "", "PATH", "the resyncwatchd binary"},
    {"messages", FlagType::kInt, "300000", "N", "messages to send"},
    {"followers", FlagType::kInt, "8", "N", "followers subscribed while they arrive"},
    {"devices", FlagType::kInt, "10000", "N", "phones the messages come from"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

constexpr MacAddress kFirstMac = 0x000e08000000;
constexpr MacAddress kSentinel = 0x000e08ffffff;

std::string MacText(MacAddress mac) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(mac >> 40 & 255),
                unsigned(mac >> 32 & 255), unsigned(mac >> 24 & 255), unsigned(mac >> 16 & 255),
                unsigned(mac >> 8 & 255), unsigned(mac & 255));
  return buf;
}

std::string Message(MacAddress mac, int i) {
  static const char* kBodies[] = {"Requesting resync http://10.23.45.67:80/8851.xml",
                                  "Resync failed: http_get failed",
                                  "Successful resync http://10.23.45.67:80/8851.xml"};
  return "<134>Nov 25 08:00:02 phone CP-8851-3PCC " + MacText(mac) + " -- " + kBodies[i % 3] + "\n";
}

// CPU seconds of the process's threads, by job.
struct Cpu {
  double writer = 0;  // the writer thread (parse, attribute, store, publish to followers)
  double other = 0;   // the rest of ingest: receive loop, RocksDB's background threads
  double query = 0;   // the query socket's threads (the followers' matching and sending)
};

Cpu ThreadCpu(pid_t pid) {
  Cpu cpu;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(task.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string comm = text.substr(open + 1, close - open - 1);
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    const double seconds = (utime + stime) / tick;
    if (comm.rfind("rw-query", 0) == 0) {
      cpu.query += seconds;
    } else if (comm == "rw-writer") {
      cpu.writer += seconds;
    } else {
      cpu.other += seconds;
    }
  }
  return cpu;
}

// Starts resyncwatchd on a fresh store in `dir` with a TCP input on an ephemeral port; returns
// its pid and that port, or port 0 when it did not start.
struct Daemon {
  pid_t pid = 0;
  int port = 0;
};

Daemon StartDaemon(const std::string& daemon, const std::string& dir) {
  const std::string db = dir + "/db", ports = dir + "/ports";
  std::vector<std::string> args = {daemon,        "--db", db, "--listen", "tcp://127.0.0.1:0",
                                   "--port-file", ports};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = dir + "/daemon.log";
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  Daemon d;
  int spawned = posix_spawn(&d.pid, daemon.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    std::fprintf(stderr, "cannot run %s\n", daemon.c_str());
    return d;
  }
  for (int i = 0; i < 1000 && d.port == 0; ++i) {
    std::ifstream in(ports);
    std::string line;
    if (std::getline(in, line) && line.rfind("tcp ", 0) == 0) {
      d.port = std::stoi(line.substr(line.rfind(':') + 1));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return d;
}

// The followers, each on its own thread, counting what reaches it; the last one follows the
// sentinel device and raises `sentinel_seen`.
struct Followers {
  std::atomic<int64_t> delivered{0};
  std::atomic<int> subscribed{0};
  std::atomic<bool> sentinel_seen{false};
  std::vector<std::unique_ptr<QueryClient>> clients;
  std::vector<std::thread> threads;
};

bool StartFollowers(const std::string& db, int followers, Followers& fs) {
  for (int f = 0; f <= followers; ++f) {
    auto client = QueryClient::ConnectToWriter(db);
    if (!client.ok()) return false;
    fs.clients.push_back(std::move(*client));
    FollowFilter filter;
    if (f == followers) {
      filter.mac = kSentinel;
    } else if (f % 2 == 0) {
      filter.mac = kFirstMac + f;
    } else {
      filter.pattern = "http_get failed";
    }
    const bool sentinel = f == followers;
    fs.threads.emplace_back([&fs, f, filter, sentinel] {
      fs.clients[f]->Follow(
          filter, -1,
          [&](const Event&) {
            if (sentinel) return fs.sentinel_seen = true, fs.sentinel_seen.notify_all(), false;
            return ++fs.delivered, true;
          },
          [&] { ++fs.subscribed; });
    });
  }
  while (fs.subscribed.load() <= followers) std::this_thread::yield();
  return true;
}

// Sends the messages, then the sentinel's, over one TCP connection in 64 KiB chunks.
bool SendMessages(int port, int64_t messages, int64_t devices) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  std::string chunk;
  for (int64_t i = 0; i <= messages; ++i) {
    chunk += i == messages ? Message(kSentinel, 0) : Message(kFirstMac + i % devices, int(i));
    if (chunk.size() < (64 << 10) && i != messages) continue;
    for (size_t at = 0; at < chunk.size();) {
      ssize_t n = ::send(fd, chunk.data() + at, chunk.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<size_t>(n);
    }
    chunk.clear();
  }
  return true;
}

int Run(const FlagSet& flags) {
  const int64_t messages = flags.GetInt("messages");
  const int followers = static_cast<int>(flags.GetInt("followers"));
  const std::string dir =
      std::filesystem::temp_directory_path() / ("follow-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const Daemon daemon = StartDaemon(flags.GetString("daemon"), dir);
  if (daemon.port == 0) return 2;
  Followers fs;
  if (!StartFollowers(dir + "/db", followers, fs)) return 2;
  const auto before = ThreadCpu(daemon.pid);
  if (!SendMessages(daemon.port, messages, flags.GetInt("devices"))) return 2;
  // The sentinel is the last message on the connection: once it is stored, all are.
  fs.sentinel_seen.wait(false);
  const auto after = ThreadCpu(daemon.pid);
  const double n = static_cast<double>(messages + 1);
  std::printf(
      "followers %d (+1 sentinel): ingest %.2f CPU us/event (writer thread %.2f, other %.2f), "
      "followers' threads %.2f CPU us/event, %lld events delivered to followers\n",
      followers, (after.writer + after.other - before.writer - before.other) * 1e6 / n,
      (after.writer - before.writer) * 1e6 / n, (after.other - before.other) * 1e6 / n,
      (after.query - before.query) * 1e6 / n, static_cast<long long>(fs.delivered.load()));
  kill(daemon.pid, SIGTERM);
  waitpid(daemon.pid, nullptr, 0);
  for (std::thread& t : fs.threads) t.join();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) {
  using namespace resyncwatch;
  FlagSet flags(kFlags);
  if (auto exit = bench::ParseBenchFlags(flags,
                                         {"follow_bench",
                                          "follow_bench --daemon PATH [options]",
                                          "What followers cost the collector's ingest.",
                                          {"daemon"}},
                                         argc, argv)) {
    return *exit;
  }
  return Run(flags);
}
