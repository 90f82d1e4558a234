// The greedy, non-backtracking walk of a template's steps: the fast way to the
// captures of the template RE2::Set chose (see WalkStep).
#include <algorithm>
#include <array>
#include <cstring>

#include "parsers/template_set_impl.h"

namespace resyncwatch {
namespace {

constexpr std::array<uint16_t, 256> BuildClasses() {
  std::array<uint16_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z', digit = c >= '0' && c <= '9';
    bool alpha = lower || upper, alnum = alpha || digit;
    bool hex = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    auto set = [&](CharClass k, bool on) {
      if (on) t[c] = static_cast<uint16_t>(t[c] | (1u << k));
    };
    set(kClassNameFirst, alnum);
    set(kClassNameRest, alnum || c == '.' || c == '_' || c == '+' || c == '-');
    set(kClassHex, hex);
    set(kClassSnRest, alnum || c == '-');
    set(kClassAlpha, alpha);
    set(kClassSchemeRest, alnum || c == '+' || c == '.' || c == '-');
    set(kClassDigit, digit);
    set(kClassNonSpace, c != '\t' && c != '\n' && c != '\f' && c != '\r' && c != ' ');
    set(kClassIp, hex || c == '.' || c == ':' || c == '[' || c == ']');
    set(kClassServer, alnum || c == '_' || c == '.' || c == '-');
    set(kClassBlank, c == ' ' || c == '\t');
  }
  return t;
}

constexpr std::array<uint16_t, 256> kClasses = BuildClasses();

// One byte per (class, byte): the walk's inner loops do a single load per byte.
constexpr std::array<std::array<uint8_t, 256>, kClassBlank + 1> BuildTables() {
  std::array<std::array<uint8_t, 256>, kClassBlank + 1> t{};
  for (int k = 0; k <= kClassBlank; ++k) {
    for (int c = 0; c < 256; ++c) t[k][c] = (kClasses[c] >> k) & 1;
  }
  return t;
}
constexpr auto kTables = BuildTables();

inline bool In(CharClass k, char c) { return kTables[k][static_cast<unsigned char>(c)] != 0; }

// Length of the run of class-k bytes at text[pos], at most max.
size_t Run(std::string_view text, size_t pos, CharClass k, size_t max = SIZE_MAX) {
  const uint8_t* table = kTables[k].data();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  size_t limit = std::min(max, text.size() - pos);
  size_t n = 0;
  while (n < limit && table[p[n]]) ++n;
  return n;
}

// [0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}
bool Mac(std::string_view text, size_t pos) {
  if (text.size() - pos < 17) return false;
  for (size_t i = 0; i < 17; ++i) {
    char c = text[pos + i];
    if (i % 3 == 2 ? (c != ':' && c != '-') : !In(kClassHex, c)) return false;
  }
  return true;
}

// \[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+ ; returns the length, 0 when neither matches.
size_t Server(std::string_view text, size_t pos) {
  if (pos < text.size() && text[pos] == '[') {
    size_t n = 1;
    while (pos + n < text.size() &&
           (In(kClassHex, text[pos + n]) || text[pos + n] == ':' || text[pos + n] == '.')) {
      ++n;
    }
    return n > 1 && pos + n < text.size() && text[pos + n] == ']' ? n + 1 : 0;
  }
  return Run(text, pos, kClassServer);
}

// (?:\[[^\]]*\][ \t]*)?  then  [A-Za-z][A-Za-z0-9+.-]*://[^\s/]+(?:/\S*)?
// Sets *begin to where the URL starts; returns its end, or npos. The options may touch the
// URL ("[--key X ]http://..."): the guide's examples put the blank inside the brackets.
size_t Url(std::string_view text, size_t pos, size_t* begin) {
  if (pos < text.size() && text[pos] == '[') {
    size_t close = text.find(']', pos + 1);
    if (close == std::string_view::npos) return std::string_view::npos;
    pos = close + 1 + Run(text, close + 1, kClassBlank);
  }
  *begin = pos;
  if (pos >= text.size() || !In(kClassAlpha, text[pos])) return std::string_view::npos;
  pos += 1 + Run(text, pos + 1, kClassSchemeRest);
  if (text.substr(pos, 3) != "://") return std::string_view::npos;
  pos += 3;
  size_t host = 0;
  while (pos + host < text.size() && In(kClassNonSpace, text[pos + host]) &&
         text[pos + host] != '/') {
    ++host;
  }
  if (host == 0) return std::string_view::npos;
  pos += host;
  if (pos < text.size() && text[pos] == '/') pos += 1 + Run(text, pos + 1, kClassNonSpace);
  return pos;
}

}  // namespace

bool WalkTemplate(const CompiledTemplate& t, std::string_view text,
                  std::array<std::string_view, kFieldCount>* fields) {
  fields->fill({});
  size_t pos = 0;
  const size_t n = t.steps.size();
  for (size_t i = 0; i < n; ++i) {
    const WalkStep& s = t.steps[i];
    size_t begin = pos;
    switch (s.op) {
      case WalkStep::kLiteral: {
        const size_t len = s.literal.size();
        if (text.size() - pos < len) return false;
        for (size_t k = 0; k < len; ++k) {
          if (text[pos + k] != s.literal[k]) return false;
        }
        pos += len;
        break;
      }
      case WalkStep::kBlank: {
        size_t k = Run(text, pos, kClassBlank);
        if (k == 0) return false;
        pos += k;
        break;
      }
      case WalkStep::kClass: {
        if (s.max == 0) break;
        size_t k = pos < text.size() && In(s.first, text[pos]) ? 1 : 0;
        if (k == 1) k += Run(text, pos + 1, s.rest, s.max - 1);
        if (k < s.min) return false;
        pos += k;
        break;
      }
      case WalkStep::kMac:
        if (!Mac(text, pos)) return false;
        pos += 17;
        break;
      case WalkStep::kServer: {
        size_t k = Server(text, pos);
        if (k == 0) return false;
        pos += k;
        break;
      }
      case WalkStep::kUrl: {
        size_t end = Url(text, pos, &begin);
        if (end == std::string_view::npos) return false;
        pos = end;
        break;
      }
      case WalkStep::kAny:
        if (i + 1 == n) {
          pos = text.size();
        } else if (t.steps[i + 1].op == WalkStep::kLiteral) {
          // Greedy .* gives back bytes until the literal fits: its last occurrence.
          size_t at = text.rfind(t.steps[i + 1].literal);
          if (at == std::string_view::npos || at < pos) return false;
          pos = at;
        } else {
          return false;  // the template's RE2 decides
        }
        break;
    }
    if (s.field >= 0) (*fields)[s.field] = text.substr(begin, pos - begin);
  }
  return pos == text.size();
}

}  // namespace resyncwatch
