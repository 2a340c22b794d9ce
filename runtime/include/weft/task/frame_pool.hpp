// Coroutine frame allocation with per-thread free lists.
//
// Every Task frame is allocated as one block [TaskHeader | frame]; see header.hpp. Blocks are
// recycled through free lists owned by the thread that frees them (a worker, in practice), in
// 16-byte size classes up to kMaxPooledBlock, at most kMaxCachedPerClass blocks per class; the
// rest go back to malloc. A spawn storm therefore does not live in malloc. Nothing here is shared
// between threads: a block changes threads only inside a task, which the scheduler's queues
// already synchronize.
//
// The pool is compiled out under AddressSanitizer (WEFT_NO_FRAME_POOL) so that ASan sees every
// use after free of a frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#include "weft/task/header.hpp"

namespace weft::detail {

inline constexpr std::size_t kBlockAlign = 16;
inline constexpr std::size_t kMaxPooledBlock = 1024;
inline constexpr std::size_t kMaxCachedPerClass = 4096;
inline constexpr std::size_t kSizeClasses = kMaxPooledBlock / kBlockAlign;
static_assert(sizeof(TaskHeader) % kBlockAlign == 0);

class FramePool {
 public:
  ~FramePool() {
    for (FreeBlock*& head : heads_) {
      while (head != nullptr) std::free(std::exchange(head, head->next));
    }
  }

  void* allocate(std::size_t block_size) {
#ifndef WEFT_NO_FRAME_POOL
    if (block_size <= kMaxPooledBlock) {
      const std::size_t c = block_size / kBlockAlign - 1;
      if (FreeBlock* b = heads_[c]) {
        heads_[c] = b->next;
        --counts_[c];
        return b;
      }
    }
#endif
    void* p = std::malloc(block_size);  // glibc: 16-byte aligned, as kBlockAlign needs
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }

  void free(void* block, std::size_t block_size) noexcept {
#ifndef WEFT_NO_FRAME_POOL
    if (block_size <= kMaxPooledBlock) {
      const std::size_t c = block_size / kBlockAlign - 1;
      if (counts_[c] < kMaxCachedPerClass) {
        heads_[c] = ::new (block) FreeBlock{heads_[c]};
        ++counts_[c];
        return;
      }
    }
#endif
    std::free(block);
  }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  FreeBlock* heads_[kSizeClasses] = {};
  std::uint32_t counts_[kSizeClasses] = {};
};

inline FramePool& this_thread_frame_pool() {
  thread_local FramePool pool;
  return pool;
}

inline std::size_t block_size_for(std::size_t frame_size) {
  return (sizeof(TaskHeader) + frame_size + kBlockAlign - 1) & ~(kBlockAlign - 1);
}

// Promise operator new: a block with a dormant header in front of the frame.
inline void* allocate_frame(std::size_t frame_size) {
  const std::size_t block_size = block_size_for(frame_size);
  void* block = this_thread_frame_pool().allocate(block_size);
  auto* header = ::new (block) TaskHeader(static_cast<std::uint32_t>(block_size));
  return header->frame();
}

inline void free_task_block(TaskHeader* header) noexcept {
  const std::size_t size = header->block_size();
  header->~TaskHeader();
  this_thread_frame_pool().free(header, size);
}

// Promise operator delete, called by coroutine_handle::destroy(). A spawned task's block belongs
// to its reference count (TaskHeader::dealloc frees it); an unspawned frame is freed here.
inline void deallocate_frame(void* frame) noexcept {
  TaskHeader* header = TaskHeader::from_frame(frame);
  if (!header->spawned()) free_task_block(header);
}

}  // namespace weft::detail
