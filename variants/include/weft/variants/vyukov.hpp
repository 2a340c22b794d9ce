// Dmitry Vyukov's bounded MPMC queue, and the `vyukov` variant built on it.
//
// Algorithm: D. Vyukov, "Bounded MPMC queue", 1024cores.net (2010); the same design as
// crossbeam-queue's ArrayQueue and folly's MPMCQueue turn sequencer. A ring of 2^k cells, each
// with a sequence number that says whose turn the cell is:
//
//   cell.seq == pos          free: the producer that claims position `pos` may write it
//   cell.seq == pos + 1      full: the consumer that claims position `pos` may read it
//   (the consumer then stores pos + capacity: free for the producer one lap later)
//
// A producer claims a position with one CAS on `enqueue_pos_`, writes the cell, then publishes it
// with a release store of `seq`; a consumer does the same with `dequeue_pos_`. Producers and
// consumers never touch the same position word, and the cells carry the data hand-off.
//
// NOT lock-free. A producer preempted between its CAS on `enqueue_pos_` and its `seq` store blocks
// the consumer of that cell (which reports "empty" meanwhile, even if later cells are full); a
// consumer preempted between its CAS and its `seq` store makes the cell look full to the producer
// one lap later. The runtime measures what this costs (the harness's `vyukov` rows); it is why
// the queue is a variant here and not the obvious choice.
//
// Deviations from the 1024cores code, and why:
//   * Batches: `try_push_batch` and `try_pop_batch` claim the longest ready run of cells (up to the
//     batch size) with ONE CAS, checking each cell's `seq` first. A steal-half or an injector batch
//     costs one CAS instead of one per item. Why it is safe: a cell whose `seq` says "free for
//     position p" (or "full for position p") can change only when position p is claimed, and the
//     CAS from `pos` to `pos + k` fails if anybody claimed any position in [pos, pos + k).
//   * The element type is any nothrow-movable T (crossbeam's generality), held in raw storage;
//     the original stores a `void*`.
//   * 64-bit positions instead of size_t wrap-around arithmetic: no ABA in 2^64 operations.
//   * The atomic type is a template parameter (`Atom`, as folly's MPMCQueue) so a test can swap
//     in a deterministic-schedule atomic.
//
// Who calls what: VyukovMpmc is symmetric; any thread may call anything. VyukovInjector likewise.
// VyukovLocalQueue: `push` and `pop` by the owning worker, `steal_into(thief, ...)` by the owner
// of `thief` (the ring is MPMC, so the owner/thief split only matters for `thief`, into which
// nobody else pushes), `size_hint` by anyone.
//
// Invariants (VyukovMpmc):
//   I1  dequeue_pos_ <= enqueue_pos_ <= dequeue_pos_ + capacity (as claimed positions).
//   I2  for each position p in [dequeue_pos_, enqueue_pos_) exactly one producer wrote or is
//       writing cell p & mask, and no consumer has claimed it.
//   I3  a cell holds a live T exactly when its seq == p + 1 for the position p it was written at
//       and no consumer has claimed p (raw storage: constructed on write, destroyed on take).
//
// Synchronization map (VyukovMpmc):
//   [V0] cell.seq store relaxed (constructor): nothing is shared yet; whoever hands the queue to
//        other threads (a thread start, a mutex) orders it.
//   [V1] enqueue_pos_ load relaxed / [V2] enqueue_pos_ CAS relaxed: claim a position. Arbitration
//        only; the data travels through the cell's seq. Pairs with nothing.
//   [V3] cell.seq load acquire (producer): the cell is free. Pairs with [V8] (the consumer's
//        release after it moved the old item out), so the move-out happens before the overwrite.
//   [V4] cell.seq store release (producer): publish the item. Pairs with [V7].
//   [V5] dequeue_pos_ load relaxed / [V6] dequeue_pos_ CAS relaxed: as [V1]/[V2].
//   [V7] cell.seq load acquire (consumer): the cell is full. Pairs with [V4].
//   [V8] cell.seq store release (consumer): free the cell. Pairs with [V3].
//   [V9] size_hint: dequeue_pos_ then enqueue_pos_ loads seq_cst. Pairs with the scheduler's
//        seq_cst fence in Idle::notify_should_wakeup ([I1]) and its seq_cst RMWs ([I3]): a
//        parking worker's seq_cst load after its seq_cst RMW cannot miss a push sequenced before
//        the notifier's fence (see idle.hpp).
//   VyukovInjector adds:
//   [J1] overflow_count_ store relaxed, under overflow_mu_: a mirror of the overflow's size; the
//        mutex orders the items themselves.
//   [J2] overflow_count_ load relaxed (push, pop): steers to or away from the overflow; a stale
//        value only sends a push to the overflow (or a pop past it) once; the mutex re-checks.
//   [J3] overflow_count_ load seq_cst (size_hint): as [V9].
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/variants/concepts.hpp"
#include "weft/variants/steal.hpp"

namespace weft::variants {

namespace detail {

// Storage for one T that is constructed and destroyed by hand (a queue slot). Safety: the queue
// that owns the slot guarantees that at most one thread touches it at a time, and that the
// handing over is ordered by an acquire/release pair (named at each use).
template <class T>
struct RawSlot {
  alignas(T) unsigned char bytes[sizeof(T)];

  void put(T&& value) noexcept { std::construct_at(ptr(), std::move(value)); }
  T take() noexcept {
    T* p = ptr();
    T value(std::move(*p));
    std::destroy_at(p);
    return value;
  }

 private:
  T* ptr() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
};

// Rounds a requested capacity to the power of two >= 2 the rings need.
constexpr std::size_t ring_capacity(std::size_t requested) {
  return std::bit_ceil(std::max<std::size_t>(requested, 2));
}

// Spins while a peer finishes a step it has already committed to (see "NOT lock-free" above).
inline void wait_for_peer(std::size_t& spins) {
  if (++spins < 64) {
    cpu_relax();
  } else {
    std::this_thread::yield();
  }
}

}  // namespace detail

template <class T, template <class> class Atom = std::atomic>
class VyukovMpmc {
  static_assert(std::is_nothrow_move_constructible_v<T>, "queue items move without throwing");
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

 public:
  VyukovMpmc() : VyukovMpmc(kDefaultInjectorCapacity) {}
  // `capacity` is rounded up to a power of two >= 2.
  explicit VyukovMpmc(std::size_t capacity)
      : mask_(detail::ring_capacity(capacity) - 1),
        cells_(std::make_unique<Cell[]>(detail::ring_capacity(capacity))) {
    for (std::size_t i = 0; i <= mask_; ++i) {
      // [V0] relaxed: construction; nothing is shared yet.
      cells_[i].seq.store(i, std::memory_order_relaxed);
    }
  }
  // Destroys the items still queued. No other thread may use the queue any more.
  ~VyukovMpmc() {
    while (try_pop().has_value()) {
    }
  }
  VyukovMpmc(const VyukovMpmc&) = delete;
  VyukovMpmc& operator=(const VyukovMpmc&) = delete;

  std::size_t capacity() const { return mask_ + 1; }

  // Moves `item` in and returns true, or returns false (full) and leaves `item` alone.
  bool try_push(T& item) {
    // [V1] relaxed: a starting guess; the CAS validates it.
    std::uint64_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    Cell* cell;
    for (;;) {
      cell = &cells_[pos & mask_];
      // [V3] acquire: the consumer of the previous lap has moved its item out. Pairs with [V8].
      const std::uint64_t seq = cell->seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::int64_t>(seq - pos);
      if (dif == 0) {
        // [V2] relaxed: claims position `pos`; on failure `pos` is reloaded. Arbitration only.
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed,
                                               std::memory_order_relaxed)) {
          break;
        }
      } else if (dif < 0) {
        return false;  // the cell still holds last lap's item: full
      } else {
        // [V1] relaxed: another producer took `pos`; start again from the current tail.
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
    // Safety: position `pos` is ours (I2); nobody reads the cell before [V4].
    cell->slot.put(std::move(item));
    // [V4] release: publish the item to the consumer of `pos`. Pairs with [V7].
    cell->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  // Pushes a prefix of `items` (moving each pushed one out) and returns its length; 0 if full.
  // The pushed items stay in order. One CAS per ready run of cells (see Deviations).
  std::size_t try_push_batch(std::span<T> items) {
    std::size_t done = 0;
    while (done < items.size()) {
      const auto [pos, n] = claim_run(enqueue_pos_, items.size() - done, 0);
      if (n == 0) break;
      for (std::size_t i = 0; i < n; ++i) {
        Cell& cell = cells_[(pos + i) & mask_];
        cell.slot.put(std::move(items[done + i]));
        // [V4] release: as in try_push. Pairs with [V7].
        cell.seq.store(pos + i + 1, std::memory_order_release);
      }
      done += n;
    }
    return done;
  }

  std::optional<T> try_pop() {
    // [V5] relaxed: a starting guess; the CAS validates it.
    std::uint64_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Cell* cell;
    for (;;) {
      cell = &cells_[pos & mask_];
      // [V7] acquire: the producer of `pos` has written the item. Pairs with [V4].
      const std::uint64_t seq = cell->seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::int64_t>(seq - (pos + 1));
      if (dif == 0) {
        // [V6] relaxed: claims position `pos`; on failure `pos` is reloaded. Arbitration only.
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed,
                                               std::memory_order_relaxed)) {
          break;
        }
      } else if (dif < 0) {
        return std::nullopt;  // not written yet: empty (or a producer is mid-push)
      } else {
        // [V5] relaxed: another consumer took `pos`.
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
    // Safety: position `pos` is ours and [V7] made the producer's write visible.
    std::optional<T> item(cell->slot.take());
    // [V8] release: the cell is free for the producer one lap later. Pairs with [V3].
    cell->seq.store(pos + mask_ + 1, std::memory_order_release);
    return item;
  }

  // Hands up to `max` items, oldest first, to `sink(T&&)`; returns how many. Each cell is freed
  // before `sink` sees its item, so a slow sink never holds up producers.
  template <class Sink>
  std::size_t try_pop_batch(std::size_t max, Sink&& sink) {
    std::size_t done = 0;
    while (done < max) {
      const auto [pos, n] = claim_run(dequeue_pos_, max - done, 1);
      if (n == 0) break;
      for (std::size_t i = 0; i < n; ++i) {
        Cell& cell = cells_[(pos + i) & mask_];
        // Safety: as in try_pop; claim_run saw [V7] for every cell of the run.
        T item = cell.slot.take();
        // [V8] release: as in try_pop. Pairs with [V3].
        cell.seq.store(pos + i + mask_ + 1, std::memory_order_release);
        sink(std::move(item));
      }
      done += n;
    }
    return done;
  }

  // Items claimed by producers and not yet by consumers (includes pushes still being written).
  std::size_t size_hint() const {
    // [V9] seq_cst, dequeue side first: enqueue_pos_ read later is >= the dequeue_pos_ read
    // earlier (I1), so the difference never underflows.
    const std::uint64_t head = dequeue_pos_.load(std::memory_order_seq_cst);
    // [V9] seq_cst: the tail, after the head.
    const std::uint64_t tail = enqueue_pos_.load(std::memory_order_seq_cst);
    return static_cast<std::size_t>(std::min<std::uint64_t>(tail - head, mask_ + 1));
  }

 private:
  struct Cell {
    Atom<std::uint64_t> seq;
    detail::RawSlot<T> slot;
  };

  struct Run {
    std::uint64_t pos;  // first claimed position
    std::size_t n;      // how many; 0: full (producer) or empty (consumer)
  };

  // Claims the longest run of consecutive positions starting at `position`'s current value whose
  // cells are ready (seq == pos + i + `offset`: offset 0 for producers, 1 for consumers), at most
  // `max` of them, with one CAS.
  Run claim_run(Atom<std::uint64_t>& position, std::size_t max, std::uint64_t offset) {
    // [V1]/[V5] relaxed: a starting guess; the CAS validates it.
    std::uint64_t pos = position.load(std::memory_order_relaxed);
    for (;;) {
      std::size_t n = 0;
      bool stale = false;
      while (n < max && n <= mask_) {
        // [V3]/[V7] acquire: the cell is ready for position pos + n. Pairs with [V8]/[V4].
        const std::uint64_t seq = cells_[(pos + n) & mask_].seq.load(std::memory_order_acquire);
        const auto dif = static_cast<std::int64_t>(seq - (pos + n + offset));
        if (dif != 0) {
          stale = n == 0 && dif > 0;  // somebody already claimed `pos`
          break;
        }
        ++n;
      }
      if (n == 0) {
        if (!stale) return {pos, 0};  // full (producer) or empty (consumer) at `pos`
        // [V1]/[V5] relaxed: reload and retry.
        pos = position.load(std::memory_order_relaxed);
        continue;
      }
      // [V2]/[V6] relaxed: claims [pos, pos + n); fails if anybody claimed any of it.
      if (position.compare_exchange_weak(pos, pos + n, std::memory_order_relaxed,
                                         std::memory_order_relaxed)) {
        return {pos, n};
      }
    }
  }

  // Read-only after construction: the ring. Its own line so that the position words' traffic
  // does not evict it. The cells themselves are not padded (Vyukov's and crossbeam's choice):
  // neighbouring cells are usually touched by the same thread in turn.
  alignas(kCacheLine) const std::size_t mask_;
  const std::unique_ptr<Cell[]> cells_;
  // Written by producers (CAS), read by producers and size_hint. Own line: producers contend
  // here and consumers must not feel it.
  alignas(kCacheLine) Atom<std::uint64_t> enqueue_pos_{0};
  // Written by consumers (CAS), read by consumers and size_hint. Own line, as above.
  alignas(kCacheLine) Atom<std::uint64_t> dequeue_pos_{0};
};

// The global queue of the lock-free variants: a Vyukov ring with an unbounded overflow.
//
// The Injector contract loses no push, but the ring is bounded. A push that finds the ring full
// goes to `overflow_`, a std::deque behind a mutex, and `overflow_count_` mirrors its size. While
// the overflow holds anything, pushes go there too (so an overflowed item is not overtaken for
// ever by later ring pushes), and a pop takes from the overflow once the ring is empty. When the
// overflow is empty (the normal case) push and pop read one relaxed counter and stay on the
// ring: no lock. Ordering is FIFO per path; across the switch-over a racing push may land in the
// ring ahead of older overflow items (harmless for a global run queue).
template <class T>
class VyukovInjector {
 public:
  VyukovInjector() : VyukovInjector(kDefaultInjectorCapacity) {}
  explicit VyukovInjector(std::size_t capacity) : ring_(capacity) {}

  void push(T item) {
    // [J2] relaxed: steer only; see the synchronization map.
    if (overflow_count_.load(std::memory_order_relaxed) == 0 && ring_.try_push(item)) return;
    std::lock_guard lock(overflow_mu_);
    overflow_.push_back(std::move(item));
    // [J1] relaxed, under the lock.
    overflow_count_.store(overflow_.size(), std::memory_order_relaxed);
  }

  void push_batch(std::span<T> batch) {
    std::size_t done = 0;
    // [J2] relaxed: steer only.
    if (overflow_count_.load(std::memory_order_relaxed) == 0) {
      done = ring_.try_push_batch(batch);
    }
    if (done == batch.size()) return;
    std::lock_guard lock(overflow_mu_);
    for (std::size_t i = done; i < batch.size(); ++i) overflow_.push_back(std::move(batch[i]));
    // [J1] relaxed, under the lock.
    overflow_count_.store(overflow_.size(), std::memory_order_relaxed);
  }

  std::optional<T> pop() {
    if (std::optional<T> item = ring_.try_pop()) return item;
    // [J2] relaxed: the lock re-checks.
    if (overflow_count_.load(std::memory_order_relaxed) == 0) return std::nullopt;
    std::lock_guard lock(overflow_mu_);
    if (overflow_.empty()) return std::nullopt;
    std::optional<T> item(std::move(overflow_.front()));
    overflow_.pop_front();
    // [J1] relaxed, under the lock.
    overflow_count_.store(overflow_.size(), std::memory_order_relaxed);
    return item;
  }

  // Calls `sink(T&&)` for up to `max` items (ring first, then overflow); returns how many.
  template <class Sink>
  std::size_t pop_batch(std::size_t max, Sink&& sink) {
    std::size_t n = ring_.try_pop_batch(max, sink);
    // [J2] relaxed: the lock re-checks.
    if (n == max || overflow_count_.load(std::memory_order_relaxed) == 0) return n;
    std::lock_guard lock(overflow_mu_);
    while (n < max && !overflow_.empty()) {
      sink(std::move(overflow_.front()));
      overflow_.pop_front();
      ++n;
    }
    // [J1] relaxed, under the lock.
    overflow_count_.store(overflow_.size(), std::memory_order_relaxed);
    return n;
  }

  std::size_t size_hint() const {
    // [J3] seq_cst: as [V9].
    return ring_.size_hint() + overflow_count_.load(std::memory_order_seq_cst);
  }

 private:
  VyukovMpmc<T> ring_;
  // Guards overflow_. Taken only while the ring is full or the overflow is non-empty.
  std::mutex overflow_mu_;
  std::deque<T> overflow_;
  // Written under overflow_mu_, read by anyone without it. Own line: the lock-free fast path
  // reads it on every push and pop, and the mutex's line bounces only when the overflow is used.
  alignas(kCacheLine) std::atomic<std::size_t> overflow_count_{0};
};

// The same ring as a per-worker local queue. FIFO for the owner and thieves alike; a steal is a
// batch pop (one CAS) whose items the thief pushes into its own ring.
template <class T>
class VyukovLocalQueue {
 public:
  static constexpr OwnerOrder kOwnerOrder = OwnerOrder::kFifo;
  static constexpr bool kBounded = true;

  VyukovLocalQueue() : VyukovLocalQueue(kDefaultLocalCapacity) {}
  explicit VyukovLocalQueue(std::size_t capacity) : ring_(capacity) {
    spill_buf_.reserve(ring_.capacity() / 2 + 1);
  }

  // Owner only. When the ring is full, the oldest half and `item` go to `spill` in one batch.
  template <class Spill>
  void push(T item, Spill&& spill) {
    if (ring_.try_push(item)) return;
    // spill_buf_ is owner-only: push is never called by two threads at once.
    spill_buf_.clear();
    ring_.try_pop_batch(ring_.capacity() / 2, [&](T&& t) { spill_buf_.push_back(std::move(t)); });
    spill_buf_.push_back(std::move(item));
    spill(std::span<T>(spill_buf_));
    spill_buf_.clear();
  }

  // Owner only (the ring would allow anyone): the oldest item.
  std::optional<T> pop() { return ring_.try_pop(); }

  // Called by the owner of `thief`, never by this queue's owner: takes steal_count(len, half)
  // items from the front (at most what fits in `thief`, plus the one returned), pushes all but
  // the first into `thief` and returns the first.
  std::optional<T> steal_into(VyukovLocalQueue& thief, bool half) {
    assert(&thief != this);
    const std::size_t want = steal_count(size_hint(), half);
    if (want == 0) return std::nullopt;
    // Only the caller pushes into `thief`, others only take from it: its room only grows.
    const std::size_t room = thief.ring_.capacity() - thief.size_hint();
    const std::size_t n = std::min(want, room + 1);
    std::optional<T> first;
    ring_.try_pop_batch(n, [&](T&& t) {
      if (!first.has_value()) {
        first.emplace(std::move(t));
        return;
      }
      // Positions say there is room; a cell may still be held by a thief of `thief` that has
      // claimed it but not yet freed it ([V8]): wait for it (the ring is not lock-free).
      std::size_t spins = 0;
      while (!thief.ring_.try_push(t)) detail::wait_for_peer(spins);
    });
    return first;
  }

  std::size_t size_hint() const { return ring_.size_hint(); }

 private:
  VyukovMpmc<T> ring_;
  std::vector<T> spill_buf_;  // owner-only scratch for push's spill batch
};

struct VyukovVariant {
  static constexpr std::string_view name = "vyukov";
  template <class T>
  using LocalQueue = VyukovLocalQueue<T>;
  template <class T>
  using Injector = VyukovInjector<T>;
  using Steal = StealHalf<RandomVictim, ExponentialBackoff>;
};

static_assert(LocalQueue<VyukovLocalQueue<void*>, void*>);
static_assert(Injector<VyukovInjector<void*>, void*>);
static_assert(Variant<VyukovVariant>);

}  // namespace weft::variants
