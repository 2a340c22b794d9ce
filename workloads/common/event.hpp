// Small one-shot awaitables the workloads use to wait for their tasks without a timing loop.
//
//   OneShotEvent  set() once from any thread; `co_await event.wait()` in one task.
//   Countdown     count_down() from N tasks; the last one sets the event.
//   Oneshot<T>    one value sent from one task to one other.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

#include "weft/spawn.hpp"
#include "weft/task/waker.hpp"

namespace weft::workloads {

class OneShotEvent {
 public:
  void set() {
    Waker waiter;
    {
      std::lock_guard lock(mu_);
      set_ = true;
      waiter = std::move(waiter_);
    }
    waiter.wake();
  }

  bool is_set() {
    std::lock_guard lock(mu_);
    return set_;
  }

  auto wait() {
    struct Awaiter {
      OneShotEvent* e;
      bool await_ready() { return e->is_set(); }
      bool await_suspend(std::coroutine_handle<>) {
        std::lock_guard lock(e->mu_);
        if (e->set_) return false;
        e->waiter_ = current_waker();
        return true;
      }
      void await_resume() {}
    };
    return Awaiter{this};
  }

 private:
  std::mutex mu_;
  bool set_ = false;  // guarded by mu_
  Waker waiter_;      // guarded by mu_
};

class Countdown {
 public:
  explicit Countdown(std::int64_t n) : remaining_(n) {
    if (n == 0) done_.set();
  }
  void count_down() {
    // [CD1] acq_rel: the last decrement acquires every other task's writes before setting.
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.set();
  }
  auto wait() { return done_.wait(); }

 private:
  std::atomic<std::int64_t> remaining_;
  OneShotEvent done_;
};

template <class T>
class Oneshot {
 public:
  void send(T value) {
    value_.emplace(std::move(value));  // written before set(): the event's mutex publishes it
    ready_.set();
  }
  Task<T> recv() {
    co_await ready_.wait();
    co_return std::move(*value_);
  }

 private:
  std::optional<T> value_;
  OneShotEvent ready_;
};

// A task that completes once `event` (a OneShotEvent or a Countdown) does: what block_on waits
// for while the work runs elsewhere.
template <class Event>
Task<void> wait_for(Event* event) {
  co_await event->wait();
}

}  // namespace weft::workloads
