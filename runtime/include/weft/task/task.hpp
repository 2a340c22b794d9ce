// Task<T>: a lazily started coroutine returning T. Move-only; `co_await task` runs it inline (the
// awaiting coroutine continues when it finishes, by symmetric transfer); `spawn(task)` hands it
// to a runtime as an independent task.
//
// Every Task frame carries a dormant TaskHeader in front of it (frame_pool.hpp), so spawning
// allocates nothing more. Inside a spawned task, nested `co_await child()` calls keep the header's
// resume point on the innermost running coroutine, so a wake resumes exactly where the task
// suspended.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/task/context.hpp"
#include "weft/task/frame_pool.hpp"
#include "weft/task/header.hpp"

namespace weft {

template <class T = void>
class Task;

namespace detail {

class PromiseBase {
 public:
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame) noexcept { deallocate_frame(frame); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) noexcept {
      std::coroutine_handle<> next = self.promise().continuation_;
      if (!next) return std::noop_coroutine();  // a spawned root: the worker sees done()
      if (TaskHeader* task = current_task()) task->set_resume_point(next);
      return next;
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> c) { continuation_ = c; }

 protected:
  void rethrow_if_failed() {
    if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
  }

 private:
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
};

template <class T>
class TaskPromise : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;

  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) {
    value_.emplace(std::forward<U>(value));
  }

  // The result (moved out once), or the exception the body threw.
  T take_result() {
    rethrow_if_failed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class TaskPromise<void> : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take_result() { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle h) noexcept : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(handle_); }

  // Gives up ownership of the frame (the runtime takes it when spawning).
  Handle release() noexcept { return std::exchange(handle_, nullptr); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle child;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
        child.promise().set_continuation(parent);
        if (TaskHeader* task = detail::current_task()) task->set_resume_point(child);
        return child;
      }
      T await_resume() { return child.promise().take_result(); }
    };
    return Awaiter{handle_};
  }

 private:
  void reset() {
    if (handle_) std::exchange(handle_, nullptr).destroy();
  }

  Handle handle_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace weft
