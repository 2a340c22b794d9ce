// Channel<T>: a bounded multi-producer multi-consumer channel for tasks.
//
//   weft::Channel<int> ch(16);
//   std::optional<int> back = co_await ch.send(7);   // nullopt: sent; a value: closed, here it is
//   std::optional<int> v = co_await ch.recv();       // nullopt: closed and drained
//   ch.close();                                      // any thread
//
// Design. A ring of `capacity` std::optional<T> slots and two WaiterQueues (weft/sync/
// waiter_queue.hpp), one of suspended senders and one of suspended receivers, all under one
// detail::SpinLock. The queues' built-in locks are per queue and cannot be shared, and every
// operation here touches both queues and the ring at once, so the channel keeps its own lock_
// and never takes the queues' own: each queue is only ever touched under lock_, which is the
// exclusion the queue's contract asks for. Critical sections are a few moves and pointer writes.
//
// Invariants (under lock_):
//   - receivers wait only while the ring is empty: receivers_ non-empty => count_ == 0;
//   - senders wait only while the ring is full: senders_ non-empty => count_ >= capacity_;
//   - after close() neither queue holds anyone.
//
// Hand-off. Each waiter's node carries a std::optional<T>:
//   - send() to a channel with a waiting receiver moves the value straight into the oldest
//     receiver's node and notifies it (the ring is empty then, so FIFO order holds);
//   - a receiver that takes a value out of the ring admits the oldest waiting sender by moving
//     that sender's value into the freed slot and notifying it. A sender is therefore done the
//     moment it is notified: there is no reserved slot to pass on if it never resumes;
//   - close() notifies everyone: senders keep the value in their node (handed back from send),
//     receivers get an empty node (the ring is empty when they wait), so recv returns nullopt.
// Wakers are woken after lock_ is released, as in every WaiterQueue user.
//
// Cancellation. A waiter whose task is destroyed while queued unlinks itself (a sender's value
// is destroyed with its frame: that send never happened). A receiver destroyed after a value was
// handed to it but before it resumed must not lose the value: it hands it to the next waiting
// receiver, or, if none waits, puts it back at the front of the ring. The ring may be full by
// then (senders kept sending), so this is the one place the ring may grow beyond `capacity`
// slots (it doubles; senders still wait until the count is back under `capacity`). It is the
// only allocation after construction, and a failure there terminates (it runs in a destructor).
//
// Values are only ever moved (T need not be copyable). A value left in the ring when the channel
// is destroyed is destroyed with the ring, exactly once.
//
// Thread use: send and recv from tasks; try_send, try_recv, close, is_closed and the snapshots
// from any thread. The channel must outlive every task that waits on it.
//
// Synchronization map: this file has no atomic operations of its own. lock_ ([SL1]-[SL3],
// weft/scheduler/spin_lock.hpp) orders every access to the ring, closed_ and both queues; a woken
// waiter reads the value in its node after [WQ2] (the acquire in notified()), which pairs with
// the notifier's [WQ1] (weft/sync/waiter_queue.hpp).
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/scheduler/spin_lock.hpp"
#include "weft/spawn.hpp"
#include "weft/sync/waiter_queue.hpp"

namespace weft {

template <class T>
class Channel {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "Channel<T> moves values under a spin lock and in destructors");

 public:
  class [[nodiscard]] SendAwaiter;
  class [[nodiscard]] RecvAwaiter;

  explicit Channel(std::size_t capacity)
      : capacity_(capacity),
        slots_(std::make_unique<std::optional<T>[]>(capacity)),
        slot_count_(capacity) {
    assert(capacity > 0 && "a Channel needs at least one slot");
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() = default;  // the ring's slots destroy what is left; the queues assert they are empty

  // `co_await ch.send(v)`: nullopt once v is in the channel (or in a receiver's hands); v back if
  // the channel is closed (before it could be sent). Suspends while the channel is full.
  SendAwaiter send(T value) { return SendAwaiter(*this, std::move(value)); }

  // `co_await ch.recv()`: the oldest value; suspends while empty; nullopt once closed and empty.
  RecvAwaiter recv() noexcept { return RecvAwaiter(*this); }

  // Sends without waiting: nullopt if sent, `value` back if full or closed (is_closed() says
  // which). Any thread.
  std::optional<T> try_send(T&& value) noexcept {
    std::optional<T> v(std::move(value));
    std::unique_lock<detail::SpinLock> lock(lock_);
    send_locked_and_unlock(v, lock);
    return v;
  }

  // Receives without waiting: the oldest value, or nullopt if empty (closed or not). Any thread.
  std::optional<T> try_recv() noexcept {
    std::unique_lock<detail::SpinLock> lock(lock_);
    return recv_locked_and_unlock(lock);
  }

  // Closes the channel: later sends hand their value back, waiting senders are woken with theirs,
  // waiting receivers are woken with nullopt; values already sent stay and are received. Any
  // thread; idempotent.
  void close() noexcept {
    std::unique_lock<detail::SpinLock> lock(lock_);
    closed_ = true;
    detail::WakeBatch batch;
    for (;;) {
      while (!batch.full() && !senders_.empty()) batch.push(senders_.pop_front_notify());
      while (!batch.full() && !receivers_.empty()) batch.push(receivers_.pop_front_notify());
      const bool more = !senders_.empty() || !receivers_.empty();
      lock.unlock();
      batch.wake_all();
      if (!more) return;
      lock.lock();
    }
  }

  bool is_closed() noexcept {
    std::lock_guard<detail::SpinLock> guard(lock_);
    return closed_;
  }

  std::size_t capacity() const noexcept { return capacity_; }

  // Snapshots (tests, diagnostics): values in the ring, suspended senders, suspended receivers.
  std::size_t size() noexcept {
    std::lock_guard<detail::SpinLock> guard(lock_);
    return count_;
  }
  std::size_t sender_count() noexcept {
    std::lock_guard<detail::SpinLock> guard(lock_);
    return senders_.size();
  }
  std::size_t receiver_count() noexcept {
    std::lock_guard<detail::SpinLock> guard(lock_);
    return receivers_.size();
  }

 private:
  // A waiter's node and the value it carries: a sender's value until it is admitted (moved out)
  // or handed back by close(); the value handed to a receiver. Guarded by lock_ while queued;
  // the waiter reads it after it was notified ([WQ2]) or never queued.
  // Moves the value out and leaves the optional empty (a moved-from optional is still engaged).
  static std::optional<T> take(std::optional<T>& o) noexcept {
    std::optional<T> out(std::move(o));
    o.reset();
    return out;
  }

  struct Node : detail::WaiterNode {
    std::optional<T> value;
    bool enqueued = false;  // this waiter queued; only the waiting task touches these two
    bool resumed = false;

    // Queued at some point and never resumed: the awaiter's destructor has to clean up.
    bool abandoned() const noexcept { return enqueued && !resumed; }

    // A waiter resuming: it either never queued, or was notified (a waiter is resumed only by
    // its own waker). [WQ2] (inside notified()) makes the notifier's writes to `value` visible.
    std::optional<T> take_on_resume() noexcept {
      resumed = true;
      if (enqueued) {
        const bool was_notified = notified();
        assert(was_notified);
        (void)was_notified;
      }
      return take(value);
    }
  };

  // --- the ring; every helper requires lock_ ---
  void push_back_locked(T&& v) noexcept {
    assert(count_ < slot_count_);
    slots_[(head_ + count_) % slot_count_].emplace(std::move(v));
    ++count_;
  }
  void push_front_locked(T&& v) {
    if (count_ == slot_count_) grow_locked();
    head_ = (head_ + slot_count_ - 1) % slot_count_;
    slots_[head_].emplace(std::move(v));
    ++count_;
  }
  T pop_front_locked() noexcept {
    assert(count_ > 0);
    T v = std::move(*slots_[head_]);
    slots_[head_].reset();
    head_ = (head_ + 1) % slot_count_;
    --count_;
    return v;
  }
  // Only for a value given back by an aborted receiver while the ring is full (see the head).
  void grow_locked() {
    const std::size_t n = slot_count_ * 2;
    auto bigger = std::make_unique<std::optional<T>[]>(n);
    for (std::size_t i = 0; i < count_; ++i) {
      auto& from = slots_[(head_ + i) % slot_count_];
      bigger[i].emplace(std::move(*from));
      from.reset();
    }
    slots_ = std::move(bigger);
    slot_count_ = n;
    head_ = 0;
  }

  // The send step, shared by send() and try_send(). Entered with `lock` held; returns with it
  // released. On success `v` is left empty; otherwise (full or closed) it still holds the value,
  // and the caller tells full from closed by is_closed() / closed_.
  void send_locked_and_unlock(std::optional<T>& v,
                              std::unique_lock<detail::SpinLock>& lock) noexcept {
    if (closed_) {
      lock.unlock();
      return;
    }
    if (!receivers_.empty()) {
      // The ring is empty (invariant): hand the value to the oldest receiver.
      Node* r = static_cast<Node*>(receivers_.front());
      r->value.emplace(std::move(*v));
      v.reset();
      Waker w = receivers_.pop_front_notify();
      lock.unlock();
      w.wake();
      return;
    }
    if (count_ < capacity_ && senders_.empty()) {
      push_back_locked(std::move(*v));
      v.reset();
    }
    lock.unlock();
  }

  // The receive step, shared by recv() and try_recv(): the oldest value, admitting the oldest
  // waiting sender into the freed slot; nullopt if the ring is empty. Entered with `lock` held;
  // returns with it released.
  std::optional<T> recv_locked_and_unlock(std::unique_lock<detail::SpinLock>& lock) noexcept {
    if (count_ == 0) {
      lock.unlock();
      return std::nullopt;
    }
    std::optional<T> out(pop_front_locked());
    Waker w;
    if (!senders_.empty() && count_ < capacity_) {
      Node* s = static_cast<Node*>(senders_.front());
      push_back_locked(std::move(*s->value));
      s->value.reset();
      w = senders_.pop_front_notify();
    }
    lock.unlock();
    if (w) w.wake();
    return out;
  }

  // A receiver handed `v` was destroyed before it resumed: give `v` to the next receiver, or put
  // it back at the front of the ring. Entered with `lock` held; returns with it released.
  void give_back_and_unlock(T&& v, std::unique_lock<detail::SpinLock>& lock) noexcept {
    if (!receivers_.empty()) {
      Node* r = static_cast<Node*>(receivers_.front());
      r->value.emplace(std::move(v));
      Waker w = receivers_.pop_front_notify();
      lock.unlock();
      w.wake();
      return;
    }
    push_front_locked(std::move(v));  // may allocate; noexcept: a failure terminates
    lock.unlock();
  }

  const std::size_t capacity_;
  detail::SpinLock lock_;
  // Everything below: guarded by lock_.
  std::unique_ptr<std::optional<T>[]> slots_;  // the ring: count_ values from head_
  std::size_t slot_count_;                     // == capacity_ unless a give-back grew it
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool closed_ = false;
  detail::WaiterQueue senders_;    // suspended senders, oldest first; their own lock unused
  detail::WaiterQueue receivers_;  // suspended receivers, oldest first; their own lock unused
};

// The awaiter of `co_await ch.send(v)`; lives in the awaiting frame and holds the value until it
// is sent. Cannot move.
template <class T>
class [[nodiscard]] Channel<T>::SendAwaiter {
 public:
  SendAwaiter(Channel& ch, T&& value) noexcept : ch_(&ch) { node_.value.emplace(std::move(value)); }
  SendAwaiter(const SendAwaiter&) = delete;
  SendAwaiter& operator=(const SendAwaiter&) = delete;

  // Queued: unlink (the value dies with the frame; the send never happened). Notified: either
  // admitted (the value is already in the ring) or handed back by close(): nothing to pass on.
  ~SendAwaiter() {
    if (!node_.abandoned()) return;
    std::lock_guard<detail::SpinLock> guard(ch_->lock_);
    if (node_.queued()) ch_->senders_.remove(node_);
  }

  bool await_ready() noexcept {
    std::unique_lock<detail::SpinLock> lock(ch_->lock_);
    if (ch_->closed_) return true;  // hand the value back
    ch_->send_locked_and_unlock(node_.value, lock);
    return !node_.value.has_value();
  }

  bool await_suspend(std::coroutine_handle<>) {
    Waker waker = current_waker();  // outside the spin lock: it may throw
    std::unique_lock<detail::SpinLock> lock(ch_->lock_);
    // The channel may have changed since await_ready: try again under the lock we queue under.
    if (ch_->closed_ || !ch_->receivers_.empty() ||
        (ch_->count_ < ch_->capacity_ && ch_->senders_.empty())) {
      ch_->send_locked_and_unlock(node_.value, lock);
      return false;
    }
    ch_->senders_.enqueue(node_, std::move(waker));
    node_.enqueued = true;
    return true;
  }

  // For poll-style drivers (the C ABI): after await_suspend returned true, true once this
  // waiter was notified (await_resume may then be called); false while it waits.
  bool is_notified() const noexcept { return node_.notified(); }

  // nullopt: sent. A value: the channel was closed first; here it is back.
  std::optional<T> await_resume() noexcept {
    return node_.take_on_resume();
  }

 private:
  Channel* ch_;
  Node node_;
};

// The awaiter of `co_await ch.recv()`; lives in the awaiting frame, cannot move.
template <class T>
class [[nodiscard]] Channel<T>::RecvAwaiter {
 public:
  explicit RecvAwaiter(Channel& ch) noexcept : ch_(&ch) {}
  RecvAwaiter(const RecvAwaiter&) = delete;
  RecvAwaiter& operator=(const RecvAwaiter&) = delete;

  // Queued: unlink. Notified with a value it never took: pass the value on (next receiver, or
  // the front of the ring), so an aborted receiver never swallows one.
  ~RecvAwaiter() {
    if (!node_.abandoned()) return;
    std::unique_lock<detail::SpinLock> lock(ch_->lock_);
    if (node_.queued()) {
      ch_->receivers_.remove(node_);
      return;
    }
    if (node_.value.has_value()) {
      std::optional<T> v = take(node_.value);
      ch_->give_back_and_unlock(std::move(*v), lock);
    }
  }

  bool await_ready() noexcept {
    std::unique_lock<detail::SpinLock> lock(ch_->lock_);
    if (ch_->count_ == 0 && !ch_->closed_) return false;
    if (std::optional<T> got = ch_->recv_locked_and_unlock(lock))
      node_.value.emplace(std::move(*got));
    return true;
  }

  bool await_suspend(std::coroutine_handle<>) {
    Waker waker = current_waker();  // outside the spin lock: it may throw
    std::unique_lock<detail::SpinLock> lock(ch_->lock_);
    if (ch_->count_ > 0 || ch_->closed_) {
      if (std::optional<T> got = ch_->recv_locked_and_unlock(lock))
        node_.value.emplace(std::move(*got));
      return false;
    }
    ch_->receivers_.enqueue(node_, std::move(waker));
    node_.enqueued = true;
    return true;
  }

  // As SendAwaiter::is_notified.
  bool is_notified() const noexcept { return node_.notified(); }

  // The value, or nullopt once the channel is closed and drained.
  std::optional<T> await_resume() noexcept {
    return node_.take_on_resume();
  }

 private:
  Channel* ch_;
  Node node_;
};

}  // namespace weft
