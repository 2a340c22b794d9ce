// The wake rules of ARCHITECTURE.md ("Tasks and wakers"), for every variant and flavor:
//   * N wakes of a suspended task give one poll;
//   * a wake while the task is being polled gives exactly one more poll;
//   * a wake after completion does nothing;
//   * a waker from an earlier suspension does not resume a later one;
//   * wake_by_ref never touches the reference count;
// and yield_now lets the other tasks run.
//
// Polls are counted twice: by the task body (one increment per resumption) and by the runtime's
// `polls` counter, which counts every poll the scheduler makes, so a task queued twice (a second
// poll of a finished frame) would show up there even if the body never ran again.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "runtime/runtime_test_params.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::JoinHandle;
using weft::Task;
using weft::TaskHeader;
using weft::Waker;

class WakeRulesTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(WakeRulesTest);

// Suspends once on a published waker; counts its polls; returns how many.
Task<int> suspend_once_on(WakerSlot* slot, std::atomic<int>* polls) {
  polls->fetch_add(1);
  co_await PublishingAwaiter{slot};
  polls->fetch_add(1);
  co_return polls->load();
}

TEST_P(WakeRulesTest, ThousandConcurrentWakesFromFourThreadsResumeTheTaskOnce) {
  constexpr int kThreads = 4;
  constexpr int kWakesPerThread = 250;
  WakerSlot slot;
  std::atomic<int> polls{0};
  std::atomic<int> wakes_done{0};
  auto rt = make_runtime();
  const std::uint64_t polls_before = total_polls(*rt);
  std::vector<std::thread> wakers;
  for (int t = 0; t < kThreads; ++t) {
    wakers.emplace_back([&] {
      if (!spin_until([&] { return slot.published(); })) return;
      Waker w = slot.copy();
      for (int i = 0; i < kWakesPerThread; ++i) w.wake_by_ref();
      wakes_done.fetch_add(kWakesPerThread);
    });
  }
  // The task is the root of block_on, so it is the only task this runtime ever polls.
  EXPECT_EQ(rt->block_on(suspend_once_on(&slot, &polls)), 2);
  for (auto& th : wakers) th.join();
  slot.reset();
  EXPECT_EQ(wakes_done.load(), kThreads * kWakesPerThread);
  EXPECT_EQ(polls.load(), 2);  // the first poll, and one resumption for the one suspension
  // Wakes that came after completion did nothing: still two polls in all.
  EXPECT_EQ(total_polls(*rt) - polls_before, 2u);
}

// Wakes itself (several times) during its first poll, then suspends without a waker.
Task<int> wake_self_then_suspend(std::atomic<int>* polls) {
  polls->fetch_add(1);
  {
    Waker me = weft::current_waker();
    for (int i = 0; i < 10; ++i) me.wake_by_ref();
  }
  co_await SuspendOnce{};
  polls->fetch_add(1);
  co_return polls->load();
}

TEST_P(WakeRulesTest, WakeByRefOfOwnWakerDuringAPollGivesExactlyOneMorePoll) {
  std::atomic<int> polls{0};
  auto rt = make_runtime();
  const std::uint64_t polls_before = total_polls(*rt);
  EXPECT_EQ(rt->block_on(wake_self_then_suspend(&polls)), 2);
  EXPECT_EQ(polls.load(), 2);
  EXPECT_EQ(total_polls(*rt) - polls_before, 2u);
}

// Publishes its waker, then spins inside the poll until another thread has woken it.
Task<int> spin_while_woken_from_outside(WakerSlot* slot, std::atomic<bool>* woken,
                                        std::atomic<int>* polls, std::atomic<bool>* saw_wake) {
  polls->fetch_add(1);
  slot->publish(weft::current_waker());
  saw_wake->store(spin_until([woken] { return woken->load(); }));
  co_await SuspendOnce{};
  polls->fetch_add(1);
  co_return polls->load();
}

TEST_P(WakeRulesTest, WakeFromAnotherThreadDuringAPollGivesExactlyOneMorePoll) {
  WakerSlot slot;
  std::atomic<bool> woken{false};
  std::atomic<bool> saw_wake{false};
  std::atomic<int> polls{0};
  auto rt = make_runtime();
  const std::uint64_t polls_before = total_polls(*rt);
  std::thread waker([&] {
    if (!spin_until([&] { return slot.published(); })) return;
    Waker w = slot.copy();
    for (int i = 0; i < 100; ++i) w.wake_by_ref();  // all while the task is running
    woken.store(true);
  });
  EXPECT_EQ(rt->block_on(spin_while_woken_from_outside(&slot, &woken, &polls, &saw_wake)), 2);
  waker.join();
  slot.reset();
  EXPECT_TRUE(saw_wake.load());
  EXPECT_EQ(polls.load(), 2);
  EXPECT_EQ(total_polls(*rt) - polls_before, 2u);
}

Task<int> publish_and_finish(WakerSlot* slot, std::atomic<int>* polls) {
  polls->fetch_add(1);
  slot->publish(weft::current_waker());
  co_return 7;
}

TEST_P(WakeRulesTest, WakeAfterCompletionIsANoOpEvenAfterTheRuntimeIsGone) {
  WakerSlot slot;
  std::atomic<int> polls{0};
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(publish_and_finish(&slot, &polls)), 7);
  // The copied waker keeps the task's header alive; waking a finished task does nothing.
  Waker kept = slot.copy();
  slot.reset();
  const std::uint64_t polls_after = total_polls(*rt);
  for (int i = 0; i < 10; ++i) kept.wake_by_ref();
  Waker clone = kept;
  clone.wake();
  EXPECT_EQ(total_polls(*rt), polls_after);
  EXPECT_EQ(polls.load(), 1);
  // Still a no-op once the runtime is destroyed; dropping the last waker frees the task (ASan
  // and LSan watch both).
  rt.reset();
  kept.wake_by_ref();
  kept.wake();
  EXPECT_FALSE(static_cast<bool>(kept));
}

// Two suspensions, each on its own published waker. `second_intended` must be set before the
// second resumption: the test sets it right before waking the second waker.
Task<int> two_suspensions(WakerSlot* first, WakerSlot* second, std::atomic<bool>* second_intended,
                          std::atomic<int>* polls, std::atomic<int>* early_resumes) {
  polls->fetch_add(1);
  co_await PublishingAwaiter{first};
  polls->fetch_add(1);
  co_await PublishingAwaiter{second};
  polls->fetch_add(1);
  if (!second_intended->load()) early_resumes->fetch_add(1);
  co_return polls->load();
}

TEST_P(WakeRulesTest, StaleWakerFromAnEarlierSuspensionDoesNotResumeALaterOne) {
  WakerSlot first;
  WakerSlot second;
  std::atomic<bool> second_intended{false};
  std::atomic<int> polls{0};
  std::atomic<int> early_resumes{0};
  std::atomic<bool> helper_ok{false};
  std::uint64_t before = 0;
  std::uint64_t after = 0;
  std::uint64_t after_drop = 0;
  auto rt = make_runtime();
  JoinHandle<int> h =
      rt->spawn(two_suspensions(&first, &second, &second_intended, &polls, &early_resumes));
  TaskHeader* task = h.header();
  std::thread helper([&] {
    if (!spin_until([&] { return first.published(); })) return;
    Waker stale = first.copy();
    first.reset();
    stale.wake_by_ref();  // resumes the first suspension
    // Wait until the task sits in its second suspension: waker published and the poll over.
    const bool idle = spin_until([&] {
      return second.published() &&
             (task->load_state() & (TaskHeader::kRunning | TaskHeader::kNotified)) == 0;
    });
    if (!idle) return;
    before = task->load_state();
    for (int i = 0; i < 10; ++i) stale.wake_by_ref();
    after = task->load_state();
    stale.wake();
    after_drop = task->load_state();
    helper_ok.store(true);
    second_intended.store(true);
    second.copy().wake();
  });
  // current_thread: the task runs inside this block_on while the helper wakes it.
  EXPECT_EQ(rt->block_on(join_value(std::move(h))), 3);
  helper.join();
  second.reset();
  ASSERT_TRUE(helper_ok.load()) << "the task never reached its second suspension";
  // The stale wake neither queued it (NOTIFIED), nor started a poll (RUNNING, epoch).
  EXPECT_EQ(after & (TaskHeader::kRunning | TaskHeader::kNotified), 0u);
  EXPECT_EQ(TaskHeader::epoch(after), TaskHeader::epoch(before));
  EXPECT_EQ(after_drop & (TaskHeader::kRunning | TaskHeader::kNotified), 0u);
  EXPECT_EQ(TaskHeader::epoch(after_drop), TaskHeader::epoch(before));
  // wake_by_ref never touches the reference count; wake() gives the waker's reference back.
  EXPECT_EQ(TaskHeader::refs(after), TaskHeader::refs(before));
  EXPECT_EQ(TaskHeader::refs(after_drop), TaskHeader::refs(before) - 1);
  EXPECT_EQ(early_resumes.load(), 0);
  EXPECT_EQ(polls.load(), 3);
}

TEST_P(WakeRulesTest, WakersOfOneSuspensionWillWakeEachOtherAndNotALaterOne) {
  WakerSlot first;
  WakerSlot second;
  std::atomic<int> polls{0};
  std::atomic<int> early_resumes{0};
  std::atomic<bool> second_intended{true};
  std::atomic<bool> checked{false};
  bool same_suspension = false;
  bool later_suspension = true;
  auto rt = make_runtime();
  std::thread helper([&] {
    if (!spin_until([&] { return first.published(); })) return;
    Waker a = first.copy();
    Waker b = a;  // a clone wakes the same suspension
    same_suspension = a.will_wake(b) && b.will_wake(first.copy());
    first.reset();
    a.wake();
    if (!spin_until([&] { return second.published(); })) return;
    later_suspension = b.will_wake(second.copy());
    checked.store(true);
    second.copy().wake();
  });
  EXPECT_EQ(
      rt->block_on(two_suspensions(&first, &second, &second_intended, &polls, &early_resumes)), 3);
  helper.join();
  second.reset();
  ASSERT_TRUE(checked.load());
  EXPECT_TRUE(same_suspension);
  EXPECT_FALSE(later_suspension);
}

// Two tasks hand a turn back and forth, each waiting for its turn with yield_now. On one worker
// this finishes only if a yield really lets the other task run.
Task<int> take_turns(std::atomic<int>* turn, int me, int rounds) {
  int done = 0;
  while (done < rounds) {
    const bool my_turn = co_await yield_until([turn, me] { return turn->load() == me; });
    if (!my_turn) co_return done;
    turn->store(1 - me);
    ++done;
  }
  co_return done;
}

Task<int> ping_pong(std::atomic<int>* turn, int rounds) {
  JoinHandle<int> ping = weft::spawn(take_turns(turn, 0, rounds));
  JoinHandle<int> pong = weft::spawn(take_turns(turn, 1, rounds));
  const int a = co_await ping;
  const int b = co_await pong;
  co_return a + b;
}

TEST_P(WakeRulesTest, YieldNowLetsAnotherTaskRunSoTwoTasksPingPongToTheEnd) {
  constexpr int kRounds = 1000;
  std::atomic<int> turn{0};
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(ping_pong(&turn, kRounds)), 2 * kRounds);
}

// Yields `n` times; each yield is one more poll.
Task<int> yield_n(int n, std::atomic<int>* polls) {
  polls->fetch_add(1);
  for (int i = 0; i < n; ++i) {
    co_await weft::yield_now();
    polls->fetch_add(1);
  }
  co_return n;
}

TEST_P(WakeRulesTest, EachYieldIsExactlyOneMorePoll) {
  std::atomic<int> polls{0};
  auto rt = make_runtime();
  const std::uint64_t polls_before = total_polls(*rt);
  EXPECT_EQ(rt->block_on(yield_n(100, &polls)), 100);
  EXPECT_EQ(polls.load(), 101);
  EXPECT_EQ(total_polls(*rt) - polls_before, 101u);
}

TEST(WakeRulesOutsideATask, CurrentWakerOutsideATaskThrowsLogicError) {
  EXPECT_THROW((void)weft::current_waker(), std::logic_error);
}

TEST(WakeRulesOutsideATask, YieldNowOutsideATaskDoesNotSuspend) {
  EXPECT_TRUE(weft::yield_now().await_ready());
}

}  // namespace
}  // namespace weft_test
