// resyncwatch-sim: drives N virtual phones through the resync schedule rules faster than
// real time and sends what they would log (UDP datagrams to a collector, or an rsyslog-style
// archive for `resyncwatch import`), plus the ground truth as JSON lines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/flags.h"
#include "common/time_format.h"
#include "tools/sim/fleet_sim.h"
#include "tools/sim/truth_writer.h"

namespace resyncwatch {
namespace {

constexpr FlagSpec kFlags[] = {
    {"phones", FlagType::kInt, "1000", "N", "number of virtual phones"},
    {"days", FlagType::kInt, "3", "N", "simulated days"},
    {"start", FlagType::kString, "2026-11-22T00:00:00Z", "T", "simulated start time (ISO-8601)"},
    {"seed", FlagType::kInt, "1", "N", "random seed (same seed, same fleet)"},
    {"misconfigured-pct", FlagType::kInt, "2", "N", "percent of phones misconfigured"},
    {"offline-pct", FlagType::kInt, "2", "N", "percent of phones that go offline"},
    {"upgrade-pct", FlagType::kInt, "3", "N", "percent of phones that upgrade firmware"},
    {"no-outages", FlagType::kBool, "", "", "no provisioning-server outages"},
    {"periodic", FlagType::kString, "10800+600", "SPEC", "the fleet-wide Resync_Periodic"},
    {"archive", FlagType::kString, "", "FILE", "write an rsyslog-style archive for import"},
    {"send", FlagType::kString, "", "URL", "send datagrams to udp://HOST:PORT"},
    {"rate", FlagType::kInt, "20000", "N", "datagrams per second with --send"},
    {"truth", FlagType::kString, "", "FILE", "write the ground truth as JSON lines"},
    {"config-out", FlagType::kString, "", "FILE", "write the fleet's schedule config JSON"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

constexpr std::string_view kExamples =
    "  resyncwatch-sim --phones 10000 --days 3 --archive fleet.log --truth truth.jsonl \\\n"
    "      --config-out schedule.json        # then: resyncwatch import fleet.log\n"
    "  resyncwatch-sim --phones 200 --days 1 --send udp://127.0.0.1:5514 --rate 5000\n";

Status WriteFile(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Status::IoError(path + ": cannot create");
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok ? Status::Ok() : Status::IoError(path + ": write failed");
}

Status WriteArchive(const FleetSim& sim, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Status::IoError(path + ": cannot create");
  std::string line;
  for (const SimEvent& e : sim.events()) {
    line = sim.ArchiveLine(e);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), f);
  }
  return std::fclose(f) == 0 ? Status::Ok() : Status::IoError(path + ": write failed");
}

Status Send(const FleetSim& sim, std::string_view url, int64_t rate) {
  if (url.substr(0, 6) != "udp://")
    return Status::InvalidArgument("--send: expected udp://HOST:PORT");
  std::string_view hp = url.substr(6);
  size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("--send: no port");
  std::string host(hp.substr(0, colon));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = std::atoi(std::string(hp.substr(colon + 1)).c_str());
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return Status::InvalidArgument("--send: '" + host + "' is not an IP address");
  }
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0) return Status::IoError("socket failed");
  auto t0 = std::chrono::steady_clock::now();
  int64_t sent = 0;
  for (const SimEvent& e : sim.events()) {
    std::string d = sim.Datagram(e);
    sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&addr), len);
    ++sent;
    if (rate > 0 && sent % 100 == 0) {  // pace: sleep until sent/rate seconds have passed
      auto due = t0 + std::chrono::microseconds(sent * 1'000'000 / rate);
      std::this_thread::sleep_until(due);
    }
  }
  close(fd);
  return Status::Ok();
}

int Main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  FlagSet flags(kFlags);
  if (Status s = flags.Parse(args); !s.ok()) {
    std::fprintf(stderr, "resyncwatch-sim: %s\n", s.message().c_str());
    return 2;
  }
  if (flags.GetBool("help")) {
    std::string help = flags.Help(
        "resyncwatch-sim [options]",
        "Simulates a fleet of Cisco MPP/SPA phones resyncing by their schedule (periodic,\n"
        "back-off during server outages, random delays, firmware upgrades, offline and\n"
        "misconfigured phones) on a simulated clock, and writes what they log plus the truth.",
        kExamples);
    std::fputs(help.c_str(), stdout);
    return 0;
  }
  SimOptions o;
  o.phones = static_cast<int>(flags.GetInt("phones"));
  o.duration_us = flags.GetInt("days") * 86400 * kMicrosPerSecond;
  auto start = ParseIso8601(flags.GetString("start"));
  if (!start) {
    std::fprintf(stderr, "resyncwatch-sim: --start: '%s' is not an ISO-8601 time\n",
                 flags.GetString("start").c_str());
    return 2;
  }
  o.start_us = *start;
  o.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  o.misconfigured_share = flags.GetInt("misconfigured-pct") / 100.0;
  o.offline_share = flags.GetInt("offline-pct") / 100.0;
  o.upgrade_share = flags.GetInt("upgrade-pct") / 100.0;
  o.outages = !flags.GetBool("no-outages");
  o.default_periodic = flags.GetString("periodic");
  if (!RetrySchedule::Parse(o.default_periodic).ok()) {
    std::fprintf(stderr, "resyncwatch-sim: --periodic: '%s' is not a schedule\n",
                 o.default_periodic.c_str());
    return 2;
  }
  if (o.phones <= 0 || o.duration_us <= 0) {
    std::fprintf(stderr, "resyncwatch-sim: --phones and --days must be positive\n");
    return 2;
  }
  FleetSim sim(o);
  sim.Run();
  Status s;
  if (!flags.GetString("config-out").empty())
    s = WriteFile(flags.GetString("config-out"), sim.config_json());
  if (s.ok() && !flags.GetString("truth").empty()) s = WriteTruth(sim, flags.GetString("truth"));
  if (s.ok() && !flags.GetString("archive").empty())
    s = WriteArchive(sim, flags.GetString("archive"));
  if (s.ok() && !flags.GetString("send").empty()) {
    s = Send(sim, flags.GetString("send"), flags.GetInt("rate"));
  }
  if (!s.ok()) {
    std::fprintf(stderr, "resyncwatch-sim: %s\n", s.message().c_str());
    return 2;
  }
  std::fprintf(stderr, "resyncwatch-sim: %d phones, %zu messages, %zu gaps, %s .. %s\n", o.phones,
               sim.events().size(), sim.gaps().size(), FormatIso8601Utc(o.start_us).c_str(),
               FormatIso8601Utc(sim.end_us()).c_str());
  return 0;
}

}  // namespace
}  // namespace resyncwatch

int main(int argc, char** argv) { return resyncwatch::Main(argc, argv); }
