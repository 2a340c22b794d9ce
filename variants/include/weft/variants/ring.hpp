// RingQueue<T, Capacity, Atom>: the fixed-size single-producer, multi-consumer run queue of Go's
// scheduler (runtime/proc.go: runqput, runqget, runqgrab; 256 slots) as Tokio refined it
// (tokio/src/runtime/scheduler/multi_thread/queue.rs: a packed head word whose two halves let at
// most one thief work on a victim at a time, without a second CAS per item).
//
// The owner pushes at the tail and pops FIFO at the head (kOwnerOrder = kFifo). A thief claims a
// batch by moving the `real` half of the head forward while the `steal` half stays behind, copies
// the items straight into its own ring, then moves `steal` up to `real`. Between the two CASes
// the owner may still pop (it moves `real` only) and other thieves back off (they see steal !=
// real). The ring is bounded (kBounded = true): when it is full, push hands a batch to the spill
// callback (in the runtime, the injector's push_batch). The `ring` variant (RingVariant, at the
// end) uses it as the per-worker queue.
//
// Deviations from Tokio, and why:
//   - The capacity is chosen at construction (any power of two in [2, 2^31], rounded up; the
//     `Capacity` template argument is what the default constructor uses, Tokio's 256). Tests
//     use 4 to reach the full, spill and wrap-around states often, as Tokio's loom tests do.
//   - The batch size is steal_count(len, half): half rounded up, capped at kMaxBatch (128), or 1
//     for a steal-one policy. Tokio always takes half (at most 128 with 256 slots).
//   - steal_into returns the *oldest* stolen item and publishes the rest in the thief's ring;
//     Tokio returns the newest. The oldest runs first, so stealing keeps FIFO order.
//   - No LIFO slot here: the scheduler keeps one per worker for every variant.
//   - Items are T in plain (uninitialised) storage, moved in and out, as Tokio's UnsafeCell: T
//     need not be trivially copyable, only nothrow-movable. The head/tail orderings below make
//     every slot access happen-before the next access to the same slot (see "Safety" notes);
//     ThreadSanitizer checks that argument on every run, which it could not do with atomic slots.
//
// Who may call what:
//   push, pop, capacity     the owner only (one thread at a time)
//   steal_into(dst, half)   any thread except the owner, which must itself be the owner of `dst`
//                           (it writes into dst's ring and publishes dst's tail)
//   size_hint               anyone; a snapshot that may be stale
//   ctor / dtor             no concurrent calls; the destructor destroys the items left
//
// Head word layout (Tokio's AtomicU64 on 64-bit targets), indices are positions mod 2^32:
//
//   63                              32 31                               0
//   +---------------------------------+---------------------------------+
//   |  steal: first slot a thief is   |  real: next slot to pop or to   |
//   |  still copying (== real if none)|  claim                          |
//   +---------------------------------+---------------------------------+
//
// A slot is `position & (capacity - 1)`. Positions are 32-bit and wrap; every comparison is a
// difference (tail - steal, tail - real), which is exact because it never exceeds capacity
// <= 2^31. The static_asserts after ring_detail::pack check the packing.
//
// Invariants (steal s, real r, tail t, capacity c; distances mod 2^32):
//   I1. r - s <= t - s <= c. Positions [s, t) hold live items; all other slots are raw storage.
//   I2. s != r exactly while one thief is between its claim [RS3] and its release [RS4]; it owns
//       [s, s + n). A claim needs s == r, so there is at most one such thief.
//   I3. tail_ is written only by the owner ([RP3], and [RD3] when it steals into its own ring);
//       head_ is written only by CAS ([RO2], [RP4], [RS3], [RS4]), so every head value read by
//       an acquire load carries the release of every earlier head CAS (a release sequence of
//       RMWs).
//   I4. The ring is full when t - s == c: slots a thief is still copying are not free.
//
// Synchronization map (labels are on the operations below):
//   [RP1] head_ load acquire (push)        pairs with [RS4]: a thief's reads of slots below
//                                          `steal` happen before the owner reuses those slots.
//   [RP2] tail_ load relaxed (owner)       the owner reads its own writes.
//   [RP3] tail_ store release (push)       pairs with [RS2]: the item is written before a thief
//                                          can claim it.
//   [RP4] head_ CAS release (overflow)     claims half the ring for the spill when no thief is
//                                          active; only the owner wrote those slots, so no
//                                          acquire is needed. Release as in Tokio.
//   [RO1] head_ load acquire (pop)         pairs with [RS4] and [RS3] (Tokio's ordering).
//   [RO2] head_ CAS acq_rel (pop)          claims one slot; races [RS3]/[RS4]; Tokio's ordering.
//   [RS1] head_ load acquire (steal)       pairs with [RO2]/[RP4]/[RS4] of others.
//   [RS2] tail_ load acquire (steal)       pairs with [RP3]/[RD3]: items below tail are written.
//   [RS3] head_ CAS acq_rel (steal claim)  claims [real, real + n); pairs with [RO2], [RP4] and
//                                          other thieves' [RS3]/[RS4].
//   [RS4] head_ CAS acq_rel (steal done)   steal := real; its release pairs with [RP1] and [RD2]
//                                          so the copied-out slots may be reused.
//   [RD1] dst.tail_ load relaxed (steal)   the caller owns dst: its own writes.
//   [RD2] dst.head_ load acquire (steal)   pairs with [RS4] of dst's thieves: slots they copied
//                                          out of dst are free before we write into them.
//   [RD3] dst.tail_ store release (steal)  publishes the batch in dst; pairs with [RS2] of dst's
//                                          thieves.
//   [RH1] head_, [RH2] tail_ loads relaxed (size_hint): a hint, no ordering.
//   [RX1] head_, tail_ loads relaxed (destructor): no concurrent access is allowed.
// No fences.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "weft/variants/concepts.hpp"
#include "weft/variants/fence.hpp"
#include "weft/variants/vyukov.hpp"
#include "weft/variants/steal.hpp"

namespace weft::variants {

namespace ring_detail {

constexpr std::uint64_t pack(std::uint32_t steal, std::uint32_t real) {
  return (std::uint64_t{steal} << 32) | std::uint64_t{real};
}
constexpr std::uint32_t steal_of(std::uint64_t head) {
  return static_cast<std::uint32_t>(head >> 32);
}
constexpr std::uint32_t real_of(std::uint64_t head) { return static_cast<std::uint32_t>(head); }

static_assert(sizeof(std::uint64_t) == 2 * sizeof(std::uint32_t), "two 32-bit halves");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the head word is one lock-free CAS");
static_assert(steal_of(pack(0xA, 0xB)) == 0xA && real_of(pack(0xA, 0xB)) == 0xB);
static_assert(steal_of(pack(0xFFFFFFFFu, 0)) == 0xFFFFFFFFu && real_of(pack(0xFFFFFFFFu, 0)) == 0);
static_assert(steal_of(pack(0, 0xFFFFFFFFu)) == 0 && real_of(pack(0, 0xFFFFFFFFu)) == 0xFFFFFFFFu);

// Largest capacity whose position differences (<= capacity) fit a 32-bit half unambiguously.
inline constexpr std::size_t kMaxCapacity = std::size_t{1} << 31;

constexpr std::size_t round_capacity(std::size_t requested) {
  return std::bit_ceil(std::clamp<std::size_t>(requested, 2, kMaxCapacity));
}

}  // namespace ring_detail

// Test hooks for the model checker (tests/variants/model): each flag plants one known bug, so the
// test can show that it catches it. Production code uses RingNoPlantedBug; the flags compile away.
struct RingNoPlantedBug {
  static constexpr bool kWeakPushRelease = false;       // push publishes tail_ relaxed
  static constexpr bool kSkipStealInProgress = false;  // a thief ignores a steal in progress
};

template <class T, std::size_t Capacity = kDefaultLocalCapacity,
          template <class> class Atom = std::atomic, class Plant = RingNoPlantedBug>
class RingQueue {
  static_assert(std::has_single_bit(Capacity) && Capacity >= 2 &&
                    Capacity <= ring_detail::kMaxCapacity,
                "Capacity is a power of two in [2, 2^31]");
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "items are moved between rings mid-steal; a throwing move would lose them");

 public:
  static constexpr OwnerOrder kOwnerOrder = OwnerOrder::kFifo;
  static constexpr bool kBounded = true;

  RingQueue() : RingQueue(Capacity) {}
  // `capacity` is rounded up to a power of two in [2, 2^31].
  explicit RingQueue(std::size_t capacity)
      : capacity_(static_cast<std::uint32_t>(ring_detail::round_capacity(capacity))),
        slots_(std::allocator<T>().allocate(capacity_)),
        scratch_(std::allocator<T>().allocate(capacity_ / 2 + 1)) {}

  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  ~RingQueue() {
    // At rest steal == real, so the live items are [real, tail) (I1).
    // [RX1] relaxed: no other thread touches a queue being destroyed; the caller's hand-over
    // (a join, a lock) already ordered their last operations before this.
    const std::uint32_t real = ring_detail::real_of(head_.load(std::memory_order_relaxed));
    // [RX1] relaxed: as above.
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    for (std::uint32_t p = real; p != tail; ++p) std::destroy_at(slot(p));
    std::allocator<T>().deallocate(slots_, capacity_);
    std::allocator<T>().deallocate(scratch_, capacity_ / 2 + 1);
  }

  // Owner only. When the ring is full: if a thief is copying out, `item` alone goes to `spill`
  // (the thief frees room soon); otherwise the oldest half of the ring plus `item` go to `spill`
  // in one call. `spill(std::span<T>)` may move the items out; it must not touch this queue.
  template <class Spill>
  void push(T item, Spill&& spill) {
    // [RP2] relaxed: only the owner writes tail_.
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    for (;;) {
      // [RP1] acquire: pairs with [RS4] (steal): thieves are done reading every slot below
      // `steal`, so the slot at `tail` (its previous position is tail - capacity < steal) is ours.
      const std::uint64_t head = head_.load(std::memory_order_acquire);
      const std::uint32_t steal = ring_detail::steal_of(head);
      const std::uint32_t real = ring_detail::real_of(head);
      if (tail - steal < capacity_) {
        // Safety: plain write; no thief reads this slot before [RP3] publishes it (I1, I2).
        std::construct_at(slot(tail), std::move(item));
        // [RP3] release: the item before the new tail; pairs with [RS2] (steal). (relaxed only
        // for the planted bug)
        tail_.store(tail + 1, Plant::kWeakPushRelease ? std::memory_order_relaxed
                                                      : std::memory_order_release);
        return;
      }
      if (steal != real) {
        spill(std::span<T>(&item, 1));
        return;
      }
      if (spill_half(item, real, spill)) return;
      // A thief's claim [RS3] got in first: re-read the head (now steal != real: spill one).
    }
  }

  // Owner only: the oldest item.
  std::optional<T> pop() {
    // [RP2] relaxed: only the owner writes tail_.
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    // [RO1] acquire: Tokio's ordering; pairs with [RS3]/[RS4] (the slot we take was written by
    // this thread, so nothing else is needed for it).
    std::uint64_t head = head_.load(std::memory_order_acquire);
    std::uint32_t real;
    for (;;) {
      const std::uint32_t steal = ring_detail::steal_of(head);
      real = ring_detail::real_of(head);
      if (real == tail) return std::nullopt;
      // No thief active: move both halves. Otherwise leave `steal` to the thief's [RS4].
      const std::uint64_t next = steal == real ? ring_detail::pack(real + 1, real + 1)
                                               : ring_detail::pack(steal, real + 1);
      // [RO2] acq_rel on success, acquire on failure (Tokio): claims slot `real` against a
      // thief's [RS3]; on failure we re-read the head a thief wrote.
      if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        break;
      }
    }
    // Safety: the owner wrote this slot; the claim above keeps thieves off it.
    T* s = slot(real);
    std::optional<T> out(std::move(*s));
    std::destroy_at(s);
    return out;
  }

  // Called by the owner of `dst` (never this queue's owner): claims steal_count(len, half) of
  // the oldest items, returns the oldest and publishes the rest at the tail of `dst`. Returns
  // nothing if this queue is empty, if another thief is copying out of it (back off, as Tokio
  // and Go do), or if `dst` is more than half full.
  std::optional<T> steal_into(RingQueue& dst, bool half) {
    assert(&dst != this);
    // [RD1] relaxed: the caller owns dst.
    const std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
    // [RD2] acquire: pairs with [RS4] of dst's thieves: the slots they copied out are free.
    const std::uint32_t dst_steal =
        ring_detail::steal_of(dst.head_.load(std::memory_order_acquire));
    const std::uint32_t dst_used = dst_tail - dst_steal;
    if (dst_used > dst.capacity_ / 2) return std::nullopt;
    const std::uint32_t dst_room = dst.capacity_ - dst_used;

    // [RS1] acquire: pairs with [RO2]/[RP4]/[RS4] of other threads.
    std::uint64_t head = head_.load(std::memory_order_acquire);
    std::uint32_t first;
    std::uint32_t n;
    for (;;) {
      const std::uint32_t steal = ring_detail::steal_of(head);
      const std::uint32_t real = ring_detail::real_of(head);
      // another thief is copying out (I2)
      if (steal != real && !Plant::kSkipStealInProgress) return std::nullopt;
      // [RS2] acquire: pairs with [RP3]/[RD3]: the items below tail are written.
      const std::uint32_t tail = tail_.load(std::memory_order_acquire);
      const std::uint32_t available = tail - real;
      assert(available <= capacity_);
      n = static_cast<std::uint32_t>(
          std::min<std::size_t>(steal_count(available, half), std::size_t{dst_room} + 1));
      if (n == 0) return std::nullopt;
      // [RS3] acq_rel on success: claims [real, real + n) by moving `real` only; acquire on
      // failure: the head the owner or another thief wrote. Pairs with [RO2]/[RP4]/[RS3]/[RS4].
      if (head_.compare_exchange_weak(head, ring_detail::pack(steal, real + n),
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
        first = real;
        break;
      }
    }

    // Safety: [first, first + n) is ours (I2) and was written before [RS2]'s tail. The dst
    // slots [dst_tail, dst_tail + n - 1) are free ([RD2]; dst_used + n - 1 <= capacity) and no
    // thief of dst reads them before [RD3].
    T* s = slot(first);
    std::optional<T> out(std::move(*s));
    std::destroy_at(s);
    for (std::uint32_t i = 1; i < n; ++i) {
      s = slot(first + i);
      std::construct_at(dst.slot(dst_tail + i - 1), std::move(*s));
      std::destroy_at(s);
    }

    // steal := real. The owner may have popped meanwhile (moving `real`), so retry with the
    // head it wrote; nobody else changes `steal` while we hold it.
    head = ring_detail::pack(first, first + n);
    for (;;) {
      const std::uint32_t real = ring_detail::real_of(head);
      assert(ring_detail::steal_of(head) == first);
      // [RS4] acq_rel on success: the release half pairs with [RP1] (push) and [RD2] (a thief
      // into this queue), so our slot reads happen before their reuse; acquire on failure: the
      // head a pop [RO2] wrote.
      if (head_.compare_exchange_weak(head, ring_detail::pack(real, real),
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
        break;
      }
    }
    // [RD3] release: the batch before dst's new tail; pairs with [RS2] of dst's thieves.
    if (n > 1) dst.tail_.store(dst_tail + n - 1, std::memory_order_release);
    return out;
  }

  // Anyone: tail - real, exact at rest; 0 if the two loads straddle a change.
  std::size_t size_hint() const {
    // [RH1] relaxed: a hint; callers re-check through pop or steal.
    const std::uint32_t real = ring_detail::real_of(head_.load(std::memory_order_relaxed));
    // [RH2] relaxed: as [RH1]; a pair straddling a change may give tail < real, reported as 0.
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t n = tail - real;
    return n <= capacity_ ? n : 0;
  }

  std::size_t capacity() const { return capacity_; }

 private:
  T* slot(std::uint32_t position) const {
    T* s = slots_ + (position & (capacity_ - 1));
    PlainAccessOf<Atom>::note(s);  // nothing, except under the model checker
    return s;
  }

  // Owner only, ring full, no thief active: claims the oldest half for the spill. False if a
  // thief's claim got in first (then the caller re-reads the head).
  template <class Spill>
  bool spill_half(T& item, std::uint32_t real, Spill& spill) {
    const std::uint32_t half = capacity_ / 2;
    std::uint64_t expected = ring_detail::pack(real, real);
    // [RP4] release on success, relaxed on failure (Tokio): claims [real, real + half) with
    // both halves, so no thief can claim them; the slots were written by this thread. Fails if
    // a thief's [RS3] got in first.
    if (!head_.compare_exchange_strong(expected, ring_detail::pack(real + half, real + half),
                                       std::memory_order_release, std::memory_order_relaxed)) {
      return false;
    }
    struct DestroyAfter {
      T* p;
      std::size_t n;
      ~DestroyAfter() { std::destroy_n(p, n); }
    } guard{scratch_, std::size_t{half} + 1};
    // Safety: scratch_ is owner-only; the claimed slots were written by this thread.
    for (std::uint32_t i = 0; i < half; ++i) {
      T* s = slot(real + i);
      std::construct_at(scratch_ + i, std::move(*s));
      std::destroy_at(s);
    }
    std::construct_at(scratch_ + half, std::move(item));
    spill(std::span<T>(scratch_, std::size_t{half} + 1));
    return true;
  }

  // [RO1]/[RO2]/[RP1]/[RP4]/[RS1]/[RS3]/[RS4]/[RD2]/[RH1]. Written (CAS only) by the owner's
  // pop and overflow and by thieves; read by all of them. Its own cache line: the contended word.
  alignas(kCacheLine) Atom<std::uint64_t> head_{0};
  // [RP2]/[RP3]/[RD1]/[RD3]/[RS2]/[RH2]. Written by the owner only, read by thieves on every
  // steal. Its own line, so thieves' CASes on head_ do not take it from the owner per push.
  alignas(kCacheLine) Atom<std::uint32_t> tail_{0};
  // Set at construction, read by everyone: a read-only line.
  alignas(kCacheLine) const std::uint32_t capacity_;
  // Safety: plain slots; see the notes at each access and I1/I2.
  T* const slots_;
  // Owner only: the batch handed to the spill (half + 1 items).
  T* const scratch_;
};

// The `ring` variant: a fixed ring per worker (Go runq / Tokio queue), stealing half of a
// random victim's ring, exponential backoff between empty sweeps.
struct RingVariant {
  static constexpr std::string_view name = "ring";
  template <class T>
  using LocalQueue = RingQueue<T>;
  // The lock-free variants share Vyukov's bounded MPMC ring (with an overflow list) as injector.
  template <class T>
  using Injector = VyukovInjector<T>;
  using Steal = StealHalf<RandomVictim, ExponentialBackoff>;
};

static_assert(LocalQueue<RingQueue<void*>, void*>);
static_assert(Variant<RingVariant>);

}  // namespace weft::variants
