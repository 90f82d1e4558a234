// Internal to parsers/: what follows the syslog header. Finds the relay's host and tag
// (if any), the Syslog_Identifier, and the phone's template text; fills ParsedMessage.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parsers/parsers.h"
#include "parsers/syslog_header.h"
#include "parsers/template_set_impl.h"

namespace resyncwatch {

struct ParsedMessage::Scratch {
  std::string buf;        // owned text the views may point into; never reallocated
                          // while a parse is using it (see PhoneText::Keep)
  std::vector<int> hits;  // RE2::Set results
  parsers_internal::YearCache years;
  void Reset() { buf.clear(); }
};

class PhoneText {
 public:
  // REQUIRES: out->scratch is set; input_size is the size of the whole datagram.
  PhoneText(const TemplateSet& templates, ParsedMessage* out, size_t input_size);

  // After an RFC 3164 timestamp (or PRI): "[HOST] [TAG:] [IDENTIFIER] TEXT".
  void Analyze3164(std::string_view rest);
  // An RFC 5424 MSG; host and app may hold parts of the phone's text moved there by a
  // relay (rsyslog turns "CP-6841-3PCC 00:0e:..." into HOSTNAME and APP-NAME).
  void Analyze5424(std::string_view host, std::string_view app, std::string_view msg);
  // No header at all: "[IDENTIFIER] TEXT".
  void AnalyzeBare(std::string_view text);
  // text itself, or a copy with URL user-info and --key values replaced by ***.
  std::string_view Redacted(std::string_view text);

 private:
  struct Attempt {
    std::string_view identifier;
    IdentifierForm form = IdentifierForm::kNone;
    MacAddress id_mac = 0;  // the identifier's MAC, for the three MAC forms
    std::string_view body;
    TemplateMatch match;  // match.field is meaningful only when matched
    bool matched = false;
    // Clears all but match.field, which a match overwrites whole (cheaper than = {}).
    void Reset() {
      identifier = {};
      form = IdentifierForm::kNone;
      id_mac = 0;
      body = {};
      match.tmpl = nullptr;
      matched = false;
    }
  };
  void Identify(std::string_view text, Attempt* a);
  bool Try(std::string_view text, Attempt* a);
  void Finish(const Attempt& a);
  // Copies the concatenation into the scratch buffer; the view stays valid for the life
  // of the ParsedMessage (the buffer is reserved once per parse and never grows past).
  std::string_view Keep(std::string_view a, std::string_view b = {}, std::string_view c = {},
                        std::string_view d = {});
  std::string_view RejoinSplitMac(std::string_view text, bool colon_less);

  const TemplateSet::Impl& impl_;
  ParsedMessage* m_;
  ParsedMessage::Scratch& s_;
  size_t reserve_;
  // The last token classified by Analyze3164, so that Identify does not redo it.
  std::string_view known_tok_;
  IdentifierForm known_form_ = IdentifierForm::kNone;
  MacAddress known_mac_ = 0;
};

}  // namespace resyncwatch
