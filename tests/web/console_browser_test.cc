// The console in a real browser: Debian's headless Chromium loads pages from a live
// resyncwatchd fed with datagrams by the test, and the rendered DOM shows the figures the
// CLI prints at the same moment; datagrams carrying markup and script are shown as text
// and never run.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "e2e_programs.h"
#include "harness.h"

using namespace resyncwatch::testing;

namespace {

const std::string kChromium = "/usr/bin/chromium";
const std::string kImgPayload = "<img src=x onerror=\"document.title='pwned'\">";
const std::string kUrlPayload = "http://10.0.0.9/<script>document.title='pwned2'</script>.xml";
const std::string kModelPayload = "CP-8851-3PCC\"><svg/onload=document.title='pwned3'>";

// An RFC 3164 stamp a few minutes ago (UTC) plus s seconds: inside every default range.
std::string Stamp(int s) {
  const time_t t = time(nullptr) - 300 + s;
  tm parts;
  gmtime_r(&t, &parts);
  char text[32];
  strftime(text, sizeof text, "%b %e %H:%M:%S", &parts);
  return text;
}

std::vector<std::string> Datagrams() {
  std::vector<std::string> d;
  for (int i = 0; i < 6; ++i) {
    const std::string mac = "00:0e:08:10:20:3" + std::to_string(i);
    d.push_back("<134>" + Stamp(1) + " CP-7841-3PCC " + mac +
                " -- Requesting resync http://10.23.45.67:80/7841-3PCC.xml");
    d.push_back(i < 4 ? "<131>" + Stamp(2) + " CP-7841-3PCC " + mac +
                            " -- Resync failed: http_get failed"
                      : "<134>" + Stamp(2) + " CP-7841-3PCC " + mac +
                            " -- Successful resync http://10.23.45.67:80/7841-3PCC.xml");
  }
  d.push_back("<131>" + Stamp(3) +
              " CP-8851-3PCC 00:0e:08:66:66:66 -- Resync failed: " + kImgPayload);
  d.push_back("<134>" + Stamp(4) + " CP-8851-3PCC 00:0e:08:66:66:66 -- Requesting resync " +
              kUrlPayload);
  d.push_back("<134>" + Stamp(5) + " " + kModelPayload + " 00:0e:08:66:66:66 -- booting");
  return d;
}

// Phones failing again and again, the last failure a few minutes ago, each retrying as the
// default Resync_Error_Retry_Delay list says (30 s, 60 s, 120 s, ...): phone k failed k + 1
// times. As an archive for `resyncwatch import`.
std::string FailingFleetArchive() {
  std::string lines;
  for (int k = 0; k < 8; ++k) {
    char mac[32];
    std::snprintf(mac, sizeof mac, "00:0e:08:30:00:%02x", k);
    std::vector<int64_t> at = {0};
    for (int i = 1; i <= k; ++i) at.push_back(at.back() + (30 << (i - 1)));
    const int64_t end = time(nullptr) - 240 - k;
    for (int64_t t : at) {
      const int64_t when = end - at.back() + t;
      const std::pair<int, const char*> attempt[] = {
          {0, " -- Requesting resync http://10.23.45.67:80/7841-3PCC.xml"},
          {2, " -- Resync failed: http_get failed"}};
      for (const auto& [offset, message] : attempt) {
        const time_t tt = when + offset;
        tm parts;
        gmtime_r(&tt, &parts);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &parts);
        lines += std::string(stamp) + " 10.1.1." + std::to_string(k) + " CP-7841-3PCC " + mac +
                 message + "\n";
      }
    }
  }
  return lines;
}

// The store of `archive`, imported into dir before a daemon starts on it, so that the
// daemon's first precomputed minute holds it.
std::string ImportedStore(const TempDir& dir, const std::string& archive) {
  WriteFileText(dir.Join("fleet.log"), archive);
  std::string out;
  REQUIRE(RunCapture({kCli, "import", "--db", dir.Join("db"), dir.Join("fleet.log")}, &out) == 0);
  return dir.Join("db");
}

struct Console {
  TempDir dir;
  std::string db;
  std::unique_ptr<Daemon> daemon;
  int http = -1;

  // A daemon on a fresh store fed Datagrams(), or on an existing store fed nothing.
  explicit Console(std::string existing_db = "")
      : db(existing_db.empty() ? dir.Join("db") : existing_db) {
    REQUIRE(ProgramExists(kChromium));
    daemon = std::make_unique<Daemon>(
        kDaemon,
        std::vector<std::string>{"--db", db, "--listen", "udp://127.0.0.1:0", "--http-listen",
                                 "127.0.0.1:0", "--query-socket", "none"},
        dir.path());
    REQUIRE(daemon->WaitListening());
    http = daemon->Port("http");
    if (!existing_db.empty()) return;
    SendUdp(daemon->Port("udp"), Datagrams());
    REQUIRE(WaitUntil([&] {
      std::string out;
      Cli({"stats", "--json"}, &out);
      return out.find("\"stored_events\":15") != std::string::npos;
    }));
  }

  int Cli(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), kCli);
    args.push_back("--db");
    args.push_back(db);
    return RunCapture(args, out);
  }

  // The DOM of path once the page's script has rendered it (body data-ready="1").
  std::string Dom(const std::string& path) {
    std::string dom;
    WaitUntil(
        [&] {
          // Chromium's own complaints (no D-Bus in a container) are not the test's output.
          RunCapture({"/bin/sh", "-c",
                      kChromium + " --headless --no-sandbox --disable-gpu --no-first-run" +
                          " --user-data-dir=" + dir.Join("chromium") +
                          " --virtual-time-budget=10000 --dump-dom 'http://127.0.0.1:" +
                          std::to_string(http) + path + "' 2>/dev/null"},
                     &dom);
          return dom.find("data-ready=\"1\"") != std::string::npos;
        },
        std::chrono::seconds(60));
    return dom;
  }
};

std::string Field(const std::string& json, const std::string& key) {
  std::smatch m;
  std::regex re("\"" + key + "\":([0-9]+)");
  return std::regex_search(json, m, re) ? m[1].str() : "";
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Nothing from a datagram became an element or ran.
void CheckInert(const std::string& dom, const std::string& title) {
  CHECK(dom.find("<title>" + title + "</title>") != std::string::npos);
  CHECK(dom.find("pwned</title>") == std::string::npos);
  CHECK(dom.find("<img") == std::string::npos);
  CHECK(Count(dom, "<svg") == Count(dom, "<svg class=\"chart\""));
  // No element got an event handler attribute (the payloads only appear as &lt;...&gt;, in
  // text or inside an attribute's quoted value, such as a cell's title).
  const std::string unquoted = std::regex_replace(dom, std::regex("\"[^\"]*\""), "\"\"");
  CHECK_FALSE(std::regex_search(unquoted, std::regex("<[a-zA-Z][^>]*[\\s/]on[a-z]+=")));
  CHECK(Count(dom, "<script") == 1);  // app.js
  CHECK(dom.find("<script src=\"/app.js\" defer=\"\"></script>") != std::string::npos);
}

}  // namespace

TEST_CASE("The fleet wall in Chromium shows the CLI's attempt count and top error") {
  Console c;
  std::string fleet;
  REQUIRE(c.Cli({"fleet", "--json", "--since", "1h"}, &fleet) == 0);
  const std::string attempts = Field(fleet, "attempts");
  const std::string failures = Field(fleet, "failures");
  REQUIRE(attempts == "7");
  std::string dom = c.Dom("/");
  CHECK(dom.find("Attempts (1 h)</div><div class=\"value\" title=\"" + attempts + "\">" + attempts +
                 "</div>") != std::string::npos);
  CHECK(dom.find("Failures (1 h)</div><div class=\"value\" title=\"" + failures + "\">" + failures +
                 "</div>") != std::string::npos);
  // The first row of the top errors is the CLI's first top error.
  CHECK(fleet.find("\"top_errors\":[{\"error\":\"http_get failed\",\"failures\":4}") !=
        std::string::npos);
  CHECK(dom.find("<table id=\"errors\"><thead><tr><th>error</th><th class=\"num\">failures</th>"
                 "</tr></thead><tbody><tr><td title=\"http_get failed\">http_get failed</td>"
                 "<td class=\"num\" title=\"4\">4</td></tr>") != std::string::npos);
  CheckInert(dom, "resyncwatch: fleet wall");
  // The payload is on the wall, as text.
  CHECK(dom.find("&lt;img src=x onerror=\"document.title='pwned'\"&gt;") != std::string::npos);
}

TEST_CASE("A phone page with markup in its error, URL and model renders it as inert text") {
  Console c;
  for (const char* q : {"00:0e:08:66:66:66", "000E.0866.6666"}) {
    std::string dom = c.Dom(std::string("/phone.html?q=") + q);
    CAPTURE(q);
    CheckInert(dom, "resyncwatch: phone");
    CHECK(dom.find("<dd>000e08666666</dd>") != std::string::npos);
    CHECK(dom.find("&lt;img src=x onerror=") != std::string::npos);
    CHECK(dom.find("&lt;script&gt;document.title='pwned2'&lt;/script&gt;") != std::string::npos);
  }
}

TEST_CASE("The lists and the collector page render without running datagram text") {
  Console c;
  std::string devices = c.Dom("/lists.html?list=devices");
  CheckInert(devices, "resyncwatch: devices");
  CHECK(devices.find("7 of 7 rows") != std::string::npos);
  std::string grep = c.Dom("/lists.html?list=grep&q=pwned");
  CheckInert(grep, "resyncwatch: grep");
  CHECK(grep.find("&lt;img src=x") != std::string::npos);
  std::string health = c.Dom("/health.html");
  CheckInert(health, "resyncwatch: collector health");
  CHECK(health.find("<td title=\"stored_events\">stored_events</td><td class=\"num\" "
                    "title=\"15\">15</td>") != std::string::npos);
}

TEST_CASE("The fleet wall's recovery forecast shows the CLI's recovery summary for its minute") {
  // Stored before the daemon starts, so that its first precomputed minute holds them.
  TempDir dir;
  Console c(ImportedStore(dir, FailingFleetArchive()));
  const std::string dom = c.Dom("/");
  // The panel names the precomputed minute it shows; the CLI is asked for the same one.
  std::smatch m;
  REQUIRE(std::regex_search(
      dom, m,
      std::regex("id=\"recovery-title\">Recovery forecast \\(as of <time datetime=\"([^\"]+)\"")));
  const std::string now = m[1].str();
  std::string cli;
  REQUIRE(c.Cli({"recovery", "--json", "--now", now}, &cli) == 0);
  const std::string summary = cli.substr(cli.rfind("{\"type\":\"summary\""));
  REQUIRE(Field(summary, "phones") == "8");
  CHECK(Field(summary, "within_10m") != Field(summary, "within_24h"));
  const std::pair<const char*, const char*> rows[] = {
      {"failing now", "phones"},     {"within 10 min", "within_10m"},
      {"within 1 h", "within_1h"},   {"within 6 h", "within_6h"},
      {"within 24 h", "within_24h"}, {"never \\(retries off\\)", "never"}};
  for (const auto& [label, key] : rows) {
    CAPTURE(label);
    std::smatch cell;
    REQUIRE(std::regex_search(dom, cell,
                              std::regex(std::string("<td[^>]*>(⚠ )?") + label +
                                         "</td><td class=\"num\"[^>]*>([0-9]+)</td>")));
    CHECK(cell[2].str() == Field(summary, key));
  }
  // The phones that come back last: the CLI's first phone is the panel's first row.
  REQUIRE(
      std::regex_search(cli, m, std::regex("^\\{\"type\":\"phone\",\"mac\":\"([0-9a-f]{12})\"")));
  const std::string first_mac = m[1].str();
  REQUIRE(std::regex_search(
      dom, m,
      std::regex(
          "<table id=\"recovery-worst\">.*?<tbody><tr[^>]*><td[^>]*><a[^>]*>([0-9a-f]{12})</a>")));
  CHECK(m[1].str() == first_mac);
  CHECK(dom.find("href=\"/lists.html?list=recovery\"") != std::string::npos);
  CheckInert(dom, "resyncwatch: fleet wall");
}

TEST_CASE("The recovery list shows every failing phone with the CLI's summary under it") {
  // Stored before the daemon starts, so that its first analysed minute holds them.
  TempDir dir;
  Console c(ImportedStore(dir, FailingFleetArchive()));
  const std::string dom = c.Dom("/lists.html?list=recovery");
  CheckInert(dom, "resyncwatch: recovery");
  CHECK(dom.find("8 of 8 rows (8 phones failing; retried by themselves within 10 min: ") !=
        std::string::npos);
  CHECK(dom.find("; as of ") != std::string::npos);
  CHECK(dom.find("<th>force_url</th>") != std::string::npos);
}

TEST_CASE("A list of more phones than a page holds shows 2,000 rows and says the CSV has all") {
  // 2,100 phones, one request each, imported before the daemon starts.
  TempDir dir;
  std::string lines;
  for (int i = 0; i < 2100; ++i) {
    char line[160];
    std::snprintf(line, sizeof line,
                  "Dec  6 10:%02d:%02d 10.1.1.1 CP-7841-3PCC 00:0e:08:40:%02x:%02x -- Requesting "
                  "resync http://10.23.45.67:80/7841-3PCC.xml\n",
                  i / 60 % 60, i % 60, i / 256, i % 256);
    lines += line;
  }
  Console c(ImportedStore(dir, lines));
  const std::string dom = c.Dom("/lists.html?list=devices");
  CHECK(dom.find("2100 of 2100 rows; the first 2000 shown: filter or sort to see others, the "
                 "CSV has all") != std::string::npos);
  const size_t body = dom.find("<tbody>");
  REQUIRE(body != std::string::npos);
  CHECK(Count(dom.substr(body, dom.find("</tbody>", body) - body), "<tr>") == 2000);
}

TEST_CASE("The schedule state lists come from the minute the daemon analysed and say so") {
  Console c;
  std::string dom;
  // The daemon's first analysis runs at start; until it is ready the list is analysed afresh.
  REQUIRE(WaitUntil(
      [&] {
        dom = c.Dom("/lists.html?list=gave_up");
        return dom.find("; as of ") != std::string::npos;
      },
      std::chrono::seconds(60)));
  CheckInert(dom, "resyncwatch: gave_up");
  CHECK(std::regex_search(dom, std::regex("id=\"count\"[^>]*>[0-9]+ of [0-9]+ rows \\(.*as of "
                                          "[0-9]{2}:[0-9]{2}\\)</span>")));
}
