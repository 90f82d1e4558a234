// OrderedOutput: producer threads, each covering one consecutive slice of a result
// (a time slice of a scan), write in parallel while the output keeps slice order. Memory
// is bounded: a producer ahead of the slice being printed waits once max_buffered bytes
// are queued. Write/Finish are thread-safe; Drain runs on one consumer thread.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace resyncwatch {

class OrderedOutput {
 public:
  OrderedOutput(std::FILE* out, int slices, size_t max_buffered);

  void Write(int slice, std::string chunk);
  // The slice has nothing more to write. REQUIRES: called once per slice.
  void Finish(int slice);
  // Writes every slice's chunks in slice order; returns when all slices finished.
  void Drain();

 private:
  std::FILE* out_;
  size_t max_buffered_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::deque<std::string>> chunks_;
  std::vector<bool> finished_;
  int current_ = 0;
  size_t buffered_ = 0;
};

}  // namespace resyncwatch
