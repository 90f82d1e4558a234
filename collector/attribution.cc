#include "collector/attribution.h"

#include <optional>

namespace resyncwatch {
namespace {

bool IsResyncOrUpgrade(EventKind kind) {
  return kind != EventKind::kUnknown && kind != EventKind::kDebug;
}

}  // namespace

void DeviceAttribution::LearnIp(const PeerAddress& peer, MacAddress mac) {
  if (by_ip_.size() >= kMaxEntries) by_ip_.Clear();
  bool inserted = false;
  MacAddress* known = by_ip_.FindOrInsert(peer, mac, &inserted);
  if (!inserted && *known != mac) *known = kShared;
}

void DeviceAttribution::Seed(const Store& store) {
  store.ForEachDevice([&](const DeviceSummary& d) {
    // last_ip is the host alone: "10.1.2.3", "2001:db8::5".
    std::optional<PeerAddress> peer = PeerAddress::Parse(d.last_ip);
    if (d.mac != 0 && peer) LearnIp(*peer, d.mac);
    if (d.mac != 0 && !d.sn.empty()) by_sn_[d.sn] = d.mac;
    return by_ip_.size() < kMaxEntries;
  });
}

void DeviceAttribution::Attribute(const PeerAddress& peer, Event* event, const Store* store) {
  if (event->mac != 0) {
    if (!event->sn.empty()) {
      if (by_sn_.size() >= kMaxEntries) by_sn_.clear();
      by_sn_[event->sn] = event->mac;
    }
    if (IsResyncOrUpgrade(event->kind)) LearnIp(peer, event->mac);
    return;
  }
  if (!event->sn.empty()) {
    auto it = by_sn_.find(event->sn);
    if (it == by_sn_.end() && store != nullptr) {
      Result<MacAddress> mac = store->MacForSerial(event->sn);
      it = by_sn_.emplace(event->sn, mac.ok() ? *mac : 0).first;
    }
    if (it != by_sn_.end() && it->second != 0) {
      event->mac = it->second;
      return;
    }
  }
  const MacAddress* known = by_ip_.Find(peer);
  if (known != nullptr && *known != kShared) event->mac = *known;
}

}  // namespace resyncwatch
