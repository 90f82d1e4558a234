// query_protocol: the frames resyncwatchd and `resyncwatch` exchange over the query socket
// (spec: docs/store-format.md, "The query socket"). Internal to store/: the server
// (query_service.cc) and the client (query_client.cc) share it, tests forge frames with it.
// A frame is a 4-byte big-endian body length and the body. A request body is the protocol
// version byte, an op byte and the op's arguments; the answer is zero or more event chunks
// and one final status frame. Events travel in the store's own encoding (key + value), so
// they round-trip exactly. Pure functions, except the fd helpers which block on one fd.
#pragma once

#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/store.h"

namespace resyncwatch::query_protocol {

// Bump on any change of a frame's layout; a server refuses versions it does not speak.
constexpr uint8_t kVersion = 1;
// Larger frames are refused as corrupt rather than allocated.
constexpr uint32_t kMaxFrameBody = 16u << 20;
// The server sends an event chunk once it holds about this many bytes.
constexpr size_t kChunkBytes = 32 << 10;

enum Op : uint8_t {
  kOpHistory = 1,       // MAC (6 bytes BE), since, until (biased BE64 each)
  kOpMacForSerial = 2,  // the serial number's bytes
  kOpGetDevice = 3,     // MAC (6 bytes BE)
};

enum Reply : uint8_t {
  kReplyEvents = 1,  // repeated: 16-byte (time, seq) key, varint length, encoded event
  kReplyDone = 2,    // status code, str message, then the op's payload
};

// Starts a frame in *out (its length is filled in by FinishFrame).
void BeginFrame(std::string* out);
void FinishFrame(std::string* out, size_t frame_start);

std::string HistoryRequest(MacAddress mac, TimeRange range);
std::string MacForSerialRequest(std::string_view sn);
std::string GetDeviceRequest(MacAddress mac);

// The final frame of an answer: status, then payload (MAC for MacForSerial, the encoded
// summary for GetDevice, nothing for History).
std::string DoneFrame(const Status& status, std::string_view payload);
// Parses a kReplyDone body (type byte included); *payload views into body.
Status ParseDone(std::string_view body, Status* status, std::string_view* payload);

// Appends one event to a kReplyEvents body.
void AppendEvent(const Event& event, std::string* body);
// Decodes the events of a kReplyEvents body (type byte included) into *scratch in turn,
// calling visit for each while it returns true.
Status ForEachEvent(std::string_view body, Event* scratch, const EventVisitor& visit);

// The address of the Unix socket at path: InvalidArgument when the path is empty or too
// long for sun_path.
Result<sockaddr_un> UnixAddress(const std::string& path);

// Blocking I/O on a stream socket, each wait bounded by timeout_ms without progress; a
// readable wake_fd (-1: none) ends the wait with Busy (the server is stopping).
Status WriteAll(int fd, std::string_view bytes, int wake_fd, int timeout_ms);

// Buffers a socket's bytes and cuts them into frame bodies.
class FrameReader {
 public:
  FrameReader(int fd, int wake_fd, int timeout_ms)
      : fd_(fd), wake_fd_(wake_fd), timeout_ms_(timeout_ms) {}
  // The next frame's body. NotFound when the peer closed before its first byte (a
  // normal end between requests); IoError on timeout, a closed peer mid-frame or an
  // error; Corruption for an oversized frame.
  Status Next(std::string_view* body);
  void Reset(int fd) {
    fd_ = fd;
    buffer_.clear();
    pos_ = 0;
  }

 private:
  Status Fill(size_t need);
  int fd_;
  int wake_fd_;
  int timeout_ms_;
  std::string buffer_;
  size_t pos_ = 0;
};

}  // namespace resyncwatch::query_protocol
