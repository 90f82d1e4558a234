#include "common/flags.h"

#include <charconv>

#include "common/printable.h"
#include "common/time_format.h"

namespace resyncwatch {
namespace {

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<int64_t> FlagSet::ParseBytes(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data() || v < 0) return std::nullopt;
  std::string_view unit(end, s.data() + s.size() - end);
  int64_t mult;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "K" || unit == "KiB" || unit == "k") {
    mult = 1LL << 10;
  } else if (unit == "M" || unit == "MiB") {
    mult = 1LL << 20;
  } else if (unit == "G" || unit == "GiB") {
    mult = 1LL << 30;
  } else {
    return std::nullopt;
  }
  if (v > INT64_MAX / mult) return std::nullopt;
  return v * mult;
}

const FlagSpec* FlagSet::Find(std::string_view name) const {
  for (const FlagSpec& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Status FlagSet::Validate(const FlagSpec& spec, std::string_view value) const {
  auto bad = [&](std::string_view what) {
    return Status::InvalidArgument("--" + std::string(spec.name) + ": '" + Printable(value) +
                                   "' is not " + std::string(what));
  };
  switch (spec.type) {
    case FlagType::kBool:
      if (value != "true" && value != "false" && value != "1" && value != "0") {
        return bad("true or false");
      }
      break;
    case FlagType::kInt:
      if (!ParseInt(value)) return bad("an integer");
      break;
    case FlagType::kDuration:
      if (!ParseDuration(value)) return bad("a duration (30s, 15m, 2h, 7d)");
      break;
    case FlagType::kBytes:
      if (!ParseBytes(value)) return bad("a size (65536, 512KiB, 32MiB)");
      break;
    case FlagType::kString:
    case FlagType::kStringList:
      break;
  }
  return Status::Ok();
}

Status FlagSet::Parse(std::span<const std::string_view> args) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (options_done || arg.size() < 2 || arg.substr(0, 2) != "--") {
      if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-' && !options_done &&
          !(arg[1] >= '0' && arg[1] <= '9')) {
        return Status::InvalidArgument("unknown option '" + Printable(arg) +
                                       "' (options are spelled --name)");
      }
      positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string_view> inline_value;
    if (size_t eq = name.find('='); eq != std::string_view::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = Find(name);
    if (spec == nullptr) {
      return Status::InvalidArgument("unknown option '--" + Printable(name) + "'");
    }
    std::string value;
    if (spec->type == FlagType::kBool) {
      value = inline_value ? std::string(*inline_value) : "true";
    } else if (inline_value) {
      value = std::string(*inline_value);
    } else {
      if (i + 1 >= args.size()) {
        return Status::InvalidArgument("--" + std::string(name) + " needs a value (" +
                                       std::string(spec->value_name) + ")");
      }
      value = std::string(args[++i]);
    }
    if (Status s = Validate(*spec, value); !s.ok()) return s;
    auto& slot = values_[std::string(name)];
    if (spec->type != FlagType::kStringList) slot.clear();
    slot.push_back(std::move(value));
  }
  return Status::Ok();
}

Status FlagSet::SetIfUnset(std::string_view name, std::string_view value) {
  const FlagSpec* spec = Find(name);
  if (spec == nullptr) return Status::InvalidArgument("unknown option '" + Printable(name) + "'");
  if (IsSet(name)) return Status::Ok();
  if (Status s = Validate(*spec, value); !s.ok()) return s;
  values_[std::string(name)] = {std::string(value)};
  return Status::Ok();
}

Status FlagSet::AppendIfUnset(std::string_view name, std::string_view value) {
  const FlagSpec* spec = Find(name);
  if (spec == nullptr) return Status::InvalidArgument("unknown option '" + Printable(name) + "'");
  if (Status s = Validate(*spec, value); !s.ok()) return s;
  values_[std::string(name)].emplace_back(value);
  return Status::Ok();
}

bool FlagSet::IsSet(std::string_view name) const { return values_.find(name) != values_.end(); }

std::string FlagSet::GetString(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end() && !it->second.empty()) {
    return it->second.back();
  }
  const FlagSpec* spec = Find(name);
  return spec ? std::string(spec->default_value) : std::string();
}

bool FlagSet::GetBool(std::string_view name) const {
  std::string v = GetString(name);
  return v == "true" || v == "1";
}

int64_t FlagSet::GetInt(std::string_view name) const {
  return ParseInt(GetString(name)).value_or(0);
}

int64_t FlagSet::GetDuration(std::string_view name) const {
  return ParseDuration(GetString(name)).value_or(0);
}

int64_t FlagSet::GetBytes(std::string_view name) const {
  return ParseBytes(GetString(name)).value_or(0);
}

std::vector<std::string> FlagSet::GetList(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  const FlagSpec* spec = Find(name);
  if (spec && !spec->default_value.empty()) {
    // A list default is comma-separated in the table.
    std::vector<std::string> out;
    std::string_view d = spec->default_value;
    while (!d.empty()) {
      size_t comma = d.find(',');
      out.emplace_back(d.substr(0, comma));
      if (comma == std::string_view::npos) break;
      d.remove_prefix(comma + 1);
    }
    return out;
  }
  return {};
}

std::string FlagSet::Help(std::string_view usage, std::string_view description,
                          std::string_view examples) const {
  std::string out = "Usage: " + std::string(usage) + "\n\n" + std::string(description) + "\n";
  if (!specs_.empty()) out += "\nOptions:\n";
  for (const FlagSpec& s : specs_) {
    std::string left = "  --" + std::string(s.name);
    if (!s.value_name.empty()) left += " " + std::string(s.value_name);
    if (left.size() < 26)
      left.resize(26, ' ');
    else
      left += "  ";
    out += left + std::string(s.help);
    if (!s.default_value.empty()) out += " (default: " + std::string(s.default_value) + ")";
    out += "\n";
  }
  if (!examples.empty()) out += "\nExamples:\n" + std::string(examples);
  if (!out.empty() && out.back() != '\n') out += "\n";
  return out;
}

std::string FlagSet::MarkdownTable() const {
  std::string out = "| option | default | description |\n|---|---|---|\n";
  for (const FlagSpec& s : specs_) {
    out += "| `--" + std::string(s.name);
    if (!s.value_name.empty()) out += " " + std::string(s.value_name);
    out += "` | " +
           (s.default_value.empty() ? std::string("") : "`" + std::string(s.default_value) + "`") +
           " | " + std::string(s.help) + " |\n";
  }
  return out;
}

}  // namespace resyncwatch
