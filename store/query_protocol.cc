#include "store/query_protocol.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "store/event_codec.h"
#include "store/key_format.h"
#include "store/varint.h"

namespace resyncwatch::query_protocol {
namespace {

using store_format::ByteReader;

// Status codes on the wire: fixed numbers, independent of the order of Status::Code. An
// unknown number (a newer daemon's) reads as an I/O error.
struct WireStatus {
  uint8_t wire;
  Status::Code code;
  Status (*make)(std::string);
};
constexpr WireStatus kWireStatuses[] = {
    {1, Status::Code::kInvalidArgument, &Status::InvalidArgument},
    {2, Status::Code::kNotFound, &Status::NotFound},
    {3, Status::Code::kCorruption, &Status::Corruption},
    {4, Status::Code::kIoError, &Status::IoError},
    {5, Status::Code::kUnsupported, &Status::Unsupported},
    {6, Status::Code::kBusy, &Status::Busy},
};

uint8_t WireCode(Status::Code code) {
  if (code == Status::Code::kOk) return 0;
  for (const WireStatus& w : kWireStatuses) {
    if (w.code == code) return w.wire;
  }
  return 4;
}

Status FromWire(uint8_t code, std::string message) {
  if (code == 0) return Status::Ok();
  for (const WireStatus& w : kWireStatuses) {
    if (w.wire == code) return w.make(std::move(message));
  }
  return Status::IoError(std::move(message));
}

std::string Request(Op op) {
  std::string out;
  BeginFrame(&out);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(op));
  return out;
}

// Waits until fd is ready for events; Busy when wake_fd becomes readable first.
Status Wait(int fd, short events, int wake_fd, int timeout_ms) {
  pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(std::string("poll: ") + std::strerror(errno));
    if (n == 0) return Status::IoError("no answer within " + std::to_string(timeout_ms) + " ms");
    if (wake_fd >= 0 && fds[1].revents) return Status::Busy("the query server is stopping");
    return Status::Ok();
  }
}

}  // namespace

void BeginFrame(std::string* out) { out->append(4, '\0'); }

void FinishFrame(std::string* out, size_t frame_start) {
  uint32_t n = static_cast<uint32_t>(out->size() - frame_start - 4);
  std::string len;
  store_format::PutFixed32(&len, n);
  out->replace(frame_start, 4, len);
}

std::string HistoryRequest(MacAddress mac, TimeRange range) {
  std::string out = Request(kOpHistory);
  out += store_format::MacKey(mac);
  store_format::PutFixed64(&out, store_format::BiasTime(range.since_us));
  store_format::PutFixed64(&out, store_format::BiasTime(range.until_us));
  FinishFrame(&out, 0);
  return out;
}

std::string MacForSerialRequest(std::string_view sn) {
  std::string out = Request(kOpMacForSerial);
  out += sn;
  FinishFrame(&out, 0);
  return out;
}

std::string GetDeviceRequest(MacAddress mac) {
  std::string out = Request(kOpGetDevice);
  out += store_format::MacKey(mac);
  FinishFrame(&out, 0);
  return out;
}

std::string DoneFrame(const Status& status, std::string_view payload) {
  std::string out;
  BeginFrame(&out);
  out.push_back(static_cast<char>(kReplyDone));
  out.push_back(static_cast<char>(WireCode(status.code())));
  store_format::PutString(&out, status.message());
  out += payload;
  FinishFrame(&out, 0);
  return out;
}

Status ParseDone(std::string_view body, Status* status, std::string_view* payload) {
  ByteReader in(body);
  uint8_t type = 0, code = 0;
  std::string message;
  if (!in.GetByte(&type) || type != kReplyDone || !in.GetByte(&code) || !in.GetString(&message)) {
    return Status::Corruption("malformed final frame from the query server");
  }
  *status = FromWire(code, std::move(message));
  in.GetBytes(in.remaining(), payload);
  return Status::Ok();
}

void AppendEvent(const Event& event, std::string* body) {
  *body += store_format::TimeSeqKey(event.event_time_us, event.seq);
  std::string value;
  store_format::EncodeEvent(event, &value);
  store_format::PutString(body, value);
}

Status ForEachEvent(std::string_view body, Event* scratch, const EventVisitor& visit) {
  ByteReader in(body);
  uint8_t type = 0;
  if (!in.GetByte(&type) || type != kReplyEvents) {
    return Status::Corruption("malformed event frame from the query server");
  }
  while (!in.done()) {
    std::string_view key, value;
    if (!in.GetBytes(store_format::kTimeSeqKeySize, &key) || !in.GetString(&value)) {
      return Status::Corruption("truncated event in a frame from the query server");
    }
    std::optional<store_format::TimeSeq> ts = store_format::ParseTimeSeqKey(key);
    if (!ts) return Status::Corruption("bad event key from the query server");
    scratch->seq = ts->seq;
    scratch->event_time_us = ts->time_us;
    if (Status s = store_format::DecodeEvent(value, scratch); !s.ok()) return s;
    if (!visit(*scratch)) break;
  }
  return Status::Ok();
}

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Status::InvalidArgument("query socket path '" + path + "' is empty or longer than " +
                                   std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

Status WriteAll(int fd, std::string_view bytes, int wake_fd, int timeout_ms) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Status s = Wait(fd, POLLOUT, wake_fd, timeout_ms); !s.ok()) return s;
      continue;
    }
    return Status::IoError(std::string("send: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status FrameReader::Fill(size_t need) {
  if (pos_ > 0 && buffer_.size() - pos_ < need) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  char chunk[64 << 10];
  while (buffer_.size() - pos_ < need) {
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      if (buffer_.size() == pos_) return Status::NotFound("the peer closed the connection");
      return Status::IoError("the peer closed the connection in the middle of a frame");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (Status s = Wait(fd_, POLLIN, wake_fd_, timeout_ms_); !s.ok()) return s;
      continue;
    }
    return Status::IoError(std::string("recv: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status FrameReader::Next(std::string_view* body) {
  if (Status s = Fill(4); !s.ok()) return s;
  uint32_t n = store_format::GetFixed32(buffer_.data() + pos_);
  if (n > kMaxFrameBody) {
    return Status::Corruption("frame of " + std::to_string(n) + " bytes exceeds the limit");
  }
  if (Status s = Fill(4 + size_t{n}); !s.ok()) {
    return s.IsNotFound() ? Status::IoError("the peer closed the connection mid-frame") : s;
  }
  *body = std::string_view(buffer_.data() + pos_ + 4, n);
  pos_ += 4 + size_t{n};
  return Status::Ok();
}

}  // namespace resyncwatch::query_protocol
