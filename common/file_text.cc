#include "common/file_text.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace resyncwatch {

Result<std::string> ReadFileText(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    std::string why = path + ": cannot open (" + std::strerror(errno) + ")";
    return errno == ENOENT ? Status::NotFound(why) : Status::IoError(why);
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) text.append(buf, n);
  if (std::ferror(f.get())) {
    return Status::IoError(path + ": read failed (" + std::strerror(errno) + ")");
  }
  return text;
}

}  // namespace resyncwatch
