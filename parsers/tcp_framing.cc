// RFC 6587 framing for syslog over TCP: octet counting and LF-delimited, detected at
// the start of every frame.
#include "parsers/parsers.h"

namespace resyncwatch {
namespace {

constexpr size_t kMaxLengthDigits = 9;  // RFC 6587 MSG-LEN: NONZERO-DIGIT *DIGIT

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

TcpFrameDecoder::TcpFrameDecoder(size_t max_frame_bytes)
    : max_frame_(max_frame_bytes == 0 ? 1 : max_frame_bytes) {}

FrameError TcpFrameDecoder::StartFrame(std::string_view bytes, size_t* i) {
  char c = bytes[*i];
  if (c == '\n' || c == '\r' || c == '\0') {  // stray separators between frames
    ++*i;
  } else if (IsDigit(c)) {
    if (c == '0') {
      state_ = State::kFailed;
      return FrameError::kGarbled;
    }
    state_ = State::kLength;
    remaining_ = 0;
    length_digits_ = 0;
  } else {
    state_ = State::kLine;
    buffer_.clear();
  }
  return FrameError::kNone;
}

FrameError TcpFrameDecoder::ReadLength(std::string_view bytes, size_t* i) {
  char c = bytes[*i];
  if (IsDigit(c)) {
    if (++length_digits_ > kMaxLengthDigits) {
      state_ = State::kFailed;
      return FrameError::kGarbled;
    }
    remaining_ = remaining_ * 10 + static_cast<size_t>(c - '0');
    ++*i;
    return FrameError::kNone;
  }
  if (c != ' ') {
    state_ = State::kFailed;
    return FrameError::kGarbled;
  }
  ++*i;
  buffer_.clear();
  if (remaining_ > max_frame_) {
    ++oversize_;
    state_ = State::kSkipOctets;
    return FrameError::kOversize;
  }
  state_ = State::kOctets;
  return FrameError::kNone;
}

FrameError TcpFrameDecoder::ReadOctets(std::string_view bytes, size_t* i, const FrameFn& on_frame) {
  size_t take = std::min(remaining_, bytes.size() - *i);
  if (buffer_.empty() && take == remaining_) {
    Deliver(bytes.substr(*i, take), on_frame);  // whole frame in this read: no copy
  } else {
    buffer_.append(bytes.substr(*i, take));
    if (take == remaining_) {
      Deliver(buffer_, on_frame);
      buffer_.clear();
    }
  }
  *i += take;
  remaining_ -= take;
  if (remaining_ == 0) state_ = State::kFrameStart;
  return FrameError::kNone;
}

FrameError TcpFrameDecoder::ReadLine(std::string_view bytes, size_t* i, const FrameFn& on_frame) {
  std::string_view rest = bytes.substr(*i);
  size_t lf = rest.find('\n');
  std::string_view part = lf == std::string_view::npos ? rest : rest.substr(0, lf);
  size_t room = max_frame_ - buffer_.size();
  bool too_long = part.size() > room;
  if (too_long) part = part.substr(0, room);
  if (lf == std::string_view::npos && !too_long) {
    buffer_.append(part);
    *i = bytes.size();
    return FrameError::kNone;
  }
  std::string_view frame;
  if (buffer_.empty()) {
    frame = part;
  } else {
    buffer_.append(part);
    frame = buffer_;
  }
  if (!frame.empty() && frame.back() == '\r') frame.remove_suffix(1);
  if (too_long) ++oversize_;
  Deliver(frame, on_frame);
  buffer_.clear();
  if (too_long) {
    state_ = State::kSkipLine;
    *i += room;
    return FrameError::kOversize;
  }
  state_ = State::kFrameStart;
  *i += lf + 1;
  return FrameError::kNone;
}

FrameError TcpFrameDecoder::Skip(std::string_view bytes, size_t* i) {
  if (state_ == State::kSkipOctets) {
    size_t take = std::min(remaining_, bytes.size() - *i);
    *i += take;
    remaining_ -= take;
    if (remaining_ == 0) state_ = State::kFrameStart;
    return FrameError::kNone;
  }
  size_t lf = bytes.find('\n', *i);
  if (lf == std::string_view::npos) {
    *i = bytes.size();
  } else {
    *i = lf + 1;
    state_ = State::kFrameStart;
  }
  return FrameError::kNone;
}

FrameError TcpFrameDecoder::Feed(std::string_view bytes, const FrameFn& on_frame) {
  FrameError worst = FrameError::kNone;
  size_t i = 0;
  while (i < bytes.size()) {
    FrameError step = FrameError::kNone;
    switch (state_) {
      case State::kFailed:
        return FrameError::kGarbled;
      case State::kFrameStart:
        step = StartFrame(bytes, &i);
        break;
      case State::kLength:
        step = ReadLength(bytes, &i);
        break;
      case State::kOctets:
        step = ReadOctets(bytes, &i, on_frame);
        break;
      case State::kLine:
        step = ReadLine(bytes, &i, on_frame);
        break;
      case State::kSkipOctets:
      case State::kSkipLine:
        step = Skip(bytes, &i);
        break;
    }
    if (step == FrameError::kGarbled) return step;
    if (step == FrameError::kOversize) worst = step;
  }
  return worst;
}

FrameError TcpFrameDecoder::Finish(const FrameFn& on_frame) {
  FrameError result = FrameError::kNone;
  switch (state_) {
    case State::kLine:
      if (!buffer_.empty()) {
        std::string_view frame = buffer_;
        if (frame.back() == '\r') frame.remove_suffix(1);
        Deliver(frame, on_frame);
      }
      break;
    case State::kLength:
    case State::kOctets:
    case State::kSkipOctets:
    case State::kFailed:
      result = FrameError::kGarbled;
      break;
    case State::kFrameStart:
    case State::kSkipLine:
      break;
  }
  buffer_.clear();
  state_ = State::kFrameStart;
  return result;
}

}  // namespace resyncwatch
