// IoOp: `co_await` one backend operation from inside a task.
//
// await_ready submits the operation: when the backend completes it at once (the syscall did not
// say EAGAIN) the task goes on without suspending and without a waker. Otherwise the operation is
// parked with the task's waker and the task suspends until the backend completes it. A task
// destroyed while an operation is parked (abort, shutdown, a timeout) withdraws it in the
// destructor ([O6] in backend.hpp), so neither the backend nor the kernel writes into a dead
// frame.
#pragma once

#include <coroutine>
#include <cstdint>

#include "io/backend.hpp"
#include "weft/spawn.hpp"

namespace weft::detail {

class IoOp {
 public:
  IoOp(io::Backend& backend, io::Source& source, io::OpCode code)
      : backend_(backend), source_(source), op_(code) {}
  IoOp(const IoOp&) = delete;
  IoOp& operator=(const IoOp&) = delete;
  ~IoOp() {
    if (pending_) backend_.cancel(source_, op_);
  }

  io::Operation& op() { return op_; }

  bool await_ready() {
    pending_ = !backend_.submit(source_, op_, [] { return weft::current_waker(); });
    return !pending_;
  }
  void await_suspend(std::coroutine_handle<>) noexcept {}
  // The result: >= 0 on success, -errno on failure.
  std::int64_t await_resume() noexcept {
    pending_ = false;  // only the backend's completion holds this suspension's waker
    return op_.result;
  }

 private:
  io::Backend& backend_;
  io::Source& source_;
  io::Operation op_;
  bool pending_ = false;
};

}  // namespace weft::detail
