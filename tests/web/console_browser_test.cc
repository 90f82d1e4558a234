// The console in a real browser: Debian's headless Chromium loads pages from a live
// resyncwatchd fed with datagrams by the test, and the rendered DOM shows the figures the
// CLI prints at the same moment; datagrams carrying markup and script are shown as text
// and never run.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
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

std::vector<std::string> Datagrams() {
  std::vector<std::string> d;
  for (int i = 0; i < 6; ++i) {
    const std::string mac = "00:0e:08:10:20:3" + std::to_string(i);
    d.push_back("<134>Nov 25 08:00:01 CP-7841-3PCC " + mac +
                " -- Requesting resync http://10.23.45.67:80/7841-3PCC.xml");
    d.push_back(i < 4 ? "<131>Nov 25 08:00:02 CP-7841-3PCC " + mac +
                            " -- Resync failed: http_get failed"
                      : "<134>Nov 25 08:00:02 CP-7841-3PCC " + mac +
                            " -- Successful resync http://10.23.45.67:80/7841-3PCC.xml");
  }
  d.push_back("<131>Nov 25 08:00:03 CP-8851-3PCC 00:0e:08:66:66:66 -- Resync failed: " +
              kImgPayload);
  d.push_back("<134>Nov 25 08:00:04 CP-8851-3PCC 00:0e:08:66:66:66 -- Requesting resync " +
              kUrlPayload);
  d.push_back("<134>Nov 25 08:00:05 " + kModelPayload + " 00:0e:08:66:66:66 -- booting");
  return d;
}

struct Console {
  TempDir dir;
  std::string db = dir.Join("db");
  Daemon daemon{kDaemon,
                {"--db", db, "--listen", "udp://127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                 "--query-socket", "none"},
                dir.path()};
  int http = -1;

  Console() {
    REQUIRE(ProgramExists(kChromium));
    REQUIRE(daemon.WaitListening());
    http = daemon.Port("http");
    SendUdp(daemon.Port("udp"), Datagrams());
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
  // No element got an event handler attribute (the payloads only appear as &lt;...&gt;).
  CHECK_FALSE(std::regex_search(dom, std::regex("<[a-zA-Z][^>]*[\\s/]on[a-z]+=")));
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
  CHECK(dom.find("Attempts (1 h)</div><div class=\"value\">" + attempts + "</div>") !=
        std::string::npos);
  CHECK(dom.find("Failures (1 h)</div><div class=\"value\">" + failures + "</div>") !=
        std::string::npos);
  // The first row of the top errors is the CLI's first top error.
  CHECK(fleet.find("\"top_errors\":[{\"error\":\"http_get failed\",\"failures\":4}") !=
        std::string::npos);
  CHECK(dom.find("<table id=\"errors\"><thead><tr><th>error</th><th>failures</th></tr></thead>"
                 "<tbody><tr><td>http_get failed</td><td class=\"num\">4</td></tr>") !=
        std::string::npos);
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
  CHECK(health.find("<td>stored_events</td><td class=\"num\">15</td>") != std::string::npos);
}
