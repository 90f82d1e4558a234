#include "parsers/url.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace resyncwatch::parsers_internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

// End of the authority that starts at `from` (the first '/', whitespace, or end).
size_t AuthorityEnd(std::string_view text, size_t from) {
  size_t i = from;
  while (i < text.size() && text[i] != '/' && !IsSpace(text[i])) ++i;
  return i;
}

// Profile-rule options whose value is a secret: the AES key, and the credentials some
// provisioning servers take (the user name, --uid, is not one).
constexpr std::string_view kSecretOptions[] = {"key", "pwd", "passwd", "password"};

// When text[pos] starts "--NAME" followed by '=' or a blank, for a NAME above: the index
// just after NAME; else 0.
size_t SecretOptionEnd(std::string_view text, size_t pos) {
  if (text.substr(pos, 2) != "--") return 0;
  for (std::string_view name : kSecretOptions) {
    size_t end = pos + 2 + name.size();
    if (end < text.size() && text.substr(pos + 2, name.size()) == name &&
        (text[end] == '=' || text[end] == ' ' || text[end] == '\t')) {
      return end;
    }
  }
  return 0;
}

// The value after an option name: a quoted string (to its closing quote, or to the end of
// a text cut short) or a run up to a blank or ']'. Returns [begin, end).
std::pair<size_t, size_t> OptionValue(std::string_view text, size_t name_end) {
  size_t begin = name_end;
  while (begin < text.size() && (text[begin] == '=' || text[begin] == ' ' || text[begin] == '\t')) {
    ++begin;
  }
  size_t end = begin;
  if (begin < text.size() && text[begin] == '"') {
    size_t close = text.find('"', begin + 1);
    end = close == std::string_view::npos ? text.size() : close + 1;
  } else {
    while (end < text.size() && !IsSpace(text[end]) && text[end] != ']') ++end;
  }
  return {begin, end};
}

// A URL authority that runs to the end of the text and has a ':' followed by something
// other than a port: "http://user:secr" cut inside its password. Its start, or npos.
// text.rfind("://"), by memrchr for the ':' (rfind compares at every position backwards).
size_t RFindSchemeSeparator(std::string_view text) {
  size_t n = text.size();
  while (const void* hit = memrchr(text.data(), ':', n)) {
    const size_t p = static_cast<size_t>(static_cast<const char*>(hit) - text.data());
    if (p + 2 < text.size() && text[p + 1] == '/' && text[p + 2] == '/') return p;
    n = p;
  }
  return std::string_view::npos;
}

size_t CutCredentialStart(std::string_view text) {
  size_t p = RFindSchemeSeparator(text);
  if (p == std::string_view::npos) return std::string_view::npos;
  size_t begin = p + 3;
  if (AuthorityEnd(text, begin) != text.size() || begin == text.size()) {
    return std::string_view::npos;
  }
  std::string_view auth = text.substr(begin);
  size_t colon = auth.rfind(':');
  if (auth.front() == '[' || colon == std::string_view::npos) return std::string_view::npos;
  std::string_view port = auth.substr(colon + 1);
  bool digits = !port.empty();
  for (char c : port) digits = digits && IsDigit(c);
  return digits ? std::string_view::npos : begin;
}

}  // namespace

bool SplitUrl(std::string_view url, UrlParts* parts) {
  *parts = UrlParts{};
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  parts->scheme = url.substr(0, sep);
  size_t auth_begin = sep + 3;
  size_t auth_end = AuthorityEnd(url, auth_begin);
  std::string_view auth = url.substr(auth_begin, auth_end - auth_begin);
  size_t at = auth.rfind('@');
  if (at != std::string_view::npos) {
    parts->userinfo = auth.substr(0, at);
    auth.remove_prefix(at + 1);
  }
  if (!auth.empty() && auth.front() == '[') {
    size_t close = auth.find(']');
    if (close == std::string_view::npos) return false;
    parts->server = auth.substr(0, close + 1);
    auth.remove_prefix(close + 1);
  } else {
    size_t colon = auth.find(':');
    parts->server = auth.substr(0, colon);
    auth.remove_prefix(colon == std::string_view::npos ? auth.size() : colon);
  }
  if (!auth.empty() && auth.front() == ':') {
    auth.remove_prefix(1);
    size_t n = 0;
    while (n < auth.size() && IsDigit(auth[n])) ++n;
    if (n != auth.size()) return false;
    parts->port = auth;
  } else if (!auth.empty()) {
    return false;
  }
  if (parts->server.empty()) return false;
  if (auth_end < url.size()) parts->path = url.substr(auth_end);
  return true;
}

int DefaultPort(std::string_view scheme) {
  if (EqualsNoCase(scheme, "tftp")) return 69;
  if (EqualsNoCase(scheme, "http")) return 80;
  if (EqualsNoCase(scheme, "https")) return 443;
  return 0;
}

bool NeedsRedaction(std::string_view text) {
  // Cheap tests first: an option needs "--", user-info an '@' or a cut authority.
  if (text.empty()) return false;
  // Every '-' followed by '-' (in "---key" the option's "--" overlaps an earlier one), by
  // memchr: every phone message has " -- ", and memmem's setup cost more than the search.
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  for (const char* p = begin; p < end;) {
    p = static_cast<const char*>(std::memchr(p, '-', static_cast<size_t>(end - p)));
    if (p == nullptr || end - p < 3) break;
    // The secret names start with 'k' or 'p'.
    if (p[1] == '-' && (p[2] == 'k' || p[2] == 'p') &&
        SecretOptionEnd(text, static_cast<size_t>(p - begin)) != 0) {
      return true;
    }
    ++p;
  }
  if (CutCredentialStart(text) != std::string_view::npos) return true;
  if (std::memchr(text.data(), '@', text.size()) == nullptr) return false;
  for (size_t p = text.find("://"); p != std::string_view::npos; p = text.find("://", p + 3)) {
    size_t end = AuthorityEnd(text, p + 3);
    if (text.substr(p + 3, end - p - 3).find('@') != std::string_view::npos) return true;
  }
  return false;
}

namespace {

// The secret spans of text: URL user-info, a credential cut at the end of the text and,
// when with_keys, the values of the secret options.
std::vector<std::pair<size_t, size_t>> SecretSpans(std::string_view text, bool with_keys) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t p = text.find("://"); p != std::string_view::npos; p = text.find("://", p + 1)) {
    size_t begin = p + 3;
    size_t end = AuthorityEnd(text, begin);
    size_t at = text.substr(begin, end - begin).rfind('@');
    if (at != std::string_view::npos && at > 0) spans.emplace_back(begin, begin + at);
  }
  size_t cut = CutCredentialStart(text);
  if (cut != std::string_view::npos) spans.emplace_back(cut, text.size());
  if (!with_keys) return spans;
  for (size_t k = text.find("--"); k != std::string_view::npos; k = text.find("--", k + 1)) {
    size_t name_end = SecretOptionEnd(text, k);
    if (name_end == 0) continue;
    auto [begin, end] = OptionValue(text, name_end);
    if (end > begin) spans.emplace_back(begin, end);
  }
  return spans;
}

// Appends text with the spans (merged where they overlap or touch) replaced by "***".
void ReplaceSpans(std::string_view text, std::vector<std::pair<size_t, size_t>> spans,
                  std::string* out) {
  std::sort(spans.begin(), spans.end());
  size_t i = 0;
  for (size_t s = 0; s < spans.size();) {
    size_t begin = spans[s].first, end = spans[s].second;
    for (++s; s < spans.size() && spans[s].first <= end; ++s) end = std::max(end, spans[s].second);
    out->append(text.substr(i, begin - i));
    out->append("***");
    i = end;
  }
  out->append(text.substr(i));
}

}  // namespace

void AppendRedacted(std::string_view text, std::string* out) {
  // Spans are found on the original text (URLs may overlap: "a://u@b://v@c"). Removing a
  // "--key" value that ended at ']' can join what follows to an earlier URL's authority,
  // so the user-info pass runs once more over the result; user-info spans hold no '/',
  // blank or trailing '@', so that second pass leaves nothing for a third.
  std::string first;
  ReplaceSpans(text, SecretSpans(text, true), &first);
  ReplaceSpans(first, SecretSpans(first, false), out);
}

}  // namespace resyncwatch::parsers_internal
