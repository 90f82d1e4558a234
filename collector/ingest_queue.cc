#include "collector/ingest_queue.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace resyncwatch {

void Chunk::Append(std::string_view data, int64_t received_us, const PeerAddress& peer,
                   bool truncated) {
  DatagramRef ref;
  ref.offset = static_cast<uint32_t>(bytes.size());
  ref.length = static_cast<uint32_t>(data.size());
  ref.received_us = received_us;
  ref.peer = peer;
  ref.truncated = truncated;
  bytes.append(data);
  items.push_back(ref);
}

bool IngestQueue::HasRoom(int64_t pending_in_caller) const {
  return depth_.load(std::memory_order_relaxed) + held_.load(std::memory_order_relaxed) +
             pending_in_caller <
         capacity_;
}

void IngestQueue::Push(std::unique_ptr<Chunk> chunk) {
  if (chunk == nullptr || chunk->items.empty()) return;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    depth_.fetch_add(static_cast<int64_t>(chunk->items.size()), std::memory_order_relaxed);
    chunks_.push_back(std::move(chunk));
    wake = depth_.load(std::memory_order_relaxed) >= wake_at_;
  }
  if (wake) cv_.notify_one();
}

bool IngestQueue::PopAll(std::vector<std::unique_ptr<Chunk>>* out, int timeout_ms,
                         int64_t min_items, int linger_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_at_ = 1;
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
               [&] { return !chunks_.empty() || closed_; });
  if (!closed_ && !chunks_.empty() && linger_ms > 0 &&
      depth_.load(std::memory_order_relaxed) < min_items) {
    wake_at_ = min_items;
    cv_.wait_for(lock, std::chrono::milliseconds(linger_ms),
                 [&] { return depth_.load(std::memory_order_relaxed) >= min_items || closed_; });
    wake_at_ = 1;
  }
  if (chunks_.empty()) return !closed_;
  while (!chunks_.empty()) {
    const auto n = static_cast<int64_t>(chunks_.front()->items.size());
    held_.fetch_add(n, std::memory_order_relaxed);
    depth_.fetch_sub(n, std::memory_order_relaxed);
    out->push_back(std::move(chunks_.front()));
    chunks_.pop_front();
  }
  return true;
}

void IngestQueue::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
  close_cv_.notify_all();
}

bool IngestQueue::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

bool IngestQueue::WaitClosed(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return true;
  }
  return close_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return closed_; });
}

void IngestQueue::Recycle(std::unique_ptr<Chunk> chunk) {
  chunk->bytes.clear();
  chunk->items.clear();
  std::lock_guard<std::mutex> lock(free_mu_);
  if (free_.size() < kMaxFree) free_.push_back(std::move(chunk));
}

std::unique_ptr<Chunk> IngestQueue::TakeFree() {
  {
    std::lock_guard<std::mutex> lock(free_mu_);
    if (!free_.empty()) {
      auto chunk = std::move(free_.back());
      free_.pop_back();
      return chunk;
    }
  }
  return std::make_unique<Chunk>();
}

int64_t IngestQueue::Depth() const { return depth_.load(std::memory_order_relaxed); }

}  // namespace resyncwatch
