// TcpInput: a TCP syslog listener for relays (RFC 6587 octet counting and LF framing,
// decoded by the parsers' TcpFrameDecoder), many connections at once, each frame bounded
// by --max-frame (oversize frames are cut or skipped, counted and logged). Frames go to
// the ReceiveSink like datagrams.
//
// No set of idle or slow clients can lock a sender out: a connection that sends nothing
// for idle_timeout_us is closed (SweepIdle), and a connection accepted at the limit
// closes the connection idle the longest to make room. Evictions, idle timeouts, refusals
// (accept failures such as EMFILE) and framing errors are counted and logged at most once
// per 10 s with the number kept quiet. A closed connection's already received bytes are
// read and delivered first. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_set>

#include "collector/config.h"
#include "collector/counters.h"
#include "collector/receive_sink.h"
#include "collector/sender_filter.h"
#include "collector/tls_session.h"
#include "common/clock.h"
#include "common/status.h"

namespace resyncwatch {

class TcpConnection;

struct TcpInputOptions {
  size_t max_frame_bytes = 64 * 1024;
  int64_t max_connections = 1024;
  int64_t idle_timeout_us = 0;  // 0: never time out
  // Senders allowed to connect; nullptr or empty: everyone. Must outlive the input.
  const SenderFilter* allow = nullptr;
  // tls:// listeners: every connection is TLS (RFC 5425); nullptr: plain TCP.
  std::shared_ptr<const TlsServerContext> tls;
};

class TcpInput {
 public:
  // REQUIRES: loop, sink, counters and clock outlive the input.
  TcpInput(uv_loop_t* loop, ReceiveSink* sink, Counters* counters, const Clock* clock,
           TcpInputOptions options);
  ~TcpInput();
  TcpInput(const TcpInput&) = delete;
  TcpInput& operator=(const TcpInput&) = delete;

  Status Start(const ListenAddress& address);
  // New connections use this TLS context; established ones keep theirs. Loop thread.
  void SetTls(std::shared_ptr<const TlsServerContext> tls) { options_.tls = std::move(tls); }
  // Stops accepting; reads what the connections already sent, then closes them.
  void Close();
  // Closes the connections that received nothing for idle_timeout_us before now_us (the
  // clock's time). Called by the collector's periodic timer.
  void SweepIdle(int64_t now_us);
  const std::string& bound() const { return bound_; }
  // Connections being served (not those already closing).
  size_t connections() const { return by_idle_.size(); }

 private:
  friend class TcpConnection;
  static void OnConnection(uv_stream_t* server, int status);
  void Forget(TcpConnection* connection);
  void EvictLongestIdle();
  // Logs at most once per 10 s per limiter, with the count of lines kept quiet.
  template <typename... Args>
  void LogLimited(RateLimiter* limiter, const char* format, const Args&... args);

  uv_loop_t* loop_;
  ReceiveSink* sink_;
  Counters* counters_;
  const Clock* clock_;
  TcpInputOptions options_;
  uv_tcp_t* server_ = nullptr;
  std::string bound_;
  // Every connection until its close callback; by_idle_ only those being served, the one
  // that received data least recently first.
  std::unordered_set<TcpConnection*> connections_;
  std::list<TcpConnection*> by_idle_;
  RateLimiter oversize_log_{10'000'000};
  RateLimiter refused_log_{10'000'000};
  RateLimiter evicted_log_{10'000'000};
  RateLimiter idle_log_{10'000'000};
  RateLimiter framing_log_{10'000'000};
  RateLimiter denied_log_{10'000'000};
  RateLimiter tls_log_{10'000'000};
};

}  // namespace resyncwatch
