// Chase-Lev under the model checker: 1 owner and 2 thieves on a deque of capacity 4, every
// interleaving up to the preemption bound and every value the weak memory model lets a load
// read; each item must be taken exactly once. Two planted bugs (a push whose release is
// weakened, a steal whose seq_cst fence is weakened) show the test has teeth.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "model/model_checker.hpp"
#include "weft/variants/chase_lev.hpp"

namespace {

using weft_model::Atomic;
using weft_model::Explorer;

template <class Plant>
using Deque = weft::variants::ChaseLevDeque<std::uintptr_t, Atomic, Plant>;

template <class Plant>
struct World {
  Deque<Plant> owner{4};
  Deque<Plant> thief_queue[2] = {Deque<Plant>{4}, Deque<Plant>{4}};
  std::vector<std::uintptr_t> taken;  // fibers run one at a time: no lock needed
};

// The owner pushes `pushes` items (growing past 4), popping once in the middle; each thief
// steals once (one item, or half with `half`), then drains what it moved into its own queue.
template <class Plant>
Explorer::Result explore(int pushes, bool half, int bound) {
  Explorer e;
  Explorer::Options options;
  options.preemption_bound = bound;
  options.max_executions = 3'000'000;
  return e.explore(
      [pushes, half] {
        auto w = std::make_shared<World<Plant>>();
        auto noop = [](auto) {};
        std::vector<std::function<void()>> threads;
        threads.push_back([w, pushes, noop] {
          for (int i = 1; i <= pushes; ++i) {
            w->owner.push(static_cast<std::uintptr_t>(i), noop);
            if (i == 2) {
              if (auto v = w->owner.pop()) w->taken.push_back(*v);
            }
          }
        });
        for (int k = 0; k < 2; ++k) {
          threads.push_back([w, k, half] {
            if (auto v = w->owner.steal_into(w->thief_queue[k], half)) w->taken.push_back(*v);
            while (auto v = w->thief_queue[k].pop()) w->taken.push_back(*v);
          });
        }
        return Explorer::World{
            std::move(threads),
            [w, pushes]() -> std::string {
              std::vector<std::uintptr_t> all = w->taken;
              while (auto v = w->owner.pop()) all.push_back(*v);  // what is left, after the end
              return weft_model::each_taken_once(all, pushes);
            },
            w};
      },
      options);
}

using Correct = weft::variants::NoPlantedBug;

TEST(ChaseLevModel, OwnerAndTwoThievesTakeEveryItemExactlyOnce) {
  const Explorer::Result r = explore<Correct>(3, /*half=*/false, /*bound=*/2);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted) << r.executions << " executions";
  RecordProperty("executions", static_cast<int>(r.executions));
}

TEST(ChaseLevModel, GrowthPastCapacityFourWhileThievesStealHalf) {
  const Explorer::Result r = explore<Correct>(5, /*half=*/true, /*bound=*/1);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted) << r.executions << " executions";
}

struct WeakPushRelease : weft::variants::NoPlantedBug {
  static constexpr bool kWeakPushRelease = true;
};

TEST(ChaseLevModel, CatchesAPushWhoseReleaseIsWeakened) {
  const Explorer::Result r = explore<WeakPushRelease>(3, /*half=*/false, /*bound=*/2);
  EXPECT_FALSE(r.failure.empty()) << "the planted bug went unnoticed in " << r.executions
                                  << " executions";
}

struct WeakStealFence : weft::variants::NoPlantedBug {
  static constexpr bool kWeakStealFence = true;
};

TEST(ChaseLevModel, CatchesAStealWhoseSeqCstFenceIsWeakened) {
  const Explorer::Result r = explore<WeakStealFence>(3, /*half=*/false, /*bound=*/2);
  EXPECT_FALSE(r.failure.empty()) << "the planted bug went unnoticed in " << r.executions
                                  << " executions";
}

struct NoStealRecheck : weft::variants::NoPlantedBug {
  static constexpr bool kSkipStealRecheck = true;
};

// A finding, kept as a test: the buffer re-check before the steal CAS (crossbeam
// CVE-2021-32810) is defensive in this deque. Retired buffers are never written again and never
// reused, and a thief loads the buffer only after its acquire load of bottom_, which orders the
// owner's buffer swap before it; so a thief cannot read a slot the owner has since refilled.
// Every execution within the bound agrees. If buffers are ever recycled or shrunk, this test is
// the one to flip.
TEST(ChaseLevModel, StealWithoutTheBufferRecheckStaysCorrectWhileRetiredBuffersAreKept) {
  const Explorer::Result r = explore<NoStealRecheck>(5, /*half=*/true, /*bound=*/2);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted) << r.executions << " executions";
}

}  // namespace
