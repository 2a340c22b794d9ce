// Runtime::shutdown: stop taking outside spawns, run every queued task to completion (and the
// tasks they spawn), destroy the frames of tasks still suspended, report what it did, and do it
// once. For every variant and flavor.
//
// "Queued" means queued for real: a multi_thread runtime has every worker held inside a poll
// (BusyWorkers) while the tasks are spawned from outside, a current_thread runtime is simply
// not driven. The workers are let go only once shutdown has begun, which a helper thread sees
// from outside: an outside spawn is then refused (its handle is finished at once).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/runtime_test_params.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::JoinHandle;
using weft::ShutdownReport;
using weft::Task;

class ShutdownTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(ShutdownTest);

using Flags = std::vector<std::atomic<std::uint8_t>>;

Task<void> mark(std::atomic<std::uint8_t>* flag) {
  flag->fetch_add(1, std::memory_order_relaxed);
  co_return;
}

// Marks its own flag, then spawns (from the worker, during the drain) a child that marks another.
Task<void> mark_and_spawn_child(std::atomic<std::uint8_t>* flag, std::atomic<std::uint8_t>* child) {
  flag->fetch_add(1, std::memory_order_relaxed);
  weft::spawn(mark(child)).detach();
  co_return;
}

Task<void> count_probe(std::atomic<std::uint64_t>* ran) {
  ran->fetch_add(1, std::memory_order_relaxed);
  co_return;
}

void expect_each_ran_exactly_once(const Flags& flags) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const int v = flags[i].load(std::memory_order_relaxed);
    if (v != 1 && ++bad <= 5) ADD_FAILURE() << "task " << i << " ran " << v << " times";
  }
  EXPECT_EQ(bad, 0u) << "tasks that did not run exactly once";
}

// Spawns a probe from outside; true if the runtime refused it (shutdown has begun): a refused
// spawn's handle is finished at once and throws JoinError. Otherwise counts it in `accepted`.
bool probe_refused(weft::Runtime& rt, std::atomic<std::uint64_t>* ran,
                   std::atomic<std::uint64_t>* accepted) {
  JoinHandle<void> probe = rt.spawn(count_probe(ran));
  if (probe.is_finished()) {
    try {
      probe.take_result();
    } catch (const weft::JoinError&) {
      return true;
    }
  }
  accepted->fetch_add(1);  // queued, or already run by a free worker
  return false;
}

struct QueuedShutdown {
  ShutdownReport report;
  std::uint64_t probes_accepted = 0;  // spawned by the helper before shutdown began; they ran too
  std::uint64_t probes_ran = 0;
  bool saw_shutdown_begin = true;
};

// Calls shutdown() on `rt`, whose workers `busy` holds (multi_thread), and lets the workers go
// as soon as shutdown has begun, so everything queued runs inside shutdown.
QueuedShutdown shutdown_with_queued_tasks(weft::Runtime& rt, BusyWorkers& busy) {
  QueuedShutdown out;
  std::atomic<std::uint64_t> probes_accepted{0};
  std::atomic<std::uint64_t> probes_ran{0};
  std::atomic<bool> saw_begin{true};
  std::optional<std::thread> helper;
  if (rt.options().flavor == weft::Flavor::kMultiThread) {
    helper.emplace([&] {
      saw_begin = spin_until([&] { return probe_refused(rt, &probes_ran, &probes_accepted); });
      busy.release();
    });
  }
  out.report = rt.shutdown();
  if (helper) helper->join();
  out.probes_accepted = probes_accepted.load();
  out.probes_ran = probes_ran.load();
  out.saw_shutdown_begin = saw_begin.load();
  return out;
}

TEST_P(ShutdownTest, ShutdownRunsEveryQueuedTaskAndReportsThemCompleted) {
  const std::size_t n = kQueuedAtShutdown;
  Flags flags(n);
  BusyRuntime held = make_runtime_with_busy_workers();
  weft::Runtime* rt = held.rt.get();
  BusyWorkers& busy = held.busy;
  for (std::size_t i = 0; i < n; ++i) rt->spawn(mark(&flags[i])).detach();
  for (std::size_t i = 0; i < n; i += n / 10) {
    EXPECT_EQ(flags[i].load(), 0) << "task " << i << " ran before shutdown: it was not queued";
  }
  QueuedShutdown s = shutdown_with_queued_tasks(*rt, busy);
  EXPECT_TRUE(s.saw_shutdown_begin);
  expect_each_ran_exactly_once(flags);
  EXPECT_EQ(s.probes_ran, s.probes_accepted);
  // Everything that ran during shutdown: the queued tasks, the blockers, the accepted probes.
  EXPECT_EQ(s.report.completed, n + busy.blockers() + s.probes_accepted);
  EXPECT_EQ(s.report.cancelled, 0u);
  EXPECT_FALSE(s.report.deadline_exceeded);
}

TEST_P(ShutdownTest, TasksSpawnedByQueuedTasksDuringShutdownAlsoRun) {
  const std::size_t n = kQueuedAtShutdown / 10;
  Flags parents(n);
  Flags children(n);
  BusyRuntime held = make_runtime_with_busy_workers();
  weft::Runtime* rt = held.rt.get();
  BusyWorkers& busy = held.busy;
  for (std::size_t i = 0; i < n; ++i) {
    rt->spawn(mark_and_spawn_child(&parents[i], &children[i])).detach();
  }
  QueuedShutdown s = shutdown_with_queued_tasks(*rt, busy);
  EXPECT_TRUE(s.saw_shutdown_begin);
  expect_each_ran_exactly_once(parents);
  expect_each_ran_exactly_once(children);
  EXPECT_EQ(s.report.completed, 2 * n + busy.blockers() + s.probes_accepted);
  EXPECT_EQ(s.report.cancelled, 0u);
}

// Suspends forever on an awaiter that keeps no waker, with a counted local.
Task<void> suspend_forever(std::atomic<int>* destroyed, std::atomic<int>* resumed,
                           Countdown* suspended) {
  DestructionCounter local(destroyed);
  suspended->count_down();
  co_await NeverAwaiter{};
  resumed->fetch_add(1);
}

// Spawns `n` of them from a worker and returns once all have reached their suspension; keeps
// the handles of every other one and detaches the rest.
Task<std::vector<JoinHandle<void>>> spawn_suspended(int n, std::atomic<int>* destroyed,
                                                    std::atomic<int>* resumed,
                                                    Countdown* suspended) {
  std::vector<JoinHandle<void>> kept;
  for (int i = 0; i < n; ++i) {
    JoinHandle<void> h = weft::spawn(suspend_forever(destroyed, resumed, suspended));
    if (i % 2 == 0) {
      kept.push_back(std::move(h));
    } else {
      h.detach();
    }
  }
  co_await suspended->wait();
  co_return kept;
}

TEST_P(ShutdownTest, ShutdownDestroysTheFramesOfTasksSuspendedForever) {
  constexpr int kSuspended = 1000;
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  Countdown suspended(kSuspended);
  auto rt = make_runtime();
  std::vector<JoinHandle<void>> kept =
      rt->block_on(spawn_suspended(kSuspended, &destroyed, &resumed, &suspended));
  EXPECT_EQ(destroyed.load(), 0);
  const ShutdownReport report = rt->shutdown();
  EXPECT_EQ(destroyed.load(), kSuspended);
  EXPECT_EQ(report.cancelled, static_cast<std::uint64_t>(kSuspended));
  // The block_on root completed before shutdown (see ShutdownReport.DoesNotCount...).
  EXPECT_EQ(report.completed, 0u);
  EXPECT_FALSE(report.deadline_exceeded);
  EXPECT_EQ(resumed.load(), 0);
  for (auto& h : kept) {
    EXPECT_TRUE(h.is_finished());
    EXPECT_THROW(h.take_result(), weft::JoinError);
  }
}

TEST_P(ShutdownTest, ShutdownIsIdempotentAndTheDestructorAfterItIsHarmless) {
  constexpr int kSuspended = 10;
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  Countdown suspended(kSuspended);
  auto rt = make_runtime();
  std::vector<JoinHandle<void>> kept =
      rt->block_on(spawn_suspended(kSuspended, &destroyed, &resumed, &suspended));
  const ShutdownReport first = rt->shutdown();
  const ShutdownReport second = rt->shutdown();
  const ShutdownReport third = rt->shutdown(std::chrono::nanoseconds(0));
  EXPECT_EQ(first.cancelled, static_cast<std::uint64_t>(kSuspended));
  for (const ShutdownReport& r : {second, third}) {
    EXPECT_EQ(r.completed, first.completed);
    EXPECT_EQ(r.cancelled, first.cancelled);
    EXPECT_EQ(r.deadline_exceeded, first.deadline_exceeded);
  }
  rt.reset();
  EXPECT_EQ(destroyed.load(), kSuspended);
}

Task<int> count_run(std::atomic<int>* ran) {
  ran->fetch_add(1);
  co_return 1;
}

TEST_P(ShutdownTest, SpawnFromOutsideAfterShutdownGivesAHandleThatThrowsJoinError) {
  std::atomic<int> ran{0};
  auto rt = make_runtime();
  auto other = make_runtime();
  rt->shutdown();
  JoinHandle<int> h = rt->spawn(count_run(&ran));
  EXPECT_TRUE(h.is_finished());
  EXPECT_THROW(h.take_result(), weft::JoinError);
  // Awaited from a task of another runtime.
  EXPECT_TRUE(other->block_on(join_fails_with_join_error(rt->spawn(count_run(&ran)))));
  // block_on after shutdown.
  EXPECT_THROW(rt->block_on(count_run(&ran)), weft::JoinError);
  EXPECT_EQ(ran.load(), 0);
}

Task<void> yield_until_stopped(std::atomic<bool>* started, std::atomic<bool>* stop,
                               std::atomic<int>* destroyed) {
  DestructionCounter local(destroyed);
  started->store(true);
  while (!stop->load()) co_await weft::yield_now();
}

TEST_P(ShutdownTest, ShutdownPastItsDeadlineDestroysATaskThatNeverStopsYielding) {
  std::atomic<bool> started{false};
  std::atomic<bool> stop{false};
  std::atomic<int> destroyed{0};
  auto rt = make_runtime();
  JoinHandle<void> h = rt->spawn(yield_until_stopped(&started, &stop, &destroyed));
  if (!is_current_thread()) {
    ASSERT_TRUE(spin_until([&] { return started.load(); }));
  }
  const ShutdownReport report = rt->shutdown(std::chrono::milliseconds(20));
  stop.store(true);  // only a safety valve: the frame is gone by now
  EXPECT_TRUE(started.load());
  EXPECT_TRUE(report.deadline_exceeded);
  EXPECT_EQ(report.cancelled, 1u);
  EXPECT_EQ(report.completed, 0u);
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_TRUE(h.is_finished());
  EXPECT_THROW(h.take_result(), weft::JoinError);
}

// Suspends forever on a published waker (which the test keeps) with a counted local.
Task<void> suspend_on_published(WakerSlot* slot, std::atomic<int>* destroyed,
                                std::atomic<int>* resumed) {
  DestructionCounter local(destroyed);
  co_await PublishingAwaiter{slot};
  resumed->fetch_add(1);
}

TEST_P(ShutdownTest, WakerOfATaskDestroyedAtShutdownIsANoOpAfterTheRuntimeIsGone) {
  WakerSlot slot;
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  auto rt = make_runtime();
  JoinHandle<void> h = rt->spawn(suspend_on_published(&slot, &destroyed, &resumed));
  if (!is_current_thread()) {
    ASSERT_TRUE(spin_until([&] { return slot.published(); }));
  }
  // current_thread: shutdown itself runs the queued task up to its suspension.
  const ShutdownReport report = rt->shutdown();
  EXPECT_TRUE(slot.published());
  EXPECT_EQ(report.cancelled, 1u);
  EXPECT_EQ(destroyed.load(), 1);
  rt.reset();
  weft::Waker w = slot.copy();
  slot.reset();
  w.wake_by_ref();
  w.wake();
  EXPECT_EQ(resumed.load(), 0);
  EXPECT_TRUE(h.is_finished());
  EXPECT_THROW(h.take_result(), weft::JoinError);
}

TEST_P(ShutdownTest, WakesRacingWithShutdownEndEachTaskExactlyOnce) {
  constexpr int kTasks = 1000;
  std::vector<WakerSlot> slots(kTasks);
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  auto rt = make_runtime();
  for (auto& slot : slots) rt->spawn(suspend_on_published(&slot, &destroyed, &resumed)).detach();
  // Wakes each task once, as soon as it has published its waker, while shutdown runs.
  std::atomic<bool> all_woken{false};
  std::thread waker([&] {
    std::vector<bool> woken(kTasks, false);
    int remaining = kTasks;
    all_woken = spin_until([&] {
      for (int i = 0; i < kTasks; ++i) {
        if (!woken[i] && slots[i].published()) {
          slots[i].copy().wake();
          slots[i].reset();
          woken[i] = true;
          --remaining;
        }
      }
      return remaining == 0;
    });
  });
  const ShutdownReport report = rt->shutdown();
  waker.join();
  EXPECT_TRUE(all_woken.load()) << "some task never ran up to its suspension";
  // Each task ended once: resumed and completed, or destroyed while suspended (or queued).
  EXPECT_EQ(destroyed.load(), kTasks);
  EXPECT_EQ(resumed.load() + static_cast<int>(report.cancelled), kTasks);
  EXPECT_LE(report.completed, static_cast<std::uint64_t>(resumed.load()));
  rt.reset();
  for (auto& slot : slots) slot.reset();
}

TEST_P(ShutdownTest, DestroyingTheRuntimeWithoutShutdownDrainsAndDestroysTasks) {
  constexpr int kQueued = 1000;
  constexpr int kSuspended = 100;
  Flags flags(kQueued);
  std::atomic<int> destroyed{0};
  std::atomic<int> resumed{0};
  Countdown suspended(kSuspended);
  auto rt = make_runtime();
  std::vector<JoinHandle<void>> kept =
      rt->block_on(spawn_suspended(kSuspended, &destroyed, &resumed, &suspended));
  for (auto& f : flags) rt->spawn(mark(&f)).detach();
  rt.reset();
  expect_each_ran_exactly_once(flags);
  EXPECT_EQ(destroyed.load(), kSuspended);
  EXPECT_EQ(resumed.load(), 0);
  for (auto& h : kept) EXPECT_THROW(h.take_result(), weft::JoinError);
}

// A join waker that, when the task completes, records it and then holds the completing worker
// until the test lets it go.
struct CompletionSpy {
  std::atomic<bool> woken{false};
  std::atomic<bool> may_return{false};
  std::atomic<bool> held_ok{false};
};
constexpr weft::WakerVTable kCompletionSpyVTable{
    [](void* data, auto /*aux*/) {
      auto* spy = static_cast<CompletionSpy*>(data);
      spy->woken.store(true);
      spy->held_ok.store(spin_until([spy] { return spy->may_return.load(); }));
    },
    [](void*) {}, [](void*) {}};

Task<int> answer_after(AsyncEvent* go) {
  co_await go->wait();
  co_return 42;
}

// The completion of a task whose JoinHandle was notified, and whose value was read, before
// shutdown() was even called, is not something that "ran to completion while shutting down".
//
// So the completer must decide whether to count a completion before the JoinHandle can see it
// (Scheduler::complete). Read after notify_join, the phase can already be kClosing: notify_join
// wakes the joiner (block_on returns), the joiner calls shutdown(), and only then does complete()
// look at the phase; `rt->block_on(x); rt->shutdown()` would report completed == 1 for a runtime
// with nothing left to run. The spy waker holds the completing worker inside notify_join until
// shutdown has begun, which makes that interleaving certain instead of rare. One worker: every
// probe accepted before shutdown began is still queued then, so exactly those complete during it.
TEST(ShutdownReport, DoesNotCountATaskWhoseCompletionWasObservedBeforeShutdown) {
  for (std::string_view variant : weft::Runtime::variants()) {
    SCOPED_TRACE(std::string(variant));
    AsyncEvent go;
    CompletionSpy spy;
    std::atomic<std::uint64_t> probes_ran{0};
    std::atomic<std::uint64_t> probes_accepted{0};
    auto created =
        weft::Runtime::create(weft::RuntimeOptions::multi_thread(1, std::string(variant)));
    ASSERT_TRUE(created.ok()) << created.status();
    std::unique_ptr<weft::Runtime> rt = *std::move(created);
    JoinHandle<int> h = rt->spawn(answer_after(&go));
    ASSERT_TRUE(h.register_waker(weft::Waker(&spy, 0, &kCompletionSpyVTable)));
    go.set();
    ASSERT_TRUE(spin_until([&] { return spy.woken.load(); }));
    // The task is finished and its value read, all before shutdown() is called.
    ASSERT_TRUE(h.is_finished());
    EXPECT_EQ(h.take_result(), 42);
    std::thread helper([&] {
      spin_until([&] { return probe_refused(*rt, &probes_ran, &probes_accepted); });
      spy.may_return.store(true);
    });
    const ShutdownReport report = rt->shutdown();
    helper.join();
    EXPECT_TRUE(spy.held_ok.load());
    EXPECT_EQ(probes_ran.load(), probes_accepted.load());
    EXPECT_EQ(report.completed, probes_accepted.load())
        << "the task that completed before shutdown() was counted as completed during it";
    EXPECT_EQ(report.cancelled, 0u);
  }
}

}  // namespace
}  // namespace weft_test
