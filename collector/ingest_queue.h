// IngestQueue: the bounded hand-off from the receive loop to the store writer thread.
// The receive side appends datagrams to a Chunk (one arena of bytes plus small headers)
// and pushes whole chunks; it never blocks. Push/Pop are thread-safe (one mutex).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/net_address.h"

namespace resyncwatch {

struct DatagramRef {
  uint32_t offset = 0;
  uint32_t length = 0;
  int64_t received_us = 0;
  PeerAddress peer;
  bool truncated = false;
};

struct Chunk {
  std::string bytes;
  std::vector<DatagramRef> items;

  void Append(std::string_view data, int64_t received_us, const PeerAddress& peer, bool truncated);
  std::string_view Bytes(const DatagramRef& d) const {
    return std::string_view(bytes).substr(d.offset, d.length);
  }
};

class IngestQueue {
 public:
  explicit IngestQueue(int64_t capacity_datagrams) : capacity_(capacity_datagrams) {}

  // Room for one more datagram, counting the ones the caller holds in an unpushed chunk
  // and those the consumer took but has not released (so that a writer retrying a failed
  // store write holds at most the capacity). Lock-free.
  bool HasRoom(int64_t pending_in_caller) const;
  void Push(std::unique_ptr<Chunk> chunk);
  // Waits up to timeout_ms for chunks, then (unless min_items are already there) up to
  // linger_ms more for min_items datagrams, so that a trickle is written in fewer, larger
  // batches with fewer thread wake-ups; moves all queued chunks into *out. Returns false
  // when the queue is closed and empty.
  bool PopAll(std::vector<std::unique_ptr<Chunk>>* out, int timeout_ms, int64_t min_items = 1,
              int linger_ms = 0);
  // After Close, PopAll drains what is left and then returns false.
  void Close();
  // Waits up to timeout_ms, or until Close when not closed yet (then at once: a closed
  // queue sleeps the full timeout, so that a retry loop at shutdown keeps its pace).
  // Returns whether the queue is closed.
  bool WaitClosed(int timeout_ms);
  bool closed() const;
  int64_t Depth() const;
  int64_t capacity() const { return capacity_; }
  // The consumer is done with n datagrams it took with PopAll (stored, or given up).
  void Release(int64_t n) { held_.fetch_sub(n, std::memory_order_relaxed); }

  // Chunks are reused so that the receive path does not fault in fresh pages for every
  // chunk: the writer gives processed chunks back, the receive side takes one (or a new
  // one when none is free).
  void Recycle(std::unique_ptr<Chunk> chunk);
  std::unique_ptr<Chunk> TakeFree();

 private:
  static constexpr size_t kMaxFree = 256;
  std::mutex free_mu_;
  std::vector<std::unique_ptr<Chunk>> free_;
  const int64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable close_cv_;
  std::deque<std::unique_ptr<Chunk>> chunks_;
  std::atomic<int64_t> depth_{0};
  std::atomic<int64_t> held_{0};  // taken by PopAll, not yet Released
  bool closed_ = false;
  int64_t wake_at_ = 1;  // Push wakes the consumer once this many datagrams wait
};

}  // namespace resyncwatch
