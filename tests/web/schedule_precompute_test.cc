// The wall's schedule panel precomputed once a minute (web/schedule_cache.h): its body is
// what `resyncwatch schedule --fleet --json --now MINUTE` prints for the same store, only
// the exact request it ran is served from it, and the next minute's run sees new events.
// Time is a ManualClock; the thread test waits on the precompute's own condition.
#include <httplib.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/time_format.h"
#include "query/command.h"
#include "store/store.h"
#include "web/api.h"
#include "web/schedule_cache.h"
#include "web/web.h"

namespace resyncwatch {
namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kMin = 60 * kSec;
// 2026-11-25T08:00:00Z
constexpr int64_t kT0 = 1'795'593'600'000'000;
// The wall's minute: four hours in, the clock half a minute past it.
constexpr int64_t kMinute = kT0 + 4 * 60 * kMin;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rw-schedule-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

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

// What the CLI prints: the schedule command's own entry, with its arguments as typed.
std::string Cli(Store& store, const std::vector<std::string>& args) {
  const Command* command = nullptr;
  for (const Command& c : AllCommands()) {
    if (c.name == "schedule") command = &c;
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
  }
  SchedulePrecompute::Options Options() {
    SchedulePrecompute::Options o;
    o.clock = &clock;
    o.poll = std::chrono::milliseconds(1);
    return o;
  }
  ApiReply Get(const SchedulePrecompute& precompute,
               std::multimap<std::string, std::string> params) {
    ApiContext c = context;
    c.schedule_precompute = &precompute;
    ApiReply reply = HandleApi(c, {"/api/schedule/fleet", std::move(params)});
    REQUIRE(reply.status == 200);
    return reply;
  }
};

}  // namespace

TEST_CASE("Precomputed schedule panel is the CLI's schedule --fleet --json --now for its minute") {
  Fixture f;
  SchedulePrecompute precompute(f.context, f.Options());
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

TEST_CASE("Schedule request for another minute, spelling or parameters is computed, not served") {
  Fixture f;
  SchedulePrecompute precompute(f.context, f.Options());
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
      {{{"now", now}, {"state", "overdue"}},
       {"--fleet", "--json", "--now", now, "--state", "overdue"}},
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

TEST_CASE("Next minute's precomputed schedule panel reflects events stored since") {
  Fixture f;
  SchedulePrecompute precompute(f.context, f.Options());
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
  SchedulePrecompute precompute(f.context, f.Options());
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
  SchedulePrecompute::Options o = f.Options();
  SchedulePrecompute precompute(f.context, o);
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
  options.schedule_precompute = true;
  options.clock = &f.clock;
  WebCallbacks callbacks;
  callbacks.collector = [] { return std::string("{\"db_dir\":\"/x\"}"); };
  auto server = WebServer::Start(options, callbacks, f.store.get());
  REQUIRE(server.ok());
  const std::string bound = (*server)->BoundAddresses()[0];
  httplib::Client client("http://" + bound.substr(bound.find(' ') + 1));
  const std::string now = FormatIso8601Utc(kMinute);
  const std::string want = "{\"db_dir\":\"/x\",\"schedule_ready\":\"" + now + "\"}\n";
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
  auto computed = client.Get("/api/schedule/fleet?now=" + now + "&limit=3");
  REQUIRE(computed);
  CHECK(!computed->has_header("X-Resyncwatch-Precomputed"));
  CHECK(computed->body == CliAt(*f.store, now, {"--limit", "3"}));
}

}  // namespace resyncwatch
