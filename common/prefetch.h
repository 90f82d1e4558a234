// PrefetchForRead: starts loading the cache line at p, for a lookup a little later.
// An asm statement, not __builtin_prefetch: GCC counts a prefetch as no side effect,
// judges a function that only prefetches pure, and drops the calls to it.
#pragma once

namespace resyncwatch {

inline void PrefetchForRead(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace resyncwatch
