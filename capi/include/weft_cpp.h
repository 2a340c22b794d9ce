// weft_cpp.h: for C++ code that owns a weft::Runtime and hands it to code written against the C
// ABI (weft.h): a C library driven from a C++ program, or a workload's C half measured on the
// runtime the harness made. C++ only; weft.h stays the C ABI.
//
//   std::unique_ptr<weft::Runtime> rt = ...;     // the C++ side's, as ever
//   weft::capi::BorrowedRuntime c_rt(*rt);
//   c_code(c_rt.get());                           // mt_runtime_spawn(c_rt.get(), ...), block_on
//
// The handle acts on that runtime itself: what is spawned through it runs on its workers and
// counts in its stats(); mt_runtime_shutdown through it shuts that runtime down. It never owns
// the runtime: mt_runtime_destroy refuses it (MT_ERR_MISUSE) and the handle is freed with the
// BorrowedRuntime, which must not outlive the runtime, nor be dropped while C code still uses
// its handle.
#pragma once

#include "weft.h"
#include "weft/runtime.hpp"

namespace weft::capi {

class BorrowedRuntime {
 public:
  explicit BorrowedRuntime(weft::Runtime& runtime);  // std::bad_alloc when memory ran out
  ~BorrowedRuntime();
  BorrowedRuntime(const BorrowedRuntime&) = delete;
  BorrowedRuntime& operator=(const BorrowedRuntime&) = delete;

  MtRuntime* get() const noexcept { return handle_; }

 private:
  MtRuntime* handle_;
};

}  // namespace weft::capi
