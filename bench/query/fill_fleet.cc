#include "bench/query/fill_fleet.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "parsers/parsers.h"
#include "store/store.h"

namespace resyncwatch::bench {
namespace {

constexpr int64_t kHour = int64_t{3600} * kMicrosPerSecond;

const char* kModels[] = {"CP-8851-3PCC", "CP-7841-3PCC", "CP-6841-3PCC", "CP-8845-3PCC",
                         "CP-8832-3PCC", "ATA192-3PCC",  "SPA112",       "SPA504G"};
const char* kServers[] = {"10.23.45.67", "10.23.45.68", "prov.telco.com", "10.50.0.10"};
const char* kErrors[] = {"http_get failed", "corrupt file", "tftp timeout", "404 Not Found",
                         "connection refused"};

MacAddress DeviceMac(int64_t i) { return 0x000e08000000ULL + static_cast<uint64_t>(i); }

}  // namespace

uint64_t FleetMac(int64_t i) { return DeviceMac(i); }
const char* FleetModel(int64_t i) { return kModels[i % std::size(kModels)]; }
const char* FleetServer(int64_t i) { return kServers[(i / 7) % std::size(kServers)]; }

namespace {

std::string MacColons(MacAddress mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02llx:%02llx:%02llx:%02llx:%02llx:%02llx",
                (unsigned long long)(mac >> 40) & 0xff, (unsigned long long)(mac >> 32) & 0xff,
                (unsigned long long)(mac >> 24) & 0xff, (unsigned long long)(mac >> 16) & 0xff,
                (unsigned long long)(mac >> 8) & 0xff, (unsigned long long)mac & 0xff);
  return text;
}

// Device d's resync request at time t, in cycle c (the first cycle's carries a serial).
Event RequestEvent(int64_t d, int64_t t, int64_t c) {
  MacAddress mac = DeviceMac(d);
  const char* model = FleetModel(d);
  const char* server = FleetServer(d);
  std::string path = "/cisco/" + FormatMac(mac) + ".xml";
  std::string url = std::string("http://") + server + ":80" + path;
  Event req;
  req.event_time_us = t;
  req.received_us = t + 800;
  req.kind = EventKind::kResyncRequest;
  req.format = SyslogFormat::kRfc3164;
  req.facility = 16;
  req.severity = 6;
  req.mac = mac;
  req.model = model;
  req.identifier = FormatMac(mac);
  req.url = url;
  req.scheme = "http";
  req.server = server;
  req.port = 80;
  req.path = path;
  req.source = "10." + std::to_string(d >> 16 & 0xff) + "." + std::to_string(d >> 8 & 0xff) + "." +
               std::to_string(d & 0xff) + ":514";
  req.message = std::string(model) + " " + MacColons(mac) + " -- Requesting resync " + url;
  if (c == 0) req.sn = "FCH" + std::to_string(1000000 + d);
  return req;
}

// The request's outcome 0.2-2 s later: a failure in 5% of cycles, else a success.
Event OutcomeEvent(const Event& req, std::mt19937_64& rng) {
  const std::string head = req.model + " " + MacColons(req.mac);
  Event out = req;
  out.sn.clear();
  out.event_time_us = req.event_time_us + 200000 + static_cast<int64_t>(rng() % 1800000);
  out.received_us = out.event_time_us + 800;
  if (rng() % 100 < 5) {
    const char* err = kErrors[rng() % std::size(kErrors)];
    out.kind = EventKind::kResyncFailure;
    out.url.clear();
    out.scheme.clear();
    out.server.clear();
    out.port = 0;
    out.path.clear();
    out.error = err;
    out.message = head + " -- Resync failed: " + err;
  } else {
    out.kind = EventKind::kResyncSuccess;
    out.message = head + " -- Successful resync " + req.url;
  }
  return out;
}

// Writes a batch, counting it as received datagrams; a failed write ends the program.
void WriteOrExit(Store& store, WriteBatch& batch, int64_t& written) {
  batch.counter_deltas["received_datagrams"] = static_cast<int64_t>(batch.events.size());
  auto r = store.Write(batch);
  if (!r.ok()) {
    std::fprintf(stderr, "write: %s\n", r.status().ToString().c_str());
    std::exit(2);
  }
  written += static_cast<int64_t>(batch.events.size());
  batch.events.clear();
  batch.counter_deltas.clear();
}

}  // namespace

// Fills dir with `events` events: each device resyncs hourly at its own phase (request, then
// success 0.2-2 s later, or in 5% of cycles a failure), the last cycle ending at kFleetEnd.
void FillFleet(const std::string& dir, int64_t events, int64_t devices) {
  StoreOptions options;
  auto opened = Store::Open(dir, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    std::exit(2);
  }
  Store& store = **opened;
  int64_t cycles = std::max<int64_t>(1, events / 2 / devices);
  std::mt19937_64 rng(42);
  std::vector<int64_t> phase(devices);
  for (auto& p : phase) p = static_cast<int64_t>(rng() % kHour);
  std::vector<int64_t> order(devices);
  for (int64_t i = 0; i < devices; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return phase[a] < phase[b]; });

  auto t0 = std::chrono::steady_clock::now();
  int64_t written = 0;
  WriteBatch batch;
  int64_t start = kFleetEnd - cycles * kHour;
  for (int64_t c = 0; c < cycles && written < events; ++c) {
    for (int64_t d : order) {
      Event req = RequestEvent(d, start + c * kHour + phase[d], c);
      Event out = OutcomeEvent(req, rng);
      batch.events.push_back(std::move(req));
      batch.events.push_back(std::move(out));
      if (batch.events.size() >= 4096) WriteOrExit(store, batch, written);
      if (written + static_cast<int64_t>(batch.events.size()) >= events) break;
    }
  }
  if (!batch.events.empty()) WriteOrExit(store, batch, written);
  double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fill: %lld events, %lld devices, %lld hourly cycles, %.1f s (%.0f events/s)\n",
              (long long)written, (long long)devices, (long long)cycles, fill_s, written / fill_s);
  auto c0 = std::chrono::steady_clock::now();
  if (Status s = store.Compact(); !s.ok())
    std::fprintf(stderr, "compact: %s\n", s.ToString().c_str());
  std::printf("compact: %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count());
}

void FillFleetUnlessReused(const FlagSet& flags) {
  if (flags.GetBool("no-fill")) return;
  const std::string db = flags.GetString("db");
  std::filesystem::remove_all(db);
  FillFleet(db, flags.GetInt("events"), flags.GetInt("devices"));
}

}  // namespace resyncwatch::bench
