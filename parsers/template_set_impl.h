// Internal to parsers/: the compiled form of a TemplateSet and the one-pass matcher.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/parsers.h"

namespace resyncwatch {

// The ParsedMessage fields a template can fill.
enum TemplateField : int {
  kFieldModel,
  kFieldMac,
  kFieldSn,
  kFieldUrl,
  kFieldScheme,
  kFieldServer,
  kFieldPort,
  kFieldPath,
  kFieldError,
  kFieldCount,
};

// Byte classes of the macros' patterns (a bit per class, see template_walk.cc).
enum CharClass : uint8_t {
  kClassNameFirst,   // [A-Za-z0-9]
  kClassNameRest,    // [A-Za-z0-9._+-]
  kClassHex,         // [0-9A-Fa-f]
  kClassSnRest,      // [A-Za-z0-9-]
  kClassAlpha,       // [A-Za-z]
  kClassSchemeRest,  // [A-Za-z0-9+.-]
  kClassDigit,       // [0-9]
  kClassNonSpace,    // \S: not [\t\n\f\r ]
  kClassIp,          // [0-9A-Fa-f.:\[\]]
  kClassServer,      // [A-Za-z0-9_.-]
  kClassBlank,       // [ \t]
};

// The template's RE2 pattern as a list of steps, walked left to right taking the
// greedy choice at each step and never backtracking. When the walk succeeds its
// captures are exactly RE2's (it is the first path of RE2's leftmost-first order);
// when it fails, the template's RE2 gives the captures.
struct WalkStep {
  enum Op : uint8_t { kLiteral, kBlank, kClass, kAny, kMac, kServer, kUrl };
  Op op = kLiteral;
  std::string literal;                 // kLiteral
  CharClass first = kClassNonSpace;    // kClass: the first byte's class
  CharClass rest = kClassNonSpace;     // kClass: the other bytes' class
  uint32_t min = 1, max = UINT32_MAX;  // kClass: length bounds
  int field = -1;                      // TemplateField captured (first occurrence only), or -1
};

struct CompiledTemplate {
  EventKind kind = EventKind::kUnknown;
  std::string text;          // as configured
  std::string pattern;       // the RE2 pattern it compiled into
  std::string prefix;        // pattern up to its last literal: what the RE2::Set looks for
  std::string required;      // its longest literal: a body without it cannot match (or empty)
  size_t required_rare = 0;  // the byte of required searched for first (see RarestByte)
  std::unique_ptr<RE2> re;
  std::array<int, kFieldCount> group{};  // capture group index per field, 0 = none
  int max_group = 0;
  std::vector<WalkStep> steps;
};

struct TemplateSet::Impl {
  std::vector<CompiledTemplate> templates;  // priority order
  std::unique_ptr<RE2::Set> set;            // all prefixes, anchored at the start
  // Every template has a required literal: finding those picks the candidates, cheaper
  // than running the set (which stays for templates made of macros alone).
  bool by_required_literal = false;
};

// The captures of the first template (in priority order) that matches all of body.
struct TemplateMatch {
  const CompiledTemplate* tmpl = nullptr;
  std::array<std::string_view, kFieldCount> field{};
};

// Walks t.steps over text; true (with the captures) when the greedy walk matches all of it.
bool WalkTemplate(const CompiledTemplate& t, std::string_view text,
                  std::array<std::string_view, kFieldCount>* fields);

// REQUIRES: hits is a buffer the caller reuses between calls (avoids an allocation).
bool MatchTemplates(const TemplateSet::Impl& impl, std::string_view body, std::vector<int>* hits,
                    TemplateMatch* match);

}  // namespace resyncwatch
