// SchedulePrecompute: one thread that reruns the wall's schedule query per minute.
#include "web/schedule_cache.h"

#include <pthread.h>

#include "common/clock.h"
#include "common/time_format.h"

namespace resyncwatch {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;

int64_t FloorMinute(int64_t us) {
  int64_t m = us / kMinuteUs;
  if (us % kMinuteUs < 0) --m;
  return m * kMinuteUs;
}

}  // namespace

SchedulePrecompute::SchedulePrecompute(const ApiContext& context, Options options)
    : context_(context), options_(options) {
  context_.schedule_precompute = nullptr;  // runs compute; they never read themselves
  if (options_.clock == nullptr) options_.clock = &SystemClock::Instance();
}

SchedulePrecompute::~SchedulePrecompute() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SchedulePrecompute::Start() {
  thread_ = std::thread([this] { Run(); });
}

int64_t SchedulePrecompute::SettledMinute() const {
  return FloorMinute(options_.clock->NowMicros() - options_.settle.count());
}

bool SchedulePrecompute::RefreshIfDue() {
  const int64_t minute = SettledMinute();
  if (minute == last_started_) return false;
  last_started_ = minute;
  auto ready = std::make_shared<Ready>();
  ready->minute_us = minute;
  ready->now = FormatIso8601Utc(minute);
  ready->reply = HandleApi(context_, {"/api/schedule/fleet", {{"now", ready->now}}});
  {
    std::lock_guard lock(mu_);
    ++runs_;
    // A failed run (a bad --config, a store error) keeps nothing: the API computes, and
    // shows the error, as it would without the precompute.
    if (ready->reply.status == 200) {
      ready_ = std::move(ready);
    } else {
      ready_.reset();
    }
  }
  cv_.notify_all();
  return true;
}

void SchedulePrecompute::Run() {
  pthread_setname_np(pthread_self(), "rw-schedule");
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    const bool ran = RefreshIfDue();
    lock.lock();
    if (!ran) cv_.wait_for(lock, options_.poll, [this] { return stop_; });
  }
}

std::optional<ApiReply> SchedulePrecompute::Lookup(std::string_view now_param) const {
  std::shared_ptr<const Ready> ready;
  {
    std::lock_guard lock(mu_);
    ready = ready_;
  }
  if (ready == nullptr || ready->now != now_param) return std::nullopt;
  return ready->reply;
}

std::string SchedulePrecompute::ReadyNow() const {
  std::lock_guard lock(mu_);
  return ready_ != nullptr ? ready_->now : std::string();
}

int64_t SchedulePrecompute::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

bool SchedulePrecompute::WaitForReady(int64_t minute_us, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout,
                      [&] { return ready_ != nullptr && ready_->minute_us == minute_us; });
}

}  // namespace resyncwatch
