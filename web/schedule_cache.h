// SchedulePrecompute: the wall's schedule panel, computed ahead. On its own thread it runs
// /api/schedule/fleet with now= the latest whole minute of its clock, through the API's own
// route code (HandleApi), so the body is byte for byte `resyncwatch schedule --fleet --json
// --now MINUTE` against the store as it was when the run started. It keeps the latest
// finished result and starts the next run once the minute has changed and the previous run
// has finished: once a minute on a small fleet, back to back when a run takes longer than
// a minute (about 4 s at 100,000 phones). It only reads the store, so ingest goes on.
//
// The API serves a request from it only when its parameters are exactly now=ReadyNow(),
// spelled as ReadyNow() spells it; anything else (another minute, another spelling, any
// other parameter) is computed as before.
//
// Ownership: borrows the store and the clock; they must outlive it. Threads: Lookup,
// ReadyNow, runs and WaitForReady are thread-safe; Start, RefreshIfDue and the destructor
// are called from one thread (the owner's). The destructor waits for a run in flight.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "web/api.h"

namespace resyncwatch {

class Clock;

class SchedulePrecompute {
 public:
  struct Options {
    const Clock* clock = nullptr;  // null: the system clock
    // The run for minute M starts at M + settle, so that events of the minute's last
    // seconds still in the writer's queue are stored first.
    std::chrono::microseconds settle = std::chrono::seconds(2);
    // How often the thread looks at the clock while it waits for the next minute.
    std::chrono::milliseconds poll = std::chrono::seconds(1);
  };

  // REQUIRES: context.store is set. context.schedule_precompute is ignored (runs compute).
  SchedulePrecompute(const ApiContext& context, Options options);
  ~SchedulePrecompute();
  SchedulePrecompute(const SchedulePrecompute&) = delete;
  SchedulePrecompute& operator=(const SchedulePrecompute&) = delete;

  // Starts the background thread (the daemon); tests may drive RefreshIfDue instead.
  void Start();
  // Runs now if the clock's settled minute differs from the last one run; true if it ran.
  bool RefreshIfDue();

  // The stored reply when now_param is exactly ReadyNow(); nullopt otherwise.
  std::optional<ApiReply> Lookup(std::string_view now_param) const;
  // The ready minute as the API's now= value ("2026-12-07T07:21:00.000000Z"), or "".
  std::string ReadyNow() const;
  int64_t runs() const;  // finished runs, failed ones included
  // Waits until the result for minute_us (a whole minute) is ready; false on timeout.
  bool WaitForReady(int64_t minute_us, std::chrono::milliseconds timeout) const;

 private:
  struct Ready {
    int64_t minute_us = 0;
    std::string now;  // FormatIso8601Utc(minute_us)
    ApiReply reply;
  };
  int64_t SettledMinute() const;
  void Run();

  ApiContext context_;
  Options options_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // stop_, and each finished run
  std::shared_ptr<const Ready> ready_;
  int64_t last_started_ = INT64_MIN;  // the owner's thread or the run thread, not both
  int64_t runs_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace resyncwatch
