#include "query/upgrade_state.h"

#include <utility>

namespace resyncwatch {
namespace {

std::string_view LastPathSegment(std::string_view path) {
  path = path.substr(0, path.find_first_of("?#"));
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool Later(int64_t t, uint64_t seq, int64_t than_t, uint64_t than_seq) {
  return std::pair(t, seq) > std::pair(than_t, than_seq);
}

}  // namespace

std::string FirmwareOf(const Event& e) {
  if (!e.error.empty()) return e.error;
  if (!e.path.empty()) return std::string(LastPathSegment(e.path));
  std::string_view url = e.url;
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  url.remove_prefix(scheme + 3);
  size_t slash = url.find('/');
  return slash == std::string_view::npos ? std::string()
                                         : std::string(LastPathSegment(url.substr(slash)));
}

void ApplyUpgradeEvent(const Event& e, UpgradeState* s) {
  bool first = s->last_kind == EventKind::kUnknown;
  if (first || Later(e.event_time_us, e.seq, s->last_us, s->last_seq)) {
    s->last_kind = e.kind;
    s->last_us = e.event_time_us;
    s->last_seq = e.seq;
  }
  if (e.kind != EventKind::kUpgradeSuccess) return;
  if (!s->upgraded || Later(e.event_time_us, e.seq, s->upgraded_us, s->upgraded_seq)) {
    s->upgraded = true;
    s->firmware = FirmwareOf(e);
    s->upgraded_us = e.event_time_us;
    s->upgraded_seq = e.seq;
  }
}

void MergeUpgradeState(const UpgradeState& o, UpgradeState* s) {
  if (o.last_kind != EventKind::kUnknown &&
      (s->last_kind == EventKind::kUnknown ||
       Later(o.last_us, o.last_seq, s->last_us, s->last_seq))) {
    s->last_kind = o.last_kind;
    s->last_us = o.last_us;
    s->last_seq = o.last_seq;
  }
  if (o.upgraded &&
      (!s->upgraded || Later(o.upgraded_us, o.upgraded_seq, s->upgraded_us, s->upgraded_seq))) {
    s->upgraded = true;
    s->firmware = o.firmware;
    s->upgraded_us = o.upgraded_us;
    s->upgraded_seq = o.upgraded_seq;
  }
}

std::string_view LastUpgradeText(const UpgradeState& s) {
  switch (s.last_kind) {
    case EventKind::kUpgradeSuccess:
      return "success";
    case EventKind::kUpgradeFailure:
      return "failure";
    case EventKind::kUpgradeRequest:
      return "requested";
    default:
      return {};
  }
}

}  // namespace resyncwatch
