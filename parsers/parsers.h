// parsers: turns the bytes of one syslog datagram (or TCP frame) from a Cisco MPP/SPA
// phone, or from a relay in front of it, into a ParsedMessage. Pure functions: no I/O,
// no clock reads, no logging, no globals. A ParsedMessage borrows from the input bytes
// (and from its own small scratch buffer); it is valid while the input is. A TemplateSet
// is immutable after construction and may be shared between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/flags.h"
#include "common/status.h"

namespace resyncwatch {

// Which syslog framing was recognised.
enum class SyslogFormat : uint8_t { kRaw = 0, kRfc3164 = 1, kRfc5424 = 2, kBare = 3 };

// What the message says happened. Values are stored on disk: append only.
enum class EventKind : uint8_t {
  kUnknown = 0,
  kResyncRequest = 1,
  kResyncSuccess = 2,
  kResyncFailure = 3,
  kUpgradeRequest = 4,
  kUpgradeSuccess = 5,
  kUpgradeFailure = 6,
  kDebug = 7,
};
constexpr int kEventKindCount = 8;

// How the Syslog_Identifier token after the timestamp was spelled.
enum class IdentifierForm : uint8_t { kNone = 0, kMa = 1, kMau = 2, kMac = 3, kSn = 4 };

std::string_view ToString(SyslogFormat format);  // "rfc3164", "rfc5424", "bare", "raw"
std::string_view ToString(EventKind kind);       // "resync_request", ..., "debug", "unknown"
std::optional<EventKind> EventKindFromString(std::string_view name);

// A 48-bit MAC address; 0 means "none".
using MacAddress = uint64_t;
// Accepts 00:0e:08:ab:cd:ef, 00-0E-08-AB-CD-EF, 000e.08ab.cdef, 000E08ABCDEF (and a
// rsyslog-split "00: 0e:08:ab:cd:ef" is the parser's job, not this one's).
std::optional<MacAddress> ParseMac(std::string_view text);
// Canonical 12 lower-case hex digits, "000e08abcdef".
std::string FormatMac(MacAddress mac);
void FormatMac(MacAddress mac, char out[12]);

// What Parse needs to know besides the bytes.
struct ParseContext {
  // The receive time (live) or the archive file's mtime (import), microseconds UTC. A
  // year-less BSD timestamp takes the year that puts it at or before reference + 1 day
  // (so "Dec 31" received on Jan 1 is last year's), unless `year` is given.
  int64_t reference_us = 0;
  std::optional<int> year;
};

// The result of Parse. The string_views point into the parsed bytes or into this
// object's own scratch buffer (used where the text had to change: a credential or
// --key value replaced by ***, a MAC re-joined after a relay split it). Valid while the
// input bytes are alive and the object is not destroyed. Non-copyable (a copy would
// point into the original's scratch); movable (the scratch lives on the heap, so views
// stay valid across a move). The out-parameter Parse reuses the scratch, so the views
// of the previous result end there. Empty string_view = absent.
struct ParsedMessage {
  ParsedMessage();
  ~ParsedMessage();
  ParsedMessage(ParsedMessage&&) noexcept;
  ParsedMessage& operator=(ParsedMessage&&) noexcept;
  ParsedMessage(const ParsedMessage&) = delete;
  ParsedMessage& operator=(const ParsedMessage&) = delete;

  SyslogFormat format = SyslogFormat::kRaw;
  int facility = -1;  // -1 = absent (no PRI)
  int severity = -1;
  std::string_view timestamp_text;         // as it appeared
  std::optional<int64_t> message_time_us;  // that timestamp, UTC (zone-less BSD taken as UTC)
  std::string_view host;
  std::string_view app;         // RFC 3164 TAG (without ':' / [pid]) or APP-NAME
  std::string_view identifier;  // Syslog_Identifier as it appeared
  IdentifierForm identifier_form = IdentifierForm::kNone;
  EventKind kind = EventKind::kUnknown;
  MacAddress mac = 0;  // 0 = none; from the template, else the identifier
  std::string_view sn;
  std::string_view model;
  std::string_view url;  // user:pass@, --key/--pwd values and cut credentials: ***
  std::string_view scheme;
  std::string_view server;  // the bare host: "2001:db8::5" (the url keeps the brackets)
  int port = 0;             // 0 = absent; the scheme's default when a URL has none
  std::string_view path;
  std::string_view error;       // $ERR (for upgrade_success: the new firmware)
  std::string_view message;     // the body, redacted like url
  std::string_view raw_reason;  // non-empty exactly when format == kRaw

  // Internal to Parse: reused between calls of the out-parameter overload.
  struct Scratch;
  std::unique_ptr<Scratch> scratch;
};

// Every key of the "templates" section (one per kind) with its default template.
std::vector<ConfigKeyDoc> TemplateConfigKeyDocs();

// The phones' message templates, compiled. Immutable once built; cheap to copy (shared);
// safe to use from many threads at once.
class TemplateSet {
 public:
  // The six documented defaults (Log_Request_Msg, Log_Success_Msg, Log_Failure_Msg,
  // Log_Upgrade_Request_Msg, Log_Upgrade_Success_Msg, Log_Upgrade_Failure_Msg).
  static Result<TemplateSet> Defaults();
  // Reads the top-level "templates" key of the resyncwatch config file and ignores the
  // other top-level keys (they belong to other modules). Absent key = the defaults.
  //   "templates": { "resync_failure": ["$PN $MAC -- Resync failed: $ERR", "default"],
  //                  "upgrade_request": [] }
  // A kind listed there REPLACES that kind's defaults (a plain string counts as a list of
  // one); the entry "default" stands for the kind's default template; an empty list or
  // an empty string means the phones do not send that kind. Kinds not listed keep their
  // defaults. Errors name the bad key, template or macro.
  static Result<TemplateSet> FromConfigJson(std::string_view json_text);
  // Builds from (kind, template) pairs, in priority order; errors name the template.
  static Result<TemplateSet> FromTemplates(
      const std::vector<std::pair<EventKind, std::string>>& templates);

  size_t size() const;
  // The templates as given, in priority order (for --help and diagnostics).
  std::vector<std::pair<EventKind, std::string>> Templates() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit TemplateSet(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Parses one datagram (or one TCP frame, or one line of a relay's log file). Never
// throws, never crashes; memory is bounded by a small multiple of the input size.
// Malformed input gives format kRaw with raw_reason set. A trailing "\n" / "\r\n" /
// NULs are ignored.
ParsedMessage Parse(std::string_view datagram, const TemplateSet& templates,
                    const ParseContext& ctx);
// Same, reusing out's scratch buffer between calls (the collector's hot path).
void Parse(std::string_view datagram, const TemplateSet& templates, const ParseContext& ctx,
           ParsedMessage* out);

// RFC 6587 TCP framing: octet counting ("<len> <msg>") and LF-delimited ("<msg>\n").
// The method is detected at the start of every frame, as rsyslog and syslog-ng do: a
// digit means octet counting, anything else a line. One decoder per connection; not
// thread-safe.
enum class FrameError : uint8_t {
  kNone = 0,
  kOversize = 1,  // a frame longer than max_frame_bytes: skipped (octet counting) or cut
                  // at max_frame_bytes (LF-delimited); the connection can go on
  kGarbled = 2,   // an octet-counting length that is not a number: the decoder stops;
                  // the caller should close the connection
};
std::string_view ToString(FrameError error);  // "none", "oversize", "garbled"

class TcpFrameDecoder {
 public:
  static constexpr size_t kDefaultMaxFrame = 64 * 1024;
  using FrameFn = std::function<void(std::string_view frame)>;

  explicit TcpFrameDecoder(size_t max_frame_bytes = kDefaultMaxFrame);

  // Feeds received bytes; calls on_frame for every complete frame (the view is valid
  // during the call only). Returns the worst error met in this call. After kGarbled
  // every further Feed returns kGarbled and delivers nothing.
  FrameError Feed(std::string_view bytes, const FrameFn& on_frame);
  // At end of stream: delivers a last LF-delimited frame that had no LF. Returns
  // kGarbled when an octet-counted frame was cut short.
  FrameError Finish(const FrameFn& on_frame);

  uint64_t frames() const { return frames_; }
  uint64_t oversize_frames() const { return oversize_; }
  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  enum class State : uint8_t {
    kFrameStart,
    kLength,
    kOctets,
    kLine,
    kSkipOctets,
    kSkipLine,
    kFailed
  };
  // Feed's steps, one per state: each consumes bytes from *i on and returns kGarbled to
  // stop, kOversize when it cut or skipped a frame, else kNone.
  FrameError StartFrame(std::string_view bytes, size_t* i);
  FrameError ReadLength(std::string_view bytes, size_t* i);
  FrameError ReadOctets(std::string_view bytes, size_t* i, const FrameFn& on_frame);
  FrameError ReadLine(std::string_view bytes, size_t* i, const FrameFn& on_frame);
  FrameError Skip(std::string_view bytes, size_t* i);
  void Deliver(std::string_view frame, const FrameFn& on_frame) {
    ++frames_;
    on_frame(frame);
  }

  size_t max_frame_;
  State state_ = State::kFrameStart;
  size_t remaining_ = 0;  // octets still expected (kOctets, kSkipOctets)
  size_t length_digits_ = 0;
  std::string buffer_;
  uint64_t frames_ = 0;
  uint64_t oversize_ = 0;
};

}  // namespace resyncwatch
