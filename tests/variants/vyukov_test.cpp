// vyukov.hpp on its own: the bounded MPMC ring (single and batch operations), the injector's
// overflow path, and the ring as a local queue (spill, steal). crossbeam's scenario names:
// smoke, stress, stampede, destructors.
//
// Exactly-once: every item is a flag; whoever takes it does fetch_add and expects 0 back, and at
// the end each flag must read 1. Every concurrent test waits at most kBound and then fails
// instead of hanging; sanitizer builds run fewer items.
#include "weft/variants/vyukov.hpp"

#include <gtest/gtest.h>

#include "exactly_once.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>


namespace weft_test {
namespace {

using weft::variants::VyukovInjector;
using weft::variants::VyukovLocalQueue;
using weft::variants::VyukovMpmc;
using weft::variants::VyukovVariant;

constexpr std::size_t kStressItems = kSanitized ? 20'000 : 200'000;
constexpr auto kBound = std::chrono::seconds(60);  // a bound on waits, not a speed assertion

void expect_each_released_once(const std::atomic<int>* releases, std::size_t n) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int r = releases[i].load();
    if (r != 1 && ++bad <= 5) ADD_FAILURE() << "item " << i << " released " << r << " times";
  }
  EXPECT_EQ(bad, 0u);
}

// --- VyukovMpmc ----------------------------------------------------------------------------

TEST(VyukovMpmc, CapacityIsRoundedUpToAPowerOfTwoOfAtLeastTwo) {
  EXPECT_EQ(VyukovMpmc<int>(0).capacity(), 2u);
  EXPECT_EQ(VyukovMpmc<int>(1).capacity(), 2u);
  EXPECT_EQ(VyukovMpmc<int>(3).capacity(), 4u);
  EXPECT_EQ(VyukovMpmc<int>(256).capacity(), 256u);
  EXPECT_EQ(VyukovMpmc<int>().capacity(), weft::variants::kDefaultInjectorCapacity);
}

TEST(VyukovMpmc, SmokeFifoFullAndEmpty) {
  VyukovMpmc<int> q(4);
  EXPECT_FALSE(q.try_pop().has_value());
  EXPECT_EQ(q.size_hint(), 0u);
  for (int lap = 0; lap < 3; ++lap) {  // several laps: the sequence numbers wrap the ring
    for (int i = 0; i < 4; ++i) {
      int v = lap * 10 + i;
      EXPECT_TRUE(q.try_push(v));
    }
    int extra = 99;
    EXPECT_FALSE(q.try_push(extra)) << "a full ring refuses";
    EXPECT_EQ(extra, 99) << "a refused item is left alone";
    EXPECT_EQ(q.size_hint(), 4u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(q.try_pop(), lap * 10 + i);
    EXPECT_FALSE(q.try_pop().has_value());
    EXPECT_EQ(q.size_hint(), 0u);
  }
}

TEST(VyukovMpmc, BatchesTakeTheReadyRunInOrder) {
  VyukovMpmc<int> q(4);
  std::vector<int> in{0, 1, 2, 3, 4, 5};
  EXPECT_EQ(q.try_push_batch(std::span<int>(in)), 4u) << "only what fits";
  std::vector<int> out;
  EXPECT_EQ(q.try_pop_batch(3, [&](int&& v) { out.push_back(v); }), 3u);
  EXPECT_EQ(q.try_push_batch(std::span<int>(in).subspan(4)), 2u) << "wraps the ring";
  EXPECT_EQ(q.try_pop_batch(10, [&](int&& v) { out.push_back(v); }), 3u);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(q.try_pop_batch(10, [&](int&&) { ADD_FAILURE(); }), 0u);
}

// Four producers (two one by one, two in batches of 5) and four consumers (two one by one, two
// in batches of 7), at capacity 2, 4 and 1024: the ring is full or empty most of the time at
// the small ones, so every full/empty/stale-position branch runs.
class VyukovMpmcStress : public ::testing::TestWithParam<std::size_t> {};

TEST_P(VyukovMpmcStress, FourProducersFourConsumersTakeEachItemOnce) {
  constexpr std::size_t kProducers = 4;
  Items items(kStressItems);
  VyukovMpmc<Item*> q(GetParam());
  const auto deadline = std::chrono::steady_clock::now() + kBound;
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      const std::size_t begin = items.size() * p / kProducers;
      const std::size_t end = items.size() * (p + 1) / kProducers;
      std::vector<Item*> batch;
      std::size_t i = begin;
      while (i < end && std::chrono::steady_clock::now() < deadline) {
        if (p % 2 == 0) {
          Item* item = items[i];
          if (q.try_push(item)) {
            ++i;
          } else {
            std::this_thread::yield();
          }
          continue;
        }
        batch.clear();
        for (std::size_t j = i; j < std::min(end, i + 5); ++j) batch.push_back(items[j]);
        const std::size_t n = q.try_push_batch(std::span<Item*>(batch));
        i += n;
        if (n == 0) std::this_thread::yield();
      }
    });
  }
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      while (items.total() < items.size() && std::chrono::steady_clock::now() < deadline) {
        std::size_t n = 0;
        if (c % 2 == 0) {
          if (std::optional<Item*> i = q.try_pop()) {
            items.take(*i);
            n = 1;
          }
        } else {
          n = q.try_pop_batch(7, [&](Item*&& i) { items.take(i); });
        }
        if (n == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(items.total(), items.size());
  items.expect_each_taken_once();
  EXPECT_EQ(q.size_hint(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Capacities, VyukovMpmcStress, ::testing::Values(2, 4, 1024),
                         [](const auto& info) { return "capacity" + std::to_string(info.param); });

TEST(VyukovMpmc, DestructorReleasesTheItemsLeftExactlyOnce) {
  constexpr std::size_t kN = 7;
  auto releases = std::make_unique<std::atomic<int>[]>(kN);
  {
    VyukovMpmc<Tracked> q(8);
    for (std::size_t i = 0; i < kN; ++i) {
      Tracked t(i, releases.get());
      ASSERT_TRUE(q.try_push(t));
    }
    // Two taken out (and released here), five left for the destructor; move the ring a lap on.
    ASSERT_TRUE(q.try_pop().has_value());
    ASSERT_EQ(q.try_pop_batch(1, [](Tracked&&) {}), 1u);
    EXPECT_EQ(releases[0].load() + releases[1].load(), 2);
  }
  expect_each_released_once(releases.get(), kN);
}

// --- VyukovInjector ------------------------------------------------------------------------

TEST(VyukovInjector, OverflowKeepsEveryPushAndDrainsInOrder) {
  VyukovInjector<int> q(2);
  for (int i = 0; i < 4; ++i) q.push(i);  // 0, 1 in the ring; 2, 3 overflow
  std::vector<int> more{4, 5, 6};
  q.push_batch(std::span<int>(more));  // overflow is non-empty: these follow it
  EXPECT_EQ(q.size_hint(), 7u);
  std::vector<int> out;
  EXPECT_EQ(q.pop_batch(3, [&](int&& v) { out.push_back(v); }), 3u) << "ring, then overflow";
  while (std::optional<int> v = q.pop()) out.push_back(*v);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(q.size_hint(), 0u);
  q.push(7);  // the overflow is empty again: back on the ring
  EXPECT_EQ(q.pop(), 7);
}

// Four producers (two one by one, two in batches) against a 2-cell ring: nearly every push
// overflows. Phase 1 only pushes (nothing is lost while nobody pops); phase 2 pushes again while
// four consumers pop, so the ring, the overflow and the switch between them race.
TEST(VyukovInjector, OverflowAtCapacityTwoWithFourProducersLosesNothing) {
  constexpr std::size_t kProducers = 4;
  Items items(kStressItems);
  VyukovInjector<Item*> q(2);
  const std::size_t half = items.size() / 2;
  auto produce = [&](std::size_t from, std::size_t to) {
    std::vector<std::thread> producers;
    for (std::size_t p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p, from, to] {
        const std::size_t begin = from + (to - from) * p / kProducers;
        const std::size_t end = from + (to - from) * (p + 1) / kProducers;
        std::vector<Item*> batch;
        for (std::size_t i = begin; i < end; ++i) {
          if (p % 2 == 0) {
            q.push(items[i]);
            continue;
          }
          batch.push_back(items[i]);
          if (batch.size() == 16 || i + 1 == end) {
            q.push_batch(std::span<Item*>(batch));
            batch.clear();
          }
        }
      });
    }
    return producers;
  };
  for (auto& t : produce(0, half)) t.join();
  EXPECT_EQ(q.size_hint(), half) << "every push is held (ring + overflow)";

  const auto deadline = std::chrono::steady_clock::now() + kBound;
  std::vector<std::thread> threads = produce(half, items.size());
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      while (items.total() < items.size() && std::chrono::steady_clock::now() < deadline) {
        std::size_t n = 0;
        if (c % 2 == 0) {
          if (std::optional<Item*> i = q.pop()) {
            items.take(*i);
            n = 1;
          }
        } else {
          n = q.pop_batch(32, [&](Item*&& i) { items.take(i); });
        }
        if (n == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(items.total(), items.size());
  items.expect_each_taken_once();
  EXPECT_EQ(q.size_hint(), 0u);
}

TEST(VyukovInjector, DestructorReleasesRingAndOverflowItemsExactlyOnce) {
  constexpr std::size_t kN = 9;
  auto releases = std::make_unique<std::atomic<int>[]>(kN);
  {
    VyukovInjector<Tracked> q(2);
    for (std::size_t i = 0; i < kN; ++i) q.push(Tracked(i, releases.get()));
    ASSERT_TRUE(q.pop().has_value());
    EXPECT_EQ(releases[0].load(), 1);
  }
  expect_each_released_once(releases.get(), kN);
}

// --- VyukovLocalQueue ----------------------------------------------------------------------

// Collects what a local queue spills (in the runtime it goes to the injector).
struct Spilled {
  std::vector<std::vector<int>> batches;
  auto sink() {
    return [this](std::span<int> s) { batches.emplace_back(s.begin(), s.end()); };
  }
};

TEST(VyukovLocalQueue, SpillsTheOldestHalfAndTheItemInOneBatchWhenFull) {
  static_assert(VyukovLocalQueue<int>::kBounded);
  static_assert(VyukovLocalQueue<int>::kOwnerOrder == weft::variants::OwnerOrder::kFifo);
  VyukovLocalQueue<int> q(8);
  Spilled spilled;
  for (int i = 0; i < 8; ++i) q.push(i, spilled.sink());
  EXPECT_TRUE(spilled.batches.empty()) << "8 fit in capacity 8";
  q.push(8, spilled.sink());
  ASSERT_EQ(spilled.batches.size(), 1u);
  EXPECT_EQ(spilled.batches[0], (std::vector<int>{0, 1, 2, 3, 8}));
  for (int i = 4; i < 8; ++i) EXPECT_EQ(q.pop(), i);
  EXPECT_FALSE(q.pop().has_value());
}

TEST(VyukovLocalQueue, StealHalfTakesTheOldestAndKeepsOrder) {
  VyukovLocalQueue<int> victim;
  VyukovLocalQueue<int> thief;
  Spilled spilled;
  for (int i = 0; i < 64; ++i) victim.push(i, spilled.sink());
  EXPECT_EQ(victim.steal_into(thief, true), 0);
  for (int i = 1; i < 32; ++i) EXPECT_EQ(thief.pop(), i);
  EXPECT_FALSE(thief.pop().has_value());
  EXPECT_EQ(victim.steal_into(thief, false), 32) << "steal one";
  EXPECT_FALSE(thief.pop().has_value());
  for (int i = 33; i < 64; ++i) EXPECT_EQ(victim.pop(), i);
}

TEST(VyukovLocalQueue, StealTakesNoMoreThanFitsInTheThief) {
  VyukovLocalQueue<int> victim;
  VyukovLocalQueue<int> thief(4);
  Spilled spilled;
  for (int i = 0; i < 64; ++i) victim.push(i, spilled.sink());
  for (int i = 100; i < 103; ++i) thief.push(i, spilled.sink());  // room for one more
  EXPECT_EQ(victim.steal_into(thief, true), 0) << "one to run";
  EXPECT_EQ(thief.size_hint(), 4u) << "and one into the thief";
  EXPECT_TRUE(spilled.batches.empty());
  EXPECT_EQ(victim.size_hint(), 62u);
}

// One owner pushes (popping every third time) while three thieves steal into their own queues
// and pop those; at capacity 4 the owner also spills constantly.
class VyukovLocalStampede : public ::testing::TestWithParam<std::size_t> {};

TEST_P(VyukovLocalStampede, OwnerAndThreeThievesTakeEachItemOnce) {
  using Queue = VyukovLocalQueue<Item*>;
  for (bool half : {true, false}) {
    SCOPED_TRACE(half ? "steal half" : "steal one");
    Items items(kStressItems);
    Queue victim(GetParam());
    std::atomic<bool> owner_done{false};
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    std::vector<std::thread> thieves;
    for (int t = 0; t < 3; ++t) {
      thieves.emplace_back([&] {
        Queue mine(GetParam());
        while (std::chrono::steady_clock::now() < deadline) {
          const bool finished = owner_done.load();
          if (std::optional<Item*> i = victim.steal_into(mine, half)) items.take(*i);
          while (std::optional<Item*> i = mine.pop()) items.take(*i);
          if (finished && victim.size_hint() == 0) break;
          std::this_thread::yield();
        }
        while (std::optional<Item*> i = mine.pop()) items.take(*i);
      });
    }
    auto spill = [&](std::span<Item*> s) {
      for (Item* i : s) items.take(i);
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
      victim.push(items[i], spill);
      if (i % 3 == 0) {
        if (std::optional<Item*> t = victim.pop()) items.take(*t);
      }
    }
    while (std::optional<Item*> t = victim.pop()) items.take(*t);
    owner_done.store(true);
    for (auto& th : thieves) th.join();
    EXPECT_EQ(items.total(), items.size());
    items.expect_each_taken_once();
    EXPECT_EQ(victim.size_hint(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Capacities, VyukovLocalStampede, ::testing::Values(4, 256),
                         [](const auto& info) { return "capacity" + std::to_string(info.param); });

TEST(VyukovLocalQueue, DestructorReleasesTheItemsLeftExactlyOnce) {
  constexpr std::size_t kN = 12;
  auto releases = std::make_unique<std::atomic<int>[]>(kN);
  std::size_t spilled = 0;
  {
    VyukovLocalQueue<Tracked> q(8);
    auto spill = [&](std::span<Tracked> s) { spilled += s.size(); };  // released by the queue
    for (std::size_t i = 0; i < kN; ++i) q.push(Tracked(i, releases.get()), spill);
    EXPECT_EQ(spilled, 5u);
    ASSERT_TRUE(q.pop().has_value());
  }
  expect_each_released_once(releases.get(), kN);
}

static_assert(weft::variants::Variant<VyukovVariant>);
static_assert(VyukovVariant::name == "vyukov");

}  // namespace
}  // namespace weft_test
