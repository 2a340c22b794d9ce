// Stealing policies: the second axis of a variant, independent of the queue.
//
//   amount      steal half of the victim's queue (capped at kMaxBatch) or a single item
//   victim      where a searching worker starts its sweep over the other workers
//   backoff     what a searcher does between two empty sweeps (max_rounds sweeps, then park)
//
// A variant names its preset as types (StealHalf<RandomVictim, ExponentialBackoff>); the
// scheduler works from the preset's StealConfig, which runtime options may override per axis.
// It visits every other worker once per sweep, starting at `first_victim`, then tries the
// injector; only then does it back off, and only while another worker is running tasks (with
// none, no steal can succeed: it parks after one sweep), never after the last sweep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <thread>
#include <type_traits>

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

// Each sweep starts one worker further on (the per-worker `state` is a sweep counter here).
struct RoundRobinVictim {
  static constexpr std::string_view kName = "round_robin";
  static std::size_t first_victim(std::size_t self, std::size_t n, std::uint64_t& state) {
    return static_cast<std::size_t>((self + 1 + state++) % n);
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

// The same three choices as values, so a runtime can override a variant's preset and a sweep
// can vary one axis over any queue.
enum class StealAmount { kOne, kHalf };
enum class VictimOrder { kRandom, kRoundRobin };
enum class BackoffMode { kExponential, kNone };

struct StealConfig {
  StealAmount amount = StealAmount::kHalf;
  VictimOrder victim = VictimOrder::kRandom;
  BackoffMode backoff = BackoffMode::kExponential;
  std::size_t max_rounds = 4;  // empty sweeps before parking

  std::size_t first_victim(std::size_t self, std::size_t n, std::uint64_t& state) const {
    return victim == VictimOrder::kRandom ? RandomVictim::first_victim(self, n, state)
                                          : RoundRobinVictim::first_victim(self, n, state);
  }
  void backoff_after(std::size_t round) const {
    if (backoff == BackoffMode::kExponential) ExponentialBackoff::backoff(round);
  }
};

constexpr std::string_view to_string(StealAmount a) { return a == StealAmount::kHalf ? "half" : "one"; }
constexpr std::string_view to_string(VictimOrder v) {
  return v == VictimOrder::kRandom ? RandomVictim::kName : RoundRobinVictim::kName;
}
constexpr std::string_view to_string(BackoffMode b) {
  return b == BackoffMode::kExponential ? ExponentialBackoff::kName : NoBackoff::kName;
}

// A variant's preset, named by types; the scheduler works from config().
template <bool kHalf, class Victim, class Backoff, std::size_t kRounds>
struct StealPolicyOf {
  static constexpr StealConfig config() {
    return {kHalf ? StealAmount::kHalf : StealAmount::kOne,
            std::is_same_v<Victim, RandomVictim> ? VictimOrder::kRandom
                                                 : VictimOrder::kRoundRobin,
            std::is_same_v<Backoff, ExponentialBackoff> ? BackoffMode::kExponential
                                                        : BackoffMode::kNone,
            kRounds};
  }
};

// A searcher makes 4 sweeps before it parks, backing off between them (or not).
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
