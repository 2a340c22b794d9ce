// SchedulerBase: what every Scheduler<Variant> shares, and the type-erased face the Runtime sees.
//
// The shared part is the task mechanics around a poll (run_task, complete, cancel), the owned
// task list and the shutdown phases. The virtual part (schedule, wait_for, shutdown, stats) is
// called once per spawn, wake or block_on, never inside the worker loop.
//
// Synchronization map:
//   [B1] release store / acquire load of the phase: everything before a phase change (the stop
//        of outside spawns, the end of the drain) is visible to whoever sees the new phase.
//   [B2] relaxed counters of tasks completed or cancelled during shutdown: read only after the
//        workers are joined, which orders them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "weft/runtime_options.hpp"
#include "weft/scheduler/owned_tasks.hpp"
#include "weft/scheduler/stats.hpp"
#include "weft/task/context.hpp"
#include "weft/task/header.hpp"

namespace weft::detail {

class Driver;  // runtime/src/scheduler/driver.hpp: the reactor and the timers

class SchedulerBase : public TaskScheduler {
 public:
  enum class Phase : int { kRunning = 0, kClosing = 1, kStopped = 2 };

  SchedulerBase(std::size_t workers, std::shared_ptr<Driver> driver)
      : owned_(workers), driver_(std::move(driver)) {}
  virtual ~SchedulerBase() = default;

  // --- the Runtime's interface --------------------------------------------------------------
  virtual void wait_for(TaskHeader* root) = 0;  // block_on: returns once `root` is complete
  virtual ShutdownReport shutdown(std::chrono::nanoseconds deadline) = 0;
  virtual RuntimeStats stats() const = 0;
  virtual std::string_view variant_name() const = 0;
  virtual std::size_t num_workers() const = 0;
  virtual variants::StealConfig steal_config() const = 0;

  // A freshly spawned task (init_spawned done): owned, then queued; or cancelled at once if the
  // runtime no longer takes it (an outside spawn after shutdown began, any spawn after it ended).
  void submit(TaskHeader* task) {
    const ThreadContext& ctx = context();
    const bool outside = ctx.scheduler != this;
    // [B1] acquire: pairs with the release store of the phase in shutdown.
    if ((outside && phase_.load(std::memory_order_acquire) != Phase::kRunning) ||
        !owned_.insert(task, ctx.shard_hint)) {
      reject(task);
      return;
    }
    schedule(task, /*is_yield=*/false);
  }

  // The I/O reactor and timers of this runtime (shared with its sockets).
  Driver& driver() { return *driver_; }
  const std::shared_ptr<Driver>& shared_driver() const { return driver_; }

  Phase phase() const {
    // [B1] acquire: as above.
    return phase_.load(std::memory_order_acquire);
  }

 protected:
  enum class Ran { kDone, kIdle, kRequeue };

  // Polls `task` once on this thread. kRequeue: it was woken while running (or yielded) and must
  // go back to the end of the local queue.
  Ran run_task(TaskHeader* task) {
    if (task->transition_to_running() == TaskHeader::PollStart::kCancel) {
      cancel(task);
      return Ran::kDone;
    }
    ThreadContext& ctx = context();
    ctx.current_task = task;
    ctx.budget = kPollBudget;
    task->resume_point().resume();
    ctx.current_task = nullptr;
    if (task->root().done()) {
      complete(task, /*cancelled=*/false);
      return Ran::kDone;
    }
    switch (task->transition_to_idle()) {
      case TaskHeader::PollEnd::kIdle:
        return Ran::kIdle;
      case TaskHeader::PollEnd::kNotified:
        return Ran::kRequeue;
      case TaskHeader::PollEnd::kCancel:
        cancel(task);
        return Ran::kDone;
    }
    return Ran::kIdle;
  }

  // Holding RUNNING: destroy the frame without resuming it.
  void cancel(TaskHeader* task) {
    task->destroy_frame();
    complete(task, /*cancelled=*/true);
  }

  void complete(TaskHeader* task, bool cancelled) {
    owned_.remove(task);
    if (phase() != Phase::kRunning) {
      // [B2] relaxed: a count read after the workers are joined.
      (cancelled ? shutdown_cancelled_ : shutdown_completed_).fetch_add(1, std::memory_order_relaxed);
    }
    task->complete_and_release(cancelled);  // the scheduler's reference
  }

  // A task the runtime will not run (never owned): cancel it on the spot.
  void reject(TaskHeader* task) {
    task->transition_to_running();
    task->destroy_frame();
    task->complete_and_release(/*cancelled=*/true);
  }

  // Shutdown's last step, with no worker running: destroy every task still owned.
  void destroy_remaining() {
    owned_.close_and_drain([this](TaskHeader* task) {
      if (task->transition_to_shutdown()) {
        cancel(task);
      } else {
        owned_.remove(task);  // unreachable in practice: complete tasks are not owned
      }
    });
  }

  void set_phase(Phase p) {
    // [B1] release: everything before the phase change is visible to its acquirers.
    phase_.store(p, std::memory_order_release);
  }

  ShutdownReport report(bool deadline_exceeded) const {
    // [B2] relaxed: read after the workers are joined (the join orders them).
    return {shutdown_completed_.load(std::memory_order_relaxed),  // [B2]
            shutdown_cancelled_.load(std::memory_order_relaxed),  // [B2]
            deadline_exceeded};
  }

  OwnedTasks owned_;

 private:
  std::shared_ptr<Driver> driver_;
  std::atomic<Phase> phase_{Phase::kRunning};
  std::atomic<std::uint64_t> shutdown_completed_{0};
  std::atomic<std::uint64_t> shutdown_cancelled_{0};
};

}  // namespace weft::detail
