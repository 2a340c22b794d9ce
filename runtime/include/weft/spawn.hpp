// What a task can do to its own runtime: spawn siblings, yield, get its waker.
#pragma once

#include <coroutine>
#include <stdexcept>

#include "weft/runtime.hpp"
#include "weft/task/context.hpp"
#include "weft/task/header.hpp"

namespace weft {

// Spawns onto the runtime whose worker runs the caller. Throws std::logic_error when called
// from a thread that is not a worker (use Runtime::spawn there).
template <class T>
JoinHandle<T> spawn(Task<T> task) {
  detail::SchedulerBase* s = detail::context().scheduler;
  if (s == nullptr) {
    throw std::logic_error("weft::spawn called outside a runtime; use Runtime::spawn");
  }
  return detail::spawn_on(*s, std::move(task));
}

// `co_await weft::yield_now()`: go to the back of this worker's queue and let others run.
inline auto yield_now() {
  struct Awaiter {
    bool await_ready() noexcept { return detail::current_task() == nullptr; }
    void await_suspend(std::coroutine_handle<>) { detail::current_task()->wake_self(); }
    void await_resume() noexcept {}
  };
  return Awaiter{};
}

// The waker of the task being polled (for writing awaiters). Call it from await_suspend.
inline Waker current_waker() {
  TaskHeader* task = detail::current_task();
  if (task == nullptr) throw std::logic_error("weft::current_waker called outside a task");
  return task->make_waker();
}

}  // namespace weft
