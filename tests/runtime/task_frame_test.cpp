// The layout a spawned task relies on: one block [TaskHeader | coroutine frame], where the frame
// starts at coroutine_handle::address(). That holds only if address() is exactly the pointer the
// promise's operator new returned (true of GCC and Clang, not promised by the standard), so it
// is checked here for coroutines of several frame sizes, pooled and not.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "runtime/runtime_test_params.hpp"
#include "weft/task/frame_pool.hpp"
#include "weft/weft.hpp"

namespace weft_test {
namespace {

using weft::Task;
using weft::TaskHeader;

class TaskFrameTest : public RuntimeTest {};
WEFT_INSTANTIATE_FOR_EVERY_RUNTIME(TaskFrameTest);

// Keeps `p` (and what it points to) alive in the compiler's eyes.
inline void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

// A coroutine whose frame holds an N-byte local across a suspension point, so N bytes of it
// must live in the frame. Records the header of the task that runs it.
template <std::size_t N>
Task<std::size_t> frame_with_local(std::atomic<TaskHeader*>* running_as) {
  std::array<unsigned char, N> local{};
  local[0] = 1;
  local[N - 1] = 2;
  escape(local.data());
  running_as->store(weft::detail::current_task());
  co_await weft::yield_now();
  escape(local.data());
  co_return N + local[0] + local[N - 1];
}

struct Layout {
  std::size_t local_size = 0;
  bool frame_right_after_header = false;
  bool aligned = false;
  bool dormant_before_spawn = false;
  std::uint32_t block_size = 0;
  bool promise_inside_block = false;
  std::size_t usable = 0;  // malloc_usable_size of the header (glibc), 0 if unknown
  bool same_header_in_join_handle = false;
  bool spawned_after_spawn = false;
  bool same_header_while_running = false;
  std::size_t value = 0;
};

template <std::size_t N>
Layout check_layout(weft::Runtime& rt) {
  Layout out;
  out.local_size = N;
  std::atomic<TaskHeader*> running_as{nullptr};
  Task<std::size_t> task = frame_with_local<N>(&running_as);
  auto handle = task.release();
  void* frame = handle.address();
  TaskHeader* header = TaskHeader::from_frame(frame);
  out.frame_right_after_header =
      static_cast<std::byte*>(frame) == reinterpret_cast<std::byte*>(header) + sizeof(TaskHeader) &&
      header->frame() == frame;
  out.aligned = reinterpret_cast<std::uintptr_t>(header) % weft::detail::kBlockAlign == 0;
  out.dormant_before_spawn = !header->spawned();
  out.block_size = header->block_size();
  const auto* promise_begin = reinterpret_cast<const std::byte*>(&handle.promise());
  const auto* block_begin = reinterpret_cast<const std::byte*>(header);
  out.promise_inside_block =
      promise_begin >= block_begin + sizeof(TaskHeader) &&
      promise_begin + sizeof(handle.promise()) <= block_begin + out.block_size;
#if defined(__GLIBC__)
  // The header is the start of a heap block (ASan aborts here if it is not).
  out.usable = malloc_usable_size(header);
#endif
  weft::JoinHandle<std::size_t> joined = rt.spawn(Task<std::size_t>(handle));
  out.same_header_in_join_handle = joined.header() == header;
  out.spawned_after_spawn = header->spawned();
  out.value = rt.block_on(join_value(std::move(joined)));
  out.same_header_while_running = running_as.load() == header;
  return out;
}

void expect_layout(const Layout& l) {
  SCOPED_TRACE("local of " + std::to_string(l.local_size) + " bytes");
  EXPECT_TRUE(l.frame_right_after_header);
  EXPECT_TRUE(l.aligned);
  EXPECT_TRUE(l.dormant_before_spawn);
  EXPECT_EQ(l.block_size % weft::detail::kBlockAlign, 0u);
  EXPECT_GE(l.block_size, sizeof(TaskHeader) + l.local_size);
  EXPECT_LT(l.block_size, sizeof(TaskHeader) + l.local_size + 4096) << "implausible block size";
  EXPECT_TRUE(l.promise_inside_block);
#if defined(__GLIBC__)
  EXPECT_GE(l.usable, l.block_size);
#endif
  EXPECT_TRUE(l.same_header_in_join_handle);
  EXPECT_TRUE(l.spawned_after_spawn);
  EXPECT_TRUE(l.same_header_while_running);
  EXPECT_EQ(l.value, l.local_size + 3);
}

TEST_P(TaskFrameTest, HeaderSitsDirectlyBeforeTheFrameForEveryFrameSize) {
  auto rt = make_runtime();
  // Small, mid, near the largest pooled block, and past it (straight from malloc).
  expect_layout(check_layout<16>(*rt));
  expect_layout(check_layout<200>(*rt));
  expect_layout(check_layout<weft::detail::kMaxPooledBlock - 300>(*rt));
  expect_layout(check_layout<4 * weft::detail::kMaxPooledBlock>(*rt));
  // Again, now that freed blocks sit in the pools: recycled blocks keep the layout.
  expect_layout(check_layout<16>(*rt));
  expect_layout(check_layout<200>(*rt));
}

TEST(TaskFrame, UnspawnedTaskFramesAreFreedByTheirTask) {
  // A Task that is never spawned owns its block: destroying the Task frees it (LSan checks).
  std::atomic<TaskHeader*> running_as{nullptr};
  for (int i = 0; i < 100; ++i) {
    Task<std::size_t> small = frame_with_local<8>(&running_as);
    Task<std::size_t> large = frame_with_local<2 * weft::detail::kMaxPooledBlock>(&running_as);
    EXPECT_TRUE(small.valid());
    EXPECT_TRUE(large.valid());
  }
  EXPECT_EQ(running_as.load(), nullptr) << "a Task is lazy: it must not have started";
}

}  // namespace
}  // namespace weft_test
