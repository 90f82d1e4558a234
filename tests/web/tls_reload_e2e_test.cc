// SIGHUP reloads the TLS certificate and key of resyncwatchd's tls:// syslog listener and of
// its HTTPS server: connections made before keep working on the old certificate, new ones
// get the new one, and a bad new file keeps the last good certificate with one log line per
// listener kind. Certificates made by openssl; the client is OpenSSL verifying against one
// certificate at a time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "e2e_programs.h"
#include "harness.h"

using namespace resyncwatch::testing;

namespace {

// A TLS connection to 127.0.0.1:port that trusts only ca_file; ok() if the handshake
// (with the certificate verified for IP 127.0.0.1) succeeded.
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = ConnectTcp(port);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssl_ = SSL_new(ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    SSL_set_fd(ssl_, fd_);
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    close(fd_);
  }
  bool ok() const { return ok_; }
  bool Send(const std::string& bytes) {
    return ok_ && SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
                      static_cast<int>(bytes.size());
  }
  // One HTTP request on this connection; the whole answer (head and Content-Length body).
  std::string Get(const std::string& path) {
    if (!Send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return "";
    std::string answer;
    char buf[4096];
    for (;;) {
      const size_t head = answer.find("\r\n\r\n");
      const size_t length = answer.find("Content-Length: ");
      if (head != std::string::npos && length != std::string::npos &&
          answer.size() >= head + 4 + std::stoul(answer.substr(length + 16))) {
        return answer;
      }
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return answer;
      answer.append(buf, n);
    }
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

void MakeCertificate(const TempDir& dir, const std::string& name) {
  std::string out;
  REQUIRE(
      RunCapture({"/bin/sh", "-c",
                  "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + name +
                      " -addext subjectAltName=IP:127.0.0.1 -keyout " + dir.Join(name + ".key") +
                      " -out " + dir.Join(name + ".pem") + " 2>/dev/null"},
                 &out) == 0);
}

// Installs name's certificate and key where the daemon reads them (renamed into place).
void Install(const TempDir& dir, const std::string& name) {
  WriteFileText(dir.Join("next.pem"), ReadFileText(dir.Join(name + ".pem")));
  WriteFileText(dir.Join("next.key"), ReadFileText(dir.Join(name + ".key")));
  REQUIRE(rename(dir.Join("next.pem").c_str(), dir.Join("cert.pem").c_str()) == 0);
  REQUIRE(rename(dir.Join("next.key").c_str(), dir.Join("key.pem").c_str()) == 0);
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string Line(int i) {
  return "<134>Dec  7 08:00:0" + std::to_string(i) +
         " CP-7841-3PCC 00:0e:08:10:20:30 -- Requesting resync http://10.0.0.1/c.xml\n";
}

}  // namespace

TEST_CASE("SIGHUP reloads the tls:// and HTTPS certificates without dropping connections") {
  TempDir dir;
  MakeCertificate(dir, "old");
  MakeCertificate(dir, "new");
  Install(dir, "old");
  const std::string db = dir.Join("db");
  Daemon daemon(
      kDaemon,
      {"--db", db, "--listen", "tls://127.0.0.1:0", "--tls-cert", dir.Join("cert.pem"), "--tls-key",
       dir.Join("key.pem"), "--http-listen", "127.0.0.1:0", "--http-tls-cert", dir.Join("cert.pem"),
       "--http-tls-key", dir.Join("key.pem"), "--query-socket", "none"},
      dir.path());
  REQUIRE(daemon.WaitListening());
  const int syslog = daemon.Port("tls"), https = daemon.Port("http");
  auto stored = [&](int n) {
    return WaitUntil([&] {
      std::string out;
      RunCapture({kCli, "stats", "--json", "--db", db}, &out);
      return out.find("\"stored_events\":" + std::to_string(n) + ",") != std::string::npos;
    });
  };
  // Connections made on the old certificate.
  TlsClient relay(syslog, dir.Join("old.pem"));
  TlsClient browser(https, dir.Join("old.pem"));
  REQUIRE(relay.ok());
  REQUIRE(browser.ok());
  REQUIRE(relay.Send(Line(1)));
  REQUIRE(stored(1));
  REQUIRE(browser.Get("/healthz").rfind("HTTP/1.1 200", 0) == 0);

  Install(dir, "new");
  REQUIRE(kill(daemon.pid(), SIGHUP) == 0);
  REQUIRE(WaitUntil([&] {
    const std::string log = daemon.Stderr();
    return log.find("reloaded the HTTPS certificate") != std::string::npos &&
           log.find("reloaded the TLS certificate of the tls:// listeners") != std::string::npos;
  }));
  // The established connections go on.
  REQUIRE(relay.Send(Line(2)));
  CHECK(stored(2));
  CHECK(browser.Get("/healthz").rfind("HTTP/1.1 200", 0) == 0);
  // New ones get the new certificate, and only it.
  CHECK(TlsClient(syslog, dir.Join("new.pem")).ok());
  CHECK(TlsClient(https, dir.Join("new.pem")).ok());
  CHECK_FALSE(TlsClient(syslog, dir.Join("old.pem")).ok());
  CHECK_FALSE(TlsClient(https, dir.Join("old.pem")).ok());

  // A broken certificate file: the new certificate stays, one line per listener kind.
  WriteFileText(dir.Join("cert.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n");
  REQUIRE(kill(daemon.pid(), SIGHUP) == 0);
  REQUIRE(WaitUntil([&] {
    const std::string log = daemon.Stderr();
    return log.find("keeping the current HTTPS certificate") != std::string::npos &&
           log.find("keeping the current TLS certificate of the tls:// listeners") !=
               std::string::npos;
  }));
  const std::string log = daemon.Stderr();
  CHECK(Count(log, "keeping the current HTTPS certificate") == 1);
  CHECK(Count(log, "keeping the current TLS certificate") == 1);
  CHECK(TlsClient(syslog, dir.Join("new.pem")).ok());
  CHECK(TlsClient(https, dir.Join("new.pem")).ok());
  REQUIRE(relay.Send(Line(3)));
  CHECK(stored(3));
  CHECK(daemon.Stop() == 0);
}
