// TimerEntry: one pending timer, the node the timer wheel (runtime/src/time/wheel.hpp) links.
// Public because waiters embed it (weft::Sleep); the wheel itself is private to the runtime.
#pragma once

#include <cassert>
#include <cstdint>

#include "weft/task/waker.hpp"

namespace weft::time {

class TimerWheel;

// One pending timer, owned by its waiter (usually a coroutine frame). Set deadline_ns and waker,
// then insert; the wheel links it in place, so it can neither be copied nor moved (the deleted
// copy suppresses the moves). It must be fired or cancelled before it is destroyed.
struct TimerEntry {
  std::uint64_t deadline_ns = 0;  // exact deadline, in the wheel's clock
  Waker waker;                    // moved out by the caller's fire callback, typically

  TimerEntry() = default;
  TimerEntry(const TimerEntry&) = delete;
  TimerEntry& operator=(const TimerEntry&) = delete;
  ~TimerEntry() { assert(!linked_ && "a TimerEntry died while still in a wheel"); }

  bool linked() const { return linked_; }

 private:
  friend class TimerWheel;
  TimerEntry* prev_ = nullptr;  // doubly linked: O(1) cancel
  TimerEntry* next_ = nullptr;
  std::uint16_t list_ = 0;  // which list: level * 64 + slot, kCurrentList or kExpiredList
  bool linked_ = false;
};

}  // namespace weft::time
