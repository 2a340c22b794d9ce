// weft-micro: Google Benchmark bodies written once and registered for every variant in the
// registry (a new variant is measured by registering it). For regression testing and for
// comparing queues side by side, not as a general-purpose benchmark.
//
//   owner_push_pop/<variant>            owner push then pop, one item: ns per pair
//   owner_with_thieves/<variant>/k:K    owner pushes batches of 64 and pops them while K threads
//                                       steal; counters: steal_success_rate, tasks_per_steal,
//                                       owner_share (fraction of items the owner got back)
//   steal_half/<variant>                a thief takes half of a 256-item queue: ns per steal
//                                       (refilling is paused; Debian's libbenchmark is a debug
//                                       build, so pause/resume adds some overhead)
//   injector_mpmc/<variant>/threads:N   N/2 producers and N/2 consumers on the injector, N up to
//                                       4x the cores; counter stalled_pop_rate (pops finding
//                                       nothing while the queue is not empty)
//
// Run with --benchmark_out=x.json --benchmark_out_format=json; scripts/gbench_to_csv.py turns
// the JSON into the tidy CSV.
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "machine_info.hpp"
#include "weft/variants/registry.hpp"

namespace {

using Item = void*;

Item item(std::uintptr_t i) { return reinterpret_cast<Item>(i + 1); }

// A spill target for bounded queues: counts what the owner had to hand over.
struct SpillCounter {
  std::size_t* spilled;
  void operator()(std::span<Item> batch) const { *spilled += batch.size(); }
};

template <class V>
void owner_push_pop(benchmark::State& state) {
  typename V::template LocalQueue<Item> q;
  std::size_t spilled = 0;
  std::uintptr_t i = 0;
  for (auto _ : state) {
    q.push(item(i++), SpillCounter{&spilled});
    benchmark::DoNotOptimize(q.pop());
  }
  state.SetItemsProcessed(state.iterations());
}

template <class V>
void owner_with_thieves(benchmark::State& state) {
  using Q = typename V::template LocalQueue<Item>;
  const int k = static_cast<int>(state.range(0));
  Q owner;
  std::vector<Q> thief_queues(static_cast<std::size_t>(k));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> attempts{0}, successes{0}, stolen{0};
  std::vector<std::thread> thieves;
  for (int t = 0; t < k; ++t) {
    thieves.emplace_back([&, t] {
      Q& mine = thief_queues[static_cast<std::size_t>(t)];
      std::uint64_t a = 0, s = 0, n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        ++a;
        if (owner.steal_into(mine, /*half=*/true)) {
          ++s;
          ++n;
          while (mine.pop()) ++n;
        }
      }
      attempts.fetch_add(a);
      successes.fetch_add(s);
      stolen.fetch_add(n);
    });
  }
  std::size_t spilled = 0;
  std::uint64_t own = 0;
  std::uintptr_t i = 0;
  for (auto _ : state) {
    for (int j = 0; j < 64; ++j) owner.push(item(i++), SpillCounter{&spilled});
    while (owner.pop()) ++own;
  }
  stop.store(true);
  for (auto& t : thieves) t.join();
  state.SetItemsProcessed(state.iterations() * 64);
  const double a = static_cast<double>(attempts.load());
  state.counters["steal_success_rate"] = a > 0 ? static_cast<double>(successes.load()) / a : 0;
  state.counters["tasks_per_steal"] =
      successes.load() > 0 ? static_cast<double>(stolen.load()) / successes.load() : 0;
  state.counters["owner_share"] = static_cast<double>(own) / static_cast<double>(i ? i : 1);
}

template <class V>
void steal_half(benchmark::State& state) {
  using Q = typename V::template LocalQueue<Item>;
  Q victim;
  Q thief;
  std::size_t spilled = 0;
  std::uintptr_t i = 0;
  std::uint64_t taken = 0;
  for (auto _ : state) {
    state.PauseTiming();
    while (thief.pop()) {
    }
    while (victim.pop()) {
    }
    for (int j = 0; j < 256; ++j) victim.push(item(i++), SpillCounter{&spilled});
    state.ResumeTiming();
    if (victim.steal_into(thief, /*half=*/true)) ++taken;
  }
  state.counters["steals"] = static_cast<double>(taken);
}

template <class V>
struct SharedInjector {
  static typename V::template Injector<Item>& get() {
    static typename V::template Injector<Item> injector;
    return injector;
  }
};

template <class V>
void injector_mpmc(benchmark::State& state) {
  auto& inj = SharedInjector<V>::get();
  const bool producer = state.thread_index() % 2 == 0 || state.threads() == 1;
  std::uintptr_t i = 0;
  std::uint64_t pops = 0, stalled = 0;
  for (auto _ : state) {
    if (producer) inj.push(item(i++));
    if (!producer || state.threads() == 1) {
      ++pops;
      // A pop that finds nothing while the queue holds items: for Vyukov's ring, a producer
      // preempted between claiming its cell and publishing it blocks the cells behind it.
      if (!inj.pop() && inj.size_hint() != 0) ++stalled;
    }
  }
  if (pops != 0) {
    state.counters["stalled_pop_rate"] =
        benchmark::Counter(static_cast<double>(stalled) / static_cast<double>(pops),
                           benchmark::Counter::kAvgThreads);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    while (inj.pop()) {  // leave the shared injector empty for the next run (untimed)
    }
  }
}

template <class V>
void register_variant() {
  const std::string n(V::name);
  benchmark::RegisterBenchmark(("owner_push_pop/" + n).c_str(), owner_push_pop<V>);
  benchmark::RegisterBenchmark(("owner_with_thieves/" + n).c_str(), owner_with_thieves<V>)
      ->ArgName("k")
      ->DenseRange(0, 3)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("steal_half/" + n).c_str(), steal_half<V>);
  // Up to 4x the cores: past them producers get preempted mid-push, which is where a queue that
  // is not lock-free (Vyukov's) pays; stalled_pop_rate shows it.
  const int max_threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  benchmark::RegisterBenchmark(("injector_mpmc/" + n).c_str(), injector_mpmc<V>)
      ->ThreadRange(2, 4 * max_threads)
      ->UseRealTime();
}

template <class... Vs>
void register_all(weft::variants::VariantList<Vs...>) {
  (register_variant<Vs>(), ...);
}

}  // namespace

int main(int argc, char** argv) {
  // The same machine and build facts weft-bench writes, for scripts/gbench_to_csv.py.
  const weft::bench::MachineInfo m = weft::bench::read_machine_info();
  benchmark::AddCustomContext("git_sha", m.git_sha);
  benchmark::AddCustomContext("cpu_model", m.cpu_model);
  benchmark::AddCustomContext("compiler", m.compiler);
  benchmark::AddCustomContext("build", m.build);
  register_all(weft::variants::AllVariants{});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
