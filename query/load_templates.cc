// LoadTemplates, apart from cli_common.cc: reading a config file needs the JSON parser,
// which the static front (front_main.cc) leaves out.
#include "common/file_text.h"
#include "query/cli_common.h"

namespace resyncwatch {

Result<TemplateSet> LoadTemplates(const std::string& path) {
  if (path.empty()) return TemplateSet::Defaults();
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  auto set = TemplateSet::FromConfigJson(*text);
  if (!set.ok()) return Status::InvalidArgument(path + ": " + set.status().message());
  return set;
}

}  // namespace resyncwatch
