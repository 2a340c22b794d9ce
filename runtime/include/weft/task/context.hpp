// The per-thread execution context: which scheduler this thread works for (if any), which task it
// is polling, and that poll's cooperative budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>

namespace weft {
class TaskHeader;
}

namespace weft::detail {

class SchedulerBase;

// A task may do this many ready operations in one poll before an await that would complete at
// once yields instead, so one busy task cannot starve the others (Tokio's coop budget).
inline constexpr int kPollBudget = 128;

struct ThreadContext {
  SchedulerBase* scheduler = nullptr;  // set on worker threads (and a current_thread block_on)
  void* worker = nullptr;              // that scheduler's Worker object for this thread
  std::size_t shard_hint = 0;          // the worker's index, or a hash of an outside thread's id
  TaskHeader* current_task = nullptr;  // the task being polled, if any
  int budget = kPollBudget;
};

inline ThreadContext& context() {
  thread_local ThreadContext ctx{
      .shard_hint = std::hash<std::thread::id>{}(std::this_thread::get_id()) >> 4};
  return ctx;
}

inline TaskHeader* current_task() { return context().current_task; }

// Spends one unit of the current poll's budget. False when it ran out: the caller should yield.
inline bool consume_budget() {
  ThreadContext& ctx = context();
  if (ctx.current_task == nullptr) return true;
  return --ctx.budget > 0;
}

}  // namespace weft::detail
