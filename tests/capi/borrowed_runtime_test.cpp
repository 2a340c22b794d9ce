// weft_cpp.h: a weft::Runtime that C++ code owns, lent to C code through BorrowedRuntime. What is
// spawned through the handle runs on that runtime; mt_runtime_destroy refuses the handle; the
// runtime outlives the handle and works on.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>

#include "weft.h"
#include "weft/weft.hpp"
#include "weft_cpp.h"

namespace {

std::atomic<int> polled{0};

MtPoll count_poll(void* state, MtContext* cx) {
  polled.fetch_add(1, std::memory_order_relaxed);
  mt_context_set_output(cx, state);
  return MT_READY;
}

weft::Task<int> answer() { co_return 42; }

TEST(BorrowedRuntime, RunsCTasksOnTheLentRuntimeWhichOutlivesTheHandle) {
  for (const char* variant : {"mutex", "chase_lev"}) {
    auto rt = weft::Runtime::create(weft::RuntimeOptions::multi_thread(2, variant));
    ASSERT_TRUE(rt.ok()) << rt.status();
    {
      weft::capi::BorrowedRuntime c_rt(**rt);
      void* out = nullptr;
      int token = 7;
      ASSERT_EQ(mt_runtime_block_on(c_rt.get(), &token, count_poll, nullptr, &out), MT_OK);
      EXPECT_EQ(out, &token);
      EXPECT_EQ(mt_runtime_spawn_detached(c_rt.get(), nullptr, count_poll, nullptr), MT_OK);
      EXPECT_EQ(mt_runtime_destroy(c_rt.get()), MT_ERR_MISUSE);
      EXPECT_NE(std::string(mt_last_error()).find("borrowed"), std::string::npos);
    }
    EXPECT_EQ((*rt)->block_on(answer()), 42);  // the runtime lives on without the handle
    (*rt)->shutdown();
  }
  EXPECT_GE(polled.load(), 2);
}

}  // namespace
