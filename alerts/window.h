// WindowCounter: a count over a sliding time window, kept as a ring of time buckets with a
// running sum, so adding and reading cost O(1) amortised (advancing clears at most the ring).
// Internal to alerts/. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace resyncwatch {

class WindowCounter {
 public:
  static constexpr int kBuckets = 30;

  explicit WindowCounter(int64_t window_us)
      : bucket_us_(window_us / kBuckets > 0 ? (window_us + kBuckets - 1) / kBuckets : 1) {}

  // Counts n at time t_us. Times older than the window are ignored; a time ahead of the
  // newest bucket moves the window forward.
  void Add(int64_t t_us, uint32_t n = 1) {
    int64_t b = BucketOf(t_us);
    Advance(b);
    if (b <= head_ - kBuckets) return;
    buckets_[Index(b)] += n;
    sum_ += n;
  }

  // The count within the window ending at now_us (never moves the window backwards).
  int64_t Sum(int64_t now_us) {
    Advance(BucketOf(now_us));
    return sum_;
  }
  // The count as of the newest time seen.
  int64_t sum() const { return sum_; }

 private:
  int64_t BucketOf(int64_t t_us) const {
    // Most times fall in the newest bucket: skip the division then.
    if (t_us >= head_start_us_ && t_us - head_start_us_ < bucket_us_) return head_;
    return t_us >= 0 ? t_us / bucket_us_ : -((-t_us + bucket_us_ - 1) / bucket_us_);
  }
  static int Index(int64_t b) { return static_cast<int>(((b % kBuckets) + kBuckets) % kBuckets); }

  void Advance(int64_t b) {
    if (b <= head_) return;
    if (head_ == INT64_MIN || b - head_ >= kBuckets) {
      for (auto& x : buckets_) x = 0;
      sum_ = 0;
    } else {
      for (int64_t i = head_ + 1; i <= b; ++i) {
        uint32_t& x = buckets_[Index(i)];
        sum_ -= x;
        x = 0;
      }
    }
    head_ = b;
    head_start_us_ = b * bucket_us_;
  }

  int64_t bucket_us_;
  int64_t head_ = INT64_MIN;
  int64_t head_start_us_ = INT64_MAX;  // first microsecond of the newest bucket
  int64_t sum_ = 0;
  std::array<uint32_t, kBuckets> buckets_{};
};

}  // namespace resyncwatch
