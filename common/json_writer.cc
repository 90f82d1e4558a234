#include "common/json_writer.h"

#include <cmath>
#include <cstdio>

namespace resyncwatch {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are rejected).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

}  // namespace

void JsonWriter::AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD for each invalid byte
        ++i;
      } else {
        out->append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

void JsonWriter::Begin() {
  out_.clear();
  out_.push_back('{');
  need_comma_ = false;
}

void JsonWriter::End() { out_.push_back('}'); }

void JsonWriter::Separator() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

void JsonWriter::Key(std::string_view key) {
  Separator();
  AppendQuoted(&out_, key);
  out_.push_back(':');
}

void JsonWriter::String(std::string_view key, std::string_view value) {
  Key(key);
  AppendQuoted(&out_, value);
}

void JsonWriter::OptionalString(std::string_view key, std::optional<std::string_view> value) {
  if (value) {
    String(key, *value);
  } else {
    Null(key);
  }
}

void JsonWriter::Int(std::string_view key, int64_t value) {
  Key(key);
  out_.append(std::to_string(value));
}

void JsonWriter::OptionalInt(std::string_view key, std::optional<int64_t> value) {
  if (value) {
    Int(key, *value);
  } else {
    Null(key);
  }
}

void JsonWriter::Double(std::string_view key, double value) {
  Key(key);
  if (!std::isfinite(value)) {
    out_.append("null");
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  out_.append(buf);
}

void JsonWriter::Bool(std::string_view key, bool value) {
  Key(key);
  out_.append(value ? "true" : "false");
}

void JsonWriter::Null(std::string_view key) {
  Key(key);
  out_.append("null");
}

void JsonWriter::BeginObject(std::string_view key) {
  Key(key);
  out_.push_back('{');
  need_comma_ = false;
}

void JsonWriter::EndObject() {
  out_.push_back('}');
  need_comma_ = true;
}

void JsonWriter::BeginArray(std::string_view key) {
  Key(key);
  out_.push_back('[');
  need_comma_ = false;
}

void JsonWriter::EndArray() {
  out_.push_back(']');
  need_comma_ = true;
}

void JsonWriter::ArrayString(std::string_view value) {
  Separator();
  AppendQuoted(&out_, value);
}

void JsonWriter::ArrayInt(int64_t value) {
  Separator();
  out_.append(std::to_string(value));
}

void JsonWriter::ArrayBeginObject() {
  Separator();
  out_.push_back('{');
  need_comma_ = false;
}

void JsonWriter::RawValue(std::string_view key, std::string_view json) {
  Key(key);
  out_.append(json);
}

}  // namespace resyncwatch
