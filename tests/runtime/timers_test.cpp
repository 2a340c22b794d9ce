// Timers through the runtime: sleep_for / sleep_until fire and never early, many concurrent
// sleeps all fire, lateness stays bounded while every worker is kept busy, a dropped sleep
// cancels its timer, and timeout() gives the value, DeadlineExceeded or the exception. For every
// variant and flavor.
//
// Every duration is measured with steady_clock inside the task, and the only assertion on time
// is "not before the deadline"; the lateness test has a deliberately generous bound (the precise
// figure is timer_churn's job). Every wait is bounded: a lost timer wake-up fails the test (or
// runs into the ctest TIMEOUT) instead of hanging CI.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/status.hpp"
#include "runtime/runtime_test_params.hpp"
#include "scheduler/driver.hpp"  // white-box: the runtime's timers
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using weft::JoinHandle;
using weft::Task;

class TimersTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(TimersTest);

// Concurrent sleepers in the "many sleeps" test, and in the lateness test.
constexpr int kManySleeps = 1000;
constexpr int kLatenessSleeps = 200;
// p100 lateness allowed while every worker runs CPU-bound yielding loops: generous on purpose.
constexpr auto kLatenessBound = milliseconds(500);

// Timers pending in the runtime running this task (every shard).
std::size_t pending_timers() { return weft::detail::context().scheduler->driver().timers().size(); }

// The runtime's timers, for reading from outside once its tasks are gone.
weft::detail::Timers* timers_of_current_runtime() {
  return &weft::detail::context().scheduler->driver().timers();
}

// Sleeps `d` once, returns how long it took.
Task<steady_clock::duration> timed_sleep_for(steady_clock::duration d) {
  const auto start = steady_clock::now();
  co_await weft::sleep_for(d);
  co_return steady_clock::now() - start;
}

std::string us(steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) + " us";
}

// --- sleep_for / sleep_until ----------------------------------------------------------------

Task<int> sleeps_of_several_lengths() {
  int early = 0;
  for (steady_clock::duration d :
       {steady_clock::duration(std::chrono::microseconds(300)),
        steady_clock::duration(milliseconds(1)), steady_clock::duration(milliseconds(5)),
        steady_clock::duration(milliseconds(20)), steady_clock::duration(milliseconds(64)),
        steady_clock::duration(milliseconds(70))}) {
    const steady_clock::duration took = co_await timed_sleep_for(d);
    if (took < d) {
      ++early;
      ADD_FAILURE() << "sleep_for(" << us(d) << ") returned after " << us(took);
    }
  }
  co_return early;
}

TEST_P(TimersTest, SleepForReturnsNoEarlierThanTheRequestedDuration) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(sleeps_of_several_lengths()), 0);
}

Task<int> sleeps_until_deadlines() {
  int early = 0;
  for (auto d : {milliseconds(1), milliseconds(15), milliseconds(80)}) {
    const auto deadline = steady_clock::now() + d;
    co_await weft::sleep_until(deadline);
    const auto now = steady_clock::now();
    if (now < deadline) {
      ++early;
      ADD_FAILURE() << "sleep_until returned " << us(deadline - now) << " before its deadline";
    }
  }
  co_return early;
}

TEST_P(TimersTest, SleepUntilReturnsNoEarlierThanItsDeadline) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(sleeps_until_deadlines()), 0);
}

// Zero, negative and past deadlines complete at once and leave no timer behind.
Task<std::size_t> sleeps_already_due() {
  co_await weft::sleep_for(milliseconds(0));
  co_await weft::sleep_for(milliseconds(-5));
  co_await weft::sleep_until(steady_clock::now() - milliseconds(10));
  co_await weft::sleep_until(steady_clock::time_point::min());
  co_return pending_timers();
}

TEST_P(TimersTest, SleepsThatAreAlreadyDueCompleteWithoutATimer) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(sleeps_already_due()), 0u);
}

struct SleepOutcome {
  steady_clock::duration requested{};
  steady_clock::duration took{};
};

Task<SleepOutcome> sleep_and_measure(steady_clock::duration d) {
  const auto start = steady_clock::now();
  co_await weft::sleep_for(d);
  co_return SleepOutcome{d, steady_clock::now() - start};
}

struct ManySleeps {
  int fired = 0;
  int early = 0;
  std::size_t pending_after = 0;
  steady_clock::duration max_lateness{};
};

// Spawns `n` sleepers of random 1-50 ms (a fixed seed), joins them all.
Task<ManySleeps> many_sleeps(int n) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> ms(1, 50);
  std::vector<JoinHandle<SleepOutcome>> handles;
  handles.reserve(n);
  for (int i = 0; i < n; ++i)
    handles.push_back(weft::spawn(sleep_and_measure(milliseconds(ms(rng)))));
  ManySleeps out;
  for (auto& h : handles) {
    const SleepOutcome o = co_await h;
    ++out.fired;
    if (o.took < o.requested) {
      if (++out.early <= 5) {
        ADD_FAILURE() << "a sleep of " << us(o.requested) << " fired after " << us(o.took);
      }
    } else {
      out.max_lateness = std::max(out.max_lateness, o.took - o.requested);
    }
  }
  out.pending_after = pending_timers();
  co_return out;
}

TEST_P(TimersTest, AThousandConcurrentSleepsAllFireAndNoneEarly) {
  auto rt = make_runtime();
  const ManySleeps r = rt->block_on(many_sleeps(kManySleeps));
  EXPECT_EQ(r.fired, kManySleeps);
  EXPECT_EQ(r.early, 0);
  EXPECT_EQ(r.pending_after, 0u);
  RecordProperty(
      "max_lateness_us",
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::microseconds>(r.max_lateness).count()));
}

// --- lateness under CPU load ----------------------------------------------------------------

// A CPU-bound task: spins ~100 us, yields, again, until `stop`. Counts its rounds.
Task<void> busy_yielding(std::atomic<bool>* stop, std::atomic<std::uint64_t>* rounds) {
  while (!stop->load(std::memory_order_relaxed)) {
    const auto until = steady_clock::now() + std::chrono::microseconds(100);
    while (steady_clock::now() < until) {
    }
    rounds->fetch_add(1, std::memory_order_relaxed);
    co_await weft::yield_now();
  }
}

struct LatenessUnderLoad {
  int fired = 0;
  int early = 0;
  steady_clock::duration max_lateness{};
  std::uint64_t busy_rounds = 0;
};

Task<LatenessUnderLoad> sleeps_while_busy(std::size_t busy_tasks, int sleepers) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> rounds{0};
  std::vector<JoinHandle<void>> busy;
  for (std::size_t i = 0; i < busy_tasks; ++i)
    busy.push_back(weft::spawn(busy_yielding(&stop, &rounds)));
  // Let the busy tasks occupy every worker before the sleeps start.
  co_await yield_until([&] { return rounds.load(std::memory_order_relaxed) >= 4 * busy_tasks; });
  std::mt19937 rng(777);
  std::uniform_int_distribution<int> ms(1, 50);
  std::vector<JoinHandle<SleepOutcome>> handles;
  for (int i = 0; i < sleepers; ++i)
    handles.push_back(weft::spawn(sleep_and_measure(milliseconds(ms(rng)))));
  LatenessUnderLoad out;
  for (auto& h : handles) {
    const SleepOutcome o = co_await h;
    ++out.fired;
    if (o.took < o.requested) {
      ++out.early;
    } else {
      out.max_lateness = std::max(out.max_lateness, o.took - o.requested);
    }
  }
  out.busy_rounds = rounds.load(std::memory_order_relaxed);
  stop.store(true, std::memory_order_relaxed);
  for (auto& h : busy) co_await h;
  co_return out;
}

TEST_P(TimersTest, LatenessStaysBoundedWhileCpuBoundTasksKeepEveryWorkerBusy) {
  auto rt = make_runtime();
  // Two yielding loops per worker: every worker always has one to run.
  const LatenessUnderLoad r = rt->block_on(sleeps_while_busy(2 * workers(), kLatenessSleeps));
  EXPECT_EQ(r.fired, kLatenessSleeps);
  EXPECT_EQ(r.early, 0);
  EXPECT_LT(r.max_lateness, kLatenessBound) << "p100 lateness " << us(r.max_lateness);
  EXPECT_GT(r.busy_rounds, 0u);
}

// A short sleep filed while the driver owner blocks until a far-away timer must shorten that
// block (the sleep handshake in timers.hpp), or it fires a minute late.
Task<steady_clock::duration> short_sleep_behind_a_long_one(std::size_t* pending_during) {
  JoinHandle<steady_clock::duration> long_sleep =
      weft::spawn(timed_sleep_for(std::chrono::seconds(60)));
  co_await yield_until([] { return pending_timers() == 1; });
  // Give the workers time to park, one of them in the driver with the 60 s timeout.
  const auto settle = steady_clock::now() + milliseconds(20);
  while (steady_clock::now() < settle) co_await weft::yield_now();
  *pending_during = pending_timers();
  const steady_clock::duration took = co_await timed_sleep_for(milliseconds(10));
  long_sleep.abort();
  co_await join_fails_with_join_error(std::move(long_sleep));
  co_return took;
}

TEST_P(TimersTest, AShortSleepFiledWhileTheDriverWaitsForALongOneFiresOnTime) {
  auto rt = make_runtime();
  std::size_t pending_during = 0;
  const auto took = rt->block_on(short_sleep_behind_a_long_one(&pending_during));
  EXPECT_EQ(pending_during, 1u);
  EXPECT_GE(took, milliseconds(10));
  EXPECT_LT(took, std::chrono::seconds(30)) << "the short sleep waited for the long one";
}

// A task whose sleeps are woken from another worker, one after another: the driver must be
// handed from worker to worker without losing a deadline.
Task<int> chained_sleeps(int n) {
  int early = 0;
  for (int i = 0; i < n; ++i) {
    JoinHandle<steady_clock::duration> h = weft::spawn(timed_sleep_for(milliseconds(1 + i % 3)));
    const steady_clock::duration took = co_await h;
    if (took < milliseconds(1 + i % 3)) ++early;
  }
  co_return early;
}

TEST_P(TimersTest, SleepsSpawnedOneAfterAnotherAllFire) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(chained_sleeps(200)), 0);
}

// --- dropping a sleep ------------------------------------------------------------------------

Task<void> sleep_an_hour(std::atomic<int>* destroyed, std::atomic<int>* woke) {
  DestructionCounter local(destroyed);
  co_await weft::sleep_for(std::chrono::hours(1));
  woke->fetch_add(1);
}

struct AbortedSleep {
  std::size_t pending_while_sleeping = 0;
  bool join_error = false;
  std::size_t pending_after_abort = 0;
  weft::detail::Timers* timers = nullptr;
};

// Spawns two hour-long sleepers; aborts one and waits for its timer to go; leaves the other
// for shutdown.
Task<AbortedSleep> abort_one_of_two_sleepers(std::atomic<int>* destroyed, std::atomic<int>* woke) {
  AbortedSleep out;
  out.timers = timers_of_current_runtime();
  JoinHandle<void> aborted = weft::spawn(sleep_an_hour(destroyed, woke));
  weft::spawn(sleep_an_hour(destroyed, woke)).detach();
  co_await yield_until([] { return pending_timers() == 2; });
  out.pending_while_sleeping = pending_timers();
  aborted.abort();
  out.join_error = co_await join_fails_with_join_error(std::move(aborted));
  co_await yield_until([] { return pending_timers() == 1; });
  out.pending_after_abort = pending_timers();
  co_return out;
}

TEST_P(TimersTest, AbortingASleepingTaskCancelsItsTimerAndShutdownDoesNotWaitForIt) {
  std::atomic<int> destroyed{0};
  std::atomic<int> woke{0};
  auto rt = make_runtime();
  const AbortedSleep r = rt->block_on(abort_one_of_two_sleepers(&destroyed, &woke));
  EXPECT_EQ(r.pending_while_sleeping, 2u);
  EXPECT_TRUE(r.join_error);
  EXPECT_EQ(r.pending_after_abort, 1u);
  EXPECT_EQ(destroyed.load(), 1);
  const auto start = steady_clock::now();
  const weft::ShutdownReport report = rt->shutdown();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_FALSE(report.deadline_exceeded);
  EXPECT_EQ(report.cancelled, 1u);  // the other sleeper
  EXPECT_EQ(destroyed.load(), 2);
  EXPECT_EQ(woke.load(), 0);
  // The runtime still exists (only shut down): its timers are empty.
  EXPECT_EQ(r.timers->size(), 0u);
}

// --- timeout ---------------------------------------------------------------------------------

Task<int> answer_after(steady_clock::duration d) {
  co_await weft::sleep_for(d);
  co_return 42;
}

Task<int> answer_now() { co_return 7; }

Task<void> nothing_after(steady_clock::duration d) { co_await weft::sleep_for(d); }

struct FastTimeouts {
  weft::StatusOr<int> immediate = weft::UnknownError("not run");
  weft::StatusOr<int> after_sleep = weft::UnknownError("not run");
  weft::Status void_task = weft::UnknownError("not run");
  steady_clock::duration took{};
  std::size_t pending_after = 1;
};

Task<FastTimeouts> fast_tasks_under_timeouts() {
  FastTimeouts out;
  const auto start = steady_clock::now();
  out.immediate = co_await weft::timeout(std::chrono::seconds(60), answer_now());
  out.after_sleep = co_await weft::timeout(std::chrono::seconds(60), answer_after(milliseconds(5)));
  out.void_task = co_await weft::timeout(std::chrono::seconds(60), nothing_after(milliseconds(1)));
  out.took = steady_clock::now() - start;
  out.pending_after = pending_timers();  // the timeouts' own sleeps are cancelled
  co_return out;
}

TEST_P(TimersTest, TimeoutReturnsTheValueOfATaskThatFinishesInTime) {
  auto rt = make_runtime();
  const FastTimeouts r = rt->block_on(fast_tasks_under_timeouts());
  ASSERT_TRUE(r.immediate.ok()) << r.immediate.status();
  EXPECT_EQ(*r.immediate, 7);
  ASSERT_TRUE(r.after_sleep.ok()) << r.after_sleep.status();
  EXPECT_EQ(*r.after_sleep, 42);
  EXPECT_TRUE(r.void_task.ok()) << r.void_task;
  EXPECT_LT(r.took, std::chrono::seconds(30)) << "a timeout waited for its limit";
  EXPECT_EQ(r.pending_after, 0u);
}

Task<int> slow_sleeper(std::atomic<int>* destroyed) {
  DestructionCounter local(destroyed);
  co_await weft::sleep_for(std::chrono::hours(1));
  co_return 1;
}

Task<int> slow_spinner(std::atomic<int>* destroyed) {
  DestructionCounter local(destroyed);
  const auto give_up = steady_clock::now() + kWaitBound;
  while (steady_clock::now() < give_up) co_await weft::yield_now();
  co_return 2;
}

struct SlowTimeout {
  weft::StatusOr<int> result = weft::UnknownError("not run");
  steady_clock::duration took{};
  int destroyed_at_return = -1;
  std::size_t pending_after = 1;
};

Task<SlowTimeout> time_out(Task<int> task, steady_clock::duration limit,
                           std::atomic<int>* destroyed) {
  SlowTimeout out;
  const auto start = steady_clock::now();
  out.result = co_await weft::timeout(limit, std::move(task));
  out.took = steady_clock::now() - start;
  out.destroyed_at_return = destroyed->load();
  out.pending_after = pending_timers();
  co_return out;
}

void expect_deadline_exceeded(const SlowTimeout& r, steady_clock::duration limit) {
  EXPECT_EQ(r.result.status().code(), weft::StatusCode::kDeadlineExceeded) << r.result.status();
  EXPECT_GE(r.took, limit);
  EXPECT_EQ(r.destroyed_at_return, 1) << "timeout() returned before the slow task was destroyed";
  EXPECT_EQ(r.pending_after, 0u);
}

TEST_P(TimersTest, TimeoutOfASleepingTaskGivesDeadlineExceededAndDestroysTheTask) {
  std::atomic<int> destroyed{0};
  auto rt = make_runtime();
  const auto limit = milliseconds(20);
  const SlowTimeout r = rt->block_on(time_out(slow_sleeper(&destroyed), limit, &destroyed));
  expect_deadline_exceeded(r, limit);
}

TEST_P(TimersTest, TimeoutOfAYieldingTaskGivesDeadlineExceededAndDestroysTheTask) {
  std::atomic<int> destroyed{0};
  auto rt = make_runtime();
  const auto limit = milliseconds(20);
  const SlowTimeout r = rt->block_on(time_out(slow_spinner(&destroyed), limit, &destroyed));
  expect_deadline_exceeded(r, limit);
  EXPECT_LT(r.took, kWaitBound) << "the yielding task ran to its own end";
}

Task<int> throws_after(steady_clock::duration d) {
  co_await weft::sleep_for(d);
  throw std::runtime_error("boom from inside the timed task");
}

Task<std::string> exception_through_timeout(steady_clock::duration d) {
  try {
    (void)co_await weft::timeout(std::chrono::seconds(60), throws_after(d));
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "no exception";
}

TEST_P(TimersTest, TimeoutPropagatesTheTasksException) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(exception_through_timeout(milliseconds(0))),
            "boom from inside the timed task");
  EXPECT_EQ(rt->block_on(exception_through_timeout(milliseconds(2))),
            "boom from inside the timed task");
}

// After many timeouts that race their task's completion (both sides ~1 ms), a plain sleep in
// the same task still waits its full time: no wake-up from a timeout's sleep or join may reach
// a later await of the task.
Task<int> timeouts_racing_their_tasks(int rounds) {
  int early = 0;
  for (int i = 0; i < rounds; ++i) {
    const auto d = std::chrono::microseconds(900 + 25 * (i % 9));
    (void)co_await weft::timeout(milliseconds(1), answer_after(d));
    const steady_clock::duration took = co_await timed_sleep_for(milliseconds(2));
    if (took < milliseconds(2)) {
      if (++early <= 5)
        ADD_FAILURE() << "round " << i << ": a 2 ms sleep returned after " << us(took);
    }
  }
  co_return early;
}

TEST_P(TimersTest, SleepAfterATimeoutThatRacedItsTaskStillWaitsItsFullTime) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(timeouts_racing_their_tasks(300)), 0);
  EXPECT_EQ(rt->block_on([]() -> Task<std::size_t> { co_return pending_timers(); }()), 0u);
}

// --- outside a runtime -----------------------------------------------------------------------

TEST(Timers, SleepOutsideARuntimeThrowsLogicError) {
  EXPECT_THROW((void)weft::sleep_for(milliseconds(1)), std::logic_error);
  EXPECT_THROW((void)weft::sleep_until(steady_clock::now() + milliseconds(1)), std::logic_error);
}

}  // namespace
}  // namespace weft_test
