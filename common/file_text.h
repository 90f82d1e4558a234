// ReadFileText: the whole of a (small) file as a string, for configuration files and the
// like. Errors name the path and the system's reason. Thread-safe; does not cache.
#pragma once

#include <string>

#include "common/status.h"

namespace resyncwatch {

// NotFound when the file does not exist, IoError for any other failure to open or read.
Result<std::string> ReadFileText(const std::string& path);

}  // namespace resyncwatch
