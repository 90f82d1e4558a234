// WallPrecompute: one thread that reruns the wall's firmware and schedule queries per minute.
#include "web/wall_precompute.h"

#include <pthread.h>

#include "common/clock.h"
#include "common/thread_priority.h"
#include "common/time_format.h"
#include "schedule/schedule.h"
#include "web/gzip.h"
#include "web/wall_summary.h"

namespace resyncwatch {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;

bool IsScheduleStateName(std::string_view name) {
  for (int s = 0; s <= static_cast<int>(ScheduleState::kUnknown); ++s) {
    if (ToString(static_cast<ScheduleState>(s)) == name) return true;
  }
  return false;
}

int64_t FloorMinute(int64_t us) {
  int64_t m = us / kMinuteUs;
  if (us % kMinuteUs < 0) --m;
  return m * kMinuteUs;
}

// Large answers are compressed here, once, rather than by each request that accepts gzip.
void WithGzip(ApiReply* reply) {
  if (reply->status != 200 || reply->body.size() < kGzipMinBytes) return;
  std::string z = Gzip(reply->body);
  if (!z.empty()) reply->gzip = std::make_shared<const std::string>(std::move(z));
}

}  // namespace

WallPrecompute::WallPrecompute(const ApiContext& context, Options options)
    : context_(context), options_(options) {
  context_.wall_precompute = nullptr;  // runs compute; they never read themselves
  if (options_.clock == nullptr) options_.clock = &SystemClock::Instance();
}

WallPrecompute::~WallPrecompute() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WallPrecompute::Start() {
  thread_ = std::thread([this] { Run(); });
}

int64_t WallPrecompute::SettledMinute() const {
  return FloorMinute(options_.clock->NowMicros() - options_.settle.count());
}

bool WallPrecompute::RefreshIfDue() {
  const int64_t minute = SettledMinute();
  if (minute == last_started_) return false;
  last_started_ = minute;
  // A failed request (a bad --config, a store error) keeps nothing: the API computes, and
  // shows the error, as it would without the precompute.
  auto firmware = std::make_shared<Ready>();
  firmware->minute_us = options_.clock->NowMicros();
  firmware->now = FormatIso8601Utc(firmware->minute_us);
  ApiReply full = HandleApi(context_, {"/api/firmware", {}});
  const bool firmware_ok = full.status == 200;
  firmware->replies.emplace("/api/wall/firmware", SummarizeForWall(WallSummary::kFirmware, full));
  firmware->replies.emplace("/api/firmware", std::move(full));
  for (auto& [path, reply] : firmware->replies) WithGzip(&reply);
  {
    std::lock_guard lock(mu_);
    firmware_ = firmware_ok ? std::move(firmware) : nullptr;
  }
  auto ready = std::make_shared<Ready>();
  ready->minute_us = minute;
  ready->now = FormatIso8601Utc(minute);
  // Each full answer, then the wall's compact form made from the same bytes.
  struct Run {
    const char* path;
    const char* wall;
    WallSummary kind;
  };
  const Run kRuns[] = {{"/api/schedule/fleet", "/api/wall/schedule", WallSummary::kSchedule},
                       {"/api/recovery", "/api/wall/recovery", WallSummary::kRecovery}};
  for (const auto& [path, wall, kind] : kRuns) {
    ApiReply full = HandleApi(context_, {path, {{"now", ready->now}}});
    if (full.status != 200) continue;
    ready->replies.emplace(wall, SummarizeForWall(kind, full));
    ready->replies.emplace(path, std::move(full));
  }
  for (auto& [path, reply] : ready->replies) WithGzip(&reply);
  {
    std::lock_guard lock(mu_);
    ++runs_;
    if (!ready->replies.empty()) {
      ready_ = std::move(ready);
    } else {
      ready_.reset();
    }
  }
  cv_.notify_all();
  return true;
}

void WallPrecompute::Run() {
  pthread_setname_np(pthread_self(), "rw-wall");
  LowerThisThreadPriority(kBackgroundNice);  // ingest first
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    const bool ran = RefreshIfDue();
    lock.lock();
    if (!ran) cv_.wait_for(lock, options_.poll, [this] { return stop_; });
  }
}

std::shared_ptr<const WallPrecompute::Ready> WallPrecompute::FreshFirmware() const {
  std::shared_ptr<const Ready> firmware;
  {
    std::lock_guard lock(mu_);
    firmware = firmware_;
  }
  const int64_t max_age_us = std::chrono::microseconds(kFirmwareMaxAge).count();
  if (firmware == nullptr || options_.clock->NowMicros() - firmware->minute_us > max_age_us) {
    return nullptr;
  }
  return firmware;
}

std::optional<ApiReply> WallPrecompute::Lookup(const ApiRequest& request) const {
  if (request.path == "/api/firmware" || request.path == "/api/wall/firmware") {
    std::shared_ptr<const Ready> firmware = FreshFirmware();
    if (firmware == nullptr || !request.params.empty()) return std::nullopt;
    ApiReply reply = firmware->replies.find(request.path)->second;
    reply.as_of = firmware->now;
    return reply;
  }
  // The fleet schedule of one state (the console's lists), narrowed from the whole fleet's.
  std::string state;
  if (request.path == "/api/schedule/fleet" && request.params.size() == 2 &&
      request.params.count("state") == 1) {
    state = request.params.find("state")->second;
    if (!IsScheduleStateName(state)) return std::nullopt;  // computed: the command's error
  } else if (request.params.size() != 1) {
    return std::nullopt;
  }
  auto now = request.params.find("now");
  if (now == request.params.end()) return std::nullopt;
  std::shared_ptr<const Ready> ready;
  {
    std::lock_guard lock(mu_);
    ready = ready_;
  }
  if (ready == nullptr || ready->now != now->second) return std::nullopt;
  auto it = ready->replies.find(request.path);
  if (it == ready->replies.end()) return std::nullopt;
  if (!state.empty()) return FilterScheduleState(it->second, state);
  return it->second;
}

std::string WallPrecompute::FirmwareAsOf() const {
  std::shared_ptr<const Ready> firmware = FreshFirmware();
  return firmware != nullptr ? firmware->now : std::string();
}

std::string WallPrecompute::ReadyNow() const {
  std::lock_guard lock(mu_);
  return ready_ != nullptr ? ready_->now : std::string();
}

int64_t WallPrecompute::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

bool WallPrecompute::WaitForReady(int64_t minute_us, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout,
                      [&] { return ready_ != nullptr && ready_->minute_us == minute_us; });
}

}  // namespace resyncwatch
