// Clock: the one way schedule, alert, retention and collector code read the time.
// Production uses SystemClock; tests inject a ManualClock and never sleep.
// SystemClock is thread-safe; ManualClock is safe for reads racing one writer.
#pragma once

#include <atomic>
#include <cstdint>

namespace resyncwatch {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  static const SystemClock& Instance();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_us) : now_us_(now_us) {}
  int64_t NowMicros() const override { return now_us_.load(std::memory_order_relaxed); }
  void Set(int64_t now_us) { now_us_.store(now_us, std::memory_order_relaxed); }
  void Advance(int64_t delta_us) { now_us_.fetch_add(delta_us, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace resyncwatch
