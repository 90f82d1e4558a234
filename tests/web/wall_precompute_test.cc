// The wall's schedule and firmware panels precomputed once a minute (web/wall_precompute.h):
// the schedule body is what `resyncwatch schedule --fleet --json --now MINUTE` prints for the
// same store, the firmware body what `resyncwatch firmware --json` printed when the run
// started (served, with its time, for at most a minute), only the exact requests it ran are
// served from it, and the next minute's run sees new events. Time is a ManualClock; the
// thread test waits on the precompute's own condition.
#include "web/wall_precompute.h"

#include <httplib.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/time_format.h"
#include "query/command.h"
#include "store/store.h"
#include "tests/testlib/testlib.h"
#include "web/api.h"
#include "web/web.h"

namespace resyncwatch {
namespace {

using testing::TempDir;

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kMin = 60 * kSec;
// 2026-11-25T08:00:00Z
constexpr int64_t kT0 = 1'795'593'600'000'000;
// The wall's minute: four hours in, the clock half a minute past it.
constexpr int64_t kMinute = kT0 + 4 * 60 * kMin;

Event Resync(EventKind kind, MacAddress mac, int64_t t) {
  Event e;
  e.event_time_us = t;
  e.received_us = t;
  e.kind = kind;
  e.format = SyslogFormat::kRfc3164;
  e.mac = mac;
  e.model = "CP-8851-3PCC";
  e.scheme = "http";
  e.server = "prov1.example.net";
  e.path = "/cfg.xml";
  e.url = "http://prov1.example.net/cfg.xml";
  if (kind == EventKind::kResyncFailure) e.error = "http_get failed";
  e.message = "resync line";
  return e;
}

// Phones resyncing every `period` from `start` until `stop`, each a request and an outcome
// (every third phone fails).
std::vector<Event> Phones(MacAddress first, int phones, int64_t start, int64_t stop,
                          int64_t period) {
  std::vector<Event> out;
  for (int p = 0; p < phones; ++p) {
    const MacAddress mac = first + p;
    for (int64_t t = start + p * 7 * kSec; t < stop; t += period) {
      out.push_back(Resync(EventKind::kResyncRequest, mac, t));
      out.push_back(Resync(p % 3 == 0 ? EventKind::kResyncFailure : EventKind::kResyncSuccess, mac,
                           t + 2 * kSec));
    }
  }
  return out;
}

void Write(Store& store, std::vector<Event> events) {
  WriteBatch b;
  b.events = std::move(events);
  REQUIRE(store.Write(b).ok());
}

// Phones upgrading at t: a request then a success naming `firmware` (every fourth fails).
std::vector<Event> Upgrades(MacAddress first, int phones, int64_t t, const std::string& firmware) {
  std::vector<Event> out;
  for (int p = 0; p < phones; ++p) {
    Event e = Resync(EventKind::kUpgradeRequest, first + p, t + p * kSec);
    e.path = "/" + firmware;
    e.url = "http://prov1.example.net/" + firmware;
    out.push_back(e);
    e.kind = p % 4 == 3 ? EventKind::kUpgradeFailure : EventKind::kUpgradeSuccess;
    e.event_time_us += 30 * kSec;
    e.received_us = e.event_time_us;
    e.error = p % 4 == 3 ? "download failed" : firmware;
    out.push_back(e);
  }
  return out;
}

// What the CLI prints: the command's own entry (schedule unless named), with its arguments
// as typed.
std::string Cli(Store& store, const std::vector<std::string>& args,
                std::string_view name = "schedule") {
  const Command* command = nullptr;
  for (const Command& c : AllCommands()) {
    if (c.name == name) command = &c;
  }
  REQUIRE(command != nullptr);
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  std::FILE* err = std::fopen("/dev/null", "w");
  CommandIo io;
  io.out = out;
  io.err = err;
  io.store = &store;
  std::vector<std::string_view> views(args.begin(), args.end());
  const int rc = command->run(views, io);
  std::fclose(err);
  std::fclose(out);
  std::string text(buf, len);
  std::free(buf);
  REQUIRE((rc == kExitFound || rc == kExitNothing));
  return text;
}

std::string CliAt(Store& store, const std::string& now, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--fleet", "--json", "--now", now};
  args.insert(args.end(), more.begin(), more.end());
  return Cli(store, args);
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<Store> store;
  ManualClock clock{kMinute + 30 * kSec};
  ApiContext context;
  Fixture() {
    Result<std::unique_ptr<Store>> s = Store::Open(dir.path() + "/db", StoreOptions());
    REQUIRE(s.ok());
    store = std::move(*s);
    context.store = store.get();
    // Phones on a one-hour schedule; some stopped two hours ago (overdue by now).
    Write(*store, Phones(0x000e08000000, 40, kT0, kMinute, 60 * kMin));
    Write(*store, Phones(0x000e08100000, 10, kT0, kT0 + 2 * 60 * kMin, 60 * kMin));
    // Some of them upgraded, to two firmwares.
    Write(*store, Upgrades(0x000e08000000, 12, kT0 + 30 * kMin, "sip88xx.12-0-1MPP-14.loads"));
    Write(*store, Upgrades(0x000e08100000, 5, kT0 + 90 * kMin, "sip88xx.12-0-1MPP-12.loads"));
  }
  WallPrecompute::Options Options() {
    WallPrecompute::Options o;
    o.clock = &clock;
    o.poll = std::chrono::milliseconds(1);
    return o;
  }
  ApiReply Get(const WallPrecompute& precompute, std::multimap<std::string, std::string> params,
               std::string path = "/api/schedule/fleet") {
    ApiContext c = context;
    c.wall_precompute = &precompute;
    ApiReply reply = HandleApi(c, {std::move(path), std::move(params)});
    REQUIRE(reply.status == 200);
    return reply;
  }
};

}  // namespace

TEST_CASE("Precomputed schedule panel is the CLI's schedule --fleet --json --now for its minute") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  CHECK(precompute.ReadyNow().empty());
  CHECK(precompute.RefreshIfDue());
  const std::string now = FormatIso8601Utc(kMinute);
  REQUIRE(precompute.ReadyNow() == now);
  const ApiReply reply = f.Get(precompute, {{"now", now}});
  CHECK(reply.precomputed);
  CHECK(!reply.body.empty());
  CHECK(reply.body == CliAt(*f.store, now));
  // Within the same minute nothing runs again.
  f.clock.Advance(20 * kSec);
  CHECK(!precompute.RefreshIfDue());
  CHECK(precompute.runs() == 1);
}

TEST_CASE("Precomputed firmware panel is the CLI's firmware --json as of its run") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  CHECK(precompute.FirmwareAsOf().empty());
  CHECK(!f.Get(precompute, {}, "/api/firmware").precomputed);
  REQUIRE(precompute.RefreshIfDue());
  const std::string as_of = FormatIso8601Utc(kMinute + 30 * kSec);
  CHECK(precompute.FirmwareAsOf() == as_of);
  const ApiReply reply = f.Get(precompute, {}, "/api/firmware");
  CHECK(reply.precomputed);
  CHECK(reply.as_of == as_of);
  CHECK(reply.body.find("sip88xx.12-0-1MPP-12.loads") != std::string::npos);
  CHECK(reply.body == Cli(*f.store, {"--json"}, "firmware"));
  // The schedule's reply says no as-of time: it is exact for its now=.
  CHECK(f.Get(precompute, {{"now", precompute.ReadyNow()}}).as_of.empty());
}

TEST_CASE("Firmware request with parameters, or after a minute, is computed, not served") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  REQUIRE(precompute.RefreshIfDue());
  const std::string cached = f.Get(precompute, {}, "/api/firmware").body;
  // A new upgrade after the run: the cache is as of the run, fresh answers see it.
  Write(*f.store, Upgrades(0x000e08000000, 2, kMinute + 31 * kSec, "sip88xx.13-0-1MPP.loads"));
  const std::string now = FormatIso8601Utc(kMinute + 40 * kSec);
  struct Case {
    std::multimap<std::string, std::string> params;
    std::vector<std::string> cli;
  };
  const std::vector<Case> cases = {
      {{{"now", now}}, {"--json", "--now", now}},
      {{{"model", "CP-8851-3PCC"}}, {"--json", "--model", "CP-8851-3PCC"}},
      {{{"not", "sip88xx.12-0-1MPP-14.loads"}}, {"--json", "--not", "sip88xx.12-0-1MPP-14.loads"}},
      {{{"since", "24h"}, {"now", now}}, {"--json", "--since", "24h", "--now", now}},
  };
  for (const Case& c : cases) {
    INFO(c.cli[1]);
    const ApiReply reply = f.Get(precompute, c.params, "/api/firmware");
    CHECK(!reply.precomputed);
    CHECK(reply.as_of.empty());
    CHECK(reply.body == Cli(*f.store, c.cli, "firmware"));
  }
  const std::string fresh = Cli(*f.store, {"--json"}, "firmware");
  CHECK(fresh.find("sip88xx.13-0-1MPP.loads") != std::string::npos);
  CHECK(fresh != cached);
  // Within the minute the bare request is the run's answer, named as of its time.
  f.clock.Set(kMinute + 90 * kSec);
  const ApiReply served = f.Get(precompute, {}, "/api/firmware");
  CHECK(served.precomputed);
  CHECK(served.body == cached);
  // More than a minute after the run (no run since): computed, the fresh answer.
  f.clock.Set(kMinute + 90 * kSec + 1);
  CHECK(precompute.FirmwareAsOf().empty());
  const ApiReply late = f.Get(precompute, {}, "/api/firmware");
  CHECK(!late.precomputed);
  CHECK(late.as_of.empty());
  CHECK(late.body == fresh);
  // The next run serves the new answer.
  REQUIRE(precompute.RefreshIfDue());
  const ApiReply next = f.Get(precompute, {}, "/api/firmware");
  CHECK(next.precomputed);
  CHECK(next.body == fresh);
}

TEST_CASE("Schedule request for another minute, spelling or parameters is computed, not served") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  REQUIRE(precompute.RefreshIfDue());
  const std::string now = precompute.ReadyNow();
  const std::string cached = f.Get(precompute, {{"now", now}}).body;
  // A new phone, before the minute: a fresh analysis at that minute differs from the cache.
  Write(*f.store, Phones(0x000e08200000, 3, kT0 + 3 * 60 * kMin, kMinute, 20 * kMin));
  const std::string other_minute = FormatIso8601Utc(kMinute - kMin);
  const std::string other_spelling = "2026-11-25T12:00:00Z";  // the same instant
  REQUIRE(*ParseIso8601(other_spelling) == kMinute);
  struct Case {
    std::multimap<std::string, std::string> params;
    std::vector<std::string> cli;
  };
  const std::vector<Case> cases = {
      {{{"now", other_minute}}, {"--fleet", "--json", "--now", other_minute}},
      {{{"now", other_spelling}}, {"--fleet", "--json", "--now", other_spelling}},
      {{{"now", now}, {"state", "overdue"}, {"limit", "5"}},
       {"--fleet", "--json", "--now", now, "--state", "overdue", "--limit", "5"}},
      {{{"now", now}, {"limit", "5"}}, {"--fleet", "--json", "--now", now, "--limit", "5"}},
      {{{"now", now}, {"grace", "10m"}}, {"--fleet", "--json", "--now", now, "--grace", "10m"}},
  };
  for (const Case& c : cases) {
    INFO(c.cli[3] << " " << c.params.size());
    const ApiReply reply = f.Get(precompute, c.params);
    CHECK(!reply.precomputed);
    CHECK(reply.body == Cli(*f.store, c.cli));
  }
  const ApiReply spelled = f.Get(precompute, {{"now", other_spelling}});
  CHECK(spelled.body != cached);
  const ApiReply bare = f.Get(precompute, {});
  CHECK(!bare.precomputed);
  // The exact request still gets the minute's result as it was run.
  const ApiReply exact = f.Get(precompute, {{"now", now}});
  CHECK(exact.precomputed);
  CHECK(exact.body == cached);
}

TEST_CASE("Precomputed fleet schedule of one state is the CLI's schedule --fleet --state") {
  Fixture f;
  // Three phones silent for ten hours: overdue, beside the fixture's phones on time.
  Write(*f.store, Phones(0x000e08300000, 3, kT0 - 8 * 60 * kMin, kT0 - 6 * 60 * kMin, 60 * kMin));
  WallPrecompute precompute(f.context, f.Options());
  REQUIRE(precompute.RefreshIfDue());
  const std::string now = precompute.ReadyNow();
  int states_with_phones = 0;
  for (const char* state : {"ok", "overdue", "deep_backoff", "hammering", "gave_up", "unknown"}) {
    CAPTURE(state);
    const ApiReply reply = f.Get(precompute, {{"now", now}, {"state", state}});
    CHECK(reply.precomputed);
    CHECK(reply.status == 200);
    const std::string cli = CliAt(*f.store, now, {"--state", state});
    CHECK(reply.body == cli);
    if (cli.empty()) CHECK(reply.nothing == "no devices in range");
    states_with_phones += !cli.empty();
  }
  CHECK(states_with_phones >= 2);  // the fixture's fleet is not all of one state
  // Not a state: computed, so the command says what is wrong.
  ApiContext context = f.context;
  context.wall_precompute = &precompute;
  const ApiReply bad =
      HandleApi(context, {"/api/schedule/fleet", {{"now", now}, {"state", "sleepy"}}});
  CHECK(!bad.precomputed);
  CHECK(bad.status == 400);
}

TEST_CASE("Next minute's precomputed schedule panel reflects events stored since") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  REQUIRE(precompute.RefreshIfDue());
  const std::string before = f.Get(precompute, {{"now", precompute.ReadyNow()}}).body;
  Write(*f.store, Phones(0x000e08200000, 3, kT0 + 3 * 60 * kMin, kMinute + 10 * kSec, 20 * kMin));
  f.clock.Advance(kMin);
  REQUIRE(precompute.RefreshIfDue());
  const std::string next = FormatIso8601Utc(kMinute + kMin);
  REQUIRE(precompute.ReadyNow() == next);
  const ApiReply reply = f.Get(precompute, {{"now", next}});
  CHECK(reply.precomputed);
  CHECK(reply.body == CliAt(*f.store, next));
  CHECK(reply.body != before);
  CHECK(reply.body.find("\"mac\":\"000e08200000\"") != std::string::npos);
  // The previous minute is no longer served from the precompute.
  CHECK(!f.Get(precompute, {{"now", FormatIso8601Utc(kMinute)}}).precomputed);
}

TEST_CASE("Schedule precompute thread runs once per minute of its clock") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  precompute.Start();
  REQUIRE(precompute.WaitForReady(kMinute, std::chrono::seconds(30)));
  CHECK(precompute.runs() == 1);
  f.clock.Advance(kMin);
  REQUIRE(precompute.WaitForReady(kMinute + kMin, std::chrono::seconds(30)));
  CHECK(precompute.runs() == 2);
  CHECK(f.Get(precompute, {{"now", FormatIso8601Utc(kMinute + kMin)}}).body ==
        CliAt(*f.store, FormatIso8601Utc(kMinute + kMin)));
}

TEST_CASE("Schedule precompute waits for the minute to settle before running it") {
  Fixture f;
  f.clock.Set(kMinute + kSec);  // the default settle is 2 s: still the minute before
  WallPrecompute::Options o = f.Options();
  WallPrecompute precompute(f.context, o);
  REQUIRE(precompute.RefreshIfDue());
  CHECK(precompute.ReadyNow() == FormatIso8601Utc(kMinute - kMin));
  f.clock.Set(kMinute + 2 * kSec);
  REQUIRE(precompute.RefreshIfDue());
  CHECK(precompute.ReadyNow() == FormatIso8601Utc(kMinute));
}

TEST_CASE("Over HTTP /api/collector names the ready minute and the wall's request is precomputed") {
  Fixture f;
  WebOptions options;
  options.listen = {{"http", "127.0.0.1:0"}};
  options.wall_precompute = true;
  options.clock = &f.clock;
  WebCallbacks callbacks;
  callbacks.collector = [] { return std::string("{\"db_dir\":\"/x\"}"); };
  auto server = WebServer::Start(options, callbacks, f.store.get());
  REQUIRE(server.ok());
  const std::string bound = (*server)->BoundAddresses()[0];
  httplib::Client client("http://" + bound.substr(bound.find(' ') + 1));
  const std::string now = FormatIso8601Utc(kMinute);
  const std::string as_of = FormatIso8601Utc(kMinute + 30 * kSec);  // the clock at the run
  const std::string want = "{\"db_dir\":\"/x\",\"schedule_ready\":\"" + now +
                           "\",\"firmware_ready\":\"" + as_of + "\"}\n";
  // The first run finishes on the server's own thread: poll what the wall reads, until
  // it names the minute (bounded; the poll waits on the condition, it assumes nothing).
  std::string collector;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (collector != want && std::chrono::steady_clock::now() < deadline) {
    if (!collector.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto res = client.Get("/api/collector");
    REQUIRE(res);
    collector = res->body;
  }
  REQUIRE(collector == want);
  auto cached = client.Get("/api/schedule/fleet?now=" + now);
  REQUIRE(cached);
  CHECK(cached->status == 200);
  CHECK(cached->get_header_value("X-Resyncwatch-Precomputed") == "1");
  CHECK(cached->body == CliAt(*f.store, now));
  // The precomputed body's gzip form was made with it.
  auto zipped = client.Get("/api/schedule/fleet?now=" + now, {{"Accept-Encoding", "gzip"}});
  REQUIRE(zipped);
  CHECK(zipped->get_header_value("X-Resyncwatch-Precomputed") == "1");
  CHECK(zipped->get_header_value("Content-Encoding") == "gzip");
  CHECK(zipped->body == cached->body);
  auto computed = client.Get("/api/schedule/fleet?now=" + now + "&limit=3");
  REQUIRE(computed);
  CHECK(!computed->has_header("X-Resyncwatch-Precomputed"));
  CHECK(computed->body == CliAt(*f.store, now, {"--limit", "3"}));
  auto firmware = client.Get("/api/firmware");
  REQUIRE(firmware);
  CHECK(firmware->status == 200);
  CHECK(firmware->get_header_value("X-Resyncwatch-Precomputed") == "1");
  CHECK(firmware->get_header_value("X-Resyncwatch-As-Of") == as_of);
  CHECK(firmware->body == Cli(*f.store, {"--json"}, "firmware"));
  auto model = client.Get("/api/firmware?model=CP-8851-3PCC");
  REQUIRE(model);
  CHECK(!model->has_header("X-Resyncwatch-Precomputed"));
  CHECK(!model->has_header("X-Resyncwatch-As-Of"));
  CHECK(model->body == Cli(*f.store, {"--json", "--model", "CP-8851-3PCC"}, "firmware"));
}

}  // namespace resyncwatch

namespace resyncwatch {
namespace {

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

int64_t CountOf(const std::string& text, const std::string& needle) {
  int64_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("Precomputed recovery panel is the CLI's recovery --json --now for its minute") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  REQUIRE(precompute.RefreshIfDue());
  const std::string now = precompute.ReadyNow();
  const std::string cli = Cli(*f.store, {"--json", "--now", now}, "recovery");
  const std::vector<std::string> lines = SplitLines(cli);
  // More failing phones than the wall lists, so that the compact form is shorter.
  REQUIRE(lines.size() > 12);
  const ApiReply full = f.Get(precompute, {{"now", now}}, "/api/recovery");
  CHECK(full.precomputed);
  CHECK(full.body == cli);
  const ApiReply wall = f.Get(precompute, {{"now", now}}, "/api/wall/recovery");
  CHECK(wall.precomputed);
  std::string want;
  for (size_t i = 0; i < 10; ++i) want += lines[i] + "\n";
  want += lines.back() + "\n";
  REQUIRE(lines.back().rfind("{\"type\":\"summary\"", 0) == 0);
  CHECK(wall.body == want);
  // Computed afresh (another parameter) it is made the same way from the command's answer.
  const ApiReply other = f.Get(precompute, {{"now", now}, {"grace", "10m"}}, "/api/wall/recovery");
  CHECK(!other.precomputed);
  const std::vector<std::string> graced =
      SplitLines(Cli(*f.store, {"--json", "--now", now, "--grace", "10m"}, "recovery"));
  CHECK(SplitLines(other.body).back() == graced.back());
  CHECK(SplitLines(other.body).front() == graced.front());
}

TEST_CASE("Wall schedule summary counts the CLI's states and lists the worst phones first") {
  Fixture f;
  // Phones retrying every 20 s (far faster than any schedule) and phones silent for a day.
  Write(*f.store, Phones(0x000e08300000, 12, kMinute - 30 * kMin, kMinute, 20 * kSec));
  Write(*f.store,
        Phones(0x000e08400000, 12, kT0 - 48 * 60 * kMin, kT0 - 20 * 60 * kMin, 60 * kMin));
  WallPrecompute precompute(f.context, f.Options());
  REQUIRE(precompute.RefreshIfDue());
  const std::string now = precompute.ReadyNow();
  const std::string cli = CliAt(*f.store, now);
  const ApiReply wall = f.Get(precompute, {{"now", now}}, "/api/wall/schedule");
  CHECK(wall.precomputed);
  CHECK(wall.body.size() < cli.size());
  CHECK(wall.body.find("\"phones\":" + std::to_string(SplitLines(cli).size()) + ",") !=
        std::string::npos);
  // Every state the CLI prints, with its count.
  std::regex state_re("\"state\":\"([a-z_]+)\"");
  std::map<std::string, int64_t> states;
  for (std::sregex_iterator it(cli.begin(), cli.end(), state_re), end; it != end; ++it) {
    ++states[(*it)[1].str()];
  }
  std::string bad;  // a state the wall lists phones of
  for (const auto& [state, n] : states) {
    if (state != "ok" && (bad.empty() || n > states[bad])) bad = state;
  }
  REQUIRE(!bad.empty());
  REQUIRE(states[bad] > 1);
  std::string counts;
  for (const auto& [state, n] : states) {
    counts += (counts.empty() ? "" : ",") + ("\"" + state + "\":" + std::to_string(n));
  }
  CHECK(wall.body.find("\"states\":{" + counts + "}") != std::string::npos);
  // Its list starts with the CLI's line of the phone longest overdue, then deepest back-off.
  std::string worst;
  std::pair<double, int64_t> most{-1, -1};
  for (const std::string& line : SplitLines(cli)) {
    std::smatch o, b;
    if (line.find("\"state\":\"" + bad + "\"") == std::string::npos) continue;
    REQUIRE(std::regex_search(line, o, std::regex("\"overdue_s\":([0-9.]+)")));
    REQUIRE(std::regex_search(line, b, std::regex("\"backoff_step\":([0-9]+)")));
    const std::pair<double, int64_t> key{std::stod(o[1].str()), std::stoll(b[1].str())};
    if (key > most) {
      most = key;
      worst = line;
    }
  }
  CHECK(wall.body.find("\"" + bad + "\":[" + worst) != std::string::npos);
  CHECK(CountOf(wall.body, "\"state\":\"" + bad + "\"") == std::min<int64_t>(10, states[bad]));
  CHECK(CountOf(wall.body, "\"state\":\"ok\"") == 0);
  // The same request without the precompute is made the same way.
  CHECK(HandleApi(f.context, {"/api/wall/schedule", {{"now", now}}}).body == wall.body);
}

}  // namespace resyncwatch

namespace resyncwatch {

TEST_CASE("API answers are gzipped for clients that accept it and equal the CLI once unzipped") {
  Fixture f;
  WebOptions options;
  options.listen = {{"http", "127.0.0.1:0"}};
  auto server = WebServer::Start(options, {}, f.store.get());
  REQUIRE(server.ok());
  const std::string bound = (*server)->BoundAddresses()[0];
  httplib::Client client("http://" + bound.substr(bound.find(' ') + 1));
  const std::string now = FormatIso8601Utc(kMinute);
  const std::string path = "/api/schedule/fleet?now=" + now;
  const std::string cli = CliAt(*f.store, now);
  REQUIRE(cli.size() > 4096);
  // Asked with gzip: compressed on the wire (smaller), the CLI's bytes once inflated.
  client.set_decompress(false);
  auto raw = client.Get(path, {{"Accept-Encoding", "deflate, gzip;q=0.8"}});
  REQUIRE(raw);
  CHECK(raw->get_header_value("Content-Encoding") == "gzip");
  CHECK(raw->get_header_value("Vary") == "Accept-Encoding");
  CHECK(raw->get_header_value("Content-Type") == "application/x-ndjson; charset=utf-8");
  CHECK(raw->body.size() < cli.size() / 4);
  client.set_decompress(true);
  auto inflated = client.Get(path, {{"Accept-Encoding", "gzip"}});
  REQUIRE(inflated);
  CHECK(inflated->body == cli);
  // Not asked, or refused with q=0: as it is.
  client.set_decompress(false);
  for (const char* accept : {"", "identity", "gzip;q=0, br"}) {
    CAPTURE(accept);
    auto plain = client.Get(path, {{"Accept-Encoding", accept}});
    REQUIRE(plain);
    CHECK(!plain->has_header("Content-Encoding"));
    CHECK(plain->body == cli);
  }
}

}  // namespace resyncwatch

namespace resyncwatch {

TEST_CASE("Wall firmware summary counts the CLI's phones per model and firmware") {
  Fixture f;
  WallPrecompute precompute(f.context, f.Options());
  REQUIRE(precompute.RefreshIfDue());
  const std::string cli = Cli(*f.store, {"--json"}, "firmware");
  const ApiReply wall = f.Get(precompute, {}, "/api/wall/firmware");
  CHECK(wall.precomputed);
  CHECK(wall.as_of == precompute.FirmwareAsOf());
  // Counted here from the CLI's lines.
  std::map<std::string, int64_t> want;
  std::regex re("\"model\":(\"[^\"]*\"),\"firmware\":(null|\"[^\"]*\")");
  for (std::sregex_iterator it(cli.begin(), cli.end(), re), end; it != end; ++it) {
    ++want["{\"model\":" + (*it)[1].str() + ",\"firmware\":" + (*it)[2].str()];
  }
  REQUIRE(want.size() >= 3);  // two firmwares and phones with none
  int64_t lines = 0;
  for (const auto& [key, n] : want) {
    CAPTURE(key);
    CHECK(wall.body.find(key + ",\"phones\":" + std::to_string(n) + "}\n") != std::string::npos);
    lines += 1;
  }
  CHECK(CountOf(wall.body, "\n") == lines);
  // Most phones first.
  CHECK(wall.body.find("\"firmware\":null") < wall.body.find("sip88xx.12-0-1MPP-12.loads"));
  // With a parameter: computed afresh, made the same way.
  const ApiReply model = f.Get(precompute, {{"model", "CP-8851-3PCC"}}, "/api/wall/firmware");
  CHECK(!model.precomputed);
  CHECK(model.body == wall.body);  // every phone of the fixture is that model
}

}  // namespace resyncwatch
