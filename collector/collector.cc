#include "collector/collector.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

#include <atomic>
#include <csignal>
#include <fstream>

#include "alerts/alerts.h"
#include "collector/counters.h"
#include "collector/health.h"
#include "collector/ingest_queue.h"
#include "collector/prometheus.h"
#include "collector/receive_sink.h"
#include "collector/tcp_input.h"
#include "collector/udp_input.h"
#include "collector/writer.h"
#include "parsers/parsers.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

constexpr uint64_t kDropPollMs = 250;

// "config FILE: <why>", without repeating "config: " when the module already said it.
std::string ConfigError(const std::string& path, const std::string& message) {
  std::string_view why = message;
  if (why.rfind("config: ", 0) == 0) why.remove_prefix(8);
  return "config " + path + ": " + std::string(why);
}

Result<TemplateSet> CompileTemplates(const std::string& config_text) {
  if (config_text.empty()) return TemplateSet::Defaults();
  return TemplateSet::FromConfigJson(config_text);
}

Result<AlertConfig> LoadAlertConfig(const std::string& config_text) {
  if (config_text.empty()) return AlertConfigFromAlertsJson("");
  return AlertConfigFromJson(config_text);
}

Result<ScheduleConfigSet> LoadScheduleConfig(const std::string& config_text) {
  if (config_text.empty()) return ScheduleConfigSet();
  return ScheduleConfigSet::Parse(config_text);
}

// The schedule analysis feeds the overdue and hammering rules, and tells fleet silence
// whether phones are due.
bool NeedsScheduleAnalysis(const AlertConfig& c) {
  return c.overdue_enabled || c.hammering_enabled || c.fleet_silence_enabled;
}

void ObserveDatagram(AlertEngine* engine, const PeerAddress& peer, int64_t received_us) {
  if (peer.family == AF_INET) {
    engine->ObserveDatagram(SenderNetwork::FromIpv4(peer.addr), received_us);
  } else if (peer.family == AF_INET6) {
    engine->ObserveDatagram(SenderNetwork::FromIpv6(peer.addr), received_us);
  }
}

}  // namespace

class Collector::Impl {
 public:
  Impl(CollectorConfig config, Store* store, const Clock* clock)
      : config_(std::move(config)),
        store_(store),
        clock_(clock),
        queue_(config_.queue_size),
        sink_(&queue_, &counters_, clock) {
    uv_loop_init(&loop_);
  }

  ~Impl() {
    if (writer_ != nullptr) {
      queue_.Close();
      writer_->Join();
    }
    StopSideServices();
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  Status Start();
  void SetStoredObserver(std::function<void(std::span<const Event>)> fn) {
    stored_observer_ = std::move(fn);
  }
  void SetReloadObserver(std::function<void()> fn) { reload_observer_ = std::move(fn); }
  void SetStoredBatchTaker(std::function<void(std::vector<Event>*)> fn) {
    batch_taker_ = std::move(fn);
  }
  void Run(bool handle_signals, const std::function<void()>& on_ready);
  void Stop() { uv_async_send(&stop_async_); }
  Result<WriteResult> WriteImported(WriteBatch& batch) {
    if (writer_ == nullptr) return Status::Busy("the collector is not running");
    return writer_->WriteImported(batch);
  }
  void Reload();
  void ReloadTls();
  std::vector<std::string> bound() const { return bound_; }
  const Counters& counters() const { return counters_; }
  std::string Health() const {
    if (writer_ == nullptr) return "not started";
    HealthSnapshot h;
    h.now_us = clock_->NowMicros();
    h.writer_heartbeat_us = writer_->heartbeat_us();
    h.store_failing_since_us = writer_->store_failing_since_us();
    if (h.store_failing_since_us != 0) h.store_error = writer_->last_store_error();
    h.last_queue_drop_us = counters_.last_queue_drop_us.load(std::memory_order_relaxed);
    h.queue_drops = counters_.Get(Counter::kQueueDrops);
    h.queue_depth = queue_.Depth() + writer_->in_hand();
    return HealthReason(h);
  }
  std::string RenderMetrics() const {
    std::string text = RenderPrometheus(counters_, tcp_open_.load(std::memory_order_relaxed));
    if (alerts_ != nullptr) text += RenderActiveAlertsMetrics(*alerts_);
    if (dispatcher_ != nullptr) text += dispatcher_->RenderMetrics();
    if (schedule_watcher_ != nullptr) text += schedule_watcher_->RenderMetrics();
    return text;
  }

 private:
  Status StartAlerts();
  Status StartScheduleWatcher(const AlertConfig& config);
  void OnAlertChange(const AlertChange& change);
  void StopSideServices();
  void BeginShutdown(const char* why);
  void PollKernelDrops();
  void OnTimer();

  CollectorConfig config_;
  Store* store_;
  const Clock* clock_;
  Counters counters_;
  SenderFilter allow_;
  std::shared_ptr<const TlsServerContext> tls_;  // for tls:// listeners
  std::function<void()> reload_observer_;        // after SIGHUP's reloads, loop thread
  IngestQueue queue_;
  ReceiveSink sink_;
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<UdpInput>> udp_;
  std::vector<std::unique_ptr<TcpInput>> tcp_;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<AlertEngine> alerts_;
  std::unique_ptr<AlertDispatcher> dispatcher_;
  std::unique_ptr<FleetScheduleWatcher> schedule_watcher_;  // reads store_, feeds alerts_
  std::function<void(std::span<const Event>)> stored_observer_;
  std::function<void(std::vector<Event>*)> batch_taker_;
  std::atomic<int64_t> tcp_open_{0};
  RateLimiter alert_store_log_{60'000'000};
  std::vector<std::string> bound_;
  uv_async_t stop_async_{};
  uv_timer_t timer_{};
  uv_signal_t signals_[3] = {};
  bool stopping_ = false;
  int64_t last_summary_us_ = 0;
  int64_t last_watchdog_us_ = 0;
  uint64_t watchdog_usec_ = 0;
};

Status Collector::Impl::Start() {
  Result<TemplateSet> templates = CompileTemplates(config_.config_text);
  if (!templates.ok()) {
    return Status::InvalidArgument(ConfigError(config_.config_path, templates.status().message()));
  }
  Result<SenderFilter> allow = SenderFilter::Parse(config_.allow);
  if (!allow.ok()) return allow.status();
  allow_ = std::move(*allow);
  if (!allow_.empty()) sink_.SetAllow(&allow_);
  TcpInputOptions tcp_options;
  tcp_options.max_frame_bytes = static_cast<size_t>(config_.max_frame_bytes);
  tcp_options.max_connections = config_.max_tcp_connections;
  tcp_options.idle_timeout_us = config_.tcp_idle_timeout_us;
  tcp_options.allow = allow_.empty() ? nullptr : &allow_;
  for (const ListenAddress& a : config_.listen) {
    if (a.transport == ListenAddress::Transport::kUdp) {
      auto input = std::make_unique<UdpInput>(&loop_, &sink_, &counters_, clock_);
      if (Status s =
              input->Start(a, config_.rcvbuf_bytes, static_cast<int>(config_.udp_coalesce_ms));
          !s.ok())
        return s;
      bound_.push_back("udp " + input->bound());
      udp_.push_back(std::move(input));
    } else {
      TcpInputOptions options = tcp_options;
      const bool tls = a.transport == ListenAddress::Transport::kTls;
      if (tls) {
        if (tls_ == nullptr) {
          auto context =
              TlsServerContext::Create(config_.tls_cert, config_.tls_key, config_.tls_client_ca);
          if (!context.ok()) return context.status();
          tls_ = std::move(*context);
        }
        options.tls = tls_;
      }
      auto input = std::make_unique<TcpInput>(&loop_, &sink_, &counters_, clock_, options);
      if (Status s = input->Start(a); !s.ok()) return s;
      bound_.push_back((tls ? "tls " : "tcp ") + input->bound());
      tcp_.push_back(std::move(input));
    }
  }
  StoreWriterOptions wo;
  wo.batch_size = config_.batch_size;
  wo.use_message_time = config_.use_message_time;
  wo.retention_us = config_.retention_us;
  wo.retention_interval_us = config_.retention_interval_us;
  writer_ =
      std::make_unique<StoreWriter>(store_, &queue_, &counters_, clock_, std::move(*templates), wo);
  if (Status s = StartAlerts(); !s.ok()) return s;
  if (stored_observer_ && alerts_ == nullptr) writer_->SetObservers(stored_observer_, nullptr);
  if (batch_taker_) writer_->SetBatchTaker(batch_taker_);
  writer_->Start();

  stop_async_.data = this;
  uv_async_init(&loop_, &stop_async_, [](uv_async_t* a) {
    static_cast<Impl*>(a->data)->BeginShutdown("stop requested");
  });
  timer_.data = this;
  uv_timer_init(&loop_, &timer_);
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->OnTimer(); }, kDropPollMs,
      kDropPollMs);
  last_summary_us_ = last_watchdog_us_ = clock_->NowMicros();
  return Status::Ok();
}

Status Collector::Impl::StartAlerts() {
  Result<AlertConfig> config = LoadAlertConfig(config_.config_text);
  if (!config.ok()) {
    return Status::InvalidArgument(ConfigError(config_.config_path, config.status().message()));
  }
  if (!config->enabled) return Status::Ok();
  Result<std::unique_ptr<AlertDispatcher>> dispatcher = AlertDispatcher::Start(*config);
  if (!dispatcher.ok()) {
    return Status::InvalidArgument("config " + config_.config_path +
                                   ": alerts: " + dispatcher.status().message());
  }
  dispatcher_ = std::move(*dispatcher);
  alerts_ = std::make_unique<AlertEngine>(
      *config, [this](const AlertChange& change) { OnAlertChange(change); });
  if (Status s = StartScheduleWatcher(*config); !s.ok()) return s;
  writer_->SetObservers(
      [this](std::span<const Event> events) {
        if (stored_observer_) stored_observer_(events);
        alerts_->Observe(events);
      },
      [this](int64_t now_us) {
        alerts_->Tick(now_us);
        // A full batch or more waiting: a burst is being written.
        if (schedule_watcher_) {
          schedule_watcher_->Tick(now_us, queue_.Depth() >= config_.batch_size);
        }
      });
  writer_->SetDatagramObserver([this](const PeerAddress& peer, int64_t received_us) {
    ObserveDatagram(alerts_.get(), peer, received_us);
  });
  return Status::Ok();
}

// The schedule analysis runs on its own thread, asked for by the writer's tick.
Status Collector::Impl::StartScheduleWatcher(const AlertConfig& config) {
  if (!NeedsScheduleAnalysis(config)) return Status::Ok();
  Result<ScheduleConfigSet> schedules = LoadScheduleConfig(config_.config_text);
  if (!schedules.ok()) {
    return Status::InvalidArgument(ConfigError(config_.config_path, schedules.status().message()));
  }
  schedule_watcher_ =
      std::make_unique<FleetScheduleWatcher>(store_, *schedules, config, alerts_.get(), clock_);
  schedule_watcher_->Start();
  return Status::Ok();
}

// On the writer thread: the store keeps every change, the sinks hear fired and resolved.
void Collector::Impl::OnAlertChange(const AlertChange& change) {
  if (Status s = store_->PutAlert(ToAlertRecord(change.alert)); !s.ok()) {
    int64_t suppressed = 0;
    if (alert_store_log_.Allow(clock_->NowMicros(), &suppressed)) {
      spdlog::error("cannot store alert {} ({} more not logged): {}", change.alert.id, suppressed,
                    s.ToString());
    }
  }
  if (change.kind != AlertChange::Kind::kUpdated) dispatcher_->Submit(change);
}

void Collector::Impl::StopSideServices() {
  if (schedule_watcher_ != nullptr) schedule_watcher_->Stop();
  if (dispatcher_ != nullptr) dispatcher_->Stop(SystemClock::Instance().NowMicros() + 5'000'000);
}

void Collector::Impl::Run(bool handle_signals, const std::function<void()>& on_ready) {
  if (handle_signals) {
    static constexpr int kSignals[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; ++i) {
      signals_[i].data = this;
      uv_signal_init(&loop_, &signals_[i]);
      uv_signal_start(
          &signals_[i],
          [](uv_signal_t* s, int signum) {
            auto* self = static_cast<Impl*>(s->data);
            if (signum == SIGHUP) {
              self->Reload();
              self->ReloadTls();
              if (self->reload_observer_) self->reload_observer_();
            } else {
              self->BeginShutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
            }
          },
          kSignals[i]);
    }
  }
  if (on_ready) on_ready();
  if (sd_watchdog_enabled(0, &watchdog_usec_) <= 0) watchdog_usec_ = 0;
  sd_notify(0, "READY=1\nSTATUS=receiving");
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Every handle is closed: the inputs are drained into the queue.
  sink_.Flush();
  spdlog::info("inputs closed; writing the {} queued datagrams", queue_.Depth());
  queue_.Close();
  writer_->Join();
  StopSideServices();
  PollKernelDrops();
  spdlog::info("stopped: {}", counters_.Summary());
}

void Collector::Impl::BeginShutdown(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
  spdlog::info("{}: stopping, draining the queue into the store", why);
  PollKernelDrops();
  for (auto& u : udp_) u->Close();
  for (auto& t : tcp_) t->Close();
  sink_.Flush();
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_async_), nullptr);
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  for (auto& s : signals_) {
    if (s.data != nullptr) {
      uv_signal_stop(&s);
      uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
    }
  }
}

void Collector::Impl::Reload() {
  if (config_.config_path.empty()) {
    spdlog::warn("SIGHUP: no --config file; keeping the default templates");
    return;
  }
  Result<std::string> text = RereadConfigFile(config_.config_path);
  if (!text.ok()) {
    spdlog::error("SIGHUP: keeping the current templates: {}", text.status().message());
    return;
  }
  Result<TemplateSet> templates = CompileTemplates(*text);
  if (!templates.ok()) {
    spdlog::error("SIGHUP: keeping the current templates: {}",
                  ConfigError(config_.config_path, templates.status().message()));
    return;
  }
  spdlog::info("SIGHUP: reloaded {} templates from {}", templates->size(), config_.config_path);
  writer_->SetTemplates(std::move(*templates));
}

// The tls:// listeners' certificate and key, read again: new connections use them, those
// established keep the context they began with (each session holds a reference to it).
void Collector::Impl::ReloadTls() {
  if (tls_ == nullptr) return;
  auto context = TlsServerContext::Create(config_.tls_cert, config_.tls_key, config_.tls_client_ca);
  if (!context.ok()) {
    spdlog::error("SIGHUP: keeping the current TLS certificate of the tls:// listeners: {}",
                  context.status().message());
    return;
  }
  tls_ = std::move(*context);
  for (auto& t : tcp_) t->SetTls(tls_);
  spdlog::info("SIGHUP: reloaded the TLS certificate of the tls:// listeners from {}",
               config_.tls_cert);
}

void Collector::Impl::PollKernelDrops() {
  int64_t drops = 0;
  for (const auto& u : udp_) drops += u->KernelDrops();
  if (drops > counters_.Get(Counter::kKernelDrops)) counters_.Set(Counter::kKernelDrops, drops);
}

void Collector::Impl::OnTimer() {
  PollKernelDrops();
  const int64_t now_us = clock_->NowMicros();
  int64_t open = 0;
  for (const auto& t : tcp_) {
    t->SweepIdle(now_us);
    open += static_cast<int64_t>(t->connections());
  }
  tcp_open_.store(open, std::memory_order_relaxed);
  counters_.queue_depth.store(queue_.Depth() + writer_->in_hand(), std::memory_order_relaxed);
  if (now_us - last_summary_us_ >= config_.summary_interval_us) {
    last_summary_us_ = now_us;
    spdlog::info("{}", counters_.Summary());
  }
  if (watchdog_usec_ > 0 &&
      now_us - last_watchdog_us_ >= static_cast<int64_t>(watchdog_usec_ / 2)) {
    // Alive means the writer thread is alive too, not just this loop.
    if (now_us - writer_->heartbeat_us() < static_cast<int64_t>(watchdog_usec_)) {
      last_watchdog_us_ = now_us;
      sd_notify(0, "WATCHDOG=1");
    }
  }
}

Collector::Collector(CollectorConfig config, Store* store, const Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(config), store, clock)) {}
Collector::~Collector() = default;
Status Collector::Start() { return impl_->Start(); }
void Collector::SetReloadObserver(std::function<void()> fn) {
  impl_->SetReloadObserver(std::move(fn));
}

Result<WriteResult> Collector::WriteImported(WriteBatch& batch) {
  return impl_->WriteImported(batch);
}

void Collector::SetStoredBatchTaker(std::function<void(std::vector<Event>*)> fn) {
  impl_->SetStoredBatchTaker(std::move(fn));
}

void Collector::SetStoredObserver(std::function<void(std::span<const Event>)> fn) {
  impl_->SetStoredObserver(std::move(fn));
}
std::vector<std::string> Collector::BoundAddresses() const { return impl_->bound(); }
void Collector::Run(bool handle_signals, const std::function<void()>& on_ready) {
  impl_->Run(handle_signals, on_ready);
}
void Collector::Stop() { impl_->Stop(); }
void Collector::Reload() { impl_->Reload(); }
const Counters& Collector::counters() const { return impl_->counters(); }
std::string Collector::RenderMetrics() const { return impl_->RenderMetrics(); }
std::string Collector::Health() const { return impl_->Health(); }

}  // namespace resyncwatch
