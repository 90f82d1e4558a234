// ReceiveSink: where the UDP and TCP inputs put each datagram or frame, on the event-loop
// thread. Stamps the receive time, counts it, appends it to the current chunk and pushes
// chunks to the IngestQueue; when the queue is full the datagram is dropped, counted
// (queue_drops) and logged at most once per 10 s. A datagram from a sender outside the
// --allow list is dropped before anything else and counted as denied_datagrams only (it
// is not "received"). The first datagram of each new sender network is logged at info
// (NewSenderNetworks). Loop thread only.
#pragma once

#include <memory>
#include <string_view>

#include "collector/counters.h"
#include "collector/ingest_queue.h"
#include "collector/new_networks.h"
#include "collector/sender_filter.h"
#include "common/clock.h"

namespace resyncwatch {

class ReceiveSink {
 public:
  ReceiveSink(IngestQueue* queue, Counters* counters, const Clock* clock);
  // REQUIRES: allow outlives the sink; before the first Accept.
  void SetAllow(const SenderFilter* allow) { allow_ = allow; }

  // Stamps the datagram with the clock's time now.
  void Accept(std::string_view data, const PeerAddress& peer, bool truncated);
  // Stamps it with received_us: an input that takes several datagrams from the kernel in
  // one read gives them that read's time, so they share a time in the store and are kept
  // as one record there (docs/store-format.md, event groups).
  void Accept(std::string_view data, const PeerAddress& peer, bool truncated, int64_t received_us);
  // Hands the current chunk to the writer: when full, and whenever an input has read
  // all that was waiting (a UDP socket drained, a TCP read handled).
  void Flush();

 private:
  static constexpr size_t kChunkDatagrams = 1024;
  IngestQueue* queue_;
  Counters* counters_;
  const Clock* clock_;
  const SenderFilter* allow_ = nullptr;
  std::unique_ptr<Chunk> chunk_;
  RateLimiter drop_log_{10'000'000};
  RateLimiter denied_log_{10'000'000};
  NewSenderNetworks new_networks_;
};

}  // namespace resyncwatch
