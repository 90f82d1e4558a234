#include "tests/testlib/testlib.h"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

namespace resyncwatch::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "resyncwatch-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() > deadline) return cond();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace resyncwatch::testing
