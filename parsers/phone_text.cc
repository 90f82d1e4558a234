#include "parsers/phone_text.h"

#include "parsers/url.h"

namespace resyncwatch {
namespace {

using parsers_internal::AppendRedacted;
using parsers_internal::NeedsRedaction;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsUpper(c) || IsLower(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view FirstToken(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] != ' ') ++i;
  return s.substr(0, i);
}

// What follows token (a prefix of s) and the spaces after it.
std::string_view After(std::string_view s, std::string_view token) {
  size_t i = token.size();
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// "CP-8851-3PCC", "SPA504G", "SPA-2000", "ATA192-3PCC", "PAP2T".
bool IsModel(std::string_view t) {
  auto digit_at = [&](size_t i) { return i < t.size() && IsDigit(t[i]); };
  if (t.substr(0, 3) == "CP-") return digit_at(3);
  if (t.substr(0, 3) == "SPA") return digit_at(3) || (t.size() > 4 && t[3] == '-' && digit_at(4));
  if (t.substr(0, 3) == "ATA") return digit_at(3);
  return t.substr(0, 4) == "PAP2";
}

// "hh:hh:hh:hh:hh" followed by a space or the end: the rest of a MAC a relay split.
bool IsMacTail(std::string_view s) {
  if (s.size() < 14 || (s.size() > 14 && s[14] != ' ')) return false;
  for (size_t i = 0; i < 14; ++i) {
    if (i % 3 == 2 ? s[i] != ':' : !IsHex(s[i])) return false;
  }
  return true;
}

// The Syslog_Identifier form of token t; *mac gets its MAC for the three MAC forms.
IdentifierForm Classify(std::string_view t, MacAddress* mac = nullptr) {
  if (t.size() < 9 || t.size() > 17) return IdentifierForm::kNone;
  MacAddress scratch = 0;
  if (mac == nullptr) mac = &scratch;
  if (t.size() == 17) {
    for (size_t i = 0; i < 17; ++i) {
      if (i % 3 == 2 ? t[i] != ':' : !IsHex(t[i])) return IdentifierForm::kNone;
    }
    *mac = ParseMac(t).value_or(0);
    return *mac != 0 ? IdentifierForm::kMac : IdentifierForm::kNone;
  }
  bool hex = true, upper = false, lower = false;
  int digits = 0, letters = 0;
  for (char c : t) {
    if (!IsAlnum(c)) return IdentifierForm::kNone;
    hex = hex && IsHex(c);
    upper = upper || IsUpper(c);
    lower = lower || IsLower(c);
    digits += IsDigit(c);
    letters += !IsDigit(c);
  }
  if (t.size() == 12 && hex && !(upper && lower)) {
    *mac = ParseMac(t).value_or(0);
    if (*mac != 0) return upper ? IdentifierForm::kMau : IdentifierForm::kMa;
  }
  // Cisco serials: "FCH2251A1B2", "88012BA01234": upper-case letters and digits.
  if (t.size() >= 9 && t.size() <= 14 && !lower && letters >= 1 && digits >= 3) {
    return IdentifierForm::kSn;
  }
  return IdentifierForm::kNone;
}

// "TAG:" or "TAG[PID]:" -> "TAG"; empty when token is not a tag.
std::string_view TagName(std::string_view t) {
  if (t.size() < 2 || t.back() != ':') return {};
  std::string_view name = t.substr(0, t.size() - 1);
  if (name.back() == ']') {
    size_t open = name.find('[');
    if (open == std::string_view::npos || open == 0) return {};
    for (size_t i = open + 1; i + 1 < name.size(); ++i) {
      if (!IsDigit(name[i])) return {};
    }
    name = name.substr(0, open);
  }
  for (char c : name) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.' && c != '/') return {};
  }
  return name;
}

bool IsHost(std::string_view t) {
  if (t.empty() || t.size() > 255 || !IsAlnum(t[0]) || t.back() == ':') return false;
  for (char c : t) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.' && c != ':') return false;
  }
  return true;
}

// A SIP message as SPA debug output sends it: "SIP/2.0 200 OK" or "INVITE sip:...".
bool IsSip(std::string_view body) {
  if (body.substr(0, 8) == "SIP/2.0 ") return true;
  size_t i = 0;
  while (i < body.size() && i < 12 && IsUpper(body[i])) ++i;
  if (i < 3 || i >= body.size() || body[i] != ' ') return false;
  std::string_view uri = body.substr(i + 1, 5);
  return uri.substr(0, 4) == "sip:" || uri == "sips:" || uri.substr(0, 4) == "tel:";
}

int PortNumber(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return 0;
  int v = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return 0;
    v = v * 10 + (c - '0');
  }
  return v <= 65535 ? v : 0;
}

}  // namespace

PhoneText::PhoneText(const TemplateSet& templates, ParsedMessage* out, size_t input_size)
    : impl_(templates.impl()), m_(out), s_(*out->scratch), reserve_(12 * input_size + 64) {}

std::string_view PhoneText::Keep(std::string_view a, std::string_view b, std::string_view c,
                                 std::string_view d) {
  if (s_.buf.empty() && s_.buf.capacity() < reserve_) s_.buf.reserve(reserve_);
  size_t need = a.size() + b.size() + c.size() + d.size();
  if (s_.buf.size() + need > s_.buf.capacity()) return {};  // unreachable by the bound
  size_t start = s_.buf.size();
  s_.buf.append(a).append(b).append(c).append(d);
  return std::string_view(s_.buf.data() + start, need);
}

std::string_view PhoneText::Redacted(std::string_view text) {
  if (!NeedsRedaction(text)) return text;
  std::string tmp;
  AppendRedacted(text, &tmp);  // at most 2 * size + 3 bytes
  return Keep(tmp);
}

std::string_view PhoneText::RejoinSplitMac(std::string_view text, bool colon_less) {
  // rsyslog splits the MAC within the first four tokens. Walking them is cheaper than a
  // search for ": " first was (memchr stopped at every colon of the MAC and the URL).
  std::string_view rest = text;
  for (int n = 0; n < 4 && !rest.empty(); ++n) {
    std::string_view tok = FirstToken(rest);
    std::string_view next = After(rest, tok);
    bool split = (tok.size() == 3 && tok[2] == ':') || (colon_less && tok.size() == 2);
    if (split && IsHex(tok[0]) && IsHex(tok[1]) && next.size() > 0 && IsMacTail(next)) {
      size_t head = static_cast<size_t>(tok.data() - text.data()) + 2;
      std::string_view joined = Keep(text.substr(0, head), ":", next);
      return joined.empty() ? text : joined;
    }
    rest = next;
  }
  return text;
}

void PhoneText::Identify(std::string_view text, Attempt* a) {
  a->body = text;
  std::string_view tok = FirstToken(text);
  std::string_view after = After(text, tok);
  if (after.empty()) return;
  IdentifierForm form;
  if (tok.data() == known_tok_.data() && tok.size() == known_tok_.size()) {
    form = known_form_;
    a->id_mac = known_mac_;
  } else {
    form = Classify(tok, &a->id_mac);
  }
  if (form == IdentifierForm::kNone) return;
  a->identifier = tok;
  a->form = form;
  a->body = after;
}

bool PhoneText::Try(std::string_view text, Attempt* a) {
  a->Reset();
  Identify(text, a);
  a->body = TrimRight(a->body);
  a->matched = MatchTemplates(impl_, a->body, &s_.hits, &a->match);
  return a->matched;
}

void PhoneText::Analyze3164(std::string_view rest) {
  rest = RejoinSplitMac(TrimRight(rest), false);
  struct Candidate {
    std::string_view host, app, text;
    bool exists;
  };
  std::string_view tried[5];
  int n_tried = 0;
  Attempt a;
  auto attempt = [&](const Candidate& c) {
    if (!c.exists) return false;
    a.Reset();
    Identify(c.text, &a);
    std::string_view body = TrimRight(a.body);
    for (int i = 0; i < n_tried; ++i) {
      if (tried[i].data() == body.data()) return false;  // same body, same answer
    }
    tried[n_tried++] = body;
    a.body = body;
    a.matched = MatchTemplates(impl_, body, &s_.hits, &a.match);
    if (a.matched) {
      m_->host = c.host;
      m_->app = c.app;
    }
    return a.matched;
  };
  auto phoneish = [](std::string_view t, IdentifierForm form) {
    return form != IdentifierForm::kNone || IsModel(t) ||
           ((t.size() == 12 || t.size() == 14 || t.size() == 17) && ParseMac(t).has_value());
  };
  std::string_view t0 = FirstToken(rest);
  std::string_view after0 = After(rest, t0);
  known_tok_ = t0;
  known_form_ = Classify(t0, &known_mac_);
  const Candidate c0{{}, {}, rest, true};
  // The shape of the tokens says which framing is likely; it is tried first (and is the
  // answer when no template matches), then the others, so that a relay's header in front
  // of a template line is found whatever it looks like. Phones' own lines: one try.
  const bool phone0 = phoneish(t0, known_form_);
  if (phone0 && attempt(c0)) return Finish(a);
  std::string_view t1 = FirstToken(after0);
  std::string_view after1 = After(after0, t1);
  std::string_view tag0 = TagName(t0);
  std::string_view tag1 = TagName(t1);
  bool host0 = tag0.empty() && IsHost(t0) && !after0.empty();
  const Candidate with_tag{{}, tag0, after0, !tag0.empty()};
  const Candidate with_host{t0, {}, after0, host0};
  const Candidate with_both{t0, tag1, after1, host0 && !tag1.empty()};
  const Candidate* guess = &c0;
  if (phone0) {
  } else if (with_tag.exists) {
    guess = &with_tag;
  } else if (with_both.exists) {
    guess = &with_both;
  } else if (host0 && phoneish(t1, Classify(t1))) {
    guess = &with_host;
  }
  for (const Candidate* c : {guess, &c0, &with_tag, &with_host, &with_both}) {
    if (attempt(*c)) return Finish(a);
  }
  m_->host = guess->host;
  m_->app = guess->app;
  a.Reset();
  Identify(guess->text, &a);
  Finish(a);
}

void PhoneText::Analyze5424(std::string_view host, std::string_view app, std::string_view msg) {
  // rsyslog's RFC 5424 templates put a blank before %msg%, and a message it read as RFC
  // 3164 keeps the blank that followed the tag: the phone's text starts after them.
  while (!msg.empty() && (msg.front() == ' ' || msg.front() == '\t')) msg.remove_prefix(1);
  Attempt a;
  if (Try(msg, &a)) return Finish(a);
  // A relay moved the start of the phone's text into HOSTNAME / APP-NAME: put it back,
  // and report neither as host or app (as for the phone's own datagram).
  if (IsModel(app) && !msg.empty() && Try(Keep(app, " ", msg), &a)) {
    m_->app = {};
    if (a.identifier.empty() && Classify(host) != IdentifierForm::kNone) {
      a.identifier = host;
      a.form = Classify(host, &a.id_mac);
      m_->host = {};
    }
    return Finish(a);
  }
  if (IsModel(host) && !app.empty() && !msg.empty()) {
    std::string_view whole = Keep(host, " ", app, " ");
    if (!whole.empty()) whole = Keep(whole, msg);
    if (!whole.empty() && Try(RejoinSplitMac(whole, true), &a)) {
      m_->host = {};
      m_->app = {};
      return Finish(a);
    }
  }
  a.Reset();
  Identify(msg, &a);
  Finish(a);
}

void PhoneText::AnalyzeBare(std::string_view text) {
  Attempt a;
  if (Try(text, &a)) return Finish(a);
  a.Reset();
  Identify(text, &a);
  Finish(a);
}

void PhoneText::Finish(const Attempt& a) {
  ParsedMessage& m = *m_;
  std::string_view body = TrimRight(a.body);
  // url and error are parts of the body: they can hold a secret only when it does.
  const bool secrets = parsers_internal::NeedsRedaction(body);
  m.identifier = a.identifier;
  m.identifier_form = a.form;
  if (a.matched) {
    const auto& f = a.match.field;
    m.kind = a.match.tmpl->kind;
    m.model = f[kFieldModel];
    m.mac = ParseMac(f[kFieldMac]).value_or(0);
    m.sn = f[kFieldSn];
    m.scheme = f[kFieldScheme];
    m.server = f[kFieldServer];
    m.path = f[kFieldPath];
    std::string_view port = f[kFieldPort];
    if (!f[kFieldUrl].empty()) {
      m.url = f[kFieldUrl];
      parsers_internal::UrlParts parts;
      if (parsers_internal::SplitUrl(m.url, &parts)) {
        m.scheme = parts.scheme;
        m.server = parts.server;
        m.path = parts.path;
        port = parts.port;
      }
      if (secrets) m.url = Redacted(m.url);
    }
    // The bare host, as URL libraries give it; the URL keeps the brackets of an IPv6.
    if (m.server.size() > 2 && m.server.front() == '[' && m.server.back() == ']') {
      m.server = m.server.substr(1, m.server.size() - 2);
    }
    m.port = PortNumber(port);
    if (port.empty() && !m.scheme.empty()) m.port = parsers_internal::DefaultPort(m.scheme);
    m.error = TrimRight(f[kFieldError]);
    if (secrets) m.error = Redacted(m.error);
  } else {
    std::string_view t0 = FirstToken(body);
    std::string_view t1 = FirstToken(After(body, t0));
    if (IsModel(t0)) {
      m.model = t0;
      m.mac = ParseMac(t1).value_or(0);
    } else {
      m.mac = ParseMac(t0).value_or(0);
      if (IsModel(m.app)) m.model = m.app;  // a relay's tag or APP-NAME
    }
  }
  // The identifier fills what the text did not say; a 12-hex identifier that names
  // another MAC than the text's was a serial number all along.
  if (a.form == IdentifierForm::kMa || a.form == IdentifierForm::kMau ||
      a.form == IdentifierForm::kMac) {
    MacAddress id_mac = a.id_mac;
    if (m.mac == 0) {
      m.mac = id_mac;
    } else if (id_mac != m.mac && a.form != IdentifierForm::kMac) {
      m.identifier_form = IdentifierForm::kSn;
    }
  }
  if (m.identifier_form == IdentifierForm::kSn && m.sn.empty()) m.sn = a.identifier;
  if (!a.matched) {
    bool phone = !m.identifier.empty() || m.mac != 0 || !m.model.empty() || IsModel(m.host) ||
                 IsModel(m.app) || IsSip(body);
    m.kind = phone ? EventKind::kDebug : EventKind::kUnknown;
  }
  m.message = secrets ? Redacted(body) : body;
}

}  // namespace resyncwatch
