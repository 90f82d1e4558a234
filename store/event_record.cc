#include "store/event_record.h"

#include "store/varint.h"

namespace resyncwatch::store_format {

// A group: the tag, the count, each event's encoded length (varints), then the encodings.
void EventRecordBuilder::Finish() {
  header_.clear();
  if (lengths_.size() < 2) return;
  header_.push_back(static_cast<char>(kEventGroupTag));
  PutVarint(&header_, lengths_.size());
  for (uint32_t n : lengths_) PutVarint(&header_, n);
}

void EventRecordBuilder::Clear() {
  lengths_.clear();
  header_.clear();
  body_.clear();
}

Status SplitEventRecord(std::string_view value, std::vector<std::string_view>* events) {
  events->clear();
  if (value.empty() || static_cast<uint8_t>(value[0]) != kEventGroupTag) {
    events->push_back(value);  // one event; its decoder checks it
    return Status::Ok();
  }
  auto bad = [](const char* what) {
    return Status::Corruption(std::string("event group: ") + what);
  };
  ByteReader r(value.substr(1));
  uint64_t count = 0;
  if (!r.GetVarint(&count)) return bad("truncated count");
  if (count < 2 || count > kMaxGroupEvents) return bad("count out of range");
  uint64_t lengths[kMaxGroupEvents];
  uint64_t total = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (!r.GetVarint(&lengths[i])) return bad("truncated lengths");
    if (lengths[i] == 0 || lengths[i] > value.size()) return bad("bad event length");
    total += lengths[i];
  }
  if (total != r.remaining()) return bad("lengths do not match its size");
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view encoded;
    r.GetBytes(static_cast<size_t>(lengths[i]), &encoded);
    events->push_back(encoded);
  }
  return Status::Ok();
}

}  // namespace resyncwatch::store_format
