// counter_names: the one registry of the counters resyncwatch persists in the store and
// exports as metrics: each counter's fixed, low-cardinality name ("received_datagrams"),
// its help text, who counts it, and whether `resyncwatch stats --json` always lists it.
// The collector counts by Counter, the store and `import` write the names they own from
// here, and `stats` reads this table; no other place spells a counter name. Constant
// data: thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace resyncwatch {

enum class Counter : int {
  kReceivedDatagrams = 0,  // UDP datagrams and TCP frames
  kReceivedBytes,
  kTruncated,          // UDP datagrams cut by the receive buffer (UV_UDP_PARTIAL)
  kKernelDrops,        // dropped by the kernel before we read them (socket sk_drops)
  kQueueDrops,         // dropped because the writer queue was full
  kStoreErrors,        // datagrams that a failed store write could not keep
  kReceiveErrors,      // socket read errors
  kTcpConnections,     // TCP connections accepted
  kTcpRejected,        // TCP connections refused over --max-tcp-connections
  kTcpOversize,        // TCP frames longer than --max-frame (cut)
  kTcpEvicted,         // longest-idle TCP connections closed to make room at the limit
  kTcpIdleTimeouts,    // TCP connections closed after --tcp-idle-timeout without data
  kTcpFramingErrors,   // TCP streams closed because they were not RFC 6587 framed
  kDeniedDatagrams,    // datagrams and frames from senders outside --allow, dropped unparsed
  kDeniedConnections,  // TCP connections from senders outside --allow, closed at once
  kTlsErrors,          // TLS connections closed for a failed handshake or certificate
  kStoredEvents,       // counted by the store itself; mirrored by the collector for its summary
  kStoredRaw,
  kEventsUnknown,  // events by kind, in EventKind order
  kEventsResyncRequest,
  kEventsResyncSuccess,
  kEventsResyncFailure,
  kEventsUpgradeRequest,
  kEventsUpgradeSuccess,
  kEventsUpgradeFailure,
  kEventsDebug,
  kDuplicatesSkipped,  // import: records already stored by an earlier import (store)
  kImportedLines,      // import: lines read from archives
  kExportExpired,      // records local retention removed before ClickHouse had them (store)
  kCount,
};
constexpr int kCounterCount = static_cast<int>(Counter::kCount);

enum class CountedBy { kCollector, kStore, kImport };

struct CounterInfo {
  Counter counter;
  std::string_view name;  // as persisted; "resyncwatch_<name>_total" as a metric
  std::string_view help;
  CountedBy counted_by;
  bool always_listed;  // `stats --json` shows it, 0 when never counted
};

// Every counter, in Counter order.
std::span<const CounterInfo> AllCounters();
const CounterInfo& Info(Counter c);
inline std::string_view CounterName(Counter c) { return Info(c).name; }
inline std::string_view CounterHelp(Counter c) { return Info(c).help; }

}  // namespace resyncwatch
