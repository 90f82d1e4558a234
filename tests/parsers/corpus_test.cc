// The parser corpus: every line of tests/data/parsers/*inputs.txt parsed and compared
// with the golden JSON line in *expected.jsonl. Set RESYNCWATCH_UPDATE_GOLDENS=1 to
// rewrite the goldens (then read the diff: the goldens are the spec).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "parsers/parsers.h"

namespace resyncwatch {
namespace {

constexpr int64_t kReference = 1'795'608'000'000'000;  // 2026-11-25T12:00:00Z

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Unescape(std::string_view line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 == line.size()) {
      out.push_back(line[i]);
      continue;
    }
    char n = line[++i];
    switch (n) {
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case '0':
        out.push_back('\0');
        break;
      case 'x':
        out.push_back(
            static_cast<char>(std::stoi(std::string(line.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
        break;
      default:
        out.push_back(n);
    }
  }
  return out;
}

std::vector<std::string> Inputs(const std::string& path) {
  std::vector<std::string> out;
  std::string text = ReadFile(path);
  REQUIRE(!text.empty());
  text.pop_back();  // the final '\n'
  std::stringstream s(text);
  std::string line;
  while (std::getline(s, line)) {
    if (!line.empty() && line[0] == '#') continue;
    out.push_back(Unescape(line));
  }
  return out;
}

void Optional(JsonWriter* w, std::string_view key, std::string_view v) {
  w->OptionalString(key, v.empty() ? std::nullopt : std::optional(v));
}

// The contract keys of `resyncwatch parse`, then what the parser knows beyond them.
std::string Golden(const ParsedMessage& m) {
  JsonWriter w;
  w.Begin();
  w.String("format", ToString(m.format));
  w.OptionalInt("facility", m.facility >= 0 ? std::optional<int64_t>(m.facility) : std::nullopt);
  w.OptionalInt("severity", m.severity >= 0 ? std::optional<int64_t>(m.severity) : std::nullopt);
  Optional(&w, "timestamp", m.timestamp_text);
  Optional(&w, "host", m.host);
  Optional(&w, "app", m.app);
  Optional(&w, "identifier", m.identifier);
  w.String("kind", ToString(m.kind));
  Optional(&w, "mac", m.mac ? FormatMac(m.mac) : std::string());
  Optional(&w, "sn", m.sn);
  Optional(&w, "model", m.model);
  Optional(&w, "url", m.url);
  Optional(&w, "scheme", m.scheme);
  Optional(&w, "server", m.server);
  w.OptionalInt("port", m.port > 0 ? std::optional<int64_t>(m.port) : std::nullopt);
  Optional(&w, "path", m.path);
  Optional(&w, "error", m.error);
  // Long bodies are summarised so that the goldens stay readable.
  if (m.message.size() > 300) {
    w.String("message", std::string(m.message.substr(0, 40)) + "...(" +
                            std::to_string(m.message.size()) + " bytes)");
  } else {
    Optional(&w, "message", m.message);
  }
  static constexpr std::string_view kForms[] = {"none", "MA", "MAU", "MAC", "SN"};
  w.String("identifier_form", kForms[static_cast<int>(m.identifier_form)]);
  w.OptionalString("message_time", m.message_time_us ? std::optional<std::string>(
                                                           FormatIso8601Utc(*m.message_time_us))
                                                     : std::nullopt);
  Optional(&w, "raw_reason", m.raw_reason);
  w.End();
  return w.str();
}

void CheckCorpus(const std::string& inputs_name, const std::string& expected_name,
                 const TemplateSet& templates) {
  const std::string dir = RESYNCWATCH_PARSERS_DATA;
  std::vector<std::string> inputs = Inputs(dir + "/" + inputs_name);
  ParseContext ctx;
  ctx.reference_us = kReference;
  std::vector<std::string> actual;
  for (const auto& in : inputs) actual.push_back(Golden(Parse(in, templates, ctx)));
  const char* update = std::getenv("RESYNCWATCH_UPDATE_GOLDENS");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream out(dir + "/" + expected_name, std::ios::binary | std::ios::trunc);
    for (const auto& a : actual) out << a << '\n';
  }
  std::vector<std::string> expected;
  std::stringstream s(ReadFile(dir + "/" + expected_name));
  std::string line;
  while (std::getline(s, line)) expected.push_back(line);
  REQUIRE(expected.size() == inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    INFO("input line " << i << ": " << inputs[i].substr(0, 200));
    CHECK(actual[i] == expected[i]);
  }
}

TEST_CASE("Default templates: every corpus line parses to its golden JSON") {
  auto templates = TemplateSet::Defaults();
  REQUIRE(templates.ok());
  CheckCorpus("inputs.txt", "expected.jsonl", *templates);
}

TEST_CASE("Custom templates from a config file: corpus lines parse to their goldens") {
  auto templates = TemplateSet::FromConfigJson(
      ReadFile(std::string(RESYNCWATCH_PARSERS_DATA) + "/custom_config.json"));
  REQUIRE(templates.ok());
  CheckCorpus("custom_inputs.txt", "custom_expected.jsonl", *templates);
}

TEST_CASE("The corpus holds at least 300 datagrams") {
  CHECK(Inputs(std::string(RESYNCWATCH_PARSERS_DATA) + "/inputs.txt").size() >= 300);
}

}  // namespace
}  // namespace resyncwatch
