// Internal to parsers/: the compiled form of a TemplateSet and the one-pass matcher.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <array>
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

struct CompiledTemplate {
  EventKind kind = EventKind::kUnknown;
  std::string text;     // as configured
  std::string pattern;  // the RE2 pattern it compiled into
  std::unique_ptr<RE2> re;
  std::array<int, kFieldCount> group{};  // capture group index per field, 0 = none
  int max_group = 0;
};

struct TemplateSet::Impl {
  std::vector<CompiledTemplate> templates;  // priority order
  std::unique_ptr<RE2::Set> set;            // all patterns, anchored at both ends
};

// The captures of the first template (in priority order) that matches all of body.
struct TemplateMatch {
  const CompiledTemplate* tmpl = nullptr;
  std::array<std::string_view, kFieldCount> field{};
};

// REQUIRES: hits is a buffer the caller reuses between calls (avoids an allocation).
bool MatchTemplates(const TemplateSet::Impl& impl, std::string_view body, std::vector<int>* hits,
                    TemplateMatch* match);

}  // namespace resyncwatch
