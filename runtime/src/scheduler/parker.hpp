// Parker: puts one worker thread to sleep until another thread unparks it (the scheme of Rust's
// std::thread::park, with Tokio's driver twist). An unpark that comes first is remembered, so
// park() returns at once and no wake-up is lost.
//
// A parking worker that can take the runtime's Driver sleeps inside it (blocked in the reactor
// until an unpark, an I/O completion or the next timer), otherwise on its condvar. unpark() looks
// at how the worker sleeps: a condvar is notified, a driver is interrupted through its eventfd.
// A driver sleep may also end without an unpark (I/O or a timer woke tasks onto this worker):
// park() then says so (woke_by_unpark false) and the caller looks at its queues.
//
// Synchronization map:
//   [P1] acq_rel CAS/exchange in park(): consume NOTIFIED or announce the sleep -- pairs with [P2].
//   [P2] acq_rel exchange in unpark(): set NOTIFIED; release what the unparker wrote before.
//   The mutex orders the PARKED_CONDVAR -> sleeping window against unpark's notify.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "scheduler/driver.hpp"

namespace weft::detail {

class Parker {
 public:
  // I/O completions one parked driver turn may wake onto the (empty) queues of its worker.
  static constexpr std::size_t kDriverRoom = 128;

  explicit Parker(Driver* driver) : driver_(driver) {}

  struct Woke {
    bool by_unpark;  // false: a driver sleep ended by I/O or a timer
    bool drove;      // this park turned the driver
  };

  Woke park() {
    int expected = kNotified;
    // [P1] acq_rel: consume a pending unpark.
    if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acq_rel)) {
      return {true, false};
    }
    if (driver_ != nullptr && driver_->try_acquire()) {
      const Woke woke = park_driver();
      driver_->release();
      return woke;
    }
    park_condvar();
    return {true, false};
  }

  void unpark() {
    // [P2] acq_rel: publish the caller's writes to the parked thread.
    switch (state_.exchange(kNotified, std::memory_order_acq_rel)) {
      case kParkedCondvar:
        // The sleeper holds the mutex between PARKED and wait(): take it so the notify is not lost.
        { std::lock_guard lock(mu_); }
        cv_.notify_one();
        break;
      case kParkedDriver:
        driver_->unpark();
        break;
      default:
        break;
    }
  }

 private:
  static constexpr int kEmpty = 0;
  static constexpr int kParkedCondvar = 1;
  static constexpr int kParkedDriver = 2;
  static constexpr int kNotified = 3;

  Woke park_driver() {
    int expected = kEmpty;
    // [P1] acq_rel: announce a driver sleep, unless an unpark slipped in.
    if (!state_.compare_exchange_strong(expected, kParkedDriver, std::memory_order_acq_rel)) {
      state_.exchange(kEmpty, std::memory_order_acq_rel);  // [P1] consume the NOTIFIED
      return {true, false};
    }
    driver_->turn(/*block=*/true, kDriverRoom);
    // [P1] acq_rel: NOTIFIED if an unpark came, PARKED_DRIVER if I/O or a timer ended the wait.
    return {state_.exchange(kEmpty, std::memory_order_acq_rel) == kNotified, true};
  }

  void park_condvar() {
    std::unique_lock lock(mu_);
    int expected = kEmpty;
    // [P1] acq_rel: announce that we sleep, unless an unpark slipped in.
    if (!state_.compare_exchange_strong(expected, kParkedCondvar, std::memory_order_acq_rel)) {
      state_.exchange(kEmpty, std::memory_order_acq_rel);  // [P1] it was NOTIFIED: consume it
      return;
    }
    for (;;) {
      cv_.wait(lock);
      expected = kNotified;
      // [P1] acq_rel: a real unpark, not a spurious wake-up.
      if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acq_rel)) return;
    }
  }

  Driver* const driver_;
  std::atomic<int> state_{kEmpty};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace weft::detail
