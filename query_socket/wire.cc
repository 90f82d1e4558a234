#include "query_socket/wire.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "store/event_codec.h"
#include "store/key_format.h"
#include "store/varint.h"

namespace resyncwatch::query_wire {
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

// ---- Fields shared by several ops.

void PutMac(std::string* out, MacAddress mac) { *out += store_format::MacKey(mac); }
bool GetMac(ByteReader& in, MacAddress* mac) {
  std::string_view key;
  if (!in.GetBytes(store_format::kMacKeySize, &key)) return false;
  std::optional<MacAddress> m = store_format::ParseMacKey(key);
  if (!m) return false;
  *mac = *m;
  return true;
}

void PutTime(std::string* out, int64_t t) {
  store_format::PutFixed64(out, store_format::BiasTime(t));
}
bool GetTime(ByteReader& in, int64_t* t) {
  std::string_view b;
  if (!in.GetBytes(8, &b)) return false;
  *t = store_format::UnbiasTime(store_format::GetFixed64(b.data()));
  return true;
}

// An event: its 16-byte (time, seq) key and its encoded value, as the store keeps it.
void PutEvent(std::string* out, const Event& event) {
  *out += store_format::TimeSeqKey(event.event_time_us, event.seq);
  std::string value;
  store_format::EncodeEvent(event, &value);
  store_format::PutString(out, value);
}
Status GetEvent(ByteReader& in, Event* event) {
  std::string_view key, value;
  if (!in.GetBytes(store_format::kTimeSeqKeySize, &key) || !in.GetString(&value)) {
    return Status::Corruption("truncated event");
  }
  std::optional<store_format::TimeSeq> ts = store_format::ParseTimeSeqKey(key);
  if (!ts) return Status::Corruption("bad event key");
  event->seq = ts->seq;
  event->event_time_us = ts->time_us;
  return store_format::DecodeEvent(value, event);
}

// A raw datagram: its receive time (BE64, biased) and its encoded value.
void PutRaw(std::string* out, const RawDatagram& raw) {
  PutTime(out, raw.received_us);
  std::string value;
  store_format::EncodeRaw(raw, &value);
  store_format::PutString(out, value);
}
Status GetRaw(ByteReader& in, RawDatagram* raw) {
  std::string_view value;
  if (!GetTime(in, &raw->received_us) || !in.GetString(&value)) {
    return Status::Corruption("truncated raw datagram");
  }
  return store_format::DecodeRaw(value, raw);
}

// ---- One encoder and one decoder per op, side by side. A decoder reads the arguments
// that follow the op byte and fails on anything short, malformed or left over.

// History: MAC (6 bytes), bias(since_us), bias(until_us) (BE64 each).
void Put(std::string* out, const HistoryRequest& r) {
  PutMac(out, r.mac);
  PutTime(out, r.range.since_us);
  PutTime(out, r.range.until_us);
}
Status Get(ByteReader& in, HistoryRequest* r) {
  if (!GetMac(in, &r->mac) || !GetTime(in, &r->range.since_us) ||
      !GetTime(in, &r->range.until_us)) {
    return Status::Corruption("malformed history request");
  }
  return Status::Ok();
}

// MacForSerial: the serial number's bytes (the rest of the body).
void Put(std::string* out, const MacForSerialRequest& r) { *out += r.sn; }
Status Get(ByteReader& in, MacForSerialRequest* r) {
  std::string_view sn;
  in.GetBytes(in.remaining(), &sn);
  r->sn.assign(sn);
  return Status::Ok();
}

// GetDevice: MAC (6 bytes).
void Put(std::string* out, const GetDeviceRequest& r) { PutMac(out, r.mac); }
Status Get(ByteReader& in, GetDeviceRequest* r) {
  if (!GetMac(in, &r->mac)) return Status::Corruption("malformed device request");
  return Status::Ok();
}

// Follow: MAC (6 bytes, 0: any), varint kind mask, u8 flags (1: ignore case), str
// pattern, varint max_pending.
constexpr uint8_t kFollowIgnoreCase = 1;
void Put(std::string* out, const FollowRequest& r) {
  PutMac(out, r.filter.mac);
  store_format::PutVarint(out, r.filter.kind_mask);
  out->push_back(static_cast<char>(r.filter.ignore_case ? kFollowIgnoreCase : 0));
  store_format::PutString(out, r.filter.pattern);
  store_format::PutVarint(out, r.filter.max_pending);
}
Status Get(ByteReader& in, FollowRequest* r) {
  uint64_t mask = 0, max_pending = 0;
  uint8_t flags = 0;
  if (!GetMac(in, &r->filter.mac) || !in.GetVarint(&mask) || mask > UINT32_MAX ||
      !in.GetByte(&flags) || (flags & ~kFollowIgnoreCase) != 0 ||
      !in.GetString(&r->filter.pattern) || !in.GetVarint(&max_pending) ||
      max_pending > UINT32_MAX) {
    return Status::Corruption("malformed follow request");
  }
  r->filter.kind_mask = static_cast<uint32_t>(mask);
  r->filter.ignore_case = (flags & kFollowIgnoreCase) != 0;
  r->filter.max_pending = static_cast<uint32_t>(max_pending);
  return Status::Ok();
}

// Import: u8 flags (1: skip duplicates, 2: an import run id follows, fixed64); varint
// count, then the events; varint count, then the raw datagrams; varint count, then the
// counter deltas (str name, signed varint).
constexpr uint8_t kImportSkipDuplicates = 1;
constexpr uint8_t kImportRun = 2;
void PutBatch(std::string* out, const WriteBatch& b) {
  out->push_back(static_cast<char>((b.skip_duplicates ? kImportSkipDuplicates : 0) |
                                   (b.import_session != 0 ? kImportRun : 0)));
  if (b.import_session != 0) store_format::PutFixed64(out, b.import_session);
  store_format::PutVarint(out, b.events.size());
  for (const Event& e : b.events) PutEvent(out, e);
  store_format::PutVarint(out, b.raw.size());
  for (const RawDatagram& raw : b.raw) PutRaw(out, raw);
  store_format::PutVarint(out, b.counter_deltas.size());
  for (const auto& [name, delta] : b.counter_deltas) {
    store_format::PutString(out, name);
    store_format::PutSigned(out, delta);
  }
}
void Put(std::string* out, const ImportRequest& r) { PutBatch(out, r.batch); }
Status Get(ByteReader& in, ImportRequest* r) {
  const Status bad = Status::Corruption("malformed import request");
  WriteBatch& b = r->batch;
  uint8_t flags = 0;
  uint64_t n = 0;
  if (!in.GetByte(&flags) || (flags & ~(kImportSkipDuplicates | kImportRun)) != 0) return bad;
  b.skip_duplicates = (flags & kImportSkipDuplicates) != 0;
  if ((flags & kImportRun) != 0) {
    std::string_view run;
    if (!in.GetBytes(8, &run)) return bad;
    b.import_session = store_format::GetFixed64(run.data());
    if (b.import_session == 0) return bad;
  }
  // Each item takes at least one byte: a count beyond what is left is a lie.
  if (!in.GetVarint(&n) || n > in.remaining()) return bad;
  b.events.resize(n);
  for (Event& e : b.events) {
    if (!GetEvent(in, &e).ok()) return bad;
  }
  if (!in.GetVarint(&n) || n > in.remaining()) return bad;
  b.raw.resize(n);
  for (RawDatagram& raw : b.raw) {
    if (!GetRaw(in, &raw).ok()) return bad;
  }
  if (!in.GetVarint(&n) || n > in.remaining()) return bad;
  for (uint64_t i = 0; i < n; ++i) {
    std::string name;
    int64_t delta = 0;
    // The encoder writes a map: a name given twice is not ours (and summing could overflow).
    if (!in.GetString(&name) || !in.GetSigned(&delta)) return bad;
    if (!b.counter_deltas.emplace(std::move(name), delta).second) return bad;
  }
  return Status::Ok();
}

template <typename R>
Result<Request> DecodeArgs(ByteReader& in) {
  R r;
  if (Status s = Get(in, &r); !s.ok()) return s;
  if (!in.done()) return Status::Corruption("trailing bytes in a query request");
  return Request(std::move(r));
}

// Waits until fd is ready for events; Busy when wake_fd becomes readable first.
Status Wait(int fd, short events, int wake_fd, int timeout_ms) {
  pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(std::string("poll: ") + std::strerror(errno));
    if (n == 0) return Status::IoError("no answer within " + std::to_string(timeout_ms) + " ms");
    if (wake_fd >= 0 && fds[1].revents) return Status::Busy("stopped");
    return Status::Ok();
  }
}

}  // namespace

std::string EncodeRequest(const Request& request) {
  std::string out;
  BeginFrame(&out);
  out.push_back(static_cast<char>(kVersion));
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        Op op = std::is_same_v<R, HistoryRequest>        ? kOpHistory
                : std::is_same_v<R, MacForSerialRequest> ? kOpMacForSerial
                : std::is_same_v<R, GetDeviceRequest>    ? kOpGetDevice
                : std::is_same_v<R, FollowRequest>       ? kOpFollow
                                                         : kOpImport;
        out.push_back(static_cast<char>(op));
        Put(&out, r);
      },
      request);
  FinishFrame(&out, 0);
  return out;
}

std::string EncodeImportRequest(const WriteBatch& batch) {
  std::string out;
  BeginFrame(&out);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(kOpImport));
  PutBatch(&out, batch);
  FinishFrame(&out, 0);
  return out;
}

Result<Request> DecodeRequest(std::string_view body) {
  ByteReader in(body);
  uint8_t version = 0, op = 0;
  if (!in.GetByte(&version) || !in.GetByte(&op)) {
    return Status::Corruption("query request too short");
  }
  if (version != kVersion) {
    return Status::Unsupported("query protocol version " + std::to_string(version) +
                               " is not spoken by this resyncwatchd (it speaks version " +
                               std::to_string(kVersion) + ")");
  }
  switch (op) {
    case kOpHistory:
      return DecodeArgs<HistoryRequest>(in);
    case kOpMacForSerial:
      return DecodeArgs<MacForSerialRequest>(in);
    case kOpGetDevice:
      return DecodeArgs<GetDeviceRequest>(in);
    case kOpFollow:
      return DecodeArgs<FollowRequest>(in);
    case kOpImport:
      return DecodeArgs<ImportRequest>(in);
    default:
      return Status::Unsupported("unknown query op " + std::to_string(op));
  }
}

void BeginFrame(std::string* out) { out->append(4, '\0'); }

void FinishFrame(std::string* out, size_t frame_start) {
  uint32_t n = static_cast<uint32_t>(out->size() - frame_start - 4);
  std::string len;
  store_format::PutFixed32(&len, n);
  out->replace(frame_start, 4, len);
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

// Import's answer: varint events_stored, raw_stored, duplicates_skipped.
std::string EncodeWriteResult(const WriteResult& result) {
  std::string out;
  store_format::PutVarint(&out, result.events_stored);
  store_format::PutVarint(&out, result.raw_stored);
  store_format::PutVarint(&out, result.duplicates_skipped);
  return out;
}
Result<WriteResult> DecodeWriteResult(std::string_view payload) {
  ByteReader in(payload);
  WriteResult r;
  if (!in.GetVarint(&r.events_stored) || !in.GetVarint(&r.raw_stored) ||
      !in.GetVarint(&r.duplicates_skipped) || !in.done()) {
    return Status::Corruption("malformed import answer from the query server");
  }
  return r;
}

void BeginEvents(std::string* out) {
  out->clear();
  BeginFrame(out);
  out->push_back(static_cast<char>(kReplyEvents));
}

void AppendEvent(const Event& event, std::string* out) { PutEvent(out, event); }

bool HasEvents(const std::string& out) { return out.size() > 5; }

Status ForEachEvent(std::string_view body, Event* scratch, const EventVisitor& visit) {
  ByteReader in(body);
  uint8_t type = 0;
  if (!in.GetByte(&type) || type != kReplyEvents) {
    return Status::Corruption("malformed event frame from the query server");
  }
  while (!in.done()) {
    if (Status s = GetEvent(in, scratch); !s.ok()) {
      return Status::Corruption(s.message() + " in a frame from the query server");
    }
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

}  // namespace resyncwatch::query_wire
