// Stealing policies: the second axis of a variant, independent of the queue.
//
//   kStealHalf      steal half of the victim's queue (capped at kMaxBatch) or a single item
//   first_victim    where a searching worker starts its sweep over the other workers
//   backoff(round)  what a searcher does between two empty sweeps (kMaxRounds sweeps, then park)
//
// The scheduler visits every other worker once per sweep, starting at `first_victim`, then
// tries the injector; only then does it back off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <thread>

#include "weft/variants/concepts.hpp"

namespace weft::variants {

// xorshift64*: cheap per-worker randomness for victim selection.
inline std::uint64_t next_random(std::uint64_t& state) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

struct RandomVictim {
  static constexpr std::string_view kName = "random";
  static std::size_t first_victim(std::size_t /*self*/, std::size_t n, std::uint64_t& rng) {
    return static_cast<std::size_t>(next_random(rng) % n);
  }
};

struct RoundRobinVictim {
  static constexpr std::string_view kName = "round_robin";
  static std::size_t first_victim(std::size_t self, std::size_t n, std::uint64_t& /*rng*/) {
    return (self + 1) % n;
  }
};

// Exponential backoff between empty sweeps: 2^round pause instructions x 32, then a yield to
// the OS once the spin grows past a few microseconds.
struct ExponentialBackoff {
  static constexpr std::string_view kName = "exp";
  static void backoff(std::size_t round) {
    if (round >= 5) {
      std::this_thread::yield();
      return;
    }
    const std::size_t spins = std::size_t{32} << round;
    for (std::size_t i = 0; i < spins; ++i) cpu_relax();
  }
};

struct NoBackoff {
  static constexpr std::string_view kName = "none";
  static void backoff(std::size_t /*round*/) {}
};

template <bool kHalf, class Victim, class Backoff, std::size_t kRounds>
struct StealPolicyOf {
  static constexpr bool kStealHalf = kHalf;
  static constexpr std::size_t kMaxRounds = kRounds;
  static std::size_t first_victim(std::size_t self, std::size_t n, std::uint64_t& rng) {
    return Victim::first_victim(self, n, rng);
  }
  static void backoff(std::size_t round) { Backoff::backoff(round); }
  static constexpr std::string_view name() { return kHalf ? "half" : "one"; }
  static constexpr std::string_view victim_name() { return Victim::kName; }
  static constexpr std::string_view backoff_name() { return Backoff::kName; }
};

// With backoff, a searcher makes 4 sweeps before it parks; without, one (Tokio's choice).
template <class Victim = RandomVictim, class Backoff = ExponentialBackoff>
using StealHalf = StealPolicyOf<true, Victim, Backoff, 4>;
template <class Victim = RandomVictim, class Backoff = ExponentialBackoff>
using StealOne = StealPolicyOf<false, Victim, Backoff, 4>;

static_assert(StealPolicy<StealHalf<RandomVictim>>);
static_assert(StealPolicy<StealOne<RoundRobinVictim, NoBackoff>>);

// How many items a steal takes from a queue holding `available`.
constexpr std::size_t steal_count(std::size_t available, bool half) {
  if (available == 0) return 0;
  if (!half) return 1;
  const std::size_t n = (available + 1) / 2;
  return n < kMaxBatch ? n : kMaxBatch;
}

}  // namespace weft::variants
