// printable: text from outside (a config key, an argument, a datagram) made safe to show
// in a one-line message. Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace resyncwatch {

// The text with each control character (and DEL) written as an escape: \n, \r, \t, or \xNN.
// Other bytes are kept, so UTF-8 stays readable; the result holds no line break.
std::string Printable(std::string_view text);

// An error whose message quotes outside text (a config key, a template), shown on one line.
inline Status OneLine(const Status& s) {
  return s.ok() ? s : s.WithMessage(Printable(s.message()));
}
template <typename T>
Result<T> OneLine(Result<T> r) {
  if (r.ok()) return r;
  return OneLine(r.status());
}

}  // namespace resyncwatch
