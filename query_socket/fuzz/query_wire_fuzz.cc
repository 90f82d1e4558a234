// libFuzzer target over the query socket's decoding side, through its wire functions:
// FrameReader cuts a socket's bytes into frames, DecodeRequest decodes what a server
// reads, ParseDone and ForEachEvent decode the answers a client reads. Built only
// with -DRESYNCWATCH_FUZZ=ON (clang); run with scripts/fuzz query.
//
// Input: the bytes a peer sends, delivered through a real socketpair. Checks: no frame
// body exceeds the limit; every decoded request, event and final frame re-encodes to
// bytes that decode to the same thing (the encoding is a fixed point after one round).
// With RESYNCWATCH_FUZZ_SEEDS=DIR set it writes seed answers built from the phone lines
// in $RESYNCWATCH_TEST_DATA/query/phones.log into DIR and exits.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "parsers/parsers.h"
#include "query_socket/wire.h"
#include "store/store.h"

namespace {

namespace qp = resyncwatch::query_wire;
using resyncwatch::Event;
using resyncwatch::Status;

std::string EventsFrame(const Event& event) {
  std::string frame;
  qp::BeginFrame(&frame);
  frame.push_back(static_cast<char>(qp::kReplyEvents));
  qp::AppendEvent(event, &frame);
  qp::FinishFrame(&frame, 0);
  return frame;
}

// Re-encodes the first event of body and decodes it again: the two encodings agree.
void CheckEventRoundTrip(const Event& event) {
  std::string once = EventsFrame(event).substr(4);
  Event again;
  bool seen = false;
  Status s = qp::ForEachEvent(once, &again, [&](const Event&) { return seen = true; });
  if (!s.ok() || !seen) std::abort();
  if (EventsFrame(again).substr(4) != once) std::abort();
}

// A body read as a request: one that decodes re-encodes to a body that decodes and
// re-encodes to the same bytes.
void CheckRequest(std::string_view body) {
  resyncwatch::Result<qp::Request> request = qp::DecodeRequest(body);
  if (!request.ok()) return;
  std::string once = qp::EncodeRequest(*request).substr(4);
  resyncwatch::Result<qp::Request> again = qp::DecodeRequest(once);
  if (!again.ok() || qp::EncodeRequest(*again).substr(4) != once) std::abort();
}

void CheckBody(std::string_view body) {
  if (body.size() > qp::kMaxFrameBody) std::abort();
  if (body.empty()) return;
  CheckRequest(body);
  if (static_cast<uint8_t>(body[0]) == qp::kReplyEvents) {
    Event scratch;
    qp::ForEachEvent(body, &scratch, [](const Event& e) {
      CheckEventRoundTrip(e);
      return true;
    });
  } else {
    Status status;
    std::string_view payload;
    if (!qp::ParseDone(body, &status, &payload).ok()) return;
    std::string again = qp::DoneFrame(status, payload).substr(4);
    Status status2;
    std::string_view payload2;
    if (!qp::ParseDone(again, &status2, &payload2).ok()) std::abort();
    if (status2.code() != status.code() || status2.message() != status.message() ||
        payload2 != payload) {
      std::abort();
    }
  }
}

void WriteSeed(const std::string& dir, int n, std::string_view bytes) {
  std::ofstream(dir + "/seed-" + std::to_string(n), std::ios::binary) << bytes;
}

// Answers as a server sends them: event chunks of the phones' lines, then final frames.
void WriteSeeds(const std::string& dir) {
  const char* data = std::getenv("RESYNCWATCH_TEST_DATA");
  std::ifstream in(std::string(data != nullptr ? data : "tests/data") + "/query/phones.log");
  auto templates = resyncwatch::TemplateSet::Defaults().value();
  resyncwatch::ParseContext ctx;
  std::string line, chunk;
  int n = 0;
  for (int64_t t = 1'795'000'000'000'000; std::getline(in, line) && n < 64; t += 1'000'000) {
    Event e = resyncwatch::EventFromParsed(resyncwatch::Parse(line, templates, ctx), t,
                                           "10.1.0.21:514", false);
    e.seq = static_cast<uint64_t>(n) + 1;
    chunk += EventsFrame(e);
    WriteSeed(dir, n++, EventsFrame(e) + qp::DoneFrame(Status::Ok(), {}));
  }
  WriteSeed(dir, n++, chunk + qp::DoneFrame(Status::Ok(), {}));
  WriteSeed(dir, n++, qp::DoneFrame(Status::NotFound("no such device"), {}));
  WriteSeed(dir, n++, qp::DoneFrame(Status::Ok(), std::string(6, '\x12')));
  WriteSeed(dir, n++,
            qp::EncodeRequest(qp::HistoryRequest{0x001234ab45de, {0, 1'800'000'000'000'000}}));
  WriteSeed(dir, n++, qp::EncodeRequest(qp::MacForSerialRequest{"FCH2210ABCD"}));
  WriteSeed(dir, n++, qp::EncodeRequest(qp::GetDeviceRequest{0x001234ab45de}));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("RESYNCWATCH_FUZZ_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  int buf = 1 << 20;
  ::setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  // A whole input (at most -max_len) fits in the socket buffers: the write never blocks.
  if (Status s = qp::WriteAll(fds[1], {reinterpret_cast<const char*>(data), size}, -1, 1000);
      !s.ok()) {
    std::abort();
  }
  ::shutdown(fds[1], SHUT_WR);
  qp::FrameReader reader(fds[0], -1, 1000);
  std::string_view body;
  while (reader.Next(&body).ok()) CheckBody(body);
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}
