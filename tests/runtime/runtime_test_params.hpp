// The shared parameterization of the runtime suite (Tokio's rt_common.rs): one test body runs
// against every variant in the registry and every flavor, so a new variant is tested by adding
// it to the registry and nothing else.
//
//   class SpawnJoinTest : public weft_test::RuntimeTest {};
//   TEST_P(SpawnJoinTest, ...) { auto rt = make_runtime(); ... }
//   WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(SpawnJoinTest);   // mutex_ct, mutex_mt1, mutex_mt2, ...
//
// Also the small awaitables the tests are built from. None of them waits on time: every wait
// is either a Waker (AsyncEvent, Countdown) or a loop bounded by kWaitBound that fails the test
// instead of hanging it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "weft/weft.hpp"

// Sanitizer builds run the large tests at a fifth of their size (the plain build runs them in
// full). GCC defines __SANITIZE_*__; Clang answers __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TEST_SANITIZED 1
#endif
#endif
#ifndef WEFT_TEST_SANITIZED
#define WEFT_TEST_SANITIZED 0
#endif

namespace weft_test {

// "1M tasks": the spawn storms and the per-task exactly-once checks.
inline constexpr std::size_t kManyTasks = WEFT_TEST_SANITIZED ? 200'000 : 1'000'000;
// Queued tasks a shutdown must drain.
inline constexpr std::size_t kQueuedAtShutdown = WEFT_TEST_SANITIZED ? 20'000 : 100'000;

// How long a bounded wait may take before the test fails. A bound, never a speed assertion:
// it only has to be shorter than the ctest TIMEOUT (120 s) so the failure names its cause.
inline constexpr std::chrono::seconds kWaitBound{60};

// --- the parameterization ------------------------------------------------------------------

struct RuntimeParam {
  std::string variant;
  weft::Flavor flavor;
  std::size_t workers;
  weft::IoBackend io = weft::kDefaultIoBackend;

  weft::RuntimeOptions options() const {
    return flavor == weft::Flavor::kCurrentThread
               ? weft::RuntimeOptions::current_thread(variant, io)
               : weft::RuntimeOptions::multi_thread(workers, variant, io);
  }
  bool is_current_thread() const { return flavor == weft::Flavor::kCurrentThread; }

  // "mutex_ct", "mutex_mt2", "mutex_mt2_uring": a gtest name (letters, digits, '_').
  std::string name() const {
    std::string out;
    for (char c : variant) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      out += ok ? c : '_';
    }
    out += is_current_thread() ? "_ct" : "_mt" + std::to_string(workers);
    if (io != weft::kDefaultIoBackend) out += "_" + std::string(weft::io_backend_name(io));
    return out;
  }

  friend void PrintTo(const RuntimeParam& p, std::ostream* os) { *os << p.name(); }
};

// Every registered variant x {current_thread, multi_thread with 1, 2 and 4 workers}.
inline std::vector<RuntimeParam> every_runtime() {
  std::vector<RuntimeParam> out;
  for (std::string_view v : weft::Runtime::variants()) {
    out.push_back({std::string(v), weft::Flavor::kCurrentThread, 1});
    for (std::size_t workers : {1, 2, 4}) {
      out.push_back({std::string(v), weft::Flavor::kMultiThread, workers});
    }
  }
  return out;
}

// every_runtime() on every I/O backend of this build (the TCP suites: one body, both backends).
inline std::vector<RuntimeParam> every_runtime_and_backend() {
  std::vector<RuntimeParam> out;
  for (weft::IoBackend io : weft::io_backends()) {
    for (RuntimeParam p : every_runtime()) {
      p.io = io;
      out.push_back(std::move(p));
    }
  }
  return out;
}

inline std::string runtime_param_name(const ::testing::TestParamInfo<RuntimeParam>& info) {
  return info.param.name();
}

// --- bounded waiting -------------------------------------------------------------------------

// Outside a task: spins (yielding the CPU) until `pred` holds or `bound` passes; returns pred().
template <class Pred>
bool spin_until(Pred&& pred, std::chrono::steady_clock::duration bound = kWaitBound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

// Inside a task: `co_await weft::yield_now()` until `pred` holds or kWaitBound passes, so other
// tasks (on this worker too) run meanwhile. Returns pred().
template <class Pred>
weft::Task<bool> yield_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitBound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return pred();
    co_await weft::yield_now();
  }
  co_return true;
}

// --- awaitables --------------------------------------------------------------------------------

// set() once from any thread (or task); any number of tasks `co_await event.wait()`.
class AsyncEvent {
 public:
  void set() {
    std::vector<weft::Waker> waiters;
    {
      std::lock_guard lock(mu_);
      set_ = true;
      waiters.swap(waiters_);
    }
    for (weft::Waker& w : waiters) w.wake();
  }

  bool is_set() {
    std::lock_guard lock(mu_);
    return set_;
  }

  auto wait() {
    struct Awaiter {
      AsyncEvent* event;
      bool await_ready() { return event->is_set(); }
      bool await_suspend(std::coroutine_handle<>) {
        std::lock_guard lock(event->mu_);
        if (event->set_) return false;
        event->waiters_.push_back(weft::current_waker());
        return true;
      }
      void await_resume() {}
    };
    return Awaiter{this};
  }

 private:
  std::mutex mu_;
  bool set_ = false;                  // guarded by mu_
  std::vector<weft::Waker> waiters_;  // guarded by mu_
};

// count_down() from N tasks or threads; `co_await wait()` resumes after the last one.
class Countdown {
 public:
  explicit Countdown(std::int64_t n) : remaining_(n) {
    if (n <= 0) done_.set();
  }
  void count_down() {
    // acq_rel: the last decrement sees every earlier one's writes before it sets the event.
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.set();
  }
  auto wait() { return done_.wait(); }
  bool is_done() { return done_.is_set(); }

 private:
  std::atomic<std::int64_t> remaining_;
  AsyncEvent done_;
};

// Suspends and keeps no waker: nothing will ever resume the task from here (only abort or
// shutdown can get rid of it).
struct NeverAwaiter {
  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  void await_resume() noexcept {}
};

// As NeverAwaiter, but sets `event` while suspending (from inside the poll).
struct SignalThenNever {
  AsyncEvent* event;
  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) { event->set(); }
  void await_resume() noexcept {}
};

// Suspends without registering a waker: the task runs again only if it was woken during this
// poll (wake rule: a wake while running gives exactly one more poll).
using SuspendOnce = NeverAwaiter;

// A Waker published from inside a poll for other threads to copy.
class WakerSlot {
 public:
  void publish(weft::Waker w) {
    {
      std::lock_guard lock(mu_);
      waker_ = std::move(w);
    }
    // release: pairs with the acquire in published(); the waker itself is under the mutex.
    published_.store(true, std::memory_order_release);
  }
  bool published() const { return published_.load(std::memory_order_acquire); }
  weft::Waker copy() {
    std::lock_guard lock(mu_);
    return waker_;
  }
  void reset() {
    std::lock_guard lock(mu_);
    waker_.reset();
  }

 private:
  std::mutex mu_;
  weft::Waker waker_;  // guarded by mu_
  std::atomic<bool> published_{false};
};

// Suspends after publishing the task's waker (weft::current_waker() inside await_suspend).
struct PublishingAwaiter {
  WakerSlot* slot;
  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) { slot->publish(weft::current_waker()); }
  void await_resume() noexcept {}
};

// A coroutine parameter whose destruction is counted (once; moved-from copies do not count).
// Parameter copies are destroyed with the frame, so this tells whether a frame was freed.
class FrameGuard {
 public:
  explicit FrameGuard(std::atomic<int>* count) : count_(count) {}
  FrameGuard(FrameGuard&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
  FrameGuard& operator=(FrameGuard&&) = delete;
  ~FrameGuard() {
    if (count_ != nullptr) count_->fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<int>* count_;
};

// A local object whose destruction is counted: tells whether a frame was destroyed.
class DestructionCounter {
 public:
  explicit DestructionCounter(std::atomic<int>* count) : count_(count) {}
  DestructionCounter(const DestructionCounter&) = delete;
  DestructionCounter& operator=(const DestructionCounter&) = delete;
  ~DestructionCounter() { count_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int>* count_;
};

// Keeps every worker of a multi_thread runtime inside one poll each (a task that spins until
// release()), so that tasks spawned from outside stay queued meanwhile. On a current_thread
// runtime there is nothing to do: nothing runs there outside block_on and shutdown. The
// blockers share its state, so they may outlive it.
class BusyWorkers {
 public:
  BusyWorkers() = default;
  BusyWorkers(BusyWorkers&&) = default;
  BusyWorkers& operator=(BusyWorkers&&) = default;
  ~BusyWorkers() { release(); }

  // Spawns one blocker per worker; true once every one of them is running, false after `bound`.
  bool occupy(weft::Runtime& rt, std::chrono::steady_clock::duration bound) {
    if (rt.options().flavor == weft::Flavor::kCurrentThread) return true;
    count_ = rt.options().workers;
    for (std::size_t i = 0; i < count_; ++i) rt.spawn(block(state_)).detach();
    return spin_until([this] { return state_->started.load() == count_; }, bound);
  }
  void release() {
    if (state_) state_->released.store(true);
  }
  // How many blocker tasks were spawned (they complete after release()).
  std::size_t blockers() const { return count_; }

 private:
  struct State {
    std::atomic<std::size_t> started{0};
    std::atomic<bool> released{false};
  };
  static weft::Task<void> block(std::shared_ptr<State> state) {
    state->started.fetch_add(1);
    spin_until([&state] { return state->released.load(); });
    co_return;
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::size_t count_ = 0;
};

// A runtime with every worker held by BusyWorkers. Members are destroyed in reverse order, so
// the workers are let go before the runtime's destructor waits for them.
struct BusyRuntime {
  BusyRuntime() = default;
  BusyRuntime(BusyRuntime&&) = default;
  std::unique_ptr<weft::Runtime> rt;
  BusyWorkers busy;
  ~BusyRuntime() { busy.release(); }
};

// True once every worker thread of `rt` has parked at least once, i.e. has started and found
// nothing to do (a current_thread runtime has no threads: true at once); false after the bound.
// A thread that is still starting may hold a descriptor for a moment (ASan reads
// /proc/self/maps there), so a test that counts descriptors waits for this first.
inline bool every_worker_has_parked(weft::Runtime& rt) {
  if (rt.options().flavor == weft::Flavor::kCurrentThread) return true;
  return spin_until([&rt] {
    for (const weft::WorkerStats& w : rt.stats().workers) {
      if (w.parks == 0) return false;
    }
    return true;
  });
}

// --- the fixture ----------------------------------------------------------------------------

class RuntimeTest : public ::testing::TestWithParam<RuntimeParam> {
 protected:
  // A runtime of this test's variant and flavor. Throws (failing the test) if create fails.
  std::unique_ptr<weft::Runtime> make_runtime() const {
    weft::StatusOr<std::unique_ptr<weft::Runtime>> rt = weft::Runtime::create(GetParam().options());
    if (!rt.ok()) throw std::runtime_error("Runtime::create failed: " + rt.status().ToString());
    return *std::move(rt);
  }
  // A runtime of this test's kind with every worker busy (see BusyWorkers). Throws, failing the
  // test, if the blockers do not all start: every worker parked but one while work is queued is
  // a lost wake-up (WorkerWakeup in spawn_join_test.cpp checks that case on its own).
  BusyRuntime make_runtime_with_busy_workers() const {
    BusyRuntime out;
    out.rt = make_runtime();
    if (!out.busy.occupy(*out.rt, kWaitBound)) {
      out.busy.release();
      throw std::runtime_error("the blockers did not all start: a worker was never woken");
    }
    return out;
  }
  bool is_current_thread() const { return GetParam().is_current_thread(); }
  std::size_t workers() const { return GetParam().workers; }
};

#define WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(Suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(EveryRuntime, Suite, ::testing::ValuesIn(::weft_test::every_runtime()), \
                           ::weft_test::runtime_param_name)

#define WEFT_INSTANTIATE_FOR_EVERY_RUNTIME_AND_BACKEND(Suite)                        \
  INSTANTIATE_TEST_SUITE_P(EveryRuntime, Suite,                                      \
                           ::testing::ValuesIn(::weft_test::every_runtime_and_backend()), \
                           ::weft_test::runtime_param_name)

// --- small tasks -----------------------------------------------------------------------------
//
// The joining helpers move their JoinHandle parameters into locals first. A coroutine's parameter
// copies live until its frame is destroyed, and a spawned task's frame is destroyed only when its
// last reference goes; a JoinHandle parameter can therefore keep a reference cycle alive (see
// SpawnJoinTest.TasksJoinedThroughAHandleParameterAreFreed). Locals die when the body ends.

// Awaits `handle` for its value.
template <class T>
weft::Task<T> join_value(weft::JoinHandle<T> handle) {
  weft::JoinHandle<T> h = std::move(handle);
  co_return co_await h;
}

// Awaits every handle and sums the values.
inline weft::Task<std::uint64_t> join_sum(std::vector<weft::JoinHandle<std::uint64_t>> handles) {
  std::vector<weft::JoinHandle<std::uint64_t>> hs = std::move(handles);
  std::uint64_t sum = 0;
  for (auto& h : hs) sum += co_await h;
  co_return sum;
}

// Awaits `handle`; true if that threw weft::JoinError (the task was cancelled).
template <class T>
weft::Task<bool> join_fails_with_join_error(weft::JoinHandle<T> handle) {
  weft::JoinHandle<T> h = std::move(handle);
  try {
    co_await h;
  } catch (const weft::JoinError&) {
    co_return true;
  }
  co_return false;
}

// The same for a handle that stays where it is (another thread may abort() it meanwhile).
template <class T>
weft::Task<bool> join_in_place_fails_with_join_error(weft::JoinHandle<T>* handle) {
  try {
    co_await *handle;
  } catch (const weft::JoinError&) {
    co_return true;
  }
  co_return false;
}

inline weft::Task<void> wait_for_event(AsyncEvent* event) { co_await event->wait(); }

// The polls counter summed over every worker.
inline std::uint64_t total_polls(const weft::Runtime& rt) { return rt.stats().total().polls; }

}  // namespace weft_test
