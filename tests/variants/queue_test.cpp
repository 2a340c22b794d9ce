// The queues of every registered variant, on their own (no runtime): the scenarios crossbeam
// runs for each of its queues (smoke, steal, stampede, stress), with per-item exactly-once checks.
//
// Items are pointers to counters: each consumer increments the counter of what it took, so an
// item lost or taken twice shows up as a count other than 1.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "variants/variant_types.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_QUEUE_TEST_SANITIZED 1
#else
#define WEFT_QUEUE_TEST_SANITIZED 0
#endif

namespace weft_test {
namespace {

constexpr std::size_t kStressItems = WEFT_QUEUE_TEST_SANITIZED ? 40'000 : 200'000;
constexpr auto kBound = std::chrono::seconds(60);  // a bound on waits, not a speed assertion

struct Item {
  std::atomic<int> taken{0};
};

class Items {
 public:
  explicit Items(std::size_t n) : items_(n) {}
  Item* operator[](std::size_t i) { return &items_[i]; }
  std::size_t size() const { return items_.size(); }
  static void take(Item* item) { item->taken.fetch_add(1, std::memory_order_relaxed); }

  // Every item taken exactly once; reports the first few offenders.
  void expect_each_taken_once() const {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const int n = items_[i].taken.load(std::memory_order_relaxed);
      if (n != 1 && ++bad <= 5) ADD_FAILURE() << "item " << i << " taken " << n << " times";
    }
    EXPECT_EQ(bad, 0u) << "items not taken exactly once";
  }
  std::size_t total_taken() const {
    std::size_t n = 0;
    for (const Item& i : items_) n += i.taken.load(std::memory_order_relaxed);
    return n;
  }

 private:
  std::vector<Item> items_;
};

// Takes what a bounded local queue spills (in the runtime it goes to the injector).
struct TakeSpill {
  void operator()(std::span<Item*> spilled) const {
    for (Item* i : spilled) Items::take(i);
  }
};

template <class Q>
std::size_t drain_local(Q& q) {
  std::size_t n = 0;
  while (std::optional<Item*> i = q.pop()) {
    Items::take(*i);
    ++n;
  }
  return n;
}

// --- local queues ------------------------------------------------------------------------------

template <class V>
class LocalQueueTest : public ::testing::Test {
 protected:
  using Queue = typename V::template LocalQueue<Item*>;
};
TYPED_TEST_SUITE(LocalQueueTest, EveryVariant, VariantName);

TYPED_TEST(LocalQueueTest, SmokeEveryPushedItemPopsOnce) {
  typename TestFixture::Queue q;
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_EQ(q.size_hint(), 0u);
  Items items(100);
  for (std::size_t i = 0; i < items.size(); ++i) q.push(items[i], TakeSpill{});
  EXPECT_GT(q.size_hint(), 0u);
  drain_local(q);
  items.expect_each_taken_once();
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_EQ(q.size_hint(), 0u);
}

TYPED_TEST(LocalQueueTest, StealFromAnEmptyQueueFindsNothing) {
  typename TestFixture::Queue victim;
  typename TestFixture::Queue thief;
  for (bool half : {true, false}) {
    EXPECT_FALSE(victim.steal_into(thief, half).has_value());
    EXPECT_FALSE(thief.pop().has_value());
  }
}

TYPED_TEST(LocalQueueTest, StealMovesABatchOfAtMostHalfAndLosesNothing) {
  for (bool half : {true, false}) {
    SCOPED_TRACE(half ? "steal half" : "steal one");
    typename TestFixture::Queue victim;
    typename TestFixture::Queue thief;
    Items items(64);
    for (std::size_t i = 0; i < items.size(); ++i) victim.push(items[i], TakeSpill{});
    std::optional<Item*> first = victim.steal_into(thief, half);
    ASSERT_TRUE(first.has_value());
    Items::take(*first);
    const std::size_t moved = drain_local(thief);
    if (half) {
      EXPECT_LE(1 + moved, items.size() / 2);
    } else {
      EXPECT_EQ(moved, 0u);
    }
    drain_local(victim);
    items.expect_each_taken_once();
  }
}

// One owner pushes and pops while three thieves steal into their own queues and pop those.
TYPED_TEST(LocalQueueTest, StampedeOwnerAndThreeThievesTakeEachItemOnce) {
  using Queue = typename TestFixture::Queue;
  for (bool half : {true, false}) {
    SCOPED_TRACE(half ? "steal half" : "steal one");
    Items items(kStressItems);
    Queue victim;
    std::atomic<std::size_t> taken{0};
    std::atomic<bool> owner_done{false};
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    auto take = [&](Item* i) {
      Items::take(i);
      taken.fetch_add(1, std::memory_order_relaxed);
    };
    std::vector<std::thread> thieves;
    for (int t = 0; t < 3; ++t) {
      thieves.emplace_back([&] {
        Queue mine;
        while (std::chrono::steady_clock::now() < deadline) {
          const bool finished = owner_done.load();
          if (std::optional<Item*> i = victim.steal_into(mine, half)) take(*i);
          while (std::optional<Item*> i = mine.pop()) take(*i);
          if (finished && victim.size_hint() == 0) break;
          std::this_thread::yield();
        }
        while (std::optional<Item*> i = mine.pop()) take(*i);
      });
    }
    auto spill = [&](std::span<Item*> spilled) {
      for (Item* i : spilled) take(i);
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
      victim.push(items[i], spill);
      if (i % 3 == 0) {
        if (std::optional<Item*> t = victim.pop()) take(*t);
      }
    }
    while (std::optional<Item*> t = victim.pop()) take(*t);
    owner_done.store(true);
    for (auto& th : thieves) th.join();
    EXPECT_EQ(taken.load(), items.size());
    items.expect_each_taken_once();
    EXPECT_EQ(victim.size_hint(), 0u);
  }
}

// --- injectors ---------------------------------------------------------------------------------

template <class V>
class InjectorTest : public ::testing::Test {
 protected:
  using Queue = typename V::template Injector<Item*>;
};
TYPED_TEST_SUITE(InjectorTest, EveryVariant, VariantName);

TYPED_TEST(InjectorTest, SmokePushPopAndBatches) {
  typename TestFixture::Queue q;
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_EQ(q.pop_batch(8, [](Item*&&) {}), 0u);
  Items items(10);
  for (std::size_t i = 0; i < 4; ++i) q.push(items[i]);
  std::vector<Item*> rest;
  for (std::size_t i = 4; i < items.size(); ++i) rest.push_back(items[i]);
  q.push_batch(std::span<Item*>(rest));
  EXPECT_EQ(q.size_hint(), items.size());
  EXPECT_EQ(q.pop_batch(3, [](Item*&& i) { Items::take(i); }), 3u);
  while (std::optional<Item*> i = q.pop()) Items::take(*i);
  items.expect_each_taken_once();
  EXPECT_EQ(q.size_hint(), 0u);
}

// Four producers (two pushing one by one, two in batches) and four consumers (pop and
// pop_batch) at once.
TYPED_TEST(InjectorTest, StressFourProducersFourConsumersTakeEachItemOnce) {
  using Queue = typename TestFixture::Queue;
  constexpr std::size_t kProducers = 4;
  Items items(kStressItems);
  Queue q;
  std::atomic<std::size_t> taken{0};
  const auto deadline = std::chrono::steady_clock::now() + kBound;
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      const std::size_t begin = items.size() * p / kProducers;
      const std::size_t end = items.size() * (p + 1) / kProducers;
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
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      while (taken.load() < items.size() && std::chrono::steady_clock::now() < deadline) {
        if (c % 2 == 0) {
          if (std::optional<Item*> i = q.pop()) {
            Items::take(*i);
            taken.fetch_add(1);
            continue;
          }
        } else {
          const std::size_t n = q.pop_batch(32, [](Item*&& i) { Items::take(i); });
          taken.fetch_add(n);
          if (n != 0) continue;
        }
        std::this_thread::yield();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(taken.load(), items.size());
  items.expect_each_taken_once();
  EXPECT_EQ(q.size_hint(), 0u);
}

}  // namespace
}  // namespace weft_test
