// ChaseLevDeque on its own: what is specific to Chase-Lev beyond the typed suite in
// queue_test.cpp (owner LIFO, thieves FIFO, growth from capacity 2, retired buffers kept until
// the deque dies, and a resize storm with every item taken exactly once).
#include "weft/variants/chase_lev.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "weft/variants/concepts.hpp"
#include "weft/variants/steal.hpp"

namespace weft_test {

// std::atomic that counts live instances (outside the anonymous namespace: it is a template
// argument of a class with external linkage): every atomic the deque owns goes through its Atom
// parameter, so the count is top_ + bottom_ + buffer_ + every slot of every buffer.
inline std::atomic<std::int64_t> g_live_atoms{0};

template <class U>
struct CountingAtomic : std::atomic<U> {
  CountingAtomic() noexcept : std::atomic<U>() { g_live_atoms.fetch_add(1); }
  CountingAtomic(U v) noexcept : std::atomic<U>(v) { g_live_atoms.fetch_add(1); }  // NOLINT
  ~CountingAtomic() { g_live_atoms.fetch_sub(1); }
};

namespace {

using weft::variants::ChaseLevDeque;
using Clock = std::chrono::steady_clock;

// A bound on every wait, not a speed assertion; below ctest's TIMEOUT so a stuck run reports.
constexpr auto kBound = std::chrono::seconds(60);

struct NoSpill {
  template <class Span>
  void operator()(Span batch) const {
    ADD_FAILURE() << "an unbounded deque spilled " << batch.size() << " items";
  }
};

using Deque = ChaseLevDeque<std::size_t>;

TEST(ChaseLevDeque, OwnerPopsLifoAcrossGrowthFromCapacityTwo) {
  Deque q(2);
  EXPECT_EQ(q.capacity(), 2u);
  constexpr std::size_t kN = 1000;
  for (std::size_t i = 0; i < kN; ++i) q.push(i, NoSpill{});
  EXPECT_EQ(q.capacity(), 1024u);
  EXPECT_EQ(q.size_hint(), kN);
  for (std::size_t i = kN; i > 0; --i) {
    std::optional<std::size_t> got = q.pop();
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(*got, i - 1);
  }
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_EQ(q.size_hint(), 0u);
}

TEST(ChaseLevDeque, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(Deque(0).capacity(), 2u);
  EXPECT_EQ(Deque(3).capacity(), 4u);
  EXPECT_EQ(Deque(64).capacity(), 64u);
  EXPECT_EQ(Deque().capacity(), weft::variants::kDefaultLocalCapacity);
}

TEST(ChaseLevDeque, StealOneTakesTheOldestFirst) {
  Deque victim(2);
  Deque thief;
  for (std::size_t i = 0; i < 10; ++i) victim.push(i, NoSpill{});
  for (std::size_t i = 0; i < 10; ++i) {
    std::optional<std::size_t> got = victim.steal_into(thief, /*half=*/false);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, i);
    EXPECT_EQ(thief.size_hint(), 0u);
  }
  EXPECT_FALSE(victim.steal_into(thief, false).has_value());
}

// steal half returns the oldest item and pushes the next ones (oldest first) into the thief,
// whose owner then pops them LIFO; the batch is half rounded up, capped at kMaxBatch.
TEST(ChaseLevDeque, StealHalfMovesTheOldestHalfRoundedUpIntoTheThief) {
  Deque victim;
  Deque thief;
  for (std::size_t i = 0; i < 9; ++i) victim.push(i, NoSpill{});
  std::optional<std::size_t> got = victim.steal_into(thief, /*half=*/true);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, 0u);
  EXPECT_EQ(thief.size_hint(), 4u);  // steal_count(9) = 5: one returned, four pushed
  EXPECT_EQ(victim.size_hint(), 4u);
  for (std::size_t want : {4u, 3u, 2u, 1u}) {
    EXPECT_EQ(thief.pop(), std::optional<std::size_t>(want));
  }
  for (std::size_t want : {8u, 7u, 6u, 5u}) {
    EXPECT_EQ(victim.pop(), std::optional<std::size_t>(want));
  }

  for (std::size_t i = 0; i < 1000; ++i) victim.push(i, NoSpill{});
  got = victim.steal_into(thief, true);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, 0u);
  EXPECT_EQ(thief.size_hint(), weft::variants::kMaxBatch - 1);
  EXPECT_EQ(victim.size_hint(), 1000 - weft::variants::kMaxBatch);
}

// Single-threaded, a deterministic mix of push, pop, steal-one and steal-half from capacity 2
// matches a std::deque model exactly (pop at the back, steal at the front), through growth and
// many wrap-arounds of each buffer.
TEST(ChaseLevDeque, MixedOperationsMatchADequeModelThroughGrowth) {
  Deque q(2);
  Deque thief;
  std::deque<std::size_t> model;
  std::uint64_t rng = 0x9E3779B97F4A7C15ULL;
  std::size_t next = 0;
  for (int step = 0; step < 200'000; ++step) {
    const std::uint64_t r = weft::variants::next_random(rng) % 16;
    if (r < 8) {
      q.push(next, NoSpill{});
      model.push_back(next++);
    } else if (r < 13) {
      std::optional<std::size_t> got = q.pop();
      ASSERT_EQ(got.has_value(), !model.empty());
      if (got) {
        ASSERT_EQ(*got, model.back());
        model.pop_back();
      }
    } else {
      const bool half = r == 15;
      const std::size_t n = weft::variants::steal_count(model.size(), half);
      std::optional<std::size_t> got = q.steal_into(thief, half);
      ASSERT_EQ(got.has_value(), n != 0);
      if (!got) continue;
      ASSERT_EQ(*got, model.front());
      model.pop_front();
      // The rest of the batch is in the thief, oldest pushed first: it pops them newest first.
      ASSERT_EQ(thief.size_hint(), n - 1);
      for (std::size_t i = n - 1; i > 0; --i) {
        ASSERT_EQ(thief.pop(), std::optional<std::size_t>(model[i - 1]));
      }
      model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(n - 1));
    }
    ASSERT_EQ(q.size_hint(), model.size());
  }
}

// --- retired buffers -----------------------------------------------------------------------

TEST(ChaseLevDeque, RetiredBuffersLiveUntilTheDequeDiesAndAreThenFreed) {
  using Counted = ChaseLevDeque<std::size_t, CountingAtomic>;
  static_assert(weft::variants::LocalQueue<Counted, std::size_t>);
  const std::int64_t before = g_live_atoms.load();
  {
    Counted q(2);
    Counted thief(2);
    constexpr std::size_t kN = 5000;
    for (std::size_t i = 0; i < kN; ++i) q.push(i, NoSpill{});
    ASSERT_EQ(q.capacity(), 8192u);
    // 2 + 4 + ... + 8192 slots (every buffer, retired ones included) + 3 per deque, and the
    // thief's 2 slots + 3.
    const std::int64_t slots = 2 * 8192 - 2;
    EXPECT_EQ(g_live_atoms.load() - before, slots + 3 + 2 + 3);
    // A thief holding a retired buffer's pointer could still read it: stealing after growth
    // reads through the current buffer and finds every item.
    for (std::size_t i = 0; i < 10; ++i) {
      ASSERT_EQ(q.steal_into(thief, false), std::optional<std::size_t>(i));
    }
    for (std::size_t i = kN; i > 10; --i) ASSERT_EQ(q.pop(), std::optional<std::size_t>(i - 1));
    EXPECT_EQ(g_live_atoms.load() - before, slots + 3 + 2 + 3) << "a buffer was freed early";
  }
  EXPECT_EQ(g_live_atoms.load(), before) << "a buffer outlived its deque";
}

// --- resize storm --------------------------------------------------------------------------

constexpr std::size_t kStormItems = 1'000'000;
constexpr std::size_t kStormRounds = 64;

// The payload is plain data written by the owner just before the push and read by whoever
// takes the item: ThreadSanitizer checks that a push publishes it ([U6] -> [S3]).
struct Item {
  std::size_t payload = 0;
};

// One owner fills a fresh capacity-2 deque per round (kStormRounds rounds, so the thieves race
// dozens of growths each round), popping one item per 8 pushes and draining the rest at the end
// of the round; three thieves steal from the current round's deque (two half, one single) into
// their own deques and drain those. Every item must be taken exactly once.
TEST(ChaseLevDeque, ResizeStormOwnerAndThreeThievesTakeEachItemOnce) {
  using ItemDeque = ChaseLevDeque<Item*>;
  std::vector<Item> items(kStormItems);
  std::vector<std::atomic<std::uint8_t>> flags(kStormItems);
  std::vector<std::unique_ptr<ItemDeque>> victims;
  for (std::size_t r = 0; r < kStormRounds; ++r) victims.push_back(std::make_unique<ItemDeque>(2));
  std::atomic<std::size_t> current{0};
  std::atomic<std::size_t> taken{0};
  std::atomic<std::size_t> twice{0};
  std::atomic<std::size_t> by_thieves{0};
  const auto deadline = Clock::now() + kBound;
  auto take = [&](Item* item) {
    const std::size_t i = item->payload;
    if (i >= kStormItems || &items[i] != item || flags[i].fetch_add(1) != 0) twice.fetch_add(1);
    taken.fetch_add(1, std::memory_order_relaxed);
  };
  auto more_to_take = [&] { return taken.load() < kStormItems && Clock::now() < deadline; };

  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t) {
    thieves.emplace_back([&, half = t != 2] {
      ItemDeque mine(2);
      std::size_t n = 0;
      while (more_to_take()) {
        ItemDeque& victim = *victims[current.load(std::memory_order_acquire)];
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

  std::size_t growths = 0;
  const std::size_t per_round = kStormItems / kStormRounds;
  for (std::size_t r = 0; r < kStormRounds; ++r) {
    current.store(r, std::memory_order_release);
    ItemDeque& victim = *victims[r];
    const std::size_t end = r + 1 == kStormRounds ? kStormItems : (r + 1) * per_round;
    for (std::size_t i = r * per_round; i < end; ++i) {
      items[i].payload = i;  // plain write, published by the push
      victim.push(&items[i], NoSpill{});
      if (i % 8 == 7) {
        if (std::optional<Item*> own = victim.pop()) take(*own);
      }
    }
    while (std::optional<Item*> own = victim.pop()) take(*own);
    growths += static_cast<std::size_t>(std::countr_zero(victim.capacity())) - 1;
  }
  while (more_to_take()) std::this_thread::yield();
  for (std::thread& t : thieves) t.join();

  EXPECT_EQ(taken.load(), kStormItems) << "within " << kBound.count() << " s";
  EXPECT_EQ(twice.load(), 0u) << "items taken more than once";
  std::size_t bad = 0;
  for (std::size_t i = 0; i < kStormItems; ++i) {
    const unsigned n = flags[i].load();
    if (n != 1 && ++bad <= 5) ADD_FAILURE() << "item " << i << " taken " << n << " times";
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_GE(growths, kStormRounds) << "the storm did not make the deques grow";
  EXPECT_GT(by_thieves.load(), 0u) << "the thieves never stole";
  for (const auto& v : victims) EXPECT_EQ(v->size_hint(), 0u);
}

}  // namespace
}  // namespace weft_test
