// The resyncwatch config file, read one way by the daemon and by every command that takes
// --config. It is one JSON object whose keys are either resyncwatchd's options (the table
// DaemonOptionSpecs(); '_' may stand for '-') or a section another module reads (the
// registry ConfigSections(): "templates", "alerts", "schedule"). Anything else is refused
// with the same one line everywhere:
//   config /etc/resyncwatch/resyncwatch.json: "templats": unknown key (did you mean
//   "templates"? sections: templates, alerts, schedule; options: resyncwatchd --help)
// and a JSON syntax error says where: `config FILE: line 3, column 5: Missing a comma ...`.
// Each section's keys are checked by the module that owns it, through its registry entry,
// so that ValidateSections rejects a bad template, alert rule or schedule before anything
// is created. Plain values; the functions are thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/flags.h"
#include "common/status.h"

namespace resyncwatch {

// One section of the config file: a top-level key holding an object that one module reads.
struct ConfigSection {
  std::string_view name;
  std::string_view summary;  // one line, for --help and README
  // Checks the section in the whole file's text (absent: Ok). Errors start with the dotted
  // path of the bad key ("alerts.rules.failures.window: ...").
  Status (*validate)(std::string_view config_text);
  // Its keys, from the table its module reads them with (for --help-config and README).
  std::vector<ConfigKeyDoc> (*keys)();
};

// The registry: every section the file may hold, in the order README lists them.
std::span<const ConfigSection> ConfigSections();

// Every section's keys as Markdown tables (`resyncwatchd --help-config`, README).
std::string ConfigSectionsMarkdown();

// resyncwatchd's options, each also a top-level key of the file (except the command-line
// only ones: config, help, help-markdown, help-config, version). Drives its flags, --help and
// README.
std::span<const FlagSpec> DaemonOptionSpecs();
bool IsCommandLineOnlyOption(std::string_view name);

class ConfigFile {
 public:
  // Reads path and checks the JSON and the top-level keys (sections must be objects).
  // Errors: one line starting "config PATH: ".
  static Result<ConfigFile> Load(const std::string& path);
  // The same for text already read (path only names it in errors).
  static Result<ConfigFile> FromText(std::string path, std::string text);

  // Sets each option key of the file on flags (a table with DaemonOptionSpecs' names)
  // unless the command line set it; a list given on the command line replaces the file's.
  // Values are checked as the flag parser checks them. Errors name the key and the file.
  Status ApplyOptions(FlagSet* flags) const;
  // Runs every section's check but `except`'s (a section the caller reads, and so checks,
  // itself); the first error, prefixed with "config PATH: " (Prefixed).
  Status ValidateSections(std::string_view except = {}) const;
  // "config PATH: " + s.message(), the form of every error about this file.
  Status Prefixed(const Status& s) const;

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

 private:
  ConfigFile(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}
  std::string path_;
  std::string text_;
};

// Where a JSON text is first invalid: "line 3, column 5: Missing a comma or '}' after an
// object member." (RFC 8259 grammar, UTF-8 checked); "" when it is valid JSON.
std::string JsonSyntaxError(std::string_view text);

// Loads path for a command: the file's keys and every section but `except` checked, the
// options' values checked against DaemonOptionSpecs. Errors as Load's.
Result<ConfigFile> LoadAndValidateConfig(const std::string& path, std::string_view except = {});

}  // namespace resyncwatch
