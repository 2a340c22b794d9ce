// The queues of every registered variant, on their own (no runtime), under crossbeam's scenario
// names so the same behaviour is checked for every queue:
//
//   smoke          push/pop/steal basics at rest
//   owner_order    pop() returns the owner's own pushes in LocalQueue::kOwnerOrder
//   stampede       1 owner pushing and popping, 4 thieves stealing into their own queues
//   bounded_small  the stampede at capacity 2 and 4 (1 owner, 2 thieves): spills under pressure
//   destructors    what is left in a destroyed queue is neither lost nor released twice
//   injector_mpmc  4 producers x 4 consumers through the injector, default and capacity 2
//   size_hint      0 when empty, n after n pushes at rest
//
// Items are pointers to per-item counters (`Item*`: trivially copyable, as Chase-Lev requires).
// Whoever takes an item increments its counter, and every test ends by checking each counter is
// exactly 1, so an item lost or taken twice is reported by index. A bounded local queue's spill
// (in the runtime: the injector's push_batch) is counted as taken by the owner.
//
// Every concurrent test is bounded: workers stop when a shared count of taken items reaches N,
// when that count has not moved for kStall (a lost item), or after kBound, whichever comes first,
// so a bug fails the count instead of hanging; ctest adds a TIMEOUT of 120 s per test case and
// variant on top. All of them run under TSan.
#include <algorithm>
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
#include <type_traits>
#include <utility>
#include <vector>

#include "variants/variant_types.hpp"
#include "weft/variants/concepts.hpp"
#include "weft/variants/steal.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_QUEUE_TEST_SANITIZED 1
#else
#define WEFT_QUEUE_TEST_SANITIZED 0
#endif

namespace weft_test {
namespace {

using weft::variants::OwnerOrder;
using Clock = std::chrono::steady_clock;

// The stampede moves 10M items in the plain build and 1M under ASan or TSan, which slow every
// lock and atomic by 5-20x: 1M keeps each sanitized stampede near a second on two cores (10M
// takes 0.7-3 s per variant in the plain build).
constexpr std::size_t kStampedeItems = WEFT_QUEUE_TEST_SANITIZED ? 1'000'000 : 10'000'000;
constexpr std::size_t kBoundedSmallItems = 200'000;
constexpr std::size_t kInjectorItems = WEFT_QUEUE_TEST_SANITIZED ? 200'000 : 1'000'000;
// Bounds on every wait, not speed assertions; below ctest's TIMEOUT so a stuck run reports.
constexpr auto kBound = std::chrono::seconds(60);
constexpr auto kStall = std::chrono::seconds(10);
// Construction capacities for the smoke, injector and destructors tests: the default, and the
// smallest a queue accepts.
constexpr std::optional<std::size_t> kDefaultAndTwo[] = {std::nullopt, 2};

struct Item {
  std::atomic<std::uint32_t> taken{0};
};

class Items {
 public:
  explicit Items(std::size_t n) : items_(n) {}
  Item* operator[](std::size_t i) { return &items_[i]; }
  std::size_t index_of(const Item* item) const {
    return static_cast<std::size_t>(item - items_.data());
  }
  std::size_t size() const { return items_.size(); }
  static void take(Item* item) { item->taken.fetch_add(1, std::memory_order_relaxed); }

  // Every item taken exactly once; reports the first few offenders.
  void expect_each_taken_once() const {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const std::uint32_t n = items_[i].taken.load(std::memory_order_relaxed);
      if (n != 1 && ++bad <= 5) ADD_FAILURE() << "item " << i << " taken " << n << " times";
    }
    EXPECT_EQ(bad, 0u) << "items not taken exactly once (of " << items_.size() << ")";
  }
  std::size_t count_taken(std::uint32_t times) const {
    return static_cast<std::size_t>(std::count_if(items_.begin(), items_.end(), [&](const Item& i) {
      return i.taken.load(std::memory_order_relaxed) == times;
    }));
  }

 private:
  std::vector<Item> items_;
};

// Ends a concurrent run: every worker polls running(); one watching thread calls check(), which
// stops the run once kBound has passed or the count of taken items has not moved for kStall.
// Without it a lost item would keep everyone polling until ctest kills the process.
class Progress {
 public:
  Progress(const std::atomic<std::size_t>& taken, std::size_t n)
      : taken_(taken), n_(n), start_(Clock::now()), last_change_(start_) {}

  // Any thread.
  bool running() const {
    return !stopped_.load(std::memory_order_acquire) && taken_.load(std::memory_order_acquire) < n_;
  }

  // The watching thread only.
  void check() {
    const auto now = Clock::now();
    const std::size_t taken = taken_.load(std::memory_order_acquire);
    if (taken != last_taken_) {
      last_taken_ = taken;
      last_change_ = now;
    }
    if (now - start_ > kBound || now - last_change_ > kStall) {
      stopped_.store(true, std::memory_order_release);
    }
  }

  // After the run: whether every item was taken, with a reason when not.
  ::testing::AssertionResult finished() const {
    const std::size_t taken = taken_.load(std::memory_order_acquire);
    if (taken == n_) return ::testing::AssertionSuccess();
    if (taken > n_) {
      return ::testing::AssertionFailure() << "taken " << taken << " of " << n_ << ": duplicates";
    }
    return ::testing::AssertionFailure()
           << "taken " << taken << " of " << n_ << "; stopped after "
           << std::chrono::duration_cast<std::chrono::seconds>(last_change_ - start_).count()
           << " s of progress (bounds: " << kStall.count() << " s without progress, "
           << kBound.count() << " s in all)";
  }

 private:
  const std::atomic<std::size_t>& taken_;
  const std::size_t n_;
  std::atomic<bool> stopped_{false};
  const Clock::time_point start_;
  std::size_t last_taken_ = 0;  // watching thread only
  Clock::time_point last_change_;
};

// Takes what a bounded local queue spills.
struct TakeSpill {
  std::size_t* spilled = nullptr;
  void operator()(std::span<Item*> batch) const {
    for (Item* i : batch) Items::take(i);
    if (spilled != nullptr) *spilled += batch.size();
  }
};

// A spill callback for tests that stay within capacity: any spill is a failure.
struct NoSpill {
  void operator()(std::span<Item*> batch) const {
    ADD_FAILURE() << "unexpected spill of " << batch.size() << " items";
    for (Item* i : batch) Items::take(i);
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

// Queues may hold atomics and so be immovable; tests build them on the heap.
template <class Q>
std::unique_ptr<Q> make_queue(std::optional<std::size_t> capacity) {
  return capacity ? std::make_unique<Q>(*capacity) : std::make_unique<Q>();
}

// --- local queues ------------------------------------------------------------------------------

template <class V>
class LocalQueueTest : public ::testing::Test {
 protected:
  using Queue = typename V::template LocalQueue<Item*>;
  static_assert(weft::variants::LocalQueue<Queue, Item*>);
};
TYPED_TEST_SUITE(LocalQueueTest, EveryVariant, VariantName);

// smoke --------------------------------------------------------------------------------------

TYPED_TEST(LocalQueueTest, SmokeEveryPushedItemPopsOnce) {
  using Queue = typename TestFixture::Queue;
  for (std::optional<std::size_t> capacity : kDefaultAndTwo) {
    SCOPED_TRACE(capacity ? "capacity 2" : "default capacity");
    auto q = make_queue<Queue>(capacity);
    EXPECT_FALSE(q->pop().has_value());
    EXPECT_EQ(q->size_hint(), 0u);
    Items items(100);
    std::size_t spilled = 0;
    for (std::size_t i = 0; i < items.size(); ++i) q->push(items[i], TakeSpill{&spilled});
    EXPECT_EQ(q->size_hint(), items.size() - spilled);
    if (!Queue::kBounded) {
      EXPECT_EQ(spilled, 0u) << "an unbounded queue spilled";
    }
    EXPECT_EQ(drain_local(*q), items.size() - spilled);
    items.expect_each_taken_once();
    EXPECT_FALSE(q->pop().has_value());
    EXPECT_EQ(q->size_hint(), 0u);
  }
}

TYPED_TEST(LocalQueueTest, SmokeStealFromAnEmptyQueueFindsNothing) {
  typename TestFixture::Queue victim;
  typename TestFixture::Queue thief;
  for (bool half : {true, false}) {
    EXPECT_FALSE(victim.steal_into(thief, half).has_value());
    EXPECT_FALSE(thief.pop().has_value());
    EXPECT_EQ(thief.size_hint(), 0u);
  }
}

TYPED_TEST(LocalQueueTest, SmokeStealMovesABatchOfAtMostHalfAndLosesNothing) {
  for (bool half : {true, false}) {
    SCOPED_TRACE(half ? "steal half" : "steal one");
    typename TestFixture::Queue victim;
    typename TestFixture::Queue thief;
    Items items(64);
    for (std::size_t i = 0; i < items.size(); ++i) victim.push(items[i], NoSpill{});
    std::optional<Item*> first = victim.steal_into(thief, half);
    ASSERT_TRUE(first.has_value());
    Items::take(*first);
    const std::size_t moved = drain_local(thief);
    if (half) {
      EXPECT_LE(1 + moved, weft::variants::steal_count(items.size(), true));
    } else {
      EXPECT_EQ(moved, 0u);
    }
    EXPECT_EQ(victim.size_hint(), items.size() - 1 - moved);
    drain_local(victim);
    items.expect_each_taken_once();
  }
}

// owner_order --------------------------------------------------------------------------------

// With no thieves, pop() follows kOwnerOrder exactly: first for a run of pushes then pops, then
// for a pseudo-random mix of pushes and pops checked against a std::deque model. The queue
// never holds more than 64 items, so a bounded queue must not spill.
TYPED_TEST(LocalQueueTest, OwnerOrderPopFollowsKOwnerOrder) {
  using Queue = typename TestFixture::Queue;
  constexpr bool kFifo = Queue::kOwnerOrder == OwnerOrder::kFifo;
  SCOPED_TRACE(kFifo ? "kOwnerOrder = kFifo" : "kOwnerOrder = kLifo");
  Items items(20'000);
  Queue q;
  constexpr std::size_t kRun = 64;
  for (std::size_t i = 0; i < kRun; ++i) q.push(items[i], NoSpill{});
  for (std::size_t k = 0; k < kRun; ++k) {
    std::optional<Item*> got = q.pop();
    ASSERT_TRUE(got.has_value()) << "pop " << k;
    const std::size_t want = kFifo ? k : kRun - 1 - k;
    ASSERT_EQ(items.index_of(*got), want) << "pop " << k;
    Items::take(*got);
  }
  ASSERT_FALSE(q.pop().has_value());

  std::deque<std::size_t> model;
  std::uint64_t rng = 0x9E3779B97F4A7C15ULL;
  std::size_t next = kRun;
  while (next < items.size() || !model.empty()) {
    const bool push =
        next < items.size() &&
        (model.empty() || (model.size() < kRun && weft::variants::next_random(rng) % 3 != 0));
    if (push) {
      q.push(items[next], NoSpill{});
      model.push_back(next++);
      continue;
    }
    std::optional<Item*> got = q.pop();
    ASSERT_TRUE(got.has_value()) << "model holds " << model.size();
    const std::size_t want = kFifo ? model.front() : model.back();
    kFifo ? model.pop_front() : model.pop_back();
    ASSERT_EQ(items.index_of(*got), want);
    Items::take(*got);
  }
  EXPECT_FALSE(q.pop().has_value());
  items.expect_each_taken_once();
}

// stampede and bounded_small -----------------------------------------------------------------

struct StampedeShape {
  std::size_t thieves;
  std::optional<std::size_t> capacity;  // of the victim and every thief; empty: the default
  std::size_t pop_every;                // the owner pops once per this many pushes
  std::size_t yield_every;              // and yields once per this many pushes
};

struct StampedeCounts {
  std::size_t by_owner = 0;  // popped by the owner, spills included
  std::size_t spilled = 0;
  std::size_t spill_batches = 0;
  std::size_t empty_spills = 0;
  std::size_t by_thieves = 0;
};

// One owner pushes every item, popping once per `pop_every` pushes, then pops until all items
// are taken. Each thief steals into its own queue (even thieves steal half, odd ones steal one)
// and drains it. Everyone stops when `taken` reaches N (or Progress stops the run; the owner
// watches once it has pushed everything: until then it is making progress). Counts are added to
// `taken` per batch to keep one contended counter off the per-item path.
template <class Queue>
StampedeCounts run_stampede(Items& items, const StampedeShape& shape) {
  const std::size_t n = items.size();
  auto victim = make_queue<Queue>(shape.capacity);
  std::atomic<std::size_t> taken{0};
  std::atomic<std::size_t> by_thieves{0};
  Progress progress(taken, n);
  // The owner starts once every thief runs: on two cores a fast owner could otherwise push and
  // pop everything before the thieves are first scheduled.
  std::atomic<std::size_t> started{0};

  std::vector<std::thread> thieves;
  for (std::size_t t = 0; t < shape.thieves; ++t) {
    thieves.emplace_back([&, half = t % 2 == 0] {
      auto mine = make_queue<Queue>(shape.capacity);
      std::size_t mine_taken = 0;
      std::size_t empty_rounds = 0;
      started.fetch_add(1, std::memory_order_release);
      while (progress.running()) {
        std::optional<Item*> first = victim->steal_into(*mine, half);
        if (!first) {
          // Spin first, then yield: a thief that yields at once loses its core to any other
          // runnable process and is rarely back while the owner is still pushing.
          weft::variants::ExponentialBackoff::backoff(std::min<std::size_t>(empty_rounds++, 5));
          continue;
        }
        empty_rounds = 0;
        Items::take(*first);
        const std::size_t batch = 1 + drain_local(*mine);
        mine_taken += batch;
        taken.fetch_add(batch, std::memory_order_acq_rel);
      }
      by_thieves.fetch_add(mine_taken + drain_local(*mine), std::memory_order_relaxed);
    });
  }

  StampedeCounts counts;
  std::vector<Item*> spill;
  auto to_spill = [&](std::span<Item*> batch) {
    ++counts.spill_batches;
    if (batch.empty()) ++counts.empty_spills;
    spill.insert(spill.end(), batch.begin(), batch.end());
  };
  while (started.load(std::memory_order_acquire) < shape.thieves) std::this_thread::yield();
  std::size_t unflushed = 0;
  auto flush = [&] {
    counts.by_owner += unflushed;
    taken.fetch_add(unflushed, std::memory_order_acq_rel);
    unflushed = 0;
  };
  for (std::size_t i = 0; i < n; ++i) {
    victim->push(items[i], to_spill);
    if (!spill.empty()) {
      for (Item* s : spill) Items::take(s);
      counts.spilled += spill.size();
      unflushed += spill.size();
      spill.clear();
    }
    if (i % shape.pop_every == 0) {
      if (std::optional<Item*> own = victim->pop()) {
        Items::take(*own);
        ++unflushed;
      }
    }
    if (unflushed >= 4096) flush();
    // Give a thief sharing the owner's core a turn: with spills taking the surplus, a bounded
    // queue's owner could otherwise finish all its pushes within one time slice.
    if (i % shape.yield_every == shape.yield_every - 1) std::this_thread::yield();
  }
  flush();
  // Pop what the thieves have not taken. An empty pop while items are still out (in a thief's
  // queue, or not yet visible to the owner) waits for the count instead of returning early.
  for (;;) {
    std::size_t got = 0;
    while (got < 1024) {
      std::optional<Item*> own = victim->pop();
      if (!own) break;
      Items::take(*own);
      ++got;
    }
    unflushed = got;
    flush();
    if (got == 0) {
      progress.check();
      if (!progress.running()) break;
      std::this_thread::yield();
    }
  }
  for (std::thread& t : thieves) t.join();
  counts.by_thieves = by_thieves.load();
  EXPECT_TRUE(progress.finished());
  EXPECT_EQ(counts.by_owner + counts.by_thieves, n);
  EXPECT_EQ(victim->size_hint(), 0u);
  EXPECT_EQ(counts.empty_spills, 0u) << "a spill handed over no items";
  items.expect_each_taken_once();
  return counts;
}

// Who took what, in the XML report (--gtest_output=xml): shows whether the thieves got a share.
void record(const std::string& prefix, const StampedeCounts& c) {
  ::testing::Test::RecordProperty(prefix + "by_owner", std::to_string(c.by_owner));
  ::testing::Test::RecordProperty(prefix + "by_thieves", std::to_string(c.by_thieves));
  ::testing::Test::RecordProperty(prefix + "spilled", std::to_string(c.spilled));
  ::testing::Test::RecordProperty(prefix + "spill_batches", std::to_string(c.spill_batches));
}

// crossbeam's `stampede`, at default capacity.
TYPED_TEST(LocalQueueTest, StampedeOwnerAndFourThievesTakeEachItemOnce) {
  using Queue = typename TestFixture::Queue;
  Items items(kStampedeItems);
  const StampedeCounts c = run_stampede<Queue>(
      items, {.thieves = 4, .capacity = {}, .pop_every = 2, .yield_every = 1024});
  record("", c);
  if (!Queue::kBounded) {
    EXPECT_EQ(c.spill_batches, 0u) << "an unbounded queue spilled";
  }
}

// The smallest capacities a queue accepts (powers of two), so a bounded queue spills all the
// time and an unbounded one grows from almost nothing while thieves steal.
TYPED_TEST(LocalQueueTest, BoundedSmallCapacityTwoAndFourTakeEachItemOnce) {
  using Queue = typename TestFixture::Queue;
  for (std::size_t capacity : {2u, 4u}) {
    SCOPED_TRACE(::testing::Message() << "capacity " << capacity);
    Items items(kBoundedSmallItems);
    const StampedeCounts c = run_stampede<Queue>(
        items, {.thieves = 2, .capacity = capacity, .pop_every = 2, .yield_every = 16});
    record("capacity_" + std::to_string(capacity) + "_", c);
    if (Queue::kBounded) {
      EXPECT_GE(c.spill_batches, 1u) << "a full bounded queue never spilled";
      EXPECT_GE(c.spilled, c.spill_batches);
    } else {
      EXPECT_EQ(c.spill_batches, 0u) << "an unbounded queue spilled";
    }
  }
}

// destructors --------------------------------------------------------------------------------

// A move-only item that counts its own destruction (a moved-from shell counts nothing).
class Tracked {
 public:
  explicit Tracked(Item* drops) : drops_(drops) {}
  Tracked(Tracked&& other) noexcept : drops_(std::exchange(other.drops_, nullptr)) {}
  Tracked& operator=(Tracked&& other) noexcept {
    if (this != &other) {
      release();
      drops_ = std::exchange(other.drops_, nullptr);
    }
    return *this;
  }
  ~Tracked() { release(); }

 private:
  void release() {
    if (drops_ != nullptr) Items::take(drops_);
    drops_ = nullptr;
  }
  Item* drops_;
};

void drop(Tracked&& t) { Tracked gone(std::move(t)); }

struct DropSpill {
  void operator()(std::span<Tracked> batch) const {
    for (Tracked& t : batch) drop(std::move(t));
  }
};

// Every variant, with trivially copyable items (pointers): push N, take some by pop and by
// steal, then destroy the queue. Its destructor must not touch the items (it cannot: they are
// pointers) and must free its own storage (LeakSanitizer checks that in the ASan build); what
// it held is exactly what size_hint reported before, and those items are untouched.
// Variants whose queues take any movable T (kHoldsNonTrivialItems) also run with Tracked items:
// each item left in the destroyed queue is destroyed exactly once, by the queue.
TYPED_TEST(LocalQueueTest, DestructorsLeaveNoItemLostOrReleasedTwice) {
  using V = TypeParam;
  using Queue = typename TestFixture::Queue;
  constexpr std::size_t kN = 1000;
  Items items(kN);
  std::size_t spilled = 0;
  std::size_t left = 0;
  {
    Queue q;
    Queue thief;
    for (std::size_t i = 0; i < kN; ++i) q.push(items[i], TakeSpill{&spilled});
    for (int k = 0; k < 100; ++k) {
      if (std::optional<Item*> i = q.pop()) Items::take(*i);
    }
    for (bool half : {true, false, true}) {
      if (std::optional<Item*> i = q.steal_into(thief, half)) Items::take(*i);
      drain_local(thief);
    }
    left = q.size_hint();
    EXPECT_EQ(items.count_taken(1) + left, kN);
    EXPECT_GT(left, 0u);
  }
  EXPECT_EQ(items.count_taken(0), left) << "the destructor touched an item";
  EXPECT_EQ(items.count_taken(1), kN - left);
  if (!Queue::kBounded) {
    EXPECT_EQ(spilled, 0u);
  }

  if constexpr (kHoldsNonTrivialItems<V>) {
    using TrackedQueue = typename V::template LocalQueue<Tracked>;
    static_assert(!std::is_trivially_copyable_v<Tracked>);
    static_assert(weft::variants::LocalQueue<TrackedQueue, Tracked>);
    Items drops(kN);
    std::size_t tracked_left = 0;
    {
      TrackedQueue q;
      TrackedQueue thief;
      for (std::size_t i = 0; i < kN; ++i) q.push(Tracked(drops[i]), DropSpill{});
      for (int k = 0; k < 100; ++k) q.pop();  // each popped item is destroyed right here
      for (bool half : {true, false, true}) {
        q.steal_into(thief, half);
        while (thief.pop()) {
        }
      }
      tracked_left = q.size_hint();
      EXPECT_EQ(drops.count_taken(0), tracked_left) << "destroyed while still queued";
      EXPECT_EQ(drops.count_taken(1), kN - tracked_left);
    }
    EXPECT_GT(tracked_left, 0u);
    drops.expect_each_taken_once();
  }
}

// size_hint ----------------------------------------------------------------------------------

// At rest the hint is exact: 0 when empty, n after n pushes. A bounded queue of capacity c
// holds c items before it spills; an unbounded one built with capacity 2 grows.
TYPED_TEST(LocalQueueTest, SizeHintIsZeroWhenEmptyAndNAfterNPushes) {
  using Queue = typename TestFixture::Queue;
  for (std::size_t capacity : {2u, 4u, 64u}) {
    SCOPED_TRACE(::testing::Message() << "capacity " << capacity);
    Queue q(capacity);
    EXPECT_EQ(q.size_hint(), 0u);
    const std::size_t n = Queue::kBounded ? capacity : 100;
    Items items(n);
    for (std::size_t i = 0; i < n; ++i) {
      q.push(items[i], NoSpill{});
      EXPECT_EQ(q.size_hint(), i + 1);
    }
    for (std::size_t i = n; i > 0; --i) {
      std::optional<Item*> got = q.pop();
      ASSERT_TRUE(got.has_value());
      Items::take(*got);
      EXPECT_EQ(q.size_hint(), i - 1);
    }
    items.expect_each_taken_once();
  }
  Queue q;
  Items items(100);
  for (std::size_t i = 0; i < items.size(); ++i) q.push(items[i], NoSpill{});
  EXPECT_EQ(q.size_hint(), items.size());
  drain_local(q);
  EXPECT_EQ(q.size_hint(), 0u);
}

// --- injectors ---------------------------------------------------------------------------------

template <class V>
class InjectorTest : public ::testing::Test {
 protected:
  using Queue = typename V::template Injector<Item*>;
  static_assert(weft::variants::Injector<Queue, Item*>);
};
TYPED_TEST_SUITE(InjectorTest, EveryVariant, VariantName);

TYPED_TEST(InjectorTest, SmokePushPopAndBatches) {
  using Queue = typename TestFixture::Queue;
  for (std::optional<std::size_t> capacity : kDefaultAndTwo) {
    SCOPED_TRACE(capacity ? "capacity 2" : "default capacity");
    auto q = make_queue<Queue>(capacity);
    EXPECT_FALSE(q->pop().has_value());
    EXPECT_EQ(q->pop_batch(8, [](Item*&&) { ADD_FAILURE() << "popped from an empty queue"; }), 0u);
    Items items(10);
    for (std::size_t i = 0; i < 4; ++i) q->push(items[i]);
    std::vector<Item*> rest;
    for (std::size_t i = 4; i < items.size(); ++i) rest.push_back(items[i]);
    q->push_batch(std::span<Item*>(rest));
    EXPECT_EQ(q->size_hint(), items.size());
    EXPECT_EQ(q->pop_batch(3, [](Item*&& i) { Items::take(i); }), 3u);
    while (std::optional<Item*> i = q->pop()) Items::take(*i);
    items.expect_each_taken_once();
    EXPECT_EQ(q->size_hint(), 0u);
  }
}

// crossbeam's mpmc: four producers, each mixing push and push_batch (batches of 1 to 17), and
// four consumers, each mixing pop and pop_batch (up to 1 to 32), at the default capacity and at
// capacity 2, where the injector must still accept every push.
TYPED_TEST(InjectorTest, InjectorMpmcFourProducersFourConsumersTakeEachItemOnce) {
  using Queue = typename TestFixture::Queue;
  constexpr std::size_t kProducers = 4;
  constexpr std::size_t kConsumers = 4;
  for (std::optional<std::size_t> capacity : kDefaultAndTwo) {
    SCOPED_TRACE(capacity ? "capacity 2" : "default capacity");
    Items items(kInjectorItems);
    auto q = make_queue<Queue>(capacity);
    std::atomic<std::size_t> taken{0};
    Progress progress(taken, items.size());
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < kProducers; ++p) {
      threads.emplace_back([&, p] {
        const std::size_t begin = items.size() * p / kProducers;
        const std::size_t end = items.size() * (p + 1) / kProducers;
        std::uint64_t rng = 0x9E3779B97F4A7C15ULL + p;
        std::vector<Item*> batch;
        std::size_t i = begin;
        while (i < end) {
          const std::size_t want = weft::variants::next_random(rng) % 18;  // 0: a single push
          if (want == 0) {
            q->push(items[i++]);
            continue;
          }
          for (; i < end && batch.size() < want; ++i) batch.push_back(items[i]);
          q->push_batch(std::span<Item*>(batch));
          batch.clear();
        }
      });
    }
    for (std::size_t c = 0; c < kConsumers; ++c) {
      threads.emplace_back([&, c] {
        std::uint64_t rng = 0xD1B54A32D192ED03ULL + c;
        while (progress.running()) {
          const std::size_t max = weft::variants::next_random(rng) % 33;  // 0: a single pop
          std::size_t got = 0;
          if (max == 0) {
            if (std::optional<Item*> i = q->pop()) {
              Items::take(*i);
              got = 1;
            }
          } else {
            got = q->pop_batch(max, [](Item*&& i) { Items::take(i); });
            EXPECT_LE(got, max);
          }
          if (got == 0) {
            std::this_thread::yield();
            continue;
          }
          taken.fetch_add(got, std::memory_order_acq_rel);
        }
      });
    }
    while (progress.running()) {
      progress.check();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (std::thread& t : threads) t.join();
    EXPECT_TRUE(progress.finished());
    items.expect_each_taken_once();
    EXPECT_EQ(q->size_hint(), 0u);
  }
}

// Same contract as the local queue's destructors scenario, through push, push_batch and
// pop_batch.
TYPED_TEST(InjectorTest, DestructorsLeaveNoItemLostOrReleasedTwice) {
  using V = TypeParam;
  using Queue = typename TestFixture::Queue;
  constexpr std::size_t kN = 1000;
  for (std::optional<std::size_t> capacity : kDefaultAndTwo) {
    SCOPED_TRACE(capacity ? "capacity 2" : "default capacity");
    Items items(kN);
    std::size_t left = 0;
    {
      auto q = make_queue<Queue>(capacity);
      std::vector<Item*> batch;
      for (std::size_t i = 0; i < kN / 2; ++i) q->push(items[i]);
      for (std::size_t i = kN / 2; i < kN; ++i) batch.push_back(items[i]);
      q->push_batch(std::span<Item*>(batch));
      for (int k = 0; k < 50; ++k) {
        if (std::optional<Item*> i = q->pop()) Items::take(*i);
      }
      q->pop_batch(100, [](Item*&& i) { Items::take(i); });
      left = q->size_hint();
      EXPECT_EQ(items.count_taken(1) + left, kN);
      EXPECT_GT(left, 0u);
    }
    EXPECT_EQ(items.count_taken(0), left) << "the destructor touched an item";
  }

  if constexpr (kHoldsNonTrivialItems<V>) {
    using TrackedQueue = typename V::template Injector<Tracked>;
    static_assert(weft::variants::Injector<TrackedQueue, Tracked>);
    Items drops(kN);
    std::size_t tracked_left = 0;
    {
      TrackedQueue q;
      std::vector<Tracked> batch;
      for (std::size_t i = 0; i < kN / 2; ++i) q.push(Tracked(drops[i]));
      for (std::size_t i = kN / 2; i < kN; ++i) batch.emplace_back(drops[i]);
      q.push_batch(std::span<Tracked>(batch));
      batch.clear();  // moved-from shells: they count nothing
      for (int k = 0; k < 50; ++k) q.pop();
      q.pop_batch(100, [](Tracked&& t) { drop(std::move(t)); });
      tracked_left = q.size_hint();
      EXPECT_EQ(drops.count_taken(0), tracked_left) << "destroyed while still queued";
    }
    EXPECT_GT(tracked_left, 0u);
    drops.expect_each_taken_once();
  }
}

TYPED_TEST(InjectorTest, SizeHintIsZeroWhenEmptyAndNAfterNPushes) {
  using Queue = typename TestFixture::Queue;
  for (std::optional<std::size_t> capacity : kDefaultAndTwo) {
    SCOPED_TRACE(capacity ? "capacity 2" : "default capacity");
    auto q = make_queue<Queue>(capacity);
    EXPECT_EQ(q->size_hint(), 0u);
    Items items(16);
    for (std::size_t i = 0; i < 10; ++i) {
      q->push(items[i]);
      EXPECT_EQ(q->size_hint(), i + 1);
    }
    std::vector<Item*> batch;
    for (std::size_t i = 10; i < items.size(); ++i) batch.push_back(items[i]);
    q->push_batch(std::span<Item*>(batch));
    EXPECT_EQ(q->size_hint(), items.size());
    EXPECT_EQ(q->pop_batch(5, [](Item*&& i) { Items::take(i); }), 5u);
    EXPECT_EQ(q->size_hint(), items.size() - 5);
    while (std::optional<Item*> i = q->pop()) Items::take(*i);
    EXPECT_EQ(q->size_hint(), 0u);
    items.expect_each_taken_once();
  }
}

}  // namespace
}  // namespace weft_test
