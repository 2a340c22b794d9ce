// Micro benchmarks of weft::Channel (runtime/include/weft/sync/channel.hpp), per variant.
//
//   channel_ping_pong/<variant>          one round trip between two tasks over two capacity-1
//                                        channels on a one-worker runtime (time per round trip)
//   channel_throughput/<variant>/capacity:C
//                                        4 producers x 4 consumers, 2 workers, 100K values each
//                                        way; counter values_per_s
#include <chrono>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "weft/sync/channel.hpp"
#include "weft/weft.hpp"

namespace {

using weft::Channel;
using weft::Task;

Task<void> ponger(Channel<int>* ping, Channel<int>* pong) {
  while (std::optional<int> v = co_await ping->recv()) co_await pong->send(*v + 1);
}

Task<void> pinger(benchmark::State& state, Channel<int>* ping, Channel<int>* pong) {
  int v = 0;
  for (auto _ : state) {
    co_await ping->send(v);
    v = *co_await pong->recv();
  }
  ping->close();
}

Task<void> ping_pong(benchmark::State& state) {
  Channel<int> ping(1);
  Channel<int> pong(1);
  weft::JoinHandle<void> other = weft::spawn(ponger(&ping, &pong));
  co_await pinger(state, &ping, &pong);
  co_await other;
}

void channel_ping_pong(benchmark::State& state, std::string variant) {
  auto rt = weft::Runtime::create(weft::RuntimeOptions::multi_thread(1, variant));
  // The benchmark loop runs inside a task on the runtime's one worker.
  (*rt)->block_on(ping_pong(state));
}

constexpr int kSides = 4;
constexpr int kValuesPerProducer = 100'000;

Task<void> produce(Channel<int>* ch) {
  for (int i = 0; i < kValuesPerProducer; ++i) co_await ch->send(i);
}

Task<void> consume(Channel<int>* ch, long* sum) {
  while (std::optional<int> v = co_await ch->recv()) *sum += *v;
}

Task<void> stream(std::size_t capacity) {
  Channel<int> ch(capacity);
  std::vector<weft::JoinHandle<void>> producers;
  std::vector<weft::JoinHandle<void>> consumers;
  long sums[kSides] = {};
  for (int i = 0; i < kSides; ++i) consumers.push_back(weft::spawn(consume(&ch, &sums[i])));
  for (int i = 0; i < kSides; ++i) producers.push_back(weft::spawn(produce(&ch)));
  for (auto& p : producers) co_await p;
  ch.close();
  for (auto& c : consumers) co_await c;
  benchmark::DoNotOptimize(sums);
}

void channel_throughput(benchmark::State& state, std::string variant) {
  auto rt = weft::Runtime::create(weft::RuntimeOptions::multi_thread(2, variant));
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    (*rt)->block_on(stream(static_cast<std::size_t>(state.range(0))));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double values = static_cast<double>(state.iterations()) * kSides * kValuesPerProducer;
  state.counters["values_per_s"] = values / seconds;
  state.SetItemsProcessed(static_cast<std::int64_t>(values));
}

const bool kRegistered = [] {
  for (std::string_view v : weft::Runtime::variants()) {
    const std::string name(v);
    benchmark::RegisterBenchmark(("channel_ping_pong/" + name).c_str(), channel_ping_pong, name);
    benchmark::RegisterBenchmark(("channel_throughput/" + name).c_str(), channel_throughput, name)
        ->ArgName("capacity")
        ->Arg(1)
        ->Arg(16)
        ->Arg(1024)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
