// The `mutex` variant: the baseline and the test oracle. Every queue is a std::deque behind a
// std::mutex (mutex_queue.hpp); stealing takes half of the victim's queue from a random start.
#pragma once

#include <string_view>

#include "weft/variants/concepts.hpp"
#include "weft/variants/mutex_queue.hpp"
#include "weft/variants/steal.hpp"

namespace weft::variants {

struct MutexVariant {
  static constexpr std::string_view name = "mutex";
  template <class T>
  using LocalQueue = MutexLocalQueue<T>;
  template <class T>
  using Injector = MutexInjector<T>;
  using Steal = StealHalf<RandomVictim, ExponentialBackoff>;
};

static_assert(Variant<MutexVariant>);

}  // namespace weft::variants
