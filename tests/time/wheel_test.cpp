// The timer wheel on its own, driven by explicit times (no wall clock): the level table, exact
// firing (never early, in tick order, each entry once) under random and event-driven polling,
// cascades from years out, sub-tick exactness, batched polls, cancellation, and re-entrant fires.
#include "time/wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <random>
#include <vector>

namespace weft_test {
namespace {

using weft::time::kLevels;
using weft::time::kNever;
using weft::time::kRangeTicks;
using weft::time::kTickNs;
using weft::time::level_for_delta;
using weft::time::level_granularity_ticks;
using weft::time::level_range_ticks;
using weft::time::TimerEntry;
using weft::time::TimerWheel;

constexpr std::uint64_t kMs = kTickNs;
constexpr std::uint64_t kSec = 1000 * kMs;
constexpr std::uint64_t kDay = 86'400 * kSec;
constexpr std::uint64_t kYear = 365 * kDay;

std::uint64_t tick_of(std::uint64_t ns) { return ns / kTickNs; }

// A uniform value in [0, 2^bits) for bits drawn uniformly in [0, max_bits]: log-uniform spread.
std::uint64_t log_uniform(std::mt19937_64& rng, unsigned max_bits) {
  const unsigned bits = static_cast<unsigned>(rng() % (max_bits + 1));
  return bits == 0 ? 0 : rng() >> (64 - bits);
}

TEST(TimerWheelTest, LevelTableMatchesTheHeadComment) {
  // Granularity 64^L ticks; range 64^(L+1) ticks; in human time at 1 ms ticks.
  const std::uint64_t granularity[kLevels] = {1, 64, 4096, 262'144, 16'777'216, 1'073'741'824};
  for (unsigned l = 0; l < kLevels; ++l) {
    EXPECT_EQ(level_granularity_ticks(l), granularity[l]) << "level " << l;
    EXPECT_EQ(level_range_ticks(l), granularity[l] * 64) << "level " << l;
  }
  EXPECT_EQ(level_range_ticks(0) * kTickNs, 64 * kMs);
  EXPECT_EQ(level_range_ticks(1) * kTickNs, 4'096 * kMs);         // 4.096 s
  EXPECT_EQ(level_range_ticks(2) * kTickNs / (6 * kSec), 43u);    // 262 s = 4.4 min
  EXPECT_EQ(level_range_ticks(3) * kTickNs / (360 * kSec), 46u);  // 16777 s = 4.7 h
  EXPECT_EQ(level_range_ticks(4) * kTickNs / (kDay / 10), 124u);  // 12.4 d
  EXPECT_EQ(level_range_ticks(5) * kTickNs / (kYear / 10), 21u);  // 2.18 years
  EXPECT_EQ(kRangeTicks, level_range_ticks(kLevels - 1));
  EXPECT_EQ(kRangeTicks, std::uint64_t{1} << 36);

  // Each level's boundaries: the last delta of level L and the first of level L+1.
  EXPECT_EQ(level_for_delta(0), 0u);
  EXPECT_EQ(level_for_delta(1), 0u);
  for (unsigned l = 0; l + 1 < kLevels; ++l) {
    EXPECT_EQ(level_for_delta(level_range_ticks(l) - 1), l);
    EXPECT_EQ(level_for_delta(level_range_ticks(l)), l + 1);
  }
  EXPECT_EQ(level_for_delta(63), 0u);
  EXPECT_EQ(level_for_delta(64), 1u);
  EXPECT_EQ(level_for_delta(4095), 1u);
  EXPECT_EQ(level_for_delta(4096), 2u);
  // The range end: everything from 2^36 ticks on is clamped into the top level.
  EXPECT_EQ(level_for_delta(kRangeTicks - 1), kLevels - 1);
  EXPECT_EQ(level_for_delta(kRangeTicks), kLevels - 1);
  EXPECT_EQ(level_for_delta(~std::uint64_t{0}), kLevels - 1);
}

// Inserts `n` random timers into a wheel started at `start_ns` and polls forward in random steps.
// After every poll: exactly the timers with deadline <= now have fired, each once, in
// nondecreasing tick order; next_deadline_ns() is a lower bound of the earliest pending deadline
// and later than now.
void random_deadlines_fire_exactly_once(std::uint64_t start_ns, std::uint64_t seed) {
  constexpr std::size_t kTimers = 100'000;
  std::mt19937_64 rng(seed);
  std::vector<TimerEntry> entries(kTimers);
  std::vector<std::uint64_t> sorted(kTimers);
  TimerWheel wheel(start_ns);
  for (std::size_t i = 0; i < kTimers; ++i) {
    std::uint64_t d;
    if (i % 97 == 0) {
      d = start_ns - std::min<std::uint64_t>(start_ns, rng() % (2 * kSec));  // already past
    } else if (i % 2 == 0) {
      d = start_ns + rng() % (5 * kSec);  // dense: the first seconds
    } else {
      d = start_ns + log_uniform(rng, 53);  // every level, up to ~2^33 ms
    }
    entries[i].deadline_ns = d;
    sorted[i] = d;
    wheel.insert(entries[i]);
  }
  ASSERT_EQ(wheel.size(), kTimers);
  std::sort(sorted.begin(), sorted.end());
  ASSERT_LE(wheel.next_deadline_ns(), sorted[0]);

  std::vector<int> fire_count(kTimers, 0);
  std::size_t total = 0, early = 0, out_of_order = 0, still_linked = 0;
  std::uint64_t now = start_ns, last_tick = 0;
  std::size_t polls = 0;
  while (total < kTimers) {
    ASSERT_LT(++polls, 200'000u) << "the poll loop does not converge";
    // Fine steps (up to 16 ms) through the dense first seconds, then up to ~20 h.
    now += 1 + log_uniform(rng, now < start_ns + 6 * kSec ? 24 : 46);
    const std::size_t fired = wheel.poll(now, [&](TimerEntry& e) {
      ++fire_count[&e - entries.data()];
      if (e.deadline_ns > now) ++early;
      if (e.linked()) ++still_linked;
      const std::uint64_t tick = std::max(tick_of(e.deadline_ns), tick_of(start_ns));
      if (tick < last_tick) ++out_of_order;
      last_tick = tick;
    });
    total += fired;
    const auto due = std::upper_bound(sorted.begin(), sorted.end(), now) - sorted.begin();
    ASSERT_EQ(total, static_cast<std::size_t>(due)) << "now " << now;
    ASSERT_EQ(wheel.size(), kTimers - total);
    const std::uint64_t next = wheel.next_deadline_ns();
    if (total < kTimers) {
      ASSERT_LE(next, sorted[total]) << "next_deadline_ns is not a lower bound";
      ASSERT_GT(next, now) << "something due was left pending";
    }
  }
  EXPECT_EQ(early, 0u);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(still_linked, 0u);
  EXPECT_TRUE(std::all_of(fire_count.begin(), fire_count.end(), [](int c) { return c == 1; }));
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.next_deadline_ns(), kNever);
}

TEST(TimerWheelTest, RandomDeadlinesFireOnceInTickOrderNeverEarly) {
  random_deadlines_fire_exactly_once(0, 1);
}

// The top level's 64 slots wrap every 2^36 ticks; start just before a wrap, off a tick boundary.
TEST(TimerWheelTest, RandomDeadlinesFireOnceAcrossTheTopLevelWrap) {
  random_deadlines_fire_exactly_once((3 * kRangeTicks - 2'000) * kTickNs + 123'457, 2);
}

// A driver that sleeps until next_deadline_ns() and polls there fires every timer at exactly its
// deadline, in exact deadline order; the extra wake-ups are cascades, a few per timer at most.
TEST(TimerWheelTest, PollingAtNextDeadlineFiresEachTimerAtItsExactDeadline) {
  constexpr std::size_t kTimers = 20'000;
  std::mt19937_64 rng(3);
  std::vector<TimerEntry> entries(kTimers);
  TimerWheel wheel(0);
  for (std::size_t i = 0; i < kTimers; ++i) {
    entries[i].deadline_ns = i % 2 == 0 ? rng() % (10 * kSec) : log_uniform(rng, 53);
    wheel.insert(entries[i]);
  }
  std::size_t total = 0, polls = 0, inexact = 0, out_of_order = 0;
  std::uint64_t last = 0;
  for (std::uint64_t now; (now = wheel.next_deadline_ns()) != kNever;) {
    ASSERT_LT(++polls, 8 * kTimers);
    total += wheel.poll(now, [&](TimerEntry& e) {
      if (e.deadline_ns != now) ++inexact;
      if (e.deadline_ns < last) ++out_of_order;
      last = e.deadline_ns;
    });
  }
  EXPECT_EQ(total, kTimers);
  EXPECT_EQ(inexact, 0u);
  EXPECT_EQ(out_of_order, 0u);
}

TEST(TimerWheelTest, MillionInsertsThenCancelsLeaveTheWheelEmpty) {
  constexpr std::size_t kTimers = 1'000'000;
  std::mt19937_64 rng(4);
  std::vector<TimerEntry> entries(kTimers);
  TimerWheel wheel(5 * kSec);
  std::uint64_t min_deadline = kNever;
  for (auto& e : entries) {
    e.deadline_ns = log_uniform(rng, 60);  // past, current tick, every level, beyond the range
    min_deadline = std::min(min_deadline, e.deadline_ns);
    wheel.insert(e);
    ASSERT_TRUE(e.linked());
  }
  EXPECT_EQ(wheel.size(), kTimers);
  EXPECT_LE(wheel.next_deadline_ns(), min_deadline);

  std::vector<std::size_t> order(kTimers);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);  // unlink from the middle of slot lists
  std::size_t cancelled = 0;
  for (std::size_t i : order) cancelled += wheel.cancel(entries[i]);
  EXPECT_EQ(cancelled, kTimers);
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.next_deadline_ns(), kNever);
  EXPECT_FALSE(wheel.cancel(entries[0]));
  EXPECT_EQ(
      wheel.poll(100 * kYear, [](TimerEntry&) { ADD_FAILURE() << "fired a cancelled timer"; }), 0u);
}

// Far-future timers: several past the 2.2-year range (clamped, refiled at each top-level
// cascade). `step` gives the next poll time; each timer must fire at the first poll at or after
// its deadline.
template <class Step>
void far_timers_fire_on_time(std::uint64_t start_ns, Step step) {
  const std::uint64_t offsets[] = {kDay + 1,
                                   30 * kDay + kMs / 2,
                                   200 * kDay,
                                   kYear + 123,
                                   2 * kYear,
                                   (kRangeTicks - 1) * kTickNs,
                                   kRangeTicks * kTickNs,
                                   3 * kYear + 7,
                                   10 * kYear + kMs - 1};
  constexpr std::size_t kTimers = std::size(offsets);
  std::vector<TimerEntry> entries(kTimers);
  TimerWheel wheel(start_ns);
  for (std::size_t i = 0; i < kTimers; ++i) {
    entries[i].deadline_ns = start_ns + offsets[i];
    wheel.insert(entries[i]);
  }
  std::uint64_t prev = start_ns;
  std::size_t total = 0;
  while (total < kTimers) {
    const std::uint64_t now = step(prev);
    ASSERT_GT(now, prev);
    ASSERT_LE(wheel.next_deadline_ns(), [&] {
      std::uint64_t m = kNever;
      for (auto& e : entries) m = e.linked() ? std::min(m, e.deadline_ns) : m;
      return m;
    }());
    total += wheel.poll(now, [&](TimerEntry& e) {
      EXPECT_LE(e.deadline_ns, now);
      EXPECT_GT(e.deadline_ns, prev) << "fired late: due at an earlier poll";
    });
    prev = now;
  }
  EXPECT_TRUE(wheel.empty());
}

TEST(TimerWheelTest, FarFutureTimersFireAtTheirExactDeadlines) {
  for (std::uint64_t start : {std::uint64_t{0}, 7 * kYear + 12'345'678'901}) {
    // Poll one nanosecond before each deadline (nothing fires), then exactly at it.
    TimerWheel wheel(start);
    TimerEntry a, b, c;
    a.deadline_ns = start + 40 * kDay + 3;
    b.deadline_ns = start + kYear + kMs - 1;
    c.deadline_ns = start + 5 * kYear + 11;
    for (TimerEntry* e : {&a, &b, &c}) wheel.insert(*e);
    for (TimerEntry* e : {&a, &b, &c}) {
      EXPECT_EQ(wheel.poll(e->deadline_ns - 1, [](TimerEntry&) { ADD_FAILURE() << "early"; }), 0u);
      EXPECT_TRUE(e->linked());
      EXPECT_EQ(wheel.poll(e->deadline_ns, [&](TimerEntry& f) { EXPECT_EQ(&f, e); }), 1u);
      EXPECT_FALSE(e->linked());
    }
    EXPECT_TRUE(wheel.empty());
  }
}

TEST(TimerWheelTest, FarFutureTimersCascadeInBigSteps) {
  far_timers_fire_on_time(0, [](std::uint64_t t) { return t + 37 * kDay + 12'345; });
  far_timers_fire_on_time(kRangeTicks * kTickNs - kDay,
                          [](std::uint64_t t) { return t + 400 * kDay + 1; });
}

TEST(TimerWheelTest, FarFutureTimersCascadeInManySmallSteps) {
  std::mt19937_64 rng(5);
  // About 90K polls of up to 2 h each over the 10 years.
  far_timers_fire_on_time(0, [&](std::uint64_t t) { return t + 1 + rng() % (2 * 3600 * kSec); });
}

TEST(TimerWheelTest, DeadlineAtTheEndOfTimeFires) {
  TimerWheel wheel(0);
  TimerEntry e;
  e.deadline_ns = kNever - 1;
  wheel.insert(e);
  EXPECT_LE(wheel.next_deadline_ns(), e.deadline_ns);
  EXPECT_EQ(wheel.poll(kNever - 2, [](TimerEntry&) { ADD_FAILURE() << "early"; }), 0u);
  EXPECT_EQ(wheel.next_deadline_ns(), kNever - 1);
  EXPECT_EQ(wheel.poll(kNever, [](TimerEntry&) {}), 1u);
  EXPECT_TRUE(wheel.empty());
}

TEST(TimerWheelTest, DeadlinesInsideOneTickFireExactly) {
  TimerWheel wheel(0);
  TimerEntry early, late;
  early.deadline_ns = 1'200'000;  // 1.2 ms
  late.deadline_ns = 1'700'000;   // 1.7 ms: the same tick
  wheel.insert(late);
  wheel.insert(early);
  EXPECT_EQ(wheel.next_deadline_ns(), 1 * kMs);  // the slot's start: a lower bound
  std::vector<TimerEntry*> fired;
  EXPECT_EQ(wheel.poll(1'500'000, [&](TimerEntry& e) { fired.push_back(&e); }), 1u);
  EXPECT_EQ(fired, std::vector<TimerEntry*>{&early});
  EXPECT_EQ(wheel.next_deadline_ns(), 1'700'000u);  // exact inside the current tick
  EXPECT_EQ(wheel.poll(1'699'999, [](TimerEntry&) { ADD_FAILURE() << "early"; }), 0u);
  EXPECT_EQ(wheel.poll(1'700'000, [&](TimerEntry& e) { fired.push_back(&e); }), 1u);
  EXPECT_EQ(fired.back(), &late);
  EXPECT_EQ(wheel.next_deadline_ns(), kNever);
}

TEST(TimerWheelTest, PastDeadlinesFireOnTheNextPoll) {
  TimerWheel wheel(10 * kSec);
  TimerEntry past, now_exact;
  past.deadline_ns = 3 * kSec;
  now_exact.deadline_ns = 10 * kSec;
  wheel.insert(past);
  wheel.insert(now_exact);
  EXPECT_EQ(wheel.next_deadline_ns(), 3 * kSec);
  EXPECT_EQ(wheel.poll(10 * kSec, [](TimerEntry&) {}), 2u);
  // A poll with an earlier time counts as the latest one.
  wheel.insert(past);
  EXPECT_EQ(wheel.poll(0, [](TimerEntry&) {}), 1u);
}

TEST(TimerWheelTest, MaxFireStopsAndTheNextPollContinues) {
  constexpr std::size_t kTimers = 200;
  std::vector<TimerEntry> entries(kTimers);
  TimerWheel wheel(0);
  for (std::size_t i = 0; i < kTimers; ++i) {
    entries[i].deadline_ns = (kTimers - i) * 49'999;  // 0.05 .. 10 ms, inserted backwards
    wheel.insert(entries[i]);
  }
  std::vector<int> fire_count(kTimers, 0);
  std::uint64_t last_tick = 0;
  auto record = [&](TimerEntry& e) {
    ++fire_count[&e - entries.data()];
    EXPECT_GE(tick_of(e.deadline_ns), last_tick);
    last_tick = tick_of(e.deadline_ns);
  };
  const std::uint64_t now = 10 * kMs;
  EXPECT_EQ(wheel.poll(now, record, 64), 64u);
  EXPECT_LE(wheel.next_deadline_ns(), now);  // more is due
  // Between batches: cancel a timer not fired yet, and insert one already due.
  const auto pending = std::find(fire_count.begin(), fire_count.end(), 0) - fire_count.begin();
  EXPECT_TRUE(wheel.cancel(entries[pending]));
  TimerEntry extra;
  extra.deadline_ns = now - 1;
  wheel.insert(extra);
  std::size_t extra_fired = 0;
  auto record_any = [&](TimerEntry& e) {
    if (&e == &extra) {
      ++extra_fired;
    } else {
      record(e);
    }
  };
  EXPECT_EQ(wheel.poll(now, record_any, 64), 64u);
  EXPECT_EQ(wheel.poll(now, record_any, 64), 64u);
  EXPECT_EQ(wheel.poll(now, record_any, 64), 8u);  // 200 - 64 - 1 cancelled + 1 inserted = 136
  EXPECT_EQ(wheel.poll(now, record_any, 64), 0u);
  EXPECT_EQ(extra_fired, 1u);
  for (std::size_t i = 0; i < kTimers; ++i) {
    EXPECT_EQ(fire_count[i], static_cast<std::ptrdiff_t>(i) == pending ? 0 : 1) << i;
  }
  EXPECT_TRUE(wheel.empty());
}

TEST(TimerWheelTest, CancelInTheCurrentSlotAndAfterFire) {
  TimerWheel wheel(0);
  TimerEntry never_inserted, a, b;
  EXPECT_FALSE(wheel.cancel(never_inserted));
  a.deadline_ns = 1'600'000;
  b.deadline_ns = 1'700'000;
  wheel.insert(a);
  wheel.insert(b);
  EXPECT_EQ(wheel.poll(1'500'000, [](TimerEntry&) { ADD_FAILURE(); }), 0u);  // both now current
  EXPECT_EQ(wheel.next_deadline_ns(), 1'600'000u);
  EXPECT_TRUE(wheel.cancel(a));
  EXPECT_FALSE(wheel.cancel(a));
  // The cached minimum may be stale-low after a cancel: an early wake-up, never a late one.
  const std::uint64_t next = wheel.next_deadline_ns();
  EXPECT_GE(next, 1'600'000u);
  EXPECT_LE(next, 1'700'000u);
  EXPECT_EQ(wheel.poll(next, [](TimerEntry&) { ADD_FAILURE(); }), 0u);
  EXPECT_EQ(wheel.next_deadline_ns(), 1'700'000u);  // recomputed by that poll
  EXPECT_EQ(wheel.poll(1'700'000, [](TimerEntry&) {}), 1u);
  EXPECT_FALSE(wheel.cancel(b));  // fired
  // Cancelling the last entry of the current slot empties it outright.
  wheel.insert(a);
  EXPECT_TRUE(wheel.cancel(a));
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.next_deadline_ns(), kNever);
}

TEST(TimerWheelTest, FireMayReinsertAndCancel) {
  TimerWheel wheel(0);
  // A periodic timer re-armed from its own fire: 1, 2, ..., 10 ms in one poll.
  TimerEntry periodic;
  periodic.deadline_ns = kMs;
  wheel.insert(periodic);
  std::vector<std::uint64_t> times;
  auto rearm = [&](TimerEntry& e) {
    times.push_back(e.deadline_ns);
    if (times.size() < 10) {
      e.deadline_ns += kMs;
      wheel.insert(e);
    }
  };
  EXPECT_EQ(wheel.poll(10 * kMs + 500'000, rearm), 10u);
  EXPECT_EQ(times.size(), 10u);
  EXPECT_EQ(times.back(), 10 * kMs);
  EXPECT_TRUE(wheel.empty());

  // Two timers due together, each cancelling the other: exactly one fires.
  TimerEntry x, y;
  x.deadline_ns = y.deadline_ns = 20 * kMs;
  wheel.insert(x);
  wheel.insert(y);
  auto cancel_other = [&](TimerEntry& e) { EXPECT_TRUE(wheel.cancel(&e == &x ? y : x)); };
  EXPECT_EQ(wheel.poll(20 * kMs, cancel_other), 1u);
  EXPECT_TRUE(wheel.empty());
}

}  // namespace
}  // namespace weft_test
