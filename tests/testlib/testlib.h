// testlib: what every module's tests share: a temporary directory removed with its
// contents, and a bounded wait on real state (for what has no event to wait on: a child
// process's output, a file another process writes). Not thread-safe; one per test.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace resyncwatch::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Checks cond every few milliseconds until it holds or timeout passes; returns its last
// value. For state another process changes; in-process waits use the component's own
// event (a condition variable, a WaitFor).
bool WaitUntil(const std::function<bool()>& cond,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace resyncwatch::testing
