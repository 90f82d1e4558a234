// WallPrecompute: the wall's two costly panels, computed ahead. On its own thread it runs,
// through the API's own route code (HandleApi), once per minute M of its clock:
//   /api/firmware                  = `resyncwatch firmware --json`, first (about 1.4 s at
//                                    100,000 phones; and its compact /api/wall/firmware),
//                                    then
//   /api/schedule/fleet?now=M      = `resyncwatch schedule --fleet --json --now M`,
//   /api/recovery?now=M            = `resyncwatch recovery --json --now M`,
// each against the store as it is when that request starts, and keeps each latest finished
// result, with the wall's compact forms of the last two made from the same bytes
// (/api/wall/schedule?now=M and /api/wall/recovery?now=M, web/wall_summary.h). The next run starts
// once the minute has changed and the previous run has finished: once a minute on a small fleet,
// back to back when a run takes longer. It only reads the store, so ingest goes on.
//
// The schedule and recovery answers are functions of now=M: the API serves them (and their
// compact forms) only when the request's parameters are exactly now=ReadyNow(), spelled as
// ReadyNow() spells it, and they are then the command's bytes for exactly that request.
// /api/schedule/fleet with exactly now=ReadyNow() and state=S (a state's name) is served too,
// as the precomputed lines of that state: the bytes of `schedule --fleet --json --now M
// --state S` (the console's lists of deep back-off, hammering, gave up).
//
// The firmware command has no parameter that fixes its answer (--now does not bound its
// all-time range, and it lists every phone the store knows), so its answer is that of the
// request with no parameters at the time the run started (FirmwareAsOf()). The API serves
// it for /api/firmware with no parameters only while that start is at most one minute old
// (kFirmwareMaxAge), and says so: the reply's as_of (header X-Resyncwatch-As-Of) is that
// start. Any other request (a parameter, an older result) is computed as before.
//
// Ownership: borrows the store and the clock; they must outlive it. Threads: Lookup,
// ReadyNow, FirmwareAsOf, runs and WaitForReady are thread-safe; Start, RefreshIfDue and
// the destructor are called from one thread (the owner's). The destructor waits for a run
// in flight.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "web/api.h"

namespace resyncwatch {

class Clock;

class WallPrecompute {
 public:
  struct Options {
    const Clock* clock = nullptr;  // null: the system clock
    // The run for minute M starts at M + settle, so that events of the minute's last
    // seconds still in the writer's queue are stored first.
    std::chrono::microseconds settle = std::chrono::seconds(2);
    // How often the thread looks at the clock while it waits for the next minute.
    std::chrono::milliseconds poll = std::chrono::seconds(1);
  };

  // REQUIRES: context.store is set. context.wall_precompute is ignored (runs compute).
  WallPrecompute(const ApiContext& context, Options options);
  ~WallPrecompute();
  WallPrecompute(const WallPrecompute&) = delete;
  WallPrecompute& operator=(const WallPrecompute&) = delete;

  // Starts the background thread (the daemon); tests may drive RefreshIfDue instead.
  void Start();
  // Runs now if the clock's settled minute differs from the last one run; true if it ran.
  bool RefreshIfDue();

  // A firmware result older than this (by the clock) is not served.
  static constexpr std::chrono::minutes kFirmwareMaxAge{1};

  // The stored reply for request (path and parameters, as above); nullopt otherwise.
  std::optional<ApiReply> Lookup(const ApiRequest& request) const;
  // The ready minute as the API's now= value ("2026-12-07T07:21:00.000000Z"), or "".
  std::string ReadyNow() const;
  // When the firmware result that Lookup would serve now started (ISO-8601 UTC), or "".
  std::string FirmwareAsOf() const;
  int64_t runs() const;  // finished runs, failed ones included
  // Waits until the schedule for minute_us (a whole minute) is ready, and so the firmware
  // run before it has finished; false on timeout.
  bool WaitForReady(int64_t minute_us, std::chrono::milliseconds timeout) const;

 private:
  struct Ready {
    int64_t minute_us = 0;  // schedule: the minute; firmware: when its run started
    std::string now;        // FormatIso8601Utc(minute_us)
    std::map<std::string, ApiReply, std::less<>> replies;  // by request path
  };
  std::shared_ptr<const Ready> FreshFirmware() const;
  int64_t SettledMinute() const;
  void Run();

  ApiContext context_;
  Options options_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;     // stop_, and each finished run
  std::shared_ptr<const Ready> ready_;     // the schedule
  std::shared_ptr<const Ready> firmware_;  // null after a failed run
  int64_t last_started_ = INT64_MIN;       // the owner's thread or the run thread, not both
  int64_t runs_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace resyncwatch
