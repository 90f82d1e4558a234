#include "collector/udp_input.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstring>

#include "collector/socket_address.h"

namespace resyncwatch {
namespace {

// libuv reads up to this many datagrams per recvmmsg call (its own maximum is 20 slots
// of 64 KiB each), so one buffer of 20 slots is allocated once and reused.
constexpr size_t kSlot = 64 * 1024;
constexpr size_t kSlots = 20;

}  // namespace

PeerAddress PeerFromSockaddr(const struct sockaddr* addr) {
  PeerAddress p;
  if (addr == nullptr) return p;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    p.family = AF_INET;
    p.port = ntohs(in->sin_port);
    std::memcpy(p.addr, &in->sin_addr, 4);
  } else if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    p.family = AF_INET6;
    p.port = ntohs(in6->sin6_port);
    std::memcpy(p.addr, &in6->sin6_addr, 16);
  }
  return p;
}

namespace {

PeerAddress ToPeer(const struct sockaddr* addr) { return PeerFromSockaddr(addr); }

Status UvError(const std::string& what, int rc) {
  return Status::IoError(what + ": " + uv_strerror(rc));
}

bool warned_rmem_max = false;

}  // namespace

std::string FormatSockaddr(const struct sockaddr* addr) { return ToPeer(addr).ToString(); }

UdpInput::UdpInput(uv_loop_t* loop, ReceiveSink* sink, Counters* counters, const Clock* clock)
    : loop_(loop), sink_(sink), counters_(counters), clock_(clock) {}

UdpInput::~UdpInput() = default;

Status UdpInput::Start(const ListenAddress& address, int64_t rcvbuf_bytes, int coalesce_ms) {
  struct sockaddr_storage storage;
  bool v6 = false;
  if (Status s = ListenSocketAddress(address, &storage, &v6); !s.ok()) return s;
  handle_ = new uv_udp_t;
  int rc = uv_udp_init_ex(loop_, handle_, (v6 ? AF_INET6 : AF_INET) | UV_UDP_RECVMMSG);
  if (rc != 0) {
    delete handle_;
    handle_ = nullptr;
    return UvError("udp socket for " + address.url, rc);
  }
  handle_->data = this;
  rc = uv_udp_bind(handle_, reinterpret_cast<const sockaddr*>(&storage), v6 ? UV_UDP_IPV6ONLY : 0);
  if (rc != 0) {
    Close();
    return UvError("cannot listen on " + address.url, rc);
  }
  uv_os_fd_t fd;
  uv_fileno(reinterpret_cast<uv_handle_t*>(handle_), &fd);
  int want = static_cast<int>(std::min<int64_t>(rcvbuf_bytes, INT32_MAX / 2));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
  }
  int got = 0;
  socklen_t len = sizeof(got);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
  granted_rcvbuf_ = got / 2;  // the kernel reports twice the usable size
  if (granted_rcvbuf_ < want && !warned_rmem_max) {
    warned_rmem_max = true;
    spdlog::warn(
        "UDP receive buffer capped at {} bytes instead of {}: raise the sysctl "
        "net.core.rmem_max (sysctl -w net.core.rmem_max={}) to absorb bursts",
        granted_rcvbuf_, want, want);
  }
  // Kernel drops: SO_RXQ_OVFL would report the socket's sk_drops in a control message
  // with every datagram, but libuv's recvmmsg path does not hand control messages to the
  // callback, so enabling it would only cost a cmsg per datagram. KernelDrops() reads the
  // same sk_drops counter with getsockopt(SO_MEMINFO) four times a second instead.

  struct sockaddr_storage name {};
  int namelen = sizeof(name);
  uv_udp_getsockname(handle_, reinterpret_cast<sockaddr*>(&name), &namelen);
  bound_ = FormatSockaddr(reinterpret_cast<sockaddr*>(&name));

  // A pause must not outlast the buffer. A queued datagram costs the buffer its skb's
  // truesize: about 1 KiB on loopback, up to 4 KiB with some NIC drivers; at 1,000,000
  // datagrams/s (a 1 Gbit/s link full of 114-byte datagrams) that is 4 MiB per ms.
  const int64_t coalesce_needs = kCoalesceBufferPerMs * coalesce_ms;
  if (coalesce_ms > 0 && granted_rcvbuf_ >= coalesce_needs) {
    coalesce_ms_ = coalesce_ms;
    resume_timer_ = new uv_timer_t;
    uv_timer_init(loop_, resume_timer_);
    resume_timer_->data = this;
  } else if (coalesce_ms > 0) {
    spdlog::info(
        "{}: reads do not pause under load (udp-coalesce-ms {}): the {}-byte receive buffer "
        "is below the {} bytes a pause needs",
        bound_, coalesce_ms, granted_rcvbuf_, coalesce_needs);
  }

  after_iteration_ = new uv_check_t;
  uv_check_init(loop_, after_iteration_);
  after_iteration_->data = this;
  uv_check_start(after_iteration_,
                 [](uv_check_t* c) { static_cast<UdpInput*>(c->data)->AfterIteration(); });

  buffer_size_ = kSlot * kSlots;
  buffer_ = std::make_unique<char[]>(buffer_size_);
  rc = uv_udp_recv_start(handle_, &UdpInput::OnAlloc, &UdpInput::OnRecv);
  if (rc != 0) {
    Close();
    return UvError("cannot read " + address.url, rc);
  }
  return Status::Ok();
}

void UdpInput::Close() {
  if (handle_ == nullptr) return;
  if (resume_timer_ != nullptr) {
    uv_timer_stop(resume_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(resume_timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    resume_timer_ = nullptr;
  }
  if (after_iteration_ != nullptr) {
    uv_check_stop(after_iteration_);
    uv_close(reinterpret_cast<uv_handle_t*>(after_iteration_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
    after_iteration_ = nullptr;
  }
  uv_udp_recv_stop(handle_);
  // What the kernel already queued for us was received: read it before closing.
  uv_os_fd_t fd;
  if (buffer_ != nullptr && uv_fileno(reinterpret_cast<uv_handle_t*>(handle_), &fd) == 0) {
    for (;;) {
      struct sockaddr_storage from {};
      socklen_t fromlen = sizeof(from);
      ssize_t n = recvfrom(fd, buffer_.get(), kSlot, MSG_DONTWAIT | MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&from), &fromlen);
      if (n < 0) break;
      const bool truncated = static_cast<size_t>(n) > kSlot;
      sink_->Accept(std::string_view(buffer_.get(), truncated ? kSlot : static_cast<size_t>(n)),
                    ToPeer(reinterpret_cast<sockaddr*>(&from)), truncated);
    }
  }
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
  handle_ = nullptr;
}

int64_t UdpInput::KernelDrops() const {
  if (handle_ == nullptr) return 0;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(handle_), &fd) != 0) return 0;
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof(meminfo);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0) return 0;
  if (len < sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1)) return 0;
  return meminfo[SK_MEMINFO_DROPS];
}

void UdpInput::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UdpInput*>(handle->data);
  *buf = uv_buf_init(self->buffer_.get(), static_cast<unsigned>(self->buffer_size_));
}

void UdpInput::OnRecv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                      const struct sockaddr* addr, unsigned flags) {
  auto* self = static_cast<UdpInput*>(handle->data);
  if (addr == nullptr) self->read_time_us_ = 0;  // a recvmmsg call's datagrams all handed over
  if (flags & UV_UDP_MMSG_FREE) return;          // the buffer is ours and reused
  if (nread < 0) {
    self->counters_->Add(Counter::kReceiveErrors);
    int64_t suppressed = 0;
    if (self->error_log_.Allow(self->clock_->NowMicros(), &suppressed)) {
      spdlog::error("UDP read error on {}: {} ({} more not logged)", self->bound_,
                    uv_strerror(static_cast<int>(nread)), suppressed);
    }
    return;
  }
  if (addr == nullptr) {  // nothing more to read now
    self->OnDrained();
    return;
  }
  ++self->read_in_window_;
  self->read_this_iteration_ = true;
  // The datagrams of one recvmmsg call were all waiting when it returned: one receive time.
  int64_t received_us = self->read_time_us_;
  if (received_us == 0) received_us = self->clock_->NowMicros();
  if (flags & UV_UDP_MMSG_CHUNK) self->read_time_us_ = received_us;
  self->sink_->Accept(std::string_view(buf->base, static_cast<size_t>(nread)), ToPeer(addr),
                      (flags & UV_UDP_PARTIAL) != 0, received_us);
}

void UdpInput::AfterIteration() {
  if (!read_this_iteration_ || handle_ == nullptr) return;
  read_this_iteration_ = false;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle_), &fd) != 0) return;
  char peek;
  if (recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) < 0) OnDrained();
  // Otherwise more is queued and the next iteration reads it.
}

void UdpInput::OnDrained() {
  read_this_iteration_ = false;
  // Hand what this wake-up read to the writer now rather than waiting for a full chunk.
  sink_->Flush();
  // Busy: at least kCoalesceAfterDatagrams read since the last pause, or within the last
  // kBusyWindowMs (a paced sender's datagrams arrive a few per wake-up).
  const uint64_t now_ms = uv_now(loop_);
  const bool busy = read_in_window_ >= kCoalesceAfterDatagrams;
  if (busy || now_ms - window_start_ms_ >= kBusyWindowMs) {
    read_in_window_ = 0;
    window_start_ms_ = now_ms;
  }
  if (!busy || coalesce_ms_ == 0 || uv_is_active(reinterpret_cast<uv_handle_t*>(resume_timer_))) {
    return;
  }
  // Under load every wake-up of this thread costs a context switch and an epoll_wait
  // that find only a few datagrams; letting them gather for a millisecond (the kernel
  // keeps them in the socket buffer) turns many small reads into one large one.
  ++coalesce_pauses_;
  uv_udp_recv_stop(handle_);
  uv_timer_start(
      resume_timer_, [](uv_timer_t* t) { static_cast<UdpInput*>(t->data)->Resume(); },
      static_cast<uint64_t>(coalesce_ms_), 0);
}

void UdpInput::Resume() {
  if (handle_ == nullptr) return;
  read_time_us_ = 0;  // a pause inside a call's datagrams leaves its time behind
  if (int rc = uv_udp_recv_start(handle_, &UdpInput::OnAlloc, &UdpInput::OnRecv); rc != 0) {
    // Not expected (the socket is bound and was read a millisecond ago); if it happens the
    // socket stays unread, so say so loudly rather than go quiet.
    counters_->Add(Counter::kReceiveErrors);
    spdlog::error("UDP {}: cannot resume reading after a pause: {}", bound_, uv_strerror(rc));
  }
}

}  // namespace resyncwatch
