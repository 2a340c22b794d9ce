// bwos.hpp on its own: block geometry, FIFO owner order across block boundaries (against a
// std::deque model), spill on full, what thieves can and cannot take (deviations D1 and D6 of the
// head comment), a stampede of one owner and three thieves at the smallest capacity and at 256,
// and destructors.
//
// Exactly-once: every item is a flag; whoever takes it does fetch_add and expects 0 back, and at
// the end each flag must read 1. Every concurrent test waits at most kBound and then fails
// instead of hanging; sanitizer builds run fewer items.
#include "weft/variants/bwos.hpp"

#include <gtest/gtest.h>

#include "exactly_once.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>


namespace weft_test {
namespace {

using weft::variants::BwosQueue;
using weft::variants::BwosVariant;

constexpr std::size_t kStressItems = kSanitized ? 20'000 : 200'000;
constexpr auto kBound = std::chrono::seconds(60);  // a bound on waits, not a speed assertion

// Collects spilled batches (in the runtime they go to the injector).
struct Spilled {
  std::vector<std::vector<int>> batches;
  auto sink() {
    return [this](std::span<int> s) { batches.emplace_back(s.begin(), s.end()); };
  }
};

std::string capacity_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return "capacity" + std::to_string(info.param);
}

// --- single-threaded behaviour -------------------------------------------------------------

TEST(Bwos, CapacitySplitsIntoAtMostEightBlocks) {
  static_assert(BwosQueue<int>::kBounded);
  static_assert(BwosQueue<int>::kOwnerOrder == weft::variants::OwnerOrder::kFifo);
  struct Case {
    std::size_t requested, blocks, block_size;
  };
  for (Case c : {Case{2, 2, 1}, Case{4, 4, 1}, Case{8, 8, 1}, Case{16, 8, 2}, Case{3, 4, 1},
                 Case{0, 2, 1}, Case{256, 8, 32}, Case{1000, 8, 128}}) {
    BwosQueue<int> q(c.requested);
    EXPECT_EQ(q.num_blocks(), c.blocks) << c.requested;
    EXPECT_EQ(q.block_size(), c.block_size) << c.requested;
    EXPECT_EQ(q.capacity(), c.blocks * c.block_size) << c.requested;
  }
  EXPECT_EQ(BwosQueue<int>().capacity(), weft::variants::kDefaultLocalCapacity);
}

class BwosByCapacity : public ::testing::TestWithParam<std::size_t> {};

TEST_P(BwosByCapacity, OwnerPopsItsPushesOldestFirstForSeveralLaps) {
  BwosQueue<int> q(GetParam());
  Spilled spilled;
  const int cap = static_cast<int>(q.capacity());
  EXPECT_FALSE(q.pop().has_value());
  for (int lap = 0; lap < 5; ++lap) {
    for (int i = 0; i < cap; ++i) q.push(lap * 1000 + i, spilled.sink());
    EXPECT_EQ(q.size_hint(), q.capacity());
    for (int i = 0; i < cap; ++i) EXPECT_EQ(q.pop(), lap * 1000 + i);
    EXPECT_FALSE(q.pop().has_value());
    EXPECT_EQ(q.size_hint(), 0u);
  }
  EXPECT_TRUE(spilled.batches.empty()) << "a full lap fits when the consumer starts a block";
}

// A pseudo-random mix of pushes and pops (phases that grow and shrink the queue), checked step
// by step against a std::deque: pops, and the spilled batches (oldest items, then the pushed
// one), must match it exactly; a spill may only happen once the queue holds more than N - 1
// blocks' worth (the documented meaning of "full").
TEST_P(BwosByCapacity, BlockBoundaryCrossingsKeepFifoAgainstAModel) {
  BwosQueue<int> q(GetParam());
  const std::size_t cap = q.capacity();
  const std::size_t full_at_least = (q.num_blocks() - 1) * q.block_size() + 1;
  std::deque<int> model;
  std::uint64_t rng = 42;
  int next = 0;
  std::size_t spills = 0;
  for (int step = 0; step < 20'000; ++step) {
    const bool growing = (step / 300) % 2 == 0;
    const bool push = weft::variants::next_random(rng) % 100 < (growing ? 70u : 30u);
    if (push) {
      std::vector<int> batch;
      const std::size_t before = model.size();
      q.push(next, [&](std::span<int> s) { batch.assign(s.begin(), s.end()); });
      if (batch.empty()) {
        model.push_back(next);
        ASSERT_LE(model.size(), cap);
      } else {
        ++spills;
        ASSERT_GE(before, full_at_least) << "spilled at step " << step;
        ASSERT_EQ(batch.back(), next) << "the pushed item is spilled last";
        ASSERT_EQ(batch.size() - 1, std::min(before, cap / 2)) << "the oldest half";
        for (std::size_t i = 0; i + 1 < batch.size(); ++i) {
          ASSERT_EQ(batch[i], model.front()) << "step " << step;
          model.pop_front();
        }
      }
      ++next;
    } else {
      std::optional<int> v = q.pop();
      if (model.empty()) {
        ASSERT_FALSE(v.has_value()) << "step " << step;
      } else {
        ASSERT_EQ(v, model.front()) << "step " << step;
        model.pop_front();
      }
    }
    ASSERT_EQ(q.size_hint(), model.size()) << "step " << step;
  }
  EXPECT_GT(spills, 0u) << "the growing phases reach full";
  while (!model.empty()) {
    ASSERT_EQ(q.pop(), model.front());
    model.pop_front();
  }
  EXPECT_FALSE(q.pop().has_value());
}

INSTANTIATE_TEST_SUITE_P(Capacities, BwosByCapacity, ::testing::Values(2, 4, 16, 256),
                         capacity_name);

TEST(Bwos, SpillsTheOldestHalfAndTheItemInOneBatchWhenFull) {
  BwosQueue<int> q(16);  // 8 blocks x 2
  Spilled spilled;
  for (int i = 0; i < 16; ++i) q.push(i, spilled.sink());
  EXPECT_TRUE(spilled.batches.empty());
  q.push(16, spilled.sink());
  ASSERT_EQ(spilled.batches.size(), 1u);
  EXPECT_EQ(spilled.batches[0], (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 16}));
  for (int i = 8; i < 16; ++i) EXPECT_EQ(q.pop(), i);
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_EQ(q.size_hint(), 0u);
}

// D1: an item in the block the owner is filling, and consuming, can be stolen, so a worker that
// blocks inside a task does not strand the task queued behind it.
TEST(Bwos, AnItemInTheOwnersOwnBlockCanBeStolen) {
  BwosQueue<int> victim;
  BwosQueue<int> thief;
  Spilled spilled;
  victim.push(1, spilled.sink());
  EXPECT_EQ(victim.steal_into(thief, true), 1);
  EXPECT_EQ(victim.size_hint(), 0u);
  // After the owner has popped from the block (a claim), later pushes are still stealable.
  victim.push(2, spilled.sink());
  EXPECT_EQ(victim.pop(), 2);
  victim.push(3, spilled.sink());
  EXPECT_EQ(victim.steal_into(thief, false), 3);
  EXPECT_FALSE(victim.pop().has_value());
  EXPECT_FALSE(thief.pop().has_value());
}

// D1: in the block the producer is still filling, a pop claims one item, so what is queued
// behind it stays stealable while the owner runs it (a driver turn's batch of I/O wake-ups).
TEST(Bwos, APopInTheProducersBlockLeavesTheRestStealable) {
  BwosQueue<int> victim;
  BwosQueue<int> thief;
  Spilled spilled;
  for (int i = 1; i <= 3; ++i) victim.push(i, spilled.sink());
  EXPECT_EQ(victim.pop(), 1);
  EXPECT_EQ(victim.size_hint(), 2u);
  EXPECT_EQ(victim.steal_into(thief, /*half=*/true), 2);
  EXPECT_EQ(victim.steal_into(thief, /*half=*/false), 3);
  EXPECT_FALSE(victim.pop().has_value());
  EXPECT_FALSE(thief.pop().has_value());
}

// D1's residual limit, pinned down so a change to it is a conscious one: in a block the producer
// has left, the owner's pop claims the rest of the block, which is private until it pops again.
TEST(Bwos, TheRestOfALeftBlockClaimedByTheOwnersPopIsNotStealable) {
  BwosQueue<int> victim(16);  // 8 blocks of 2
  BwosQueue<int> thief(16);
  Spilled spilled;
  for (int i = 1; i <= 3; ++i) victim.push(i, spilled.sink());  // {1, 2} {3}
  EXPECT_EQ(victim.pop(), 1);  // claims 1 and 2
  EXPECT_EQ(victim.size_hint(), 2u);
  EXPECT_EQ(victim.steal_into(thief, /*half=*/false), 3);  // the next block's, not 2
  EXPECT_FALSE(victim.steal_into(thief, /*half=*/false).has_value());
  EXPECT_EQ(victim.pop(), 2);
  EXPECT_FALSE(victim.pop().has_value());
}

// D6: a queue that thieves emptied is not "full" to its owner, although its consumer never
// moved: the producer passes the consumer through the stolen blocks.
TEST(Bwos, AQueueEmptiedByThievesTakesAFullLapWithoutSpilling) {
  BwosQueue<int> victim(16);
  Spilled spilled;
  for (int i = 0; i < 16; ++i) victim.push(i, spilled.sink());
  int stolen = 0;
  while (victim.size_hint() != 0) {
    BwosQueue<int> thief(16);
    ASSERT_TRUE(victim.steal_into(thief, true).has_value());
    ++stolen;
    while (thief.pop().has_value()) ++stolen;
  }
  EXPECT_EQ(stolen, 16);
  for (int i = 16; i < 32; ++i) victim.push(i, spilled.sink());
  EXPECT_TRUE(spilled.batches.empty());
  for (int i = 16; i < 32; ++i) EXPECT_EQ(victim.pop(), i);
}

TEST(Bwos, StealHalfTakesTheOldestAcrossBlocksInOrder) {
  BwosQueue<int> victim;  // 8 x 32: 100 items span four blocks
  BwosQueue<int> thief;
  Spilled spilled;
  for (int i = 0; i < 100; ++i) victim.push(i, spilled.sink());
  EXPECT_EQ(victim.steal_into(thief, true), 0);
  EXPECT_EQ(thief.size_hint(), 49u);
  for (int i = 1; i < 50; ++i) EXPECT_EQ(thief.pop(), i);
  EXPECT_EQ(victim.size_hint(), 50u);
  EXPECT_EQ(victim.steal_into(thief, false), 50) << "steal one";
  for (int i = 51; i < 100; ++i) EXPECT_EQ(victim.pop(), i);
  EXPECT_FALSE(victim.pop().has_value());
}

TEST(Bwos, StealTakesNoMoreThanFitsInTheThief) {
  BwosQueue<int> victim;
  BwosQueue<int> thief(4);  // 4 x 1
  Spilled spilled;
  for (int i = 0; i < 64; ++i) victim.push(i, spilled.sink());
  for (int i = 100; i < 103; ++i) thief.push(i, spilled.sink());  // room for one more
  EXPECT_EQ(victim.steal_into(thief, true), 0) << "one to run";
  EXPECT_EQ(thief.size_hint(), 4u) << "and one into the thief";
  EXPECT_TRUE(spilled.batches.empty());
  EXPECT_EQ(victim.size_hint(), 62u);
  for (int i = 100; i < 103; ++i) EXPECT_EQ(thief.pop(), i);
  EXPECT_EQ(thief.pop(), 1);
}

// --- concurrent ----------------------------------------------------------------------------

// One owner pushes (popping every third time, spilling when full) while three thieves steal into
// their own queues and pop those. At capacity 2 (2 blocks of 1) every push crosses a block and
// the producer's reuse check races the thieves' `stolen` updates all the time.
class BwosStampede : public ::testing::TestWithParam<std::size_t> {};

TEST_P(BwosStampede, OwnerAndThreeThievesTakeEachItemOnce) {
  using Queue = BwosQueue<Item*>;
  for (bool half : {true, false}) {
    SCOPED_TRACE(half ? "steal half" : "steal one");
    Items items(kStressItems);
    Queue victim(GetParam());
    std::atomic<bool> owner_done{false};
    std::atomic<std::size_t> stolen{0};
    std::atomic<int> thieves_running{0};
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    std::vector<std::thread> thieves;
    for (int t = 0; t < 3; ++t) {
      thieves.emplace_back([&] {
        Queue mine(GetParam());
        thieves_running.fetch_add(1);
        while (std::chrono::steady_clock::now() < deadline) {
          const bool finished = owner_done.load();
          if (std::optional<Item*> i = victim.steal_into(mine, half)) {
            items.take(*i);
            stolen.fetch_add(1);
          }
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
    // Start once the thieves are looping, so that they overlap the owner (bounded wait).
    while (thieves_running.load() < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      victim.push(items[i], spill);
      if (i % 3 == 0) {
        if (std::optional<Item*> t = victim.pop()) items.take(*t);
      }
      if (i % 64 == 0) std::this_thread::yield();  // let thieves in on a small machine
    }
    while (std::optional<Item*> t = victim.pop()) items.take(*t);
    owner_done.store(true);
    for (auto& th : thieves) th.join();
    EXPECT_EQ(items.total(), items.size());
    items.expect_each_taken_once();
    EXPECT_EQ(victim.size_hint(), 0u);
    // How much the thieves got depends on the machine's scheduling: recorded, not asserted.
    RecordProperty(half ? "stolen_half" : "stolen_one", static_cast<int>(stolen.load()));
  }
}

INSTANTIATE_TEST_SUITE_P(Capacities, BwosStampede, ::testing::Values(2, 256), capacity_name);

// --- destructors ---------------------------------------------------------------------------

// Items spread over several blocks, some stolen into a thief, some claimed by the owner's last
// pop, some spilled: destroying both queues releases every item left exactly once.
TEST(Bwos, DestructorsReleaseTheItemsLeftExactlyOnce) {
  constexpr std::size_t kN = 40;
  auto releases = std::make_unique<std::atomic<int>[]>(kN);
  {
    BwosQueue<Tracked> thief(16);
    {
      BwosQueue<Tracked> victim(16);           // 8 x 2
      auto spill = [](std::span<Tracked>) {};  // left in the batch: released by the queue
      for (std::size_t i = 0; i < 20; ++i) victim.push(Tracked(i, releases.get()), spill);
      ASSERT_TRUE(victim.pop().has_value());
      ASSERT_TRUE(victim.steal_into(thief, true).has_value());
      for (std::size_t i = 20; i < kN; ++i) victim.push(Tracked(i, releases.get()), spill);
      ASSERT_TRUE(victim.pop().has_value());
    }
    ASSERT_TRUE(thief.pop().has_value());
  }
  for (std::size_t i = 0; i < kN; ++i) EXPECT_EQ(releases[i].load(), 1) << "item " << i;
}

static_assert(weft::variants::Variant<BwosVariant>);
static_assert(BwosVariant::name == "bwos");

}  // namespace
}  // namespace weft_test
