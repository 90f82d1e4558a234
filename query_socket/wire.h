// wire: the frames of the query socket (spec: docs/store-format.md, "The query socket").
// Internal to query_socket/: the server and the client share it; tests forge and check
// frames with it. A frame is a 4-byte big-endian body length and the body. A request body
// is the protocol version byte, an op byte and the op's arguments; each op's encoder and
// decoder sit side by side below. The answer is zero or more event frames and one final
// status frame. Events travel in the store's own encoding (key + value), so they
// round-trip exactly. Pure functions, except FrameReader and WriteAll which block on one
// fd.
#pragma once

#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "query_socket/query_socket.h"
#include "store/store.h"

namespace resyncwatch::query_wire {

// Bump on any change of an existing frame's layout; a server refuses versions it does
// not speak. (A new op is not a change: an older server answers it Unsupported.)
// 2: events travel in the store's event encoding v2.
constexpr uint8_t kVersion = 2;
// Larger frames are refused as corrupt rather than allocated.
constexpr uint32_t kMaxFrameBody = 16u << 20;
// The server sends an event chunk once it holds about this many bytes.
constexpr size_t kChunkBytes = 32 << 10;

enum Op : uint8_t {
  kOpHistory = 1,
  kOpMacForSerial = 2,
  kOpGetDevice = 3,
  kOpFollow = 4,
  kOpImport = 5,
};

enum Reply : uint8_t {
  kReplyEvents = 1,  // repeated: 16-byte (time, seq) key, varint length, encoded event
  kReplyDone = 2,    // status code, str message, then the op's payload
};

struct HistoryRequest {
  MacAddress mac = 0;
  TimeRange range;
};
struct MacForSerialRequest {
  std::string sn;
};
struct GetDeviceRequest {
  MacAddress mac = 0;
};
struct FollowRequest {
  FollowFilter filter;
};
struct ImportRequest {
  WriteBatch batch;
};
using Request = std::variant<HistoryRequest, MacForSerialRequest, GetDeviceRequest, FollowRequest,
                             ImportRequest>;

// The whole frame (length included) of a request.
std::string EncodeRequest(const Request& request);
// EncodeRequest(ImportRequest{batch}) without copying the batch.
std::string EncodeImportRequest(const WriteBatch& batch);
// A request body (after the length). Corruption for a short or malformed body or an
// unknown op; Unsupported for another protocol version (with the message the server
// sends back).
Result<Request> DecodeRequest(std::string_view body);

// Starts a frame in *out (its length is filled in by FinishFrame).
void BeginFrame(std::string* out);
void FinishFrame(std::string* out, size_t frame_start);

// The final frame of an answer: status, then payload (MAC for MacForSerial, the encoded
// summary for GetDevice, EncodeWriteResult for Import, nothing for History and Follow).
std::string DoneFrame(const Status& status, std::string_view payload);
// Parses a kReplyDone body (type byte included); *payload views into body.
Status ParseDone(std::string_view body, Status* status, std::string_view* payload);

std::string EncodeWriteResult(const WriteResult& result);
Result<WriteResult> DecodeWriteResult(std::string_view payload);

// Starts a kReplyEvents frame in *out (cleared first), appends events to it, finishes it.
void BeginEvents(std::string* out);
void AppendEvent(const Event& event, std::string* out);
// True when *out holds an events frame with at least one event.
bool HasEvents(const std::string& out);
// Decodes the events of a kReplyEvents body (type byte included) into *scratch in turn,
// calling visit for each while it returns true.
Status ForEachEvent(std::string_view body, Event* scratch, const EventVisitor& visit);

// The address of the Unix socket at path: InvalidArgument when the path is empty or too
// long for sun_path.
Result<sockaddr_un> UnixAddress(const std::string& path);

// Blocking I/O on a stream socket, each wait bounded by timeout_ms without progress (-1:
// none); a readable wake_fd (-1: none) ends the wait with Busy.
Status WriteAll(int fd, std::string_view bytes, int wake_fd, int timeout_ms);

// Buffers a socket's bytes and cuts them into frame bodies.
class FrameReader {
 public:
  FrameReader(int fd, int wake_fd, int timeout_ms)
      : fd_(fd), wake_fd_(wake_fd), timeout_ms_(timeout_ms) {}
  // The next frame's body. NotFound when the peer closed before its first byte (a normal
  // end between requests); IoError on timeout, a closed peer mid-frame or an error;
  // Corruption for an oversized frame; Busy when wake_fd became readable.
  Status Next(std::string_view* body);
  void Reset(int fd) {
    fd_ = fd;
    buffer_.clear();
    pos_ = 0;
  }
  void set_wake_fd(int fd) { wake_fd_ = fd; }
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }

 private:
  Status Fill(size_t need);
  int fd_;
  int wake_fd_;
  int timeout_ms_;
  std::string buffer_;
  size_t pos_ = 0;
};

}  // namespace resyncwatch::query_wire
