#include "collector/tcp_input.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "collector/socket_address.h"
#include "collector/udp_input.h"
#include "parsers/parsers.h"

namespace resyncwatch {

// One accepted connection: its socket, its frame decoder and its peer address.
class TcpConnection {
 public:
  TcpConnection(TcpInput* owner, size_t max_frame) : owner_(owner), decoder_(max_frame) {
    handle_.data = this;
    if (owner_->options_.tls != nullptr) tls_ = std::make_unique<TlsSession>(*owner_->options_.tls);
  }

  uv_tcp_t* handle() { return &handle_; }

  // Starts reading, unless the peer is not allowed (then false: the caller closes it).
  bool Begin(int64_t now_us) {
    struct sockaddr_storage name {};
    int len = sizeof(name);
    uv_tcp_getpeername(&handle_, reinterpret_cast<sockaddr*>(&name), &len);
    peer_ = PeerFromSockaddr(reinterpret_cast<const sockaddr*>(&name));
    if (owner_->options_.allow != nullptr && !owner_->options_.allow->Allows(peer_)) return false;
    last_data_us_ = now_us;
    idle_pos_ = owner_->by_idle_.insert(owner_->by_idle_.end(), this);
    listed_ = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), &OnAlloc, &OnRead);
    return true;
  }

  const PeerAddress& peer() const { return peer_; }
  int64_t last_data_us() const { return last_data_us_; }

  // Reads what the kernel already holds for this connection, then closes it.
  void DrainAndShut() {
    if (closing_) return;
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&handle_), &fd) == 0) {
      for (;;) {
        ssize_t n = recv(fd, buffer_, sizeof(buffer_), MSG_DONTWAIT);
        if (n <= 0) break;
        HandleBytes(std::string_view(buffer_, static_cast<size_t>(n)));
        if (closing_) return;
      }
    }
    Deliver(decoder_.Finish(frame_fn_));
    Shut();
  }

  void Shut() {
    if (closing_) return;
    closing_ = true;
    if (listed_) {
      owner_->by_idle_.erase(idle_pos_);
      listed_ = false;
    }
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), [](uv_handle_t* h) {
      auto* self = static_cast<TcpConnection*>(h->data);
      self->owner_->Forget(self);
      delete self;
    });
  }

 private:
  static void OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* self = static_cast<TcpConnection*>(h->data);
    *buf = uv_buf_init(self->buffer_, sizeof(self->buffer_));
  }

  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<TcpConnection*>(stream->data);
    if (nread == UV_EOF || nread < 0) {
      self->Deliver(self->decoder_.Finish(self->frame_fn_));
      if (nread != UV_EOF) self->owner_->counters_->Add(Counter::kReceiveErrors);
      self->Shut();
      return;
    }
    self->Touch();
    self->HandleBytes(std::string_view(buf->base, static_cast<size_t>(nread)));
  }

  // Bytes read from the socket: frames in plain TCP; records to decrypt (and handshake
  // replies to send) with TLS.
  void HandleBytes(std::string_view bytes) {
    if (tls_ == nullptr) {
      Deliver(decoder_.Feed(bytes, frame_fn_));
      return;
    }
    plain_.clear();
    std::string reply;
    std::string error;
    const bool ok = tls_->Feed(bytes, &plain_, &reply, &error);
    if (!reply.empty()) Send(std::move(reply));
    if (!plain_.empty()) Deliver(decoder_.Feed(plain_, frame_fn_));
    if (!ok && !closing_) {
      owner_->counters_->Add(Counter::kTlsErrors);
      owner_->LogLimited(&owner_->tls_log_,
                         "TLS connection from {} closed: {} (counted as tls_errors)",
                         peer_.ToString(), error);
      Shut();
    }
  }

  void Send(std::string bytes) {
    struct Write {
      uv_write_t req;
      std::string bytes;
    };
    auto* w = new Write{{}, std::move(bytes)};
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
    const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&handle_), &buf, 1,
                            [](uv_write_t* req, int) { delete static_cast<Write*>(req->data); });
    if (rc != 0) delete w;
  }

  // Data arrived: this connection becomes the most recently active.
  void Touch() {
    last_data_us_ = owner_->clock_->NowMicros();
    if (listed_) {
      owner_->by_idle_.splice(owner_->by_idle_.end(), owner_->by_idle_, idle_pos_);
    }
  }

  void Deliver(FrameError error) {
    const uint64_t oversize = decoder_.oversize_frames();
    if (oversize > oversize_seen_) {
      owner_->counters_->Add(Counter::kTcpOversize,
                             static_cast<int64_t>(oversize - oversize_seen_));
      oversize_seen_ = oversize;
      owner_->LogLimited(&owner_->oversize_log_,
                         "TCP frame from {} longer than --max-frame {} bytes: cut (LF framing) or "
                         "skipped (octet counting), counted as tcp_oversize",
                         peer_.ToString(), owner_->options_.max_frame_bytes);
    }
    if (error == FrameError::kGarbled && !closing_) {
      owner_->counters_->Add(Counter::kTcpFramingErrors);
      owner_->LogLimited(&owner_->framing_log_,
                         "TCP stream from {} is not RFC 6587 framed (bad octet count): closed, "
                         "counted as tcp_framing_errors",
                         peer_.ToString());
      Shut();
    }
    // A read's frames go to the writer now; a chunk is never left waiting for more.
    owner_->sink_->Flush();
  }

  TcpInput* owner_;
  TcpFrameDecoder decoder_;
  uv_tcp_t handle_{};
  PeerAddress peer_;
  std::unique_ptr<TlsSession> tls_;  // with a tls:// listener
  std::string plain_;                // decrypted bytes of the current read
  bool closing_ = false;
  bool listed_ = false;  // in owner_->by_idle_ at idle_pos_
  std::list<TcpConnection*>::iterator idle_pos_;
  int64_t last_data_us_ = 0;
  uint64_t oversize_seen_ = 0;
  TcpFrameDecoder::FrameFn frame_fn_ = [this](std::string_view frame) {
    owner_->sink_->Accept(frame, peer_, false);
  };
  char buffer_[64 * 1024];
};

TcpInput::TcpInput(uv_loop_t* loop, ReceiveSink* sink, Counters* counters, const Clock* clock,
                   TcpInputOptions options)
    : loop_(loop), sink_(sink), counters_(counters), clock_(clock), options_(options) {}

TcpInput::~TcpInput() = default;

template <typename... Args>
void TcpInput::LogLimited(RateLimiter* limiter, const char* format, const Args&... args) {
  int64_t suppressed = 0;
  if (!limiter->Allow(clock_->NowMicros(), &suppressed)) return;
  std::string line = fmt::format(fmt::runtime(format), args...);
  if (suppressed > 0) {
    spdlog::warn("{} ({} more like it not logged in the last 10 s)", line, suppressed);
  } else {
    spdlog::warn("{}", line);
  }
}

Status TcpInput::Start(const ListenAddress& address) {
  struct sockaddr_storage storage;
  bool v6 = false;
  if (Status s = ListenSocketAddress(address, &storage, &v6); !s.ok()) return s;
  server_ = new uv_tcp_t;
  uv_tcp_init(loop_, server_);
  server_->data = this;
  int rc =
      uv_tcp_bind(server_, reinterpret_cast<const sockaddr*>(&storage), v6 ? UV_TCP_IPV6ONLY : 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(server_), 511, &TcpInput::OnConnection);
  if (rc != 0) {
    Close();
    return Status::IoError("cannot listen on " + address.url + ": " + uv_strerror(rc));
  }
  struct sockaddr_storage name {};
  int namelen = sizeof(name);
  uv_tcp_getsockname(server_, reinterpret_cast<sockaddr*>(&name), &namelen);
  bound_ = FormatSockaddr(reinterpret_cast<sockaddr*>(&name));
  return Status::Ok();
}

void TcpInput::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpInput*>(server->data);
  if (status < 0) {
    // Out of file descriptors or memory: libuv closed the connection for us.
    self->counters_->Add(Counter::kTcpRejected);
    self->LogLimited(&self->refused_log_, "TCP connection refused: {}", uv_strerror(status));
    return;
  }
  auto* connection = new TcpConnection(self, self->options_.max_frame_bytes);
  uv_tcp_init(self->loop_, connection->handle());
  self->connections_.insert(connection);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(connection->handle())) != 0) {
    self->counters_->Add(Counter::kTcpRejected);
    connection->Shut();
    return;
  }
  if (static_cast<int64_t>(self->by_idle_.size()) >= self->options_.max_connections) {
    self->EvictLongestIdle();
  }
  if (!connection->Begin(self->clock_->NowMicros())) {
    self->counters_->Add(Counter::kDeniedConnections);
    self->LogLimited(&self->denied_log_, "TCP connection from {} closed: not in --allow",
                     connection->peer().ToString());
    connection->Shut();
    return;
  }
  self->counters_->Add(Counter::kTcpConnections);
}

void TcpInput::EvictLongestIdle() {
  if (by_idle_.empty()) return;
  TcpConnection* oldest = by_idle_.front();
  counters_->Add(Counter::kTcpEvicted);
  LogLimited(&evicted_log_,
             "TCP connection limit {} (--max-tcp-connections) reached: closed the connection "
             "idle longest ({}, {} s without data) to make room, counted as tcp_evicted",
             options_.max_connections, oldest->peer().ToString(),
             (clock_->NowMicros() - oldest->last_data_us()) / 1'000'000);
  oldest->DrainAndShut();
}

void TcpInput::SweepIdle(int64_t now_us) {
  if (options_.idle_timeout_us <= 0) return;
  while (!by_idle_.empty() &&
         now_us - by_idle_.front()->last_data_us() >= options_.idle_timeout_us) {
    TcpConnection* idle = by_idle_.front();
    counters_->Add(Counter::kTcpIdleTimeouts);
    LogLimited(&idle_log_,
               "TCP connection from {} closed after {} s without data (--tcp-idle-timeout), "
               "counted as tcp_idle_timeouts",
               idle->peer().ToString(), (now_us - idle->last_data_us()) / 1'000'000);
    idle->DrainAndShut();
  }
}

void TcpInput::Forget(TcpConnection* connection) { connections_.erase(connection); }

void TcpInput::Close() {
  if (server_ != nullptr) {
    // Connections the kernel completed but the loop did not accept yet hold data that
    // was received (acknowledged): take them and read what they hold.
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(server_), &fd) == 0) {
      for (;;) {
        struct sockaddr_storage from {};
        socklen_t fromlen = sizeof(from);
        int c = accept4(fd, reinterpret_cast<sockaddr*>(&from), &fromlen, SOCK_NONBLOCK);
        if (c < 0) break;
        PeerAddress peer = PeerFromSockaddr(reinterpret_cast<sockaddr*>(&from));
        // TLS: no handshake completed here, so nothing was sent that could be read.
        if (options_.tls != nullptr ||
            (options_.allow != nullptr && !options_.allow->Allows(peer))) {
          counters_->Add(Counter::kDeniedConnections);
          close(c);
          continue;
        }
        TcpFrameDecoder decoder(options_.max_frame_bytes);
        auto deliver = [&](std::string_view frame) { sink_->Accept(frame, peer, false); };
        char buffer[16 * 1024];
        for (;;) {
          ssize_t n = recv(c, buffer, sizeof(buffer), MSG_DONTWAIT);
          if (n <= 0) break;
          decoder.Feed(std::string_view(buffer, static_cast<size_t>(n)), deliver);
        }
        decoder.Finish(deliver);
        counters_->Add(Counter::kTcpConnections);
        counters_->Add(Counter::kTcpOversize, static_cast<int64_t>(decoder.oversize_frames()));
        close(c);
      }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(server_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    server_ = nullptr;
  }
  std::vector<TcpConnection*> open(connections_.begin(), connections_.end());
  for (TcpConnection* c : open) c->DrainAndShut();
}

}  // namespace resyncwatch
