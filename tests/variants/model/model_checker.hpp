// A small stateless model checker for the lock-free queues (folly's DeterministicSchedule idea,
// with a weak memory model in the manner of CDSChecker and Relacy).
//
// The queues take their atomic type as a template parameter (`Atom`); tests instantiate them with
// weft_model::Atomic and run 2-4 simulated threads as fibers (ucontext) on one OS thread. Every
// atomic operation is a scheduling point, and every load is a choice among the stores it may
// read under the C++ memory model as modelled here:
//
//   * per location, a modification order of stores; a thread never reads a store older than one
//     it has seen (coherence) or one that happens-before the load;
//   * happens-before by vector clocks: an acquire load (or a relaxed load followed by an acquire
//     fence) that reads a release store (or a relaxed store after a release fence, or any RMW in
//     its release sequence) joins the storer's clock;
//   * read-modify-writes always read the latest store; a compare-exchange never fails
//     spuriously, and a failed one reads the latest store too;
//   * seq_cst fences (and seq_cst operations, modelled as fence + access) are totally ordered
//     and synchronise like a lock: stronger than C++, so it can miss a bug that only the
//     difference exposes, but it reports no false ones;
//   * plain memory a queue declares (PlainAccessOf, fence.hpp) is a scheduling point too, and
//     two accesses to it from different threads must be ordered by happens-before, or the
//     execution fails as a data race (every declared access counts as a write).
//
// Exploration is depth-first over the choices (which thread runs next, which store a load
// reads), bounded by the number of preemptions (switching away from a thread that could go on),
// re-running the test from scratch for each execution. A check that fails reports the
// execution's choices.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "weft/variants/fence.hpp"

namespace weft_model {

inline constexpr int kMaxThreads = 4;
using Clock = std::array<std::uint32_t, kMaxThreads>;

inline void join(Clock& into, const Clock& from) {
  for (int i = 0; i < kMaxThreads; ++i) into[i] = std::max(into[i], from[i]);
}

struct Store {
  std::uint64_t value;
  int thread;           // -1: made before the threads started (happens-before all of them)
  std::uint32_t epoch;  // the storer's own clock at the store
  bool has_release;     // carries `release` (release store, after a release fence, or RMW chain)
  Clock release;
};

struct Location {
  std::vector<Store> order;  // modification order
  std::array<int, kMaxThreads> last_seen{-1, -1, -1, -1};
};

class Explorer {
 public:
  struct Options {
    int preemption_bound = 2;
    std::uint64_t max_executions = 5'000'000;
    std::uint64_t max_steps = 100'000;  // per execution: a livelock fails the test
  };
  // A fresh test world per execution: thread bodies, and a check run after all of them end
  // (an empty string means the execution was fine). `state` keeps the world alive.
  struct World {
    std::vector<std::function<void()>> threads;
    std::function<std::string()> check;
    std::shared_ptr<void> state;
  };
  struct Result {
    std::uint64_t executions = 0;
    bool exhausted = false;  // every execution within the bound was explored
    std::string failure;     // empty if none failed
  };

  static Explorer*& current() {
    static Explorer* e = nullptr;
    return e;
  }

  Result explore(const std::function<World()>& make, Options options) {
    options_ = options;
    current() = this;
    trail_.clear();
    Result r;
    for (;;) {
      ++r.executions;
      std::string failure = run_one(make);
      if (!failure.empty()) {
        r.failure = failure + " (execution " + std::to_string(r.executions) + ", choices " +
                    trail_string() + ")";
        break;
      }
      if (!backtrack()) {
        r.exhausted = true;
        break;
      }
      if (r.executions >= options_.max_executions) break;
    }
    current() = nullptr;
    return r;
  }

  // --- called by Atomic and fences -------------------------------------------------------------

  bool running() const { return cur_ >= 0; }
  int me() const { return cur_; }

  // Before every atomic operation: maybe let another thread run first.
  void schedule_point() {
    if (!running()) return;
    if (++steps_ > options_.max_steps) {
      fail("livelock: more than max_steps operations");
      return;
    }
    std::vector<int> options{cur_};
    if (preemptions_ < options_.preemption_bound) {
      for (int t = 0; t < static_cast<int>(threads_.size()); ++t) {
        if (t != cur_ && !threads_[t].done) options.push_back(t);
      }
    }
    const int next = options[choose(static_cast<int>(options.size()))];
    if (next != cur_) {
      ++preemptions_;
      switch_to(next);
    }
  }

  // A replayable choice in [0, n).
  int choose(int n) {
    if (n <= 1) return 0;
    if (pos_ < trail_.size()) return trail_[pos_++].taken;
    trail_.push_back({n, 0});
    ++pos_;
    return 0;
  }

  Clock& clock() { return threads_[cur_].clock; }
  std::uint32_t tick() { return ++threads_[cur_].clock[cur_]; }

  void fence(std::memory_order order) {
    if (!running()) return;
    schedule_point();
    Thread& t = threads_[cur_];
    tick();
    if (order == std::memory_order_acquire || order == std::memory_order_acq_rel ||
        order == std::memory_order_seq_cst) {
      join(t.clock, t.pending_acquire);
    }
    if (order == std::memory_order_seq_cst) sc_sync();
    if (order == std::memory_order_release || order == std::memory_order_acq_rel ||
        order == std::memory_order_seq_cst) {
      t.fence_release = t.clock;
      t.has_fence_release = true;
    }
  }

  // seq_cst: one total order of fences that synchronises like a lock.
  void sc_sync() {
    Thread& t = threads_[cur_];
    join(t.clock, sc_clock_);
    sc_clock_ = t.clock;
  }

  void note_acquire(const Store& s, bool acquire) {
    if (!s.has_release) return;
    Thread& t = threads_[cur_];
    join(acquire ? t.clock : t.pending_acquire, s.release);
  }

  // The release clock a store by this thread carries.
  bool release_clock(bool release, Clock& out) {
    Thread& t = threads_[cur_];
    if (release) {
      out = t.clock;
      return true;
    }
    if (t.has_fence_release) {
      out = t.fence_release;
      return true;
    }
    return false;
  }

  void fail(std::string message) {
    if (failure_.empty()) failure_ = std::move(message);
  }

  // A declared plain-memory access by the running thread.
  void plain_access(const void* address) {
    if (!running()) return;
    schedule_point();
    const std::uint32_t epoch = tick();
    auto [it, fresh] = plain_.try_emplace(address, PlainAccess{cur_, epoch});
    if (!fresh) {
      const PlainAccess last = it->second;
      if (last.thread != cur_ && threads_[cur_].clock[last.thread] < last.epoch) {
        fail("data race on a plain slot between threads " + std::to_string(last.thread) +
             " and " + std::to_string(cur_));
      }
      it->second = PlainAccess{cur_, epoch};
    }
  }

 private:
  struct Thread {
    std::function<void()> body;
    ucontext_t context;
    std::unique_ptr<char[]> stack;
    bool done = false;
    Clock clock{};
    Clock pending_acquire{};
    Clock fence_release{};
    bool has_fence_release = false;
  };
  struct Choice {
    int options;
    int taken;
  };
  struct PlainAccess {
    int thread;
    std::uint32_t epoch;
  };

  static void entry(int index) {
    Explorer& e = *current();
    Thread& t = e.threads_[index];
    try {
      t.body();
    } catch (const std::exception& ex) {
      e.fail(std::string("thread threw: ") + ex.what());
    }
    t.done = true;
    std::vector<int> runnable;
    for (int i = 0; i < static_cast<int>(e.threads_.size()); ++i) {
      if (!e.threads_[i].done) runnable.push_back(i);
    }
    if (runnable.empty()) {
      e.cur_ = -1;
      setcontext(&e.main_);
    }
    const int next = runnable[e.choose(static_cast<int>(runnable.size()))];
    e.cur_ = next;
    setcontext(&e.threads_[next].context);
  }

  void switch_to(int next) {
    const int prev = cur_;
    cur_ = next;
    swapcontext(&threads_[prev].context, &threads_[next].context);
  }

  std::string run_one(const std::function<World()>& make) {
    pos_ = 0;
    steps_ = 0;
    preemptions_ = 0;
    failure_.clear();
    sc_clock_ = {};
    plain_.clear();
    World world = make();  // on the main context: its stores happen-before every thread
    threads_.clear();
    threads_.resize(world.threads.size());
    constexpr std::size_t kStack = 256 * 1024;
    for (std::size_t i = 0; i < world.threads.size(); ++i) {
      Thread& t = threads_[i];
      t.body = std::move(world.threads[i]);
      t.stack = std::make_unique<char[]>(kStack);
      getcontext(&t.context);
      t.context.uc_stack.ss_sp = t.stack.get();
      t.context.uc_stack.ss_size = kStack;
      t.context.uc_link = nullptr;
      makecontext(&t.context, reinterpret_cast<void (*)()>(&Explorer::entry), 1,
                  static_cast<int>(i));
    }
    const int first = choose(static_cast<int>(threads_.size()));
    cur_ = first;
    swapcontext(&main_, &threads_[first].context);
    cur_ = -1;
    std::string failure = failure_;
    if (failure.empty() && world.check) failure = world.check();
    threads_.clear();
    return failure;
  }

  bool backtrack() {
    trail_.resize(pos_);
    while (!trail_.empty() && trail_.back().taken + 1 >= trail_.back().options) trail_.pop_back();
    if (trail_.empty()) return false;
    ++trail_.back().taken;
    return true;
  }

  std::string trail_string() const {
    std::string s;
    for (std::size_t i = 0; i < pos_ && i < trail_.size(); ++i) {
      s += std::to_string(trail_[i].taken) + "/" + std::to_string(trail_[i].options) + " ";
    }
    return s;
  }

  Options options_;
  std::vector<Thread> threads_;
  ucontext_t main_;
  int cur_ = -1;
  int preemptions_ = 0;
  std::uint64_t steps_ = 0;
  std::vector<Choice> trail_;
  std::size_t pos_ = 0;
  Clock sc_clock_{};
  std::string failure_;
  std::unordered_map<const void*, PlainAccess> plain_;  // the last access to each plain slot
};

// For the queue tests: "" if `taken` holds each of the items 1..pushes exactly once, else what
// went wrong.
inline std::string each_taken_once(const std::vector<std::uintptr_t>& taken, int pushes) {
  std::vector<int> count(static_cast<std::size_t>(pushes) + 1, 0);
  for (std::uintptr_t v : taken) {
    if (v == 0 || v > static_cast<std::uintptr_t>(pushes)) {
      return "took an item never pushed: " + std::to_string(v);
    }
    ++count[v];
  }
  for (int i = 1; i <= pushes; ++i) {
    if (count[i] != 1) {
      return "item " + std::to_string(i) + " taken " + std::to_string(count[i]) + " times";
    }
  }
  return "";
}

// The atomic type handed to a queue under test: std::atomic's interface, the model's semantics.
template <class T>
class Atomic {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(std::uint64_t));

 public:
  Atomic() noexcept : Atomic(T{}) {}
  Atomic(T v) noexcept {  // NOLINT: like std::atomic
    Explorer* e = Explorer::current();
    Store s{encode(v), -1, 0, false, {}};
    if (e != nullptr && e->running()) {
      s.thread = e->me();
      s.epoch = e->tick();
    }
    loc_.order.push_back(s);
    if (s.thread >= 0) loc_.last_seen[s.thread] = 0;
  }
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order order = std::memory_order_seq_cst) const {
    Explorer* e = Explorer::current();
    if (e == nullptr || !e->running()) return decode(loc_.order.back().value);
    e->schedule_point();
    const int t = e->me();
    e->tick();
    if (order == std::memory_order_seq_cst) e->sc_sync();
    int lo = std::max(loc_.last_seen[t], 0);
    for (int i = static_cast<int>(loc_.order.size()) - 1; i > lo; --i) {
      if (happens_before(loc_.order[i], e->clock())) {
        lo = i;
        break;
      }
    }
    const int candidates = static_cast<int>(loc_.order.size()) - lo;
    const int index = static_cast<int>(loc_.order.size()) - 1 - e->choose(candidates);
    loc_.last_seen[t] = index;
    const Store& s = loc_.order[index];
    e->note_acquire(s, is_acquire(order));
    return decode(s.value);
  }

  void store(T v, std::memory_order order = std::memory_order_seq_cst) {
    Explorer* e = Explorer::current();
    if (e == nullptr || !e->running()) {
      loc_.order.push_back({encode(v), -1, 0, false, {}});
      return;
    }
    e->schedule_point();
    const int t = e->me();
    Store s{encode(v), t, e->tick(), false, {}};
    s.has_release = e->release_clock(is_release(order), s.release);
    loc_.order.push_back(s);
    loc_.last_seen[t] = static_cast<int>(loc_.order.size()) - 1;
    if (order == std::memory_order_seq_cst) e->sc_sync();
  }

  T exchange(T v, std::memory_order order = std::memory_order_seq_cst) {
    return rmw([&](T) { return v; }, order);
  }

  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) {
    bool ok = false;
    const T seen = rmw_if(
        [&](T cur) {
          ok = std::memcmp(&cur, &expected, sizeof(T)) == 0;
          return ok;
        },
        desired, success, failure);
    if (!ok) expected = seen;
    return ok;
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst) {
    return compare_exchange_strong(expected, desired, order, failure_order(order));
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure) {
    return compare_exchange_strong(expected, desired, success, failure);
  }
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order order = std::memory_order_seq_cst) {
    return compare_exchange_strong(expected, desired, order, failure_order(order));
  }

  T fetch_add(T d, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return rmw([&](T cur) { return static_cast<T>(cur + d); }, order);
  }
  T fetch_sub(T d, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return rmw([&](T cur) { return static_cast<T>(cur - d); }, order);
  }
  T fetch_or(T d, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return rmw([&](T cur) { return static_cast<T>(cur | d); }, order);
  }
  T fetch_and(T d, std::memory_order order = std::memory_order_seq_cst)
    requires std::is_integral_v<T>
  {
    return rmw([&](T cur) { return static_cast<T>(cur & d); }, order);
  }

 private:
  static std::uint64_t encode(T v) {
    std::uint64_t out = 0;
    std::memcpy(&out, &v, sizeof(T));
    return out;
  }
  static T decode(std::uint64_t bits) {
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    return v;
  }
  static bool is_acquire(std::memory_order o) {
    return o == std::memory_order_acquire || o == std::memory_order_acq_rel ||
           o == std::memory_order_seq_cst || o == std::memory_order_consume;
  }
  static bool is_release(std::memory_order o) {
    return o == std::memory_order_release || o == std::memory_order_acq_rel ||
           o == std::memory_order_seq_cst;
  }
  static std::memory_order failure_order(std::memory_order o) {
    if (o == std::memory_order_acq_rel) return std::memory_order_acquire;
    if (o == std::memory_order_release) return std::memory_order_relaxed;
    return o;
  }
  static bool happens_before(const Store& s, const Clock& c) {
    return s.thread < 0 || c[s.thread] >= s.epoch;
  }

  template <class F>
  T rmw(F f, std::memory_order order) {
    T result{};
    rmw_if([&](T cur) {
      result = cur;
      return true;
    }, T{}, order, order, &f);
    return result;
  }

  // Reads the latest store; if `pred(value)` stores `desired` (or `(*make)(value)`).
  template <class P, class F = T (*)(T)>
  T rmw_if(P pred, T desired, std::memory_order success, std::memory_order failure,
           F* make = nullptr) {
    Explorer* e = Explorer::current();
    const T cur = decode(loc_.order.back().value);
    if (e == nullptr || !e->running()) {
      if (pred(cur)) loc_.order.push_back({encode(make ? (*make)(cur) : desired), -1, 0, false, {}});
      return cur;
    }
    e->schedule_point();
    const int t = e->me();
    e->tick();
    const Store latest = loc_.order.back();
    const T value = decode(latest.value);
    const bool ok = pred(value);
    const std::memory_order order = ok ? success : failure;
    if (order == std::memory_order_seq_cst) e->sc_sync();
    e->note_acquire(latest, is_acquire(order));
    if (!ok) {
      loc_.last_seen[t] = static_cast<int>(loc_.order.size()) - 1;
      return value;
    }
    Store s{encode(make ? (*make)(value) : desired), t, e->tick(), false, {}};
    s.has_release = e->release_clock(is_release(order), s.release);
    if (latest.has_release) {  // an RMW continues the release sequence it reads from
      if (s.has_release) {
        join(s.release, latest.release);
      } else {
        s.release = latest.release;
        s.has_release = true;
      }
    }
    loc_.order.push_back(s);
    loc_.last_seen[t] = static_cast<int>(loc_.order.size()) - 1;
    return value;
  }

  mutable Location loc_;
};

}  // namespace weft_model

// Fences and declared plain accesses of a queue instantiated with weft_model::Atomic go to the
// explorer.
template <>
struct weft::variants::FenceOf<weft_model::Atomic> {
  static void fence(std::memory_order order) {
    if (weft_model::Explorer* e = weft_model::Explorer::current()) e->fence(order);
  }
};
template <>
struct weft::variants::PlainAccessOf<weft_model::Atomic> {
  static void note(const void* address) {
    if (weft_model::Explorer* e = weft_model::Explorer::current()) e->plain_access(address);
  }
};
