// Spawning and joining: every task runs exactly once, wherever it was spawned from; values and
// exceptions travel through JoinHandle and block_on; nested Tasks run inline; detach and abort.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/runtime_test_params.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::JoinHandle;
using weft::Task;

class SpawnJoinTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(SpawnJoinTest);

// Handles are joined in chunks so a million tasks never hold a million frames at once.
constexpr std::size_t kJoinChunk = 1024;

using Flags = std::vector<std::atomic<std::uint8_t>>;

// Marks its own flag (a second run would make it 2) and returns its index.
Task<std::uint64_t> mark(std::atomic<std::uint8_t>* flag, std::uint64_t index) {
  flag->fetch_add(1, std::memory_order_relaxed);
  co_return index;
}

// Spawns mark(i) for i in [begin, end) from the worker running it, joining chunk by chunk.
Task<std::uint64_t> spawn_range_from_worker(Flags* flags, std::uint64_t begin, std::uint64_t end) {
  std::uint64_t sum = 0;
  std::vector<JoinHandle<std::uint64_t>> handles;
  handles.reserve(kJoinChunk);
  for (std::uint64_t i = begin; i < end; i += kJoinChunk) {
    handles.clear();
    const std::uint64_t stop = std::min(end, i + kJoinChunk);
    for (std::uint64_t j = i; j < stop; ++j) handles.push_back(weft::spawn(mark(&(*flags)[j], j)));
    for (auto& h : handles) sum += co_await h;
  }
  co_return sum;
}

// Splits [0, n) over `spawners` tasks spawned from the worker, so every worker spawns.
Task<std::uint64_t> spawn_from_workers(Flags* flags, std::uint64_t n, std::uint64_t spawners) {
  std::vector<JoinHandle<std::uint64_t>> handles;
  for (std::uint64_t s = 0; s < spawners; ++s) {
    handles.push_back(
        weft::spawn(spawn_range_from_worker(flags, n * s / spawners, n * (s + 1) / spawners)));
  }
  std::uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}

std::uint64_t sum_below(std::uint64_t n) { return n * (n - 1) / 2; }

// Every flag must be exactly 1; reports the first few offenders.
void expect_each_ran_exactly_once(const Flags& flags) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const int v = flags[i].load(std::memory_order_relaxed);
    if (v != 1 && ++bad <= 5) ADD_FAILURE() << "task " << i << " ran " << v << " times";
  }
  EXPECT_EQ(bad, 0u) << "tasks that did not run exactly once";
}

TEST_P(SpawnJoinTest, MillionTasksSpawnedFromWorkersEachRunExactlyOnce) {
  Flags flags(kManyTasks);
  auto rt = make_runtime();
  const std::uint64_t sum = rt->block_on(spawn_from_workers(&flags, kManyTasks, 8));
  EXPECT_EQ(sum, sum_below(kManyTasks));
  expect_each_ran_exactly_once(flags);
}

TEST_P(SpawnJoinTest,
       MillionTasksSpawnedFromWorkersAndEightOutsideThreadsAtOnceEachRunExactlyOnce) {
  constexpr std::size_t kThreads = 8;
  Flags flags(kManyTasks);
  std::vector<std::uint64_t> sums(kThreads, 0);
  std::vector<std::string> errors(kThreads);
  auto rt = make_runtime();
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        // This thread's slice: the first half spawned from here, the second half from a worker
        // (inside block_on), all eight threads at once.
        const std::uint64_t begin = kManyTasks * t / kThreads;
        const std::uint64_t end = kManyTasks * (t + 1) / kThreads;
        const std::uint64_t mid = begin + (end - begin) / 2;
        start.arrive_and_wait();
        std::uint64_t sum = 0;
        for (std::uint64_t i = begin; i < mid; i += kJoinChunk) {
          std::vector<JoinHandle<std::uint64_t>> handles;
          for (std::uint64_t j = i; j < std::min(mid, i + kJoinChunk); ++j) {
            handles.push_back(rt->spawn(mark(&flags[j], j)));
          }
          sum += rt->block_on(join_sum(std::move(handles)));
        }
        sum += rt->block_on(spawn_range_from_worker(&flags, mid, end));
        sums[t] = sum;
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::uint64_t total = 0;
  for (std::size_t t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    total += sums[t];
  }
  EXPECT_EQ(total, sum_below(kManyTasks));
  expect_each_ran_exactly_once(flags);
}

// A 10-ary tree of spawns, each node awaiting its children (skynet).
Task<std::uint64_t> spawn_tree(int depth) {
  if (depth == 0) co_return 1;
  std::vector<JoinHandle<std::uint64_t>> children;
  for (int i = 0; i < 10; ++i) children.push_back(weft::spawn(spawn_tree(depth - 1)));
  std::uint64_t leaves = 0;
  for (auto& c : children) leaves += co_await c;
  co_return leaves;
}

TEST_P(SpawnJoinTest, NestedSpawnTreeUnderBlockOnCountsEveryLeaf) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(spawn_tree(4)), 10'000u);
}

// co_await of a nested Task runs it inline, inside the same spawned task, and a wake inside the
// innermost Task resumes it there (not at the root).
Task<int> innermost(weft::TaskHeader* expected, int* mismatches) {
  if (weft::detail::current_task() != expected) ++*mismatches;
  for (int i = 0; i < 3; ++i) {
    co_await weft::yield_now();
    if (weft::detail::current_task() != expected) ++*mismatches;
  }
  co_return 40;
}
Task<int> middle(weft::TaskHeader* expected, int* mismatches) {
  const int v = co_await innermost(expected, mismatches);
  if (weft::detail::current_task() != expected) ++*mismatches;
  co_return v + 1;
}
Task<int> outer(int* mismatches) {
  weft::TaskHeader* me = weft::detail::current_task();
  const int v = co_await middle(me, mismatches);
  if (weft::detail::current_task() != me) ++*mismatches;
  co_return v + 1;
}

TEST_P(SpawnJoinTest, CoAwaitOfNestedTaskRunsInlineInTheSameTask) {
  auto rt = make_runtime();
  int mismatches = 0;
  const std::uint64_t polls_before = total_polls(*rt);
  EXPECT_EQ(rt->block_on(outer(&mismatches)), 42);
  EXPECT_EQ(mismatches, 0);
  // One spawned task: its first poll plus one per yield. Nested Tasks are not spawned.
  EXPECT_EQ(total_polls(*rt) - polls_before, 4u);
}

Task<int> answer() { co_return 42; }
Task<std::string> long_string() {
  co_await weft::yield_now();
  co_return std::string(1000, 'x') + "end";  // past any small-string buffer
}
Task<std::unique_ptr<int>> boxed(int v) {
  co_await weft::yield_now();
  co_return std::make_unique<int>(v);
}
Task<void> nothing() { co_return; }

struct Values {
  int i = 0;
  std::string s;
  std::unique_ptr<int> p;
};
Task<Values> join_values() {
  JoinHandle<int> hi = weft::spawn(answer());
  JoinHandle<std::string> hs = weft::spawn(long_string());
  JoinHandle<std::unique_ptr<int>> hp = weft::spawn(boxed(7));
  JoinHandle<void> hv = weft::spawn(nothing());
  Values v;
  v.p = co_await hp;
  v.s = co_await hs;
  v.i = co_await hi;
  co_await hv;
  co_return v;
}

TEST_P(SpawnJoinTest, JoinHandleCarriesIntStringAndMoveOnlyValues) {
  auto rt = make_runtime();
  Values v = rt->block_on(join_values());
  EXPECT_EQ(v.i, 42);
  EXPECT_EQ(v.s, std::string(1000, 'x') + "end");
  ASSERT_NE(v.p, nullptr);
  EXPECT_EQ(*v.p, 7);
}

TEST_P(SpawnJoinTest, BlockOnReturnsValuesIncludingMoveOnlyOnes) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(answer()), 42);
  EXPECT_EQ(rt->block_on(long_string()), std::string(1000, 'x') + "end");
  std::unique_ptr<int> p = rt->block_on(boxed(9));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 9);
  rt->block_on(nothing());
}

Task<int> unbox(JoinHandle<std::unique_ptr<int>> handle) {
  JoinHandle<std::unique_ptr<int>> h = std::move(handle);  // see join_value
  co_return *(co_await h);
}

TEST_P(SpawnJoinTest, OutsideSpawnJoinedFromATask) {
  auto rt = make_runtime();
  JoinHandle<std::unique_ptr<int>> h = rt->spawn(boxed(5));
  EXPECT_EQ(rt->block_on(unbox(std::move(h))), 5);
}

Task<int> value_after(AsyncEvent* go, [[maybe_unused]] FrameGuard guard) {
  co_await go->wait();
  co_return 5;
}
// Joins through a JoinHandle *parameter* (which lives as long as this frame).
Task<int> join_through_parameter(JoinHandle<int> h, [[maybe_unused]] FrameGuard guard) {
  co_return co_await h;
}

// Both frames must be freed once nothing refers to either task any more.
//
// The cycle this catches: the joiner suspends on the handle, so its waker goes into the joined
// task's join-waker slot. notify_join (task_header.cpp) wakes it with wake_by_ref and, as the
// JoinHandle is still alive, leaves it in the slot; drop_join_handle leaves it there too once the
// task is complete. So the joined task's header holds a reference to the joiner until the joined
// task is deallocated, while the joiner's frame, which is destroyed only at the joiner's last
// reference, holds the JoinHandle, the joined task's last reference. Neither count reaches zero:
// both blocks leak (LSan reports them; here the parameters' destructors never run).
TEST_P(SpawnJoinTest, TasksJoinedThroughAHandleParameterAreFreed) {
  std::atomic<int> joined_freed{0};
  std::atomic<int> joiner_freed{0};
  AsyncEvent go;
  auto rt = make_runtime();
  JoinHandle<int> h = rt->spawn(value_after(&go, FrameGuard(&joined_freed)));
  weft::TaskHeader* joined = h.header();
  // Let the joined task finish only once the joiner is suspended on it (its waker registered).
  std::thread helper([&] {
    spin_until([joined] { return (joined->load_state() & weft::TaskHeader::kJoinWaker) != 0; });
    go.set();
  });
  EXPECT_EQ(rt->block_on(join_through_parameter(std::move(h), FrameGuard(&joiner_freed))), 5);
  helper.join();
  rt.reset();
  EXPECT_EQ(joiner_freed.load(), 1) << "the joining task's frame was never destroyed";
  EXPECT_EQ(joined_freed.load(), 1) << "the joined task's frame was never destroyed";
}

Task<int> throws_after_yield(std::string message) {
  co_await weft::yield_now();
  throw std::runtime_error(message);
  co_return 0;
}

// What the awaiting task caught: the message of a std::runtime_error that is not a JoinError.
Task<std::string> catch_from_join_handle() {
  JoinHandle<int> h = weft::spawn(throws_after_yield("boom from a spawned task"));
  try {
    co_await h;
  } catch (const weft::JoinError&) {
    co_return "JoinError";
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what());
  }
  co_return "no exception";
}

TEST_P(SpawnJoinTest, ExceptionPropagatesThroughJoinHandle) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(catch_from_join_handle()), "boom from a spawned task");
}

TEST_P(SpawnJoinTest, ExceptionPropagatesThroughBlockOn) {
  auto rt = make_runtime();
  try {
    rt->block_on(throws_after_yield("boom through block_on"));
    ADD_FAILURE() << "block_on did not throw";
  } catch (const weft::JoinError&) {
    ADD_FAILURE() << "a task's own exception came back as JoinError";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom through block_on");
  }
  // The runtime is still usable afterwards.
  EXPECT_EQ(rt->block_on(answer()), 42);
}

Task<std::string> catch_from_nested_task() {
  try {
    co_await throws_after_yield("boom from a nested task");
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what());
  }
  co_return "no exception";
}

TEST_P(SpawnJoinTest, ExceptionPropagatesFromNestedTaskToItsAwaiter) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(catch_from_nested_task()), "boom from a nested task");
}

Task<void> set_flag_then_event(std::atomic<int>* ran, AsyncEvent* done) {
  ran->fetch_add(1, std::memory_order_relaxed);
  done->set();
  co_return;
}

Task<void> spawn_detached_and_wait(std::atomic<int>* ran, AsyncEvent* done) {
  weft::spawn(set_flag_then_event(ran, done)).detach();
  co_await done->wait();
}

TEST_P(SpawnJoinTest, DetachedTaskSpawnedFromATaskStillRuns) {
  std::atomic<int> ran{0};
  AsyncEvent done;
  auto rt = make_runtime();
  rt->block_on(spawn_detached_and_wait(&ran, &done));
  EXPECT_EQ(ran.load(), 1);
}

TEST_P(SpawnJoinTest, DetachedAndDroppedHandlesFromOutsideStillRun) {
  std::atomic<int> ran{0};
  AsyncEvent detached_done;
  AsyncEvent dropped_done;
  auto rt = make_runtime();
  rt->spawn(set_flag_then_event(&ran, &detached_done)).detach();
  { JoinHandle<void> dropped = rt->spawn(set_flag_then_event(&ran, &dropped_done)); }
  rt->block_on(wait_for_event(&detached_done));
  rt->block_on(wait_for_event(&dropped_done));
  EXPECT_EQ(ran.load(), 2);
}

// --- abort ------------------------------------------------------------------------------------

Task<int> count_run(std::atomic<int>* ran) {
  ran->fetch_add(1, std::memory_order_relaxed);
  co_return 1;
}

// Spawns and aborts at once (the task sits in this worker's LIFO slot, where no other worker
// can take it, so it cannot have started), then joins.
Task<int> abort_right_after_spawn(std::atomic<int>* ran, int n) {
  std::vector<JoinHandle<int>> handles;
  for (int i = 0; i < n; ++i) {
    handles.push_back(weft::spawn(count_run(ran)));
    handles.back().abort();
  }
  int join_errors = 0;
  for (auto& h : handles) {
    try {
      co_await h;
    } catch (const weft::JoinError&) {
      ++join_errors;
    }
  }
  co_return join_errors;
}

TEST_P(SpawnJoinTest, AbortOfQueuedTaskNeverRunsItAndJoinThrowsJoinError) {
  std::atomic<int> ran{0};
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(abort_right_after_spawn(&ran, 100)), 100);
  EXPECT_EQ(ran.load(), 0);
}

TEST_P(SpawnJoinTest, AbortOfTaskQueuedFromOutsideNeverRunsIt) {
  std::atomic<int> ran{0};
  // Every worker busy (or, current_thread, nobody driving): the tasks are really queued.
  BusyRuntime held = make_runtime_with_busy_workers();
  weft::Runtime* rt = held.rt.get();
  BusyWorkers& busy = held.busy;
  std::vector<JoinHandle<int>> handles;
  for (int i = 0; i < 100; ++i) {
    handles.push_back(rt->spawn(count_run(&ran)));
    handles.back().abort();
  }
  busy.release();
  for (auto& h : handles) EXPECT_TRUE(rt->block_on(join_fails_with_join_error(std::move(h))));
  EXPECT_EQ(ran.load(), 0);
}

// Suspends forever with a counted local; `suspended` is set while it suspends.
Task<void> suspend_forever(std::atomic<int>* destroyed, std::atomic<int>* resumed,
                           AsyncEvent* suspended) {
  DestructionCounter local(destroyed);
  co_await SignalThenNever{suspended};
  resumed->fetch_add(1, std::memory_order_relaxed);
}
// The same, one nested Task deeper: two frames, two counted locals.
Task<void> suspend_forever_nested(std::atomic<int>* destroyed, std::atomic<int>* resumed,
                                  AsyncEvent* suspended) {
  DestructionCounter local(destroyed);
  co_await suspend_forever(destroyed, resumed, suspended);
  resumed->fetch_add(1, std::memory_order_relaxed);
}

struct AbortOutcome {
  bool waited = false;      // the task was seen suspended (not running) before the abort
  bool join_error = false;  // awaiting its handle threw JoinError
  int destroyed_at_join = 0;
};

Task<AbortOutcome> abort_suspended(Task<void> victim, std::atomic<int>* destroyed,
                                   AsyncEvent* suspended) {
  AbortOutcome out;
  JoinHandle<void> h = weft::spawn(std::move(victim));
  co_await suspended->wait();
  weft::TaskHeader* header = h.header();
  out.waited = co_await yield_until(
      [header] { return (header->load_state() & weft::TaskHeader::kRunning) == 0; });
  h.abort();
  try {
    co_await h;
  } catch (const weft::JoinError&) {
    out.join_error = true;
  }
  out.destroyed_at_join = destroyed->load();
  co_return out;
}

TEST_P(SpawnJoinTest, AbortOfSuspendedTaskDestroysItsFrameAndJoinThrowsJoinError) {
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  AsyncEvent suspended;
  auto rt = make_runtime();
  AbortOutcome out = rt->block_on(
      abort_suspended(suspend_forever(&destroyed, &resumed, &suspended), &destroyed, &suspended));
  EXPECT_TRUE(out.waited);
  EXPECT_TRUE(out.join_error);
  EXPECT_EQ(out.destroyed_at_join, 1);
  EXPECT_EQ(resumed.load(), 0);
}

TEST_P(SpawnJoinTest, AbortOfTaskSuspendedInANestedTaskDestroysEveryFrame) {
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  AsyncEvent suspended;
  auto rt = make_runtime();
  AbortOutcome out = rt->block_on(abort_suspended(
      suspend_forever_nested(&destroyed, &resumed, &suspended), &destroyed, &suspended));
  EXPECT_TRUE(out.waited);
  EXPECT_TRUE(out.join_error);
  EXPECT_EQ(out.destroyed_at_join, 2);
  EXPECT_EQ(resumed.load(), 0);
}

TEST_P(SpawnJoinTest, AbortFromAnotherThreadDestroysASuspendedTask) {
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  AsyncEvent suspended;
  auto rt = make_runtime();
  JoinHandle<void> h = rt->spawn(suspend_forever(&destroyed, &resumed, &suspended));
  rt->block_on(wait_for_event(&suspended));
  weft::TaskHeader* header = h.header();
  ASSERT_TRUE(
      spin_until([header] { return (header->load_state() & weft::TaskHeader::kRunning) == 0; }));
  std::thread aborter([&h] { h.abort(); });
  aborter.join();
  EXPECT_TRUE(rt->block_on(join_fails_with_join_error(std::move(h))));
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_EQ(resumed.load(), 0);
}

// Spins inside its poll until `aborted`, then yields: the abort arrived while it ran, so it must
// be destroyed after this poll instead of being resumed.
Task<void> spin_until_aborted(std::atomic<bool>* running, std::atomic<bool>* aborted,
                              std::atomic<int>* destroyed, std::atomic<int>* resumed) {
  DestructionCounter local(destroyed);
  running->store(true);
  spin_until([aborted] { return aborted->load(); });
  co_await weft::yield_now();
  resumed->fetch_add(1, std::memory_order_relaxed);
}

TEST_P(SpawnJoinTest, AbortOfRunningTaskDestroysItAfterItsPoll) {
  std::atomic<bool> running{false};
  std::atomic<bool> aborted{false};
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  auto rt = make_runtime();
  JoinHandle<void> h = rt->spawn(spin_until_aborted(&running, &aborted, &destroyed, &resumed));
  std::thread aborter([&] {
    if (!spin_until([&] { return running.load(); })) return;
    h.abort();  // RUNNING: only marks it
    aborted.store(true);
  });
  // current_thread: the task runs inside this block_on, and the aborter acts meanwhile. The
  // handle stays in place: the aborter uses it while the root awaits it.
  const bool join_error = rt->block_on(join_in_place_fails_with_join_error(&h));
  aborter.join();
  EXPECT_TRUE(join_error);
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_EQ(resumed.load(), 0);
}

Task<int> wait_finished_then_abort_then_join() {
  JoinHandle<int> h = weft::spawn(answer());
  const bool finished = co_await yield_until([&h] { return h.is_finished(); });
  if (!finished) co_return -1;
  h.abort();
  h.abort();
  co_return co_await h;
}

TEST_P(SpawnJoinTest, AbortAfterCompletionDoesNothingAndTheValueIsStillReadable) {
  auto rt = make_runtime();
  EXPECT_EQ(rt->block_on(wait_finished_then_abort_then_join()), 42);
}

Task<bool> wait_until_finished(const JoinHandle<std::unique_ptr<int>>* h) {
  co_return co_await yield_until([h] { return h->is_finished(); });
}

TEST_P(SpawnJoinTest, AbortFromOutsideAfterCompletionKeepsTheValue) {
  auto rt = make_runtime();
  JoinHandle<std::unique_ptr<int>> h = rt->spawn(boxed(11));
  // Multi-thread: the workers run it. Current-thread: drive the runtime until it did.
  if (is_current_thread()) {
    EXPECT_TRUE(rt->block_on(wait_until_finished(&h)));
  }
  ASSERT_TRUE(spin_until([&h] { return h.is_finished(); }));
  h.abort();
  std::unique_ptr<int> v = h.take_result();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 11);
}

// Spins inside its poll until `other_ran` (bounded), holding its worker the whole time.
Task<bool> hold_worker_until(std::atomic<bool>* running, std::atomic<bool>* other_ran) {
  running->store(true);
  co_return spin_until([other_ran] { return other_ran->load(); }, std::chrono::seconds(10));
}
Task<void> set_true(std::atomic<bool>* flag) {
  flag->store(true);
  co_return;
}

// With every worker parked, an outside spawn wakes one worker, which runs a task that holds it.
// A second outside spawn must then wake another worker: the first is busy, not searching. (A
// woken worker counted as a searcher that kept that count while running what next_task gave it
// made notify_parked wake nobody, so the second task waited for the first to end: here, never.)
TEST(WorkerWakeup, ParkedWorkerTakesAnOutsideSpawnWhileTheOnlyAwakeWorkerRunsALongTask) {
  for (std::string_view variant : weft::Runtime::variants()) {
    for (std::size_t workers : {2, 4}) {
      SCOPED_TRACE(std::string(variant) + " multi_thread " + std::to_string(workers));
      std::atomic<bool> long_running{false};
      std::atomic<bool> short_ran{false};
      auto created =
          weft::Runtime::create(weft::RuntimeOptions::multi_thread(workers, std::string(variant)));
      ASSERT_TRUE(created.ok()) << created.status();
      std::unique_ptr<weft::Runtime> rt = *std::move(created);
      ASSERT_TRUE(every_worker_has_parked(*rt));  // nothing to do yet
      JoinHandle<bool> long_task = rt->spawn(hold_worker_until(&long_running, &short_ran));
      ASSERT_TRUE(spin_until([&] { return long_running.load(); }));
      // One worker is busy for as long as the short task does not run; the others are idle.
      rt->spawn(set_true(&short_ran)).detach();
      EXPECT_TRUE(rt->block_on(join_value(std::move(long_task))))
          << "the short task did not run within 10 s although " << workers - 1
          << " worker(s) were parked";
      EXPECT_TRUE(short_ran.load());
    }
  }
}

// As many outside spawns as workers, on a freshly created runtime, each task holding its worker
// until all have started: each must get a worker. A worker that pulls a batch from the injector
// runs one task and queues the rest; the rest is new work for the others. (Before that batch
// counted as new work, a searcher that swept the puller's queue while the batch was still in
// flight parked for good, and the batch waited behind a task that never ended: once in a few
// hundred runtimes under TSan, ShutdownTest's blockers on mutex_mt2.) Repeated, since it is a race.
TEST(WorkerWakeup, TasksSpawnedTogetherFromOutsideEachGetAWorkerWhileTheOthersBlock) {
  constexpr int kRuntimes = 20;
  for (std::string_view variant : weft::Runtime::variants()) {
    for (std::size_t workers : {2, 4}) {
      SCOPED_TRACE(std::string(variant) + " multi_thread " + std::to_string(workers));
      for (int i = 0; i < kRuntimes; ++i) {
        const weft::RuntimeOptions options =
            weft::RuntimeOptions::multi_thread(workers, std::string(variant));
        auto created = weft::Runtime::create(options);
        ASSERT_TRUE(created.ok()) << created.status();
        std::unique_ptr<weft::Runtime> rt = *std::move(created);
        BusyWorkers busy;
        ASSERT_TRUE(busy.occupy(*rt, std::chrono::seconds(10)))
            << "runtime " << i << ": a task waited 10 s behind one that held its worker, "
            << "while another worker was parked";
        busy.release();
      }
    }
  }
}

}  // namespace
}  // namespace weft_test
