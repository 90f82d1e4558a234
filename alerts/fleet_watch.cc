// The schedule analysis behind the schedule rules: AnalyzeFleet over the store on one
// thread (ingest keeps the other cores), reduced to counts, the worst MACs and the sorted
// window starts; and the thread that runs it every schedule_interval.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "alerts/alerts.h"
#include "common/thread_priority.h"
#include "schedule/schedule.h"

namespace resyncwatch {
namespace {

// The worst first (largest value, then lowest MAC), at most limit MACs.
std::vector<MacAddress> Worst(std::vector<std::pair<int64_t, MacAddress>>* ranked, size_t limit) {
  auto worse = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  size_t n = std::min(limit, ranked->size());
  std::partial_sort(ranked->begin(), ranked->begin() + n, ranked->end(), worse);
  std::vector<MacAddress> out;
  for (size_t i = 0; i < n; ++i) out.push_back((*ranked)[i].second);
  return out;
}

class SummaryBuilder {
 public:
  void Add(const FleetDevice& d) {
    const DeviceAnalysis& a = d.analysis;
    if (a.state == ScheduleState::kUnknown) return;
    ++s_.phones;
    if (a.state == ScheduleState::kOverdue) {
      overdue_.emplace_back(a.overdue_us, d.mac);
    } else if (a.state == ScheduleState::kHammering) {
      hammering_.emplace_back(a.verdicts[static_cast<int>(Verdict::kEarly)], d.mac);
    }
    if (a.next) s_.window_starts.push_back(a.next->earliest_us);
  }

  FleetScheduleSummary Finish(int64_t now_us, size_t worst) {
    s_.now_us = now_us;
    s_.overdue = static_cast<int64_t>(overdue_.size());
    s_.hammering = static_cast<int64_t>(hammering_.size());
    s_.worst_overdue = Worst(&overdue_, worst);
    s_.worst_hammering = Worst(&hammering_, worst);
    std::sort(s_.window_starts.begin(), s_.window_starts.end());
    return std::move(s_);
  }

 private:
  FleetScheduleSummary s_;
  std::vector<std::pair<int64_t, MacAddress>> overdue_;    // overdue_us, mac
  std::vector<std::pair<int64_t, MacAddress>> hammering_;  // early gaps, mac
};

}  // namespace

int64_t FleetScheduleSummary::DueAt(int64_t t_us) const {
  return std::upper_bound(window_starts.begin(), window_starts.end(), t_us) - window_starts.begin();
}

Result<FleetScheduleSummary> AnalyzeFleetSchedule(const Store& store,
                                                  const ScheduleConfigSet& schedules,
                                                  const AlertConfig& config, int64_t now_us) {
  AnalysisOptions options;
  options.threads = 1;
  TimeRange range{now_us - config.schedule_range_us, now_us + 1};
  SummaryBuilder builder;
  Status s = AnalyzeFleet(store, schedules, range, now_us, options,
                          [&](const FleetDevice& d) { builder.Add(d); });
  if (!s.ok()) return s;
  return builder.Finish(now_us, static_cast<size_t>(std::max<int64_t>(0, config.sample_macs)));
}

class FleetScheduleWatcher::Impl {
 public:
  Impl(const Store* store, const ScheduleConfigSet& schedules, const AlertConfig& config,
       AlertEngine* engine, const Clock* clock)
      : store_(store), schedules_(schedules), config_(config), engine_(engine), clock_(clock) {}

  void Start() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "rw-schedule");
      LowerThisThreadPriority(kBackgroundNice);  // ingest first
      Run();
    });
  }

  bool Tick(int64_t now_us, bool ingest_busy) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable() || stop_ || running_ || requested_) return false;
    if (asked_ && now_us - last_asked_us_ < config_.schedule_interval_us) return false;
    if (due_since_us_ == INT64_MIN) due_since_us_ = now_us;
    if (ingest_busy && now_us - due_since_us_ < config_.schedule_interval_us) return false;
    due_since_us_ = INT64_MIN;
    asked_ = true;
    last_asked_us_ = now_us;
    requested_ = true;
    request_us_ = now_us;
    cv_.notify_one();
    return true;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

  Status RunOnce(int64_t now_us) {
    const int64_t start_us = clock_->NowMicros();
    Result<FleetScheduleSummary> summary =
        AnalyzeFleetSchedule(*store_, schedules_, config_, now_us);
    last_duration_us_.store(clock_->NowMicros() - start_us, std::memory_order_relaxed);
    if (!summary.ok()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      return summary.status();
    }
    ok_.fetch_add(1, std::memory_order_relaxed);
    engine_->SetFleetSchedule(std::move(*summary));
    return Status::Ok();
  }

  std::string RenderMetrics() const {
    std::string out =
        "# HELP resyncwatch_schedule_analyses_total Schedule analyses of the fleet for the "
        "schedule alert rules, by result.\n"
        "# TYPE resyncwatch_schedule_analyses_total counter\n";
    out += "resyncwatch_schedule_analyses_total{result=\"ok\"} " +
           std::to_string(ok_.load(std::memory_order_relaxed)) + "\n";
    out += "resyncwatch_schedule_analyses_total{result=\"error\"} " +
           std::to_string(errors_.load(std::memory_order_relaxed)) + "\n";
    out +=
        "# HELP resyncwatch_schedule_analysis_seconds Duration of the latest schedule analysis.\n"
        "# TYPE resyncwatch_schedule_analysis_seconds gauge\n"
        "resyncwatch_schedule_analysis_seconds " +
        std::to_string(last_duration_us_.load(std::memory_order_relaxed) / 1e6) + "\n";
    return out;
  }

 private:
  // Waits for a request, runs it, repeats until Stop(). An error is logged (one line per
  // run, so at most one per schedule_interval) and the next run tries again.
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || requested_; });
      if (stop_) return;
      int64_t now_us = request_us_;
      running_ = true;
      requested_ = false;
      lock.unlock();
      Status s = RunOnce(now_us);
      if (!s.ok()) spdlog::warn("schedule analysis for the alert rules failed: {}", s.ToString());
      lock.lock();
      running_ = false;
    }
  }

  const Store* store_;
  ScheduleConfigSet schedules_;
  AlertConfig config_;
  AlertEngine* engine_;
  const Clock* clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool running_ = false;
  bool requested_ = false;
  bool asked_ = false;
  int64_t request_us_ = 0;
  int64_t last_asked_us_ = 0;
  int64_t due_since_us_ = INT64_MIN;  // when the pending run fell due (deferred while busy)
  std::thread thread_;
  std::atomic<int64_t> ok_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> last_duration_us_{0};
};

FleetScheduleWatcher::FleetScheduleWatcher(const Store* store, const ScheduleConfigSet& schedules,
                                           const AlertConfig& config, AlertEngine* engine,
                                           const Clock* clock)
    : impl_(std::make_unique<Impl>(store, schedules, config, engine, clock)) {}
FleetScheduleWatcher::~FleetScheduleWatcher() { impl_->Stop(); }
void FleetScheduleWatcher::Start() { impl_->Start(); }
bool FleetScheduleWatcher::Tick(int64_t now_us, bool ingest_busy) {
  return impl_->Tick(now_us, ingest_busy);
}
void FleetScheduleWatcher::Stop() { impl_->Stop(); }
Status FleetScheduleWatcher::RunOnce(int64_t now_us) { return impl_->RunOnce(now_us); }
std::string FleetScheduleWatcher::RenderMetrics() const { return impl_->RenderMetrics(); }

}  // namespace resyncwatch
