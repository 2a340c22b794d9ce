// Time inside a task: sleep_for, sleep_until, timeout.
//
//   co_await weft::sleep_for(10ms);
//   weft::StatusOr<int> r = co_await weft::timeout(50ms, compute());   // DeadlineExceeded if late
//
// A Sleep is a timer entry that lives in the awaiting frame: sleeping allocates nothing. It fires
// at its deadline, never before (the wheel is exact to the nanosecond; lateness is the driver's
// wake-up latency). Destroying a Sleep that has not fired cancels its timer, so dropping a
// pending sleep (the task was aborted, or a timeout won) leaves nothing behind.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "weft/status.hpp"
#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/time/timer_entry.hpp"

namespace weft {

namespace detail {
class Driver;
// The runtime's timers, out of line so that the wheel stays private (runtime/src/time/).
// The running runtime's driver (std::logic_error outside a task), with `t` on its timers' clock
// in `*ns`: one call for what a Sleep needs to start.
Driver& bind_timer(std::chrono::steady_clock::time_point t, std::uint64_t* ns);
std::uint64_t timer_now_ns(Driver& driver);
void insert_timer(Driver& driver, time::TimerEntry& entry, std::size_t shard);
void cancel_timer(Driver& driver, time::TimerEntry& entry, std::size_t shard);
}  // namespace detail

class Sleep {
 public:
  // Binds to the runtime running this thread (std::logic_error elsewhere).
  explicit Sleep(std::chrono::steady_clock::time_point deadline) {
    // In the body: entry_ (declared after driver_) must exist before its deadline is written.
    driver_ = &detail::bind_timer(deadline, &entry_.deadline_ns);
    shard_ = static_cast<std::uint32_t>(detail::context().shard_hint);
  }
  Sleep(const Sleep&) = delete;
  Sleep& operator=(const Sleep&) = delete;
  ~Sleep() { disarm(); }

  bool is_elapsed() const { return detail::timer_now_ns(*driver_) >= entry_.deadline_ns; }

  // Files the timer to wake `waker` at the deadline (replacing an earlier arming). For awaiters
  // that wait for a sleep and something else at once; `co_await sleep` does this itself.
  void arm(Waker waker) {
    disarm();
    entry_.waker = std::move(waker);
    armed_ = true;
    detail::insert_timer(*driver_, entry_, shard_);
  }
  // Cancels the timer if it has not fired, and hands its waker back (empty if it fired).
  Waker disarm() {
    if (!armed_) return {};
    armed_ = false;
    detail::cancel_timer(*driver_, entry_, shard_);
    return std::move(entry_.waker);  // unlinked (or fired and emptied) under the shard lock
  }

  bool await_ready() const { return is_elapsed(); }
  void await_suspend(std::coroutine_handle<>) { arm(current_waker()); }
  void await_resume() noexcept { armed_ = false; }  // fired: the wheel let go of the entry

 private:
  detail::Driver* driver_ = nullptr;
  time::TimerEntry entry_;
  std::uint32_t shard_ = 0;
  bool armed_ = false;
};

inline Sleep sleep_until(std::chrono::steady_clock::time_point deadline) { return Sleep(deadline); }

template <class Rep, class Period>
Sleep sleep_for(std::chrono::duration<Rep, Period> d) {
  const auto now = std::chrono::steady_clock::now();
  const auto left = std::chrono::steady_clock::time_point::max() - now;
  if (d <= d.zero()) return Sleep(now);
  if (d >= left) return Sleep(std::chrono::steady_clock::time_point::max());
  return Sleep(now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
}

// What timeout() gives back: the task's value, or DeadlineExceeded.
template <class T>
using TimeoutResult = std::conditional_t<std::is_void_v<T>, weft::Status, weft::StatusOr<T>>;

namespace detail {
// Waits until a spawned task completes or a sleep fires, whichever comes first.
template <class T>
struct JoinOrSleep {
  JoinHandle<T>& handle;
  Sleep& sleep;
  bool await_ready() const { return handle.is_finished() || sleep.is_elapsed(); }
  bool await_suspend(std::coroutine_handle<>) {
    Waker waker = current_waker();
    sleep.arm(waker);
    if (handle.register_waker(std::move(waker))) return true;
    // It completed meanwhile. Going on in this poll would be wrong: the armed sleep's waker is
    // of this poll's epoch, and if the timer fires before the sleep is disarmed, its wake would
    // re-poll the task at its *next* await of this same poll, resuming that await early (a
    // later Sleep would return before its deadline with its entry still in the wheel). Suspend
    // and requeue instead: the next poll has a new epoch, and a late timer wake is ignored.
    detail::current_task()->wake_self();
    return true;
  }
  void await_resume() noexcept {}
};
}  // namespace detail

// Runs `task` (as a task of its own) for at most `limit`. When the limit passes first the task
// is aborted, and timeout() waits until it is gone (it may borrow from the caller's frame) before
// returning DeadlineExceeded. If the task completes before the abort takes effect, its value is
// returned. An exception the task throws propagates.
template <class T, class Rep, class Period>
Task<TimeoutResult<T>> timeout(std::chrono::duration<Rep, Period> limit, Task<T> task) {
  JoinHandle<T> handle = weft::spawn(std::move(task));
  {
    Sleep sleep = sleep_for(limit);
    co_await detail::JoinOrSleep<T>{handle, sleep};
  }
  if (!handle.is_finished()) handle.abort();
  try {
    if constexpr (std::is_void_v<T>) {
      co_await handle;
      co_return weft::OkStatus();
    } else {
      co_return co_await handle;
    }
  } catch (const JoinError&) {
    co_return weft::DeadlineExceededError(
        "weft::timeout: the task did not complete within " +
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(limit).count()) +
        " us");
  }
}

}  // namespace weft
