// libFuzzer target over Parse (default and custom templates) and TcpFrameDecoder.
// Built only with -DRESYNCWATCH_FUZZ=ON (clang); run with scripts/fuzz.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "parsers/parsers.h"
#include "parsers/template_set_impl.h"

namespace {

using resyncwatch::ParsedMessage;
using resyncwatch::TemplateSet;

const TemplateSet& Defaults() {
  static const TemplateSet* set = new TemplateSet(TemplateSet::Defaults().value());
  return *set;
}

const TemplateSet& Custom() {
  static const TemplateSet* set = new TemplateSet(TemplateSet::FromConfigJson(R"({"templates": {
        "resync_request": ["$PN $SN $MA resync start $SCHEME://$SERV:$PORT$PATH", "default"],
        "resync_failure": ["RSYNC FAIL $MAU err=$ERR code=$A", "default"],
        "upgrade_success": ["fw $PSN $HWVER $ERR upgrade from $SERV port $PORT path $PATH"]}})")
                                                      .value());
  return *set;
}

// Every view must point into the input or into the message's own scratch.
void CheckView(std::string_view v, std::string_view input, const ParsedMessage& m) {
  if (v.empty()) return;
  auto inside = [&](const char* b, size_t n) {
    return v.data() >= b && v.data() + v.size() <= b + n;
  };
  if (inside(input.data(), input.size())) return;
  if (v.data() == nullptr) std::abort();
  (void)m;
  // Scratch and static reason strings are not visible here; reading every byte makes
  // AddressSanitizer report a view that dangles.
  volatile char sink = 0;
  for (char c : v) sink = static_cast<char>(sink ^ c);
}

// After redaction every "--key VALUE" reads "--key ***" and every URL user-info "***".
void CheckRedacted(std::string_view text) {
  for (size_t p = text.find("--key"); p != std::string_view::npos; p = text.find("--key", p + 1)) {
    size_t v = p + 5;
    if (v >= text.size() || (text[v] != ' ' && text[v] != '\t' && text[v] != '=')) continue;
    while (v < text.size() && (text[v] == ' ' || text[v] == '\t' || text[v] == '=')) ++v;
    if (v < text.size() && text[v] != ']' && text[v] != '\n' && text[v] != '\r' &&
        text.substr(v, 3) != "***") {
      std::abort();
    }
  }
  for (size_t p = text.find("://"); p != std::string_view::npos; p = text.find("://", p + 3)) {
    size_t end = p + 3;
    while (end < text.size() && text[end] != '/' && text[end] != ' ' && text[end] != '\t' &&
           text[end] != '\n' && text[end] != '\r') {
      ++end;
    }
    std::string_view auth = text.substr(p + 3, end - p - 3);
    size_t at = auth.rfind('@');
    if (at != std::string_view::npos && at > 0 && auth.substr(0, at) != "***") std::abort();
  }
}

void Check(std::string_view input, const ParsedMessage& m) {
  if ((m.format == resyncwatch::SyslogFormat::kRaw) == m.raw_reason.empty()) std::abort();
  if (m.port < 0 || m.port > 65535) std::abort();
  if (m.facility < -1 || m.facility > 23 || m.severity < -1 || m.severity > 7) std::abort();
  for (std::string_view v : {m.timestamp_text, m.host, m.app, m.identifier, m.sn, m.model, m.url,
                             m.scheme, m.server, m.path, m.error, m.message, m.raw_reason}) {
    CheckView(v, input, m);
  }
  CheckRedacted(m.message);
  CheckRedacted(m.url);
  CheckRedacted(m.error);
}

// When the greedy walk of a template succeeds, RE2 must agree on the match and on every
// capture (the walk is only a faster way to the same answer).
void CheckWalkAgreesWithRe2(const TemplateSet& set, std::string_view text) {
  for (const auto& t : set.impl().templates) {
    std::array<std::string_view, resyncwatch::kFieldCount> walked;
    if (!resyncwatch::WalkTemplate(t, text, &walked)) continue;
    re2::StringPiece groups[resyncwatch::kFieldCount + 2];
    if (!t.re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::ANCHOR_BOTH,
                     groups, t.max_group + 1)) {
      std::abort();
    }
    for (int f = 0; f < resyncwatch::kFieldCount; ++f) {
      int g = t.group[f];
      std::string_view want = g > 0 && groups[g].data() != nullptr
                                  ? std::string_view(groups[g].data(), groups[g].size())
                                  : std::string_view();
      if (want.data() != walked[f].data() && !(want.empty() && walked[f].empty())) std::abort();
      if (want.size() != walked[f].size()) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  resyncwatch::ParseContext ctx;
  ctx.reference_us = 1'795'000'000'000'000;
  ParsedMessage m;
  resyncwatch::Parse(input, Defaults(), ctx, &m);
  Check(input, m);
  ParsedMessage moved = std::move(m);
  Check(input, moved);
  resyncwatch::Parse(input, Custom(), ctx, &moved);
  Check(input, moved);
  CheckWalkAgreesWithRe2(Defaults(), input);
  CheckWalkAgreesWithRe2(Custom(), input);

  resyncwatch::TcpFrameDecoder decoder(size > 0 ? 16 + data[0] : 64);
  size_t cut = size > 1 ? data[1] % size : 0;
  auto on_frame = [&](std::string_view frame) {
    ParsedMessage f = resyncwatch::Parse(frame, Defaults(), ctx);
    Check(frame, f);
  };
  decoder.Feed(input.substr(0, cut), on_frame);
  decoder.Feed(input.substr(cut), on_frame);
  decoder.Finish(on_frame);
  return 0;
}
