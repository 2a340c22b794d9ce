// The registry: the list of named variant presets. It is the only place that turns a variant
// *name* into a type; the runtime instantiates Scheduler<V> for every V listed here.
//
// Adding a variant is one header and one line in `AllVariants`.
#pragma once

#include <array>
#include <string_view>
#include <utility>

#include "weft/variants/bwos.hpp"
#include "weft/variants/chase_lev.hpp"
#include "weft/variants/mutex.hpp"
#include "weft/variants/ring.hpp"
#include "weft/variants/vyukov.hpp"

namespace weft::variants {

template <class... Vs>
struct VariantList {
  static constexpr std::size_t size = sizeof...(Vs);
  static constexpr std::array<std::string_view, sizeof...(Vs)> names{Vs::name...};

  // Calls `f.template operator()<V>()` for the variant named `name`; returns false if none is.
  template <class F>
  static bool visit(std::string_view name, F&& f) {
    return ((name == Vs::name ? (f.template operator()<Vs>(), true) : false) || ...);
  }
};

using AllVariants =
    VariantList<MutexVariant, ChaseLevVariant, VyukovVariant, RingVariant, BwosVariant>;

}  // namespace weft::variants
