// FlagSet: command-line options declared once as a table of name, type, default and
// one-line help. The table drives parsing, validation, --help and the README lists.
// A FlagSet is a plain value owned by one command; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace resyncwatch {

enum class FlagType {
  kBool,        // --json (no value)
  kString,      // --db DIR
  kInt,         // --limit 20 (signed 64-bit)
  kDuration,    // --grace 15m (microseconds; see ParseDuration)
  kBytes,       // --rcvbuf 32MiB (bytes; K/M/G, KiB/MiB/GiB)
  kStringList,  // --listen URL, repeatable
};

struct FlagSpec {
  std::string_view name;  // without the leading "--"
  FlagType type;
  std::string_view default_value;  // "" = no default
  std::string_view value_name;     // shown in --help ("DIR", "URL"); "" for kBool
  std::string_view help;           // one line
};

// One key of a config file section, as its module's key table declares it: for
// `resyncwatchd --help-config` and README's lists.
struct ConfigKeyDoc {
  std::string key;            // dotted: "alerts.rules.failures.window"
  std::string value;          // what it takes: "DUR", "N", "Yes/No", ...
  std::string default_value;  // "" = none
  std::string help;           // one line
};

class FlagSet {
 public:
  explicit FlagSet(std::span<const FlagSpec> specs) : specs_(specs) {}

  // Parses "--name value", "--name=value" and positional arguments ("--" ends options).
  // Errors name the option and the value: "--since: '2x' is not a duration".
  Status Parse(std::span<const std::string_view> args);
  // Sets a value as if given on the command line unless the command line already did
  // (config files call this so that flags win). Validates like Parse.
  Status SetIfUnset(std::string_view name, std::string_view value);
  Status AppendIfUnset(std::string_view name, std::string_view value);

  // True when given on the command line or by SetIfUnset.
  bool IsSet(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  // The given value, else the default ("" when neither).
  std::string GetString(std::string_view name) const;
  int64_t GetInt(std::string_view name) const;
  int64_t GetDuration(std::string_view name) const;  // microseconds
  int64_t GetBytes(std::string_view name) const;
  std::vector<std::string> GetList(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // "Usage: <usage>\n\n<description>\n\nOptions:\n  --db DIR  ..." plus examples.
  std::string Help(std::string_view usage, std::string_view description,
                   std::string_view examples) const;
  // The option list as a Markdown table, for docs.
  std::string MarkdownTable() const;
  std::span<const FlagSpec> specs() const { return specs_; }

  static std::optional<int64_t> ParseBytes(std::string_view text);

 private:
  const FlagSpec* Find(std::string_view name) const;
  Status Validate(const FlagSpec& spec, std::string_view value) const;
  std::span<const FlagSpec> specs_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

}  // namespace resyncwatch
