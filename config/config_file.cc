#include "config/config_file.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <simdjson.h>

#include <algorithm>
#include <set>
#include <vector>

#include "common/file_text.h"

namespace resyncwatch {
namespace {

std::string OptionName(std::string_view key) {
  std::string name(key);
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

bool IsOption(std::string_view name) {
  if (IsCommandLineOnlyOption(name)) return false;
  for (const FlagSpec& spec : DaemonOptionSpecs()) {
    if (spec.name == name) return true;
  }
  return false;
}

const ConfigSection* FindSection(std::string_view name) {
  for (const ConfigSection& s : ConfigSections()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Edit distance, to suggest the section or option a typo meant.
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string UnknownKey(std::string_view key) {
  std::string best;
  size_t best_distance = 3;  // suggest only a near miss
  auto consider = [&](std::string_view candidate) {
    size_t d = Distance(OptionName(key), candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  };
  std::string sections;
  for (const ConfigSection& s : ConfigSections()) {
    consider(s.name);
    sections += (sections.empty() ? "" : ", ") + std::string(s.name);
  }
  for (const FlagSpec& spec : DaemonOptionSpecs()) {
    if (!IsCommandLineOnlyOption(spec.name)) consider(spec.name);
  }
  std::string hint = best.empty() ? "" : "did you mean \"" + best + "\"? ";
  return "\"" + std::string(key) + "\": unknown key (" + hint + "sections: " + sections +
         "; options: resyncwatchd --help)";
}

std::string Scalar(simdjson::dom::element value, bool* ok) {
  *ok = true;
  switch (value.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(std::string_view(value.get_string().value()));
    case simdjson::dom::element_type::INT64:
      return std::to_string(int64_t(value.get_int64().value()));
    case simdjson::dom::element_type::UINT64:
      return std::to_string(uint64_t(value.get_uint64().value()));
    case simdjson::dom::element_type::BOOL:
      return value.get_bool().value() ? "true" : "false";
    default:
      *ok = false;
      return {};
  }
}

// As deep as simdjson parses; rapidjson's reader recurses once per level, without a limit.
constexpr int kMaxJsonDepth = 1024;

// Ends the syntax check past kMaxJsonDepth levels of objects and arrays.
class DepthLimit : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthLimit> {
 public:
  bool StartObject() { return ++depth_ <= kMaxJsonDepth; }
  bool EndObject(rapidjson::SizeType) { return --depth_ >= 0; }
  bool StartArray() { return ++depth_ <= kMaxJsonDepth; }
  bool EndArray(rapidjson::SizeType) { return --depth_ >= 0; }
  bool too_deep() const { return depth_ > kMaxJsonDepth; }

 private:
  int depth_ = 0;
};

// "line L, column C" of a byte offset; columns count bytes.
std::string LineAndColumn(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

}  // namespace

std::string JsonSyntaxError(std::string_view text) {
  // In place, in a copy: rapidjson 1.1's copying string parse does arithmetic on its empty
  // stack's null pointer. Its UTF-8 check takes a sequence's continuation bytes without
  // looking for the end, so the copy ends in as many NULs as a sequence has of them.
  std::string copy(text);
  copy.append(3, '\0');
  rapidjson::InsituStringStream in(copy.data());
  DepthLimit handler;
  rapidjson::Reader reader;
  reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag>(in, handler);
  // The in-place parse takes a NUL for the end of the text: whatever it said from there on
  // is the NUL's doing. JSON allows none outside strings and only escaped inside them.
  const size_t nul = text.find('\0');
  const size_t offset =
      reader.HasParseError() ? std::min(reader.GetErrorOffset(), text.size()) : text.size();
  if (nul != std::string_view::npos && nul <= offset) {
    return LineAndColumn(text, nul) + ": A NUL byte is not allowed in JSON.";
  }
  if (!reader.HasParseError()) return {};
  if (handler.too_deep()) {
    return LineAndColumn(text, offset) + ": nested deeper than " + std::to_string(kMaxJsonDepth) +
           " levels";
  }
  return LineAndColumn(text, offset) + ": " +
         rapidjson::GetParseError_En(reader.GetParseErrorCode());
}

Result<ConfigFile> ConfigFile::Load(const std::string& path) {
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) return Status::InvalidArgument("config " + text.status().message());
  return FromText(path, std::move(*text));
}

Result<ConfigFile> ConfigFile::FromText(std::string path, std::string text) {
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument("config " + path + ": " + why);
  };
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(text).get(root); err) {
    // simdjson says what but not where; the grammar check finds the place.
    std::string where = JsonSyntaxError(text);
    return fail(where.empty() ? std::string("not valid JSON: ") + simdjson::error_message(err)
                              : "not valid JSON: " + where);
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return fail("the top level must be a JSON object");
  for (auto field : object) {
    if (FindSection(field.key) != nullptr) {
      if (!field.value.is_object())
        return fail("\"" + std::string(field.key) + "\": must be an object");
    } else if (!IsOption(OptionName(field.key))) {
      return fail(UnknownKey(field.key));
    }
  }
  return ConfigFile(std::move(path), std::move(text));
}

Status ConfigFile::ApplyOptions(FlagSet* flags) const {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(text_).get_object().get(object)) {
    return Status::InvalidArgument("config " + path_ + ": the top level must be a JSON object");
  }
  std::set<std::string, std::less<>> lists_on_command_line;
  for (const FlagSpec& spec : flags->specs()) {
    if (spec.type == FlagType::kStringList && flags->IsSet(spec.name)) {
      lists_on_command_line.emplace(spec.name);
    }
  }
  for (auto field : object) {
    if (FindSection(field.key) != nullptr) continue;
    const std::string key(field.key);
    const std::string name = OptionName(key);
    auto fail = [&](std::string_view why) {
      return Status::InvalidArgument("config " + path_ + ": \"" + key + "\": " + std::string(why));
    };
    // Flag errors read "--name: 'x' is not ..."; the file names its key instead.
    auto rename = [&](const Status& s) {
      std::string msg = s.message();
      std::string prefix = "--" + name + ": ";
      if (msg.rfind(prefix, 0) == 0) msg.erase(0, prefix.size());
      return fail(msg);
    };
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : flags->specs()) {
      if (s.name == name && !IsCommandLineOnlyOption(name)) spec = &s;
    }
    if (spec == nullptr) return fail("unknown key");
    bool ok = false;
    if (spec->type == FlagType::kStringList) {
      std::vector<std::string> items;
      simdjson::dom::array array;
      if (!field.value.get_array().get(array)) {
        for (auto item : array) {
          if (!item.is_string()) return fail("must be an array of strings");
          items.push_back(Scalar(item, &ok));
        }
      } else if (field.value.is_string()) {
        items.push_back(Scalar(field.value, &ok));
      } else {
        return fail("must be an array of strings");
      }
      if (lists_on_command_line.count(name) != 0) continue;
      for (const std::string& item : items) {
        if (Status s = flags->AppendIfUnset(name, item); !s.ok()) return rename(s);
      }
      continue;
    }
    std::string value = Scalar(field.value, &ok);
    if (!ok) return fail("must be a string, a number or a boolean");
    if (Status s = flags->SetIfUnset(name, value); !s.ok()) return rename(s);
  }
  return Status::Ok();
}

Status ConfigFile::ValidateSections(std::string_view except) const {
  for (const ConfigSection& section : ConfigSections()) {
    if (section.name == except) continue;
    if (Status s = section.validate(text_); !s.ok()) return Prefixed(s);
  }
  return Status::Ok();
}

Status ConfigFile::Prefixed(const Status& s) const {
  return Status::InvalidArgument("config " + path_ + ": " + s.message());
}

Result<ConfigFile> LoadAndValidateConfig(const std::string& path, std::string_view except) {
  Result<ConfigFile> file = ConfigFile::Load(path);
  if (!file.ok()) return file.status();
  FlagSet options(DaemonOptionSpecs());
  if (Status s = file->ApplyOptions(&options); !s.ok()) return s;
  if (Status s = file->ValidateSections(except); !s.ok()) return s;
  return file;
}

}  // namespace resyncwatch
