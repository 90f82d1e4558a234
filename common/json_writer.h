// JsonWriter: builds one JSON object (a JSON-lines record) into a string, for every
// --json output of resyncwatch. Strings are escaped; bytes that are not valid UTF-8
// become U+FFFD so that the output is always valid JSON. Not thread-safe; cheap to reuse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace resyncwatch {

class JsonWriter {
 public:
  // Starts a new top-level object, dropping whatever was built before.
  void Begin();
  // Closes the top-level object; str() is then one complete JSON object.
  void End();

  void String(std::string_view key, std::string_view value);
  // Writes null when value is absent.
  void OptionalString(std::string_view key, std::optional<std::string_view> value);
  void Int(std::string_view key, int64_t value);
  void OptionalInt(std::string_view key, std::optional<int64_t> value);
  void Double(std::string_view key, double value);
  void Bool(std::string_view key, bool value);
  void Null(std::string_view key);
  // Nested object / array under key; close with EndObject/EndArray.
  void BeginObject(std::string_view key);
  void EndObject();
  void BeginArray(std::string_view key);
  void EndArray();
  // Array elements (only between BeginArray and EndArray).
  void ArrayString(std::string_view value);
  void ArrayInt(int64_t value);
  void ArrayBeginObject();
  // Pre-rendered JSON value under key (REQUIRES: valid JSON).
  void RawValue(std::string_view key, std::string_view json);

  const std::string& str() const { return out_; }

  // Appends value as a quoted, escaped JSON string to out.
  static void AppendQuoted(std::string* out, std::string_view value);

 private:
  void Key(std::string_view key);
  void Separator();
  std::string out_;
  bool need_comma_ = false;
};

}  // namespace resyncwatch
