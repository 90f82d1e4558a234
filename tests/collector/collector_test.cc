// In-process tests of the collector library: options and config file, the Prometheus
// text, and the hand-off under a store that falls behind (drops are counted, not silent).
#include "collector/collector.h"

#include <arpa/inet.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "collector/address_map.h"
#include "collector/attribution.h"
#include "collector/config.h"
#include "collector/counters.h"
#include "collector/health.h"
#include "collector/prometheus.h"
#include "collector/receive_sink.h"
#include "collector/udp_input.h"
#include "collector/writer.h"
#include "harness.h"
#include "store/store.h"

using namespace resyncwatch;
using namespace resyncwatch::testing;

namespace {

Result<CollectorArgs> ParseArgs(std::vector<std::string_view> args) {
  return ParseCollectorArgs(args);
}

// A real store whose writes wait until the test opens the gate (a disk that stalls), or
// fail while failing is set (a full disk).
class GatedStore final : public Store {
 public:
  explicit GatedStore(std::unique_ptr<Store> inner, bool open = false)
      : inner_(std::move(inner)), open_(open) {}
  void SetFailing(bool failing) { failing_.store(failing); }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WriterWaiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }
  Result<WriteResult> Write(WriteBatch& batch) override {
    std::unique_lock<std::mutex> lock(mu_);
    waiting_ = true;
    cv_.wait(lock, [&] { return open_; });
    waiting_ = false;
    lock.unlock();
    if (failing_.load()) return Status::IoError("No space left on device (simulated)");
    return inner_->Write(batch);
  }
  Status History(MacAddress mac, TimeRange range, const EventVisitor& visit) const override {
    return inner_->History(mac, range, visit);
  }
  Status Scan(TimeRange range, const EventVisitor& visit) const override {
    return inner_->Scan(range, visit);
  }
  Status ScanRaw(TimeRange range,
                 const std::function<bool(const RawDatagram&)>& visit) const override {
    return inner_->ScanRaw(range, visit);
  }
  Result<DeviceSummary> GetDevice(MacAddress mac) const override { return inner_->GetDevice(mac); }
  Status ForEachDevice(const std::function<bool(const DeviceSummary&)>& visit) const override {
    return inner_->ForEachDevice(visit);
  }
  Result<MacAddress> MacForSerial(std::string_view sn) const override {
    return inner_->MacForSerial(sn);
  }
  Result<std::map<std::string, int64_t>> Counters() const override { return inner_->Counters(); }
  Status AddCounters(const std::map<std::string, int64_t>& deltas) override {
    return inner_->AddCounters(deltas);
  }
  Status PutAlert(const AlertRecord& alert) override { return inner_->PutAlert(alert); }
  Status ScanAlerts(TimeRange started, bool active_only,
                    const std::function<bool(const AlertRecord&)>& visit) const override {
    return inner_->ScanAlerts(started, active_only, visit);
  }
  Status CatchUp() override { return inner_->CatchUp(); }
  Status ApplyRetention() override { return inner_->ApplyRetention(); }
  Status Flush() override { return inner_->Flush(); }
  Status Compact() override { return inner_->Compact(); }

 private:
  std::unique_ptr<Store> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool waiting_ = false;
  std::atomic<bool> failing_{false};
};

std::vector<std::string> FailureLines(int n, int from = 0);

}  // namespace

TEST_CASE("default options listen on UDP 5514 on every IPv4 and IPv6 address") {
  auto args = ParseArgs({});
  REQUIRE(args.ok());
  const auto& listen = args->config.listen;
  REQUIRE(listen.size() == 2);
  CHECK(listen[0].host == "0.0.0.0");
  CHECK(listen[0].port == 5514);
  CHECK(listen[1].host == "::");
  CHECK(listen[1].transport == ListenAddress::Transport::kUdp);
  CHECK(args->config.rcvbuf_bytes == 32LL << 20);
}

TEST_CASE("listen URLs parse udp, tcp and bracketed IPv6, and bad ones are named") {
  auto tcp = ParseListenUrl("tcp://127.0.0.1:6514");
  REQUIRE(tcp.ok());
  CHECK(tcp->transport == ListenAddress::Transport::kTcp);
  CHECK(tcp->port == 6514);
  auto v6 = ParseListenUrl("udp://[::1]:0");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  auto bad = ParseListenUrl("http://x:1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("http://x:1") != std::string::npos);
  CHECK_FALSE(ParseListenUrl("udp://::1:514").ok());
  CHECK_FALSE(ParseListenUrl("udp://127.0.0.1:70000").ok());
}

TEST_CASE("a flag wins over the same key in the config file, other keys apply") {
  TempDir dir;
  WriteFileText(dir.Join("c.json"),
                R"({"queue_size": 1000, "rcvbuf": "8MiB", "listen": ["tcp://127.0.0.1:6514"],
                    "log-level": "debug", "templates": {}, "alerts": {}})");
  auto args = ParseArgs(
      {"--config", dir.Join("c.json"), "--queue-size", "77", "--listen", "udp://127.0.0.1:0"});
  REQUIRE(args.ok());
  CHECK(args->config.queue_size == 77);
  CHECK(args->config.rcvbuf_bytes == 8LL << 20);
  CHECK(args->config.log_level == "debug");
  REQUIRE(args->config.listen.size() == 1);
  CHECK(args->config.listen[0].transport == ListenAddress::Transport::kUdp);
  CHECK(args->config.config_text.find("templates") != std::string::npos);
}

TEST_CASE("a config file with a schedule section is accepted (it was rejected as unknown)") {
  TempDir dir;
  WriteFileText(dir.Join("c.json"),
                R"({"db": "/srv/rw", "alerts": {"rules": {"overdue": {"min_percent": 2}}},
                    "schedule": {"defaults": {"Resync_Periodic": "10800+600"},
                                 "models": {"SPA112": {"Resync_Error_Retry_Delay": 3600}}}})");
  auto args = ParseArgs({"--config", dir.Join("c.json")});
  INFO(args.status().message());
  REQUIRE(args.ok());
  CHECK(args->config.config_text.find("Resync_Periodic") != std::string::npos);
  auto reread = RereadConfigFile(dir.Join("c.json"));
  CHECK(reread.ok());

  WriteFileText(dir.Join("d.json"), R"({"schedule": ["not", "an", "object"]})");
  auto bad = ParseArgs({"--config", dir.Join("d.json")});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("\"schedule\": must be an object") != std::string::npos);
}

TEST_CASE("a bad schedule section is refused with the options, before the store is opened") {
  TempDir dir;
  WriteFileText(dir.Join("c.json"), R"({"schedule": {"defaults": {"Resync_Periodic": "12x"}}})");
  auto args = ParseArgs({"--config", dir.Join("c.json"), "--listen", "udp://127.0.0.1:0", "--db",
                         dir.Join("db"), "--query-socket", "none"});
  REQUIRE_FALSE(args.ok());
  CHECK(args.status().code() == Status::Code::kInvalidArgument);
  CHECK(args.status().message().find("config " + dir.Join("c.json") + ": schedule.defaults") == 0);
  CHECK(args.status().message().find("12x") != std::string::npos);

  // The collector still checks what it is given (a config built in code).
  auto good = ParseArgs(
      {"--listen", "udp://127.0.0.1:0", "--db", dir.Join("db"), "--query-socket", "none"});
  REQUIRE(good.ok());
  good->config.config_text = R"({"schedule": {"defaults": {"Resync_Periodic": "12x"}}})";
  auto store = Store::Open(dir.Join("db"), StoreOptions{});
  REQUIRE(store.ok());
  Collector collector(good->config, store->get());
  Status s = collector.Start();
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("schedule.defaults") != std::string::npos);
}

TEST_CASE("the query socket lives in the store directory unless moved or turned off") {
  auto by_default = ParseArgs({"--db", "/srv/rw"});
  REQUIRE(by_default.ok());
  CHECK(by_default->config.query_socket == "/srv/rw/query.sock");
  auto moved = ParseArgs({"--db", "/srv/rw", "--query-socket", "/run/rw/q.sock"});
  REQUIRE(moved.ok());
  CHECK(moved->config.query_socket == "/run/rw/q.sock");
  TempDir dir;
  WriteFileText(dir.Join("c.json"), R"({"db": "/srv/rw", "query_socket": "none"})");
  auto off = ParseArgs({"--config", dir.Join("c.json")});
  REQUIRE(off.ok());
  CHECK(off->config.query_socket.empty());
}

TEST_CASE("an unknown config key, a bad value or a bad flag is an error naming it") {
  TempDir dir;
  WriteFileText(dir.Join("a.json"), R"({"queue-size": 10, "colour": "blue"})");
  auto a = ParseArgs({"--config", dir.Join("a.json")});
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().message().find("\"colour\"") != std::string::npos);

  WriteFileText(dir.Join("b.json"), R"({"retention": "forever"})");
  auto b = ParseArgs({"--config", dir.Join("b.json")});
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message().find("retention") != std::string::npos);
  CHECK(b.status().message().find("forever") != std::string::npos);

  WriteFileText(dir.Join("c.json"), R"([1, 2])");
  CHECK_FALSE(ParseArgs({"--config", dir.Join("c.json")}).ok());
  CHECK_FALSE(ParseArgs({"--config", dir.Join("missing.json")}).ok());
  auto level = ParseArgs({"--log-level", "loud"});
  REQUIRE_FALSE(level.ok());
  CHECK(level.status().message().find("loud") != std::string::npos);
  CHECK_FALSE(ParseArgs({"--queue-size", "0"}).ok());
  CHECK_FALSE(ParseArgs({"--nope"}).ok());
}

TEST_CASE("help lists every option of the table") {
  auto args = ParseArgs({"--help"});
  REQUIRE(args.ok());
  REQUIRE(args->help);
  for (const FlagSpec& spec : CollectorFlagSpecs()) {
    CHECK(args->help_text.find("--" + std::string(spec.name)) != std::string::npos);
  }
}

TEST_CASE("the Prometheus text carries every counter, events by kind and the latency histogram") {
  Counters counters;
  counters.Add(Counter::kReceivedDatagrams, 42);
  counters.Add(Counter::kEventsResyncFailure, 3);
  counters.ObserveWriteLatency(700);
  counters.ObserveWriteLatency(2'000'000);
  std::string text = RenderPrometheus(counters, 2);
  CHECK(text.find("resyncwatch_received_datagrams_total 42\n") != std::string::npos);
  CHECK(text.find("resyncwatch_events_total{kind=\"resync_failure\"} 3\n") != std::string::npos);
  CHECK(text.find("resyncwatch_queue_drops_total 0\n") != std::string::npos);
  CHECK(text.find("resyncwatch_kernel_drops_total 0\n") != std::string::npos);
  CHECK(text.find("resyncwatch_store_write_seconds_bucket{le=\"0.001\"} 1\n") != std::string::npos);
  CHECK(text.find("resyncwatch_store_write_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(text.find("resyncwatch_store_write_seconds_count 2\n") != std::string::npos);
  CHECK(text.find("resyncwatch_queue_depth 0\n") != std::string::npos);
  CHECK(text.find("resyncwatch_tcp_open_connections 2\n") != std::string::npos);
}

TEST_CASE("counter deltas are handed out once and given back when the write failed") {
  Counters counters;
  counters.Add(Counter::kTcpConnections, 5);
  counters.Add(Counter::kStoredEvents, 5);  // the store counts these itself
  auto first = counters.TakeDeltas({});
  CHECK(first.at("tcp_connections") == 5);
  CHECK(first.count("stored_events") == 0);
  counters.Add(Counter::kTcpConnections, 2);
  auto second = counters.TakeDeltas({});
  CHECK(second.at("tcp_connections") == 2);
  counters.Rewind();
  counters.Add(Counter::kQueueDrops, 1);
  auto third = counters.TakeDeltas({});
  CHECK(third.at("tcp_connections") == 2);
  CHECK(third.at("queue_drops") == 1);
}

TEST_CASE("received counters are persisted with the batch that carries the datagrams") {
  // Counted on receipt but still queued when a SIGKILL comes: such datagrams must not be
  // persisted as received, or the counters stop adding up after the restart.
  Counters counters;
  counters.Add(Counter::kReceivedDatagrams, 100);
  counters.Add(Counter::kReceivedBytes, 9000);
  counters.Add(Counter::kQueueDrops, 3);
  Counters::Carried carried;
  carried.datagrams = 40;
  carried.bytes = 3600;
  carried.truncated = 1;
  auto deltas = counters.TakeDeltas(carried);
  CHECK(deltas.at("received_datagrams") == 43);  // the batch's 40 + the 3 drops with it
  CHECK(deltas.at("received_bytes") == 3600);
  CHECK(deltas.at("truncated") == 1);
  CHECK(deltas.at("queue_drops") == 3);
  auto empty = counters.TakeDeltas({});
  CHECK(empty.count("received_datagrams") == 0);
}

TEST_CASE("when the store falls behind, queue drops are counted: received = stored + dropped") {
  TempDir dir;
  auto real = Store::Open(dir.Join("db"), StoreOptions{});
  REQUIRE(real.ok());
  GatedStore store(std::move(*real));

  auto args = ParseArgs({"--listen", "udp://127.0.0.1:0", "--queue-size", "100", "--batch-size",
                         "10", "--db", dir.Join("db")});
  REQUIRE(args.ok());
  constexpr int kSent = 2000;
  {
    Collector collector(args->config, &store);
    REQUIRE(collector.Start().ok());
    auto bound = collector.BoundAddresses();
    REQUIRE(bound.size() == 1);
    const int port = std::stoi(bound[0].substr(bound[0].rfind(':') + 1));
    std::thread loop([&] { collector.Run(false); });

    std::vector<std::string> payloads;
    for (int i = 0; i < kSent; ++i) {
      payloads.push_back("<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:01 -- Resync failed: #" +
                         std::to_string(i));
    }
    SendUdp(port, payloads);
    const auto& counters = collector.counters();
    REQUIRE(WaitUntil([&] {
      return counters.Get(Counter::kReceivedDatagrams) + counters.Get(Counter::kKernelDrops) >=
             kSent;
    }));
    // The writer thread may not have reached the gate yet when the loop thread has read
    // everything (a loaded machine schedules it late): wait for it rather than assume.
    CHECK(WaitUntil([&] { return store.WriterWaiting(); }));
    CHECK(counters.Get(Counter::kQueueDrops) > 0);
    store.Open();
    collector.Stop();
    loop.join();
  }
  auto totals = store.Counters();
  REQUIRE(totals.ok());
  auto& t = *totals;
  INFO("received " << t["received_datagrams"] << " stored " << t["stored_events"] << " dropped "
                   << t["queue_drops"] << " kernel " << t["kernel_drops"]);
  CHECK(t["queue_drops"] > 0);
  CHECK(t["received_datagrams"] + t["kernel_drops"] == kSent);
  CHECK(t["received_datagrams"] == t["stored_events"] + t["stored_raw"] + t["queue_drops"]);
  int64_t scanned = 0;
  REQUIRE(store.Scan(TimeRange{}, [&](const Event&) { return ++scanned, true; }).ok());
  CHECK(scanned == t["stored_events"]);
}

TEST_CASE("on a full disk datagrams wait up to the queue bound and are stored when space returns") {
  TempDir dir;
  auto faults = std::make_shared<StoreFaults>();
  StoreOptions store_options;
  store_options.faults = faults;
  auto store = Store::Open(dir.Join("db"), store_options);
  REQUIRE(store.ok());
  auto args = ParseArgs({"--listen", "udp://127.0.0.1:0", "--queue-size", "1000", "--batch-size",
                         "64", "--db", dir.Join("db")});
  REQUIRE(args.ok());
  ManualClock clock(SystemClock::Instance().NowMicros());
  // Collector::Health() is what /healthz answers (503 with it when not empty: the HTTP
  // server's own test, tests/web/http_server_test.cc, checks that mapping).
  constexpr int kFirst = 600, kSecond = 900;
  {
    Collector collector(args->config, store->get(), &clock);
    REQUIRE(collector.Start().ok());
    auto bound = collector.BoundAddresses();
    const int port = std::stoi(bound[0].substr(bound[0].rfind(':') + 1));
    std::thread loop([&] { collector.Run(false); });
    const auto& counters = collector.counters();
    CHECK(collector.Health().empty());

    faults->no_space = true;
    SendUdp(port, FailureLines(kFirst));
    REQUIRE(WaitUntil([&] { return counters.Get(Counter::kReceivedDatagrams) == kFirst; }));
    REQUIRE(WaitUntil([&] { return !collector.Health().empty(); }));
    CHECK(collector.Health().find("store writes failing") != std::string::npos);
    CHECK(collector.Health().find("No space left on device") != std::string::npos);

    CHECK(counters.Get(Counter::kQueueDrops) == 0);
    // Beyond the bound of 1000 held datagrams new ones are dropped, and counted.
    SendUdp(port, FailureLines(kSecond, kFirst));
    REQUIRE(
        WaitUntil([&] { return counters.Get(Counter::kReceivedDatagrams) == kFirst + kSecond; }));
    CHECK(counters.Get(Counter::kQueueDrops) == kFirst + kSecond - 1000);
    CHECK(collector.Health().find("queue full") != std::string::npos);
    CHECK(counters.Get(Counter::kStoredEvents) == 0);
    CHECK(counters.Get(Counter::kStoreErrors) == 0);

    faults->no_space = false;  // space is back
    REQUIRE(WaitUntil([&] { return counters.Get(Counter::kStoredEvents) == 1000; }));
    // The store is fine again; the drops stay reported for a minute.
    CHECK(collector.Health().find("store writes failing") == std::string::npos);
    clock.Advance(61'000'000);
    // (The writer's heartbeat catches up with the advanced clock on its next loop.)
    CHECK(WaitUntil([&] { return collector.Health().empty(); }));

    collector.Stop();
    loop.join();
  }
  auto totals = (*store)->Counters();
  REQUIRE(totals.ok());
  auto& t = *totals;
  CHECK(t["received_datagrams"] == kFirst + kSecond);
  CHECK(t["stored_events"] == 1000);
  CHECK(t["queue_drops"] == kFirst + kSecond - 1000);
  CHECK(t["store_errors"] == 0);
  CHECK(t["events_resync_failure"] == 1000);
  int64_t scanned = 0;
  REQUIRE((*store)->Scan(TimeRange{}, [&](const Event&) { return ++scanned, true; }).ok());
  CHECK(scanned == 1000);
}

TEST_CASE(
    "The writer refills the previous batch's events in place and stores each with its own fields") {
  TempDir dir;
  auto store = Store::Open(dir.Join("db"), StoreOptions{});
  REQUIRE(store.ok());
  IngestQueue queue(10000);
  Counters counters;
  ReceiveSink sink(&queue, &counters, &SystemClock::Instance());
  StoreWriterOptions options;
  options.batch_size = 16;
  StoreWriter writer(store->get(), &queue, &counters, &SystemClock::Instance(),
                     *TemplateSet::Defaults(), options);
  writer.Start();
  PeerAddress peer;
  peer.family = AF_INET;
  auto line = [](int i, const char* what) {
    char mac[8];
    std::snprintf(mac, sizeof mac, "%02x", i);
    return std::string("<134>Nov 25 08:00:01 CP-8851-3PCC 00:0e:08:aa:bb:") + mac + " -- " + what;
  };
  const char* request = "Requesting resync http://10.23.45.67:80/CP-8851-3PCC.xml";
  const char* failure = "Resync failed: http_get failed";
  // Batches of 7 requests, then 3 failures (shorter: their slots held requests), a datagram
  // stored raw, then 9 requests (longer: two slots come back from the spares).
  std::vector<std::string> sent;
  int64_t stored = 0;
  auto send = [&](int count, const char* what) {
    for (int i = 0; i < count; ++i) {
      sent.push_back(line(static_cast<int>(sent.size()), what));
      sink.Accept(sent.back(), peer, false);
    }
    sink.Flush();
    stored += count;
    REQUIRE(WaitUntil([&] { return counters.Get(Counter::kStoredEvents) == stored; }));
  };
  send(7, request);
  send(3, failure);
  sink.Accept("   ", peer, false);  // only blanks: stored raw
  sink.Flush();
  REQUIRE(WaitUntil([&] { return counters.Get(Counter::kStoredRaw) == 1; }));
  send(9, request);
  queue.Close();
  writer.Join();
  std::vector<Event> events;
  REQUIRE((*store)->Scan({}, [&](const Event& e) { return events.push_back(e), true; }).ok());
  REQUIRE(events.size() == sent.size());
  for (size_t i = 0; i < events.size(); ++i) {
    INFO(sent[i]);
    const bool is_failure = i >= 7 && i < 10;
    CHECK(sent[i].ends_with(events[i].message));
    CHECK(events[i].kind == (is_failure ? EventKind::kResyncFailure : EventKind::kResyncRequest));
    CHECK(events[i].url == (is_failure ? "" : "http://10.23.45.67:80/CP-8851-3PCC.xml"));
    CHECK(events[i].error == (is_failure ? "http_get failed" : ""));
    CHECK(events[i].mac == 0x000e08aabb00 + i);
  }
}

TEST_CASE("batches the store still refuses at shutdown are given up after one bounded retry time") {
  TempDir dir;
  auto real = Store::Open(dir.Join("db"), StoreOptions{});
  REQUIRE(real.ok());
  GatedStore store(std::move(*real), /*open=*/true);
  store.SetFailing(true);
  IngestQueue queue(10000);
  Counters counters;
  ReceiveSink sink(&queue, &counters, &SystemClock::Instance());
  PeerAddress peer;
  peer.family = AF_INET;
  for (const std::string& line : FailureLines(3000)) sink.Accept(line, peer, false);
  sink.Flush();
  StoreWriterOptions options;
  options.batch_size = 64;  // 47 batches, each refused
  options.shutdown_retry_us = 300'000;
  StoreWriter writer(&store, &queue, &counters, &SystemClock::Instance(), *TemplateSet::Defaults(),
                     options);
  writer.Start();
  REQUIRE(WaitUntil([&] { return writer.store_failing_since_us() != 0; }));
  const auto start = std::chrono::steady_clock::now();
  queue.Close();
  writer.Join();
  // One budget for the whole shutdown, not one per batch (47 x 300 ms).
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(counters.Get(Counter::kStoreErrors) == 3000);
  CHECK(counters.Get(Counter::kStoredEvents) == 0);
}

namespace {

// Reads what the test sent to a UdpInput on its own loop, until the queue holds `want`.
struct UdpInputRig {
  uv_loop_t loop{};
  IngestQueue queue{100000};
  Counters counters;
  ReceiveSink sink{&queue, &counters, &SystemClock::Instance()};
  std::unique_ptr<UdpInput> input;
  int port = 0;

  explicit UdpInputRig(int coalesce_ms) {
    uv_loop_init(&loop);
    input = std::make_unique<UdpInput>(&loop, &sink, &counters, &SystemClock::Instance());
    Result<ListenAddress> at = ParseListenUrl("udp://127.0.0.1:0");
    REQUIRE(at.ok());
    REQUIRE(input->Start(*at, 8 << 20, coalesce_ms).ok());
    port = std::stoi(input->bound().substr(input->bound().rfind(':') + 1));
  }
  ~UdpInputRig() {
    input->Close();
    uv_run(&loop, UV_RUN_DEFAULT);  // runs the close callbacks
    uv_loop_close(&loop);
  }
  bool RunUntilQueued(int64_t want) {
    for (int i = 0; i < 100000 && queue.Depth() < want; ++i) uv_run(&loop, UV_RUN_ONCE);
    return queue.Depth() == want;
  }
};

std::vector<std::string> FailureLines(int n, int from) {
  std::vector<std::string> lines;
  for (int i = from; i < from + n; ++i) {
    lines.push_back("<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:01 -- Resync failed: #" +
                    std::to_string(i));
  }
  return lines;
}

}  // namespace

TEST_CASE("under load UDP reads pause to gather datagrams, and every datagram is read") {
  UdpInputRig rig(1);
  if (!rig.input->coalescing()) {
    // Without CAP_NET_ADMIN the buffer is capped by net.core.rmem_max: too small to pause.
    CHECK(rig.input->granted_rcvbuf() < UdpInput::kCoalesceBufferPerMs);
    return;
  }
  // A burst already waiting in the socket: one wake-up reads it all, then reads pause.
  SendUdp(rig.port, FailureLines(200));
  REQUIRE(rig.RunUntilQueued(200));
  CHECK(rig.input->coalesce_pauses() == 1);
  // A trickle after the pause is read when the pause ends and does not pause again.
  SendUdp(rig.port, FailureLines(5, 200));
  REQUIRE(rig.RunUntilQueued(205));
  CHECK(rig.input->coalesce_pauses() == 1);
  CHECK(rig.counters.Get(Counter::kReceivedDatagrams) == 205);
}

TEST_CASE("closing the UDP input during a read pause reads what waits in the socket") {
  UdpInputRig rig(1);
  if (!rig.input->coalescing()) return;  // no pause without the buffer for it (see above)
  SendUdp(rig.port, FailureLines(200));
  REQUIRE(rig.RunUntilQueued(200));
  REQUIRE(rig.input->coalesce_pauses() == 1);
  // The loop does not run again, so the pause cannot end: SIGTERM arrives during it.
  SendUdp(rig.port, FailureLines(50, 200));
  rig.input->Close();
  rig.sink.Flush();
  CHECK(rig.queue.Depth() == 250);
  CHECK(rig.counters.Get(Counter::kReceivedDatagrams) == 250);
}

TEST_CASE("with udp-coalesce-ms 0 UDP reads never pause") {
  UdpInputRig rig(0);
  CHECK_FALSE(rig.input->coalescing());
  SendUdp(rig.port, FailureLines(200));
  REQUIRE(rig.RunUntilQueued(200));
  CHECK(rig.input->coalesce_pauses() == 0);
}

namespace {

// A clock that moves one microsecond at every reading: each stamp taken is a new time.
class TickingClock final : public Clock {
 public:
  int64_t NowMicros() const override { return now_us_.fetch_add(1) + 1; }

 private:
  mutable std::atomic<int64_t> now_us_{1'795'680'000'000'000};
};

}  // namespace

TEST_CASE("datagrams taken from the socket in one read share one receive time") {
  uv_loop_t loop{};
  uv_loop_init(&loop);
  IngestQueue queue{100000};
  Counters counters;
  TickingClock clock;
  ReceiveSink sink{&queue, &counters, &clock};
  auto input = std::make_unique<UdpInput>(&loop, &sink, &counters, &clock);
  Result<ListenAddress> at = ParseListenUrl("udp://127.0.0.1:0");
  REQUIRE(at.ok());
  REQUIRE(input->Start(*at, 8 << 20, 0).ok());
  const int port = std::stoi(input->bound().substr(input->bound().rfind(':') + 1));
  // All 200 wait in the socket before the loop runs: libuv takes them 20 per recvmmsg.
  SendUdp(port, FailureLines(200));
  for (int i = 0; i < 100000 && queue.Depth() < 200; ++i) uv_run(&loop, UV_RUN_ONCE);
  REQUIRE(queue.Depth() == 200);
  std::vector<std::unique_ptr<Chunk>> chunks;
  REQUIRE(queue.PopAll(&chunks, 0));
  std::vector<int64_t> times;
  for (const auto& chunk : chunks) {
    for (const DatagramRef& d : chunk->items) times.push_back(d.received_us);
  }
  REQUIRE(times.size() == 200);
  CHECK(std::is_sorted(times.begin(), times.end()));
  std::map<int64_t, int> per_time;
  for (int64_t t : times) ++per_time[t];
  // One time per read of up to 20 datagrams (a stamp per datagram would give 200).
  CHECK(per_time.size() >= 10);
  CHECK(per_time.size() < 40);
  for (const auto& [t, n] : per_time) CHECK(n <= 20);
  input->Close();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

TEST_CASE("sender addresses are formatted as address:port, IPv6 in brackets") {
  auto v4 = [](std::initializer_list<uint8_t> bytes, uint16_t port) {
    PeerAddress p;
    p.family = AF_INET;
    p.port = port;
    std::copy(bytes.begin(), bytes.end(), p.addr);
    return p.ToString();
  };
  CHECK(v4({10, 1, 2, 3}, 514) == "10.1.2.3:514");
  CHECK(v4({0, 0, 0, 0}, 0) == "0.0.0.0:0");
  CHECK(v4({255, 255, 255, 255}, 65535) == "255.255.255.255:65535");
  CHECK(v4({192, 168, 100, 9}, 5060) == "192.168.100.9:5060");

  PeerAddress v6;
  v6.family = AF_INET6;
  v6.port = 514;
  inet_pton(AF_INET6, "2001:db8::5", v6.addr);
  CHECK(v6.ToString() == "[2001:db8::5]:514");
  std::string reused = "a much longer text that was there before";
  v6.FormatTo(&reused);
  CHECK(reused == "[2001:db8::5]:514");
  CHECK(PeerAddress{}.ToString() == "unknown");
}

namespace {

PeerAddress V4Peer(uint32_t ip, uint16_t port = 5060) {
  PeerAddress p;
  p.family = AF_INET;
  p.port = port;
  const uint32_t be = htonl(ip);
  std::memcpy(p.addr, &be, 4);
  return p;
}

PeerAddress V6Peer(const char* text, uint16_t port = 5060) {
  PeerAddress p;
  p.family = AF_INET6;
  p.port = port;
  REQUIRE(inet_pton(AF_INET6, text, p.addr) == 1);
  return p;
}

}  // namespace

TEST_CASE("the address map keeps IPv4 and IPv6 senders apart and finds each one it holds") {
  AddressMap map;
  bool inserted = false;
  for (uint32_t i = 0; i < 5000; ++i) {
    map.FindOrInsert(V4Peer(0x0a000000 + i), 0x000e08000000ULL + i, &inserted);
    CHECK(inserted);
  }
  // ::a00:1 holds the same four bytes as 10.0.0.1: a different sender all the same.
  map.FindOrInsert(V6Peer("::a00:1"), 0x1111, &inserted);
  CHECK(inserted);
  map.FindOrInsert(V6Peer("2001:db8::5"), 0x2222, &inserted);
  CHECK(map.size() == 5002);
  int found = 0;
  for (uint32_t i = 0; i < 5000; ++i) {
    MacAddress* mac = map.Find(V4Peer(0x0a000000 + i, 1));  // any port
    found += mac != nullptr && *mac == 0x000e08000000ULL + i;
  }
  CHECK(found == 5000);
  REQUIRE(map.Find(V6Peer("::a00:1")) != nullptr);
  CHECK(*map.Find(V6Peer("::a00:1")) == 0x1111);
  CHECK(*map.Find(V4Peer(0x0a000001)) == 0x000e08000001ULL);
  CHECK(*map.Find(V6Peer("2001:db8::5")) == 0x2222);
  CHECK(map.Find(V4Peer(0x0b000000)) == nullptr);
  CHECK(map.Find(V6Peer("2001:db8::6")) == nullptr);
  MacAddress* again = map.FindOrInsert(V4Peer(0x0a000007), 0x9999, &inserted);
  CHECK_FALSE(inserted);
  CHECK(*again == 0x000e08000007ULL);
  map.Clear();
  CHECK(map.size() == 0);
  CHECK(map.Find(V4Peer(0x0a000001)) == nullptr);
}

TEST_CASE("debug lines take the MAC of the phone at their address, unless two phones share it") {
  DeviceAttribution attribution;
  auto event = [](EventKind kind, MacAddress mac) {
    Event e;
    e.kind = kind;
    e.mac = mac;
    return e;
  };
  const PeerAddress phone = V4Peer(0x0a170001, 5060), nat = V4Peer(0x0a170002, 5060);
  const PeerAddress phone6 = V6Peer("2001:db8::8841");
  Event request = event(EventKind::kResyncRequest, 0x000e08aa0001ULL);
  attribution.Attribute(phone, &request, nullptr);
  Event request6 = event(EventKind::kResyncSuccess, 0x000e08aa0006ULL);
  attribution.Attribute(phone6, &request6, nullptr);
  for (MacAddress mac : {0x000e08bb0001ULL, 0x000e08bb0002ULL}) {
    Event behind_nat = event(EventKind::kResyncRequest, mac);
    attribution.Attribute(nat, &behind_nat, nullptr);
  }
  CHECK(attribution.known_ips() == 3);

  Event debug = event(EventKind::kDebug, 0);
  attribution.Attribute(V4Peer(0x0a170001, 41000), &debug, nullptr);  // another port
  CHECK(debug.mac == 0x000e08aa0001ULL);
  Event debug6 = event(EventKind::kDebug, 0);
  attribution.Attribute(phone6, &debug6, nullptr);
  CHECK(debug6.mac == 0x000e08aa0006ULL);
  Event shared = event(EventKind::kDebug, 0);
  attribution.Attribute(nat, &shared, nullptr);
  CHECK(shared.mac == 0);
  Event stranger = event(EventKind::kDebug, 0);
  attribution.Attribute(V4Peer(0x0a170003), &stranger, nullptr);
  CHECK(stranger.mac == 0);
  // A debug line with a MAC teaches nothing about its address.
  Event debug_with_mac = event(EventKind::kDebug, 0x000e08cc0001ULL);
  attribution.Attribute(V4Peer(0x0a170004), &debug_with_mac, nullptr);
  CHECK(attribution.known_ips() == 3);
}

TEST_CASE("after a restart, phones at IPv4 and IPv6 addresses are attributed from the store") {
  TempDir tmp;
  auto opened = Store::Open(tmp.Join("store"), StoreOptions{});
  REQUIRE(opened.ok());
  Store& store = **opened;
  WriteBatch batch;
  for (auto [mac, source] : {std::pair{0x000e08aa0004ULL, "10.23.0.4:5060"},
                             std::pair{0x000e08aa0006ULL, "[2001:db8::5]:514"}}) {
    Event e;
    e.kind = EventKind::kResyncRequest;
    e.event_time_us = 1'795'680'000'000'000;
    e.received_us = e.event_time_us;
    e.mac = mac;
    e.source = source;
    batch.events.push_back(e);
  }
  REQUIRE(store.Write(batch).ok());

  DeviceAttribution restarted;
  restarted.Seed(store);
  CHECK(restarted.known_ips() == 2);
  Event debug4;
  debug4.kind = EventKind::kDebug;
  restarted.Attribute(V4Peer(0x0a170004, 41000), &debug4, nullptr);
  CHECK(debug4.mac == 0x000e08aa0004ULL);
  Event debug6;
  debug6.kind = EventKind::kDebug;
  restarted.Attribute(V6Peer("2001:db8::5", 514), &debug6, nullptr);
  CHECK(debug6.mac == 0x000e08aa0006ULL);
}

namespace {

// The stored alerts of one rule: "group|active" each.
std::vector<std::string> StoredAlerts(const Store& store, std::string_view rule) {
  std::vector<std::string> out;
  Status s = store.ScanAlerts(TimeRange{}, false, [&](const AlertRecord& r) {
    if (r.id.rfind(std::string(rule) + "/", 0) == 0) {
      out.push_back(r.id.substr(rule.size() + 1, r.id.rfind('/') - rule.size() - 1) + "|" +
                    (r.active ? "active" : "resolved"));
    }
    return true;
  });
  REQUIRE(s.ok());
  return out;
}

}  // namespace

TEST_CASE("a sender network silent while the fleet sends raises one stored alert, resolved") {
  TempDir dir;
  WriteFileText(dir.Join("c.json"), R"({"alerts": {"rules": {
      "fleet_silence": {"enabled": false},
      "network_silence": {"after": "10m", "min_datagrams": 2}}}})");
  auto args =
      ParseArgs({"--config", dir.Join("c.json"), "--listen", "udp://127.0.0.1:0", "--listen",
                 "udp://[::1]:0", "--db", dir.Join("db"), "--query-socket", "none"});
  REQUIRE(args.ok());
  auto store = Store::Open(dir.Join("db"), StoreOptions{});
  REQUIRE(store.ok());
  constexpr int64_t kT0 = 1'795'000'000LL * 1'000'000;
  ManualClock clock(kT0);
  Collector collector(args->config, store->get(), &clock);
  REQUIRE(collector.Start().ok());
  auto bound = collector.BoundAddresses();
  REQUIRE(bound.size() == 2);
  auto port = [&](int i) { return std::stoi(bound[i].substr(bound[i].rfind(':') + 1)); };
  std::thread loop([&] { collector.Run(false); });
  const auto& counters = collector.counters();
  auto send = [&](bool v6, int n, int64_t stored_after) {
    std::vector<std::string> lines(
        n, "<134>Nov 25 08:00:01 CP-7841-3PCC 00:0e:08:00:00:01 -- Resync failed: http_get failed");
    SendUdp(port(v6 ? 1 : 0), lines, v6);
    REQUIRE(WaitUntil([&] { return counters.Get(Counter::kStoredEvents) >= stored_after; }));
  };

  send(false, 3, 3);
  send(true, 3, 6);
  clock.Advance(11 * 60 * 1'000'000LL);  // [::1] falls silent; 127.0.0.1 goes on
  send(false, 1, 7);
  clock.Advance(1'000'000);  // the writer's next tick judges it
  CHECK(WaitUntil([&] { return !StoredAlerts(**store, "network_silence").empty(); }));
  CHECK(StoredAlerts(**store, "network_silence") == std::vector<std::string>{"::/64|active"});

  send(true, 1, 8);
  clock.Advance(1'000'000);
  CHECK(WaitUntil([&] {
    return StoredAlerts(**store, "network_silence") == std::vector<std::string>{"::/64|resolved"};
  }));
  CHECK(collector.RenderMetrics().find("resyncwatch_alert_networks 2\n") != std::string::npos);
  collector.Stop();
  loop.join();
}

TEST_CASE("health is 503-worthy while store writes fail, after recent queue drops, or a stall") {
  HealthSnapshot s;
  s.now_us = 1'000'000'000;
  s.writer_heartbeat_us = s.now_us;
  CHECK(HealthReason(s).empty());
  s.store_failing_since_us = s.now_us - 12'000'000;
  s.store_error = "IO error: No space left on device";
  s.queue_depth = 5000;
  CHECK(HealthReason(s) ==
        "store writes failing for 12 s, 5000 datagrams held for retry: IO error: No space left on "
        "device");
  s.store_failing_since_us = 0;
  s.last_queue_drop_us = s.now_us - 59'000'000;
  s.queue_drops = 7;
  CHECK(HealthReason(s) == "writer queue full: datagrams dropped 59 s ago (queue_drops 7)");
  s.last_queue_drop_us = s.now_us - 60'000'000;
  CHECK(HealthReason(s).empty());
  s.writer_heartbeat_us = s.now_us - 31'000'000;
  CHECK(HealthReason(s) == "store writer stalled");
}

TEST_CASE("Run handles SIGTERM before it calls on_ready where the daemon announces itself") {
  // The daemon wrote its port file before its handlers existed: a SIGTERM sent on seeing
  // the file killed it outright (a run of the suite, "SIGTERM then restart loses nothing").
  TempDir dir;
  auto args = ParseArgs(
      {"--listen", "udp://127.0.0.1:0", "--db", dir.Join("db"), "--query-socket", "none"});
  REQUIRE(args.ok());
  auto store = Store::Open(dir.Join("db"), StoreOptions{});
  REQUIRE(store.ok());
  Collector collector(args->config, store->get());
  REQUIRE(collector.Start().ok());
  // What handles them before Run (the test framework handles SIGTERM and SIGINT itself).
  constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP};
  struct sigaction before[3] = {};
  for (int i = 0; i < 3; ++i) REQUIRE(sigaction(kSignals[i], nullptr, &before[i]) == 0);
  bool ready = false;
  collector.Run(/*handle_signals=*/true, [&] {
    ready = true;
    for (int i = 0; i < 3; ++i) {
      struct sigaction current {};
      REQUIRE(sigaction(kSignals[i], nullptr, &current) == 0);
      INFO("signal " << kSignals[i]);
      CHECK(current.sa_handler != before[i].sa_handler);
      CHECK(current.sa_handler != SIG_DFL);
    }
    collector.Stop();
  });
  CHECK(ready);
}
