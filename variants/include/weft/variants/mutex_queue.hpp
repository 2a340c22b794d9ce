// The baseline queues: a std::deque behind a std::mutex. They are the reference every other
// variant is measured against and the test oracle for the typed suites.
//
// std::mutex, not absl::Mutex: Debian's Abseil is built without NDEBUG, so absl::Mutex runs its
// deadlock detector on every lock (about 9x slower uncontended).
//
// Order: the owner pushes at the back and pops at the front (FIFO, like Go's runq and Tokio's
// queue); a thief takes the oldest items from the front too. No lock is ever held while another
// queue's lock is taken: a steal copies its batch out under the victim's lock, then pushes it
// into the thief's queue under the thief's lock.
//
// Synchronization map: the mutex orders every item. The one atomic is `size_`, a hint:
//   [LD1] store relaxed (under the lock) -- read by [LD2] load seq_cst: a stale size only makes
//         a caller look at (or skip) a queue, and it re-checks under the lock. The pusher's
//         seq_cst fence in Idle::notify_should_wakeup orders [LD1] before its idle-state load.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "weft/variants/concepts.hpp"
#include "weft/variants/steal.hpp"

namespace weft::variants {

namespace detail {

// A deque with a mutex and a relaxed size mirror for lock-free emptiness hints.
template <class T>
class LockedDeque {
 public:
  void push_back(T item) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(item));
    // [LD1] relaxed: a hint only; the mutex orders the item itself.
    size_.store(items_.size(), std::memory_order_relaxed);
  }

  // Appends every element of `batch` (T, or std::optional<T> holding a value) under one lock.
  template <class Range>
  void push_back_all(Range&& batch) {
    if (std::empty(batch)) return;
    std::lock_guard lock(mu_);
    for (auto& item : batch) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, T>) {
        items_.push_back(std::move(item));
      } else {
        items_.push_back(std::move(*item));
      }
    }
    // [LD1] relaxed: as above.
    size_.store(items_.size(), std::memory_order_relaxed);
  }

  std::optional<T> pop_front() {
    std::lock_guard lock(mu_);
    if (items_.empty()) return std::nullopt;
    std::optional<T> item(std::move(items_.front()));
    items_.pop_front();
    // [LD1] relaxed: as above.
    size_.store(items_.size(), std::memory_order_relaxed);
    return item;
  }

  // Hands up to `max` items from the front to `sink` (under the lock); returns how many.
  template <class Sink>
  std::size_t pop_front_n(std::size_t max, Sink&& sink) {
    std::lock_guard lock(mu_);
    const std::size_t n = std::min(max, items_.size());
    for (std::size_t i = 0; i < n; ++i) {
      sink(std::move(items_.front()));
      items_.pop_front();
    }
    // [LD1] relaxed: as above.
    size_.store(items_.size(), std::memory_order_relaxed);
    return n;
  }

  // Moves the steal batch (see steal_count) from the front into `out`; returns how many.
  template <std::size_t N>
  std::size_t steal_front(std::array<std::optional<T>, N>& out, bool half) {
    std::lock_guard lock(mu_);
    const std::size_t n = std::min(steal_count(items_.size(), half), N);
    for (std::size_t i = 0; i < n; ++i) {
      out[i].emplace(std::move(items_.front()));
      items_.pop_front();
    }
    // [LD1] relaxed: as above.
    size_.store(items_.size(), std::memory_order_relaxed);
    return n;
  }

  std::size_t size_hint() const {
    // [LD2] seq_cst: may be stale, and callers re-check under the lock; seq_cst (a plain load on
    // x86) so a worker that parks -- a seq_cst RMW on the idle state, then this load -- cannot
    // have the load move before its RMW on a weaker machine and miss a push (idle.hpp).
    return size_.load(std::memory_order_seq_cst);
  }

 private:
  std::mutex mu_;
  std::deque<T> items_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace detail

template <class T>
class MutexLocalQueue {
 public:
  static constexpr OwnerOrder kOwnerOrder = OwnerOrder::kFifo;
  static constexpr bool kBounded = false;
  MutexLocalQueue() = default;
  explicit MutexLocalQueue(std::size_t /*initial_capacity*/) {}

  // Owner only. Unbounded: never spills.
  template <class Spill>
  void push(T item, Spill&& /*spill*/) {
    items_.push_back(std::move(item));
  }

  // Owner only: the oldest item.
  std::optional<T> pop() { return items_.pop_front(); }

  // Called by the owner of `thief` (never this queue's owner): moves a batch from the front of
  // this queue into `thief` and returns one more item for the thief to run now.
  std::optional<T> steal_into(MutexLocalQueue& thief, bool half) {
    std::array<std::optional<T>, kMaxBatch> batch;
    const std::size_t n = items_.steal_front(batch, half);
    if (n == 0) return std::nullopt;
    thief.items_.push_back_all(std::span(batch).subspan(1, n - 1));
    return std::move(batch[0]);
  }

  std::size_t size_hint() const { return items_.size_hint(); }

 private:
  detail::LockedDeque<T> items_;
};

template <class T>
class MutexInjector {
 public:
  MutexInjector() = default;
  explicit MutexInjector(std::size_t /*initial_capacity*/) {}

  void push(T item) { items_.push_back(std::move(item)); }
  void push_batch(std::span<T> batch) { items_.push_back_all(batch); }
  std::optional<T> pop() { return items_.pop_front(); }
  template <class Sink>
  std::size_t pop_batch(std::size_t max, Sink&& sink) {
    return items_.pop_front_n(max, std::forward<Sink>(sink));
  }
  std::size_t size_hint() const { return items_.size_hint(); }

 private:
  detail::LockedDeque<T> items_;
};

static_assert(LocalQueue<MutexLocalQueue<void*>, void*>);
static_assert(Injector<MutexInjector<void*>, void*>);

}  // namespace weft::variants
