// Semaphore: a fair (FIFO) counting semaphore for tasks.
//
//   weft::Semaphore sem(4);
//   co_await sem.acquire(2);   // suspends until 2 permits are this task's
//   ...
//   sem.release(2);            // from any thread
//
// Design. The permit count and the waiter queue sit under the WaiterQueue's spin lock; there is
// no atomic of its own (every operation already needs the lock to respect FIFO order, so a
// lock-free fast path would buy little; see the mutex for one that does). Waiters are served
// strictly in arrival order: a waiter at the head that wants more permits than are available
// blocks every later waiter, even one that would fit (no starvation of large requests). While
// anyone waits, try_acquire fails and acquire queues.
//
// release(n) adds n permits, then grants them to waiters from the head as long as the head fits,
// moving their wakers into a fixed-size WakeBatch and waking them after the spin lock is let go
// (in rounds of WakeBatch::kCapacity, so nothing is allocated).
//
// Cancellation. A waiter whose task is destroyed while queued unlinks itself; if it was the head,
// the next waiters may now fit, so it runs the grant loop. One that had been granted its permits
// but not resumed gives them back (release), which passes them on: no lost wake-up.
//
// Thread use: acquire from tasks; try_acquire, release and available_permits from anywhere.
//
// Synchronization map: this file has no atomic operations of its own. The spin lock ([SL1]-[SL3],
// weft/scheduler/spin_lock.hpp) orders every access to permits_ and the queue; a granted waiter
// sees the grant through [WQ1]/[WQ2] (weft/sync/waiter_queue.hpp).
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <utility>

#include "weft/spawn.hpp"
#include "weft/sync/waiter_queue.hpp"

namespace weft {

class Semaphore {
 public:
  class [[nodiscard]] AcquireAwaiter;

  explicit Semaphore(std::size_t permits) noexcept : permits_(permits) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // `co_await sem.acquire(n)`: resumes once n permits are this task's.
  inline AcquireAwaiter acquire(std::size_t n = 1) noexcept;

  // Takes n permits if they are available and nobody waits ahead.
  bool try_acquire(std::size_t n = 1) noexcept {
    std::lock_guard<detail::SpinLock> guard(queue_.lock());
    return take_locked(n);
  }

  // Adds n permits and wakes the waiters they satisfy, oldest first. Any thread.
  void release(std::size_t n = 1) noexcept {
    std::unique_lock<detail::SpinLock> lock(queue_.lock());
    permits_ += n;
    grant_and_unlock(lock);
  }

  // A snapshot: permits not held by anyone (granted permits of unresumed waiters excluded).
  std::size_t available_permits() noexcept {
    std::lock_guard<detail::SpinLock> guard(queue_.lock());
    return permits_;
  }

  // A snapshot of how many tasks wait (tests, diagnostics).
  std::size_t waiter_count() noexcept {
    std::lock_guard<detail::SpinLock> guard(queue_.lock());
    return queue_.size();
  }

 private:
  bool take_locked(std::size_t n) noexcept {
    if (!queue_.empty() || permits_ < n) return false;
    permits_ -= n;
    return true;
  }

  // Grants permits to the waiters at the head while they fit, and wakes them. Entered with
  // `lock` held; returns with it released.
  void grant_and_unlock(std::unique_lock<detail::SpinLock>& lock) noexcept {
    detail::WakeBatch batch;
    for (;;) {
      while (!batch.full() && !queue_.empty() && queue_.front()->want() <= permits_) {
        permits_ -= queue_.front()->want();
        batch.push(queue_.pop_front_notify());
      }
      const bool more = batch.full();
      lock.unlock();
      batch.wake_all();
      if (!more) return;
      lock.lock();
    }
  }

  detail::WaiterQueue queue_;
  std::size_t permits_;  // guarded by queue_.lock()
};

// The awaiter of `co_await sem.acquire(n)`; lives in the awaiting frame, cannot move.
class [[nodiscard]] Semaphore::AcquireAwaiter {
 public:
  AcquireAwaiter(Semaphore& sem, std::size_t n) noexcept : sem_(&sem) { node_.set_want(n); }
  AcquireAwaiter(const AcquireAwaiter&) = delete;
  AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;

  ~AcquireAwaiter() {
    if (!enqueued_ || resumed_) return;
    std::unique_lock<detail::SpinLock> lock(sem_->queue_.lock());
    if (node_.queued()) {
      const bool was_head = sem_->queue_.front() == &node_;
      sem_->queue_.remove(node_);
      // The head blocked the waiters behind it; they may fit now.
      if (was_head) sem_->grant_and_unlock(lock);
      return;
    }
    // Granted but never resumed: give the permits back, to the next waiters.
    sem_->permits_ += node_.want();
    sem_->grant_and_unlock(lock);
  }

  bool await_ready() noexcept { return sem_->try_acquire(node_.want()); }

  bool await_suspend(std::coroutine_handle<>) {
    Waker waker = current_waker();  // outside the spin lock: it may throw
    std::lock_guard<detail::SpinLock> guard(sem_->queue_.lock());
    if (sem_->take_locked(node_.want())) return false;
    sem_->queue_.enqueue(node_, std::move(waker));
    enqueued_ = true;
    return true;
  }

  void await_resume() noexcept {
    assert(!enqueued_ || node_.notified());
    resumed_ = true;
  }

 private:
  Semaphore* sem_;
  detail::WaiterNode node_;
  bool enqueued_ = false;  // only this task touches these two
  bool resumed_ = false;
};

inline Semaphore::AcquireAwaiter Semaphore::acquire(std::size_t n) noexcept {
  return AcquireAwaiter(*this, n);
}

}  // namespace weft
