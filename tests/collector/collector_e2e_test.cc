// End-to-end tests of resyncwatchd: the real daemon on ephemeral loopback ports with a
// temporary store, fed by the real logger(1) and a real rsyslogd relay; what arrived is
// read back through the Store API after a clean SIGTERM.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "e2e_programs.h"
#include "harness.h"
#include "store/store.h"
#include "stored.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

const std::string kRsyslogd = "/usr/sbin/rsyslogd";

std::vector<RawDatagram> AllRaw(const std::string& db) {
  std::vector<RawDatagram> out;
  auto store = Store::Open(db, StoreOptions{});
  REQUIRE(store.ok());
  REQUIRE((*store)
              ->ScanRaw(TimeRange{},
                        [&](const RawDatagram& r) {
                          out.push_back(r);
                          return true;
                        })
              .ok());
  return out;
}

const Event* FindByMessage(const std::vector<Event>& events, const std::string& needle) {
  for (const Event& e : events) {
    if (e.message.find(needle) != std::string::npos) return &e;
  }
  return nullptr;
}

int64_t NowUs() { return SystemClock::Instance().NowMicros(); }

}  // namespace

TEST_CASE("logger --udp --rfc3164 resync request is stored with its device, URL and times") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  const int port = daemon.Port("udp");
  REQUIRE(port > 0);
  const int64_t before = NowUs();
  REQUIRE(RunProgram({kLogger, "--udp", "--rfc3164", "-n", "127.0.0.1", "-P", std::to_string(port),
                      "-t", "phone", "-p", "local0.info",
                      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync "
                      "http://10.23.45.67:80/8851-3PCC.xml"}) == 0);
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  const int64_t after = NowUs();

  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 1);
  const Event& e = events[0];
  CHECK(e.kind == EventKind::kResyncRequest);
  CHECK(e.format == SyslogFormat::kRfc3164);
  CHECK(e.mac == 0x001234ab45deULL);
  CHECK(e.model == "CP-8851-3PCC");
  CHECK(e.server == "10.23.45.67");
  CHECK(e.port == 80);
  CHECK(e.path == "/8851-3PCC.xml");
  CHECK(e.facility == 16);
  CHECK(e.severity == 6);
  CHECK(e.source.rfind("127.0.0.1:", 0) == 0);
  CHECK(e.received_us >= before);
  CHECK(e.received_us <= after);
  CHECK(e.event_time_us == e.received_us);
  CHECK(e.message_time_us.has_value());

  // The same, as support sees it through the query CLI.
  std::string json;
  REQUIRE(RunCapture({kCli, "history", "00:12:34:ab:45:de", "--db", dir.Join("db"), "--json"},
                     &json) == 0);
  CHECK(json.find("\"kind\":\"resync_request\"") != std::string::npos);
  CHECK(json.find("\"mac\":\"001234ab45de\"") != std::string::npos);
  CHECK(json.find("\"server\":\"10.23.45.67\"") != std::string::npos);
  CHECK(json.find("\"model\":\"CP-8851-3PCC\"") != std::string::npos);
}

TEST_CASE("logger --udp --rfc5424 resync failure is stored with its error text") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  REQUIRE(RunProgram({kLogger, "--udp", "--rfc5424", "-n", "127.0.0.1", "-P",
                      std::to_string(daemon.Port("udp")), "-t", "phone",
                      "CP-7841-3PCC 00:0e:08:12:34:56 -- Resync failed: http_get failed"}) == 0);
  // The CLI reads the store of the running collector.
  std::string history;
  CHECK(WaitUntil([&] {
    return RunCapture({kCli, "history", "000e08123456", "--db", dir.Join("db"), "--json"},
                      &history) == 0 &&
           history.find("\"error\":\"http_get failed\"") != std::string::npos;
  }));
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  std::string stats;
  REQUIRE(RunCapture({kCli, "stats", "--db", dir.Join("db"), "--json"}, &stats) == 0);
  CHECK(stats.find("\"received_datagrams\":1") != std::string::npos);
  CHECK(stats.find("\"stored_events\":1") != std::string::npos);

  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kResyncFailure);
  CHECK(events[0].format == SyslogFormat::kRfc5424);
  CHECK(events[0].mac == 0x000e08123456ULL);
  CHECK(events[0].error == "http_get failed");
  CHECK(events[0].app == "phone");
  auto counters = StoredCounters(dir.Join("db"));
  CHECK(counters["received_datagrams"] == 1);
  CHECK(counters["stored_events"] == 1);
  CHECK(counters["events_resync_failure"] == 1);
}

TEST_CASE("logger --tcp --octet-count frames are each stored as one event") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "tcp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string lines =
      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.23.45.67:80/a.xml\n"
      "CP-8851-3PCC 00:12:34:ab:45:de -- Successful resync http://10.23.45.67:80/a.xml\n"
      "SPA2102 00:0e:08:aa:bb:cc -- Successful upgrade tftp://10.2.3.200:69/spa2102.bin -- "
      "5.1.10\n";
  WriteFileText(dir.Join("lines.txt"), lines);
  REQUIRE(RunProgram({kLogger, "--tcp", "--octet-count", "--rfc5424", "-n", "127.0.0.1", "-P",
                      std::to_string(daemon.Port("tcp")), "-t", "relay", "-f",
                      dir.Join("lines.txt")}) == 0);
  // logger has written and closed; frames still in the kernel are read on the way out.
  REQUIRE(daemon.Stop(SIGTERM) == 0);

  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 3);
  std::map<EventKind, int> kinds;
  for (const Event& e : events) ++kinds[e.kind];
  CHECK(kinds[EventKind::kResyncRequest] == 1);
  CHECK(kinds[EventKind::kResyncSuccess] == 1);
  CHECK(kinds[EventKind::kUpgradeSuccess] == 1);
  const Event* upgrade = FindByMessage(events, "Successful upgrade");
  REQUIRE(upgrade != nullptr);
  CHECK(upgrade->mac == 0x000e08aabbccULL);
  CHECK(upgrade->error == "5.1.10");
}

TEST_CASE("an rsyslog relay forwarding over UDP and TCP delivers every message") {
  if (!ProgramExists(kRsyslogd)) {
    WARN("rsyslogd not installed: relay test skipped");
    return;
  }
  TempDir dir;
  Daemon daemon(kDaemon,
                {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", "--listen",
                 "tcp://127.0.0.1:0", "--summary-interval", "1s"},
                dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string input = dir.Join("phones.log");
  WriteFileText(input, "");
  WriteFileText(dir.Join("rsyslog.conf"),
                "global(workDirectory=\"" + dir.path() +
                    "\")\n"
                    "module(load=\"imfile\" mode=\"polling\" PollingInterval=\"1\")\n"
                    "input(type=\"imfile\" File=\"" +
                    input +
                    "\" Tag=\"phone:\" Facility=\"local0\" Severity=\"info\")\n"
                    "action(type=\"omfwd\" target=\"127.0.0.1\" protocol=\"udp\" port=\"" +
                    std::to_string(daemon.Port("udp")) +
                    "\")\n"
                    "action(type=\"omfwd\" target=\"127.0.0.1\" protocol=\"tcp\" "
                    "TCP_Framing=\"octet-counted\" port=\"" +
                    std::to_string(daemon.Port("tcp")) + "\")\n");
  Daemon relay(kRsyslogd, {"-f", dir.Join("rsyslog.conf"), "-i", dir.Join("rsyslog.pid"), "-n"},
               dir.path(), /*with_port_file=*/false);
  WriteFileText(
      input,
      "CP-6841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://192.168.1.200/basic.txt\n"
      "SPA-2000 00:0e:08:aa:a0:10 -- Resync failed: corrupt file\n"
      "CP-8845-3PCC 00:0e:08:ab:cd:01 -- Requesting upgrade "
      "http://[2001:db8::5]:80/sip88xx.loads\n");
  // 3 lines, each forwarded over both transports.
  const bool arrived =
      WaitUntil([&] { return daemon.LastReceivedSummary() >= 6; }, std::chrono::seconds(20));
  INFO("collector: " << daemon.Stderr() << "\nrsyslogd: " << relay.Stderr());
  REQUIRE(arrived);
  relay.Stop(SIGTERM);
  REQUIRE(daemon.Stop(SIGTERM) == 0);

  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 6);
  int relayed_as_rfc3164 = 0;
  std::map<MacAddress, int> by_mac;
  for (const Event& e : events) ++by_mac[e.mac];
  CHECK(by_mac[0x000e08abcdefULL] == 2);
  CHECK(by_mac[0x000e08aaa010ULL] == 2);
  CHECK(by_mac[0x000e08abcd01ULL] == 2);
  const Event* failure = FindByMessage(events, "corrupt file");
  REQUIRE(failure != nullptr);
  CHECK(failure->kind == EventKind::kResyncFailure);
  CHECK(failure->error == "corrupt file");
  for (const Event& e : events) {
    if (e.kind == EventKind::kUpgradeRequest) CHECK(e.server == "2001:db8::5");
    relayed_as_rfc3164 += e.format == SyslogFormat::kRfc3164 ? 1 : 0;
  }
  CHECK(relayed_as_rfc3164 == 6);
}

TEST_CASE("SIGTERM then restart loses nothing") {
  TempDir dir;
  auto payloads = [](int from, int n) {
    std::vector<std::string> out;
    for (int i = from; i < from + n; ++i) {
      char mac[18];
      std::snprintf(mac, sizeof(mac), "00:0e:08:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
      out.push_back("<134>Nov 25 08:00:01 CP-7841-3PCC " + std::string(mac) +
                    " -- Resync failed: http_get failed");
    }
    return out;
  };
  for (int round = 0; round < 2; ++round) {
    Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"}, dir.path());
    REQUIRE(daemon.WaitListening());
    SendUdp(daemon.Port("udp"), payloads(round * 500, 500));
    // No wait: what the kernel already queued must be read and stored on the way out.
    REQUIRE(daemon.Stop(SIGTERM) == 0);
  }
  auto events = StoredEvents(dir.Join("db"));
  CHECK(events.size() == 1000);
  std::map<MacAddress, int> macs;
  for (const Event& e : events) ++macs[e.mac];
  CHECK(macs.size() == 1000);
  auto counters = StoredCounters(dir.Join("db"));
  CHECK(counters["received_datagrams"] == 1000);
  CHECK(counters["stored_events"] == 1000);
  CHECK(counters["queue_drops"] == 0);
}

TEST_CASE("a datagram that parses to nothing is stored raw with its reason") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string junk("phone\0crash", 11);
  SendUdp(daemon.Port("udp"), {junk});
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  auto raw = AllRaw(dir.Join("db"));
  REQUIRE(raw.size() == 1);
  CHECK(raw[0].bytes == junk);
  CHECK(!raw[0].reason.empty());
  CHECK(raw[0].source.rfind("127.0.0.1:", 0) == 0);
  CHECK(StoredCounters(dir.Join("db"))["stored_raw"] == 1);
}

TEST_CASE("a raw datagram is stored without the credentials and keys it carried") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  SendUdp(daemon.Port("udp"),
          {"<999>profile [--key MySecret] http://admin:hunter2@10.1.1.1/a.cfg"});
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  auto raw = AllRaw(dir.Join("db"));
  REQUIRE(raw.size() == 1);
  CHECK(raw[0].bytes.find("MySecret") == std::string::npos);
  CHECK(raw[0].bytes.find("hunter2") == std::string::npos);
  CHECK(raw[0].bytes.find("10.1.1.1/a.cfg") != std::string::npos);
}

TEST_CASE("a debug line without identifier is attributed to the phone at the same address") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  SendUdp(daemon.Port("udp"),
          {"<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync "
           "http://10.23.45.67:80/8851-3PCC.xml",
           "<135>Nov 25 08:00:02 SIP/2.0 200 OK"});
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 2);
  const Event* debug = FindByMessage(events, "SIP/2.0 200 OK");
  REQUIRE(debug != nullptr);
  CHECK(debug->mac == 0x001234ab45deULL);
}

TEST_CASE("a TCP frame over --max-frame is counted as tcp_oversize and the next one kept") {
  TempDir dir;
  Daemon daemon(kDaemon,
                {"--db", dir.Join("db"), "--listen", "tcp://127.0.0.1:0", "--max-frame", "1KiB"},
                dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string big = "<134>Nov 25 08:00:01 " + std::string(5000, 'x');
  const std::string ok =
      "<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: http_get failed";
  REQUIRE(SendTcp(daemon.Port("tcp"),
                  std::to_string(big.size()) + " " + big + std::to_string(ok.size()) + " " + ok));
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  CHECK(daemon.Stderr().find("longer than --max-frame") != std::string::npos);
  auto counters = StoredCounters(dir.Join("db"));
  CHECK(counters["tcp_oversize"] == 1);
  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(FindByMessage(events, "Resync failed") != nullptr);
}

TEST_CASE("an unknown config key or a bad value stops the daemon with exit 2 naming it") {
  TempDir dir;
  WriteFileText(dir.Join("unknown.json"), "{\"listen\": [\"udp://127.0.0.1:0\"], \"bogus\": 1}");
  Daemon a(kDaemon, {"--config", dir.Join("unknown.json"), "--db", dir.Join("db")}, dir.path());
  CHECK(a.Stop(0) == 2);
  CHECK(a.Stderr().find("\"bogus\"") != std::string::npos);

  WriteFileText(dir.Join("bad.json"), "{\"rcvbuf\": \"lots\"}");
  Daemon b(kDaemon, {"--config", dir.Join("bad.json"), "--db", dir.Join("db")}, dir.path());
  CHECK(b.Stop(0) == 2);
  CHECK(b.Stderr().find("rcvbuf") != std::string::npos);
  CHECK(b.Stderr().find("lots") != std::string::npos);
}

TEST_CASE("a burst of failures fires one fleet alert, kept in the store and shown in /metrics") {
  TempDir dir;
  Daemon daemon(
      kDaemon,
      {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"},
      dir.path());
  REQUIRE(daemon.WaitListening());
  const int metrics_port = daemon.Port("metrics");
  REQUIRE(metrics_port > 0);
  std::vector<std::string> failures;
  for (int i = 0; i < 120; ++i) {
    char mac[18];
    std::snprintf(mac, sizeof(mac), "00:0e:08:01:00:%02x", i);
    failures.push_back("<131>Nov 25 08:00:01 CP-8851-3PCC " + std::string(mac) +
                       " -- Resync failed: http_get failed");
  }
  SendUdp(daemon.Port("udp"), failures);
  const std::string metrics = dir.Join("metrics.txt");
  const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  const std::string firing = "resyncwatch_active_alerts{rule=\"fleet_failures\"} 1";
  REQUIRE(WaitUntil([&] {
    RunProgram({"/usr/bin/curl", "-s", "-o", metrics, url});
    return ReadFileText(metrics).find(firing) != std::string::npos;
  }));
  CHECK(ReadFileText(metrics).find("resyncwatch_received_datagrams_total 120\n") !=
        std::string::npos);
  REQUIRE(daemon.Stop(SIGTERM) == 0);

  auto store = Store::Open(dir.Join("db"), StoreOptions{});
  REQUIRE(store.ok());
  int fleet_alerts = 0;
  REQUIRE((*store)
              ->ScanAlerts(TimeRange{}, false,
                           [&](const AlertRecord& a) {
                             if (a.id.rfind("fleet_failures/", 0) == 0) ++fleet_alerts;
                             return true;
                           })
              .ok());
  CHECK(fleet_alerts == 1);
}

TEST_CASE("SIGHUP reloads the templates, and a bad config file keeps the old ones") {
  TempDir dir;
  const std::string config = dir.Join("resyncwatch.json");
  WriteFileText(config, "{\"listen\": [\"udp://127.0.0.1:0\"]}");
  Daemon daemon(kDaemon, {"--config", config, "--db", dir.Join("db")}, dir.path());
  REQUIRE(daemon.WaitListening());
  const int port = daemon.Port("udp");
  // A fleet whose Log_Failure_Msg is not Cisco's default.
  const std::string custom =
      "<131>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de provisioning failed: disk full";
  SendUdp(port, {custom});
  // Templates apply to what the writer parses after the reload: let this one be stored.
  REQUIRE(WaitUntil([&] {
    std::string stats;
    return RunCapture({kCli, "stats", "--db", dir.Join("db"), "--json"}, &stats) == 0 &&
           stats.find("\"stored_events\":1") != std::string::npos;
  }));

  WriteFileText(config, "{\"listen\": [\"udp://127.0.0.1:0\"], \"templates\": ");
  REQUIRE(kill(daemon.pid(), SIGHUP) == 0);
  REQUIRE(WaitUntil(
      [&] { return daemon.Stderr().find("keeping the current templates") != std::string::npos; }));

  WriteFileText(config,
                "{\"listen\": [\"udp://127.0.0.1:0\"], \"templates\": {\"resync_failure\": "
                "[\"$PN $MAC provisioning failed: $ERR\", \"default\"]}}");
  REQUIRE(kill(daemon.pid(), SIGHUP) == 0);
  REQUIRE(WaitUntil([&] { return daemon.Stderr().find("reloaded") != std::string::npos; }));
  SendUdp(port, {custom});
  REQUIRE(daemon.Stop(SIGTERM) == 0);

  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 2);
  std::map<EventKind, int> kinds;
  for (const Event& e : events) ++kinds[e.kind];
  CHECK(kinds[EventKind::kResyncFailure] == 1);  // after the reload
  for (const Event& e : events) {
    if (e.kind == EventKind::kResyncFailure) CHECK(e.error == "disk full");
  }
}

TEST_CASE("UDP over IPv6 is received and the sender is kept as [address]:port") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://[::1]:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  SendUdp(daemon.Port("udp"),
          {"<134>Nov 25 08:00:01 CP-8845-3PCC 00:0e:08:ab:cd:01 -- Requesting resync "
           "tftp://[2001:db8::5]:69/c.cfg"},
          /*v6=*/true);
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 1);
  CHECK(events[0].source.rfind("[::1]:", 0) == 0);
  CHECK(events[0].server == "2001:db8::5");
  CHECK(events[0].port == 69);
}

TEST_CASE("LF-delimited TCP frames from several connections are each stored") {
  TempDir dir;
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "tcp://127.0.0.1:0"}, dir.path());
  REQUIRE(daemon.WaitListening());
  const int port = daemon.Port("tcp");
  for (int c = 0; c < 5; ++c) {
    std::string frames;
    for (int i = 0; i < 20; ++i) {
      frames += "<134>Nov 25 08:00:01 relay CP-8851-3PCC 00:12:34:ab:45:d" + std::to_string(c) +
                " -- Resync failed: #" + std::to_string(i) + "\n";
    }
    REQUIRE(SendTcp(port, frames));
  }
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  auto events = StoredEvents(dir.Join("db"));
  CHECK(events.size() == 100);
  auto counters = StoredCounters(dir.Join("db"));
  CHECK(counters["tcp_connections"] == 5);
  CHECK(counters["received_datagrams"] == 100);
}

TEST_CASE("systemd is told READY, WATCHDOG and STOPPING through NOTIFY_SOCKET") {
  TempDir dir;
  const std::string path = dir.Join("notify.sock");
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  setenv("WATCHDOG_USEC", "1000000", 1);
  Daemon daemon(kDaemon, {"--db", dir.Join("db"), "--listen", "udp://127.0.0.1:0"}, dir.path());
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  REQUIRE(daemon.WaitListening());

  std::string received;
  auto drain = [&] {
    char buf[512];
    for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) received.append(buf, n).append("\n");
  };
  CHECK(WaitUntil([&] {
    drain();
    return received.find("READY=1") != std::string::npos &&
           received.find("WATCHDOG=1") != std::string::npos;
  }));
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  drain();
  CHECK(received.find("STOPPING=1") != std::string::npos);
  close(fd);
}
