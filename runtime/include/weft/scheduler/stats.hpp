// Per-worker scheduler counters. Each is written by its worker alone (a relaxed load and store,
// no read-modify-write) and read by anyone through Runtime::stats().
//
// Synchronization map:
//   [C1] relaxed load + store by the owning worker, relaxed loads by readers: a single writer
//        needs no RMW, and readers want a value, not an ordering.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace weft {

// Counter names, in the order of WorkerStats' fields; the harness writes them into the CSV.
#define WEFT_WORKER_COUNTERS(X) \
  X(polls)                      \
  X(lifo_hits)                  \
  X(local_hits)                 \
  X(injector_hits)              \
  X(injector_pulls)             \
  X(steal_attempts)             \
  X(steal_successes)            \
  X(tasks_stolen)               \
  X(parks)                      \
  X(unparks)                    \
  X(driver_polls)

struct WorkerStats {
#define WEFT_FIELD(name) std::uint64_t name = 0;
  WEFT_WORKER_COUNTERS(WEFT_FIELD)
#undef WEFT_FIELD

  WorkerStats& operator+=(const WorkerStats& o) {
#define WEFT_ADD(name) name += o.name;
    WEFT_WORKER_COUNTERS(WEFT_ADD)
#undef WEFT_ADD
    return *this;
  }

  // Calls f(name, value) for every counter.
  template <class F>
  void for_each(F&& f) const {
#define WEFT_VISIT(name) f(std::string_view(#name), name);
    WEFT_WORKER_COUNTERS(WEFT_VISIT)
#undef WEFT_VISIT
  }
};

// The I/O backend's counters (io/backend.hpp), for the whole runtime. Every syscall the backend
// makes on the runtime's behalf is counted once: the operations' own (recv, send, accept,
// connect), the waits (epoll_pwait2, io_uring_enter) and the wake-ups (the eventfd write).
#define WEFT_IO_COUNTERS(X) \
  X(io_syscalls)            \
  X(io_waits)               \
  X(io_completions)

struct IoStats {
#define WEFT_FIELD(name) std::uint64_t name = 0;
  WEFT_IO_COUNTERS(WEFT_FIELD)
#undef WEFT_FIELD

  IoStats& operator-=(const IoStats& o) {
#define WEFT_SUB(name) name -= o.name;
    WEFT_IO_COUNTERS(WEFT_SUB)
#undef WEFT_SUB
    return *this;
  }

  // Calls f(name, value) for every counter.
  template <class F>
  void for_each(F&& f) const {
#define WEFT_VISIT(name) f(std::string_view(#name), name);
    WEFT_IO_COUNTERS(WEFT_VISIT)
#undef WEFT_VISIT
  }
};

struct RuntimeStats {
  std::vector<WorkerStats> workers;
  IoStats io;
  WorkerStats total() const {
    WorkerStats t;
    for (const WorkerStats& w : workers) t += w;
    return t;
  }
};

namespace detail {

class WorkerCounters {
 public:
#define WEFT_ATOMIC(name) std::atomic<std::uint64_t> name{0};
  WEFT_WORKER_COUNTERS(WEFT_ATOMIC)
#undef WEFT_ATOMIC

  // Owner only. [C1] relaxed load + store: a single writer needs no RMW; readers want a value,
  // not an ordering.
  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);  // [C1]
  }

  WorkerStats snapshot() const {
    WorkerStats s;
    // [C1] relaxed: see above.
#define WEFT_LOAD(name) s.name = name.load(std::memory_order_relaxed);
    WEFT_WORKER_COUNTERS(WEFT_LOAD)
#undef WEFT_LOAD
    return s;
  }
};

}  // namespace detail
}  // namespace weft
