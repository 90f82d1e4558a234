// End-to-end tests of tls:// listeners (RFC 5425): a real rsyslog relay forwarding over
// TLS with a client certificate, and clients without a valid certificate, or not speaking
// TLS at all, refused and counted. Certificates are made for the test with openssl(1).
#include <signal.h>
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

const std::string kOpenssl = "/usr/bin/openssl";
const std::string kRsyslogd = "/usr/sbin/rsyslogd";
const std::string kOsslDriver = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so";

// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, both
// signed by the CA, plus a second CA the server does not trust and a client of it.
bool MakeCertificates(const TempDir& dir) {
  auto d = [&](const std::string& name) { return dir.Join(name); };
  auto ca = [&](const std::string& name) {
    return RunProgram({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d(name + ".key"),
                       "-out", d(name + ".pem"), "-days", "2", "-subj", "/CN=" + name}) == 0;
  };
  auto leaf = [&](const std::string& name, const std::string& issuer) {
    WriteFileText(d(name + ".ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    return RunProgram({kOpenssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                       "-nodes", "-keyout", d(name + ".key"), "-out", d(name + ".csr"), "-subj",
                       "/CN=localhost"}) == 0 &&
           RunProgram({kOpenssl, "x509", "-req", "-in", d(name + ".csr"), "-CA", d(issuer + ".pem"),
                       "-CAkey", d(issuer + ".key"), "-CAcreateserial", "-out", d(name + ".pem"),
                       "-days", "2", "-extfile", d(name + ".ext")}) == 0;
  };
  return ca("ca") && ca("other-ca") && leaf("server", "ca") && leaf("client", "ca") &&
         leaf("stranger", "other-ca");
}

std::vector<std::string> TlsDaemonArgs(const TempDir& dir) {
  return {"--db",
          dir.Join("db"),
          "--listen",
          "tls://127.0.0.1:0",
          "--tls-cert",
          dir.Join("server.pem"),
          "--tls-key",
          dir.Join("server.key"),
          "--tls-client-ca",
          dir.Join("ca.pem"),
          "--query-socket",
          "none",
          "--summary-interval",
          "1s"};
}

}  // namespace

TEST_CASE("an rsyslog relay forwarding over TLS with a client certificate delivers every message") {
  if (!ProgramExists(kOpenssl) || !ProgramExists(kRsyslogd) || access(kOsslDriver.c_str(), R_OK)) {
    WARN("skipped: needs openssl, rsyslogd and rsyslog-openssl (scripts/deps installs them)");
    return;
  }
  TempDir dir;
  REQUIRE(MakeCertificates(dir));
  Daemon daemon(kDaemon, TlsDaemonArgs(dir), dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string input = dir.Join("phones.log");
  WriteFileText(input, "");
  WriteFileText(
      dir.Join("rsyslog.conf"),
      "global(workDirectory=\"" + dir.path() + "\" DefaultNetstreamDriver=\"ossl\"" +
          " DefaultNetstreamDriverCAFile=\"" + dir.Join("ca.pem") + "\"" +
          " DefaultNetstreamDriverCertFile=\"" + dir.Join("client.pem") + "\"" +
          " DefaultNetstreamDriverKeyFile=\"" + dir.Join("client.key") + "\")\n" +
          "module(load=\"imfile\" mode=\"polling\" PollingInterval=\"1\")\n"
          "input(type=\"imfile\" File=\"" +
          input +
          "\" Tag=\"phone:\" Facility=\"local0\" Severity=\"info\")\n"
          "action(type=\"omfwd\" target=\"127.0.0.1\" protocol=\"tcp\" port=\"" +
          std::to_string(daemon.Port("tls")) +
          "\" StreamDriver=\"ossl\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\""
          " StreamDriverPermittedPeers=\"localhost\" TCP_Framing=\"octet-counted\")\n");
  Daemon relay(kRsyslogd, {"-f", dir.Join("rsyslog.conf"), "-i", dir.Join("rsyslog.pid"), "-n"},
               dir.path(), /*with_port_file=*/false);
  WriteFileText(input,
                "CP-6841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://192.168.1.200/a.txt\n"
                "SPA-2000 00:0e:08:aa:a0:10 -- Resync failed: corrupt file\n"
                "CP-8845-3PCC 00:0e:08:ab:cd:01 -- Successful resync http://10.1.1.1:80/b.xml\n");
  const bool arrived =
      WaitUntil([&] { return daemon.LastReceivedSummary() >= 3; }, std::chrono::seconds(20));
  INFO("collector: " << daemon.Stderr() << "\nrsyslogd: " << relay.Stderr());
  REQUIRE(arrived);
  relay.Stop(SIGTERM);
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  auto events = StoredEvents(dir.Join("db"));
  REQUIRE(events.size() == 3);
  std::map<EventKind, int> kinds;
  for (const Event& e : events) ++kinds[e.kind];
  CHECK(kinds[EventKind::kResyncRequest] == 1);
  CHECK(kinds[EventKind::kResyncFailure] == 1);
  CHECK(kinds[EventKind::kResyncSuccess] == 1);
  CHECK(StoredCounters(dir.Join("db"))["tls_errors"] == 0);
}

TEST_CASE(
    "TLS clients without a trusted certificate, or not speaking TLS, are refused and counted") {
  if (!ProgramExists(kOpenssl)) {
    WARN("skipped: needs openssl");
    return;
  }
  TempDir dir;
  REQUIRE(MakeCertificates(dir));
  Daemon daemon(kDaemon, TlsDaemonArgs(dir), dir.path());
  REQUIRE(daemon.WaitListening());
  const std::string port = std::to_string(daemon.Port("tls"));
  const std::string line =
      "<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:09 -- Resync failed: refused\n";
  WriteFileText(dir.Join("line.txt"), line);
  // No client certificate, then one from a CA the server does not trust.
  RunProgram({"/bin/sh", "-c",
              kOpenssl + " s_client -quiet -connect 127.0.0.1:" + port + " < " +
                  dir.Join("line.txt") + " > /dev/null 2>&1"});
  RunProgram({"/bin/sh", "-c",
              kOpenssl + " s_client -quiet -connect 127.0.0.1:" + port + " -cert " +
                  dir.Join("stranger.pem") + " -key " + dir.Join("stranger.key") + " < " +
                  dir.Join("line.txt") + " > /dev/null 2>&1"});
  // Plain syslog to a TLS port.
  SendTcp(daemon.Port("tls"), line);
  // A trusted client gets through.
  RunProgram({"/bin/sh", "-c",
              kOpenssl + " s_client -quiet -connect 127.0.0.1:" + port + " -cert " +
                  dir.Join("client.pem") + " -key " + dir.Join("client.key") + " < " +
                  dir.Join("line.txt") + " > /dev/null 2>&1"});
  REQUIRE(WaitUntil([&] { return daemon.LastReceivedSummary() >= 1; }));
  REQUIRE(daemon.Stop(SIGTERM) == 0);
  CHECK(StoredEvents(dir.Join("db")).size() == 1);
  auto counters = StoredCounters(dir.Join("db"));
  CHECK(counters["tls_errors"] == 3);
  CHECK(counters["received_datagrams"] == 1);
}
