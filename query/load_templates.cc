// LoadTemplates, apart from cli_common.cc: reading a config file needs the JSON parser,
// which the static front (front_main.cc) leaves out.
#include "config/config_file.h"
#include "query/cli_common.h"

namespace resyncwatch {

Result<TemplateSet> LoadTemplates(const std::string& path) {
  if (path.empty()) return TemplateSet::Defaults();
  // The whole file is checked, as the daemon checks it: a typo anywhere is refused.
  Result<ConfigFile> file = LoadAndValidateConfig(path);
  if (!file.ok()) return file.status();
  return TemplateSet::FromConfigJson(file->text());
}

}  // namespace resyncwatch
