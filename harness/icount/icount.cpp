// weft-icount: single-thread hot paths, run a fixed number of times, for instruction counting.
// For regression testing (scripts/icount.py runs each case under valgrind's callgrind at N and 2N
// iterations and takes the difference), not for timing: the clock is virtual (see below).
//
//   weft-icount --case=spawn_run/ring --iters=20000
//   weft-icount --list                    the case names, one per line
//   weft-icount --info                    the machine and build facts, key=value per line
//
// Cases (<variant>: every variant in the registry):
//   queue_push_pop/<variant>  the variant's worker-local queue (LocalQueue<TaskHeader*>, no
//                             runtime): push one task pointer, pop it back
//   spawn_run/<variant>       spawn a trivial task from a task and await it: one spawn, two polls
//   wake_run/<variant>        two tasks ping-pong a value over two Channel<int>(1): one
//                             iteration is a round trip, two wakes into the LIFO slot
//   timer_insert_cancel       arm a far-off sleep (as timeout() does) and drop it
//   mutex_lock_unlock         lock and unlock an uncontended AsyncMutex
//   channel_send_recv         send a value into a Channel<int>(1), receive it back
// The runtime cases run on a current_thread runtime (one thread: valgrind serialises threads
// anyway); the last three on the mutex variant, inside one task. Setup and teardown cost the same
// at N and 2N iterations and cancel out.
//
// The clock is virtual. The worker loop tunes how often it checks the injector from the time its
// polls take (Scheduler::retune), so under valgrind, where a poll takes 20-50x longer than
// natively and varies from run to run, the number of checks (and the instruction count) would
// vary too. This program defines clock_gettime(CLOCK_MONOTONIC) itself (the executable's
// definition interposes on libc's for libstdc++'s steady_clock too): every read advances a
// counter by kClockStepNs. The loop then sees fast polls and keeps the interval at 61 ticks, as
// it does natively for tasks this small, and the count is the same on every run.
//
// Exit: 0 ran, 1 a case failed, 2 bad flags or an unknown case.
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "flag_check.hpp"
#include "fmt/format.h"
#include "machine_info.hpp"
#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/sync/channel.hpp"
#include "weft/sync/mutex.hpp"
#include "weft/task/header.hpp"
#include "weft/time/sleep.hpp"
#include "weft/variants/registry.hpp"

ABSL_FLAG(std::string, case, "", "the case to run (see --list)");
ABSL_FLAG(std::string, iters, "", "how many iterations to run (a positive integer)");
ABSL_FLAG(bool, list, false, "print the case names, one per line, then exit");
ABSL_FLAG(bool, info, false, "print the machine and build facts (key=value), then exit");

namespace weft::icount {
namespace {

// How far the virtual monotonic clock moves per read, and where it starts.
constexpr std::uint64_t kClockStepNs = 20;
constexpr std::uint64_t kClockStartNs = 1'000'000'000'000;
std::atomic<std::uint64_t> virtual_now_ns{kClockStartNs};

}  // namespace
}  // namespace weft::icount

// The virtual clock (see the head comment); every other clock is the real one.
extern "C" int clock_gettime(clockid_t clock, struct timespec* ts) noexcept {
  if (clock != CLOCK_MONOTONIC) return static_cast<int>(::syscall(SYS_clock_gettime, clock, ts));
  const std::uint64_t ns =
      weft::icount::virtual_now_ns.fetch_add(weft::icount::kClockStepNs, std::memory_order_relaxed);
  ts->tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts->tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return 0;
}

namespace weft::icount {
namespace {

constexpr const char* kValidFlags = "--case --iters --list --info";
// The variant the variant-free runtime cases run on.
constexpr const char* kDefaultVariant = "mutex";

// A planted slowdown (runtime/CMakeLists.txt, WEFT_PLANT) is part of the build's name, so rows
// measured with one are never mistaken for the real thing.
constexpr const char* kPlant =
#if defined(WEFT_PLANT_SPIN)
    "+plant_spin";
#elif defined(WEFT_PLANT_NO_LIFO)
    "+plant_no_lifo";
#else
    "";
#endif

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "weft-icount: {}\n", message);
  std::exit(2);
}

// Keeps `value` alive as far as the optimiser can tell (Google Benchmark's DoNotOptimize).
template <class T>
void keep(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// --- the cases ----------------------------------------------------------------------------------

template <class V>
void queue_push_pop(std::uint64_t iters) {
  using Item = TaskHeader*;
  typename V::template LocalQueue<Item> q;
  // Never full (one item at a time): the spill callback is never called.
  auto spill = [](std::span<Item>) { std::abort(); };
  for (std::uint64_t i = 0; i < iters; ++i) {
    // A pointer that is never dereferenced: the queue only moves it.
    q.push(reinterpret_cast<Item>(static_cast<std::uintptr_t>(i + 1) * 64), spill);
    keep(q.pop());
  }
}

// Runs `body` as block_on's root on a fresh current_thread runtime of `variant`.
void on_runtime(const std::string& variant, std::function<Task<void>()> body) {
  auto rt = Runtime::create(RuntimeOptions::current_thread(variant));
  if (!rt.ok()) {
    fmt::print(stderr, "weft-icount: {}\n", rt.status().ToString());
    std::exit(1);
  }
  (*rt)->block_on(body());
  (*rt)->shutdown();
}

Task<void> trivial() { co_return; }

Task<void> spawn_loop(std::uint64_t iters) {
  for (std::uint64_t i = 0; i < iters; ++i) co_await weft::spawn(trivial());
}

Task<void> pinger(Channel<int>& out, Channel<int>& in, std::uint64_t iters) {
  for (std::uint64_t i = 0; i < iters; ++i) {
    co_await out.send(static_cast<int>(i));
    keep(co_await in.recv());
  }
}

Task<void> ponger(Channel<int>& in, Channel<int>& out, std::uint64_t iters) {
  for (std::uint64_t i = 0; i < iters; ++i) {
    std::optional<int> v = co_await in.recv();
    co_await out.send(*v);
  }
}

Task<void> ping_pong(std::uint64_t iters) {
  Channel<int> there(1);
  Channel<int> back(1);
  JoinHandle<void> pong = weft::spawn(ponger(there, back, iters));
  JoinHandle<void> ping = weft::spawn(pinger(there, back, iters));
  co_await pong;
  co_await ping;
}

Task<void> timer_loop(std::uint64_t iters) {
  for (std::uint64_t i = 0; i < iters; ++i) {
    Sleep sleep = weft::sleep_for(std::chrono::hours(1));
    sleep.arm(weft::current_waker());  // inserted into this worker's wheel shard
  }                                    // ~Sleep cancels it
  co_return;
}

Task<void> mutex_loop(std::uint64_t iters) {
  AsyncMutex m;
  for (std::uint64_t i = 0; i < iters; ++i) {
    AsyncMutexGuard guard = co_await m.lock();
  }
}

Task<void> channel_loop(std::uint64_t iters) {
  Channel<int> ch(1);
  for (std::uint64_t i = 0; i < iters; ++i) {
    co_await ch.send(static_cast<int>(i));
    keep(co_await ch.recv());
  }
}

struct Case {
  std::string name;
  std::function<void(std::uint64_t)> run;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  using Variants = variants::AllVariants;
  for (std::string_view name : Variants::names) {
    Variants::visit(name, [&]<class V>() {
      cases.push_back({fmt::format("queue_push_pop/{}", name), &queue_push_pop<V>});
    });
  }
  for (std::string_view name : Variants::names) {
    cases.push_back({fmt::format("spawn_run/{}", name), [v = std::string(name)](std::uint64_t n) {
                       on_runtime(v, [n] { return spawn_loop(n); });
                     }});
  }
  for (std::string_view name : Variants::names) {
    cases.push_back({fmt::format("wake_run/{}", name), [v = std::string(name)](std::uint64_t n) {
                       on_runtime(v, [n] { return ping_pong(n); });
                     }});
  }
  cases.push_back({"timer_insert_cancel", [](std::uint64_t n) {
                     on_runtime(kDefaultVariant, [n] { return timer_loop(n); });
                   }});
  cases.push_back({"mutex_lock_unlock", [](std::uint64_t n) {
                     on_runtime(kDefaultVariant, [n] { return mutex_loop(n); });
                   }});
  cases.push_back({"channel_send_recv", [](std::uint64_t n) {
                     on_runtime(kDefaultVariant, [n] { return channel_loop(n); });
                   }});
  return cases;
}

// --- the command line ---------------------------------------------------------------------------

// Abseil exits 1 on an unknown flag or a badly typed value; here bad input exits 2, so every
// flag is checked first (harness/common/flag_check.hpp); --help prints them and exits 0.
void check_flags(int argc, char** argv) {
  using Kind = harness::FlagProblem::Kind;
  const std::optional<harness::FlagProblem> p =
      harness::first_bad_flag(argc, argv, "icount", false);
  if (!p) return;
  if (p->kind == Kind::kHelp) {
    fmt::print("weft-icount: runs one hot path N times, for callgrind (scripts/icount.py).\n");
    fmt::print("flags: {}\n", kValidFlags);
    std::exit(0);
  }
  switch (p->kind) {
    case Kind::kPositional:
      usage_error(fmt::format("unexpected argument '{}'; valid flags: {}", p->arg, kValidFlags));
    case Kind::kUnknown:
      usage_error(fmt::format("unknown flag '{}'; valid: {}", p->arg, kValidFlags));
    case Kind::kMissingValue:
      usage_error(fmt::format("--{} needs a value", p->name));
    case Kind::kBadValue:
    case Kind::kHelp:
      usage_error(fmt::format("bad --{} value '{}': {}", p->name, p->value, p->error));
  }
}

std::string case_names(const std::vector<Case>& cases) {
  std::string out;
  for (const Case& c : cases) out += (out.empty() ? "" : ", ") + c.name;
  return out;
}

int run(int argc, char** argv) {
  check_flags(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const std::vector<Case> cases = all_cases();
  if (absl::GetFlag(FLAGS_list)) {
    for (const Case& c : cases) fmt::print("{}\n", c.name);
    return 0;
  }
  if (absl::GetFlag(FLAGS_info)) {
    const bench::MachineInfo m = bench::read_machine_info();
    fmt::print("git_sha={}\nhost={}\ncpu_model={}\ncpus={}\ncompiler={}\nbuild={}{}\n", m.git_sha,
               m.host, m.cpu_model, m.cpus, m.compiler, m.build, kPlant);
    return 0;
  }
  const std::string name = absl::GetFlag(FLAGS_case);
  if (name.empty()) usage_error(fmt::format("--case is required; valid: {}", case_names(cases)));
  const Case* chosen = nullptr;
  for (const Case& c : cases) {
    if (c.name == name) chosen = &c;
  }
  if (chosen == nullptr) {
    usage_error(fmt::format("unknown case '{}'; valid: {}", name, case_names(cases)));
  }
  const std::string iters_text = absl::GetFlag(FLAGS_iters);
  if (iters_text.empty()) usage_error("--iters is required; valid: a positive integer");
  std::uint64_t iters = 0;
  if (!absl::SimpleAtoi(iters_text, &iters) || iters == 0) {
    usage_error(fmt::format("bad --iters value '{}'; valid: a positive integer", iters_text));
  }
  chosen->run(iters);
  return 0;
}

}  // namespace
}  // namespace weft::icount

int main(int argc, char** argv) { return weft::icount::run(argc, argv); }
