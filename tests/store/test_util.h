// Helpers for the store tests: real-looking phone events (TempDir: tests/testlib).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/store.h"
#include "tests/testlib/testlib.h"

namespace resyncwatch::testing {

inline std::string MacColon(MacAddress mac) {
  char buf[18];
  snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(mac >> 40) & 255,
           unsigned(mac >> 32) & 255, unsigned(mac >> 24) & 255, unsigned(mac >> 16) & 255,
           unsigned(mac >> 8) & 255, unsigned(mac) & 255);
  return buf;
}

// A resync message of a phone, as the parsers would hand it over.
inline Event PhoneEvent(MacAddress mac, int64_t time_us, EventKind kind,
                        std::string model = "CP-8851-3PCC") {
  Event e;
  e.event_time_us = time_us;
  e.received_us = time_us;
  e.message_time_us = time_us / 1'000'000 * 1'000'000;
  e.kind = kind;
  e.format = SyslogFormat::kRfc3164;
  e.facility = 16;
  e.severity = kind == EventKind::kResyncFailure ? 3 : 6;
  e.mac = mac;
  e.model = model;
  e.source = "10.1." + std::to_string((mac >> 8) & 255) + "." + std::to_string(mac & 255) + ":5060";
  const std::string head = model + " " + MacColon(mac) + " -- ";
  if (kind == EventKind::kResyncFailure) {
    e.error = "http_get failed";
    e.message = head + "Resync failed: " + e.error;
  } else {
    e.scheme = "http";
    e.server = "10.23.45.67";
    e.port = 80;
    e.path = "/" + model + ".xml";
    e.url = "http://10.23.45.67:80" + e.path;
    e.message = head +
                (kind == EventKind::kResyncSuccess ? "Successful resync " : "Requesting resync ") +
                e.url;
  }
  return e;
}

}  // namespace resyncwatch::testing

namespace resyncwatch::testing {

// The kill -9 test's batches: batch b holds kCrashBatchEvents events at times that encode
// b, spread over kCrashDevices devices.
constexpr int kCrashBatchEvents = 10;
constexpr int kCrashDevices = 37;
inline int64_t CrashTime(long batch_no, int i) {
  return 1'795'680'000'000'000 + batch_no * 1000 + i;
}
inline long CrashBatchOf(int64_t time_us) { return (time_us - 1'795'680'000'000'000) / 1000; }
inline Event CrashEvent(long batch_no, int i) {
  MacAddress mac = 0x000e08000000 + (batch_no * kCrashBatchEvents + i) % kCrashDevices;
  return PhoneEvent(mac, CrashTime(batch_no, i),
                    i % 3 == 2 ? EventKind::kResyncFailure : EventKind::kResyncRequest);
}

}  // namespace resyncwatch::testing
