// TcpInput: a TCP syslog listener for relays (RFC 6587 octet counting and LF framing,
// decoded by the parsers' TcpFrameDecoder), many connections at once, each frame bounded
// by --max-frame (oversize frames are cut or skipped, counted and logged). Frames go to
// the ReceiveSink like datagrams. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <unordered_set>

#include "collector/config.h"
#include "collector/counters.h"
#include "collector/receive_sink.h"
#include "common/status.h"

namespace resyncwatch {

class TcpConnection;

class TcpInput {
 public:
  TcpInput(uv_loop_t* loop, ReceiveSink* sink, Counters* counters, size_t max_frame_bytes,
           int64_t max_connections);
  ~TcpInput();
  TcpInput(const TcpInput&) = delete;
  TcpInput& operator=(const TcpInput&) = delete;

  Status Start(const ListenAddress& address);
  // Stops accepting; reads what the connections already sent, then closes them.
  void Close();
  const std::string& bound() const { return bound_; }
  size_t connections() const { return connections_.size(); }

 private:
  friend class TcpConnection;
  static void OnConnection(uv_stream_t* server, int status);
  void Forget(TcpConnection* connection);

  uv_loop_t* loop_;
  ReceiveSink* sink_;
  Counters* counters_;
  size_t max_frame_bytes_;
  int64_t max_connections_;
  uv_tcp_t* server_ = nullptr;
  std::string bound_;
  std::unordered_set<TcpConnection*> connections_;
  RateLimiter oversize_log_{10'000'000};
};

}  // namespace resyncwatch
