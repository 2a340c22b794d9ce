// Work stealing: a task queued behind a busy worker runs on another one. Each round is a
// rendezvous: the first task spins (bounded) until the second has started, which can only happen
// if an idle worker steals it. Several rounds of block_on catch a worker that stops being woken
// after the first round (a searcher count that leaks).
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "weft/weft.hpp"

namespace {

using weft::Runtime;
using weft::RuntimeOptions;
using weft::Task;

constexpr auto kPatience = std::chrono::seconds(20);

Task<bool> wait_for_partner(std::atomic<bool>* me, const std::atomic<bool>* partner) {
  me->store(true, std::memory_order_release);
  const auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (!partner->load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
    std::this_thread::yield();  // block the worker on purpose: no co_await
  }
  co_return true;
}

Task<bool> rendezvous() {
  std::atomic<bool> a{false};
  std::atomic<bool> b{false};
  auto first = weft::spawn(wait_for_partner(&a, &b));
  auto second = weft::spawn(wait_for_partner(&b, &a));
  const bool ok_first = co_await first;
  const bool ok_second = co_await second;
  co_return ok_first && ok_second;
}

class WorkStealing : public ::testing::TestWithParam<std::string> {};

TEST_P(WorkStealing, QueuedTaskRunsOnAnotherWorkerWhileOneIsBusy) {
  auto rt = Runtime::create(RuntimeOptions::multi_thread(2, GetParam()));
  ASSERT_TRUE(rt.ok()) << rt.status();
  for (int round = 0; round < 5; ++round) {
    EXPECT_TRUE((*rt)->block_on(rendezvous())) << "round " << round;
  }
  const weft::RuntimeStats stats = (*rt)->stats();
  ASSERT_EQ(stats.workers.size(), 2u);
  EXPECT_GT(stats.workers[0].polls, 0u);
  EXPECT_GT(stats.workers[1].polls, 0u);
}

TEST_P(WorkStealing, EveryWorkerOfFourTakesPartInARendezvousOfFour) {
  auto rt = Runtime::create(RuntimeOptions::multi_thread(4, GetParam()));
  ASSERT_TRUE(rt.ok()) << rt.status();
  auto all_four = []() -> Task<bool> {
    std::atomic<int> started{0};
    auto body = [](std::atomic<int>* s) -> Task<bool> {
      s->fetch_add(1, std::memory_order_acq_rel);
      const auto give_up = std::chrono::steady_clock::now() + kPatience;
      while (s->load(std::memory_order_acquire) < 4) {
        if (std::chrono::steady_clock::now() > give_up) co_return false;
        std::this_thread::yield();
      }
      co_return true;
    };
    std::vector<weft::JoinHandle<bool>> hs;
    for (int i = 0; i < 4; ++i) hs.push_back(weft::spawn(body(&started)));
    bool ok = true;
    for (auto& h : hs) ok = (co_await h) && ok;
    co_return ok;
  };
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE((*rt)->block_on(all_four())) << "round " << round;
  }
}

std::vector<std::string> variant_names() {
  std::vector<std::string> v;
  for (std::string_view n : Runtime::variants()) v.emplace_back(n);
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllVariants, WorkStealing, ::testing::ValuesIn(variant_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
