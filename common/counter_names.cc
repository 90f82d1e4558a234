#include "common/counter_names.h"

namespace resyncwatch {
namespace {

using enum Counter;
constexpr CountedBy kC = CountedBy::kCollector;

constexpr CounterInfo kCounters[kCounterCount] = {
    {kReceivedDatagrams, "received_datagrams", "UDP datagrams and TCP frames received", kC, true},
    {kReceivedBytes, "received_bytes", "bytes of the datagrams and frames queued for the store", kC,
     false},
    {kTruncated, "truncated", "queued UDP datagrams truncated on receipt", kC, false},
    {kKernelDrops, "kernel_drops", "datagrams the kernel dropped before the collector read them",
     kC, true},
    {kQueueDrops, "queue_drops", "datagrams dropped because the writer queue was full", kC, true},
    {kStoreErrors, "store_errors", "datagrams lost to failed store writes", kC, true},
    {kReceiveErrors, "receive_errors", "socket read errors", kC, false},
    {kTcpConnections, "tcp_connections", "TCP connections accepted", kC, false},
    {kTcpRejected, "tcp_rejected", "TCP connections refused over the connection limit", kC, false},
    {kTcpOversize, "tcp_oversize", "TCP frames longer than the frame limit", kC, false},
    {kTcpEvicted, "tcp_evicted",
     "longest-idle TCP connections closed to make room at the connection limit", kC, false},
    {kTcpIdleTimeouts, "tcp_idle_timeouts", "TCP connections closed after the idle timeout", kC,
     false},
    {kTcpFramingErrors, "tcp_framing_errors",
     "TCP streams closed because they were not RFC 6587 framed", kC, false},
    {kDeniedDatagrams, "denied_datagrams",
     "datagrams and TCP frames from senders outside --allow, dropped", kC, false},
    {kDeniedConnections, "denied_connections",
     "TCP connections from senders outside --allow, closed", kC, false},
    {kTlsErrors, "tls_errors",
     "TLS connections closed for a failed handshake or a refused certificate", kC, false},
    {kStoredEvents, "stored_events", "events stored", CountedBy::kStore, true},
    {kStoredRaw, "stored_raw", "unparsed datagrams stored raw", CountedBy::kStore, true},
    {kEventsUnknown, "events_unknown", "events stored, kind unknown", kC, false},
    {kEventsResyncRequest, "events_resync_request", "events stored, kind resync_request", kC,
     false},
    {kEventsResyncSuccess, "events_resync_success", "events stored, kind resync_success", kC,
     false},
    {kEventsResyncFailure, "events_resync_failure", "events stored, kind resync_failure", kC,
     false},
    {kEventsUpgradeRequest, "events_upgrade_request", "events stored, kind upgrade_request", kC,
     false},
    {kEventsUpgradeSuccess, "events_upgrade_success", "events stored, kind upgrade_success", kC,
     false},
    {kEventsUpgradeFailure, "events_upgrade_failure", "events stored, kind upgrade_failure", kC,
     false},
    {kEventsDebug, "events_debug", "events stored, kind debug", kC, false},
    {kDuplicatesSkipped, "duplicates_skipped", "imported records already in the store, skipped",
     CountedBy::kStore, false},
    {kImportedLines, "imported_lines", "lines read from imported archives", CountedBy::kImport,
     false},
    {kExportExpired, "export_expired",
     "records local retention removed before they were exported to ClickHouse", CountedBy::kStore,
     false},
};

// The table is in Counter order: Info indexes it.
constexpr bool InOrder() {
  for (int i = 0; i < kCounterCount; ++i) {
    if (static_cast<int>(kCounters[i].counter) != i) return false;
  }
  return true;
}
static_assert(InOrder());

}  // namespace

std::span<const CounterInfo> AllCounters() { return kCounters; }
const CounterInfo& Info(Counter c) { return kCounters[static_cast<int>(c)]; }

}  // namespace resyncwatch
