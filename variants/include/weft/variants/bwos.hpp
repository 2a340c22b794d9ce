// BWoS: block-based work stealing, and the `bwos` variant built on it.
//
// Paper: J. Wang, B. Trach, M. Fu, D. Behrens, J. Schwender, Y. Liu, J. Lei, V. Vafeiadis,
// H. Härtig, H. Chen, "BWoS: Formally Verified Block-based Work Stealing for Parallel
// Processing", OSDI 2023 (its FIFO queue builds on BBQ, ATC 2022). Read for this port (no code
// taken): the Rust `bwosqueue` of the authors' Tokio integration (FIFO owner, as here) and NVIDIA
// stdexec's exec/__detail/__bwos_lifo_queue.hpp (a LIFO-owner variant).
//
// The idea. The queue is a ring of N blocks of B slots. The owner produces into one block and
// consumes from one block, with plain stores and loads of its own indices while it stays inside
// them; it synchronizes with thieves only when it moves to another block, or (Weft's deviation,
// below) when it claims a batch in the block it is also filling. Thieves claim a run of slots of
// a block with one CAS on the block's `reserved` word, read them, then add the run's length to the
// block's `stolen` word. The producer re-enters a block (next round) only when the consumer has
// left it and `stolen` says every thief that claimed slots in it has finished reading them: that
// handshake, with a round number ("version") in every block word, is what lets the owner reuse
// slots without ever waiting inside a block. The owner pops FIFO (the paper's FIFO BWoS); thieves
// take the oldest stealable slots.
//
// Block words (64 bits each, per block, each on its own cache line):
//
//   bits 63..32  round   the block's lap: block counter / N (mod 2^32)
//   bits 31..0   index   a slot index in [0, B]; B means "to the end of the block"
//
//   committed  (round, i)  slots [0, i) hold items the producer wrote this round
//   reserved   (round, i)  slots [0, i) are claimed (by thieves or the consumer); [i, committed)
//                          can still be stolen
//   stolen     (round, s)  thieves have finished reading s of the slots they claimed this round
//
// Deviations from the paper, and why:
//   D1  Thieves may steal from the block the owner is consuming, including the block it is still
//       filling. In the paper the consumer takes over a block when it enters it (reserved := B),
//       so nothing in the consumer's block, including later pushes into it, can be stolen. In
//       Weft a task may block its worker (tests/runtime/work_stealing_test.cpp's rendezvous: a
//       task spins until a task queued behind it on the same worker has started); with the
//       paper's rule a queue shorter than one block is never stealable and that deadlocks.
//       Instead the consumer *claims* runs on `reserved`: in a block the producer has left, the
//       rest of the block with one exchange (the paper's takeover); in the block the producer is
//       still filling, one item per pop (a CAS; an exchange for the last one committed), so that
//       everything else queued there stays stealable while the owner runs that one. (It used to
//       take every item committed so far: a worker then held a driver turn's whole batch of I/O
//       wake-ups where no thief could reach them, and when the OS descheduled it they waited for
//       its next time slice: echo open loop at 50K msgs/s, 2 workers, p99 3.2-4.0 ms, against
//       0.36-0.74 ms one item at a time; the spawn storms lost 1-4%, where claiming one item in
//       every block lost 10-16%.) Cost: one RMW per pop while the owner pops right behind its own
//       pushes (Go's runqget and Tokio's pop pay one per pop always); pushes never do an RMW.
//       Residual risk: the rest of a block the producer has left, once claimed, cannot be stolen
//       until the owner pops it: a task that blocks its worker waiting for one of those waits for
//       ever. No Weft test does that; the other variants do not have this limit.
//   D2  The consumer never adds to `stolen` (the paper's takeover does a fetch_add there):
//       the owner is both producer and consumer, so it remembers in plain memory how many slots
//       of each block it claimed itself (`owner_claimed_`) and the producer's reuse check expects
//       stolen == B - owner_claimed. One RMW fewer per block.
//   D3  Thieves find a block by scanning from the consumer's block to the producer's (both
//       counters published by the owner at block moves) instead of a shared steal cursor that
//       thieves advance by CAS; N is 8, so a scan is at most 8 blocks, and a stale scan is
//       detected by the round in each block word.
//   D4  A steal takes up to steal_count(len, half) items across consecutive blocks (one CAS per
//       block), so steal-half means the same as for the other variants; the paper's steal_block
//       takes what is committed in one block.
//   D5  size_hint: the owner publishes pushed-minus-popped (`owner_count_`, a store, no RMW)
//       and thieves add what they take to `stolen_total_`. The paper has no length.
//   D6  When the owner's next block is not free (the consumer still holds items in it, or a thief
//       is still reading it), push spills half the queue plus the item (the Weft contract), where
//       the paper returns "full". The consumer helps first: a block it would only pass through
//       (everything in it stolen) is passed on the producer's behalf, so a queue emptied by
//       thieves does not read as full.
//
// Capacity: a power of two >= 2 (rounded up otherwise), split into N = min(8, capacity) blocks
// of B = capacity / N slots: 256 -> 8 x 32, 4 -> 4 x 1, 2 -> 2 x 1. "Full" is reached between
// (N - 1) * B + 1 and N * B items, depending on where the consumer is in its block (earlier while
// a preempted thief still holds slots of the producer's next block: D6).
//
// Who calls what: push and pop only by the owner (one thread at a time; a hand-over between
// threads must be ordered by the caller, as a worker's join is). steal_into(thief, half) by the
// owner of `thief`, which is its own queue; never by this queue's owner. size_hint by anyone.
//
// Invariants (per block, within one round v; "claimed": by a thief's CAS, or the owner's [C2]):
//   B1  index(reserved) <= index(committed): nobody claims a slot that is not written yet.
//   B2  reserved only grows within a round; a claim is the run [old index, new index).
//   B3  each slot is claimed at most once per round, so each item is taken exactly once.
//   B4  once the consumer has left the block, index(reserved) == B (it claimed the rest), so the
//       thieves' runs plus owner_claimed == B, and stolen reaches (v, B - owner_claimed) exactly
//       when the last thief has finished reading.
//   B5  the producer resets the block to round v + 1 only after B4's condition: no thread of
//       round v still reads a slot the producer is about to overwrite.
//   B6  cons_ctr_ <= prod_ctr_ < cons_ctr_ + N (the producer never laps the consumer).
// Round numbers are 32 bits: a thief that sleeps through exactly 2^32 laps of one block between
// two of its loads could be fooled (an ABA after 2^32 * B pushes); the paper's versions have the
// same bound.
//
// Synchronization map:
//   [Q0] block word stores relaxed (constructor): nothing is shared yet; whoever hands the queue
//        to other threads (a thread start, a mutex) orders them.
//   [P1] committed store release (push): publishes the slot write. Pairs with [S4].
//   [P2] owner_count_ store release (push, pop): the length mirror; release so that a reader of
//        the count also sees [P1]. Pairs with [Z2].
//   [P3] stolen load acquire (producer's reuse check): every thief's slot reads of the last round
//        happen before the producer overwrites. Pairs with [S6].
//   [P4] committed, stolen stores relaxed (block reset to round v + 1): published by [P5].
//   [P5] reserved store release (block reset): a thief that reads the new round in reserved
//        ([S3]) also reads the reset committed. Pairs with [S3].
//   [P6] prod_pub_ store release: the producer's block counter, after the reset. Pairs with [S2].
//   [C1] reserved load relaxed (consumer): where to claim from. reserved only grows within a
//        round (B2), so a stale (smaller) value at worst costs a needless exchange or a failed CAS.
//   [C2] reserved exchange or CAS relaxed (consumer claim): arbitration with [S5] only. The slots
//        it claims were written by the owner itself; thieves' earlier runs are protected by [P3].
//   [C3] cons_pub_ store release: the consumer's block counter. Pairs with [S1].
//   [S1] cons_pub_ load acquire (thief): where to start; with [C3] it also makes [S2] read a
//        producer counter >= this one (the producer moved there first).
//   [S2] prod_pub_ load acquire (thief): where to stop. Pairs with [P6].
//   [S3] reserved load acquire (thief): the block's round and first stealable slot. Pairs
//        with [P5].
//   [S4] committed load acquire (thief): items up to index(committed) are written. Pairs with
//        [P1].
//   [S5] reserved CAS acquire (thief): claims [r, r + k); fails if the consumer ([C2]), another
//        thief, or a reset ([P5]) got there first. Arbitration only; visibility is [S4]'s. The
//        failure order must be acquire (the reloaded value is used as [S3]'s, pairing with [P5]);
//        the success order matches it only to keep GCC's -Winvalid-memory-model quiet.
//   [S6] stolen fetch_add release (thief): "my reads of these slots are done". Pairs with [P3].
//   [S7] stolen_total_ fetch_add relaxed (thief): the length's stolen side. Read by [Z1].
//   [Z1] stolen_total_ load seq_cst, then [Z2] owner_count_ load seq_cst (size_hint): seq_cst
//        for the scheduler's park protocol (idle.hpp [I1]/[I3], as vyukov.hpp [V9]); stolen side
//        first, so the estimate errs high, never below the true length at the later load.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/variants/concepts.hpp"
#include "weft/variants/steal.hpp"
#include "weft/variants/vyukov.hpp"

namespace weft::variants {

template <class T, template <class> class Atom = std::atomic>
class BwosQueue {
  static_assert(std::is_nothrow_move_constructible_v<T>, "queue items move without throwing");
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

 public:
  static constexpr OwnerOrder kOwnerOrder = OwnerOrder::kFifo;
  static constexpr bool kBounded = true;
  static constexpr std::size_t kMaxBlocks = 8;

  BwosQueue() : BwosQueue(kDefaultLocalCapacity) {}
  // `capacity` is rounded up to a power of two >= 2; see the head comment for the block split.
  explicit BwosQueue(std::size_t capacity)
      : num_blocks_(std::min(detail::ring_capacity(capacity), kMaxBlocks)),
        block_size_(detail::ring_capacity(capacity) / num_blocks_),
        block_shift_(static_cast<unsigned>(std::countr_zero(num_blocks_))),
        blocks_(std::make_unique<Block[]>(num_blocks_)),
        slots_(std::make_unique<detail::RawSlot<T>[]>(num_blocks_ * block_size_)),
        owner_claimed_(std::make_unique<std::uint32_t[]>(num_blocks_)) {
    // The index field (and owner_claimed_) must hold B, and `stolen` must not carry into the
    // round: B < 2^31, i.e. capacity < 2^34.
    assert(block_size_ < (std::size_t{1} << 31));
    // [Q0] relaxed: construction, nothing is shared yet. Block 0 starts round 0, empty, with the
    // producer and the consumer in it. The others look like round "-1", closed and fully taken,
    // so that nothing reads them before the producer enters them (prod_pub_ says it has not).
    for (std::size_t b = 0; b < num_blocks_; ++b) {
      const Word w = b == 0 ? pack(0, 0) : pack(~std::uint64_t{0}, block_size_);
      blocks_[b].committed.store(w, std::memory_order_relaxed);  // [Q0]
      blocks_[b].reserved.store(w, std::memory_order_relaxed);   // [Q0]
      blocks_[b].stolen.store(w, std::memory_order_relaxed);     // [Q0]
      owner_claimed_[b] = 0;
    }
    spill_buf_.reserve(capacity_() / 2 + 1);
  }
  // Destroys the items still queued (through pop, so each exactly once). No thief may still be
  // stealing: the caller ends them first (the scheduler joins its workers).
  ~BwosQueue() {
    while (pop().has_value()) {
    }
  }
  BwosQueue(const BwosQueue&) = delete;
  BwosQueue& operator=(const BwosQueue&) = delete;

  std::size_t capacity() const { return capacity_(); }
  std::size_t num_blocks() const { return num_blocks_; }
  std::size_t block_size() const { return block_size_; }

  // Owner only. When full (D6), the oldest half of the queue and `item` go to `spill` in one
  // batch.
  template <class Spill>
  void push(T item, Spill&& spill) {
    if (try_push(item)) return;
    spill_buf_.clear();
    const std::size_t half = capacity_() / 2;
    while (spill_buf_.size() < half) {
      std::optional<T> t = pop();
      if (!t.has_value()) break;
      spill_buf_.push_back(std::move(*t));
    }
    spill_buf_.push_back(std::move(item));
    spill(std::span<T>(spill_buf_));
    spill_buf_.clear();
  }

  // Owner only: the oldest item the thieves have not taken.
  std::optional<T> pop() {
    for (;;) {
      if (cpos_ < cend_) {
        // Safety: [cpos_, cend_) was claimed by the owner ([C2]) and written by the owner.
        std::optional<T> item(slot(cons_ctr_, cpos_).take());
        ++cpos_;
        // [P2] release: one fewer item in the queue.
        owner_count_.store(--count_, std::memory_order_release);
        return item;
      }
      if (!consumer_claim()) return std::nullopt;
    }
  }

  // Called by the owner of `thief` (its own queue), never by this queue's owner: takes
  // steal_count(len, half) items, oldest first (at most what fits in `thief`, plus the one
  // returned), pushes all but the first into `thief` and returns the first.
  std::optional<T> steal_into(BwosQueue& thief, bool half) {
    assert(&thief != this);
    const std::size_t want = steal_count(size_hint(), half);
    if (want == 0) return std::nullopt;
    const std::size_t n = std::min(want, thief.owner_room(want - 1) + 1);
    std::optional<T> first;
    steal_batch(n, [&](T&& t) {
      if (!first.has_value()) {
        first.emplace(std::move(t));
        return;
      }
      // owner_room promised the space: a block it counted stays free until we fill it (its
      // `stolen` is final once the consumer has left it). Unreachable otherwise; abort rather
      // than lose an item.
      if (!thief.try_push(t)) std::abort();
    });
    return first;
  }

  std::size_t size_hint() const {
    // [Z1] seq_cst: see the map; the stolen side first.
    const std::uint64_t stolen = stolen_total_.load(std::memory_order_seq_cst);
    // [Z2] seq_cst: pairs with [P2].
    const std::uint64_t owned = owner_count_.load(std::memory_order_seq_cst);
    return owned > stolen
               ? static_cast<std::size_t>(std::min<std::uint64_t>(owned - stolen, capacity_()))
               : 0;
  }

 private:
  using Word = std::uint64_t;
  static constexpr unsigned kIndexBits = 32;
  static constexpr Word kIndexMask = (Word{1} << kIndexBits) - 1;
  static constexpr Word pack(std::uint64_t round, std::size_t index) {
    return (round << kIndexBits) | static_cast<Word>(index);
  }
  static constexpr std::uint32_t round_of(Word w) { return static_cast<std::uint32_t>(w >> 32); }
  static constexpr std::size_t index_of(Word w) { return static_cast<std::size_t>(w & kIndexMask); }
  // The layout in the head comment: an index up to B (B <= capacity) fits, and a fetch_add of
  // at most B on `stolen` never carries into the round.
  static_assert(pack(5, 7) == (Word{5} << 32 | 7));
  static_assert(round_of(pack(0xFFFFFFFFu, 3)) == 0xFFFFFFFFu && index_of(pack(9, 3)) == 3);
  static_assert(index_of(pack(1, kDefaultLocalCapacity)) == kDefaultLocalCapacity);

  struct Block {
    // Written by the owner (store: [P1] per push, [P4] at reset); read by thieves ([S4]). Own
    // line: the owner writes it on every push.
    alignas(kCacheLine) Atom<Word> committed;
    // Written by thieves (CAS [S5]) and the owner ([C2], [P5] reset); read by both.
    // Own line: this is the only word owner and thieves both write.
    alignas(kCacheLine) Atom<Word> reserved;
    // Written by thieves (fetch_add [S6]) and the owner ([P4] reset); read by the owner at the
    // reuse check ([P3]). Own line: thieves' traffic must not touch committed's line.
    alignas(kCacheLine) Atom<Word> stolen;
  };

  std::size_t capacity_() const { return num_blocks_ * block_size_; }
  std::uint64_t round(std::uint64_t ctr) const { return ctr >> block_shift_; }
  Block& block(std::uint64_t ctr) { return blocks_[ctr & (num_blocks_ - 1)]; }
  detail::RawSlot<T>& slot(std::uint64_t ctr, std::size_t i) {
    return slots_[(ctr & (num_blocks_ - 1)) * block_size_ + i];
  }

  // --- owner: producer ---------------------------------------------------------------------

  // Moves `item` in and returns true, or returns false (full) and leaves `item` alone.
  bool try_push(T& item) {
    if (ppos_ == block_size_ && !advance_producer()) return false;
    // Safety: slot ppos_ of the producer's block is beyond committed, so no thief reads it
    // (B1), and [P3] ordered the last round's readers before us.
    slot(prod_ctr_, ppos_).put(std::move(item));
    ++ppos_;
    // [P1] release: publish the item to thieves. Pairs with [S4].
    block(prod_ctr_).committed.store(pack(round(prod_ctr_), ppos_), std::memory_order_release);
    // [P2] release: one more item. Pairs with [Z2].
    owner_count_.store(++count_, std::memory_order_release);
    return true;
  }

  // True if the block with counter `next` is free for the producer: the consumer has left its
  // previous round and every thief of that round has finished (B4, B5).
  bool block_free(std::uint64_t next) {
    if (next < num_blocks_) return true;  // first round: never used
    const std::uint64_t prev = next - num_blocks_;
    if (cons_ctr_ <= prev) return false;
    const std::size_t b = next & (num_blocks_ - 1);
    // [P3] acquire: pairs with [S6]; the thieves' reads happen before our overwrites.
    return block(next).stolen.load(std::memory_order_acquire) ==
           pack(round(prev), block_size_ - owner_claimed_[b]);
  }

  bool advance_producer() {
    const std::uint64_t next = prod_ctr_ + 1;
    if (next >= num_blocks_) consumer_catch_up(next - num_blocks_);
    if (!block_free(next)) return false;
    const std::uint64_t r = round(next);
    owner_claimed_[next & (num_blocks_ - 1)] = 0;
    Block& nb = block(next);
    // [P4] relaxed: published by [P5].
    nb.committed.store(pack(r, 0), std::memory_order_relaxed);
    nb.stolen.store(pack(r, 0), std::memory_order_relaxed);  // [P4]
    // [P5] release: the block is in round r and empty. Pairs with [S3].
    nb.reserved.store(pack(r, 0), std::memory_order_release);
    prod_ctr_ = next;
    ppos_ = 0;
    // [P6] release: thieves may scan up to here. Pairs with [S2].
    prod_pub_.store(next, std::memory_order_release);
    return true;
  }

  // How many more items the producer can take without spilling, counted up to `need`. Does not
  // move the consumer (only the owner's own pop does), so a block it counts stays free.
  std::size_t owner_room(std::size_t need) {
    std::size_t room = block_size_ - ppos_;
    for (std::uint64_t next = prod_ctr_ + 1; room < need && block_free(next); ++next) {
      room += block_size_;
    }
    return room;
  }

  // --- owner: consumer ---------------------------------------------------------------------

  // Claims more of the consumer's block ([cpos_, cend_) non-empty afterwards), or moves the
  // consumer to the next block. False if there is nothing to claim and nowhere to move.
  bool consumer_claim() {
    Block& b = block(cons_ctr_);
    const bool open = cons_ctr_ == prod_ctr_;  // the producer is still filling it
    const std::size_t end = open ? ppos_ : block_size_;
    // [C1] relaxed: only thieves move reserved past our last claim, never past `end` (B1), and
    // it only grows (B2).
    const Word seen = b.reserved.load(std::memory_order_relaxed);
    assert(round_of(seen) == static_cast<std::uint32_t>(round(cons_ctr_)));
    if (index_of(seen) != end) {
      if (!open || end - index_of(seen) == 1) {
        // A block the producer has left: the rest of it (the paper's takeover); or the last
        // item committed. [C2] relaxed: take [old, end). Arbitration with [S5] only.
        const Word old =
            b.reserved.exchange(pack(round(cons_ctr_), end), std::memory_order_relaxed);
        if (claimed(old, end)) return true;
      } else if (claim_one(b, seen, end)) {
        return true;
      }
    }
    if (open) return false;
    // Closed and fully claimed (reserved == B): the consumer leaves the block.
    ++cons_ctr_;
    cpos_ = cend_ = 0;
    // [C3] release: thieves start their scan here. Pairs with [S1].
    cons_pub_.store(cons_ctr_, std::memory_order_release);
    return true;
  }

  // The block the producer is still filling, with more than one item: claims one item, popped
  // at once, so the rest stays stealable while the owner runs it (D1). False if thieves took
  // everything first.
  bool claim_one(Block& b, Word seen, std::size_t end) {
    for (Word cur = seen; index_of(cur) != end;) {
      // [C2] relaxed: take [cur, cur + 1). Arbitration with [S5] only.
      if (b.reserved.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed,
                                           std::memory_order_relaxed)) {
        return claimed(cur, index_of(cur) + 1);
      }
    }
    return false;
  }

  // Records the owner's claim of [index(from), to) of the consumer's block; false if empty.
  bool claimed(Word from, std::size_t to) {
    assert(index_of(from) <= to);
    owner_claimed_[cons_ctr_ & (num_blocks_ - 1)] +=
        static_cast<std::uint32_t>(to - index_of(from));
    cpos_ = index_of(from);
    cend_ = to;
    return cpos_ < cend_;
  }

  // D6: moves the consumer past block counter `prev` if it would only pass through (nothing of
  // its own left to pop there). Stops at the first block where it claims items.
  void consumer_catch_up(std::uint64_t prev) {
    while (cons_ctr_ <= prev && cpos_ == cend_) consumer_claim();
  }

  // --- thieves -----------------------------------------------------------------------------

  // Claims and hands to `sink(T&&)` up to `n` items, oldest first; returns how many.
  template <class Sink>
  std::size_t steal_batch(std::size_t n, Sink&& sink) {
    std::size_t taken = 0;
    // A scan that meets a block already in a later round is stale: look once more from the
    // current counters; a second stale scan gives up (a spurious "empty", as a failed CAS).
    for (int scan = 0; scan < 2 && taken < n; ++scan) {
      // [S1] acquire: pairs with [C3]; [S2] below then reads a producer counter >= this one.
      const std::uint64_t cons = cons_pub_.load(std::memory_order_acquire);
      // [S2] acquire: pairs with [P6].
      const std::uint64_t prod = prod_pub_.load(std::memory_order_acquire);
      bool stale = false;
      for (std::uint64_t ctr = cons; ctr <= prod && taken < n && !stale; ++ctr) {
        stale = !steal_from_block(ctr, n, taken, sink);
      }
      if (!stale) break;
    }
    return taken;
  }

  // Steals from the block with counter `ctr` until `taken` reaches `n` or the block has nothing
  // stealable. False if the block is no longer in round(ctr) (the scan is stale).
  template <class Sink>
  bool steal_from_block(std::uint64_t ctr, std::size_t n, std::size_t& taken, Sink& sink) {
    Block& b = block(ctr);
    const auto v = static_cast<std::uint32_t>(round(ctr));
    // [S3] acquire: pairs with [P5] (the reset), so [S4] reads this round's committed.
    Word r = b.reserved.load(std::memory_order_acquire);
    while (taken < n) {
      if (round_of(r) != v) return false;
      if (index_of(r) == block_size_) return true;  // all claimed: the next block
      // [S4] acquire: pairs with [P1]; the slots below committed are written.
      const Word c = b.committed.load(std::memory_order_acquire);
      if (round_of(c) != v) return false;
      if (index_of(c) <= index_of(r)) return true;  // the producer's block, nothing new
      const std::size_t k = std::min(index_of(c) - index_of(r), n - taken);
      // [S5] acquire on failure: the reloaded r is used as [S3]'s. On success the CAS only
      // arbitrates ([S4] gave visibility); acquire there too because GCC 12 warns about a failure
      // order stronger than the success order (legal since C++17).
      if (!b.reserved.compare_exchange_weak(r, r + k, std::memory_order_acquire,
                                            std::memory_order_acquire)) {
        continue;
      }
      // Safety: [index(r), index(r) + k) is ours alone (B3) and written ([S4]); the producer
      // will not overwrite it before [S6] (B5).
      for (std::size_t i = index_of(r); i < index_of(r) + k; ++i) sink(slot(ctr, i).take());
      // [S6] release: our reads are done. Pairs with [P3].
      b.stolen.fetch_add(k, std::memory_order_release);
      // [S7] relaxed: the length only. Read by [Z1].
      stolen_total_.fetch_add(k, std::memory_order_relaxed);
      taken += k;
      r += k;
    }
    return true;
  }

  // --- fields ------------------------------------------------------------------------------

  // Read-only after construction.
  const std::size_t num_blocks_;
  const std::size_t block_size_;
  const unsigned block_shift_;  // log2(num_blocks_): round(ctr) = ctr >> block_shift_
  const std::unique_ptr<Block[]> blocks_;
  // The items: block b's slots are [b * B, (b + 1) * B). Handed over as described at each use.
  const std::unique_ptr<detail::RawSlot<T>[]> slots_;

  // Owner-only plain state (written and read by the owner's thread alone). Its own line so that
  // thieves' traffic on the words below never evicts it.
  alignas(kCacheLine) std::uint64_t prod_ctr_ = 0;  // block counter the producer fills
  std::size_t ppos_ = 0;                            // next slot there (== index(committed))
  std::uint64_t cons_ctr_ = 0;                      // block counter the consumer is in
  std::size_t cpos_ = 0;                            // consumer's claimed run [cpos_, cend_)
  std::size_t cend_ = 0;
  std::uint64_t count_ = 0;  // pushed minus popped by the owner (mirror of owner_count_)
  // Per block: slots the owner claimed this round (D2).
  const std::unique_ptr<std::uint32_t[]> owner_claimed_;
  std::vector<T> spill_buf_;  // scratch for push's spill batch

  // Written by the owner (stores at block moves, and per push/pop for the count); read by
  // thieves and size_hint. Own line: the owner's stores here must not evict its plain state.
  alignas(kCacheLine) Atom<std::uint64_t> prod_pub_{0};  // [P6] / [S2]
  Atom<std::uint64_t> cons_pub_{0};                      // [C3] / [S1]
  Atom<std::uint64_t> owner_count_{0};                   // [P2] / [Z2]
  // Written by thieves (fetch_add [S7]); read by size_hint. Own line: thieves' RMWs must not
  // bounce the owner's line above.
  alignas(kCacheLine) Atom<std::uint64_t> stolen_total_{0};
};

struct BwosVariant {
  static constexpr std::string_view name = "bwos";
  template <class T>
  using LocalQueue = BwosQueue<T>;
  template <class T>
  using Injector = VyukovInjector<T>;
  using Steal = StealHalf<RandomVictim, ExponentialBackoff>;
};

static_assert(LocalQueue<BwosQueue<void*>, void*>);
static_assert(Variant<BwosVariant>);

}  // namespace weft::variants
