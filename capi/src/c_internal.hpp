// What the C ABI's source files share: the handle structs weft.h leaves opaque, the error
// plumbing (last_error, fail, guarded) and the poll of a join handle. C++ only, never installed.
#pragma once

#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft.h"
#include "weft/weft.hpp"

struct MtWaker {
  weft::Waker waker;
};

// A runtime the handle owns (mt_runtime_new), or one that C++ code owns and lent it
// (weft_cpp.h's BorrowedRuntime): `owned` is null then, and mt_runtime_destroy refuses it.
struct MtRuntime {
  std::unique_ptr<weft::Runtime> owned;
  weft::Runtime* rt = nullptr;  // owned.get(), or the borrowed runtime
  bool shut_down = false;
};

struct MtContext {
  MtWaker waker;  // made on first use: most polls that complete never ask
  bool has_waker = false;
  void* output = nullptr;
};

namespace weft::capi {

// This thread's last error message (mt_last_error).
extern thread_local std::string last_error;

inline MtStatus fail(MtStatus status, std::string message) {
  last_error = std::move(message);
  return status;
}

// Runs `body` (which returns an MtStatus), turning any exception into an error status.
template <class Fn>
MtStatus guarded(Fn&& body) noexcept {
  try {
    return body();
  } catch (const weft::JoinError& e) {  // a task's output taken after it was cancelled
    return fail(MT_ERR_CANCELLED, e.what());
  } catch (const std::bad_alloc&) {
    return fail(MT_ERR_RESOURCE, "weft: out of memory");
  } catch (const std::logic_error& e) {  // outside a task, from the wrong thread, ...
    return fail(MT_ERR_MISUSE, e.what());
  } catch (const std::exception& e) {
    return fail(MT_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(MT_ERR_INTERNAL, "weft: unknown exception");
  }
}

// An MtStatus for a weft::Status that is not OK; records its message.
MtStatus fail_with(const weft::Status& s);

// True once `handle`'s task is done (take its result); otherwise registers the polling task's
// waker with it and returns false (MT_PENDING). Throws outside a task.
template <class T>
bool join_ready(weft::JoinHandle<T>& handle, MtContext* cx) {
  if (handle.is_finished()) return true;
  const MtWaker* w = mt_context_waker(cx);
  if (w == nullptr) throw std::logic_error(last_error);
  return !handle.register_waker(w->waker);
}

}  // namespace weft::capi

// An operation of weft.h (mt_op_poll drives it, mt_op_drop deletes it).
struct MtOp {
  MtOp() = default;
  MtOp(const MtOp&) = delete;
  MtOp& operator=(const MtOp&) = delete;
  virtual ~MtOp() = default;
  // True when done, *result filled (status MT_OK unless set otherwise); false: pending, the
  // polling task's waker registered. May throw (guarded by mt_op_poll).
  virtual bool poll(MtContext* cx, MtOpResult* result) = 0;
  bool done = false;  // gave MT_READY: a later poll is MT_ERR_ALREADY_TAKEN
};

namespace weft::capi {

// `new Op(args...)` as an MtOp*, NULL (with the error recorded) on failure.
template <class Op, class... Args>
MtOp* make_op(Args&&... args) noexcept {
  MtOp* out = nullptr;
  guarded([&] {
    out = new Op(std::forward<Args>(args)...);
    return MT_OK;
  });
  return out;
}

}  // namespace weft::capi
