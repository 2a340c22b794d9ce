// The Tokio/Go ring under the model checker: 1 owner and 2 thieves on a ring of capacity 4, every
// interleaving up to the preemption bound, every value a load may read, and every plain slot
// access checked for a data race; each item must be taken exactly once. Two planted bugs (a push
// whose release is weakened, a thief that ignores a steal in progress) show the test has teeth.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "model/model_checker.hpp"
#include "weft/variants/ring.hpp"

namespace {

using weft_model::Atomic;
using weft_model::Explorer;

template <class Plant>
using Ring = weft::variants::RingQueue<std::uintptr_t, 4, Atomic, Plant>;

template <class Plant>
struct World {
  Ring<Plant> owner{4};
  Ring<Plant> thief_queue[2] = {Ring<Plant>{4}, Ring<Plant>{4}};
  std::vector<std::uintptr_t> taken;  // fibers run one at a time: no lock needed
};

// The owner pushes `pushes` items (past capacity 4 it spills half plus the item, which counts
// as taken), popping once after the second push; each thief steals half once and drains.
template <class Plant>
Explorer::Result explore(int pushes, int bound) {
  Explorer e;
  Explorer::Options options;
  options.preemption_bound = bound;
  options.max_executions = 3'000'000;
  return e.explore(
      [pushes] {
        auto w = std::make_shared<World<Plant>>();
        std::vector<std::function<void()>> threads;
        threads.push_back([w, pushes] {
          auto spill = [w](std::span<std::uintptr_t> batch) {
            for (std::uintptr_t v : batch) w->taken.push_back(v);
          };
          for (int i = 1; i <= pushes; ++i) {
            w->owner.push(static_cast<std::uintptr_t>(i), spill);
            if (i == 2) {
              if (auto v = w->owner.pop()) w->taken.push_back(*v);
            }
          }
        });
        for (int k = 0; k < 2; ++k) {
          threads.push_back([w, k] {
            if (auto v = w->owner.steal_into(w->thief_queue[k], /*half=*/true)) {
              w->taken.push_back(*v);
            }
            while (auto v = w->thief_queue[k].pop()) w->taken.push_back(*v);
          });
        }
        return Explorer::World{
            std::move(threads),
            [w, pushes]() -> std::string {
              std::vector<std::uintptr_t> all = w->taken;
              while (auto v = w->owner.pop()) all.push_back(*v);
              return weft_model::each_taken_once(all, pushes);
            },
            w};
      },
      options);
}

using Correct = weft::variants::RingNoPlantedBug;

TEST(RingModel, OwnerAndTwoThievesTakeEveryItemExactlyOnce) {
  const Explorer::Result r = explore<Correct>(3, /*bound=*/2);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted) << r.executions << " executions";
}

TEST(RingModel, OverflowPastCapacityFourWhileThievesSteal) {
  const Explorer::Result r = explore<Correct>(6, /*bound=*/1);
  EXPECT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_TRUE(r.exhausted) << r.executions << " executions";
}

struct WeakPushRelease : weft::variants::RingNoPlantedBug {
  static constexpr bool kWeakPushRelease = true;
};

TEST(RingModel, CatchesAPushWhoseReleaseIsWeakened) {
  const Explorer::Result r = explore<WeakPushRelease>(3, /*bound=*/2);
  EXPECT_FALSE(r.failure.empty()) << "the planted bug went unnoticed in " << r.executions
                                  << " executions";
}

struct IgnoresStealInProgress : weft::variants::RingNoPlantedBug {
  static constexpr bool kSkipStealInProgress = true;
};

TEST(RingModel, CatchesAThiefThatIgnoresAStealInProgress) {
  const Explorer::Result r = explore<IgnoresStealInProgress>(6, /*bound=*/2);
  EXPECT_FALSE(r.failure.empty()) << "the planted bug went unnoticed in " << r.executions
                                  << " executions";
}

}  // namespace
