// AlertDispatcher: one worker thread and one bounded queue per sink, so that a slow or
// failing sink delays only itself. A failed delivery is retried with exponential back-off
// (retry_initial .. retry_max) until it succeeds or the alert is older than retry_give_up.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "alerts/alerts.h"
#include "alerts/sinks.h"
#include "common/clock.h"
#include "common/prometheus_text.h"

namespace resyncwatch {
namespace {

// Logs at most once per interval, telling how many lines it held back.
class RateLimitedLog {
 public:
  template <typename... Args>
  void Warn(int64_t now_us, fmt::format_string<Args...> format, Args&&... args) {
    if (last_us_ != 0 && now_us - last_us_ < kIntervalUs) {
      ++suppressed_;
      return;
    }
    std::string text = fmt::format(format, std::forward<Args>(args)...);
    if (suppressed_ > 0) text += fmt::format(" ({} similar messages suppressed)", suppressed_);
    spdlog::warn("{}", text);
    last_us_ = now_us;
    suppressed_ = 0;
  }

 private:
  static constexpr int64_t kIntervalUs = 60'000'000;
  int64_t last_us_ = 0;
  int64_t suppressed_ = 0;
};

// Signalled whenever a worker's statistics change, for WaitFor.
struct StatsSignal {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t changes = 0;
  void Changed() {
    {
      std::lock_guard lock(mu);
      ++changes;
    }
    cv.notify_all();
  }
};

struct Queued {
  AlertMessage message;
  int64_t enqueued_us = 0;
};

class SinkWorker {
 public:
  SinkWorker(std::unique_ptr<AlertSink> sink, const AlertConfig& c, const Clock* clock,
             StatsSignal* signal)
      : sink_(std::move(sink)),
        clock_(clock),
        signal_(signal),
        capacity_(static_cast<size_t>(c.sink_queue)),
        retry_initial_us_(c.retry_initial_us),
        retry_max_us_(c.retry_max_us),
        give_up_us_(c.retry_give_up_us) {}

  void StartThread() {
    thread_ = std::thread([this] { Run(); });
  }

  bool Submit(const AlertMessage& m) {
    std::unique_lock lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) {
      ++dropped_;
      lock.unlock();
      signal_->Changed();
      lock.lock();
      drop_log_.Warn(clock_->NowMicros(), "alert sink {}: queue full ({} alerts), dropped alert {}",
                     sink_->name(), capacity_, m.alert.id);
      return false;
    }
    queue_.push_back({m, clock_->NowMicros()});
    cv_.notify_one();
    lock.unlock();
    signal_->Changed();
    return true;
  }

  void Stop(int64_t deadline_us) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      deadline_us_ = deadline_us;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

  AlertDispatcher::SinkStats Stats() const {
    std::lock_guard lock(mu_);
    return {std::string(sink_->name()), delivered_, failed_, dropped_,
            static_cast<int64_t>(queue_.size())};
  }

 private:
  void Run() {
    // Writes to a pipe or socket whose reader went away must fail with EPIPE, not kill
    // the daemon.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    int64_t backoff_us = retry_initial_us_;
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() || (stopping_ && clock_->NowMicros() >= deadline_us_)) break;
      Queued item = queue_.front();
      lock.unlock();
      Status s = sink_->Deliver(item.message);
      int64_t now = clock_->NowMicros();
      lock.lock();
      if (s.ok()) {
        queue_.pop_front();
        ++delivered_;
        backoff_us = retry_initial_us_;
        lock.unlock();
        signal_->Changed();
        lock.lock();
        continue;
      }
      ++failed_;
      lock.unlock();
      signal_->Changed();
      lock.lock();
      bool give_up = now - item.enqueued_us >= give_up_us_;
      fail_log_.Warn(
          now, "alert sink {}: delivering {} failed: {}; {}", sink_->name(), item.message.alert.id,
          s.ToString(),
          give_up ? std::string("giving up") : fmt::format("retrying in {} ms", backoff_us / 1000));
      if (give_up) {
        queue_.pop_front();
        ++dropped_;
        lock.unlock();
        signal_->Changed();
        lock.lock();
        continue;
      }
      int64_t wake_us = now + backoff_us;
      if (stopping_) wake_us = std::min(wake_us, deadline_us_);
      cv_.wait_for(lock, std::chrono::microseconds(wake_us - now),
                   [&] { return stopping_ && clock_->NowMicros() >= deadline_us_; });
      backoff_us = std::min(backoff_us * 2, retry_max_us_);
    }
    dropped_ += static_cast<int64_t>(queue_.size());
    if (!queue_.empty()) {
      spdlog::warn("alert sink {}: {} alerts undelivered at shutdown", sink_->name(),
                   queue_.size());
    }
    queue_.clear();
  }

  std::unique_ptr<AlertSink> sink_;
  const Clock* clock_;
  StatsSignal* signal_;
  const size_t capacity_;
  const int64_t retry_initial_us_;
  const int64_t retry_max_us_;
  const int64_t give_up_us_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  bool stopping_ = false;
  int64_t deadline_us_ = 0;
  int64_t delivered_ = 0;
  int64_t failed_ = 0;
  int64_t dropped_ = 0;
  RateLimitedLog drop_log_;
  RateLimitedLog fail_log_;
  std::thread thread_;
};

class DispatcherImpl final : public AlertDispatcher {
 public:
  explicit DispatcherImpl(const Clock* clock) : clock_(clock) {}
  ~DispatcherImpl() override { Stop(clock_->NowMicros()); }

  void Add(std::unique_ptr<AlertSink> sink, const AlertConfig& c) {
    workers_.push_back(std::make_unique<SinkWorker>(std::move(sink), c, clock_, &signal_));
  }
  void StartThreads() {
    for (auto& w : workers_) w->StartThread();
  }

  bool Submit(const AlertChange& change) override {
    if (change.kind == AlertChange::Kind::kUpdated) return true;
    AlertMessage m{change.kind, change.alert, AlertToJson(change.alert)};
    bool all = true;
    for (auto& w : workers_) all = w->Submit(m) && all;
    return all;
  }

  void Stop(int64_t deadline_us) override {
    for (auto& w : workers_) w->Stop(deadline_us);
  }

  std::vector<SinkStats> Stats() const override {
    std::vector<SinkStats> out;
    for (const auto& w : workers_) out.push_back(w->Stats());
    return out;
  }

  bool WaitFor(const std::function<bool(const std::vector<SinkStats>&)>& done,
               std::chrono::milliseconds timeout) const override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(signal_.mu);
    for (;;) {
      const uint64_t seen = signal_.changes;
      lock.unlock();
      if (done(Stats())) return true;
      lock.lock();
      if (!signal_.cv.wait_until(lock, deadline, [&] { return signal_.changes != seen; })) {
        lock.unlock();
        return done(Stats());
      }
    }
  }

  std::string RenderMetrics() const override {
    constexpr std::string_view kName = "resyncwatch_alert_notifications_total";
    PrometheusText out;
    out.Family(kName, "counter", "Alert deliveries by sink and result.");
    for (const SinkStats& s : Stats()) {
      for (auto [result, n] :
           {std::pair{"delivered", s.delivered}, std::pair{"failed", s.failed_attempts},
            std::pair{"dropped", s.dropped}}) {
        out.Sample(kName, {{"sink", s.name}, {"result", result}}, n);
      }
    }
    return out.Take();
  }

 private:
  const Clock* clock_;
  mutable StatsSignal signal_;
  std::vector<std::unique_ptr<SinkWorker>> workers_;
};

}  // namespace

Result<std::unique_ptr<AlertDispatcher>> AlertDispatcher::Start(const AlertConfig& c,
                                                                const Clock* clock) {
  auto d = std::make_unique<DispatcherImpl>(clock);
  using Type = AlertConfig::Sink::Type;
  for (const AlertConfig::Sink& s : c.sinks) {
    std::unique_ptr<AlertSink> sink;
    switch (s.type) {
      case Type::kLog:
        sink = MakeLogSink();
        break;
      case Type::kFile:
        sink = MakeFileSink(s.target);
        break;
      case Type::kExec:
        sink = MakeExecSink(s.target, s.timeout_us);
        break;
      case Type::kWebhook:
        sink = MakeWebhookSink(s);
        break;
      case Type::kSyslog:
        sink = MakeSyslogSink(s.target, c.syslog_hostname, c.syslog_facility, clock);
    }
    if (!sink) return Status::InvalidArgument("alert sink '" + s.target + "' is not usable");
    d->Add(std::move(sink), c);
  }
  d->StartThreads();
  return std::unique_ptr<AlertDispatcher>(std::move(d));
}

}  // namespace resyncwatch
