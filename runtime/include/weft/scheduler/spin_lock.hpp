// A test-and-test-and-set spin lock for very short critical sections (a few pointer writes).
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
  void lock() noexcept {
    // [SL1] acquire: see everything the previous holder wrote.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      // [SL3] relaxed: spin on a shared read, not on the exchange.
      while (locked_.load(std::memory_order_relaxed)) variants::cpu_relax();
    }
  }
  // [SL2] release: publish the critical section.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace weft::detail
