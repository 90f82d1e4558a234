// The wall in kiosk mode fits a wall screen: Debian's headless Chromium shows /?kiosk=1 of a
// live resyncwatchd at 1920x1080 and at 1280x720, and the test measures the rendered page
// through the DevTools protocol: the document scrolls in neither direction, no panel clips
// its content and no element sticks out of its panel; long lists are cut to what fits (and
// say so), a cell cut short carries its full text as its title, and no MAC is cut.
#include <catch2/catch.hpp>
#include <ctime>
#include <regex>
#include <string>
#include <vector>

#include "devtools.h"
#include "e2e_programs.h"
#include "harness.h"

using namespace resyncwatch::testing;

namespace {

const std::string kChromium = "/usr/bin/chromium";

// A busy fleet: more servers, models and errors than any panel holds, with long texts. As
// an archive a few minutes old, imported before the daemon starts, so that the daemon's
// first precomputed minute (the schedule and recovery panels) holds it too.
std::string BusyFleetArchive() {
  const char* models[] = {"CP-7841-3PCC", "CP-8851-3PCC", "CP-8832-3PCC", "CP-6841-3PCC",
                          "CP-8845-3PCC", "CP-7821-3PCC", "CP-8865-3PCC", "CP-6871-3PCC",
                          "CP-8811-3PCC", "CP-7861-3PCC", "ATA192-3PCC",  "SPA2102"};
  const time_t start = time(nullptr) - 240;
  auto stamp = [&](int offset) {
    const time_t t = start + offset;
    tm parts;
    gmtime_r(&t, &parts);
    char text[32];
    strftime(text, sizeof text, "%b %e %H:%M:%S", &parts);
    return std::string(text) + " 10.1.2.3 ";
  };
  std::string lines;
  for (int i = 0; i < 48; ++i) {
    char mac[32];
    std::snprintf(mac, sizeof mac, "00:0e:08:20:%02x:%02x", i / 16, i % 16);
    const std::string model = models[i % 12];
    const std::string url = "http://provisioning-" + std::to_string(i % 14) +
                            ".a-rather-long-domain-name.example.net:8080/cisco/" + model +
                            "/profiles/$MA.xml";
    lines += stamp(i) + model + " " + mac + " -- Requesting resync " + url + "\n";
    lines += stamp(i + 1) + model + " " + mac +
             (i % 3 == 0 ? " -- Successful resync " + url
                         : " -- Resync failed: http_get failed: a long reason number " +
                               std::to_string(i % 16) +
                               " that no wall screen has room for, however wide it is") +
             "\n";
  }
  return lines;
}

// What the page measures of itself, as "key=value" words (no quotes, no backslashes).
const char* kMeasure = R"JS((() => {
  const d = document.documentElement;
  const out = ['vw=' + innerWidth, 'vh=' + innerHeight, 'sw=' + d.scrollWidth,
               'sh=' + d.scrollHeight];
  const bad = [];
  const name = (p) => ((p.querySelector('h2') || p).textContent || p.id).slice(0, 24)
                          .replace(/[^A-Za-z0-9]+/g, '_');
  const boxes = [...document.querySelectorAll('main.wall > section')].filter((p) => !p.hidden);
  for (const p of boxes) {
    const r = p.getBoundingClientRect();
    if (r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) bad.push(name(p) + ':outside');
    if (p.scrollHeight > p.clientHeight + 1 || p.scrollWidth > p.clientWidth + 1) {
      bad.push(name(p) + ':clipped');
    }
    for (const e of p.querySelectorAll('*')) {
      const q = e.getBoundingClientRect();
      if (q.width === 0 && q.height === 0) continue;
      if (q.left < r.left - 0.5 || q.top < r.top - 0.5 || q.right > r.right + 0.5 ||
          q.bottom > r.bottom + 0.5) {
        bad.push(name(p) + ':' + e.tagName);
        break;
      }
    }
  }
  const cells = [...document.querySelectorAll('main.wall td, main.wall .tile > div')];
  const cut = cells.filter((c) => c.scrollWidth > c.clientWidth + 1);
  out.push('panels=' + boxes.length, 'cut=' + cut.length,
           'untitled=' + cut.filter((c) => c.title !== c.textContent).length,
           'macs=' + cells.filter((c) => /^[0-9a-f]{12}$/.test(c.textContent)).length,
           'maccut=' + cut.filter((c) => /[0-9a-f]{12}/.test(c.textContent)).length,
           'more=' + document.querySelectorAll('main.wall tr.more').length,
           'bad=' + (bad.join(',') || 'none'));
  return out.join(' ');
})())JS";

int Number(const std::string& words, const std::string& key) {
  std::smatch m;
  REQUIRE(std::regex_search(words, m, std::regex("\\b" + key + "=([0-9]+)")));
  return std::stoi(m[1].str());
}

}  // namespace

TEST_CASE("Kiosk wall fits 1920x1080 and 1280x720 without scrolling or clipped panels") {
  REQUIRE(ProgramExists(kChromium));
  TempDir dir;
  WriteFileText(dir.Join("fleet.log"), BusyFleetArchive());
  std::string out;
  REQUIRE(RunCapture({kCli, "import", "--db", dir.Join("db"), dir.Join("fleet.log")}, &out) == 0);
  Daemon daemon{kDaemon,
                {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", "--http-listen",
                 "127.0.0.1:0", "--query-socket", "none"},
                dir.path()};
  REQUIRE(daemon.WaitListening());
  const std::string url = "http://127.0.0.1:" + std::to_string(daemon.Port("http")) + "/?kiosk=1";
  HeadlessPage page(kChromium, dir.path());
  std::string error;
  const bool connected = page.Connect(&error);
  INFO(error);
  REQUIRE(connected);
  for (auto [w, h] : {std::pair{1920, 1080}, std::pair{1280, 720}}) {
    CAPTURE(w, h);
    REQUIRE(page.SetViewport(w, h, &error));
    REQUIRE(page.Navigate(url, &error));
    REQUIRE(WaitUntil(
        [&] { return page.Evaluate("document.body.dataset.ready || 'no'", &error) == "1"; },
        std::chrono::seconds(60)));
    const std::string words = page.Evaluate(kMeasure, &error);
    INFO(words);
    REQUIRE(!words.empty());
    CHECK(Number(words, "vw") == w);
    CHECK(Number(words, "vh") == h);
    CHECK(Number(words, "sw") <= w);
    CHECK(Number(words, "sh") <= h);
    CHECK(words.find("bad=none") != std::string::npos);
    // The fleet is bigger than the screen: lists were cut (and say so), long cells end in
    // an ellipsis and keep their text as a title.
    CHECK(Number(words, "more") > 0);
    CHECK(Number(words, "cut") > 0);
    CHECK(Number(words, "untitled") == 0);
    CHECK(Number(words, "panels") >= 10);
    // A MAC is what the NOC reads off the wall to find the phone: never cut short (the
    // phones of one fleet share their first half, so a cut MAC names none of them).
    CHECK(Number(words, "macs") > 0);
    CHECK(Number(words, "maccut") == 0);
  }
}
