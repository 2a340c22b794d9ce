// timer_churn: the runtime's timers under three kinds of load.
//
//   cancel    the request-timeout pattern: every worker inserts a timer and cancels it before it
//             fires, over and over (ns per insert+cancel pair).
//   million   a million timers: insert them (deadlines spread over `spread_ms`), let them all
//             fire, then insert a million far-future ones and drop them; the phases are timed
//             apart (insert and cleanup ns per timer; fire lag: how long after the last deadline
//             the last timer fired).
//   accuracy  `sleepers` tasks sleep random 1-100 ms deadlines over and over while every worker
//             runs CPU-bound tasks (slices of `busy_us` between yields); lateness (wake time minus
//             deadline) percentiles. Beside them, the OS's own lateness under the same load:
//             `os_sleepers` plain threads sleep random 1-10 ms deadlines (std::this_thread::
//             sleep_until) over the same window, so a late timer can be told from a late OS.
#include "timer_churn/timer_churn.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/event.hpp"
#include "fmt/format.h"
#include "weft/weft.hpp"

namespace weft::workloads {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// --- cancel -----------------------------------------------------------------------------------

Task<void> insert_cancel(std::int64_t pairs, Countdown* done) {
  Waker waker = current_waker();
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  for (std::int64_t i = 0; i < pairs; ++i) {
    Sleep timer = sleep_until(deadline);
    timer.arm(std::move(waker));
    waker = timer.disarm();
  }
  done->count_down();
  co_return;
}

// --- million ----------------------------------------------------------------------------------

// A waker shared by every timer of the million: counts fires, notes the last one's time, and
// wakes the waiting task when all have fired.
struct FireCounter {
  explicit FireCounter(std::int64_t n) : remaining(n) {}
  std::atomic<std::int64_t> remaining;
  Clock::time_point last_fire;
  OneShotEvent all_fired;

  static constexpr WakerVTable kVTable{
      [](void* data, std::uint32_t) {
        auto* c = static_cast<FireCounter*>(data);
        if (c->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          c->last_fire = Clock::now();
          c->all_fired.set();
        }
      },
      [](void*) {}, [](void*) {}};
  Waker waker() { return Waker(this, 0, &kVTable); }
};

struct MillionResult {
  double insert_s = 0;
  double fire_lag_s = 0;
  double cleanup_s = 0;
};

Task<MillionResult> million(std::int64_t n, std::int64_t spread_ms) {
  MillionResult r;
  FireCounter counter(n);
  std::uint64_t rng = 42;
  const std::uint64_t spread_ns = static_cast<std::uint64_t>(spread_ms) * 1'000'000;
  const Clock::time_point base = Clock::now() + std::chrono::milliseconds(200);
  Clock::time_point last_deadline = base;
  {
    std::deque<Sleep> timers;
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < n; ++i) {
      const Clock::time_point deadline =
          base + std::chrono::nanoseconds(splitmix64(rng) % spread_ns);
      last_deadline = std::max(last_deadline, deadline);
      timers.emplace_back(deadline).arm(counter.waker());
    }
    r.insert_s = seconds_since(t0);
    co_await counter.all_fired.wait();
    r.fire_lag_s = std::chrono::duration<double>(counter.last_fire - last_deadline).count();
  }
  std::deque<Sleep> timers;
  const Clock::time_point far = Clock::now() + std::chrono::hours(1);
  for (std::int64_t i = 0; i < n; ++i) {
    timers.emplace_back(far + std::chrono::nanoseconds(splitmix64(rng) % spread_ns))
        .arm(counter.waker());
  }
  const auto t0 = Clock::now();
  timers.clear();
  r.cleanup_s = seconds_since(t0);
  co_return r;
}

// --- accuracy ---------------------------------------------------------------------------------

Task<void> busy(std::int64_t slice_us, const std::atomic<bool>* stop) {
  while (!stop->load(std::memory_order_relaxed)) {
    const auto until = Clock::now() + std::chrono::microseconds(slice_us);
    while (Clock::now() < until) {
    }
    co_await yield_now();
  }
}

Task<void> sleeper(std::uint64_t seed, Clock::time_point end, std::vector<double>* lateness_us) {
  std::uint64_t rng = seed;
  for (;;) {
    const auto d = std::chrono::microseconds(1000 + splitmix64(rng) % 99'001);  // 1-100 ms
    const Clock::time_point deadline = Clock::now() + d;
    if (deadline > end) break;
    co_await sleep_until(deadline);
    lateness_us->push_back(std::chrono::duration<double, std::micro>(Clock::now() - deadline).count());
  }
}

// The OS's lateness: a plain thread sleeping random 1-10 ms deadlines until `end` (short sleeps,
// so that a few threads give thousands of samples in a run of seconds).
void os_sleeper(std::uint64_t seed, Clock::time_point end, std::vector<double>* lateness_us) {
  std::uint64_t rng = seed;
  for (;;) {
    const auto d = std::chrono::microseconds(1000 + splitmix64(rng) % 9'001);  // 1-10 ms
    const Clock::time_point deadline = Clock::now() + d;
    if (deadline > end) break;
    std::this_thread::sleep_until(deadline);
    lateness_us->push_back(std::chrono::duration<double, std::micro>(Clock::now() - deadline).count());
  }
}

struct Lateness {
  std::vector<double> runtime_us;
  std::vector<double> os_us;
};

Task<Lateness> accuracy(std::size_t workers, std::int64_t timers, std::int64_t busy_us,
                        std::int64_t duration_ms, std::int64_t os_threads) {
  std::atomic<bool> stop{false};
  std::vector<JoinHandle<void>> busy_tasks;
  for (std::size_t i = 0; i < 2 * workers; ++i) busy_tasks.push_back(weft::spawn(busy(busy_us, &stop)));
  const Clock::time_point end = Clock::now() + std::chrono::milliseconds(duration_ms);
  std::vector<std::vector<double>> per_thread(static_cast<std::size_t>(os_threads));
  std::vector<std::jthread> os;
  for (std::int64_t i = 0; i < os_threads; ++i) {
    os.emplace_back(os_sleeper, 7000 + i, end, &per_thread[static_cast<std::size_t>(i)]);
  }
  std::vector<std::vector<double>> per_task(static_cast<std::size_t>(timers));
  std::vector<JoinHandle<void>> sleepers;
  for (std::int64_t i = 0; i < timers; ++i) {
    sleepers.push_back(weft::spawn(sleeper(1000 + i, end, &per_task[static_cast<std::size_t>(i)])));
  }
  for (auto& s : sleepers) co_await s;
  stop.store(true, std::memory_order_relaxed);
  for (auto& b : busy_tasks) co_await b;
  os.clear();  // joins: they end by `end`, which has passed
  Lateness out;
  for (auto& v : per_task) out.runtime_us.insert(out.runtime_us.end(), v.begin(), v.end());
  for (auto& v : per_thread) out.os_us.insert(out.os_us.end(), v.begin(), v.end());
  co_return out;
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

class TimerChurn final : public Workload {
 public:
  std::string_view name() const override { return "timer_churn"; }
  std::string_view description() const override {
    return "timer wheel: insert+cancel churn, a million timers, lateness under CPU load";
  }
  std::vector<std::string> shapes() const override { return {"cancel", "million", "accuracy"}; }
  std::vector<ParamSpec> params() const override {
    return {
        // Upper bounds keep every run inside memory and inside a day.
        {"pairs", "2000000", "insert+cancel pairs per worker", {"cancel"}, 1'000'000'000},
        {"timers", "1000000", "timers inserted, fired, then inserted and dropped", {"million"},
         20'000'000},
        {"sleepers", "1000", "tasks sleeping random 1-100 ms over and over", {"accuracy"},
         1'000'000},
        {"spread_ms", "1000", "deadlines spread over this window", {"million"}, 86'400'000},
        {"duration_ms", "3000", "how long the sleepers run", {"accuracy"}, 86'400'000},
        {"busy_us", "50", "CPU slice of the busy tasks between yields", {"accuracy"}, 1'000'000},
        {"os_sleepers", "4", "plain threads measuring the OS's own sleep lateness beside them",
         {"accuracy"}, 64},
    };
  }

  // million and accuracy take seconds and warm up by themselves; cancel is over in milliseconds.
  bool wants_cold_run() const override { return false; }

  absl::StatusOr<RunResult> run(Runtime& rt, std::string_view shape,
                                const Params& params) override {
    const std::size_t workers = rt.options().workers;
    if (shape == "cancel") {
      const std::int64_t pairs = param_int(params, "pairs");
      Countdown done(static_cast<std::int64_t>(workers));
      for (std::size_t i = 0; i < workers; ++i) rt.spawn(insert_cancel(pairs, &done)).detach();
      rt.block_on(wait_for(&done));
      return RunResult{static_cast<double>(pairs) * static_cast<double>(workers), "pair", {}};
    }
    if (shape == "million") {
      const std::int64_t n = param_int(params, "timers");
      const MillionResult r = rt.block_on(million(n, param_int(params, "spread_ms")));
      const double per = 1e9 / static_cast<double>(n);
      return RunResult{0, "timer",
                       {{"insert_ns_per_timer", r.insert_s * per, "ns"},
                        {"fire_lag_us", r.fire_lag_s * 1e6, "us"},
                        {"cleanup_ns_per_timer", r.cleanup_s * per, "ns"}}};
    }
    if (shape == "accuracy") {
      Lateness late = rt.block_on(
          accuracy(workers, param_int(params, "sleepers"), param_int(params, "busy_us"),
                   param_int(params, "duration_ms"), param_int(params, "os_sleepers")));
      std::vector<double>& r = late.runtime_us;
      if (r.empty()) return absl::InternalError("accuracy: no timer fired");
      RunResult out{0, "timer",
                    {{"lateness_p50_us", percentile(r, 0.50), "us"},
                     {"lateness_p99_us", percentile(r, 0.99), "us"},
                     {"lateness_max_us", *std::max_element(r.begin(), r.end()), "us"},
                     {"timers_fired", static_cast<double>(r.size()), "count"}}};
      if (std::vector<double>& o = late.os_us; !o.empty()) {
        out.metrics.push_back({"os_lateness_p99_us", percentile(o, 0.99), "us"});
        out.metrics.push_back({"os_lateness_max_us", *std::max_element(o.begin(), o.end()), "us"});
        out.metrics.push_back({"os_sleeps", static_cast<double>(o.size()), "count"});
      }
      return out;
    }
    return absl::InvalidArgumentError(fmt::format("timer_churn: unknown shape '{}'", shape));
  }
};

}  // namespace

std::unique_ptr<Workload> make_timer_churn() { return std::make_unique<TimerChurn>(); }

}  // namespace weft::workloads
