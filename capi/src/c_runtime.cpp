// weft.h's runtime, tasks, wakers and join handles over weft::Runtime (weft.h states the
// contract). A C task is one Weft task: a coroutine that calls the poll function until it
// returns MT_READY, suspending in between; the task's state word does the rest (a wake while
// the poll runs reschedules the task once after it suspends), so nothing here synchronises.
// No exception leaves an extern "C" function: each body runs inside guarded().
#include <coroutine>
#include <memory>
#include <string>
#include <utility>

#include "c_internal.hpp"

struct MtJoinHandle {
  weft::JoinHandle<void*> handle;
  bool taken = false;

  // One per mt_runtime_spawn: recycled through the thread's frame pool (frame_pool.hpp) with the
  // task frames, so that a spawn from C, like one from C++, does not live in malloc.
  static constexpr std::size_t kBlock = 16;
  static void* operator new(std::size_t size) {
    static_assert(sizeof(MtJoinHandle) <= kBlock);
    (void)size;
    return weft::detail::this_thread_frame_pool().allocate(kBlock);
  }
  static void operator delete(void* p) noexcept {
    weft::detail::this_thread_frame_pool().free(p, kBlock);
  }
};

namespace weft::capi {

thread_local std::string last_error;

MtStatus fail_with(const weft::Status& s) {
  MtStatus code = MT_ERR_INTERNAL;
  switch (s.code()) {
    case weft::StatusCode::kOk: code = MT_OK; break;
    case weft::StatusCode::kInvalidArgument: code = MT_ERR_INVALID_ARGUMENT; break;
    case weft::StatusCode::kResourceExhausted: code = MT_ERR_RESOURCE; break;
    case weft::StatusCode::kFailedPrecondition: code = MT_ERR_MISUSE; break;
    default: break;
  }
  return fail(code, std::string(s.message()));
}

namespace {

// The state, its poll function and its destructor; the destructor runs once, whenever the
// coroutine frame holding this goes (completion, abort, shutdown).
class CTask {
 public:
  CTask(void* state, MtPollFn poll, MtDropFn drop) : state_(state), poll_(poll), drop_(drop) {}
  CTask(CTask&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)),
        poll_(o.poll_),
        drop_(std::exchange(o.drop_, nullptr)) {}
  CTask(const CTask&) = delete;
  CTask& operator=(const CTask&) = delete;
  CTask& operator=(CTask&&) = delete;
  ~CTask() {
    if (drop_ != nullptr) drop_(state_);
  }

  // `co_await task`: one poll, run once the coroutine is suspended (a wake during the poll then
  // reschedules it); suspends only when the poll function said MT_PENDING. The task is its own
  // awaiter, so the frame holds nothing else across the suspension (the C task's frame stays
  // small: `flat_c` in spawn_storm measures it).
  bool await_ready() noexcept { return false; }
  bool await_suspend(std::coroutine_handle<>) {
    MtContext cx;
    ready_ = poll_(state_, &cx) == MT_READY;
    output_ = cx.output;
    return !ready_;
  }
  bool await_resume() noexcept { return ready_; }
  void* output() const noexcept { return output_; }

 private:
  void* state_;
  MtPollFn poll_;
  MtDropFn drop_;
  void* output_ = nullptr;
  bool ready_ = false;
};

weft::Task<void*> run(CTask task) {
  for (;;) {
    // Not `if (co_await task)`: g++ 12 laid out that frame wrongly (spawn_storm crashed).
    const bool ready = co_await task;
    if (ready) break;
  }
  co_return task.output();
}

// Takes ownership of the state: on a bad argument its destructor runs here.
MtStatus check_task(MtRuntime* rt, void* state, MtPollFn poll, MtDropFn drop) {
  if (rt == nullptr || poll == nullptr) {
    if (drop != nullptr) drop(state);
    return fail(MT_ERR_INVALID_ARGUMENT,
                rt == nullptr ? "weft: a NULL runtime" : "weft: a NULL poll function");
  }
  if (rt->shut_down) {
    if (drop != nullptr) drop(state);
    return fail(MT_ERR_SHUTDOWN, "weft: the runtime is shut down");
  }
  return MT_OK;
}

MtRuntime* make_runtime(weft::RuntimeOptions options) {
  MtRuntime* out = nullptr;
  guarded([&] {
    weft::StatusOr<std::unique_ptr<weft::Runtime>> rt = weft::Runtime::create(std::move(options));
    if (!rt.ok()) return fail_with(rt.status());
    out = new MtRuntime{.owned = *std::move(rt)};
    out->rt = out->owned.get();
    return MT_OK;
  });
  return out;
}

}  // namespace
}  // namespace weft::capi

using weft::capi::fail;
using weft::capi::guarded;

extern "C" {

const char* mt_last_error(void) { return weft::capi::last_error.c_str(); }

const char* mt_status_name(MtStatus status) {
  switch (status) {
    case MT_OK: return "MT_OK";
    case MT_ERR_INVALID_ARGUMENT: return "MT_ERR_INVALID_ARGUMENT";
    case MT_ERR_SHUTDOWN: return "MT_ERR_SHUTDOWN";
    case MT_ERR_MISUSE: return "MT_ERR_MISUSE";
    case MT_ERR_CANCELLED: return "MT_ERR_CANCELLED";
    case MT_ERR_ALREADY_TAKEN: return "MT_ERR_ALREADY_TAKEN";
    case MT_ERR_RESOURCE: return "MT_ERR_RESOURCE";
    case MT_ERR_INTERNAL: return "MT_ERR_INTERNAL";
    case MT_ERR_CLOSED: return "MT_ERR_CLOSED";
    case MT_ERR_TIMEOUT: return "MT_ERR_TIMEOUT";
    case MT_ERR_EMPTY: return "MT_ERR_EMPTY";
    case MT_ERR_IO: return "MT_ERR_IO";
  }
  return "MT_ERR_UNKNOWN";
}

MtRuntime* mt_runtime_new(size_t num_workers, const char* variant) {
  weft::RuntimeOptions options;
  options.workers = num_workers;
  if (variant != nullptr) options.variant = variant;
  return weft::capi::make_runtime(std::move(options));
}

MtRuntime* mt_runtime_new_current_thread(void) {
  weft::RuntimeOptions options;
  options.flavor = weft::Flavor::kCurrentThread;
  return weft::capi::make_runtime(std::move(options));
}

MtJoinHandle* mt_runtime_spawn(MtRuntime* rt, void* state, MtPollFn poll, MtDropFn drop) {
  MtJoinHandle* out = nullptr;
  guarded([&] {
    if (MtStatus s = weft::capi::check_task(rt, state, poll, drop); s != MT_OK) return s;
    weft::capi::CTask task(state, poll, drop);  // owns the state from here on
    out = new MtJoinHandle{rt->rt->spawn(weft::capi::run(std::move(task)))};
    return MT_OK;
  });
  return out;
}

MtStatus mt_runtime_spawn_detached(MtRuntime* rt, void* state, MtPollFn poll, MtDropFn drop) {
  return guarded([&] {
    if (MtStatus s = weft::capi::check_task(rt, state, poll, drop); s != MT_OK) return s;
    weft::capi::CTask task(state, poll, drop);
    rt->rt->spawn(weft::capi::run(std::move(task))).detach();
    return MT_OK;
  });
}

MtStatus mt_runtime_block_on(MtRuntime* rt, void* state, MtPollFn poll, MtDropFn drop,
                             void** output) {
  return guarded([&] {
    if (MtStatus s = weft::capi::check_task(rt, state, poll, drop); s != MT_OK) return s;
    weft::capi::CTask task(state, poll, drop);
    void* out = rt->rt->block_on(weft::capi::run(std::move(task)));
    if (output != nullptr) *output = out;
    return MT_OK;
  });
}

MtStatus mt_runtime_shutdown(MtRuntime* rt, unsigned long deadline_ms) {
  return guarded([&] {
    if (rt == nullptr) return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL runtime");
    if (rt->shut_down) return MT_OK;
    rt->rt->shutdown(std::chrono::milliseconds(deadline_ms));  // logic_error from its own task
    rt->shut_down = true;
    return MT_OK;
  });
}

MtStatus mt_runtime_destroy(MtRuntime* rt) {
  return guarded([&] {
    if (rt == nullptr) return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL runtime");
    if (weft::detail::context().scheduler != nullptr) {
      // From a worker thread: its own runtime would join the thread it runs on; another
      // runtime's worker would block that runtime while this one drains.
      return fail(MT_ERR_MISUSE, "weft: mt_runtime_destroy called from inside a task");
    }
    if (rt->owned == nullptr) {
      return fail(MT_ERR_MISUSE,
                  "weft: mt_runtime_destroy of a borrowed runtime (its weft::capi::BorrowedRuntime "
                  "frees the handle; the C++ side owns the runtime)");
    }
    rt->rt->shutdown();
    delete rt;
    return MT_OK;
  });
}

const MtWaker* mt_context_waker(MtContext* cx) {
  if (cx == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL context");
    return nullptr;
  }
  if (!cx->has_waker) {
    const MtStatus s = guarded([&] {
      cx->waker.waker = weft::current_waker();
      cx->has_waker = true;
      return MT_OK;
    });
    if (s != MT_OK) return nullptr;
  }
  return &cx->waker;
}

void mt_context_set_output(MtContext* cx, void* output) {
  if (cx == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL context");
    return;
  }
  cx->output = output;
}

MtWaker* mt_waker_clone(const MtWaker* waker) {
  if (waker == nullptr) {
    fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL waker");
    return nullptr;
  }
  auto* copy = new (std::nothrow) MtWaker{waker->waker};
  if (copy == nullptr) fail(MT_ERR_RESOURCE, "weft: out of memory");
  return copy;
}

void mt_waker_wake(MtWaker* waker) {
  if (waker == nullptr) return;
  waker->waker.wake();
  delete waker;
}

void mt_waker_wake_by_ref(const MtWaker* waker) {
  if (waker != nullptr) waker->waker.wake_by_ref();
}

void mt_waker_drop(MtWaker* waker) { delete waker; }

MtPoll mt_join_poll(MtJoinHandle* handle, MtContext* cx, MtStatus* status, void** output) {
  MtPoll ready = MT_READY;
  const MtStatus result = guarded([&] {
    if (handle == nullptr || cx == nullptr) {
      return fail(MT_ERR_INVALID_ARGUMENT,
                  handle == nullptr ? "weft: a NULL join handle" : "weft: a NULL context");
    }
    if (handle->taken) return fail(MT_ERR_ALREADY_TAKEN, "weft: the output was already taken");
    if (!weft::capi::join_ready(handle->handle, cx)) {
      ready = MT_PENDING;
      return MT_OK;
    }
    handle->taken = true;
    void* out = handle->handle.take_result();  // JoinError: MT_ERR_CANCELLED (guarded)
    if (output != nullptr) *output = out;
    return MT_OK;
  });
  if (status != nullptr) *status = result;
  return result == MT_OK ? ready : MT_READY;
}

MtStatus mt_join_abort(MtJoinHandle* handle) {
  if (handle == nullptr) return fail(MT_ERR_INVALID_ARGUMENT, "weft: a NULL join handle");
  handle->handle.abort();
  return MT_OK;
}

void mt_join_detach(MtJoinHandle* handle) { delete handle; }

}  // extern "C"
