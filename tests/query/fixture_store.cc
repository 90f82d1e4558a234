#include "tests/query/fixture_store.h"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include "parsers/parsers.h"

namespace resyncwatch::testing {

Event MakeEvent(EventKind kind, std::string_view mac_text, std::string_view model, int64_t t,
                std::string_view url_or_error, std::string_view source) {
  Event e;
  e.event_time_us = t;
  e.received_us = t + 1500;
  e.kind = kind;
  e.format = SyslogFormat::kRfc3164;
  e.facility = 16;
  e.severity = 6;
  e.mac = mac_text.empty() ? 0 : ParseMac(mac_text).value();
  e.model = model;
  e.identifier = e.mac ? FormatMac(e.mac) : "";
  e.source = source;
  std::string head = std::string(model) + " " + std::string(mac_text) + " -- ";
  auto set_url = [&](std::string_view url) {
    e.url = url;
    size_t colon = url.find("://");
    e.scheme = url.substr(0, colon);
    std::string_view rest = url.substr(colon + 3);
    size_t slash = rest.find('/');
    std::string_view hostport = rest.substr(0, slash);
    e.path = slash == std::string_view::npos ? "" : rest.substr(slash);
    size_t pc = hostport.rfind(':');
    if (pc != std::string_view::npos) {
      e.server = hostport.substr(0, pc);
      e.port = std::stoi(std::string(hostport.substr(pc + 1)));
    } else {
      e.server = hostport;
    }
  };
  switch (kind) {
    case EventKind::kResyncRequest:
      set_url(url_or_error);
      e.message = head + "Requesting resync " + std::string(url_or_error);
      break;
    case EventKind::kResyncSuccess:
      set_url(url_or_error);
      e.message = head + "Successful resync " + std::string(url_or_error);
      break;
    case EventKind::kResyncFailure:
      e.error = url_or_error;
      e.message = head + "Resync failed: " + std::string(url_or_error);
      break;
    case EventKind::kUpgradeRequest:
      set_url(url_or_error);
      e.message = head + "Requesting upgrade " + std::string(url_or_error);
      break;
    case EventKind::kUpgradeFailure:
      e.error = url_or_error;
      e.message = head + "Upgrade failed: " + std::string(url_or_error);
      break;
    default:
      e.message = std::string(url_or_error);
      break;
  }
  return e;
}

void WriteFixtureFleet(const std::string& dir) {
  auto store = Store::Open(dir, {});
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  const char* a = "00:12:34:ab:45:de";
  const char* b = "00:0e:08:ab:cd:ef";
  const char* c = "00:0e:08:aa:bb:cc";
  const char* a_prof = "http://10.23.45.67:80/8851-3PCC.xml";
  const char* a_cfg = "http://10.23.45.67:80/cisco/001234ab45de.cfg";
  const char* b_url = "tftp://192.168.1.200/basic.txt";
  const char* c_fw = "tftp://10.2.3.200:69/spa2102.bin";
  WriteBatch batch;
  auto& ev = batch.events;
  ev.push_back(
      MakeEvent(EventKind::kResyncRequest, a, "CP-8851-3PCC", kT0, a_prof, "10.1.0.11:514"));
  ev.push_back(MakeEvent(EventKind::kResyncSuccess, a, "CP-8851-3PCC", kT0 + 1200000, a_prof,
                         "10.1.0.11:514"));
  ev.push_back(MakeEvent(EventKind::kResyncRequest, a, "CP-8851-3PCC", kT0 + 2 * kSec, a_cfg,
                         "10.1.0.11:514"));
  ev.push_back(MakeEvent(EventKind::kResyncSuccess, a, "CP-8851-3PCC", kT0 + 2500000, a_cfg,
                         "10.1.0.11:514"));
  ev.push_back(MakeEvent(EventKind::kResyncRequest, b, "CP-6841-3PCC", kT0 + 10 * kSec, b_url,
                         "10.1.0.12:514"));
  ev.push_back(
      MakeEvent(EventKind::kUpgradeRequest, c, "SPA2102", kT0 + 20 * kSec, c_fw, "10.1.0.13:514"));
  Event up =
      MakeEvent(EventKind::kUpgradeSuccess, c, "SPA2102", kT0 + 25 * kSec, c_fw, "10.1.0.13:514");
  up.kind = EventKind::kUpgradeSuccess;
  up.error = "5.1.10";
  up.message = std::string("SPA2102 ") + c + " -- Successful upgrade " + c_fw + " -- 5.1.10";
  ev.push_back(up);
  ev.push_back(MakeEvent(EventKind::kResyncFailure, c, "SPA2102", kT0 + 30 * kSec, "corrupt file",
                         "10.1.0.13:514"));
  Event stray = MakeEvent(EventKind::kUnknown, "", "", kT0 + 40 * kSec, "kernel: eth0 link up",
                          "10.1.0.99:514");
  ev.push_back(stray);
  ev.push_back(MakeEvent(EventKind::kResyncRequest, b, "CP-6841-3PCC", kT0 + 1000 * kSec, b_url,
                         "10.1.0.12:514"));
  ev.push_back(MakeEvent(EventKind::kResyncSuccess, b, "CP-6841-3PCC", kT0 + 1000 * kSec + 400000,
                         b_url, "10.1.0.12:514"));
  ev.push_back(MakeEvent(EventKind::kResyncRequest, a, "CP-8851-3PCC", kT0 + 3600 * kSec, a_prof,
                         "10.1.0.11:514"));
  ev.push_back(MakeEvent(EventKind::kResyncFailure, a, "CP-8851-3PCC", kT0 + 3601 * kSec,
                         "http_get failed", "10.1.0.11:514"));
  Event debug =
      MakeEvent(EventKind::kDebug, a, "", kT0 + 3605 * kSec,
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.1.0.11:5060\r\nCSeq: 102 REGISTER\r\n",
                "10.1.0.11:514");
  ev.push_back(debug);
  // The serial number arrives with the first event of A ($SN identifier form).
  ev[0].sn = "FCH2251A1B2";
  batch.counter_deltas = {
      {"received_datagrams", 15}, {"received_bytes", 1234}, {"kernel_drops", 0}};
  auto written = (*store)->Write(batch);
  if (!written.ok()) throw std::runtime_error(written.status().ToString());
  Status s = (*store)->Flush();
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

}  // namespace resyncwatch::testing
