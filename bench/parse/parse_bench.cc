// parse_bench: parses a realistic mix of phone and relay datagrams in a loop on one core
// and prints lines/s and ns/line (thread CPU time).
// Usage: parse_bench [SECONDS=5] [--by-shape | --baseline]
#include <re2/re2.h>
#include <re2/set.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/common/bench_flags.h"
#include "common/flags.h"
#include "parsers/parsers.h"

namespace {

using resyncwatch::FlagSpec;
using resyncwatch::FlagType;

constexpr FlagSpec kFlags[] = {
    {"by-shape", FlagType::kBool, "", "", "also time each message shape alone"},
    {"baseline", FlagType::kBool, "", "", "also time the RE2::Set + capture baseline"},
    {"help", FlagType::kBool, "", "", "show this help"},
};

using resyncwatch::ParseContext;
using resyncwatch::ParsedMessage;
using resyncwatch::TemplateSet;

const char* const kModels[] = {"CP-8851-3PCC", "CP-7841-3PCC", "CP-6841-3PCC", "CP-8845-3PCC",
                               "ATA192-3PCC",  "SPA112",       "SPA504G"};
const char* const kErrors[] = {"http_get failed", "corrupt file", "file not found"};

struct Shape {
  const char* name;
  int weight;  // out of 100
};

// One line of the given shape for phone i. The mix follows what a fleet sends: most
// lines are the phones' own resync messages, then relayed copies, then debug output.
std::string Line(int shape, unsigned i) {
  char mac[18], ma[13];
  unsigned a = (i * 2654435761u) & 0xffffff;
  std::snprintf(mac, sizeof mac, "00:0e:08:%02x:%02x:%02x", a >> 16, (a >> 8) & 0xff, a & 0xff);
  std::snprintf(ma, sizeof ma, "000e08%06x", a);
  const char* model = kModels[i % 7];
  std::string text = std::string(model) + " " + mac;
  switch (i % 4) {
    case 0:
      text += " -- Requesting resync http://10.23.45.67:80/cisco/" + std::string(ma) + ".xml";
      break;
    case 1:
      text += " -- Successful resync https://prov.telco.com/cisco/" + std::string(ma) + ".xml";
      break;
    case 2:
      text += std::string(" -- Resync failed: ") + kErrors[i % 3];
      break;
    default:
      text += " -- Requesting resync tftp://[2001:db8::5]:69/" + std::string(ma) + ".cfg";
  }
  char ts[32];
  std::snprintf(ts, sizeof ts, "Nov %2u %02u:%02u:%02u", 1 + i % 28, i % 24, i % 60, (i / 7) % 60);
  switch (shape) {
    case 0:
      return "<134>" + std::string(ts) + " " + ma + " " + text;  // phone, $MA
    case 1:
      return "<134>" + std::string(ts) + " " + text;  // phone, no id
    case 2:
      return "<134>2026-11-25T08:00:01.123456+00:00 relay01 " + text;  // rsyslog
    case 3:
      return "<134>1 2026-11-25T08:00:01.000Z relay01 phone - - - " + text;
    case 4:
      return std::string(ts) + " relay01 " + text;  // archive line
    default:
      return "<135>" + std::string(ts) + " " + ma + " [0]Reg Addr Change(0) 0:0->a0a0102:5060";
  }
}

constexpr Shape kShapes[] = {{"phone $MA", 40},      {"phone", 20},       {"rsyslog ISO relay", 15},
                             {"RFC 5424 relay", 10}, {"archive line", 5}, {"debug", 10}};

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Run(const std::vector<std::string>& lines, const TemplateSet& t, double seconds,
           uint64_t* parsed, uint64_t* matched) {
  ParseContext ctx;
  ctx.reference_us = 1'795'608'000'000'000;
  ParsedMessage m;
  uint64_t n = 0, hits = 0;
  // Thread CPU time, not wall time: the machine is shared, and a preempted benchmark
  // would otherwise report the neighbours' load as parsing cost.
  double start = CpuSeconds();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (const auto& line : lines) {
      resyncwatch::Parse(line, t, ctx, &m);
      hits += m.mac != 0;
    }
    n += lines.size();
    elapsed = CpuSeconds() - start;
  }
  *parsed = n;
  *matched = hits;
  return elapsed;
}

// The calibration baseline of the issue: one RE2::Set over the default templates (not
// anchored at the start, so the syslog header is skipped by the regex), then the
// winner's capture match into std::strings. Same lines, same CPU clock.
double RunBaseline(const std::vector<std::string>& lines, double seconds, uint64_t* parsed) {
  const char* kPatterns[] = {
      R"((\S+) ([0-9A-Fa-f:]{17}) -- Requesting resync (\S+)$)",
      R"((\S+) ([0-9A-Fa-f:]{17}) -- Successful resync (\S+)$)",
      R"((\S+) ([0-9A-Fa-f:]{17}) -- Resync failed: (.*)$)",
      R"((\S+) ([0-9A-Fa-f:]{17}) -- Requesting upgrade (\S+)$)",
      R"((\S+) ([0-9A-Fa-f:]{17}) -- Successful upgrade (\S+) -- (.*)$)",
      R"((\S+) ([0-9A-Fa-f:]{17}) -- Upgrade failed: (.*)$)",
  };
  RE2::Options options;
  options.set_log_errors(false);
  RE2::Set set(options, RE2::UNANCHORED);
  std::vector<std::unique_ptr<RE2>> res;
  for (const char* p : kPatterns) {
    set.Add(p, nullptr);
    res.push_back(std::make_unique<RE2>(p, options));
  }
  set.Compile();
  std::vector<int> hits;
  std::string model, mac, rest;
  uint64_t n = 0;
  double start = CpuSeconds(), elapsed = 0;
  while (elapsed < seconds) {
    for (const auto& line : lines) {
      if (set.Match(line, &hits) && !hits.empty()) {
        RE2::PartialMatch(line, *res[static_cast<size_t>(hits[0])], &model, &mac, &rest);
      }
    }
    n += lines.size();
    elapsed = CpuSeconds() - start;
  }
  *parsed = n;
  return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  resyncwatch::FlagSet flags(kFlags);
  if (auto exit = resyncwatch::bench::ParseBenchFlags(
          flags,
          {"parse_bench",
           "parse_bench [SECONDS=5] [options]",
           "Parses a realistic datagram mix in a loop for SECONDS of CPU time.",
           {},
           1},
          argc, argv)) {
    return *exit;
  }
  const double seconds =
      flags.positional().empty() ? 5.0 : std::atof(flags.positional()[0].c_str());
  const bool by_shape = flags.GetBool("by-shape");
  const bool baseline = flags.GetBool("baseline");
  auto templates = TemplateSet::Defaults();
  if (!templates.ok()) {
    std::fprintf(stderr, "%s\n", templates.status().ToString().c_str());
    return 1;
  }
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (unsigned i = 0; i < 10000; ++i) {
    int r = static_cast<int>(i * 37 % 100), shape = 0;
    for (int acc = 0; shape < 5 && r >= acc + kShapes[shape].weight; ++shape) {
      acc += kShapes[shape].weight;
    }
    lines.push_back(Line(shape, i));
    bytes += lines.back().size();
  }
  uint64_t n = 0, hits = 0;
  double elapsed = Run(lines, *templates, seconds, &n, &hits);
  std::printf(
      "parse_bench: %zu distinct lines (avg %.0f bytes), %llu parsed in %.2f s of CPU time\n",
      lines.size(), static_cast<double>(bytes) / lines.size(), static_cast<unsigned long long>(n),
      elapsed);
  std::printf("lines/s: %.0f\nns/line: %.1f\nattributed to a MAC: %.1f%%\n", n / elapsed,
              elapsed * 1e9 / n, 100.0 * hits / n);
  if (baseline) {
    double e = RunBaseline(lines, seconds, &n);
    std::printf("baseline (RE2::Set + capture into std::string): %.0f lines/s %.1f ns/line\n",
                n / e, e * 1e9 / n);
  }
  if (by_shape) {
    for (int s = 0; s < 6; ++s) {
      std::vector<std::string> only;
      for (unsigned i = 0; i < 2000; ++i) only.push_back(Line(s, i));
      double e = Run(only, *templates, seconds / 5, &n, &hits);
      std::printf("  %-18s %10.0f lines/s %7.1f ns/line\n", kShapes[s].name, n / e, e * 1e9 / n);
    }
  }
  return 0;
}
