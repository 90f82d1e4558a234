// Compiling the phones' $-macro templates into RE2 patterns (and the equivalent walk
// steps), and matching them all in one pass: the templates whose longest literal is in
// the body are the candidates (or, when some template has no literal, an RE2::Set of the
// patterns' prefixes picks them), then the first candidate, in priority order, whose
// whole pattern matches wins: its walk (template_walk.cc) gives the captures, or its own
// RE2 when the walk cannot tell.
#include <simdjson.h>

#include <algorithm>
#include <cstring>

#include "common/printable.h"
#include "parsers/template_set_impl.h"

namespace resyncwatch {
namespace {

// How often a byte turns up in phone syslog, roughly: spaces, digits and the punctuation
// of MACs, addresses and URLs everywhere; common lower-case letters often; capitals and
// rare letters seldom. The literal's least frequent byte is the one to search for.
int ByteFrequency(unsigned char c) {
  if (c == ' ') return 100;
  if ((c >= '0' && c <= '9') || (c != 0 && std::strchr(":.-/_=", c) != nullptr)) return 90;
  if (c >= 'a' && c <= 'f') return 80;
  if (c != 0 && std::strchr("tonisrhlu", c) != nullptr) return 70;
  if (c >= 'a' && c <= 'z') return 40;
  if (c >= 'A' && c <= 'Z') return 20;
  return 30;
}

size_t RarestByte(std::string_view literal) {
  size_t best = 0;
  for (size_t i = 1; i < literal.size(); ++i) {
    if (ByteFrequency(static_cast<unsigned char>(literal[i])) <
        ByteFrequency(static_cast<unsigned char>(literal[best]))) {
      best = i;
    }
  }
  return best;
}

struct Macro {
  std::string_view name;
  std::string_view regex;
  int field;  // TemplateField, or -1 when the value is not kept
  // The same pattern as a walk step (see WalkStep).
  WalkStep::Op op = WalkStep::kClass;
  CharClass first = kClassNonSpace, rest = kClassNonSpace;
  uint32_t min = 1, max = UINT32_MAX;
};

constexpr std::string_view kToken = R"(\S*)";
constexpr std::string_view kName = R"([A-Za-z0-9][A-Za-z0-9._+-]*)";
constexpr std::string_view kServer = R"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)";

constexpr uint32_t kMany = UINT32_MAX;
const Macro kMacros[] = {
    {"PN", kName, kFieldModel, WalkStep::kClass, kClassNameFirst, kClassNameRest, 1, kMany},
    {"PSN", kName, -1, WalkStep::kClass, kClassNameFirst, kClassNameRest, 1, kMany},
    {"MA", "[0-9A-Fa-f]{12}", kFieldMac, WalkStep::kClass, kClassHex, kClassHex, 12, 12},
    {"MAU", "[0-9A-Fa-f]{12}", kFieldMac, WalkStep::kClass, kClassHex, kClassHex, 12, 12},
    {"MAC", "[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}", kFieldMac, WalkStep::kMac},
    {"SN", "[A-Za-z0-9][A-Za-z0-9-]*", kFieldSn, WalkStep::kClass, kClassNameFirst, kClassSnRest, 1,
     kMany},
    {"SCHEME", "[A-Za-z][A-Za-z0-9+.-]*", kFieldScheme, WalkStep::kClass, kClassAlpha,
     kClassSchemeRest, 1, kMany},
    {"METH", "[A-Za-z]+", -1, WalkStep::kClass, kClassAlpha, kClassAlpha, 1, kMany},
    {"SERV", kServer, kFieldServer, WalkStep::kServer},
    {"SERVIP", kServer, kFieldServer, WalkStep::kServer},
    {"PORT", "[0-9]{1,5}", kFieldPort, WalkStep::kClass, kClassDigit, kClassDigit, 1, 5},
    {"PATH", kToken, kFieldPath, WalkStep::kClass, kClassNonSpace, kClassNonSpace, 0, kMany},
    {"ERR", ".*", kFieldError, WalkStep::kAny},
    {"IP", R"([0-9A-Fa-f.:\[\]]+)", -1, WalkStep::kClass, kClassIp, kClassIp, 1, kMany},
    {"EXTIP", R"([0-9A-Fa-f.:\[\]]+)", -1, WalkStep::kClass, kClassIp, kClassIp, 1, kMany},
    {"SWVER", R"(\S+)", -1, WalkStep::kClass, kClassNonSpace, kClassNonSpace, 1, kMany},
    {"HWVER", R"(\S+)", -1, WalkStep::kClass, kClassNonSpace, kClassNonSpace, 1, kMany},
};

constexpr std::string_view kFieldGroupNames[kFieldCount] = {
    "model", "mac", "sn", "url", "scheme", "server", "port", "path", "error"};

// The documented defaults (MPP guide), one per kind, in EventKind order.
constexpr std::pair<EventKind, std::string_view> kDefaults[] = {
    {EventKind::kResyncRequest, "$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH"},
    {EventKind::kResyncSuccess, "$PN $MAC -- Successful resync $SCHEME://$SERVIP:$PORT$PATH"},
    {EventKind::kResyncFailure, "$PN $MAC -- Resync failed: $ERR"},
    {EventKind::kUpgradeRequest, "$PN $MAC -- Requesting upgrade $SCHEME://$SERVIP:$PORT$PATH"},
    {EventKind::kUpgradeSuccess,
     "$PN $MAC -- Successful upgrade $SCHEME://$SERVIP:$PORT$PATH -- $ERR"},
    {EventKind::kUpgradeFailure, "$PN $MAC -- Upgrade failed: $ERR"},
};

bool IsSpace(char c) { return c == ' ' || c == '\t'; }
bool IsMacroChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

// One piece of a template: a macro, a run of blanks, or a run of other literal bytes.
struct Piece {
  enum Type { kMacro, kBlank, kLiteral } type;
  std::string_view text;  // macro name without '$', or the literal bytes
  const Macro* macro = nullptr;
};

Result<const Macro*> LookupMacro(std::string_view name, std::string_view tmpl) {
  for (const auto& m : kMacros) {
    if (m.name == name) return &m;
  }
  static const Macro kGpp = {"", kToken, -1, WalkStep::kClass, kClassNonSpace, kClassNonSpace,
                             0,  kMany};
  if (name.size() == 1 && name[0] >= 'A' && name[0] <= 'P') return &kGpp;
  if (name.size() == 5 && name.substr(0, 4) == "GPP_" && name[4] >= 'A' && name[4] <= 'P') {
    return &kGpp;
  }
  return Status::InvalidArgument("template '" + std::string(tmpl) + "': unknown macro $" +
                                 std::string(name));
}

Result<std::vector<Piece>> Split(std::string_view tmpl) {
  std::vector<Piece> pieces;
  size_t i = 0;
  while (i < tmpl.size()) {
    char c = tmpl[i];
    if (c == '$') {
      if (i + 1 < tmpl.size() && tmpl[i + 1] == '$') {
        pieces.push_back({Piece::kLiteral, tmpl.substr(i, 1)});
        i += 2;
        continue;
      }
      size_t begin = i + 1;
      size_t end = begin;
      bool paren = begin < tmpl.size() && tmpl[begin] == '(';
      if (paren) ++begin, ++end;
      while (end < tmpl.size() && IsMacroChar(tmpl[end])) ++end;
      std::string_view name = tmpl.substr(begin, end - begin);
      if (name.empty() || (paren && (end >= tmpl.size() || tmpl[end] != ')'))) {
        return Status::InvalidArgument("template '" + std::string(tmpl) + "': '$' at offset " +
                                       std::to_string(i) + " is not followed by a macro name");
      }
      auto macro = LookupMacro(name, tmpl);
      if (!macro.ok()) return macro.status();
      pieces.push_back({Piece::kMacro, name, *macro});
      i = paren ? end + 1 : end;
    } else {
      size_t end = i;
      bool blank = IsSpace(c);
      while (end < tmpl.size() && tmpl[end] != '$' && IsSpace(tmpl[end]) == blank) ++end;
      pieces.push_back({blank ? Piece::kBlank : Piece::kLiteral, tmpl.substr(i, end - i)});
      i = end;
    }
  }
  return pieces;
}

bool IsMacro(const Piece& p, std::string_view name) {
  return p.type == Piece::kMacro && p.macro->name == name;
}

// Whether pieces[i] is followed only by one macro that matches any text ($ERR, ...).
bool EndsWithFreeText(const std::vector<Piece>& pieces, size_t i) {
  return i + 2 == pieces.size() && pieces[i + 1].type == Piece::kMacro &&
         pieces[i + 1].macro->op == WalkStep::kAny;
}

// Builds one template's regex (out.pattern) and walk steps (out.steps), piece by piece.
class PatternBuilder {
 public:
  explicit PatternBuilder(CompiledTemplate& out) : out_(out), re_(out.pattern) { re_ = "(?s)"; }

  // Adds pieces[i] (a URL also takes the pieces up to the next blank); returns the index of
  // the last piece it used.
  size_t Add(const std::vector<Piece>& pieces, size_t i) {
    const Piece& p = pieces[i];
    if (p.type == Piece::kBlank && EndsWithFreeText(pieces, i)) {
      // "Resync failed: $ERR" with an empty $ERR: the phone's trailing blank is gone once
      // the body is trimmed, so the blank before a last free-text macro may be absent.
      re_ += "[ \t]*";
      WalkStep step{WalkStep::kClass};
      step.first = step.rest = kClassBlank;
      step.min = 0;
      out_.steps.push_back(step);
    } else if (p.type == Piece::kBlank) {
      re_ += "[ \t]+";
      out_.steps.push_back({WalkStep::kBlank});
    } else if (p.type == Piece::kLiteral) {
      AddLiteral(p.text);
    } else if (IsMacro(p, "SCHEME") && i + 1 < pieces.size() &&
               pieces[i + 1].type == Piece::kLiteral && pieces[i + 1].text.substr(0, 3) == "://") {
      // A URL: everything up to the next blank is one token, split by code (with or
      // without ":$PORT", IPv6 in brackets, user-info), optionally behind "[--key X] ".
      while (i + 1 < pieces.size() && pieces[i + 1].type != Piece::kBlank) ++i;
      re_ += R"((?:\[[^\]]*\][ \t]*)?)";
      AddGroup(kFieldUrl, R"([A-Za-z][A-Za-z0-9+.-]*://[^\s/]+(?:/\S*)?)", {WalkStep::kUrl});
    } else {
      const Macro& m = *p.macro;
      WalkStep step{m.op};
      step.first = m.first;
      step.rest = m.rest;
      step.min = m.min;
      step.max = m.max;
      AddGroup(m.field, m.regex, std::move(step));
    }
    return i;
  }

  // The pattern up to the end of its last literal (all of it and "$" when it has none).
  std::string Prefix() const { return prefix_len_ > 0 ? re_.substr(0, prefix_len_) : re_ + "$"; }

 private:
  void AddLiteral(std::string_view text) {
    re_ += RE2::QuoteMeta(text);
    prefix_len_ = re_.size();
    if (!out_.steps.empty() && out_.steps.back().op == WalkStep::kLiteral) {
      out_.steps.back().literal += text;
    } else {
      WalkStep step;
      step.literal = std::string(text);
      out_.steps.push_back(std::move(step));
    }
  }

  // A field's first macro becomes its named group; a repeated one only matches.
  void AddGroup(int field, std::string_view regex, WalkStep step) {
    const bool name = field >= 0 && !named_[field];
    step.field = name ? field : -1;
    out_.steps.push_back(std::move(step));
    if (name) {
      named_[field] = true;
      re_ += "(?P<";
      re_ += kFieldGroupNames[field];
      re_ += ">";
    } else {
      re_ += "(?:";
    }
    re_ += regex;
    re_ += ")";
  }

  CompiledTemplate& out_;
  std::string& re_;
  bool named_[kFieldCount] = {};
  size_t prefix_len_ = 0;
};

// Picks the longest literal every matching body contains, compiles the pattern and records
// which group holds each field.
Status CompilePattern(CompiledTemplate& out) {
  constexpr size_t kMinRequired = 3;  // shorter ones ("--", ":") are in too many bodies
  for (const WalkStep& step : out.steps) {
    if (step.op == WalkStep::kLiteral && step.literal.size() >= kMinRequired &&
        step.literal.size() > out.required.size()) {
      out.required = step.literal;
    }
  }
  out.required_rare = RarestByte(out.required);
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingLatin1);  // any byte, valid UTF-8 or not
  out.re = std::make_unique<RE2>(out.pattern, options);
  if (!out.re->ok()) {
    return Status::InvalidArgument("template '" + out.text +
                                   "' does not compile: " + out.re->error());
  }
  const auto& names = out.re->NamedCapturingGroups();
  for (int f = 0; f < kFieldCount; ++f) {
    auto it = names.find(std::string(kFieldGroupNames[f]));
    if (it != names.end()) {
      out.group[f] = it->second;
      out.max_group = std::max(out.max_group, it->second);
    }
  }
  return Status::Ok();
}

Result<CompiledTemplate> Compile(EventKind kind, std::string_view tmpl) {
  CompiledTemplate out;
  out.kind = kind;
  out.text = std::string(tmpl);
  auto split = Split(tmpl);
  if (!split.ok()) return split.status();
  std::vector<Piece>& pieces = *split;
  while (!pieces.empty() && pieces.back().type == Piece::kBlank) pieces.pop_back();
  size_t first = 0;
  while (first < pieces.size() && pieces[first].type == Piece::kBlank) ++first;
  if (first == pieces.size()) {
    return Status::InvalidArgument("template '" + out.text + "' is blank");
  }
  {
    PatternBuilder builder(out);
    for (size_t i = first; i < pieces.size(); ++i) i = builder.Add(pieces, i);
    out.prefix = builder.Prefix();
  }
  if (Status s = CompilePattern(out); !s.ok()) return s;
  return out;
}

std::string_view DefaultFor(EventKind kind) {
  for (const auto& [k, t] : kDefaults) {
    if (k == kind) return t;
  }
  return {};
}

}  // namespace

Result<TemplateSet> TemplateSet::FromTemplates(
    const std::vector<std::pair<EventKind, std::string>>& templates) {
  auto impl = std::make_shared<Impl>();
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingLatin1);
  impl->set = std::make_unique<RE2::Set>(options, RE2::ANCHOR_START);
  for (const auto& [kind, text] : templates) {
    auto compiled = Compile(kind, text);
    if (!compiled.ok()) return compiled.status();
    std::string error;
    if (impl->set->Add(compiled->prefix, &error) < 0) {
      return Status::InvalidArgument("template '" + text + "': " + error);
    }
    impl->templates.push_back(std::move(*compiled));
  }
  impl->by_required_literal =
      std::all_of(impl->templates.begin(), impl->templates.end(),
                  [](const CompiledTemplate& t) { return !t.required.empty(); });
  if (!impl->set->Compile()) {
    return Status::InvalidArgument("the " + std::to_string(templates.size()) +
                                   " templates do not fit in one RE2::Set");
  }
  return TemplateSet(std::move(impl));
}

Result<TemplateSet> TemplateSet::Defaults() {
  std::vector<std::pair<EventKind, std::string>> list;
  for (const auto& [kind, text] : kDefaults) list.emplace_back(kind, std::string(text));
  return FromTemplates(list);
}

Result<TemplateSet> TemplateSet::FromConfigJson(std::string_view json_text) {
  // Keys and texts from the file appear in the messages: one line each (common/printable.h).
  return OneLine([&]() -> Result<TemplateSet> {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json_text.data(), json_text.size());
    simdjson::dom::element root;
    if (auto error = parser.parse(padded).get(root); error) {
      return Status::InvalidArgument(std::string("config is not valid JSON: ") +
                                     simdjson::error_message(error));
    }
    simdjson::dom::object top;
    if (root.get(top)) return Status::InvalidArgument("config: the top level must be an object");
    simdjson::dom::element templates;
    if (top["templates"].get(templates)) return Defaults();
    simdjson::dom::object by_kind;
    if (templates.get(by_kind)) {
      return Status::InvalidArgument("templates: must be an object of kind -> list");
    }
    std::vector<std::vector<std::string>> per_kind(kEventKindCount);
    std::vector<bool> configured(kEventKindCount, false);
    for (auto field : by_kind) {
      std::string key(field.key);
      auto kind = EventKindFromString(key);
      if (!kind || DefaultFor(*kind).empty()) {
        return Status::InvalidArgument(
            "templates." + key +
            ": unknown key (expected resync_request, resync_success, resync_failure, "
            "upgrade_request, upgrade_success or upgrade_failure)");
      }
      auto k = static_cast<size_t>(*kind);
      configured[k] = true;
      auto add = [&](simdjson::dom::element e) -> Status {
        std::string_view text;
        if (e.get(text)) {
          return Status::InvalidArgument("templates." + key + ": each template must be a string");
        }
        if (text == "default") text = DefaultFor(*kind);
        bool blank = std::all_of(text.begin(), text.end(), [](char c) { return IsSpace(c); });
        if (!blank) per_kind[k].emplace_back(text);
        return Status::Ok();
      };
      simdjson::dom::array list;
      if (!field.value.get(list)) {
        for (auto e : list) {
          if (Status s = add(e); !s.ok()) return s;
        }
      } else if (Status s = add(field.value); !s.ok()) {
        return s;
      }
    }
    std::vector<std::pair<EventKind, std::string>> list;
    for (const auto& [kind, text] : kDefaults) {
      auto k = static_cast<size_t>(kind);
      if (!configured[k]) per_kind[k].emplace_back(text);
    }
    // Priority: configured templates first within each kind, kinds in EventKind order.
    for (size_t k = 0; k < per_kind.size(); ++k) {
      for (auto& text : per_kind[k]) list.emplace_back(static_cast<EventKind>(k), text);
    }
    auto set = FromTemplates(list);
    if (!set.ok()) return Status::InvalidArgument("templates: " + set.status().message());
    return set;
  }());
}

std::vector<ConfigKeyDoc> TemplateConfigKeyDocs() {
  // The phone's parameter that holds each message (provisioning guide).
  static constexpr std::string_view kParameter[] = {
      "Log_Request_Msg",         "Log_Success_Msg",         "Log_Failure_Msg",
      "Log_Upgrade_Request_Msg", "Log_Upgrade_Success_Msg", "Log_Upgrade_Failure_Msg"};
  std::vector<ConfigKeyDoc> out;
  size_t i = 0;
  for (const auto& [kind, text] : kDefaults) {
    out.push_back({"templates." + std::string(ToString(kind)), "[TEMPLATE...]",
                   "[\"" + std::string(text) + "\"]",
                   "the phones' " + std::string(kParameter[i++]) +
                       ": replaces the default (\"default\" keeps it; [] = not sent)"});
  }
  return out;
}

size_t TemplateSet::size() const { return impl_->templates.size(); }

std::vector<std::pair<EventKind, std::string>> TemplateSet::Templates() const {
  std::vector<std::pair<EventKind, std::string>> out;
  for (const auto& t : impl_->templates) out.emplace_back(t.kind, t.text);
  return out;
}

namespace {

// Whether body contains literal, searching first for its byte at rare: a literal that
// starts with a space (" -- Resync failed: ") made std::string_view::find stop at every
// space of the body, six templates over.
bool ContainsLiteral(std::string_view body, std::string_view literal, size_t rare) {
  if (body.size() < literal.size()) return false;
  const char* from = body.data() + rare;
  const char* end = body.data() + body.size() - (literal.size() - rare) + 1;
  while (from < end) {
    const auto* hit =
        static_cast<const char*>(std::memchr(from, literal[rare], static_cast<size_t>(end - from)));
    if (hit == nullptr) return false;
    if (std::memcmp(hit - rare, literal.data(), literal.size()) == 0) return true;
    from = hit + 1;
  }
  return false;
}

}  // namespace

bool MatchTemplates(const TemplateSet::Impl& impl, std::string_view body, std::vector<int>* hits,
                    TemplateMatch* match) {
  if (impl.templates.empty()) return false;
  re2::StringPiece text(body.data(), body.size());
  hits->clear();
  if (impl.by_required_literal) {
    // Candidates in priority order: the templates whose required literal is in the body.
    for (size_t i = 0; i < impl.templates.size(); ++i) {
      const CompiledTemplate& t = impl.templates[i];
      if (ContainsLiteral(body, t.required, t.required_rare)) {
        hits->push_back(static_cast<int>(i));
      }
    }
    if (hits->empty()) return false;
  } else {
    RE2::Set::ErrorInfo info{};
    if (!impl.set->Match(text, hits, &info)) {
      if (info.kind != RE2::Set::kOutOfMemory) return false;
      // The set's DFA ran out of its memory budget on this input: try every template
      // rather than lose the event.
      hits->resize(impl.templates.size());
      for (size_t i = 0; i < hits->size(); ++i) (*hits)[i] = static_cast<int>(i);
    }
    std::sort(hits->begin(), hits->end());
  }
  re2::StringPiece groups[kFieldCount + 2];
  for (int i : *hits) {
    const CompiledTemplate& t = impl.templates[static_cast<size_t>(i)];
    match->tmpl = &t;
    if (WalkTemplate(t, body, &match->field)) return true;
    if (!t.re->Match(text, 0, text.size(), RE2::ANCHOR_BOTH, groups, t.max_group + 1)) continue;
    for (int f = 0; f < kFieldCount; ++f) {
      int g = t.group[f];
      match->field[f] = g > 0 && groups[g].data() != nullptr
                            ? std::string_view(groups[g].data(), groups[g].size())
                            : std::string_view();
    }
    return true;
  }
  match->tmpl = nullptr;
  return false;
}

}  // namespace resyncwatch
