// UdpInput: one bound UDP socket on the libuv loop, read in recvmmsg batches
// (UV_UDP_RECVMMSG), with a large SO_RCVBUF and the kernel's drop counter read back.
// Each datagram goes to the ReceiveSink. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "collector/config.h"
#include "collector/counters.h"
#include "collector/receive_sink.h"
#include "common/clock.h"
#include "common/status.h"

namespace resyncwatch {

class UdpInput {
 public:
  // REQUIRES: loop, sink, counters and clock outlive the input.
  UdpInput(uv_loop_t* loop, ReceiveSink* sink, Counters* counters, const Clock* clock);
  ~UdpInput();
  UdpInput(const UdpInput&) = delete;
  UdpInput& operator=(const UdpInput&) = delete;

  // Binds and starts reading. rcvbuf_bytes is asked with SO_RCVBUFFORCE when permitted,
  // else SO_RCVBUF; when the kernel grants less, one warning names net.core.rmem_max.
  // coalesce_ms > 0: under load (the socket emptied after kCoalesceAfterDatagrams came
  // within kBusyWindowMs or since the last pause), the socket is not polled for
  // coalesce_ms, so that the next wake-up reads a larger batch. Only when the granted
  // buffer holds that long a burst (docs/collector.md).
  Status Start(const ListenAddress& address, int64_t rcvbuf_bytes, int coalesce_ms = 0);
  // Stops reading, reads what the kernel already queued, and closes the socket.
  void Close();
  // "127.0.0.1:40123" / "[::]:5514" once bound.
  const std::string& bound() const { return bound_; }
  int64_t granted_rcvbuf() const { return granted_rcvbuf_; }
  // Datagrams the kernel dropped on this socket since it was opened (sk_drops, the
  // count SO_RXQ_OVFL reports), read with getsockopt(SO_MEMINFO).
  int64_t KernelDrops() const;
  // The receive buffer a pause needs per millisecond.
  static constexpr int64_t kCoalesceBufferPerMs = int64_t{4} << 20;
  // Whether reads pause under load (coalesce_ms asked and the buffer big enough), and
  // how many times they did.
  bool coalescing() const { return coalesce_ms_ > 0; }
  int64_t coalesce_pauses() const { return coalesce_pauses_; }

 private:
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRecv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                     const struct sockaddr* addr, unsigned flags);
  // The socket has nothing more to read now.
  void OnDrained();
  void Resume();
  // After each loop iteration: libuv stops reading after 32 datagrams per iteration
  // without seeing EAGAIN, so a read that emptied the socket exactly then is found here.
  void AfterIteration();

  static constexpr int64_t kCoalesceAfterDatagrams = 16;
  static constexpr uint64_t kBusyWindowMs = 2;
  uv_loop_t* loop_;
  ReceiveSink* sink_;
  Counters* counters_;
  const Clock* clock_;
  uv_udp_t* handle_ = nullptr;             // freed in the close callback
  uv_timer_t* resume_timer_ = nullptr;     // freed in the close callback
  uv_check_t* after_iteration_ = nullptr;  // freed in the close callback
  bool read_this_iteration_ = false;
  int coalesce_ms_ = 0;
  int64_t coalesce_pauses_ = 0;
  int64_t read_in_window_ = 0;    // since the last pause or window_start_ms_
  uint64_t window_start_ms_ = 0;  // loop time
  // The time of the recvmmsg call whose datagrams libuv is handing over (0 between calls).
  int64_t read_time_us_ = 0;
  std::unique_ptr<char[]> buffer_;
  size_t buffer_size_ = 0;
  std::string bound_;
  int64_t granted_rcvbuf_ = 0;
  RateLimiter error_log_{60'000'000};
};

PeerAddress PeerFromSockaddr(const struct sockaddr* addr);
// "127.0.0.1:40123", "[::1]:514": the numeric address and port a libuv socket is bound to.
std::string FormatSockaddr(const struct sockaddr* addr);

}  // namespace resyncwatch
