// The commands on the real binaries: resyncwatch-sim writes an archive, `resyncwatch import`
// stores it, and `resyncwatch schedule` / `overdue` print JSON lines that must be the
// simulator's ground truth line for line.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "schedule_cli_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

int Run(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// "mac":"..." of a JSON line.
std::string MacOf(const std::string& line) {
  size_t p = line.find("\"mac\":\"");
  return p == std::string::npos ? "" : line.substr(p + 7, 12);
}

const std::string kRw = RESYNCWATCH_BIN;
const std::string kSim = SIM_BIN;
const std::string kRange = " --now 2026-11-25T00:00:00Z --since 2026-11-22T00:00:00Z";

// Simulated, imported and read once for all sections (Catch2 re-enters the test case for
// every section).
struct Fixture {
  TempDir d;
  bool ready = false;
  std::string common;
  std::set<std::string> truth_finals;
  std::set<std::string> overdue_truth;
  std::vector<std::string> gap_truth;

  Fixture() {
    ready =
        Run(kSim + " --phones 1500 --days 3 --seed 11 --archive " + (d / "a.log") + " --truth " +
            (d / "t.jsonl") + " --config-out " + (d / "c.json") + " 2>/dev/null") == 0 &&
        Run(kRw + " import --db " + (d / "db") + " " + (d / "a.log") + " >/dev/null") == 0;
    common = " --db " + (d / "db") + " --config " + (d / "c.json") + kRange;
    for (const std::string& line : Lines(d / "t.jsonl")) {
      if (line.rfind("{\"type\":\"final\",", 0) == 0) {
        std::string device = "{" + line.substr(16);
        truth_finals.insert(device);
        if (device.find("\"state\":\"overdue\"") != std::string::npos) {
          overdue_truth.insert(MacOf(line));
        }
      } else if (line.rfind("{\"type\":\"gap\",", 0) == 0) {
        gap_truth.push_back(line);
      }
    }
  }
};

TEST_CASE("schedule and overdue on an imported simulated archive print the ground truth") {
  static Fixture f;
  REQUIRE(f.ready);
  const TempDir& d = f.d;
  const std::string& common = f.common;
  const auto& truth_finals = f.truth_finals;
  const auto& overdue_truth = f.overdue_truth;
  const auto& gap_truth = f.gap_truth;
  REQUIRE(truth_finals.size() == 1500);

  SECTION("--fleet --json is one truth line per device") {
    REQUIRE(Run(kRw + " schedule --fleet --json" + common + " > " + (d / "f.jsonl")) == 0);
    std::vector<std::string> got = Lines(d / "f.jsonl");
    CHECK(got.size() == truth_finals.size());
    int64_t mismatches = 0;
    std::string first;
    for (const std::string& line : got) {
      if (!truth_finals.count(line)) {
        ++mismatches;
        if (first.empty()) first = line;
      }
    }
    INFO(first);
    CHECK(mismatches == 0);
  }

  SECTION("one device's --json gaps are the truth's gap lines") {
    std::set<std::string> macs;
    for (size_t i = 0; i < gap_truth.size() && macs.size() < 12; i += gap_truth.size() / 12) {
      macs.insert(MacOf(gap_truth[i]));
    }
    for (const std::string& mac : macs) {
      REQUIRE(Run(kRw + " schedule " + mac + " --json" + common + " > " + (d / "g.jsonl")) == 0);
      std::vector<std::string> got;
      for (const std::string& line : Lines(d / "g.jsonl")) {
        if (line.rfind("{\"type\":\"gap\"", 0) == 0) got.push_back(line);
      }
      std::vector<std::string> want;
      for (const std::string& line : gap_truth) {
        if (MacOf(line) == mac) want.push_back(line);
      }
      INFO(mac);
      CHECK(got == want);
    }
  }

  SECTION("overdue lists exactly the devices the truth calls overdue") {
    int rc = Run(kRw + " overdue --json" + common + " > " + (d / "o.jsonl"));
    CHECK(rc == (overdue_truth.empty() ? 1 : 0));
    std::set<std::string> got;
    for (const std::string& line : Lines(d / "o.jsonl")) {
      got.insert(MacOf(line));
      CHECK(line.find("\"next_due\":\"") != std::string::npos);
      CHECK(line.find("\"overdue_s\":") != std::string::npos);
    }
    CHECK(got == overdue_truth);
  }

  SECTION("usage and config errors exit 2 with one line naming the problem") {
    CHECK(Run(kRw + " schedule" + common + " 2>/dev/null") == 2);
    std::ofstream(d / "bad.json") << R"({"schedule": {"defaults": {"Resync_Periodic": "60x"}}})";
    CHECK(Run(kRw + " schedule --fleet --db " + (d / "db") + " --config " + (d / "bad.json") +
              " 2> " + (d / "err.txt")) == 2);
    std::vector<std::string> err = Lines(d / "err.txt");
    REQUIRE(err.size() == 1);
    CHECK(err[0].find("Resync_Periodic") != std::string::npos);
    CHECK(err[0].find("60x") != std::string::npos);
    CHECK(Run(kRw + " schedule --help > /dev/null") == 0);
  }
}

}  // namespace
