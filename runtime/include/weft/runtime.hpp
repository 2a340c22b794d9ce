// Runtime: the user's handle on a scheduler.
//
//   auto rt = weft::Runtime::create(weft::RuntimeOptions::multi_thread(2, "mutex"));
//   int v = (*rt)->block_on(compute());           // run a task to completion from outside
//   auto h = (*rt)->spawn(background());          // from any thread, worker or not
//   weft::ShutdownReport r = (*rt)->shutdown();   // drain, then destroy what is left
//
// Inside a task use the free functions of spawn.hpp (weft::spawn, weft::yield_now).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>

#include "weft/status.hpp"
#include "weft/runtime_options.hpp"
#include "weft/scheduler/scheduler_base.hpp"
#include "weft/scheduler/stats.hpp"
#include "weft/task/join_handle.hpp"
#include "weft/task/task.hpp"

namespace weft {

namespace detail {
// Spawns `task` on `scheduler` (any thread). The frame becomes the task: no other allocation.
template <class T>
JoinHandle<T> spawn_on(SchedulerBase& scheduler, Task<T> task) {
  if (!task.valid()) throw std::invalid_argument("weft: spawn of an empty Task");
  TaskHeader* header = TaskHeader::from_frame(task.release().address());
  header->init_spawned(&scheduler);
  scheduler.submit(header);
  return JoinHandle<T>(header);
}
}  // namespace detail

class Runtime {
 public:
  // Fails with InvalidArgument for an unknown variant or zero workers.
  static weft::StatusOr<std::unique_ptr<Runtime>> create(RuntimeOptions options);

  // The variant names create() accepts.
  static std::span<const std::string_view> variants();

  ~Runtime();  // shuts down (30 s deadline) if shutdown() was not called
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  template <class T>
  JoinHandle<T> spawn(Task<T> task) {
    return detail::spawn_on(*scheduler_, std::move(task));
  }

  // Runs `task` on the runtime and blocks this thread until it completes; returns its value or
  // rethrows its exception. Not from a worker thread (std::logic_error).
  template <class T>
  T block_on(Task<T> task) {
    if (detail::context().scheduler != nullptr) {
      throw std::logic_error("weft: block_on called from inside a runtime's worker thread");
    }
    JoinHandle<T> handle = spawn(std::move(task));
    scheduler_->wait_for(handle.header());
    return handle.take_result();
  }

  // Stops taking outside spawns and stops I/O, runs every queued task to completion (tasks they
  // spawn too), then destroys the frames of tasks still suspended. From the start of shutdown
  // every I/O operation on this runtime's sockets fails at once (FailedPrecondition, "the
  // runtime is shut down"; also later, on a socket that outlives the runtime) and an operation
  // already pending never completes: its task is destroyed with the other suspended ones (as
  // Tokio drops its tasks), listeners included, so peers that keep sending cannot hold shutdown
  // open. Timers still fire during the drain. Idempotent: later calls return the first
  // report. After `deadline` the remaining tasks are destroyed and deadline_exceeded is set.
  // Not from one of this runtime's own tasks (std::logic_error: it would wait for itself).
  ShutdownReport shutdown(std::chrono::nanoseconds deadline = std::chrono::seconds(30));

  // The scheduler's counters per worker, and the I/O backend's (RuntimeStats::io).
  RuntimeStats stats() const;
  // The stealing policy in force: the variant's preset with options().steal applied.
  variants::StealConfig steal_config() const { return scheduler_->steal_config(); }
  const RuntimeOptions& options() const { return options_; }

 private:
  Runtime(RuntimeOptions options, std::unique_ptr<detail::SchedulerBase> scheduler);

  RuntimeOptions options_;
  std::unique_ptr<detail::SchedulerBase> scheduler_;
};

}  // namespace weft
