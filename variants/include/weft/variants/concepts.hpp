// The seams between the scheduler and its interchangeable queues.
//
// A *variant* names three policies (see mutex.hpp for the first one):
//   template <class T> using LocalQueue = ...;  // one per worker: the owner pushes and pops,
//                                                // thieves steal
//   template <class T> using Injector   = ...;  // the global queue: any thread pushes or pops
//   using Steal = ...;                           // whom to rob, how much, and how to back off
//
// The element type is generic (the runtime uses `TaskHeader*`, the typed tests use counted
// objects), so a queue can be studied without the runtime. Every queue header ends with a
// `static_assert` that it satisfies its concept.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace weft::variants {

// Most items a single steal or injector batch moves (Tokio and Go both use half of 256).
inline constexpr std::size_t kMaxBatch = 128;

// Padding unit that keeps fields written by different threads apart (x86-64 and most ARM64).
inline constexpr std::size_t kCacheLine = 64;

// The order in which the owner of a local queue takes its own items back.
enum class OwnerOrder { kFifo, kLifo };

// Default capacity of a bounded local queue (Tokio and Go: 256) and of a bounded injector.
inline constexpr std::size_t kDefaultLocalCapacity = 256;
inline constexpr std::size_t kDefaultInjectorCapacity = 1u << 16;

// Archetype of the overflow sink a bounded local queue hands surplus items to (the injector's
// `push_batch`). Only used to check the concept.
template <class T>
struct SpillArchetype {
  void operator()(std::span<T>) const {}
};

// Owner: push, pop. Any thread: steal_into (moves a batch into the thief's own queue and
// returns one item for the thief to run), size_hint.
//   Q()                 default capacity; Q(capacity) for tests (a power of two >= 2; an
//                       unbounded queue treats it as its initial size)
//   Q::kOwnerOrder      the order pop() returns the owner's own pushes in
//   Q::kBounded         true if push() may spill: when full, push hands a batch (about half of
//                       the queue plus the new item) to the spill callback, e.g. the injector
//   steal_into(t, half) takes steal_count(len, half) items (see steal.hpp), pushes all but one
//                       into `t` (the caller's own queue, empty or nearly so) and returns that one
template <class Q, class T>
concept LocalQueue = std::default_initializable<Q> && std::constructible_from<Q, std::size_t> &&
                     requires(Q& q, Q& thief, const Q& cq, T item, bool half) {
  { Q::kOwnerOrder } -> std::convertible_to<OwnerOrder>;
  { Q::kBounded } -> std::convertible_to<bool>;
  { q.push(std::move(item), SpillArchetype<T>{}) } -> std::same_as<void>;
  { q.pop() } -> std::same_as<std::optional<T>>;
  { q.steal_into(thief, half) } -> std::same_as<std::optional<T>>;
  { cq.size_hint() } -> std::convertible_to<std::size_t>;
};

// Any thread: push, push_batch, pop, pop_batch (calls `sink(T&&)` for up to `max` items and
// returns how many), size_hint. The injector never loses an item: a bounded implementation
// must still accept every push (e.g. by spilling to an unbounded overflow list).
template <class Q, class T>
concept Injector = std::default_initializable<Q> && std::constructible_from<Q, std::size_t> &&
                   requires(Q& q, const Q& cq, T item, std::span<T> batch, std::size_t max) {
  { q.push(std::move(item)) } -> std::same_as<void>;
  { q.push_batch(batch) } -> std::same_as<void>;
  { q.pop() } -> std::same_as<std::optional<T>>;
  { q.pop_batch(max, [](T&&) {}) } -> std::same_as<std::size_t>;
  { cq.size_hint() } -> std::convertible_to<std::size_t>;
};

// A variant's stealing preset: its values as a StealConfig (steal.hpp), which runtime options
// may override axis by axis.
struct StealConfig;
template <class P>
concept StealPolicy = requires {
  { P::config() } -> std::same_as<StealConfig>;
};

template <class V>
concept Variant = requires {
  { V::name } -> std::convertible_to<std::string_view>;
  typename V::template LocalQueue<void*>;
  typename V::template Injector<void*>;
  typename V::Steal;
} && LocalQueue<typename V::template LocalQueue<void*>, void*> &&
    Injector<typename V::template Injector<void*>, void*> && StealPolicy<typename V::Steal>;

}  // namespace weft::variants
