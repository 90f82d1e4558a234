// `resyncwatch firmware` and `resyncwatch recovery` over stores imported from rsyslog
// archives (tests/data/query/firmware.log, outage.log).
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <string>

#include "tests/query/cli_runner.h"
#include "tests/query/fixture_store.h"

namespace resyncwatch::testing {
namespace {

const std::string kData = RESYNCWATCH_QUERY_DATA;
const std::string kNow = "2026-11-25T08:05:00Z";

// Imports one archive into a fresh store; the store lives as long as the object.
// firmware.log is read with its fleet's templates: one fleet sends no $ERR on success.
struct ImportedStore {
  TempDir dir;
  std::string db = dir.path() + "/store";
  explicit ImportedStore(const std::string& archive) {
    CliRun run = RunCli({"import", "--db", db, "--config", kData + "/firmware-templates.json",
                         kData + "/" + archive});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
  }
};

// JSON lines keyed by "mac"; values kept as the raw line for re-parsing.
std::map<std::string, std::string> ByMac(const CliRun& run) {
  std::map<std::string, std::string> out;
  simdjson::dom::parser parser;
  for (const std::string& line : run.OutLines()) {
    simdjson::dom::element e = parser.parse(line);
    std::string_view mac;
    if (e["mac"].get(mac) == simdjson::SUCCESS) out[std::string(mac)] = line;
  }
  return out;
}

std::string Field(const std::string& line, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element v = parser.parse(line)[key];
  if (v.is_null()) return "null";
  if (v.is_string()) return std::string(std::string_view(v));
  return std::to_string(int64_t(v));
}

}  // namespace

TEST_CASE("firmware names each phone's latest successful upgrade and its last attempt") {
  ImportedStore store("firmware.log");
  CliRun run = RunCli({"firmware", "--json", "--db", store.db});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto phones = ByMac(run);
  REQUIRE(phones.size() == 6);

  SECTION("firmware is the $ERR of the success message") {
    const std::string& a = phones.at("001234ab45de");
    CHECK(Field(a, "firmware") == "sip88xx.12-0-1MPP-14");
    CHECK(Field(a, "upgraded_at") == "2026-11-25T02:03:41.250000Z");
    CHECK(Field(a, "last_upgrade") == "success");
    CHECK(Field(a, "model") == "CP-8851-3PCC");
  }
  SECTION("a success message without $ERR gives the file name of the URL") {
    CHECK(Field(phones.at("001234ab45df"), "firmware") == "sip88xx.12-0-1MPP-14.loads");
  }
  SECTION("a failed upgrade after a success keeps the firmware and reports the failure") {
    const std::string& c = phones.at("000e08aabbcc");
    CHECK(Field(c, "firmware") == "sip78xx.12-0-1MPP-14");
    CHECK(Field(c, "last_upgrade") == "failure");
  }
  SECTION("a phone never seen upgrading has null firmware and null last_upgrade") {
    const std::string& d = phones.at("000e08123456");
    CHECK(Field(d, "firmware") == "null");
    CHECK(Field(d, "upgraded_at") == "null");
    CHECK(Field(d, "last_upgrade") == "null");
  }
  SECTION("a request with no outcome is 'requested' and installs nothing") {
    const std::string& e = phones.at("000e08aaa010");
    CHECK(Field(e, "firmware") == "null");
    CHECK(Field(e, "last_upgrade") == "requested");
  }
  SECTION("quotes, commas and backslashes of a version text are escaped in JSON") {
    CHECK(Field(phones.at("000e08abcd01"), "firmware") == "v1,\"beta\" \\ build;2");
  }
}

TEST_CASE("firmware --model and --not filter the phones") {
  ImportedStore store("firmware.log");
  CliRun model = RunCli({"firmware", "--json", "--model", "cp-8851-3pcc", "--db", store.db});
  REQUIRE(model.exit_code == 0);
  auto m = ByMac(model);
  CHECK(m.size() == 2);
  CHECK(m.count("001234ab45de") == 1);
  CHECK(m.count("001234ab45df") == 1);

  CliRun not_run =
      RunCli({"firmware", "--json", "--not", "sip88xx.12-0-1MPP-14", "--db", store.db});
  REQUIRE(not_run.exit_code == 0);
  auto n = ByMac(not_run);
  CHECK(n.size() == 5);
  CHECK(n.count("001234ab45de") == 0);
  CHECK(n.count("000e08123456") == 1);  // unknown firmware counts as not

  CliRun none = RunCli({"firmware", "--model", "ATA192-3PCC", "--db", store.db});
  CHECK(none.exit_code == 1);
}

TEST_CASE("firmware table ends with the phones per firmware per model") {
  ImportedStore store("firmware.log");
  CliRun run = RunCli({"firmware", "--utc", "--db", store.db});
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("6 phones") != std::string::npos);
  bool summary_line = false;
  for (const std::string& line : run.OutLines()) {
    if (line.starts_with("CP-7841-3PCC") && line.find("unknown") != std::string::npos &&
        line.ends_with(" 1")) {
      summary_line = true;
    }
  }
  CHECK(summary_line);
}

TEST_CASE("recovery lists the failing phones with the back-off of schedule --fleet") {
  ImportedStore store("outage.log");
  std::vector<std::string> common = {"--db", store.db,   "--now",
                                     kNow,   "--config", kData + "/outage-schedule.json"};
  std::vector<std::string> args = {"recovery", "--json"};
  args.insert(args.end(), common.begin(), common.end());
  CliRun run = RunCli(args);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto phones = ByMac(run);

  SECTION("only phones whose last attempt failed, each a phone line") {
    CHECK(phones.size() == 7);
    CHECK(phones.count("000e08123457") == 0);
    for (const auto& [mac, line] : phones) CHECK(Field(line, "type") == "phone");
  }
  SECTION("backoff_step and next_due agree with schedule --fleet --json") {
    std::vector<std::string> fleet_args = {"schedule", "--fleet", "--json"};
    fleet_args.insert(fleet_args.end(), common.begin(), common.end());
    CliRun fleet = RunCli(fleet_args);
    REQUIRE(fleet.exit_code == 0);
    auto fleet_phones = ByMac(fleet);
    for (const auto& [mac, line] : phones) {
      INFO(mac);
      REQUIRE(fleet_phones.count(mac) == 1);
      CHECK(Field(line, "backoff_step") == Field(fleet_phones[mac], "backoff_step"));
      CHECK(Field(line, "next_due") == Field(fleet_phones[mac], "next_due"));
    }
    CHECK(Field(phones.at("001234000001"), "backoff_step") == "3");
  }
  SECTION("retries disabled: next_due is null") {
    CHECK(Field(phones.at("000e08aaa020"), "next_due") == "null");
  }
  SECTION("server is the bare host of the latest URL, address and force URL from the line") {
    const std::string& v6 = phones.at("000e08abcd02");
    CHECK(Field(v6, "server") == "2001:db8::5");
    CHECK(Field(v6, "last_ip") == "2001:db8::21");
    CHECK(Field(v6, "force_url") == "http://[2001:db8::21]/admin/resync");
    const std::string& v4 = phones.at("001234000001");
    CHECK(Field(v4, "last_ip") == "10.1.0.51");
    CHECK(Field(v4, "force_url") == "http://10.1.0.51/admin/resync");
  }
  SECTION("a relay's own host name is no phone address") {
    const std::string& relayed = phones.at("001234000002");
    CHECK(Field(relayed, "server") == "prov.example.net");
    CHECK(Field(relayed, "last_ip") == "null");
    CHECK(Field(relayed, "force_url") == "null");
  }
  SECTION("the summary counts retries within 10m, 1h, 6h, 24h (cumulative) and never") {
    auto lines = run.OutLines();
    REQUIRE(!lines.empty());
    // 001234000002 and 000e08abcd02 failed once and nothing before: their back-off step is
    // unknown, so they are due by the longest wait of the MPP list (a day), not in 60 s.
    CHECK(lines.back() ==
          R"({"type":"summary","phones":7,"within_10m":1,"within_1h":2,"within_6h":3,)"
          R"("within_24h":4,"never":1})");
  }
}

TEST_CASE("recovery --server keeps the phones of that server, IPv6 with or without brackets") {
  ImportedStore store("outage.log");
  for (std::string server : {"2001:db8::5", "[2001:db8::5]"}) {
    CliRun run =
        RunCli({"recovery", "--json", "--server", server, "--db", store.db, "--now", kNow});
    REQUIRE(run.exit_code == 0);
    auto phones = ByMac(run);
    CHECK(phones.size() == 1);
    CHECK(phones.count("000e08abcd02") == 1);
    CHECK(run.OutLines().back().find(R"("phones":1,)") != std::string::npos);
  }
  CliRun none = RunCli({"recovery", "--server", "10.9.9.9", "--db", store.db, "--now", kNow});
  CHECK(none.exit_code == 1);
}

TEST_CASE("recovery table puts the phones that come back last first") {
  ImportedStore store("outage.log");
  CliRun run = RunCli({"recovery", "--utc", "--db", store.db, "--now", kNow, "--config",
                       kData + "/outage-schedule.json"});
  REQUIRE(run.exit_code == 0);
  auto lines = run.OutLines();
  REQUIRE(lines.size() >= 3);
  CHECK(lines[1].starts_with("000e08aaa020"));  // never retries
  CHECK(lines[2].starts_with("001234000002"));  // step unknown: up to a day
  CHECK(lines[4].starts_with("000e08123459"));  // 12 h
  CHECK(lines[5].starts_with("000e08123458"));  // 5 h
  CHECK(run.out.find("never: 1") != std::string::npos);
}

TEST_CASE("recovery reads a phone's address from its latest failure in the range or out of it") {
  // In the range the analysis' scan sees that message; before or after it, it is looked up.
  ImportedStore store("outage.log");
  auto addresses = [&](std::vector<std::string> range) {
    std::vector<std::string> args = {"recovery", "--json", "--db", store.db, "--now", kNow};
    args.insert(args.end(), range.begin(), range.end());
    CliRun run = RunCli(args);
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    std::map<std::string, std::string> out;
    for (const auto& [mac, line] : ByMac(run)) out[mac] = Field(line, "last_ip");
    return out;
  };
  std::map<std::string, std::string> in_range = addresses({});
  CHECK(in_range.at("001234000001") == "10.1.0.51");
  CHECK(in_range.at("000e08abcd02") == "2001:db8::21");
  CHECK(in_range.at("001234000002") == "null");
  for (std::vector<std::string> range :
       {std::vector<std::string>{"--since", "2026-11-25T08:05:00Z"},
        {"--since", "2026-11-25T08:01:00Z"},
        {"--until", "2026-11-25T08:03:00Z"}}) {
    INFO(range[0] + " " + range[1]);
    for (const auto& [mac, ip] : addresses(range)) {
      INFO(mac);
      REQUIRE(in_range.count(mac) == 1);
      CHECK(ip == in_range.at(mac));
    }
  }
}

TEST_CASE("recovery refuses a bad config file with one line naming the file and the key") {
  // The schedule section is checked by the parse that reads it, after the other sections.
  ImportedStore store("outage.log");
  auto error_of = [&](const std::string& json) {
    std::string path = store.dir.path() + "/bad.json";
    std::ofstream(path) << json;
    CliRun run = RunCli({"recovery", "--db", store.db, "--now", kNow, "--config", path});
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    return run.err;
  };
  std::string prefix = "resyncwatch recovery: config " + store.dir.path() + "/bad.json: ";
  CHECK(error_of(R"({"schedule": {"macs": {"00:0e:08:aa:a0:20": {"Resync_Periodic": "12x"}}}})") ==
        prefix +
            "schedule.macs.00:0e:08:aa:a0:20.Resync_Periodic: '12x': '12x' is not a delay "
            "(N or A+B seconds)\n");
  std::string both =
      error_of(R"({"schedule": {"defaults": {"Resync_Periodc": 60}}, "alerts": {"rulez": {}}})");
  CHECK(both.starts_with(prefix + "alerts."));
}

TEST_CASE("recovery takes the address of a phone's own datagrams from its summary") {
  TempDir dir;
  WriteFixtureFleet(dir.path());
  CliRun run = RunCli({"recovery", "--json", "--db", dir.path(), "--now", "2026-11-25T10:00:00Z"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto phones = ByMac(run);
  REQUIRE(phones.size() == 2);
  CHECK(Field(phones.at("001234ab45de"), "last_ip") == "10.1.0.11");
  CHECK(Field(phones.at("001234ab45de"), "force_url") == "http://10.1.0.11/admin/resync");
  CHECK(Field(phones.at("001234ab45de"), "server") == "10.23.45.67");
  CHECK(Field(phones.at("000e08aabbcc"), "last_ip") == "10.1.0.13");
}

}  // namespace resyncwatch::testing
