// Secrets in profile rules (--key, --pwd, user:pass@) never come out of the parser,
// whatever the quoting, spacing or truncation; and the lines that used to be misread.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/parsers/test_util.h"

namespace resyncwatch::testing {
namespace {

// Secret bytes are drawn from letters no other part of the generated lines uses, so that
// any two of them in a row in the output can only come from a secret.
constexpr std::string_view kSecretAlphabet = "QXZJWVxzjv";

std::string Secret(std::mt19937& rng, bool with_blanks) {
  std::uniform_int_distribution<int> len(6, 14), pick(0, kSecretAlphabet.size() - 1);
  std::string s;
  int n = len(rng);
  for (int i = 0; i < n; ++i) {
    s += kSecretAlphabet[pick(rng)];
    if (with_blanks && i == n / 2) s += ' ';
  }
  return s;
}

// A resync line whose profile rule carries the secret in one of the shapes phones and
// provisioning templates use.
std::string LineWith(std::mt19937& rng, const std::string& secret, int shape) {
  const std::string head = "<134>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- ";
  const std::string verb =
      std::bernoulli_distribution(0.5)(rng) ? "Requesting resync " : "Successful resync ";
  const std::string url = "http://10.23.45.67:80/cfg/8851.cfg";
  switch (shape) {
    case 0:
      return head + verb + "[--key " + secret + " ] " + url;
    case 1:
      return head + verb + "[--key " + secret + " ]" + url;  // no blank after ']'
    case 2:
      return head + verb + "[--key \"" + secret + "\"] " + url;  // quoted, may hold blanks
    case 3:
      return head + verb + "[--key K1 --uid admin --pwd " + secret + " ]" + url;
    case 4:
      return head + verb + "[--pwd=" + secret + "] " + url;
    case 5:
      return head + verb + "http://admin:" + secret + "@10.23.45.67/cfg/8851.cfg";
    default:
      return head + "Resync failed: http_get failed for https://admin:" + secret +
             "@prov.example.net/x.cfg";
  }
}

// Every text the parser hands on.
std::vector<std::string_view> Outputs(const ParsedMessage& m) {
  return {m.timestamp_text, m.host,   m.app,  m.identifier, m.sn,     m.model, m.url,
          m.scheme,         m.server, m.path, m.error,      m.message};
}

void CheckNoFragment(const ParsedMessage& m, const std::string& secret, const std::string& in) {
  for (std::string_view out : Outputs(m)) {
    for (size_t i = 0; i + 2 <= secret.size(); ++i) {
      std::string_view two(secret.data() + i, 2);
      if (two.find(' ') != std::string_view::npos) continue;
      INFO("input: " << in << "\noutput: " << out);
      REQUIRE(out.find(two) == std::string_view::npos);
    }
  }
}

TEST_CASE("No byte pair of a secret survives parsing, whole or cut at any point") {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 300; ++round) {
    int shape = round % 7;
    std::string secret = Secret(rng, shape == 2);
    std::string line = LineWith(rng, secret, shape);
    CheckNoFragment(ParseAt(line), secret, line);
    // A frame limit can cut the line anywhere inside or after the secret.
    size_t at = line.find(secret);
    REQUIRE(at != std::string::npos);
    for (size_t cut = at + 2; cut <= at + secret.size() + 3 && cut < line.size(); ++cut) {
      std::string cut_line = line.substr(0, cut);
      CheckNoFragment(ParseAt(cut_line), secret, cut_line);
    }
  }
}

TEST_CASE("A quoted --key is hidden with its quotes") {
  auto m = ParseAt(
      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync [--key \"My Own Secret\"] "
      "http://10.1.1.1/a.cfg");
  CHECK(m.kind == EventKind::kResyncRequest);
  CHECK(m.message.find("Own") == std::string_view::npos);
  CHECK(m.message.find("[--key ***] http://10.1.1.1/a.cfg") != std::string_view::npos);
}

TEST_CASE("Options that touch the URL, with no blank after them, are still the phone's request") {
  auto m = ParseAt(
      "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync [--key K --uid u --pwd secretpass "
      "]http://10.1.1.1/a.cfg");
  CHECK(m.kind == EventKind::kResyncRequest);
  CHECK(m.url == "http://10.1.1.1/a.cfg");
  CHECK(m.server == "10.1.1.1");
  CHECK(m.message.find("secretpass") == std::string_view::npos);
}

TEST_CASE("A secret option right after another dash is hidden too") {
  // Found by the parse fuzzer: "---key V" (the "--" overlapping a third dash) was missed.
  for (const char* line : {"C 20\"6-11---key MySecret", "Requesting resync x---pwd=MySecret",
                           "CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync [---key MySecret ]"
                           "http://10.1.1.1/a.cfg"}) {
    auto m = ParseAt(line);
    INFO(line);
    CHECK(m.message.find("MySecret") == std::string_view::npos);
    CHECK(m.url.find("MySecret") == std::string_view::npos);
  }
}

TEST_CASE("A credential cut at the end of the text is hidden") {
  auto m = ParseAt("CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://user:secr");
  CHECK(m.message.find("secr") == std::string_view::npos);
  CHECK(m.url.find("secr") == std::string_view::npos);
  // A port at the end is not a credential.
  auto p = ParseAt("CP-8851-3PCC 00:12:34:ab:45:de -- Requesting resync http://10.1.1.1:8080");
  CHECK(p.url == "http://10.1.1.1:8080");
}

TEST_CASE("Resync failed with an empty $ERR is a failure") {
  auto m = ParseAt("<131>Nov 25 08:00:01 CP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: ");
  CHECK(m.kind == EventKind::kResyncFailure);
  CHECK(MacOf(m) == "001234ab45de");
  CHECK(m.error.empty());
  auto u = ParseAt(
      "SPA2102 00:0e:08:aa:bb:cc -- Successful upgrade tftp://10.2.3.200:69/spa2102.bin --");
  CHECK(u.kind == EventKind::kUpgradeSuccess);
}

TEST_CASE("An IPv6 provisioning server is the bare host; the URL keeps its brackets") {
  auto m = ParseAt(
      "<134>1 2026-11-25T08:00:01.000Z relay01 phone - - - CP-8845-3PCC 00:0e:08:ab:cd:01 -- "
      "Requesting resync tftp://[2001:db8::5]:69/c.cfg");
  CHECK(m.kind == EventKind::kResyncRequest);
  CHECK(m.server == "2001:db8::5");
  CHECK(m.url == "tftp://[2001:db8::5]:69/c.cfg");
  CHECK(m.port == 69);
}

TEST_CASE("A phone line rsyslog forwards as RFC 5424 is the phone's event") {
  // RSYSLOG_SyslogProtocol23Format of a phone line rsyslog read as RFC 3164: the model
  // became HOSTNAME, "00" (from the tag "00:") APP-NAME, and MSG keeps a leading blank.
  auto split = ParseAt(
      "<134>1 2026-11-25T08:00:01+00:00 CP-8845-3PCC 00 - - -  0e:08:ab:cd:01 -- "
      "Requesting resync tftp://10.1.1.1/c.cfg");
  CHECK(split.kind == EventKind::kResyncRequest);
  CHECK(MacOf(split) == "000e08abcd01");
  CHECK(split.model == "CP-8845-3PCC");
  // With an APP-NAME of its own and the phone's whole text after a blank.
  auto app = ParseAt(
      "<134>1 2026-11-25T08:00:01.000000+00:00 relay01 phone - - -  CP-8845-3PCC "
      "00:0e:08:ab:cd:01 -- Resync failed: http_get failed");
  CHECK(app.kind == EventKind::kResyncFailure);
  CHECK(MacOf(app) == "000e08abcd01");
  CHECK(app.host == "relay01");
}

}  // namespace
}  // namespace resyncwatch::testing
