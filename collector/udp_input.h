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
#include "common/status.h"

namespace resyncwatch {

class UdpInput {
 public:
  UdpInput(uv_loop_t* loop, ReceiveSink* sink, Counters* counters);
  ~UdpInput();
  UdpInput(const UdpInput&) = delete;
  UdpInput& operator=(const UdpInput&) = delete;

  // Binds and starts reading. rcvbuf_bytes is asked with SO_RCVBUFFORCE when permitted,
  // else SO_RCVBUF; when the kernel grants less, one warning names net.core.rmem_max.
  Status Start(const ListenAddress& address, int64_t rcvbuf_bytes);
  // Stops reading, reads what the kernel already queued, and closes the socket.
  void Close();
  // "127.0.0.1:40123" / "[::]:5514" once bound.
  const std::string& bound() const { return bound_; }
  int64_t granted_rcvbuf() const { return granted_rcvbuf_; }
  // Datagrams the kernel dropped on this socket since it was opened (sk_drops, the
  // count SO_RXQ_OVFL reports), read with getsockopt(SO_MEMINFO).
  int64_t KernelDrops() const;

 private:
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRecv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                     const struct sockaddr* addr, unsigned flags);

  uv_loop_t* loop_;
  ReceiveSink* sink_;
  Counters* counters_;
  uv_udp_t* handle_ = nullptr;  // freed in the close callback
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
