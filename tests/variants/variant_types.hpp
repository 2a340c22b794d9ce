// The registry's variants as a gtest type list, so a typed suite runs for every registered
// variant (a new variant is tested by registering it).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "weft/variants/registry.hpp"

namespace weft_test {

template <class List>
struct AsGtestTypes;
template <class... Vs>
struct AsGtestTypes<weft::variants::VariantList<Vs...>> {
  using type = ::testing::Types<Vs...>;
};

using EveryVariant = AsGtestTypes<weft::variants::AllVariants>::type;

// Names typed tests after the variant ("LocalQueueTest/mutex.Smoke").
struct VariantName {
  template <class V>
  static std::string GetName(int) {
    std::string out;
    for (char c : V::name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      out += ok ? c : '_';
    }
    return out;
  }
};

// Whether V's queues accept any movable item type, not only trivially copyable ones.
//
// The runtime's item (`TaskHeader*`) is trivially copyable, and lock-free queues may rely on
// that: Chase-Lev keeps its items in `std::atomic<T>`. Instantiating such a queue with a
// non-trivial T is a hard compile error (a static_assert in the class body), not a substitution
// failure, so it cannot be detected with a `requires` expression: a variant whose queues take
// any movable T opts in here instead. For those, the `destructors` scenario also checks, with a
// counted move-only T, that every item left in a destroyed queue is destroyed exactly once.
template <class V>
inline constexpr bool kHoldsNonTrivialItems = false;
template <>
inline constexpr bool kHoldsNonTrivialItems<weft::variants::MutexVariant> = true;

}  // namespace weft_test
