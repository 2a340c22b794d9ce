// Windows: each thread's frame pool lives on the heap and is released at thread exit by a
// fiber-local-storage callback (weft/task/frame_pool.hpp says why not a thread_local object).
#include <windows.h>

#include <cstdlib>

#include "weft/task/frame_pool.hpp"

namespace weft::detail {
namespace {

void WINAPI release_pool(void* pool) { delete static_cast<FramePool*>(pool); }

DWORD pool_slot() {
  static const DWORD slot = [] {
    const DWORD s = ::FlsAlloc(&release_pool);
    if (s == FLS_OUT_OF_INDEXES) std::abort();  // nothing to run frames with
    return s;
  }();
  return slot;
}

}  // namespace

FramePool* adopt_thread_frame_pool() {
  auto* pool = new FramePool;
  ::FlsSetValue(pool_slot(), pool);
  return pool;
}

}  // namespace weft::detail
