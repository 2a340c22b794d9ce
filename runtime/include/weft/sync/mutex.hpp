// AsyncMutex: a fair (FIFO, hand-off) mutex for tasks.
//
//   weft::AsyncMutex m;
//   {
//     weft::AsyncMutexGuard g = co_await m.lock();   // suspends the task, never the thread
//     ++shared;
//   }                                                // unlocked here
//
// Design. One state word holds two bits; the waiters sit in a WaiterQueue (intrusive, in the
// awaiting frames, guarded by a spin lock):
//
//   bit 0  kLocked      someone owns the mutex (a running holder, or a waiter it was handed to)
//   bit 1  kHasWaiters  the waiter queue is not empty
//
// Invariants: kHasWaiters implies kLocked (a task queues only while the mutex is held, and
// unlock hands the lock to a waiter instead of clearing kLocked). kHasWaiters is set and cleared
// only under the queue's lock, and equals "queue not empty" whenever that lock is free. So the
// state is 0, kLocked or kLocked|kHasWaiters, and while kHasWaiters is set nothing outside the
// queue's lock can change the word (try_lock's CAS expects 0, the fast unlock's CAS expects
// kLocked): the slow paths may write it with a plain store under the lock.
//
// Uncontended lock and unlock are one atomic operation each: CAS 0 -> kLocked ([M1]), CAS
// kLocked -> 0 ([M2]). A failing [M2] means waiters: unlock takes the queue's lock, pops the
// oldest waiter and hands it the lock (kLocked stays set: no window for a newcomer to barge in),
// clearing kHasWaiters if it was the last one, and wakes it after releasing the spin lock.
// Newcomers cannot overtake: while kHasWaiters is set the word is never 0, so try_lock fails and
// lock() queues behind the others.
//
// Cancellation. The awaiter's destructor runs when a waiting task's frame is destroyed (abort,
// shutdown). Still queued: it unlinks itself (clearing kHasWaiters if last). Already handed the
// lock but not resumed: it owns the mutex, so it unlocks it, which hands the lock on to the next
// waiter (no lost wake-up).
//
// Thread use: lock()/try_lock() from tasks (try_lock from anywhere); unlock() by the owner, from
// any thread. The mutex must outlive its guards and its waiters.
//
// Synchronization map:
//   [M1] acquire CAS 0 -> kLocked (try_lock, await_ready, the slow path's retry) -- pairs with
//        [M2] and [M4] of the previous owner: its critical section happens before ours.
//   [M2] release CAS kLocked -> 0 (the fast unlock) -- publishes the critical section to the
//        next [M1]. Fails when kHasWaiters is set; the slow path takes over.
//   [M3] relaxed load in the slow lock path, under the queue's lock -- a first guess for the
//        CAS loop; [M1] or [M5] validates it.
//   [M4] release store of 0 in the slow unlock, under the queue's lock (defensive: kHasWaiters
//        set with an empty queue cannot happen) -- pairs with the next [M1].
//   [M5] relaxed CAS kLocked -> kLocked|kHasWaiters in the slow lock path, under the queue's
//        lock -- makes the owner's [M2] fail so that its unlock finds this waiter. No ordering
//        needed: the hand-off is ordered by the spin lock and [WQ1]/[WQ2] (waiter_queue.hpp).
//   [M6] relaxed store kLocked|kHasWaiters -> kLocked under the queue's lock (the last waiter
//        left: popped by unlock, or removed by its destructor) -- the word cannot change
//        concurrently while kHasWaiters is set; the lock itself stays owned, so nothing is
//        published.
//   [M7] relaxed load in is_locked() -- a snapshot for tests and diagnostics.
#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <utility>

#include "weft/spawn.hpp"
#include "weft/sync/waiter_queue.hpp"

namespace weft {

class AsyncMutex;

// Owns a locked AsyncMutex and unlocks it when destroyed. Move-only.
class [[nodiscard]] AsyncMutexGuard {
 public:
  AsyncMutexGuard() = default;
  // Adopts a mutex the caller has locked (try_lock() returned true).
  AsyncMutexGuard(AsyncMutex& m, std::adopt_lock_t) noexcept : mutex_(&m) {}
  AsyncMutexGuard(AsyncMutexGuard&& other) noexcept
      : mutex_(std::exchange(other.mutex_, nullptr)) {}
  AsyncMutexGuard& operator=(AsyncMutexGuard&& other) noexcept {
    if (this != &other) {
      unlock();
      mutex_ = std::exchange(other.mutex_, nullptr);
    }
    return *this;
  }
  AsyncMutexGuard(const AsyncMutexGuard&) = delete;
  AsyncMutexGuard& operator=(const AsyncMutexGuard&) = delete;
  ~AsyncMutexGuard() { unlock(); }

  bool owns_lock() const noexcept { return mutex_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  AsyncMutex* mutex() const noexcept { return mutex_; }
  // Unlocks early (a no-op if it owns nothing).
  inline void unlock() noexcept;
  // Lets go of the mutex without unlocking it (the caller unlocks it later); returns it.
  AsyncMutex* release() noexcept { return std::exchange(mutex_, nullptr); }

 private:
  AsyncMutex* mutex_ = nullptr;
};

class AsyncMutex {
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kHasWaiters = 2;

 public:
  class [[nodiscard]] LockAwaiter;

  AsyncMutex() = default;
  AsyncMutex(const AsyncMutex&) = delete;
  AsyncMutex& operator=(const AsyncMutex&) = delete;

  // `co_await m.lock()` gives an AsyncMutexGuard once the mutex is this task's.
  inline LockAwaiter lock() noexcept;

  // Locks if the mutex is free and nobody waits for it (no barging past waiters). The caller
  // then owns it: unlock() it, or adopt it into an AsyncMutexGuard(m, std::adopt_lock).
  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    // [M1] acquire: pairs with the previous owner's [M2]/[M4]; see its critical section.
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  // Unlocks; if tasks wait, hands the lock to the oldest and wakes it. Any thread.
  void unlock() noexcept {
    std::uint32_t expected = kLocked;
    // [M2] release: publish the critical section to the next [M1]. Fails iff kHasWaiters.
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      return;
    }
    unlock_slow();
  }

  // A snapshot (tests, diagnostics): held by someone, a waiter it was handed to included.
  bool is_locked() const noexcept {
    // [M7] relaxed: a snapshot, orders nothing.
    return (state_.load(std::memory_order_relaxed) & kLocked) != 0;
  }

  // A snapshot of how many tasks wait (tests, diagnostics).
  std::size_t waiter_count() noexcept {
    std::lock_guard<detail::SpinLock> guard(queue_.lock());
    return queue_.size();
  }

 private:
  void unlock_slow() noexcept {
    Waker next;
    {
      std::lock_guard<detail::SpinLock> guard(queue_.lock());
      if (queue_.empty()) {
        // [M4] release: cannot happen (kHasWaiters with an empty queue); publish and free it.
        state_.store(0, std::memory_order_release);
        return;
      }
      // The lock passes to the oldest waiter: kLocked stays set. Ordering of our critical
      // section before its resumption: [WQ1] in pop_front_notify, [WQ2] when it resumes.
      next = queue_.pop_front_notify();
      // [M6] relaxed: last waiter gone; the word is stable while kHasWaiters is set.
      if (queue_.empty()) state_.store(kLocked, std::memory_order_relaxed);
    }
    next.wake();
  }

  // Called with the queue's lock held by a waiter that leaves the queue without the lock.
  void remove_waiter_locked(detail::WaiterNode& node) noexcept {
    queue_.remove(node);
    // [M6] relaxed: last waiter gone; the word is stable while kHasWaiters is set.
    if (queue_.empty()) state_.store(kLocked, std::memory_order_relaxed);
  }

  // Written by CAS/stores as mapped above; read by every locker and unlocker.
  std::atomic<std::uint32_t> state_{0};
  detail::WaiterQueue queue_;
};

// The awaiter of `co_await m.lock()`. It lives in the awaiting frame and holds the waiter node,
// so it cannot be copied or moved (lock() returns it as a prvalue: no move needed).
class [[nodiscard]] AsyncMutex::LockAwaiter {
 public:
  explicit LockAwaiter(AsyncMutex& m) noexcept : mutex_(&m) {}
  LockAwaiter(const LockAwaiter&) = delete;
  LockAwaiter& operator=(const LockAwaiter&) = delete;

  ~LockAwaiter() {
    if (!enqueued_ || resumed_) return;
    // The task is being destroyed while it waits (or after the lock was handed to it).
    bool handed_lock;
    {
      std::lock_guard<detail::SpinLock> guard(mutex_->queue_.lock());
      handed_lock = !node_.queued();
      if (!handed_lock) mutex_->remove_waiter_locked(node_);
    }
    // It owns the mutex without ever having run: pass it on to the next waiter.
    if (handed_lock) mutex_->unlock();
  }

  bool await_ready() noexcept { return mutex_->try_lock(); }

  bool await_suspend(std::coroutine_handle<>) {
    Waker waker = current_waker();  // outside the spin lock: it may throw
    AsyncMutex& m = *mutex_;
    std::lock_guard<detail::SpinLock> guard(m.queue_.lock());
    // [M3] relaxed: a guess, validated by the CAS below.
    std::uint32_t s = m.state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s == 0) {
        // Freed meanwhile with nobody waiting (we hold the queue lock: nobody can queue).
        // [M1] acquire: pairs with the previous owner's [M2]/[M4].
        if (m.state_.compare_exchange_weak(s, kLocked, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
          return false;  // resume at once, owning it
        }
        continue;
      }
      // [M5] relaxed: make the owner's [M2] fail, so its unlock comes to the queue.
      if (m.state_.compare_exchange_weak(s, s | kHasWaiters, std::memory_order_relaxed,
                                         std::memory_order_relaxed)) {
        break;
      }
    }
    m.queue_.enqueue(node_, std::move(waker));
    enqueued_ = true;
    return true;
  }

  // For poll-style drivers (the C ABI): after await_suspend returned true, true once unlock
  // handed the mutex to this waiter (await_resume may then be called).
  bool is_notified() const noexcept { return node_.notified(); }

  AsyncMutexGuard await_resume() noexcept {
    // Resumed either without suspending (owned via [M1]) or because unlock handed it over.
    assert(!enqueued_ || node_.notified());
    resumed_ = true;
    return AsyncMutexGuard(*mutex_, std::adopt_lock);
  }

 private:
  AsyncMutex* mutex_;
  detail::WaiterNode node_;
  bool enqueued_ = false;  // await_suspend queued the node (only this task touches these two)
  bool resumed_ = false;   // await_resume gave the lock to a guard
};

inline AsyncMutex::LockAwaiter AsyncMutex::lock() noexcept { return LockAwaiter(*this); }

inline void AsyncMutexGuard::unlock() noexcept {
  if (mutex_ != nullptr) std::exchange(mutex_, nullptr)->unlock();
}

}  // namespace weft
