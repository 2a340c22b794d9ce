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

}  // namespace weft_test
