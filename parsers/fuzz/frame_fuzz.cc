// libFuzzer target over TcpFrameDecoder (RFC 6587 octet counting and LF framing) alone.
// Built only with -DRESYNCWATCH_FUZZ=ON (clang); run with scripts/fuzz frame.
//
// Input: byte 0 picks the frame limit, byte 1 a read size; the rest is the stream. Checks:
//  - the frames and errors do not depend on how the stream is cut into reads (one read,
//    reads of the chosen size, one byte at a time), since TCP may cut it anywhere;
//  - no frame is longer than the limit, and together they never hold more bytes than came;
//  - the bytes of the stream, re-framed with octet counting and with LF, come back as the
//    same messages (oversize ones skipped or cut as documented).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/parsers.h"

namespace {

using resyncwatch::FrameError;
using resyncwatch::TcpFrameDecoder;

struct Decoded {
  std::vector<std::string> frames;
  std::vector<FrameError> errors;  // per read, then Finish's
  uint64_t oversize = 0;
  bool operator==(const Decoded&) const = default;
};

// After kGarbled a read's error stays kGarbled; errors are compared as "worst so far" so
// that different cuts, which report an oversize frame in different reads, still agree.
FrameError Worst(const std::vector<FrameError>& errors) {
  FrameError worst = FrameError::kNone;
  for (FrameError e : errors) worst = std::max(worst, e);
  return worst;
}

Decoded Decode(std::string_view stream, size_t max_frame, size_t read_size) {
  Decoded out;
  TcpFrameDecoder decoder(max_frame);
  auto on_frame = [&](std::string_view frame) {
    if (frame.size() > max_frame) std::abort();
    out.frames.emplace_back(frame);
  };
  for (size_t i = 0; i < stream.size(); i += read_size) {
    out.errors.push_back(decoder.Feed(stream.substr(i, read_size), on_frame));
  }
  out.errors.push_back(decoder.Finish(on_frame));
  out.oversize = decoder.oversize_frames();
  if (decoder.frames() != out.frames.size()) std::abort();
  if (decoder.buffered_bytes() != 0) std::abort();  // Finish empties the buffer
  return out;
}

void CheckCutsAgree(std::string_view stream, size_t max_frame, size_t read_size) {
  Decoded whole = Decode(stream, max_frame, stream.size() + 1);
  size_t total = 0;
  for (const std::string& f : whole.frames) total += f.size();
  if (total > stream.size()) std::abort();
  for (size_t size : {read_size, size_t{1}}) {
    Decoded cut = Decode(stream, max_frame, size);
    if (cut.frames != whole.frames || cut.oversize != whole.oversize) std::abort();
    // Finish's verdict is the same; the worst error seen over the reads is the same.
    if (cut.errors.back() != whole.errors.back()) std::abort();
    std::vector<FrameError> reads_cut(cut.errors.begin(), cut.errors.end() - 1);
    std::vector<FrameError> reads_whole(whole.errors.begin(), whole.errors.end() - 1);
    if (Worst(reads_cut) != Worst(reads_whole)) std::abort();
  }
}

// Splits the stream into messages at every 0xff byte.
std::vector<std::string_view> Messages(std::string_view stream) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= stream.size(); ++i) {
    if (i == stream.size() || static_cast<uint8_t>(stream[i]) == 0xff) {
      out.push_back(stream.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

void CheckOctetCountingRoundTrip(std::string_view stream, size_t max_frame) {
  std::string framed;
  std::vector<std::string> want;
  for (std::string_view m : Messages(stream)) {
    if (m.empty()) continue;  // "0 " is not a valid frame length
    framed += std::to_string(m.size()) + ' ';
    framed += m;
    if (m.size() <= max_frame) want.emplace_back(m);
  }
  Decoded got = Decode(framed, max_frame, framed.size() + 1);
  if (got.frames != want) std::abort();
  if (got.errors.back() != FrameError::kNone) std::abort();
}

void CheckLineRoundTrip(std::string_view stream, size_t max_frame) {
  std::string framed;
  std::vector<std::string> want;
  for (std::string_view m : Messages(stream)) {
    // A line frame starts with anything but a digit or a separator and holds no LF; a
    // trailing CR is taken for a CRLF ending.
    if (m.empty() || m.find('\n') != std::string_view::npos) continue;
    char c = m.front();
    if ((c >= '0' && c <= '9') || c == '\r' || c == '\0') continue;
    framed += m;
    framed += '\n';
    std::string_view expect = m.substr(0, std::min(m.size(), max_frame));
    if (!expect.empty() && expect.back() == '\r') expect.remove_suffix(1);
    want.emplace_back(expect);
  }
  Decoded got = Decode(framed, max_frame, framed.size() + 1);
  if (got.frames != want) std::abort();
  if (got.errors.back() != FrameError::kNone) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_frame = 1 + data[0];
  const size_t read_size = 1 + data[1] % 64;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  CheckCutsAgree(stream, max_frame, read_size);
  CheckOctetCountingRoundTrip(stream, max_frame);
  CheckLineRoundTrip(stream, max_frame);
  return 0;
}
