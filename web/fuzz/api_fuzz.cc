// libFuzzer target over the HTTP routes, in process: a request target ("/api/...?a=b")
// is decoded as cpp-httplib decodes it (path, query parameters), then routed as the
// server routes a GET: /api lists the endpoints, /api/... runs the command behind the
// route (web/api.h) against a tiny store, anything else is a page lookup. Built only
// with -DRESYNCWATCH_FUZZ=ON (clang); run with scripts/fuzz http.
//
// The store holds the phone lines of $RESYNCWATCH_TEST_DATA/query/phones.log (written
// once, in a temporary directory removed at exit). Checks: the status is 200, 400 or 404;
// an answer's body is JSON lines (one valid JSON value per line) and an error's body one
// JSON object with "error", whatever hostile text the request carried.
// With RESYNCWATCH_FUZZ_SEEDS=DIR set it writes one seed request per route and exits.
#include <httplib.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "parsers/parsers.h"
#include "query/fleet_rollup.h"
#include "store/store.h"
#include "web/api.h"
#include "web/assets.h"

namespace {

using namespace resyncwatch;

std::string TestData() {
  const char* data = std::getenv("RESYNCWATCH_TEST_DATA");
  return data != nullptr ? data : "tests/data";
}

struct Fixture {
  std::string dir;
  std::unique_ptr<Store> store;
  FleetRollup rollup;
  ApiContext context;
};

// The temporary directory this process made (removed at a normal exit).
std::string* store_dir = nullptr;

Fixture& GetFixture() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    char dir[] = "/tmp/resyncwatch-api-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    f->dir = dir;
    store_dir = &f->dir;
    std::atexit([] { std::filesystem::remove_all(*store_dir); });
    auto store = Store::Open(f->dir + "/db", StoreOptions());
    if (!store.ok()) std::abort();
    f->store = std::move(*store);
    std::ifstream in(TestData() + "/query/phones.log");
    auto templates = TemplateSet::Defaults().value();
    ParseContext ctx;
    ctx.reference_us = 1'795'000'000'000'000;
    WriteBatch batch;
    for (std::string line; std::getline(in, line);) {
      batch.events.push_back(
          EventFromParsed(Parse(line, templates, ctx), ctx.reference_us, "10.1.0.21:514", true));
    }
    if (batch.events.empty() || !f->store->Write(batch).ok()) std::abort();
    f->rollup.Observe(batch.events);
    f->context.store = f->store.get();
    f->context.fleet_rollup = &f->rollup;
    return f;
  }();
  return *f;
}

void CheckJsonLines(std::string_view body) {
  simdjson::dom::parser parser;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    if (nl == std::string_view::npos) std::abort();  // every line ends with LF
    simdjson::dom::element e;
    if (parser.parse(body.data() + start, nl - start).get(e)) std::abort();
    start = nl + 1;
  }
}

void CheckError(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  std::string_view error;
  if (parser.parse(body.data(), body.size()).get(e)) std::abort();
  if (e["error"].get_string().get(error)) std::abort();
}

void Route(std::string_view target) {
  size_t q = target.find('?');
  ApiRequest request;
  request.path = httplib::detail::decode_url(std::string(target.substr(0, q)), false);
  if (q != std::string_view::npos) {
    httplib::Params params;
    httplib::detail::parse_query_text(std::string(target.substr(q + 1)), params);
    request.params.insert(params.begin(), params.end());
  }
  if (request.path == "/api") {
    if (DescribeApi().empty()) std::abort();
    return;
  }
  if (request.path.rfind("/api/", 0) != 0) {
    FindAsset(request.path);
    return;
  }
  ApiReply reply = HandleApi(GetFixture().context, request);
  if (reply.status == 200) {
    CheckJsonLines(reply.body);
  } else if (reply.status == 400 || reply.status == 404) {
    CheckError(reply.body);
  } else {
    std::abort();
  }
}

void WriteSeeds(const std::string& dir) {
  const char* kTargets[] = {
      "/api/fleet?since=2026-11-25T00:00:00Z&until=2026-11-26T00:00:00Z&by=model&top=5",
      "/api/devices?failing=1&model=CP-8851-3PCC",
      "/api/devices/00:12:34:ab:45:de/history?kind=resync_failure&utc=1",
      "/api/devices/0012.34ab.45de/history?since=-1h",
      "/api/schedule/fleet?now=2026-11-26T00:00:00Z&state=overdue&limit=3&gaps=1",
      "/api/schedule/00:12:34:ab:45:de?grace=60&tolerance-pct=10",
      "/api/overdue?deep-backoff=3600",
      "/api/alerts?active=1",
      "/api/grep?q=Resync%20failed&ignore-case=1&limit=10",
      "/api/stats",
      "/api/firmware?model=CP-8851-3PCC&not=sip88xx.12-0-1MPP.loads",
      "/api/recovery?server=10.23.45.67",
      "/api",
      "/app.js",
  };
  int n = 0;
  for (const char* t : kTargets) {
    std::ofstream(dir + "/seed-" + std::to_string(n++), std::ios::binary) << t;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("RESYNCWATCH_FUZZ_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Route({reinterpret_cast<const char*>(data), size});
  return 0;
}
