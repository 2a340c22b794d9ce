// Micro benchmarks of weft's async sync primitives (runtime/include/weft/sync/).
//
//   mutex_uncontended/std_mutex      std::mutex lock + unlock, the reference
//   mutex_uncontended/async_mutex    co_await m.lock() + guard drop inside a task that never waits
//                                    (a current_thread runtime: the benchmark loop runs in the task)
//   mutex_contended/<variant>/tasks:N  N tasks x 2,000 lock + increment + unlock on 2 workers;
//                                    counter ns_per_lock
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "weft/sync/mutex.hpp"
#include "weft/weft.hpp"

namespace {

using weft::Task;

void std_mutex_uncontended(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();
    m.unlock();
  }
}

Task<void> async_lock_loop(benchmark::State& state) {
  weft::AsyncMutex m;
  for (auto _ : state) {
    auto guard = co_await m.lock();
    benchmark::ClobberMemory();
  }
}

void async_mutex_uncontended(benchmark::State& state) {
  auto rt = weft::Runtime::create(weft::RuntimeOptions::current_thread("mutex"));
  (*rt)->block_on(async_lock_loop(state));
}

constexpr int kLocksPerTask = 2000;

Task<void> contender(weft::AsyncMutex* m, long* counter) {
  for (int i = 0; i < kLocksPerTask; ++i) {
    auto guard = co_await m->lock();
    ++*counter;
  }
}

Task<void> contend(int tasks) {
  weft::AsyncMutex m;
  long counter = 0;
  std::vector<weft::JoinHandle<void>> hs;
  for (int t = 0; t < tasks; ++t) hs.push_back(weft::spawn(contender(&m, &counter)));
  for (auto& h : hs) co_await h;
  benchmark::DoNotOptimize(counter);
}

void mutex_contended(benchmark::State& state, std::string variant) {
  const int tasks = static_cast<int>(state.range(0));
  auto rt = weft::Runtime::create(weft::RuntimeOptions::multi_thread(2, variant));
  double ns = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    (*rt)->block_on(contend(tasks));
    ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  }
  const double locks = static_cast<double>(state.iterations()) * tasks * kLocksPerTask;
  state.counters["ns_per_lock"] = ns / locks;
  state.SetItemsProcessed(static_cast<std::int64_t>(locks));
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("mutex_uncontended/std_mutex", std_mutex_uncontended);
  benchmark::RegisterBenchmark("mutex_uncontended/async_mutex", async_mutex_uncontended);
  for (std::string_view v : weft::Runtime::variants()) {
    const std::string name(v);
    benchmark::RegisterBenchmark(("mutex_contended/" + name).c_str(), mutex_contended, name)
        ->ArgName("tasks")
        ->Arg(2)
        ->Arg(4)
        ->Arg(8)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
