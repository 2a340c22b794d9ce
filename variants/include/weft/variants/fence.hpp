// thread_fence<Atom>(order): the fence that goes with a queue's atomic type. For std::atomic it
// is std::atomic_thread_fence; a model checker that swaps in its own atomic type (the `Atom`
// template parameter of the lock-free queues) specializes FenceOf so it sees fences too.
//
// PlainAccessOf<Atom>::note(address): a queue that keeps items in plain (non-atomic) memory
// calls it before touching a slot. It compiles to nothing for std::atomic; the model checker
// uses it as a scheduling point and checks that conflicting slot accesses are ordered by
// happens-before (a data race detector for the slots).
//
// Synchronization map:
//   [F1] the fence of the caller's order; the caller's own label says what it pairs with.
#pragma once

#include <atomic>

namespace weft::variants {

template <template <class> class Atom>
struct FenceOf {
  static void fence(std::memory_order order) { std::atomic_thread_fence(order); }  // [F1]
};

template <template <class> class Atom>
inline void thread_fence(std::memory_order order) {
  FenceOf<Atom>::fence(order);
}

template <template <class> class Atom>
struct PlainAccessOf {
  static void note(const void* /*address*/) {}
};

}  // namespace weft::variants
