#include "store/key_format.h"

namespace resyncwatch::store_format {

const char* CfName(int cf) {
  static const char* const kNames[kCfCount] = {
      "default", "events", "device_index", "devices", "serials",
      "raw",     "alerts", "counters",     "dedup",
  };
  return cf >= 0 && cf < kCfCount ? kNames[cf] : "";
}

void PutFixed32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void PutFixed64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string TimeSeqKey(int64_t time_us, uint64_t seq) {
  std::string key;
  key.reserve(kTimeSeqKeySize);
  PutFixed64(&key, BiasTime(time_us));
  PutFixed64(&key, seq);
  return key;
}

std::optional<TimeSeq> ParseTimeSeqKey(std::string_view key) {
  if (key.size() != kTimeSeqKeySize) return std::nullopt;
  return TimeSeq{UnbiasTime(GetFixed64(key.data())), GetFixed64(key.data() + 8)};
}

std::string MacKey(MacAddress mac) {
  std::string key;
  for (int shift = 40; shift >= 0; shift -= 8) key.push_back(static_cast<char>(mac >> shift));
  return key;
}

std::optional<MacAddress> ParseMacKey(std::string_view key) {
  if (key.size() < kMacKeySize) return std::nullopt;
  MacAddress mac = 0;
  for (size_t i = 0; i < kMacKeySize; ++i) mac = (mac << 8) | static_cast<uint8_t>(key[i]);
  return mac;
}

std::string AlertKey(int64_t started_us, std::string_view id) {
  std::string key;
  PutFixed64(&key, BiasTime(started_us));
  key.append(id);
  return key;
}

std::string DedupKey(int64_t event_time_us, uint64_t content_hash) {
  std::string key;
  PutFixed64(&key, BiasTime(event_time_us));
  PutFixed64(&key, content_hash);
  return key;
}

std::string JournalKey(uint64_t first_seq) {
  std::string key(kMetaJournalPrefix);
  PutFixed64(&key, first_seq);
  return key;
}

}  // namespace resyncwatch::store_format
