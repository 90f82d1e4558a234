#include "store/event_codec.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/time_format.h"
#include "store/rfc3339_form.h"
#include "store/varint.h"

namespace resyncwatch::store_format {
namespace {

enum EventFlag : uint64_t {
  kHasMessageTime = 1 << 0,
  kHasMac = 1 << 1,
  kTimestampIsBsd = 1 << 2,  // timestamp_text == FormatBsdTimestamp(message_time)
  kUrlWithPort = 1 << 3,     // url == scheme "://" server ":" port path
  kUrlWithoutPort = 1 << 4,  // url == scheme "://" server path
  kSourceIpv4 = 1 << 5,      // source == "a.b.c.d:port", stored as 6 bytes
  // Since version 2:
  kTimestampIsRfc3339 = 1 << 6,  // timestamp_text == RenderRfc3339(message_time, form)
  kReceivedWhole = 1 << 7,       // received_us stored whole, not as a delta to event time
  kMessageTimeSeconds = 1 << 8,  // message_time_us stored as whole seconds since the epoch
  kMessageTimeWhole = 1 << 9,    // message_time_us stored whole (its delta overflows)
};
// An import stamps every event of a run with the run's start, hours or days after the
// events: as a delta that is a different 5-6 byte number per event, whole it is the same
// bytes in every event, which zstd folds away.
constexpr int64_t kReceivedWholeAfterUs = int64_t{3600} * 1'000'000;
constexpr char kRefEscape = '\x01';
constexpr size_t kMinRefLength = 4;

// The four spellings of a MAC that phones and relays print.
struct MacForms {
  char colon[17], plain[12], upper[12], colon_upper[17];
  explicit MacForms(MacAddress mac) {
    static const char kLower[] = "0123456789abcdef";
    static const char kUpper[] = "0123456789ABCDEF";
    for (int i = 0; i < 6; ++i) {
      unsigned b = static_cast<unsigned>(mac >> (40 - 8 * i)) & 0xff;
      plain[2 * i] = colon[3 * i] = kLower[b >> 4];
      plain[2 * i + 1] = colon[3 * i + 1] = kLower[b & 15];
      upper[2 * i] = colon_upper[3 * i] = kUpper[b >> 4];
      upper[2 * i + 1] = colon_upper[3 * i + 1] = kUpper[b & 15];
      if (i < 5) colon[3 * i + 2] = colon_upper[3 * i + 2] = ':';
    }
  }
};

// True when url == scheme "://" server [":" port] path, compared without allocating.
bool UrlIsRendered(const Event& e, bool with_port) {
  std::string_view url = e.url;
  auto eat = [&url](std::string_view part) {
    if (!url.starts_with(part)) return false;
    url.remove_prefix(part.size());
    return true;
  };
  if (!eat(e.scheme) || !eat("://") || !eat(e.server)) return false;
  if (with_port) {
    char buf[16];
    buf[0] = ':';
    auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf, e.port);
    if (ec != std::errc() || !eat(std::string_view(buf, end - buf))) return false;
  }
  return url == e.path;
}

// Into *out, reusing its storage (a reader may decode every record into one Event).
void RenderUrlInto(const Event& e, bool with_port, std::string* out) {
  out->assign(e.scheme);
  out->append("://");
  out->append(e.server);
  if (with_port) {
    char buf[16];
    buf[0] = ':';
    out->append(buf, std::to_chars(buf + 1, buf + sizeof buf, e.port).ptr);
  }
  out->append(e.path);
}

// Parses the canonical "a.b.c.d:port" (no leading zeros, nothing after) into 6 bytes.
bool ParseIpv4Source(std::string_view s, uint8_t bytes[6]) {
  size_t i = 0;
  for (int part = 0; part < 5; ++part) {
    const size_t start = i;
    unsigned v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 5) v = v * 10 + (s[i++] - '0');
    const size_t len = i - start;
    if (len == 0 || (len > 1 && s[start] == '0')) return false;
    if (part < 4) {
      if (v > 255 || i >= s.size() || s[i] != (part < 3 ? '.' : ':')) return false;
      bytes[part] = static_cast<uint8_t>(v);
      ++i;
    } else {
      if (v > 65535 || i != s.size()) return false;
      bytes[4] = static_cast<uint8_t>(v >> 8);
      bytes[5] = static_cast<uint8_t>(v & 0xff);
    }
  }
  return true;
}

// Candidates for references in the identifier and the body, in a fixed order.
constexpr size_t kBodyCandidates = 10;
void BodyCandidates(const Event& e, const MacForms* mac, std::string_view out[kBodyCandidates]) {
  out[0] = e.model;
  out[1] = mac ? std::string_view(mac->colon, 17) : std::string_view();
  out[2] = mac ? std::string_view(mac->plain, 12) : std::string_view();
  out[3] = mac ? std::string_view(mac->upper, 12) : std::string_view();
  out[4] = mac ? std::string_view(mac->colon_upper, 17) : std::string_view();
  out[5] = e.url;
  out[6] = e.error;
  out[7] = e.sn;
  out[8] = e.server;
  out[9] = e.path;
}
constexpr size_t kPathCandidates = 3;
void PathCandidates(const MacForms* mac, std::string_view out[kPathCandidates]) {
  out[0] = mac ? std::string_view(mac->plain, 12) : std::string_view();
  out[1] = mac ? std::string_view(mac->upper, 12) : std::string_view();
  out[2] = mac ? std::string_view(mac->colon, 17) : std::string_view();
}

}  // namespace

void EncodeWithRefs(std::string_view text, const std::string_view* candidates, size_t n,
                    std::string* out) {
  static_assert(kMinRefLength >= 4, "a candidate is tried by its first four bytes");
  thread_local std::string encoded;
  encoded.clear();
  // The candidates long enough to be referenced, in their order, each with its first four
  // bytes as one word: at a position most candidates are ruled out by one comparison.
  struct Usable {
    uint32_t head;
    size_t index;
    std::string_view text;
  };
  thread_local std::vector<Usable> usable;
  usable.clear();
  // Bytes that can begin a reference (or need escaping): runs of other bytes are copied
  // whole instead of being tried against every candidate.
  // A bit set rather than bool[256]: clearing 256 bytes three times per event (rep stos)
  // was a fifth of this function.
  uint64_t special_bits[4] = {};
  auto mark = [&special_bits](uint8_t b) { special_bits[b >> 6] |= uint64_t{1} << (b & 63); };
  auto special = [&special_bits](char c) {
    const auto b = static_cast<uint8_t>(c);
    return (special_bits[b >> 6] >> (b & 63)) & 1;
  };
  auto word_at = [](const char* p) {
    uint32_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
  };
  mark(static_cast<uint8_t>(kRefEscape));
  for (size_t c = 0; c < n; ++c) {
    if (candidates[c].size() < kMinRefLength) continue;
    usable.push_back({word_at(candidates[c].data()), c, candidates[c]});
    mark(static_cast<uint8_t>(candidates[c][0]));
  }
  size_t i = 0;
  while (i < text.size()) {
    size_t run = i;
    while (run < text.size() && !special(text[run])) ++run;
    encoded.append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    // The first of the longest candidates that text continues with at i.
    size_t best = n, best_len = 0;
    const size_t left = text.size() - i;
    if (left >= kMinRefLength) {
      const uint32_t word = word_at(text.data() + i);
      for (const Usable& cand : usable) {
        const size_t len = cand.text.size();
        if (cand.head != word || len <= best_len || len > left) continue;
        if (std::memcmp(text.data() + i + 4, cand.text.data() + 4, len - 4) == 0) {
          best = cand.index, best_len = len;
        }
      }
    }
    if (best < n) {
      encoded.push_back(kRefEscape);
      encoded.push_back(static_cast<char>(best + 1));
      i += best_len;
    } else {
      encoded.push_back(text[i]);
      if (text[i] == kRefEscape) encoded.push_back('\0');
      ++i;
    }
  }
  PutString(out, encoded);
}

bool DecodeWithRefs(std::string_view encoded, const std::string_view* candidates, size_t n,
                    std::string* out) {
  out->clear();
  // Copies the runs between references whole (they are most of the text).
  for (size_t i = 0; i < encoded.size(); ++i) {
    const size_t esc = encoded.find(kRefEscape, i);
    if (esc == std::string_view::npos) {
      out->append(encoded.substr(i));
      break;
    }
    out->append(encoded.substr(i, esc - i));
    i = esc;
    if (++i == encoded.size()) return false;
    size_t ref = static_cast<uint8_t>(encoded[i]);
    if (ref == 0) {
      out->push_back(kRefEscape);
    } else if (ref <= n && candidates[ref - 1].size() >= kMinRefLength) {
      out->append(candidates[ref - 1]);
    } else {
      return false;
    }
  }
  return true;
}

namespace {

// "Mmm dd hh:mm:ss" (day space-padded) into buf; returns its length.
size_t FormatBsdTimestampTo(int64_t unix_us, char (&buf)[32]) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  CivilTime t = CivilFromMicros(unix_us);
  const char* month = kMonths[(t.month - 1) % 12];
  if (t.day < 1 || t.day > 99 || t.hour < 0 || t.hour > 99 || t.minute < 0 || t.minute > 99 ||
      t.second < 0 || t.second > 99) {
    int len = std::snprintf(buf, sizeof buf, "%s %2d %02d:%02d:%02d", month, t.day, t.hour,
                            t.minute, t.second);
    return len < 0 ? 0 : std::min(static_cast<size_t>(len), sizeof buf - 1);
  }
  auto two = [](char* p, int v, char lead) {
    p[0] = v < 10 ? lead : static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  std::memcpy(buf, month, 3);
  buf[3] = ' ';
  two(buf + 4, t.day, ' ');
  buf[6] = ' ';
  two(buf + 7, t.hour, '0');
  buf[9] = ':';
  two(buf + 10, t.minute, '0');
  buf[12] = ':';
  two(buf + 13, t.second, '0');
  return 15;
}

}  // namespace

std::string FormatBsdTimestamp(int64_t unix_us) {
  char buf[32];
  return std::string(buf, FormatBsdTimestampTo(unix_us, buf));
}

uint64_t ContentHash(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

void EncodeEvent(const Event& e, std::string* out) {
  std::optional<MacForms> mac;
  if (e.mac != 0) mac.emplace(e.mac);
  uint64_t flags = 0;
  if (e.message_time_us) flags |= kHasMessageTime;
  if (mac) flags |= kHasMac;
  if (e.message_time_us && !e.timestamp_text.empty() && *e.message_time_us % 1'000'000 == 0) {
    // Consecutive events mostly carry the same second: its rendering is kept.
    thread_local int64_t rendered_us = INT64_MIN;
    thread_local char bsd[32];
    thread_local size_t bsd_length = 0;
    if (*e.message_time_us != rendered_us) {
      bsd_length = FormatBsdTimestampTo(*e.message_time_us, bsd);
      rendered_us = *e.message_time_us;
    }
    if (std::string_view(bsd, bsd_length) == e.timestamp_text) flags |= kTimestampIsBsd;
  }
  std::optional<Rfc3339Form> rfc3339;
  if (e.message_time_us && !(flags & kTimestampIsBsd)) rfc3339 = Rfc3339FormOf(e.timestamp_text);
  if (rfc3339) {
    char text[kRfc3339MaxLength];
    if (std::string_view(text, RenderRfc3339(*e.message_time_us, *rfc3339, text)) ==
        e.timestamp_text) {
      flags |= kTimestampIsRfc3339;
    }
  }
  int64_t message_stored = 0;
  if (e.message_time_us) {
    const int64_t message = *e.message_time_us;
    // Live, the event time is the receive time in microseconds and a BSD timestamp has
    // whole seconds: their delta is the receive time's microseconds, random bytes in every
    // event, where the seconds themselves repeat or count up from one event to the next.
    if (message % kMicrosPerSecond == 0 && message != e.event_time_us) {
      flags |= kMessageTimeSeconds;
      message_stored = message / kMicrosPerSecond;
    } else if (__builtin_sub_overflow(message, e.event_time_us, &message_stored)) {
      flags |= kMessageTimeWhole;
      message_stored = message;
    }
  }
  int64_t received_delta;
  if (__builtin_sub_overflow(e.received_us, e.event_time_us, &received_delta) ||
      received_delta > kReceivedWholeAfterUs || received_delta < -kReceivedWholeAfterUs) {
    flags |= kReceivedWhole;
  }
  if (!e.url.empty() && !e.scheme.empty()) {
    if (e.port != 0 && UrlIsRendered(e, true)) {
      flags |= kUrlWithPort;
    } else if (UrlIsRendered(e, false)) {
      flags |= kUrlWithoutPort;
    }
  }
  uint8_t ip[6];
  if (ParseIpv4Source(e.source, ip)) flags |= kSourceIpv4;

  out->push_back(static_cast<char>(kEventCodecVersion));
  out->push_back(static_cast<char>(e.kind));
  out->push_back(static_cast<char>(e.format));
  PutSigned(out, e.facility);
  PutSigned(out, e.severity);
  PutVarint(out, flags);
  PutSigned(out, flags & kReceivedWhole ? e.received_us : received_delta);
  if (e.message_time_us) PutSigned(out, message_stored);
  if (mac) {
    for (int shift = 40; shift >= 0; shift -= 8) out->push_back(static_cast<char>(e.mac >> shift));
  }
  PutString(out, e.sn);
  PutString(out, e.model);
  PutString(out, e.host);
  PutString(out, e.app);
  if (flags & kTimestampIsRfc3339) {
    PutVarint(out, PackRfc3339Form(*rfc3339));
    if (!rfc3339->zulu) PutSigned(out, rfc3339->offset_minutes);
  } else if (!(flags & kTimestampIsBsd)) {
    PutString(out, e.timestamp_text);
  }
  PutString(out, e.scheme);
  PutString(out, e.server);
  PutSigned(out, e.port);
  std::string_view path_cands[kPathCandidates];
  PathCandidates(mac ? &*mac : nullptr, path_cands);
  EncodeWithRefs(e.path, path_cands, kPathCandidates, out);
  if (!(flags & (kUrlWithPort | kUrlWithoutPort))) PutString(out, e.url);
  PutString(out, e.error);
  std::string_view body_cands[kBodyCandidates];
  BodyCandidates(e, mac ? &*mac : nullptr, body_cands);
  EncodeWithRefs(e.identifier, body_cands, kBodyCandidates, out);
  EncodeWithRefs(e.message, body_cands, kBodyCandidates, out);
  if (flags & kSourceIpv4) {
    out->append(reinterpret_cast<const char*>(ip), 6);
  } else {
    PutString(out, e.source);
  }
}

namespace {

bool KnownEventVersion(uint8_t version) {
  return version >= kOldestEventCodecVersion && version <= kEventCodecVersion;
}

// Flags a version does not have, or that contradict each other, are corruption: every
// decoder must read the same fields from the same bytes.
Status CheckFlags(uint8_t version, uint64_t flags) {
  const uint64_t known = version >= 2 ? 0x3ff : 0x3f;
  if (flags & ~known) return Status::Corruption("event record: unknown flags");
  if (((flags & kTimestampIsBsd) && (flags & kTimestampIsRfc3339)) ||
      ((flags & kUrlWithPort) && (flags & kUrlWithoutPort)) ||
      ((flags & kMessageTimeSeconds) && (flags & kMessageTimeWhole))) {
    return Status::Corruption("event record: contradicting flags");
  }
  constexpr uint64_t kNeedMessageTime =
      kTimestampIsBsd | kTimestampIsRfc3339 | kMessageTimeSeconds | kMessageTimeWhole;
  if ((flags & kNeedMessageTime) && !(flags & kHasMessageTime)) {
    return Status::Corruption("event record: timestamp flag without time");
  }
  return Status::Ok();
}

Status BadEvent(const char* what) {
  return Status::Corruption(std::string("event record: ") + what);
}

// The fields every decoder needs, in encoding order: version, kind, format, facility,
// severity, flags, receive and message times, MAC.
Status DecodeLeadingFields(ByteReader* r, Event* e, uint64_t* flags) {
  uint8_t version, kind, format;
  if (!r->GetByte(&version)) return BadEvent("empty");
  if (!KnownEventVersion(version)) {
    return Status::Corruption("event record: unknown encoding version " + std::to_string(version));
  }
  int64_t fac, sev, received_delta;
  if (!r->GetByte(&kind) || !r->GetByte(&format) || !r->GetSigned(&fac) || !r->GetSigned(&sev) ||
      !r->GetVarint(flags) || !r->GetSigned(&received_delta)) {
    return BadEvent("truncated header");
  }
  if (kind >= kEventKindCount || format > static_cast<uint8_t>(SyslogFormat::kBare)) {
    return BadEvent("kind or format out of range");
  }
  if (Status st = CheckFlags(version, *flags); !st.ok()) return st;
  e->kind = static_cast<EventKind>(kind);
  e->format = static_cast<SyslogFormat>(format);
  e->facility = static_cast<int16_t>(fac);
  e->severity = static_cast<int16_t>(sev);
  // The deltas come from disk or the query socket: a sum past int64 is corruption, not
  // undefined behaviour.
  if (*flags & kReceivedWhole) {
    e->received_us = received_delta;
  } else if (__builtin_add_overflow(e->event_time_us, received_delta, &e->received_us)) {
    return BadEvent("receive time out of range");
  }
  e->message_time_us.reset();
  if (*flags & kHasMessageTime) {
    int64_t stored, message_time;
    if (!r->GetSigned(&stored)) return BadEvent("truncated message time");
    bool overflow;
    if (*flags & kMessageTimeSeconds) {
      overflow = __builtin_mul_overflow(stored, kMicrosPerSecond, &message_time);
    } else if (*flags & kMessageTimeWhole) {
      overflow = false;
      message_time = stored;
    } else {
      overflow = __builtin_add_overflow(e->event_time_us, stored, &message_time);
    }
    if (overflow) return BadEvent("message time out of range");
    e->message_time_us = message_time;
  }
  e->mac = 0;
  if (*flags & kHasMac) {
    std::string_view b;
    if (!r->GetBytes(6, &b)) return BadEvent("truncated mac");
    for (char c : b) e->mac = (e->mac << 8) | static_cast<uint8_t>(c);
  }
  return Status::Ok();
}

// The form of an event's timestamp text when its flags say it is an RFC 3339 rendering,
// checked to render the message time (the leading fields decoded it): both decoders call
// this, so they accept the same records; only the full one writes the text.
Status ReadRfc3339Form(ByteReader* r, const Event& e, Rfc3339Form* out) {
  uint64_t packed;
  if (!r->GetVarint(&packed)) return BadEvent("truncated timestamp form");
  std::optional<Rfc3339Form> form = UnpackRfc3339Form(packed);
  if (!form) return BadEvent("bad timestamp form");
  if (!form->zulu) {
    int64_t offset;
    if (!r->GetSigned(&offset)) return BadEvent("truncated timestamp offset");
    if (offset < -kMaxRfc3339OffsetMinutes || offset > kMaxRfc3339OffsetMinutes) {
      return BadEvent("timestamp offset out of range");
    }
    form->offset_minutes = static_cast<int>(offset);
  }
  if (!CanRenderRfc3339(*e.message_time_us, *form)) {  // CheckFlags: a time is there
    return BadEvent("timestamp has no rendering");
  }
  *out = *form;
  return Status::Ok();
}

}  // namespace

Status DecodeEvent(std::string_view value, Event* e) {
  auto bad = BadEvent;
  ByteReader r(value);
  uint64_t flags;
  if (Status st = DecodeLeadingFields(&r, e, &flags); !st.ok()) return st;
  int64_t port;
  std::optional<MacForms> mac;
  if (flags & kHasMac) mac.emplace(e->mac);
  if (!r.GetString(&e->sn) || !r.GetString(&e->model) || !r.GetString(&e->host) ||
      !r.GetString(&e->app)) {
    return bad("truncated strings");
  }
  if (flags & kTimestampIsBsd) {
    char buf[32];
    e->timestamp_text.assign(buf, FormatBsdTimestampTo(*e->message_time_us, buf));
  } else if (flags & kTimestampIsRfc3339) {
    Rfc3339Form form;
    if (Status st = ReadRfc3339Form(&r, *e, &form); !st.ok()) return st;
    char text[kRfc3339MaxLength];
    e->timestamp_text.assign(text, RenderRfc3339(*e->message_time_us, form, text));
  } else if (!r.GetString(&e->timestamp_text)) {
    return bad("truncated timestamp");
  }
  std::string_view encoded;
  if (!r.GetString(&e->scheme) || !r.GetString(&e->server) || !r.GetSigned(&port) ||
      !r.GetString(&encoded)) {
    return bad("truncated url parts");
  }
  e->port = static_cast<int32_t>(port);
  std::string_view path_cands[kPathCandidates];
  PathCandidates(mac ? &*mac : nullptr, path_cands);
  if (!DecodeWithRefs(encoded, path_cands, kPathCandidates, &e->path)) return bad("bad path");
  if (flags & kUrlWithPort) {
    RenderUrlInto(*e, true, &e->url);
  } else if (flags & kUrlWithoutPort) {
    RenderUrlInto(*e, false, &e->url);
  } else if (!r.GetString(&e->url)) {
    return bad("truncated url");
  }
  if (!r.GetString(&e->error)) return bad("truncated error");
  std::string_view body_cands[kBodyCandidates];
  BodyCandidates(*e, mac ? &*mac : nullptr, body_cands);
  if (!r.GetString(&encoded) ||
      !DecodeWithRefs(encoded, body_cands, kBodyCandidates, &e->identifier)) {
    return bad("bad identifier");
  }
  body_cands[9] = e->path;
  if (!r.GetString(&encoded) ||
      !DecodeWithRefs(encoded, body_cands, kBodyCandidates, &e->message)) {
    return bad("bad message");
  }
  if (flags & kSourceIpv4) {
    std::string_view b;
    if (!r.GetBytes(6, &b)) return bad("truncated source");
    const auto* u = reinterpret_cast<const uint8_t*>(b.data());
    // Into a buffer, then one assign: the reader may reuse e (an export decodes every
    // record into one Event) and then allocates nothing.
    char buf[24];
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      p = std::to_chars(p, buf + sizeof buf, u[i]).ptr;
      *p++ = i < 3 ? '.' : ':';
    }
    p = std::to_chars(p, buf + sizeof buf, (u[4] << 8) | u[5]).ptr;
    e->source.assign(buf, p);
  } else if (!r.GetString(&e->source)) {
    return bad("truncated source");
  }
  if (!r.done()) return bad("trailing bytes");
  return Status::Ok();
}

Status DecodeEventHead(std::string_view value, Event* e) {
  auto bad = BadEvent;
  ByteReader r(value);
  uint64_t flags;
  if (Status st = DecodeLeadingFields(&r, e, &flags); !st.ok()) return st;
  if (!r.GetString(&e->sn) || !r.GetString(&e->model)) return bad("truncated strings");
  // The host (`recovery` reads a failing phone's address from its latest failure), the
  // URL's parts and the error (fleet statistics; the schedule analysis tells profiles and
  // copies apart by them), skipping the fields between them without building them (app,
  // timestamp text, the url text).
  std::string_view skip;
  if (!r.GetString(&e->host) || !r.GetString(&skip)) return bad("truncated strings");  // app
  if (flags & kTimestampIsRfc3339) {
    Rfc3339Form form;
    if (Status st = ReadRfc3339Form(&r, *e, &form); !st.ok()) return st;
  } else if (!(flags & kTimestampIsBsd) && !r.GetString(&skip)) {
    return bad("truncated timestamp");
  }
  int64_t port;
  std::string_view encoded_path;
  if (!r.GetString(&e->scheme) || !r.GetString(&e->server) || !r.GetSigned(&port) ||
      !r.GetString(&encoded_path)) {
    return bad("truncated url parts");
  }
  e->port = static_cast<int32_t>(port);
  std::optional<MacForms> mac;
  if (flags & kHasMac) mac.emplace(e->mac);
  std::string_view path_cands[kPathCandidates];
  PathCandidates(mac ? &*mac : nullptr, path_cands);
  if (!DecodeWithRefs(encoded_path, path_cands, kPathCandidates, &e->path)) {
    return bad("bad path");
  }
  if (!(flags & (kUrlWithPort | kUrlWithoutPort)) && !r.GetString(&skip)) {
    return bad("truncated url");
  }
  if (!r.GetString(&e->error)) return bad("truncated error");
  return Status::Ok();
}

Result<MacAddress> PeekEventMac(std::string_view value) {
  ByteReader r(value);
  uint8_t version, kind, format;
  int64_t fac, sev, delta;
  uint64_t flags;
  if (!r.GetByte(&version) || !KnownEventVersion(version) || !r.GetByte(&kind) ||
      !r.GetByte(&format) || !r.GetSigned(&fac) || !r.GetSigned(&sev) || !r.GetVarint(&flags) ||
      !r.GetSigned(&delta) || ((flags & kHasMessageTime) && !r.GetSigned(&delta))) {
    return Status::Corruption("event record: bad header");
  }
  if (Status st = CheckFlags(version, flags); !st.ok()) return st;
  if (!(flags & kHasMac)) return MacAddress{0};
  std::string_view b;
  if (!r.GetBytes(6, &b)) return Status::Corruption("event record: truncated mac");
  MacAddress mac = 0;
  for (char c : b) mac = (mac << 8) | static_cast<uint8_t>(c);
  return mac;
}

Result<EventKind> PeekEventKind(std::string_view value) {
  if (value.size() < 2 || !KnownEventVersion(static_cast<uint8_t>(value[0])) ||
      static_cast<uint8_t>(value[1]) >= kEventKindCount) {
    return Status::Corruption("event record: bad header");
  }
  return static_cast<EventKind>(value[1]);
}

void EncodeRaw(const RawDatagram& raw, std::string* out) {
  out->push_back(static_cast<char>(kRawCodecVersion));
  PutString(out, raw.source);
  PutString(out, raw.reason);
  PutString(out, raw.bytes);
}

Status DecodeRaw(std::string_view value, RawDatagram* raw) {
  ByteReader r(value);
  uint8_t version;
  if (!r.GetByte(&version) || version != kRawCodecVersion) {
    return Status::Corruption("raw record: unknown encoding version");
  }
  if (!r.GetString(&raw->source) || !r.GetString(&raw->reason) || !r.GetString(&raw->bytes) ||
      !r.done()) {
    return Status::Corruption("raw record: truncated");
  }
  return Status::Ok();
}

}  // namespace resyncwatch::store_format
