// A test-and-test-and-set spin lock for very short critical sections (a few pointer writes).
//
// Backoff. A waiter that finds the lock taken waits 1, 2, 4 ... up to kMaxBackoff pauses between
// looks (one pause is about 25 ns on the 2-core EPYC we measure on), not one. Under two-core
// contention an eager waiter pulls the lock's cache line away from the holder on every look, so
// the holder's next critical section and its unlock each miss again; backing off lets one core
// run several critical sections on a line it keeps. Measured with `weft-micro
// --benchmark_filter=channel_throughput` (4 producers x 4 consumers on 2 workers, capacity 1024):
// 9.4-11.5M values/s without backoff, 13.8-15.4M with kMaxBackoff = 64 (16 and 256 were no
// better). An uncontended lock() is still one exchange.
//
// Synchronization map:
//   [SL1] acquire exchange in lock()  -- pairs with [SL2] of the previous holder.
//   [SL2] release store in unlock()   -- publishes the critical section to the next [SL1].
//   [SL3] relaxed load while spinning -- only a hint to retry [SL1].
#pragma once

#include <atomic>

#include "weft/variants/steal.hpp"

namespace weft::detail {

class SpinLock {
 public:
  static constexpr unsigned kMaxBackoff = 64;  // pauses between looks, at most

  void lock() noexcept {
    unsigned backoff = 1;
    // [SL1] acquire: see everything the previous holder wrote.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      do {
        for (unsigned i = 0; i < backoff; ++i) variants::cpu_relax();
        if (backoff < kMaxBackoff) backoff *= 2;
        // [SL3] relaxed: spin on a shared read, not on the exchange.
      } while (locked_.load(std::memory_order_relaxed));
    }
  }
  // [SL2] release: publish the critical section.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace weft::detail
