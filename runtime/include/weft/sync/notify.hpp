// Notify: a one-shot event for tasks.
//
//   weft::Notify ready;
//   co_await ready.notified();   // in any number of tasks
//   ready.notify();              // once, from any thread: every waiter, present and future, goes
//   on
//
// Design. A flag plus a WaiterQueue. notify() sets the flag and empties the queue under the
// queue's spin lock, in rounds of WakeBatch::kCapacity wakers, waking each round after letting
// the lock go. A waiter checks the flag under the same lock before it queues, so it either sees
// the flag or is in the queue when notify() drains it: no lost wake-up. After notify() the
// awaiter's fast path ([N2]) completes without the lock.
//
// Cancellation. A queued waiter whose task is destroyed unlinks itself. One that was already
// notified has nothing to pass on (everyone is woken).
//
// Thread use: notified() from tasks; notify() and is_notified() from anywhere.
//
// Synchronization map:
//   [N1] release store of set_ in notify(), under the queue's lock -- pairs with [N2]: writes
//        made before notify() are visible to a waiter that completes on the fast path.
//   [N2] acquire load of set_ in is_notified() (the awaiter's await_ready) -- pairs with [N1].
//   [N3] relaxed load of set_ under the queue's lock (await_suspend) -- the lock orders it
//        against [N1]; woken waiters see notify()'s writes through [WQ1]/[WQ2].
#pragma once

#include <atomic>
#include <coroutine>
#include <mutex>
#include <utility>

#include "weft/spawn.hpp"
#include "weft/sync/waiter_queue.hpp"

namespace weft {

class Notify {
 public:
  class [[nodiscard]] Awaiter;

  Notify() = default;
  Notify(const Notify&) = delete;
  Notify& operator=(const Notify&) = delete;

  // `co_await n.notified()`: resumes once notify() has been called (at once if it has).
  inline Awaiter notified() noexcept;

  // Completes every present and future wait. Idempotent; any thread.
  void notify() noexcept {
    std::unique_lock<detail::SpinLock> lock(queue_.lock());
    // [N1] release: pairs with [N2]; publish what came before notify().
    set_.store(true, std::memory_order_release);
    detail::WakeBatch batch;
    for (;;) {
      while (!batch.full() && !queue_.empty()) batch.push(queue_.pop_front_notify());
      const bool more = !queue_.empty();
      lock.unlock();
      batch.wake_all();
      if (!more) return;
      lock.lock();
    }
  }

  bool is_notified() const noexcept {
    // [N2] acquire: pairs with [N1].
    return set_.load(std::memory_order_acquire);
  }

  // A snapshot of how many tasks wait (tests, diagnostics).
  std::size_t waiter_count() noexcept {
    std::lock_guard<detail::SpinLock> guard(queue_.lock());
    return queue_.size();
  }

 private:
  detail::WaiterQueue queue_;
  // Written once by notify() under the queue's lock; read by waiters with and without it.
  std::atomic<bool> set_{false};
};

// The awaiter of `co_await n.notified()`; lives in the awaiting frame, cannot move.
class [[nodiscard]] Notify::Awaiter {
 public:
  explicit Awaiter(Notify& n) noexcept : notify_(&n) {}
  Awaiter(const Awaiter&) = delete;
  Awaiter& operator=(const Awaiter&) = delete;

  ~Awaiter() {
    if (!enqueued_) return;
    std::lock_guard<detail::SpinLock> guard(notify_->queue_.lock());
    if (node_.queued()) notify_->queue_.remove(node_);
  }

  bool await_ready() const noexcept { return notify_->is_notified(); }

  bool await_suspend(std::coroutine_handle<>) {
    Waker waker = current_waker();  // outside the spin lock: it may throw
    std::lock_guard<detail::SpinLock> guard(notify_->queue_.lock());
    // [N3] relaxed: under the lock that [N1] is stored under.
    if (notify_->set_.load(std::memory_order_relaxed)) return false;
    notify_->queue_.enqueue(node_, std::move(waker));
    enqueued_ = true;
    return true;
  }

  void await_resume() noexcept {}

 private:
  Notify* notify_;
  detail::WaiterNode node_;
  bool enqueued_ = false;  // only this task touches it
};

inline Notify::Awaiter Notify::notified() noexcept { return Awaiter(*this); }

}  // namespace weft
