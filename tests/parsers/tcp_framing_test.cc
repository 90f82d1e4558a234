#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "parsers/parsers.h"

namespace resyncwatch {
namespace {

struct Collector {
  std::vector<std::string> frames;
  TcpFrameDecoder::FrameFn fn() {
    return [this](std::string_view f) { frames.emplace_back(f); };
  }
};

TEST_CASE("Octet-counted frames are decoded, whatever the read boundaries") {
  const std::string good = "11 <13>hello A5 <1>xy";
  for (size_t cut = 0; cut <= good.size(); ++cut) {
    TcpFrameDecoder d;
    Collector c;
    d.Feed(good.substr(0, cut), c.fn());
    d.Feed(good.substr(cut), c.fn());
    INFO("cut " << cut);
    REQUIRE(c.frames.size() == 2);
    CHECK(c.frames[0] == "<13>hello A");
    CHECK(c.frames[1] == "<1>xy");
  }
}

TEST_CASE("Octet-counted frames may hold newlines") {
  TcpFrameDecoder d;
  Collector c;
  CHECK(d.Feed("8 a\nb\nc\nde5 hello", c.fn()) == FrameError::kNone);
  CHECK(c.frames == std::vector<std::string>{"a\nb\nc\nde", "hello"});
}

TEST_CASE("LF-delimited frames are split on LF, CR dropped, last frame flushed at the end") {
  TcpFrameDecoder d;
  Collector c;
  d.Feed("<13>one\r\n<13>tw", c.fn());
  d.Feed("o\n\n<13>three", c.fn());
  CHECK(c.frames == std::vector<std::string>{"<13>one", "<13>two"});
  CHECK(d.Finish(c.fn()) == FrameError::kNone);
  CHECK(c.frames.back() == "<13>three");
}

TEST_CASE("Framing is detected per frame, as relays do") {
  TcpFrameDecoder d;
  Collector c;
  d.Feed("<13>lf frame\n7 counted<13>lf again\n", c.fn());
  CHECK(c.frames == std::vector<std::string>{"<13>lf frame", "counted", "<13>lf again"});
}

TEST_CASE("An oversize octet-counted frame is skipped and counted; the stream goes on") {
  TcpFrameDecoder d(8);
  Collector c;
  CHECK(d.Feed("20 aaaaaaaaaaaaaaaaaaaa3 abc", c.fn()) == FrameError::kOversize);
  CHECK(c.frames == std::vector<std::string>{"abc"});
  CHECK(d.oversize_frames() == 1);
}

TEST_CASE("An oversize LF-delimited frame is cut at the limit and the rest dropped") {
  TcpFrameDecoder d(4);
  Collector c;
  CHECK(d.Feed("<13>abcdef\nxy\n", c.fn()) == FrameError::kOversize);
  CHECK(c.frames == std::vector<std::string>{"<13>", "xy"});
  CHECK(d.buffered_bytes() == 0);
}

TEST_CASE("A garbled octet count stops the decoder with kGarbled") {
  TcpFrameDecoder d;
  Collector c;
  CHECK(d.Feed("12x hello", c.fn()) == FrameError::kGarbled);
  CHECK(d.Feed("5 hello", c.fn()) == FrameError::kGarbled);
  CHECK(c.frames.empty());
  TcpFrameDecoder zero;
  CHECK(zero.Feed("05 hello", c.fn()) == FrameError::kGarbled);
  TcpFrameDecoder huge;
  CHECK(huge.Feed("1234567890 x", c.fn()) == FrameError::kGarbled);
}

TEST_CASE("A stream that ends inside an octet-counted frame reports kGarbled at Finish") {
  TcpFrameDecoder d;
  Collector c;
  d.Feed("10 abc", c.fn());
  CHECK(d.Finish(c.fn()) == FrameError::kGarbled);
  CHECK(c.frames.empty());
}

}  // namespace
}  // namespace resyncwatch
