// WaiterQueue: the intrusive FIFO of suspended tasks behind AsyncMutex, Semaphore and Notify.
//
// Each waiter is a WaiterNode that lives in its awaiter, and the awaiter lives in the awaiting
// coroutine's frame (it is the temporary of `co_await m.lock()`), so waiting allocates nothing.
// The list is doubly linked so that a waiter can unlink itself in O(1) when its task is destroyed
// while it waits (JoinHandle::abort, runtime shutdown): the awaiter's destructor calls remove().
//
// Locking. One detail::SpinLock guards the list, every node's `queued_`, `want_` and `waker_`, and
// whatever state the primitive keeps beside it (a semaphore's permit count). Critical sections
// are a few pointer writes. Wakers are never woken under the lock: the notifier moves them into a
// WakeBatch under the lock and wakes them after unlocking, because waking may take a scheduler's
// locks (an injector, a parker) and may run arbitrary wake_by_ref code.
//
// Hand-off. "Notified" means the primitive handed this waiter what it waited for (the lock, its
// permits, the event) and woke it: the node has left the list and `notified_` is set. From then
// on the waiter owns the resource even before it resumes. A waiter whose task is destroyed after
// it was notified but before it resumed must pass the resource on (unlock, release its permits),
// or the next waiter would never be woken; each primitive's awaiter does that in its destructor,
// reading notified() under the lock to decide between "still queued: unlink" and "notified: pass
// it on".
//
// Lifetime safety. Once the lock is released after a node was notified, the node's frame may be
// destroyed at any moment (an abort on another thread), so the notifier touches nothing in the
// node after unlocking: the waker was moved out under the lock.
//
// Thread use: every member but notified() requires the caller to hold lock(). notified() may be
// called with or without it (the woken task reads it when it resumes).
//
// Synchronization map:
//   [WQ1] release store of notified_ in pop_front_notify(), under the lock -- pairs with [WQ2]:
//         the notifier's writes (the granted state) are visible to the woken waiter even if the
//         runtime's wake path gave no ordering of its own.
//   [WQ2] acquire load of notified_ in notified() -- pairs with [WQ1].
//   The spin lock's own operations are [SL1]-[SL3] in weft/scheduler/spin_lock.hpp.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <utility>

#include "weft/scheduler/spin_lock.hpp"
#include "weft/task/waker.hpp"

namespace weft::detail {

class WaiterQueue;

// One waiter. Embedded in an awaiter; must not move while queued (awaiters are not movable).
class WaiterNode {
 public:
  WaiterNode() = default;
  WaiterNode(const WaiterNode&) = delete;
  WaiterNode& operator=(const WaiterNode&) = delete;

  // True once the primitive handed this waiter its resource ([WQ2]).
  bool notified() const noexcept {
    // [WQ2] acquire: pairs with [WQ1]; see the notifier's writes.
    return notified_.load(std::memory_order_acquire);
  }
  // Guarded by the queue's lock.
  bool queued() const noexcept { return queued_; }
  std::size_t want() const noexcept { return want_; }
  void set_want(std::size_t n) noexcept { want_ = n; }

 private:
  friend class WaiterQueue;
  // All plain fields: written and read under the queue's lock only.
  WaiterNode* prev_ = nullptr;
  WaiterNode* next_ = nullptr;
  Waker waker_;           // the suspended task's waker; moved out when notified
  std::size_t want_ = 1;  // what it waits for (a semaphore's permits)
  bool queued_ = false;   // linked into the list
  // Written by the notifier under the lock ([WQ1]); read by the waiter with or without it.
  std::atomic<bool> notified_{false};
};

// Wakers collected under the lock and woken after it. Fixed capacity (no allocation): a notifier
// with more to wake works in rounds (collect up to kCapacity, unlock, wake, lock again).
class WakeBatch {
 public:
  static constexpr std::size_t kCapacity = 32;

  WakeBatch() = default;
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;
  ~WakeBatch() { wake_all(); }

  bool full() const noexcept { return size_ == kCapacity; }
  bool empty() const noexcept { return size_ == 0; }
  void push(Waker w) noexcept {
    assert(!full());
    wakers_[size_++] = std::move(w);
  }
  // Call without holding the queue's lock.
  void wake_all() noexcept {
    for (std::size_t i = 0; i < size_; ++i) wakers_[i].wake();
    size_ = 0;
  }

 private:
  std::array<Waker, kCapacity> wakers_;
  std::size_t size_ = 0;
};

class WaiterQueue {
 public:
  WaiterQueue() = default;
  WaiterQueue(const WaiterQueue&) = delete;
  WaiterQueue& operator=(const WaiterQueue&) = delete;
  ~WaiterQueue() { assert(head_ == nullptr && "a sync primitive destroyed with tasks waiting"); }

  SpinLock& lock() noexcept { return lock_; }

  // --- everything below: the caller holds lock() ---

  bool empty() const noexcept { return head_ == nullptr; }
  WaiterNode* front() const noexcept { return head_; }
  std::size_t size() const noexcept { return size_; }

  // Appends `node` with the waker that will resume it.
  void enqueue(WaiterNode& node, Waker waker) noexcept {
    assert(!node.queued_);
    node.waker_ = std::move(waker);
    node.prev_ = tail_;
    node.next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = &node;
    } else {
      head_ = &node;
    }
    tail_ = &node;
    node.queued_ = true;
    ++size_;
  }

  // Unlinks a queued node (its task is going away) and drops its waker.
  void remove(WaiterNode& node) noexcept {
    assert(node.queued_);
    if (node.prev_ != nullptr) {
      node.prev_->next_ = node.next_;
    } else {
      head_ = node.next_;
    }
    if (node.next_ != nullptr) {
      node.next_->prev_ = node.prev_;
    } else {
      tail_ = node.prev_;
    }
    node.prev_ = node.next_ = nullptr;
    node.queued_ = false;
    --size_;
    node.waker_.reset();
  }

  // Pops the oldest waiter, marks it notified and returns its waker, to be woken after the lock
  // is released. The queue must not be empty. The node may be freed as soon as the lock is.
  [[nodiscard]] Waker pop_front_notify() noexcept {
    WaiterNode* node = head_;
    assert(node != nullptr);
    remove_front_links(*node);
    // [WQ1] release: pairs with [WQ2]; the grant written before this call is visible to the
    // waiter that sees notified() == true.
    node->notified_.store(true, std::memory_order_release);
    return std::move(node->waker_);
  }

 private:
  void remove_front_links(WaiterNode& node) noexcept {
    head_ = node.next_;
    if (head_ != nullptr) {
      head_->prev_ = nullptr;
    } else {
      tail_ = nullptr;
    }
    node.next_ = nullptr;
    node.queued_ = false;
    --size_;
  }

  SpinLock lock_;
  WaiterNode* head_ = nullptr;  // guarded by lock_
  WaiterNode* tail_ = nullptr;  // guarded by lock_
  std::size_t size_ = 0;        // guarded by lock_
};

}  // namespace weft::detail
