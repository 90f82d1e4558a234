// Parse: one datagram in, one ParsedMessage out. The framing is recognised here, the
// phone's own text (identifier, template) by parsers/phone_text.h.
#include <cstring>

#include "parsers/parsers.h"
#include "parsers/phone_text.h"
#include "parsers/syslog_header.h"

namespace resyncwatch {

using parsers_internal::PriStatus;

ParsedMessage::ParsedMessage() = default;
ParsedMessage::~ParsedMessage() = default;
ParsedMessage::ParsedMessage(ParsedMessage&&) noexcept = default;
ParsedMessage& ParsedMessage::operator=(ParsedMessage&&) noexcept = default;

namespace {

constexpr size_t kMaxDatagram = 1 << 20;

void Reset(ParsedMessage* m) {
  auto scratch = std::move(m->scratch);
  *m = ParsedMessage();
  if (!scratch) scratch = std::make_unique<ParsedMessage::Scratch>();
  scratch->Reset();
  m->scratch = std::move(scratch);
}

void Raw(ParsedMessage* m, std::string_view text, std::string_view reason) {
  m->format = SyslogFormat::kRaw;
  m->facility = m->severity = -1;
  m->raw_reason = reason;
  m->message = text;
  m->kind = EventKind::kUnknown;
}

bool IsBlank(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

}  // namespace

void Parse(std::string_view datagram, const TemplateSet& templates, const ParseContext& ctx,
           ParsedMessage* out) {
  Reset(out);
  std::string_view text = datagram;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == '\0')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return Raw(out, text, "empty datagram");
  if (text.size() > kMaxDatagram) return Raw(out, text.substr(0, 0), "longer than 1 MiB");
  PhoneText phone(templates, out, text.size());
  // A raw body is stored and printed too: it gets the same redaction as any other.
  auto raw = [&](std::string_view reason) { Raw(out, phone.Redacted(text), reason); };
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
    return raw("NUL byte inside the datagram");
  }
  if (IsBlank(text)) return raw("only blanks");

  std::string_view rest = text;
  int pri = -1;
  std::string_view reason;
  switch (parsers_internal::ReadPri(&rest, &pri, &reason)) {
    case PriStatus::kMalformed:
      return raw(reason);
    case PriStatus::kOk:
      out->facility = pri >> 3;
      out->severity = pri & 7;
      if (IsBlank(rest)) return raw("nothing after PRI");
      break;
    case PriStatus::kAbsent:
      break;
  }

  if (pri >= 0 && rest.size() >= 2 && rest[0] == '1' && rest[1] == ' ') {
    parsers_internal::Rfc5424Fields f;
    if (!parsers_internal::ReadRfc5424(rest.substr(2), &f, &reason)) {
      return raw(reason);
    }
    out->format = SyslogFormat::kRfc5424;
    out->timestamp_text = f.timestamp.text;
    out->message_time_us = f.timestamp.micros;
    out->host = f.host;
    out->app = f.app;
    phone.Analyze5424(f.host, f.app, f.msg);
    return;
  }

  parsers_internal::Timestamp ts;
  bool has_ts = parsers_internal::ReadTimestamp(&rest, ctx, &ts, &out->scratch->years);
  if (has_ts) {
    out->timestamp_text = ts.text;
    out->message_time_us = ts.micros;
  }
  if (pri >= 0 || has_ts) {
    out->format = SyslogFormat::kRfc3164;
    phone.Analyze3164(rest);
  } else {
    out->format = SyslogFormat::kBare;
    phone.AnalyzeBare(rest);
  }
}

ParsedMessage Parse(std::string_view datagram, const TemplateSet& templates,
                    const ParseContext& ctx) {
  ParsedMessage m;
  Parse(datagram, templates, ctx, &m);
  return m;
}

}  // namespace resyncwatch
