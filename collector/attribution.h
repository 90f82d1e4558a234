// DeviceAttribution: gives events without a MAC (debug lines, $SN identifiers) the device
// they came from. Learns source IP -> MAC from resync/upgrade messages and SN -> MAC
// whenever both appear; an IP seen with two different MACs (a relay, NAT) is never used.
// Writer thread only (not thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "collector/address_map.h"
#include "collector/ingest_queue.h"
#include "store/store.h"

namespace resyncwatch {

class DeviceAttribution {
 public:
  // Seeds the IP map from the devices already in the store (their last source address).
  void Seed(const Store& store);
  // Learns from the event and fills event->mac when it has none and one is known.
  // store (may be null) answers SN lookups not yet seen in this run.
  void Attribute(const PeerAddress& peer, Event* event, const Store* store);

  size_t known_ips() const { return by_ip_.size(); }
  // For a datagram a few ahead: its sender's entry is the likely cache miss.
  void Prefetch(const PeerAddress& peer) const { by_ip_.Prefetch(peer); }

 private:
  void LearnIp(const PeerAddress& peer, MacAddress mac);

  static constexpr MacAddress kShared = ~MacAddress{0};  // seen with several MACs
  static constexpr size_t kMaxEntries = 2'000'000;
  AddressMap by_ip_;
  std::unordered_map<std::string, MacAddress> by_sn_;  // 0 = asked the store, unknown
};

}  // namespace resyncwatch
