// Helpers shared by the parsers tests.
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "common/time_format.h"
#include "parsers/parsers.h"

namespace resyncwatch::testing {

inline const TemplateSet& DefaultTemplates() {
  static const TemplateSet set = TemplateSet::Defaults().value();
  return set;
}

// Parses at 2026-11-25T12:00:00Z unless given. A ParsedMessage borrows its input, so
// the input is copied into storage that lives as long as the test binary.
inline ParsedMessage ParseAt(std::string_view text, int64_t reference_us = 1'795'608'000'000'000,
                             const TemplateSet& t = DefaultTemplates()) {
  static std::deque<std::string> inputs;
  inputs.emplace_back(text);
  ParseContext ctx;
  ctx.reference_us = reference_us;
  return Parse(inputs.back(), t, ctx);
}

inline std::string MacOf(const ParsedMessage& m) { return m.mac ? FormatMac(m.mac) : ""; }

inline std::string TimeOf(const ParsedMessage& m) {
  return m.message_time_us ? FormatIso8601Utc(*m.message_time_us) : "";
}

}  // namespace resyncwatch::testing
