// RingQueue on its own: what is specific to the Go/Tokio ring beyond the typed suite in
// queue_test.cpp (owner FIFO, the overflow batch, a steal in progress, the thief's refusal, and
// a stampede at the smallest useful capacity). Capacity 4, as Tokio's loom tests shrink theirs.
#include "weft/variants/ring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "weft/variants/concepts.hpp"
#include "weft/variants/steal.hpp"

namespace weft_test {
namespace {

using weft::variants::RingQueue;
using Clock = std::chrono::steady_clock;

// A bound on every wait, not a speed assertion; below ctest's TIMEOUT so a stuck run reports.
constexpr auto kBound = std::chrono::seconds(60);

using Ring = RingQueue<std::size_t>;
using Batch = std::vector<std::size_t>;

// Records every spill call as one batch.
struct RecordSpill {
  std::vector<Batch>* batches;
  void operator()(std::span<std::size_t> batch) const {
    batches->emplace_back(batch.begin(), batch.end());
  }
};

struct NoSpill {
  void operator()(std::span<std::size_t> batch) const {
    ADD_FAILURE() << "unexpected spill of " << batch.size() << " items";
  }
};

TEST(RingQueue, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(Ring().capacity(), 256u);
  EXPECT_EQ((RingQueue<std::size_t, 8>().capacity()), 8u);
  EXPECT_EQ(Ring(0).capacity(), 2u);
  EXPECT_EQ(Ring(3).capacity(), 4u);
  EXPECT_EQ(Ring(4).capacity(), 4u);
}

// Through thousands of wrap-arounds of a 4-slot ring, pop returns pushes in order.
TEST(RingQueue, OwnerPopsFifoAcrossWrapAround) {
  Ring q(4);
  std::size_t next_push = 0;
  std::size_t next_pop = 0;
  for (int round = 0; round < 5000; ++round) {
    const std::size_t pushes = 1 + static_cast<std::size_t>(round % 4);
    for (std::size_t i = 0; i < pushes; ++i) q.push(next_push++, NoSpill{});
    EXPECT_EQ(q.size_hint(), pushes);
    for (std::size_t i = 0; i < pushes; ++i) {
      ASSERT_EQ(q.pop(), std::optional<std::size_t>(next_pop++));
    }
    ASSERT_FALSE(q.pop().has_value());
  }
}

// A full ring with no thief moves its oldest half plus the new item to the spill in one call,
// and keeps the newer half in order.
TEST(RingQueue, OverflowSpillsTheOldestHalfPlusTheNewItemInOneBatch) {
  Ring q(4);
  std::vector<Batch> spills;
  for (std::size_t i = 0; i < 4; ++i) q.push(i, RecordSpill{&spills});
  EXPECT_TRUE(spills.empty());
  q.push(4, RecordSpill{&spills});
  ASSERT_EQ(spills.size(), 1u);
  EXPECT_EQ(spills[0], (Batch{0, 1, 4}));
  EXPECT_EQ(q.size_hint(), 2u);
  // Refill across the wrap and overflow again.
  for (std::size_t i = 5; i < 7; ++i) q.push(i, RecordSpill{&spills});
  EXPECT_EQ(spills.size(), 1u);
  q.push(7, RecordSpill{&spills});
  ASSERT_EQ(spills.size(), 2u);
  EXPECT_EQ(spills[1], (Batch{2, 3, 7}));
  for (std::size_t want : {5u, 6u}) {
    EXPECT_EQ(q.pop(), std::optional<std::size_t>(want));
  }
  EXPECT_FALSE(q.pop().has_value());

  // At the default capacity: 128 + 1 items in one batch.
  Ring big;
  spills.clear();
  for (std::size_t i = 0; i <= 256; ++i) big.push(i, RecordSpill{&spills});
  ASSERT_EQ(spills.size(), 1u);
  ASSERT_EQ(spills[0].size(), 129u);
  EXPECT_EQ(spills[0].front(), 0u);
  EXPECT_EQ(spills[0][127], 127u);
  EXPECT_EQ(spills[0].back(), 256u);
  EXPECT_EQ(big.size_hint(), 128u);
  EXPECT_EQ(big.pop(), std::optional<std::size_t>(128));
}

TEST(RingQueue, StealTakesTheOldestItemsFirst) {
  Ring victim;
  Ring thief;
  for (std::size_t i = 0; i < 7; ++i) victim.push(i, NoSpill{});
  // Half of 7, rounded up: 4. The oldest is returned, the next three land in the thief, FIFO.
  EXPECT_EQ(victim.steal_into(thief, /*half=*/true), std::optional<std::size_t>(0));
  EXPECT_EQ(thief.size_hint(), 3u);
  for (std::size_t want : {1u, 2u, 3u}) {
    EXPECT_EQ(thief.pop(), std::optional<std::size_t>(want));
  }
  EXPECT_EQ(victim.steal_into(thief, /*half=*/false), std::optional<std::size_t>(4));
  EXPECT_EQ(thief.size_hint(), 0u);
  for (std::size_t want : {5u, 6u}) {
    EXPECT_EQ(victim.pop(), std::optional<std::size_t>(want));
  }
  EXPECT_FALSE(victim.steal_into(thief, true).has_value());
}

// A thief whose own ring is more than half full takes nothing (Tokio's rule); at exactly half it
// steals, limited by the room left in its ring.
TEST(RingQueue, ThiefRefusesWhenItsOwnRingIsOverHalfFull) {
  Ring victim(4);
  for (std::size_t i = 0; i < 4; ++i) victim.push(i, NoSpill{});
  Ring thief(4);
  for (std::size_t i = 100; i < 103; ++i) thief.push(i, NoSpill{});
  EXPECT_FALSE(victim.steal_into(thief, true).has_value());
  EXPECT_FALSE(victim.steal_into(thief, false).has_value());
  EXPECT_EQ(victim.size_hint(), 4u);
  EXPECT_EQ(thief.size_hint(), 3u);

  EXPECT_EQ(thief.pop(), std::optional<std::size_t>(100));  // now exactly half full
  EXPECT_EQ(victim.steal_into(thief, true), std::optional<std::size_t>(0));
  EXPECT_EQ(thief.size_hint(), 3u);
  for (std::size_t want : {101u, 102u, 1u}) {
    EXPECT_EQ(thief.pop(), std::optional<std::size_t>(want));
  }

  // A big victim and a small thief at half: the batch is cut to the thief's room (2) + 1.
  Ring big;
  for (std::size_t i = 0; i < 200; ++i) big.push(i, NoSpill{});
  Ring small(4);
  small.push(1000, NoSpill{});
  small.push(1001, NoSpill{});
  EXPECT_EQ(big.steal_into(small, true), std::optional<std::size_t>(0));
  EXPECT_EQ(small.size_hint(), 4u);
  EXPECT_EQ(big.size_hint(), 197u);
}

// --- a steal in progress ---------------------------------------------------------------------

// An item whose move blocks once, on the gated thread, until released: it holds a thief between
// its claim and its release of the victim's head, deterministically.
struct Gate {
  std::atomic<bool> armed{false};
  std::atomic<bool> entered{false};
  std::atomic<bool> released{false};
};
thread_local bool t_gated_thread = false;

template <class Pred>
bool wait_until(Pred pred) {
  const auto deadline = Clock::now() + kBound;
  while (!pred()) {
    if (Clock::now() >= deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

class Gated {
 public:
  Gated(std::size_t id, Gate* gate) : id_(id), gate_(gate) {}
  Gated(Gated&& other) noexcept : id_(other.id_), gate_(other.gate_) {
    if (t_gated_thread && gate_->armed.exchange(false)) {
      gate_->entered.store(true);
      wait_until([&] { return gate_->released.load(); });
    }
  }
  Gated& operator=(Gated&&) noexcept = default;
  std::size_t id() const { return id_; }

 private:
  std::size_t id_;
  Gate* gate_;
};

std::optional<std::size_t> id_of(const std::optional<Gated>& g) {
  return g ? std::optional<std::size_t>(g->id()) : std::nullopt;
}

// While a thief copies out: other thieves back off, the owner still pops, and a push into the
// full ring spills only the new item (the thief is about to free room).
TEST(RingQueue, AStealInProgressMakesAFullPushSpillOnlyTheNewItem) {
  static_assert(weft::variants::LocalQueue<RingQueue<Gated>, Gated>);
  Gate gate;
  RingQueue<Gated> victim(4);
  for (std::size_t i = 0; i < 4; ++i) victim.push(Gated(i, &gate), [](std::span<Gated>) {});
  gate.armed.store(true);
  std::optional<std::size_t> thief_got;
  std::vector<std::size_t> thief_rest;
  std::thread thief([&] {
    t_gated_thread = true;
    RingQueue<Gated> mine(4);
    thief_got = id_of(victim.steal_into(mine, /*half=*/true));  // claims 0 and 1, blocks on 0
    while (std::optional<Gated> g = mine.pop()) thief_rest.push_back(g->id());
  });
  ASSERT_TRUE(wait_until([&] { return gate.entered.load(); }));

  RingQueue<Gated> other(4);
  EXPECT_FALSE(victim.steal_into(other, true).has_value()) << "a second thief did not back off";
  EXPECT_EQ(victim.size_hint(), 2u);
  EXPECT_EQ(id_of(victim.pop()), std::optional<std::size_t>(2));
  std::vector<std::vector<std::size_t>> spills;
  auto record = [&](std::span<Gated> batch) {
    spills.emplace_back();
    for (Gated& g : batch) spills.back().push_back(g.id());
  };
  victim.push(Gated(4, &gate), record);  // tail - steal == 4: full while the thief holds 0, 1
  ASSERT_EQ(spills.size(), 1u);
  EXPECT_EQ(spills[0], (std::vector<std::size_t>{4}));

  gate.released.store(true);
  thief.join();
  EXPECT_EQ(thief_got, std::optional<std::size_t>(0));
  EXPECT_EQ(thief_rest, (std::vector<std::size_t>{1}));
  // The thief's release moved `steal` up to the owner's `real`: the ring has room again.
  EXPECT_EQ(id_of(victim.pop()), std::optional<std::size_t>(3));
  for (std::size_t i = 5; i < 9; ++i) victim.push(Gated(i, &gate), record);
  EXPECT_EQ(spills.size(), 1u);
  for (std::size_t want = 5; want < 9; ++want) {
    EXPECT_EQ(id_of(victim.pop()), std::optional<std::size_t>(want));
  }
}

// Items left in a destroyed ring are destroyed exactly once (the ring holds any movable T).
TEST(RingQueue, DestructorDestroysTheItemsLeftExactlyOnce) {
  auto counter = std::make_shared<int>(0);
  {
    RingQueue<std::shared_ptr<int>> q(4);
    RingQueue<std::shared_ptr<int>> thief(4);
    std::size_t spilled = 0;
    auto spill = [&](std::span<std::shared_ptr<int>> batch) { spilled += batch.size(); };
    for (int i = 0; i < 7; ++i) q.push(counter, spill);  // 4 fit, the 5th spills 3, then 2 more
    EXPECT_EQ(spilled, 3u);
    EXPECT_TRUE(q.steal_into(thief, true).has_value());  // 2 of 4: one returned, one in thief
    EXPECT_EQ(counter.use_count(), 1 + 2 + 1);           // q holds 2, thief 1
  }
  EXPECT_EQ(counter.use_count(), 1);
}

// --- stampede ----------------------------------------------------------------------------------

constexpr std::size_t kStampedeItems = 1'000'000;

// Plain payload written by the owner just before the push: TSan checks that the push publishes
// it ([RP3] -> [RS2]) and that slot reuse is ordered ([RS4] -> [RP1]).
struct Item {
  std::size_t payload = 0;
};

struct StampedeCounts {
  std::size_t spill_calls = 0;
  std::size_t by_thieves = 0;
};

// One owner pushes every item into a ring of `capacity` (the thieves' rings too), popping once
// per `pop_every` pushes (0: only after the last push); three thieves (two half, one single)
// steal into their own rings and drain them. Every item must be taken exactly once: by a pop,
// a spill, or a thief.
StampedeCounts run_stampede(std::size_t capacity, std::size_t pop_every) {
  using ItemRing = RingQueue<Item*>;
  std::vector<Item> items(kStampedeItems);
  std::vector<std::atomic<std::uint8_t>> flags(kStampedeItems);
  ItemRing victim(capacity);
  std::atomic<std::size_t> taken{0};
  std::atomic<std::size_t> twice{0};
  std::atomic<std::size_t> by_thieves{0};
  const auto deadline = Clock::now() + kBound;
  auto take = [&](Item* item) {
    const std::size_t i = item->payload;
    if (i >= kStampedeItems || &items[i] != item || flags[i].fetch_add(1) != 0) twice.fetch_add(1);
    taken.fetch_add(1, std::memory_order_relaxed);
  };
  auto more_to_take = [&] { return taken.load() < kStampedeItems && Clock::now() < deadline; };

  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t) {
    thieves.emplace_back([&, half = t != 2] {
      ItemRing mine(capacity);
      std::size_t n = 0;
      while (more_to_take()) {
        std::optional<Item*> got = victim.steal_into(mine, half);
        if (!got) {
          std::this_thread::yield();
          continue;
        }
        take(*got);
        ++n;
        while (std::optional<Item*> own = mine.pop()) {
          take(*own);
          ++n;
        }
      }
      by_thieves.fetch_add(n);
    });
  }

  StampedeCounts counts;
  auto spill = [&](std::span<Item*> batch) {
    ++counts.spill_calls;
    EXPECT_TRUE(batch.size() == 1 || batch.size() == capacity / 2 + 1) << batch.size();
    for (Item* i : batch) take(i);
  };
  for (std::size_t i = 0; i < kStampedeItems; ++i) {
    items[i].payload = i;  // plain write, published by the push
    victim.push(&items[i], spill);
    if (pop_every != 0 && i % pop_every == pop_every - 1) {
      if (std::optional<Item*> own = victim.pop()) take(*own);
    }
  }
  while (more_to_take()) {
    if (std::optional<Item*> own = victim.pop()) {
      take(*own);
    } else {
      std::this_thread::yield();
    }
  }
  for (std::thread& t : thieves) t.join();

  EXPECT_EQ(taken.load(), kStampedeItems) << "within " << kBound.count() << " s";
  EXPECT_EQ(twice.load(), 0u) << "items taken more than once";
  std::size_t bad = 0;
  for (std::size_t i = 0; i < kStampedeItems; ++i) {
    const unsigned n = flags[i].load();
    if (n != 1 && ++bad <= 5) ADD_FAILURE() << "item " << i << " taken " << n << " times";
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(victim.size_hint(), 0u);
  counts.by_thieves = by_thieves.load();
  return counts;
}

// The smallest ring that has a half to spill: the full, spill and steal-in-progress states
// come up every few pushes.
TEST(RingQueue, StampedeAtCapacityFourTakesEachItemOnce) {
  const StampedeCounts c = run_stampede(4, 3);
  EXPECT_GT(c.spill_calls, 0u) << "a 4-slot ring never overflowed";
  EXPECT_GT(c.by_thieves, 0u) << "the thieves never stole";
}

// The default ring, and an owner that only pushes: its only head CAS is the overflow, so a
// thief's sight of the items rests on the tail ([RP3] -> [RS2]) alone, which TSan then checks.
TEST(RingQueue, StampedeAtTheDefaultCapacityWithAPushOnlyOwnerTakesEachItemOnce) {
  const StampedeCounts c = run_stampede(weft::variants::kDefaultLocalCapacity, 0);
  EXPECT_GT(c.by_thieves, 0u) << "the thieves never stole";
}

}  // namespace
}  // namespace weft_test
