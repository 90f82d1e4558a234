// Thread priorities: lets a thread give way to the collector's receiving thread.
//
// On a small appliance the thread that empties the UDP socket competes with the store
// writer, RocksDB's flushes and the periodic analyses for the same cores; when it does not
// get a core in time during a burst, the kernel drops datagrams. Work that can wait (it has
// a queue in front of it) lowers its own thread's priority, which any unprivileged process
// may do (raising it back is not possible without CAP_SYS_NICE). Linux keeps nice values
// per thread, so only the calling thread is affected. Thread-safe; never fails loudly: a
// refusal leaves the thread at its priority.
#pragma once

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace resyncwatch {

// The store writer: the hand-off queue absorbs a burst while it waits.
inline constexpr int kWriterNice = 5;
// Analyses and precomputes that run once a minute or less (schedule, wall, rollups).
inline constexpr int kBackgroundNice = 10;

// Raises the calling thread's nice value to at least nice (0..19); returns whether the
// thread now runs at that value or lower priority.
inline bool LowerThisThreadPriority(int nice) {
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (errno != 0) return false;
  if (current >= nice) return true;
  return ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), std::clamp(nice, 0, 19)) == 0;
}

}  // namespace resyncwatch
