// `resyncwatch parse` as other checks call it: the real binary, stdin in, JSON lines out,
// compared with the contract keys of the corpus goldens.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string line;
  while (std::getline(s, line)) out.push_back(line);
  return out;
}

struct Run {
  int exit_code;
  std::string out, err;
};

Run Parse(const std::string& args, const std::string& input) {
  char dir[] = "/tmp/resyncwatch-parse-test-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string d = dir;
  std::ofstream(d + "/in", std::ios::binary) << input;
  std::string cmd = std::string(RESYNCWATCH_BIN) + " parse " + args + " < " + d + "/in > " + d +
                    "/out 2> " + d + "/err";
  int status = std::system(cmd.c_str());
  Run r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, Read(d + "/out"), Read(d + "/err")};
  std::system(("rm -rf " + d).c_str());
  return r;
}

// The corpus lines a shell can pass as one line each, with the golden's contract part.
void Corpus(const std::string& inputs, const std::string& expected, std::string* in,
            std::vector<std::string>* want) {
  std::vector<std::string> lines;
  for (const auto& l : Lines(Read(inputs))) {
    if (l.empty() || l[0] != '#') lines.push_back(l);
  }
  auto gold = Lines(Read(expected));
  REQUIRE(gold.size() == lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    if (l.find('\\') != std::string::npos || l.size() > 300) continue;  // escapes, huge
    *in += l + "\n";
    want->push_back(gold[i].substr(0, gold[i].find(",\"identifier_form\"")) + "}");
  }
}

TEST_CASE("resyncwatch parse prints the contract keys of every line, in input order") {
  std::string in;
  std::vector<std::string> want;
  Corpus(std::string(RESYNCWATCH_PARSERS_DATA) + "/inputs.txt",
         std::string(RESYNCWATCH_PARSERS_DATA) + "/expected.jsonl", &in, &want);
  REQUIRE(want.size() > 250);
  Run r = Parse("", in);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto got = Lines(r.out);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == want[i]);
}

TEST_CASE("resyncwatch parse --config uses the configured templates") {
  std::string in;
  std::vector<std::string> want;
  const std::string dir = RESYNCWATCH_PARSERS_DATA;
  Corpus(dir + "/custom_inputs.txt", dir + "/custom_expected.jsonl", &in, &want);
  Run r = Parse("--config " + dir + "/custom_config.json", in);
  CHECK(r.exit_code == 0);
  auto got = Lines(r.out);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == want[i]);
}

TEST_CASE("resyncwatch parse drops a trailing CR and exits 0 on raw lines") {
  Run r = Parse("", "<13\r\n\r\nCP-8851-3PCC 00:12:34:ab:45:de -- Resync failed: x\r\n");
  CHECK(r.exit_code == 0);
  auto got = Lines(r.out);
  REQUIRE(got.size() == 3);
  CHECK_THAT(got[0], Catch::StartsWith("{\"format\":\"raw\""));
  CHECK_THAT(got[0], Catch::Contains("\"message\":\"<13\"}"));
  CHECK_THAT(got[2], Catch::Contains("\"error\":\"x\""));
}

TEST_CASE("resyncwatch parse exits 2 with one line on a bad option or configuration") {
  Run bad_flag = Parse("--frobnicate", "");
  CHECK(bad_flag.exit_code == 2);
  CHECK(Lines(bad_flag.err).size() == 1);
  Run missing = Parse("--config /nonexistent/resyncwatch.json", "");
  CHECK(missing.exit_code == 2);
  CHECK(Lines(missing.err).size() == 1);
  char path[] = "/tmp/resyncwatch-parse-config-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << R"({"templates": {"resync_failure": ["$PN $NOPE"]}})";
  Run bad_macro = Parse(std::string("--config ") + path, "x\n");
  unlink(path);
  CHECK(bad_macro.exit_code == 2);
  REQUIRE(Lines(bad_macro.err).size() == 1);
  CHECK_THAT(bad_macro.err, Catch::Contains("unknown macro $NOPE"));
  CHECK(bad_macro.out.empty());
}

}  // namespace
