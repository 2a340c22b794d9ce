// Idle: which workers are parked and how many are searching for work (Tokio's idle.rs).
//
// One atomic word packs two counters, so a spawner can decide with a single load whether it must
// wake anybody:
//
//   bits  0-31   num_searching   workers stealing right now
//   bits 32-63   num_unparked    workers not parked (running, searching or about to park)
//
// Rules that together lose no wake-up and wake no herd:
//   * New work wakes a parked worker only if nobody is searching and somebody is parked: a
//     searcher will find the work, and if it is the last searcher to find work it wakes another
//     (transition_from_searching returns true).
//   * At most half of the workers search at once.
//   * A worker that parks and leaves no searcher behind re-checks every queue afterwards and
//     wakes a worker if any holds work (the caller does this: see Scheduler::park). That is the
//     last searcher, and also a worker that parks without having searched while nobody searches:
//     one turned away by the half rule parks after the searcher that turned it away may have
//     found work and stopped, and a spawn in between saw it unparked and woke nobody.
//   * A woken worker starts as a searcher (worker_to_notify counts it), so two spawns in a row
//     wake one worker, not two.
//
// Why SeqCst and not acquire/release (as Tokio's idle.rs argues): the spawner does "push task;
// load state" and the parking worker does "decrement state; check queues". Each is a store
// followed by a load of a different location; only a total order (the SeqCst fence in
// notify_should_wakeup and the SeqCst RMWs here) forbids both loads seeing the old values.
//
// Synchronization map:
//   [I1] seq_cst fence + load (notify_should_wakeup)  -- pairs with [I3]/[I4] and the queue push.
//   [I2] seq_cst RMW (searching +/-)                 -- total order with [I1].
//   [I3] seq_cst RMW (unparked -1 when parking)       -- total order with [I1].
//   [I4] seq_cst RMW (unparked +1, searching +1 on wake) -- under the sleepers mutex.
//   [I5] relaxed load (num_working)                   -- pairs with nothing: a hint that only
//        decides whether a searcher spins before it parks. No wake-up rests on it: a searcher
//        that parks on a stale answer still parks through [I3] and, if it was the last, re-checks
//        every queue; one that spins on a stale answer spins at most max_rounds sweeps.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace weft::detail {

class Idle {
 public:
  explicit Idle(std::size_t workers, bool start_parked)
      : num_workers_(workers), state_(start_parked ? 0 : pack(0, workers)) {
    if (start_parked) {
      for (std::size_t i = 0; i < workers; ++i) sleepers_.push_back(i);
    }
  }

  // The worker to unpark for new work, if one should be woken. It is already counted as
  // unparked and searching when this returns.
  std::optional<std::size_t> worker_to_notify() {
    if (!notify_should_wakeup()) return std::nullopt;
    std::lock_guard lock(mu_);
    if (!notify_should_wakeup() || sleepers_.empty()) return std::nullopt;
    // [I4] seq_cst: one more unparked worker, and it starts out searching.
    state_.fetch_add(pack(1, 1), std::memory_order_seq_cst);
    const std::size_t worker = sleepers_.back();
    sleepers_.pop_back();
    return worker;
  }

  bool transition_to_searching() {
    // [I2] seq_cst load: the searcher count, to keep it at most half the workers.
    const std::uint64_t s = state_.load(std::memory_order_seq_cst);
    if (2 * searching(s) >= num_workers_) return false;
    // [I2] seq_cst RMW: become a searcher. A race may let one extra in; that is harmless.
    state_.fetch_add(pack(1, 0), std::memory_order_seq_cst);
    return true;
  }

  // True if the caller was the last searcher: it must wake another worker, since it found work
  // and there may be more.
  bool transition_from_searching() {
    // [I2] seq_cst RMW.
    return searching(state_.fetch_sub(pack(1, 0), std::memory_order_seq_cst)) == 1;
  }

  // Registers `worker` as parked. True if no searcher is left (it was the last one, or there was
  // none): the caller must re-check every queue (see the rules above).
  bool transition_to_parked(std::size_t worker, bool is_searching) {
    std::lock_guard lock(mu_);
    // [I3] seq_cst RMW: one fewer unparked (and searching) worker.
    const std::uint64_t prev =
        state_.fetch_sub(pack(is_searching ? 1 : 0, 1), std::memory_order_seq_cst);
    sleepers_.push_back(worker);
    return searching(prev) == (is_searching ? 1 : 0);
  }

  // Removes `worker` from the sleepers (shutdown, or a current_thread block_on taking over).
  // True if it was parked. It counts as unparked and not searching afterwards.
  bool unpark_by_id(std::size_t worker) {
    std::lock_guard lock(mu_);
    auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
    if (it == sleepers_.end()) return false;
    sleepers_.erase(it);
    // [I4] seq_cst RMW.
    state_.fetch_add(pack(0, 1), std::memory_order_seq_cst);
    return true;
  }

  // Workers running tasks: neither parked nor searching (one between a task and its search or
  // park counts; a searching caller does not). Their spawns and wakes are what a searcher may
  // soon find to steal; with none of them, waiting cannot pay, and parking loses nothing (the
  // last searcher to park re-checks every queue).
  std::size_t num_working() const {
    // [I5] relaxed: a hint (see the map).
    const std::uint64_t s = state_.load(std::memory_order_relaxed);
    return unparked(s) > searching(s) ? unparked(s) - searching(s) : 0;
  }

  bool is_parked(std::size_t worker) {
    std::lock_guard lock(mu_);
    return std::find(sleepers_.begin(), sleepers_.end(), worker) != sleepers_.end();
  }

  // Runs `f(num_unparked)` under the sleepers lock (shutdown's quiescence check).
  template <class F>
  auto with_lock(F&& f) {
    std::lock_guard lock(mu_);
    // [I1] seq_cst: see every park that completed before the lock.
    return f(unparked(state_.load(std::memory_order_seq_cst)));
  }

 private:
  static constexpr std::uint64_t pack(std::uint64_t searching, std::uint64_t unparked) {
    return searching | (unparked << 32);
  }
  static std::size_t searching(std::uint64_t s) { return static_cast<std::uint32_t>(s); }
  static std::size_t unparked(std::uint64_t s) { return static_cast<std::size_t>(s >> 32); }

  bool notify_should_wakeup() const {
    // [I1] seq_cst fence: order the caller's queue push before this load (see above).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const std::uint64_t s = state_.load(std::memory_order_seq_cst);  // [I1]
    return searching(s) == 0 && unparked(s) < num_workers_;
  }

  const std::size_t num_workers_;
  std::atomic<std::uint64_t> state_;
  std::mutex mu_;
  std::vector<std::size_t> sleepers_;  // guarded by mu_
};

}  // namespace weft::detail
