// Scheduler<Variant>: the work-stealing worker loop, written once for every queue variant.
//
// The loop (ARCHITECTURE.md, "The worker loop"), per worker:
//   1. Every `interval` ticks take one task from the injector first, so outside work is never
//      starved by a busy local queue. The interval is 61 (Go and Tokio) for short tasks and
//      shrinks, down to 2, so that it spans about 200 us of polling when tasks run long
//      (Tokio's self-tuning global queue interval): with 50 us tasks a fixed 61 would let an
//      injector task wait 3 ms per task ahead of it.
//   2. Otherwise the LIFO slot (the task most recently woken or spawned by this worker; at most
//      3 in a row, Tokio #5712), then the local queue.
//   3. Local queue empty: pull a batch from the injector, min(len / workers + 1, 128), in the
//      injector's order (a LIFO local queue gets the batch pushed newest first, so the oldest
//      pops first). What the worker does not run at once is new work for the others (as in 6).
//   4. Still nothing: become a searcher if fewer than half the workers search; sweep the other
//      workers from a victim chosen by the steal policy (the variant's preset, or the runtime's
//      override), stealing per the policy (half or one), then the injector. No spinning where
//      no steal can succeed: with one worker, or no other worker running tasks (all parked or
//      searching), one sweep and park; otherwise back off between empty sweeps (never after the
//      last) and park after max_rounds sweeps.
//   5. Park (Idle + Parker). A worker that parks leaving no searcher behind (the last searcher,
//      or one turned away from searching once the searchers are gone) re-checks every queue.
//      The first worker to park owns the I/O + timer driver and blocks in the reactor until the
//      next timer (driver.hpp); tasks its I/O or timers wake are queued as in 6, and it takes
//      itself off the sleepers to run them (waking another worker if it got more than one).
//   6. New work: from a worker it goes to the LIFO slot (spawn, wake) or the back of the local
//      queue (yield); from outside into the injector. Either way a parked worker is woken only
//      if nobody is searching; a searcher that finds work and was the last one wakes another.
//      A task woken by this worker's driver turn (I/O or a timer, in 5 or 8) goes behind the
//      work already queued, never into the LIFO slot, so a stream of I/O wake-ups cannot
//      overtake a task woken before them: to the back of a FIFO local queue, or into the
//      injector where the local queue is LIFO (Tokio sends I/O wake-ups through its normal
//      queue for the same reason).
//   7. A poll budget (context.hpp) keeps one busy task from starving the others.
//   8. Maintenance: every `interval` ticks a worker turns the driver without blocking (if fds are
//      registered, nobody holds it and its queue has room), and at once when a timer is due.
//
// current_thread is the same loop with one worker and no thread of its own: the thread inside
// block_on (or shutdown) runs it.
//
// Shutdown: stop taking outside spawns (phase kClosing) and stop I/O (the backend's shut_down:
// every I/O operation from then on fails at once with ECANCELED, and pending ones never
// complete, as in Tokio, whose I/O resources report "the runtime is shutting down"); the workers
// run until every queue is empty and every worker is parked (timers still fire); then phase
// kStopped, the workers exit, and the frames of the tasks still owned (suspended, with nothing
// to wake them: those waiting on I/O among them) are destroyed.
//
// Synchronization map (the queues, Idle, Parker and the task state word have their own):
//   [S1] release store of a current_thread block_on's `done` flag by the root's join waker;
//        acquire loads in the worker loop, so the loop sees the root's output once it stops.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <vector>

#include "scheduler/idle.hpp"
#include "scheduler/parker.hpp"
#include "weft/scheduler/scheduler_base.hpp"
#include "weft/scheduler/stats.hpp"
#include "weft/variants/concepts.hpp"

namespace weft::detail {

inline constexpr std::uint32_t kInjectorInterval = 61;  // ticks, at most
inline constexpr std::uint32_t kMinInjectorInterval = 2;
inline constexpr double kTargetIntervalNs = 200'000;  // polling time one interval should span
inline constexpr std::uint32_t kMaxLifoPollsInARow = 3;

#if defined(WEFT_PLANT_SPIN)
// Test-only planted slowdown (-DWEFT_PLANT=spin, runtime/CMakeLists.txt): a fixed 64-iteration
// loop before every poll, so the regression gate's tests can prove the gate catches a slowdown.
inline void planted_spin() {
  for (int i = 0; i < 64; ++i) asm volatile("" ::: "memory");
}
#endif

template <variants::Variant V>
class Scheduler final : public SchedulerBase {
  using LocalQueue = typename V::template LocalQueue<TaskHeader*>;
  using Injector = typename V::template Injector<TaskHeader*>;
  using Steal = typename V::Steal;

 public:
  Scheduler(std::size_t workers, Flavor flavor, std::shared_ptr<Driver> driver,
            const StealOverrides& steal = {})
      : SchedulerBase(workers, std::move(driver)),
        flavor_(flavor),
        steal_(resolve(steal)),
        idle_(workers, /*start_parked=*/flavor == Flavor::kCurrentThread) {
    workers_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      workers_.push_back(std::make_unique<Worker>(i, &this->driver()));
    }
    if (flavor == Flavor::kMultiThread) {
      threads_.reserve(workers);
      try {
        for (std::size_t i = 0; i < workers; ++i) {
          threads_.emplace_back([this, i] { run_worker(*workers_[i], nullptr); });
        }
      } catch (...) {
        // A thread that cannot start (the process's thread or address-space limit): stop the
        // ones that did, so the error leaves no thread behind; Runtime::create reports it.
        set_phase(Phase::kStopped);
        for (auto& w : workers_) w->parker.unpark();
        for (std::thread& t : threads_) t.join();
        threads_.clear();
        throw;
      }
    }
  }

  ~Scheduler() override { shutdown(std::chrono::seconds(30)); }

  std::string_view variant_name() const override { return V::name; }
  std::size_t num_workers() const override { return workers_.size(); }
  variants::StealConfig steal_config() const override { return steal_; }

  void schedule(TaskHeader* task, bool is_yield) override {
    ThreadContext& ctx = context();
    if (ctx.scheduler == this && ctx.worker != nullptr) {
      Worker& w = *static_cast<Worker*>(ctx.worker);
      if (w.turn != Turn::kNone) {
        schedule_woken_by_driver(w, task);
        return;
      }
      // Wake a parked worker only when this pushed something it could steal (Tokio's rule): a
      // task alone in the LIFO slot runs next on this worker, and a wake-up for it would find
      // nothing to steal and park again (chained on 2 workers: ~2,000 such futile wake-ups per
      // 1M tasks).
      bool stealable = true;
      if (is_yield) {
        requeue(w, task);
      } else {
#if defined(WEFT_PLANT_NO_LIFO)
        // Test-only planted slowdown (-DWEFT_PLANT=no_lifo): as if there were no LIFO slot.
        push_local(w, task);
#else
        stealable = w.lifo != nullptr;
        if (stealable) push_local(w, w.lifo);
        w.lifo = task;
#endif
      }
      if (stealable && workers_.size() > 1) notify_parked();
      return;
    }
    // From outside. After the stop nothing runs any more: the owned-task sweep of shutdown
    // destroys the task instead.
    if (phase() == Phase::kStopped) return;
    injector_.push(task);
    notify_parked();
  }

  void wait_for(TaskHeader* root) override {
    if (context().scheduler != nullptr) {
      throw std::logic_error("weft: block_on called from inside a runtime's worker thread");
    }
    if (flavor_ == Flavor::kMultiThread) {
      wait_on_thread(root);
    } else {
      drive_until(root);
    }
  }

  ShutdownReport shutdown(std::chrono::nanoseconds deadline) override {
    std::lock_guard lock(shutdown_mu_);
    if (report_) return *report_;
    const auto until = std::chrono::steady_clock::now() + deadline;
    set_phase(Phase::kClosing);
    // I/O stops here ([O7] in io/backend.hpp): new operations fail with ECANCELED and pending
    // ones never complete, so a peer that keeps sending cannot keep the drain going.
    driver().io().shut_down();
    bool exceeded = false;
    if (flavor_ == Flavor::kMultiThread) {
      exceeded = !wait_quiescent(until);
      set_phase(Phase::kStopped);
      for (auto& w : workers_) w->parker.unpark();
      for (std::thread& t : threads_) t.join();
    } else {
      std::lock_guard drive(drive_mu_);
      exceeded = !run_current_thread_until_idle(until);
      set_phase(Phase::kStopped);
    }
    destroy_remaining();
    report_ = report(exceeded);
    return *report_;
  }

  RuntimeStats stats() const override {
    RuntimeStats s;
    for (const auto& w : workers_) s.workers.push_back(w->counters.snapshot());
    return s;
  }

 private:
  struct alignas(variants::kCacheLine) Worker {
    Worker(std::size_t i, Driver* driver)
        : index(i), rng(0x9E3779B97F4A7C15ULL * (i + 1)), parker(driver) {}
    const std::size_t index;
    LocalQueue local;
    // Owner-only state.
    TaskHeader* lifo = nullptr;
    std::uint32_t lifo_streak = 0;
    std::uint32_t interval = kInjectorInterval;  // ticks between injector checks (tuned)
    std::uint32_t since_check = 0;
    std::chrono::steady_clock::time_point checked_at{};  // the last check (or the last unpark)
    double poll_ns_ewma = 0;                              // mean poll time, smoothed
    std::uint64_t rng;
    bool searching = false;
    // A driver turn on this thread is waking tasks (schedule() queues them FIFO), from
    // maintenance (kBusy) or inside park() (kParked: set for the whole park, since nothing else
    // on this thread schedules while it parks). turn_woke counts what the turn queued.
    enum class Turn : std::uint8_t { kNone, kBusy, kParked } turn = Turn::kNone;
    std::uint32_t turn_woke = 0;
    Parker parker;
    WorkerCounters counters;
  };

  using C = WorkerCounters;
  using Turn = typename Worker::Turn;
  static constexpr bool kLifoLocal = LocalQueue::kOwnerOrder == variants::OwnerOrder::kLifo;

  static variants::StealConfig resolve(const StealOverrides& o) {
    variants::StealConfig c = Steal::config();
    if (o.amount) c.amount = *o.amount;
    if (o.victim) c.victim = *o.victim;
    if (o.backoff) c.backoff = *o.backoff;
    return c;
  }

  // --- the loop -------------------------------------------------------------------------------

  // Runs worker `w` on this thread until the scheduler stops, or, for block_on on a
  // current_thread runtime, until `*done` is true.
  void run_worker(Worker& w, const std::atomic<bool>* done) {
    ThreadContext& ctx = context();
    const std::size_t outside_hint = ctx.shard_hint;
    ctx.scheduler = this;
    ctx.worker = &w;
    ctx.shard_hint = w.index;
    w.checked_at = std::chrono::steady_clock::now();
    w.since_check = 0;
    for (;;) {
      // [S1] acquire: the block_on root's completion (pairs with the release in its waker).
      if (done != nullptr && done->load(std::memory_order_acquire)) break;
      if (phase() == Phase::kStopped) break;
      const bool periodic = ++w.since_check >= w.interval;
      if (periodic) retune(w);
      maintenance(w, periodic);
      if (TaskHeader* task = next_task(w, periodic)) {
        run(w, task);
        continue;
      }
      if (TaskHeader* task = search(w)) {
        run(w, task);
        continue;
      }
      if (done != nullptr && done->load(std::memory_order_acquire)) break;  // [S1]
      park(w);
    }
    if (w.lifo != nullptr) push_local(w, std::exchange(w.lifo, nullptr));
    if (w.searching) {
      w.searching = false;
      if (idle_.transition_from_searching()) notify_parked();
    }
    ctx.scheduler = nullptr;
    ctx.worker = nullptr;
    ctx.shard_hint = outside_hint;
  }

  // Every interval: the mean poll time of the ticks since the last check (smoothed as Tokio does,
  // weight 0.1) sets the next interval to about kTargetIntervalNs of polling.
  void retune(Worker& w) {
    const auto now = std::chrono::steady_clock::now();
    const double sample =
        std::chrono::duration<double, std::nano>(now - w.checked_at).count() / w.since_check;
    w.poll_ns_ewma = w.poll_ns_ewma == 0 ? sample : 0.9 * w.poll_ns_ewma + 0.1 * sample;
    w.interval = static_cast<std::uint32_t>(std::clamp(
        kTargetIntervalNs / std::max(w.poll_ns_ewma, 1.0), double{kMinInjectorInterval},
        double{kInjectorInterval}));
    w.since_check = 0;
    w.checked_at = now;
  }

  // Turns the driver without blocking when I/O may be pending (every interval) or a timer is due.
  // Not for I/O while this worker still has a batch of work queued: the tasks a turn wakes go
  // onto this worker, and a queue refilled faster than it drains would push its oldest tasks
  // into the injector, where they wait (1 pull per 61 ticks) behind ever newer ones.
  void maintenance(Worker& w, bool periodic) {
    Driver& d = driver();
    // The room for I/O completions, read only when I/O is due (not on every tick).
    std::size_t io_room = 0;
    if (periodic && d.io().has_sources()) {
      const std::size_t queued = w.local.size_hint();
      if (queued < variants::kMaxBatch) io_room = variants::kMaxBatch - queued;
    }
    if (io_room == 0 && !d.timers().maybe_due()) return;
    if (!d.try_acquire()) return;
    C::add(w.counters.driver_polls);
    w.turn = Turn::kBusy;
    d.turn(/*block=*/false, io_room);
    w.turn = Turn::kNone;
    d.release();
    const std::uint32_t woke = std::exchange(w.turn_woke, 0);
    // Share what the turn queued unless it is the one task this worker runs next anyway (a
    // wake-up for it would find nothing to steal: schedule()'s rule for the LIFO slot).
    const std::size_t ahead = w.local.size_hint() + (w.lifo != nullptr ? 1 : 0);
    if (workers_.size() > 1 && woke != 0 && (woke > 1 || ahead > (kLifoLocal ? 0 : 1))) {
      notify_parked();
    }
  }

  void run(Worker& w, TaskHeader* task) {
    // A worker woken as a searcher may find its first task through next_task (the injector)
    // rather than search(): it stops searching either way, and wakes another if it was the last.
    if (w.searching) found_work(w, task);
    C::add(w.counters.polls);
#if defined(WEFT_PLANT_SPIN)
    planted_spin();  // test-only, see above
#endif
    if (run_task(task) == Ran::kRequeue) {
      requeue(w, task);
      if (workers_.size() > 1) notify_parked();
    }
  }

  TaskHeader* next_task(Worker& w, bool periodic) {
    if (periodic && injector_.size_hint() != 0) {
      if (std::optional<TaskHeader*> t = injector_.pop()) {
        C::add(w.counters.injector_hits);
        return *t;
      }
    }
    if (w.lifo != nullptr) {
      if (w.lifo_streak < kMaxLifoPollsInARow) {
        ++w.lifo_streak;
        C::add(w.counters.lifo_hits);
        return std::exchange(w.lifo, nullptr);
      }
      push_local(w, std::exchange(w.lifo, nullptr));
    }
    w.lifo_streak = 0;
    if (std::optional<TaskHeader*> t = w.local.pop()) {
      C::add(w.counters.local_hits);
      return *t;
    }
    return pull_injector(w);
  }

  // Moves a batch from the injector into the local queue; returns one task of it to run now.
  TaskHeader* pull_injector(Worker& w) {
    const std::size_t queued = injector_.size_hint();
    if (queued == 0) return nullptr;
    const std::size_t want = std::min(queued / workers_.size() + 1, variants::kMaxBatch);
    TaskHeader* batch[variants::kMaxBatch];
    std::size_t n = 0;
    injector_.pop_batch(want, [&](TaskHeader*&& t) { batch[n++] = t; });
    if (n == 0) return nullptr;
    C::add(w.counters.injector_pulls);
    C::add(w.counters.injector_hits, n);
    // batch[1] must run next: a FIFO queue takes the batch in order, a LIFO one newest first.
    if constexpr (kLifoLocal) {
      for (std::size_t i = n; i-- > 1;) push_local(w, batch[i]);
    } else {
      for (std::size_t i = 1; i < n; ++i) push_local(w, batch[i]);
    }
    // The rest of the batch is new stealable work here, so it follows the rule for new work:
    // wake a parked worker if nobody searches. Without it a wake-up is lost: a searcher that
    // swept this queue while it was still empty (the tasks were in flight from the injector)
    // parks, and its re-check may also run before the push; if the task run now then blocks
    // its worker, the batch waits for ever (it did: ShutdownTest's blockers, mutex_mt2, TSan).
    if (n > 1 && workers_.size() > 1) notify_parked();
    return batch[0];
  }

  // Step 4. A worker that searches is what lets the others skip waking anyone for the work they
  // queue (Idle's rules), so it must not park while it might still find some; but waiting for
  // work costs a spin, which pays only while another worker is running tasks, the one source of
  // new stealable work a searcher is relied on to find. Alone (one worker), or with every other
  // worker parked or searching, it sweeps once, checks the injector and parks, where the last
  // searcher's re-check covers anything that arrived meanwhile. Otherwise it backs off between
  // sweeps, max_rounds sweeps at most, and not after the last one (nothing would look at what
  // that wait bought).
  TaskHeader* search(Worker& w) {
    const std::size_t n = workers_.size();
    if (!w.searching) {
      if (!idle_.transition_to_searching()) return nullptr;
      w.searching = true;
    }
    const bool half = steal_.amount == variants::StealAmount::kHalf;
    for (std::size_t round = 0;;) {
      if (n > 1) {
        const std::size_t start = steal_.first_victim(w.index, n, w.rng);
        for (std::size_t i = 0; i < n; ++i) {
          Worker& victim = *workers_[(start + i) % n];
          if (&victim == &w) continue;
          if (victim.local.size_hint() == 0) continue;
          C::add(w.counters.steal_attempts);
          const std::size_t before = w.local.size_hint();
          if (std::optional<TaskHeader*> t = victim.local.steal_into(w.local, half)) {
            C::add(w.counters.steal_successes);
            C::add(w.counters.tasks_stolen, 1 + w.local.size_hint() - before);
            return found_work(w, *t);
          }
        }
      }
      if (TaskHeader* t = pull_injector(w)) return found_work(w, t);
      if (++round >= steal_.max_rounds || phase() == Phase::kStopped) break;
      if (idle_.num_working() == 0) break;  // nobody left who could produce stealable work
      steal_.backoff_after(round - 1);
    }
    return nullptr;
  }

  TaskHeader* found_work(Worker& w, TaskHeader* task) {
    w.searching = false;
    if (idle_.transition_from_searching()) notify_parked();
    return task;
  }

  void push_local(Worker& w, TaskHeader* task) {
    w.local.push(task, [this](std::span<TaskHeader*> spill) { injector_.push_batch(spill); });
  }

  // A yielded (or budget-exhausted) task goes behind the work already queued. A FIFO local
  // queue does that itself; a LIFO one (Chase-Lev) would hand it straight back to this worker,
  // starving its other tasks, so it goes to the injector instead (as Go's Gosched does).
  void requeue(Worker& w, TaskHeader* task) {
    if constexpr (kLifoLocal) {
      injector_.push(task);
    } else {
      push_local(w, task);
    }
  }

  // A task woken by this worker's own driver turn (I/O completions, timers) goes behind the work
  // already queued, as a yield does (requeue): never into the LIFO slot, where each turn's
  // newest wake-up would run first and, turn after turn, a task woken earlier would wait for as
  // long as new wake-ups kept coming (on a LIFO local queue, every one of them would). A turn's
  // wake-ups thus run in the order the reactor delivered them, after what was queued before.
  // Whoever runs the turn shares the work afterwards (maintenance, park). While shutdown drains,
  // a parked worker's wake-ups go to the injector, the one queue its quiescence check sees.
  void schedule_woken_by_driver(Worker& w, TaskHeader* task) {
    if (w.turn == Turn::kParked && phase() != Phase::kRunning) {
      injector_.push(task);
      notify_parked();
      return;
    }
    requeue(w, task);
    ++w.turn_woke;
  }

  void park(Worker& w) {
    const bool was_searching = std::exchange(w.searching, false);
    if (idle_.transition_to_parked(w.index, was_searching)) notify_if_work_pending();
    if (phase() == Phase::kClosing) quiesce_cv_.notify_all();
    C::add(w.counters.parks);
    w.turn = Turn::kParked;
    for (;;) {
      const Parker::Woke woke = w.parker.park();
      if (woke.drove) C::add(w.counters.driver_polls);
      if (phase() == Phase::kStopped) break;
      if (const std::uint32_t queued = std::exchange(w.turn_woke, 0); queued != 0) {
        // The driver turn queued tasks for this worker (its local queue, or the injector): run
        // them, and share if there are more. If a notifier took us off the sleepers meanwhile,
        // it counted us as a searcher.
        w.searching = !idle_.unpark_by_id(w.index);
        if (workers_.size() > 1 && queued > 1) notify_parked();
        break;
      }
      if (!idle_.is_parked(w.index)) {  // woken by worker_to_notify: now a searcher
        w.searching = true;
        break;
      }
      // Spurious (a stale unpark, a driver turn that woke nothing here, or a current_thread
      // wake for block_on): keep sleeping unless block_on's root completed.
      if (flavor_ == Flavor::kCurrentThread) {
        w.searching = !idle_.unpark_by_id(w.index);
        break;
      }
    }
    w.turn = Turn::kNone;
    w.turn_woke = 0;  // left over when the stop ended the park first
    w.checked_at = std::chrono::steady_clock::now();  // idle time is not poll time
    w.since_check = 0;
    C::add(w.counters.unparks);
  }

  void notify_parked() {
    if (std::optional<std::size_t> i = idle_.worker_to_notify()) workers_[*i]->parker.unpark();
  }

  void notify_if_work_pending() {
    for (auto& w : workers_) {
      if (w->local.size_hint() != 0) {
        notify_parked();
        return;
      }
    }
    if (injector_.size_hint() != 0) notify_parked();
  }

  // --- block_on -------------------------------------------------------------------------------

  // Multi-thread: this thread sleeps until the root's join waker fires.
  void wait_on_thread(TaskHeader* root) {
    struct Signal {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
    } signal;
    static constexpr WakerVTable kVTable{
        [](void* data, std::uint32_t) {
          auto* s = static_cast<Signal*>(data);
          // Notify under the lock: the waiter cannot return (and free `s`) before we unlock.
          std::lock_guard lock(s->mu);
          s->done = true;
          s->cv.notify_all();
        },
        [](void*) {}, [](void*) {}};
    if (!root->set_join_waker(Waker(&signal, 0, &kVTable))) return;
    std::unique_lock lock(signal.mu);
    signal.cv.wait(lock, [&] { return signal.done; });
  }

  // current_thread: this thread runs the loop until the root completes.
  void drive_until(TaskHeader* root) {
    struct Signal {
      Scheduler* self;
      std::atomic<bool> done{false};
    } signal{this};
    static constexpr WakerVTable kVTable{
        [](void* data, std::uint32_t) {
          auto* s = static_cast<Signal*>(data);
          Scheduler* self = s->self;
          // [S1] release: pairs with the loop's acquire load.
          s->done.store(true, std::memory_order_release);
          self->workers_[0]->parker.unpark();
        },
        [](void*) {}, [](void*) {}};
    std::lock_guard drive(drive_mu_);
    if (!root->set_join_waker(Waker(&signal, 0, &kVTable))) return;
    Worker& w = *workers_[0];
    // Not among the sleepers: an outside spawn already woke worker 0 and counted it searching.
    w.searching = !idle_.unpark_by_id(0);
    run_worker(w, &signal.done);
    idle_.transition_to_parked(w.index, std::exchange(w.searching, false));
    // The waker may still be unparking worker 0: wait until it has let go of `signal`.
    while (!(root->load_state() & TaskHeader::kComplete) ||
           (root->load_state() & TaskHeader::kJoinWaker)) {
      std::this_thread::yield();
    }
  }

  // --- shutdown -------------------------------------------------------------------------------

  // Multi-thread: true once every worker is parked with every queue empty; false at the deadline.
  bool wait_quiescent(std::chrono::steady_clock::time_point until) {
    std::mutex mu;
    std::unique_lock lock(mu);
    for (;;) {
      const bool quiet = idle_.with_lock(
          [&](std::size_t unparked) { return unparked == 0 && injector_.size_hint() == 0; });
      if (quiet) return true;
      if (std::chrono::steady_clock::now() >= until) return false;
      quiesce_cv_.wait_for(lock, std::chrono::milliseconds(1));
    }
  }

  // current_thread: run until nothing is runnable.
  bool run_current_thread_until_idle(std::chrono::steady_clock::time_point until) {
    Worker& w = *workers_[0];
    ThreadContext& ctx = context();
    ctx.scheduler = this;
    ctx.worker = &w;
    bool finished = true;
    while (TaskHeader* task = next_task(w, ++w.since_check % kInjectorInterval == 0)) {
      run(w, task);
      if (std::chrono::steady_clock::now() >= until) {
        finished = false;
        break;
      }
    }
    ctx.scheduler = nullptr;
    ctx.worker = nullptr;
    return finished;
  }

  const Flavor flavor_;
  const variants::StealConfig steal_;
  Idle idle_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Injector injector_;
  std::vector<std::thread> threads_;
  std::mutex drive_mu_;  // one current_thread driver at a time
  std::condition_variable_any quiesce_cv_;
  std::mutex shutdown_mu_;
  std::optional<ShutdownReport> report_;  // guarded by shutdown_mu_
};

}  // namespace weft::detail
