#include "query/ordered_output.h"

namespace resyncwatch {

OrderedOutput::OrderedOutput(std::FILE* out, int slices, size_t max_buffered)
    : out_(out), max_buffered_(max_buffered), chunks_(slices), finished_(slices, false) {}

void OrderedOutput::Write(int slice, std::string chunk) {
  if (chunk.empty()) return;
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return slice == current_ || buffered_ < max_buffered_; });
  buffered_ += chunk.size();
  chunks_[slice].push_back(std::move(chunk));
  changed_.notify_all();
}

void OrderedOutput::Finish(int slice) {
  std::lock_guard<std::mutex> lock(mu_);
  finished_[slice] = true;
  changed_.notify_all();
}

void OrderedOutput::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (current_ < static_cast<int>(chunks_.size())) {
    changed_.wait(lock, [&] { return !chunks_[current_].empty() || finished_[current_]; });
    if (chunks_[current_].empty()) {
      ++current_;  // finished and fully written
      changed_.notify_all();
      continue;
    }
    std::string chunk = std::move(chunks_[current_].front());
    chunks_[current_].pop_front();
    buffered_ -= chunk.size();
    changed_.notify_all();
    lock.unlock();
    std::fwrite(chunk.data(), 1, chunk.size(), out_);
    lock.lock();
  }
}

}  // namespace resyncwatch
