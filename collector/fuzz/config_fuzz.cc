// libFuzzer target over the config loader: the JSON text of a --config file goes through
// what resyncwatchd does with it at startup (ParseCollectorArgs reading the file, then
// each section's own parser: templates, alerts, schedule) and at SIGHUP
// (RereadConfigFile). Built only with -DRESYNCWATCH_FUZZ=ON (clang); run with
// scripts/fuzz config.
//
// The text reaches the loader as a file, since that is its interface: an in-memory file
// (memfd) read through /proc/self/fd, so no disk is touched. Checks: every rejection is a
// non-empty one-line message, and startup and SIGHUP agree on whether the file is valid.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alerts.h"
#include "collector/config.h"
#include "parsers/parsers.h"
#include "schedule/schedule.h"

namespace {

using resyncwatch::Status;

void CheckMessage(const Status& s) {
  if (s.ok()) return;
  const std::string& m = s.message();
  if (m.empty() || m.find('\n') != std::string::npos) std::abort();
}

// The sections the daemon hands to other modules, parsed as it does after loading.
void ParseSections(std::string_view text) {
  CheckMessage(resyncwatch::TemplateSet::FromConfigJson(text).status());
  CheckMessage(resyncwatch::AlertConfigFromJson(text).status());
  CheckMessage(resyncwatch::ScheduleConfigSet::Parse(text).status());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("resyncwatch-config-fuzz", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::abort();
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  std::vector<std::string_view> args = {"--config", path};
  auto startup = resyncwatch::ParseCollectorArgs(args);
  CheckMessage(startup.status());
  auto reread = resyncwatch::RereadConfigFile(path);
  CheckMessage(reread.status());
  if (startup.ok()) {
    if (!reread.ok()) std::abort();
    if (startup->config.config_text != *reread) std::abort();
    ParseSections(startup->config.config_text);
  } else {
    ParseSections({reinterpret_cast<const char*>(data), size});
  }
  return 0;
}
