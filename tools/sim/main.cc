// resyncwatch-sim: runs a fleet of virtual phones and writes what they logged (an rsyslog
// archive, or live UDP datagrams), the fleet's resyncwatch config and the ground truth.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "common/flags.h"
#include "common/time_format.h"
#include "tools/sim/sim.h"

namespace resyncwatch::sim {
namespace {

constexpr FlagSpec kFlags[] = {
    {"phones", FlagType::kInt, "1000", "N", "simulated phones"},
    {"days", FlagType::kString, "3", "D", "simulated days (fractions allowed: 0.5)"},
    {"seed", FlagType::kInt, "1", "N", "random seed (same seed, same fleet)"},
    {"start", FlagType::kString, "2026-11-22T00:00:00Z", "TIME",
     "simulated start (ISO-8601); phones power on in its first 30 min"},
    {"archive", FlagType::kString, "", "FILE",
     "write an rsyslog file archive here (ISO time, model as host, MAC split after 00:)"},
    {"send", FlagType::kString, "", "URL",
     "send the phones' own datagrams (<134>Nov 22 00:00:01 ...) to udp://HOST:PORT"},
    {"rate", FlagType::kInt, "10000", "N", "datagrams per second with --send (0: unpaced)"},
    {"config-out", FlagType::kString, "", "FILE",
     "write the fleet's config here (schedule; templates with --no-failure-template)"},
    {"truth", FlagType::kString, "", "FILE",
     "write the ground truth here: JSON lines, one per gap, then one per phone"},
    {"no-failure-template", FlagType::kBool, "", "",
     "the fleet sends no failure messages (config: \"resync_failure\": [])"},
    {"wrong-config", FlagType::kBool, "", "",
     "write a config that differs from what the phones do (the truth stays theirs)"},
    {"periodic", FlagType::kString, "", "SPEC", "one Resync_Periodic for every plain phone"},
    {"share", FlagType::kStringList, "", "NAME=F",
     "behaviour share, repeatable: hhmm, hammer_retry, hammer_periodic, offline_return, "
     "offline_never, provision_off, gave_up, fnf, multi_profile, dual, identifier, spa, "
     "reboot, upgrade, call, corrupt"},
    {"stats", FlagType::kBool, "", "", "print counts of phones, lines, gaps and redraws on stderr"},
    {"help", FlagType::kBool, "", "", "show this help"},
    {"help-markdown", FlagType::kBool, "", "", "print this option table as Markdown (README)"},
};

bool SetShare(Shares* s, std::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos) return false;
  std::string name(spec.substr(0, eq));
  double v = std::strtod(std::string(spec.substr(eq + 1)).c_str(), nullptr);
  std::pair<const char*, double*> table[] = {
      {"hhmm", &s->hhmm},
      {"hammer_retry", &s->hammer_retry},
      {"hammer_periodic", &s->hammer_periodic},
      {"offline_return", &s->offline_return},
      {"offline_never", &s->offline_never},
      {"provision_off", &s->provision_off},
      {"gave_up", &s->gave_up},
      {"fnf", &s->fnf},
      {"multi_profile", &s->multi_profile},
      {"dual", &s->dual},
      {"identifier", &s->identifier},
      {"spa", &s->spa},
      {"reboot", &s->reboot_per_attempt},
      {"upgrade", &s->upgrade_per_attempt},
      {"call", &s->call_per_attempt},
      {"corrupt", &s->corrupt_per_fetch},
  };
  for (auto [n, p] : table) {
    if (name == n) {
      *p = v;
      return true;
    }
  }
  return false;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  return static_cast<bool>(f);
}

int Send(const Fleet& fleet, const std::string& url, int64_t rate) {
  std::string hostport = url.substr(url.rfind('/') + 1);
  size_t colon = hostport.rfind(':');
  if (url.rfind("udp://", 0) != 0 || colon == std::string::npos) {
    std::fprintf(stderr, "resyncwatch-sim: --send: '%s' is not udp://HOST:PORT\n", url.c_str());
    return 2;
  }
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *ai = nullptr;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &ai) != 0 || ai == nullptr) {
    std::fprintf(stderr, "resyncwatch-sim: --send: cannot resolve '%s'\n", host.c_str());
    return 2;
  }
  int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
  auto t0 = std::chrono::steady_clock::now();
  int64_t sent = 0;
  for (const SimLine& line : fleet.lines()) {
    std::string d = fleet.Datagram(line);
    sendto(fd, d.data(), d.size(), 0, ai->ai_addr, ai->ai_addrlen);
    ++sent;
    if (rate > 0 && sent % 100 == 0) {
      auto due = t0 + std::chrono::microseconds(sent * 1'000'000 / rate);
      std::this_thread::sleep_until(due);
    }
  }
  close(fd);
  freeaddrinfo(ai);
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  FlagSet flags(kFlags);
  if (Status s = flags.Parse(args); !s.ok()) {
    std::fprintf(stderr, "resyncwatch-sim: %s\n", s.message().c_str());
    return 2;
  }
  if (flags.GetBool("help-markdown")) {
    std::fputs(flags.MarkdownTable().c_str(), stdout);
    return 0;
  }
  if (flags.GetBool("help")) {
    std::fputs(flags
                   .Help("resyncwatch-sim [options]",
                         "Simulates a fleet of Cisco MPP/SPA phones from the provisioning "
                         "guide's rules and writes their syslog and the ground truth.",
                         "  resyncwatch-sim --phones 10000 --days 3 --archive fleet.log "
                         "--truth truth.jsonl --config-out fleet.json\n"
                         "  resyncwatch-sim --phones 200 --send udp://127.0.0.1:5514 --rate 5000\n")
                   .c_str(),
               stdout);
    return 0;
  }
  Options o;
  o.phones = static_cast<int>(flags.GetInt("phones"));
  auto start = ParseIso8601(flags.GetString("start"));
  double days = std::strtod(flags.GetString("days").c_str(), nullptr);
  if (!start || days <= 0 || o.phones < 0) {
    std::fprintf(stderr, "resyncwatch-sim: bad --start, --days or --phones\n");
    return 2;
  }
  o.start_us = *start;
  o.duration_us = static_cast<int64_t>(days * 86400.0) * 1'000'000;
  o.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  o.no_failure_template = flags.GetBool("no-failure-template");
  o.wrong_config = flags.GetBool("wrong-config");
  o.default_periodic = flags.GetString("periodic");
  for (const std::string& s : flags.GetList("share")) {
    if (!SetShare(&o.shares, s)) {
      std::fprintf(stderr, "resyncwatch-sim: --share: '%s' is not NAME=FRACTION\n", s.c_str());
      return 2;
    }
  }
  Fleet fleet(o);
  fleet.Run();
  if (std::string path = flags.GetString("archive"); !path.empty()) {
    std::string text;
    text.reserve(fleet.lines().size() * 110);
    for (const SimLine& line : fleet.lines()) {
      fleet.AppendArchiveLine(line, &text);
      text += '\n';
    }
    if (!WriteFile(path, text)) {
      std::fprintf(stderr, "resyncwatch-sim: cannot write %s\n", path.c_str());
      return 2;
    }
  }
  if (std::string path = flags.GetString("config-out"); !path.empty()) {
    if (!WriteFile(path, fleet.ConfigJson())) return 2;
  }
  if (std::string path = flags.GetString("truth"); !path.empty()) {
    if (!WriteFile(path, fleet.TruthJsonLines())) return 2;
  }
  if (flags.GetBool("stats")) {
    std::fprintf(stderr, "phones %zu, lines %zu, gaps %zu, end %s\n", fleet.phones().size(),
                 fleet.lines().size(), fleet.gaps().size(),
                 FormatIso8601Utc(fleet.end_us()).c_str());
    for (const auto& [reason, n] : fleet.redraws()) {
      std::fprintf(stderr, "redraw %s: %lld\n", reason.c_str(), static_cast<long long>(n));
    }
  }
  if (std::string url = flags.GetString("send"); !url.empty()) {
    return Send(fleet, url, flags.GetInt("rate"));
  }
  return 0;
}

}  // namespace
}  // namespace resyncwatch::sim

int main(int argc, char** argv) { return resyncwatch::sim::Main(argc, argv); }
