// Parker: puts one worker thread to sleep until another thread unparks it (the scheme of Rust's
// std::thread::park). An unpark that comes first is remembered, so park() returns at once and no
// wake-up is lost.
//
// Synchronization map:
//   [P1] acq_rel CAS/exchange in park(): consume NOTIFIED -- pairs with [P2].
//   [P2] acq_rel exchange in unpark(): set NOTIFIED; release what the unparker wrote before.
//   The mutex orders the PARKED -> sleeping window against unpark's notify.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace weft::detail {

class Parker {
 public:
  void park() {
    int expected = kNotified;
    // [P1] acq_rel: consume a pending unpark.
    if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acq_rel)) return;
    std::unique_lock lock(mu_);
    expected = kEmpty;
    // [P1] acq_rel: announce that we sleep, unless an unpark slipped in.
    if (!state_.compare_exchange_strong(expected, kParked, std::memory_order_acq_rel)) {
      // [P1] acq_rel: it was NOTIFIED; consume it.
      state_.exchange(kEmpty, std::memory_order_acq_rel);
      return;
    }
    for (;;) {
      cv_.wait(lock);
      expected = kNotified;
      // [P1] acq_rel: a real unpark, not a spurious wake-up.
      if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acq_rel)) return;
    }
  }

  void unpark() {
    // [P2] acq_rel: publish the caller's writes to the parked thread.
    if (state_.exchange(kNotified, std::memory_order_acq_rel) != kParked) return;
    // The sleeper holds the mutex between PARKED and wait(): take it so the notify is not lost.
    { std::lock_guard lock(mu_); }
    cv_.notify_one();
  }

 private:
  static constexpr int kEmpty = 0;
  static constexpr int kParked = 1;
  static constexpr int kNotified = 2;
  std::atomic<int> state_{kEmpty};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace weft::detail
