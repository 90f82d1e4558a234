// EventFanout and FollowMatcher (query_socket.h): the hand-over of stored events from the
// writer thread to the followers' threads, and what each follower wants to see.
#include <re2/re2.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "query_socket/query_socket.h"

namespace resyncwatch {

struct FollowMatcher::Regex {
  explicit Regex(const std::string& pattern, const RE2::Options& options) : re(pattern, options) {}
  RE2 re;
};

FollowMatcher::FollowMatcher(FollowFilter filter) : filter_(std::move(filter)) {}
FollowMatcher::~FollowMatcher() = default;

Result<std::unique_ptr<FollowMatcher>> FollowMatcher::Compile(const FollowFilter& filter) {
  std::unique_ptr<FollowMatcher> m(new FollowMatcher(filter));
  // A pattern without special characters is a substring search, as `grep` does it.
  const bool literal = filter.pattern.find_first_of("\\^$.|?*+()[]{}") == std::string::npos;
  if (!filter.pattern.empty() && (filter.ignore_case || !literal)) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(!filter.ignore_case);
    options.set_max_mem(64 << 20);
    m->regex_ = std::make_unique<Regex>(filter.pattern, options);
    if (!m->regex_->re.ok()) {
      return Status::InvalidArgument("bad regular expression '" + filter.pattern +
                                     "': " + m->regex_->re.error());
    }
  }
  return m;
}

bool FollowMatcher::Matches(const Event& e) const {
  if (filter_.mac != 0 && e.mac != filter_.mac) return false;
  if ((filter_.kind_mask >> static_cast<unsigned>(e.kind) & 1u) == 0) return false;
  if (filter_.pattern.empty()) return true;
  if (regex_) return RE2::PartialMatch(e.message, regex_->re);
  return e.message.find(filter_.pattern) != std::string::npos;
}

EventFanout::Subscription::~Subscription() { ::close(wake_fd_); }

void EventFanout::Subscription::Take(std::vector<BatchPtr>* out, bool* cut_off) {
  std::lock_guard lock(mu_);
  uint64_t ignored;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &ignored, sizeof ignored);
  out->swap(queue_);
  queue_.clear();
  pending_ = 0;
  *cut_off = cut_off_;
}

Result<std::shared_ptr<EventFanout::Subscription>> EventFanout::Subscribe(MacAddress mac,
                                                                          uint32_t max_pending) {
  const uint64_t limit =
      max_pending == 0 ? kDefaultMaxPending : std::min<uint64_t>(max_pending, kDefaultMaxPending);
  std::lock_guard lock(mu_);
  if (subs_.size() >= kMaxFollowers) {
    return Status::Busy("the collector already has " + std::to_string(kMaxFollowers) +
                        " followers");
  }
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return Status::IoError("eventfd for a follower failed");
  // The deleter leaves the fan-out first, so Publish never sees a dying subscription.
  std::shared_ptr<Subscription> sub(new Subscription(mac, limit, fd), [this](Subscription* s) {
    Unsubscribe(s);
    delete s;
  });
  subs_.push_back(sub.get());
  count_.store(subs_.size(), std::memory_order_relaxed);
  return sub;
}

void EventFanout::Unsubscribe(const Subscription* sub) {
  std::lock_guard lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), sub), subs_.end());
  count_.store(subs_.size(), std::memory_order_relaxed);
}

// A batch owning *events (taken by swap); when the last follower lets it go, its vector
// goes back to the pool for the publisher to refill.
EventFanout::BatchPtr EventFanout::MakeBatch(std::vector<Event>* events) {
  constexpr size_t kPoolSize = 16;
  auto* batch = new Batch;
  batch->events.swap(*events);
  std::shared_ptr<Pool> pool = pool_;
  return BatchPtr(batch, [pool](const Batch* b) {
    std::unique_ptr<Batch> owned(const_cast<Batch*>(b));
    std::lock_guard lock(pool->mu);
    if (pool->free.size() < kPoolSize) pool->free.push_back(std::move(owned->events));
  });
}

void EventFanout::PublishTaking(std::vector<Event>* events) {
  if (count_.load(std::memory_order_relaxed) == 0 || events->empty()) return;
  BatchPtr batch = MakeBatch(events);
  {
    std::lock_guard lock(pool_->mu);
    if (!pool_->free.empty()) {
      events->swap(pool_->free.back());
      pool_->free.pop_back();
    }
  }
  std::lock_guard lock(mu_);
  Hand(std::move(batch));
}

void EventFanout::Publish(std::span<const Event> events) {
  if (count_.load(std::memory_order_relaxed) == 0 || events.empty()) return;
  std::vector<Event> copy(events.begin(), events.end());
  std::lock_guard lock(mu_);
  Hand(MakeBatch(&copy));
}

void EventFanout::Hand(BatchPtr batch) {
  const std::vector<Event>& events = batch->events;
  for (Subscription* s : subs_) {
    uint64_t n =
        s->mac_ == 0
            ? events.size()
            : static_cast<uint64_t>(std::count_if(
                  events.begin(), events.end(), [&](const Event& e) { return e.mac == s->mac_; }));
    if (n == 0) continue;
    std::lock_guard sub_lock(s->mu_);
    if (s->cut_off_) continue;
    if (s->pending_ + n > s->max_pending_) {
      s->cut_off_ = true;
      cut_offs_.fetch_add(1, std::memory_order_relaxed);
    } else {
      s->queue_.push_back(batch);
      s->pending_ += n;
      if (s->queue_.size() > 1) continue;  // already signalled
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(s->wake_fd_, &one, sizeof one);
  }
}

}  // namespace resyncwatch
