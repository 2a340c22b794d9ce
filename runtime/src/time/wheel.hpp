// TimerWheel: a hierarchical timing wheel (Varghese & Lauck, "Hashed and Hierarchical Timing
// Wheels", SOSP 1987, scheme 7), laid out like Linux's kernel/time/timer.c: 6 levels of 64 slots,
// 1 ms ticks, a 64-bit occupancy bitmap per level.
//
// Level L has slots of 64^L ticks and holds the entries whose delta from the wheel's current tick
// is in [64^L, 64^(L+1)) when they are filed (level 0: [1, 64)); an entry is filed by
// level_for_delta(tick - current tick) and the slot (tick >> 6L) & 63, in O(1).
//
//   Level  Slot granularity      Range: deltas below     next_deadline_ns() early by at most
//     0       1 tick  = 1 ms        64 ticks = 64 ms      0 ticks (+ the sub-tick part)
//     1      64 ticks = 64 ms     2^12 ticks = 4.096 s    63 ticks
//     2    2^12 ticks = 4.096 s   2^18 ticks = 4.4 min    2^12 - 1 ticks
//     3    2^18 ticks = 4.4 min   2^24 ticks = 4.7 h      2^18 - 1 ticks
//     4    2^24 ticks = 4.7 h     2^30 ticks = 12.4 d     2^24 - 1 ticks
//     5    2^30 ticks = 12.4 d    2^36 ticks = 2.2 years  2^30 - 1 ticks
//   Firing error: 0 at every level (never early; late only by the caller's polling latency).
//
// Unlike Linux, which rounds an expiry up to its level's granularity and never cascades (so a
// timer fires late by up to that granularity), an entry here fires at its exact deadline: when a
// slot of level L >= 1 comes due (the wheel reaches its first tick), its entries *cascade*, each
// refiled by its exact deadline into a lower level, and the last step is exact to the nanosecond
// (the current slot, below). The last column is the price of the firing error being 0:
// next_deadline_ns() reports the start of the earliest occupied slot, which is a wake-up for a
// cascade and may precede the deadlines in that slot by up to granularity - 1 ticks (plus the
// deadline's offset inside its tick). The table is exposed below and asserted by
// tests/time/wheel_test.cpp.
//
// Range: deltas of 2^36 ticks and more are clamped to the last representable tick (delta
// 2^36 - 1, 2.2 years out) for filing only. The entry keeps its exact deadline; when that top-level
// slot comes due it is refiled, clamped again if still out of range, and fires on time.
//
// The current slot. Entries whose deadline lies in the current tick or earlier (an insert in the
// past, or a cascade landing on the current tick) sit in one unsorted list with a cached minimum
// deadline: insert lowers it, cancel leaves it (stale-low only causes an early wake-up), and poll
// recomputes it by one scan. poll moves the due ones to the expired list and fires from there,
// one at a time, so it can stop after max_fire and resume, and `fire` may insert or cancel.
//
// Invariants (tick_ is the wheel's current tick, g = 64^L):
//   - every entry in a level-L slot has slot start S = floor(filed tick / g) * g with
//     tick_ <= S < tick_ + 64g, so the 64 slots of a level never alias and the earliest one is
//     found by rotating the bitmap to tick_'s slot and counting trailing zeros; a slot "behind"
//     tick_'s index belongs to the next rotation (S == tick_ only inside a poll, or after one
//     that max_fire stopped);
//   - tick_ never passes an occupied slot's start: poll advances it only to the earliest slot
//     start (and cascades that slot) or, when none is due, to the polled time's tick;
//   - entries in the current and expired lists have ticks <= tick_; expired ones are due.
//
// Not thread-safe and no atomics: the caller (weft::detail::Timers) holds a lock around every
// call. Nothing allocates: entries are intrusive (a sleeping coroutine's frame holds its
// TimerEntry) and the slot heads are arrays inside the wheel.
#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "weft/task/waker.hpp"
#include "weft/time/timer_entry.hpp"

namespace weft::time {

inline constexpr std::uint64_t kTickNs = 1'000'000;  // 1 ms
inline constexpr unsigned kLevelBits = 6;
inline constexpr unsigned kSlotsPerLevel = 1u << kLevelBits;  // 64
inline constexpr unsigned kLevels = 6;
inline constexpr std::uint64_t kRangeTicks = std::uint64_t{1} << (kLevelBits * kLevels);  // 2^36
inline constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

// Ticks per slot at `level`: 64^level.
constexpr std::uint64_t level_granularity_ticks(unsigned level) {
  return std::uint64_t{1} << (kLevelBits * level);
}
// Deltas (ticks from the current tick) filed at `level` are below this: 64^(level+1).
constexpr std::uint64_t level_range_ticks(unsigned level) {
  return std::uint64_t{1} << (kLevelBits * (level + 1));
}
// The level an entry `delta_ticks` ahead of the current tick is filed at (the top level for
// deltas past the range, which are clamped).
constexpr unsigned level_for_delta(std::uint64_t delta_ticks) {
  delta_ticks = std::min(delta_ticks, kRangeTicks - 1);
  return (static_cast<unsigned>(std::bit_width(delta_ticks | (kSlotsPerLevel - 1))) - 1) /
         kLevelBits;
}
static_assert(level_for_delta(63) == 0 && level_for_delta(64) == 1);
static_assert(level_for_delta(kRangeTicks - 1) == kLevels - 1);

class TimerWheel {
 public:
  explicit TimerWheel(std::uint64_t now_ns = 0) : now_ns_(now_ns), tick_(now_ns / kTickNs) {}
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // Files `e` (not linked) by its deadline_ns. O(1). A deadline in the current tick or earlier
  // goes to the current slot and fires on the first poll at or after it.
  void insert(TimerEntry& e) {
    assert(!e.linked_);
    ++size_;
    place(e);
  }

  // Unlinks `e` if it is pending. O(1). False if it was not (never inserted, fired, cancelled).
  bool cancel(TimerEntry& e) {
    if (!e.linked_) return false;
    unlink(e);
    --size_;
    return true;
  }

  // Advances the wheel to `now_ns` and calls fire(TimerEntry&) on each entry whose deadline_ns <=
  // now_ns, unlinked beforehand and never touched again afterwards (`fire` may insert and cancel,
  // this entry included). Entries fire in nondecreasing order of their deadline's tick (one
  // inserted already past counts at the wheel's tick then), in any order within a tick. Stops
  // after max_fire entries and returns max_fire; the next call resumes. Returns how many fired.
  // After a call that returns less than max_fire, nothing due at now_ns is left and
  // next_deadline_ns() > now_ns. The clock is monotonic: a now_ns below an earlier call's counts
  // as that one.
  template <class F>
  std::size_t poll(std::uint64_t now_ns, F&& fire, std::size_t max_fire = SIZE_MAX) {
    now_ns_ = std::max(now_ns_, now_ns);
    const std::uint64_t target = now_ns_ / kTickNs;
    std::size_t fired = 0;
    for (;;) {
      // 1. Fire what is known to be due. Popping one at a time lets `fire` insert and cancel.
      while (TimerEntry* e = heads_[kExpiredList]) {
        if (fired == max_fire) return fired;
        unlink(*e);
        --size_;
        ++fired;
        fire(*e);
      }
      // 2. Move the current slot's due entries to the expired list (skipped unless the cached
      //    minimum says one may be due).
      if (current_min_ns_ <= now_ns_ && collect_due()) continue;
      // 3. Cascade the earliest occupied slot, if it has come due; tick_ jumps to its start, so
      //    empty time costs nothing.
      const Slot s = earliest_slot();
      if (s.start_tick > target) break;
      tick_ = s.start_tick;
      cascade(s.list);
    }
    tick_ = target;  // no slot starts at or before target: tick_ passes no occupied slot
    return fired;
  }

  // When poll next has something to do: kNever if empty; the earliest deadline if it is in the
  // current slot (exact, or stale-low after a cancel); otherwise the start of the earliest
  // occupied slot, a lower bound (see the table). Never later than any pending deadline. O(levels).
  std::uint64_t next_deadline_ns() const {
    if (size_ == 0) return kNever;
    const std::uint64_t start = earliest_slot().start_tick;
    const std::uint64_t slot_ns = start > kNever / kTickNs ? kNever : start * kTickNs;
    return std::min({current_min_ns_, expired_min_ns_, slot_ns});
  }

 private:
  static constexpr std::uint16_t kCurrentList = kLevels * kSlotsPerLevel;
  static constexpr std::uint16_t kExpiredList = kCurrentList + 1;

  struct Slot {
    std::uint16_t list;
    std::uint64_t start_tick;  // kNever: no occupied slot
  };

  // Files `e` relative to tick_: the current slot if due in this tick or earlier, else a level.
  void place(TimerEntry& e) {
    const std::uint64_t tick = e.deadline_ns / kTickNs;
    if (tick <= tick_) {
      push(e, kCurrentList);
      current_min_ns_ = std::min(current_min_ns_, e.deadline_ns);
      return;
    }
    const std::uint64_t delta = std::min(tick - tick_, kRangeTicks - 1);  // clamp far deadlines
    const unsigned level = level_for_delta(delta);
    const unsigned slot = ((tick_ + delta) >> (kLevelBits * level)) & (kSlotsPerLevel - 1);
    push(e, static_cast<std::uint16_t>(level * kSlotsPerLevel + slot));
    occupied_[level] |= std::uint64_t{1} << slot;
  }

  void push(TimerEntry& e, std::uint16_t list) {
    e.list_ = list;
    e.linked_ = true;
    e.prev_ = nullptr;
    e.next_ = heads_[list];
    if (e.next_ != nullptr) e.next_->prev_ = &e;
    heads_[list] = &e;
  }

  // Unlinks `e`, keeps the bitmaps exact and resets an emptied list's cached minimum.
  void unlink(TimerEntry& e) {
    (e.prev_ != nullptr ? e.prev_->next_ : heads_[e.list_]) = e.next_;
    if (e.next_ != nullptr) e.next_->prev_ = e.prev_;
    e.prev_ = e.next_ = nullptr;
    e.linked_ = false;
    if (heads_[e.list_] != nullptr) return;
    if (e.list_ < kCurrentList) {
      occupied_[e.list_ / kSlotsPerLevel] &= ~(std::uint64_t{1} << (e.list_ % kSlotsPerLevel));
    } else if (e.list_ == kCurrentList) {
      current_min_ns_ = kNever;
    } else {
      expired_min_ns_ = kNever;
    }
  }

  // One scan of the current slot: due entries go to the expired list, the cached minimum becomes
  // exact. True if any was due.
  bool collect_due() {
    std::uint64_t pending_min = kNever;
    bool any = false;
    for (TimerEntry* e = heads_[kCurrentList]; e != nullptr;) {
      TimerEntry* next = e->next_;
      if (e->deadline_ns <= now_ns_) {
        unlink(*e);
        push(*e, kExpiredList);
        expired_min_ns_ = std::min(expired_min_ns_, e->deadline_ns);
        any = true;
      } else {
        pending_min = std::min(pending_min, e->deadline_ns);
      }
      e = next;
    }
    current_min_ns_ = pending_min;
    return any;
  }

  // The earliest occupied slot over all levels. At level L the occupied slots' starts lie in
  // [tick_, tick_ + 64g): in index order from tick_'s own slot if tick_ is a multiple of g (then
  // that slot starts at tick_), else from the one after it (then tick_'s slot is a full rotation
  // ahead). Distinct levels may tie; the lower one wins, the other is cascaded next.
  Slot earliest_slot() const {
    Slot best{0, kNever};
    for (unsigned level = 0; level < kLevels; ++level) {
      const std::uint64_t bits = occupied_[level];
      if (bits == 0) continue;
      const unsigned shift = kLevelBits * level;
      const std::uint64_t g = level_granularity_ticks(level);
      const unsigned cur = (tick_ >> shift) & (kSlotsPerLevel - 1);
      const unsigned from = (tick_ & (g - 1)) == 0 ? cur : (cur + 1) % kSlotsPerLevel;
      const unsigned slot = (from + std::countr_zero(std::rotr(bits, from))) % kSlotsPerLevel;
      std::uint64_t start = (tick_ & ~(level_range_ticks(level) - 1)) + slot * g;
      if (start < tick_) start += level_range_ticks(level);  // the next rotation
      if (start < best.start_tick) {
        best = {static_cast<std::uint16_t>(level * kSlotsPerLevel + slot), start};
      }
    }
    return best;
  }

  // tick_ has reached the slot's start: refile each entry from there by its exact deadline. It
  // lands in the current slot or a lower level (or, clamped, the top level again).
  void cascade(std::uint16_t list) {
    TimerEntry* e = heads_[list];
    heads_[list] = nullptr;
    occupied_[list / kSlotsPerLevel] &= ~(std::uint64_t{1} << (list % kSlotsPerLevel));
    while (e != nullptr) {
      TimerEntry* next = e->next_;
      place(*e);
      e = next;
    }
  }

  std::uint64_t now_ns_;                      // the latest time polled (or constructed with)
  std::uint64_t tick_;                        // the current tick; <= now_ns_ / kTickNs
  std::size_t size_ = 0;                      // linked entries, all lists
  std::uint64_t current_min_ns_ = kNever;     // <= every deadline in the current list
  std::uint64_t expired_min_ns_ = kNever;     // <= every deadline in the expired list
  std::uint64_t occupied_[kLevels] = {};      // bit s of level L: slot s is nonempty
  TimerEntry* heads_[kExpiredList + 1] = {};  // level * 64 + slot, then current, expired
};

}  // namespace weft::time
