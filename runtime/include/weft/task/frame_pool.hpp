// Coroutine frame allocation with per-thread free lists.
//
// Every Task frame is allocated as one block [TaskHeader | frame]; see header.hpp. Blocks are
// recycled through free lists owned by the thread that frees them (a worker, in practice), in
// 16-byte size classes up to kMaxPooledBlock. A thread list that grows past 2 x kBatch hands a
// batch to the central free list under a mutex, once per kBatch frees; an empty one takes a
// batch back before it calls malloc. A spawn storm therefore does not live in malloc, and memory
// freed by workers flows back to an outside spawner. The pool keeps what it holds (the peak of
// frames in flight) until a Runtime is destroyed or the process exits. A block changes threads only inside a task, which
// the scheduler's queues already synchronize, or through the central list's mutex.
//
// The pool is compiled out under AddressSanitizer (WEFT_NO_FRAME_POOL) so that ASan sees every
// use after free of a frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>
#include <utility>

#include "weft/task/header.hpp"

namespace weft::detail {

inline constexpr std::size_t kBlockAlign = 16;
inline constexpr std::size_t kMaxPooledBlock = 1024;
static_assert(kMaxPooledBlock < TaskHeader::kLargeBlock);
inline constexpr std::size_t kSizeClasses = kMaxPooledBlock / kBlockAlign;
// A thread keeps up to 2 x kBatch free blocks per class; past that it hands kBatch of them to the
// central free list, and an empty thread list takes a batch back before calling malloc.
inline constexpr std::size_t kBatch = 1024;
static_assert(sizeof(TaskHeader) % kBlockAlign == 0);

struct FreeBlock {
  FreeBlock* next;
};

// A linked run of free blocks of one size class.
struct BlockBatch {
  FreeBlock* head = nullptr;
  FreeBlock* tail = nullptr;
  std::size_t count = 0;
};

// The central free list (tcmalloc's transfer cache): batches of blocks moved between threads, so
// frames allocated on one thread (an outside spawner) and freed on another (a worker) flow back
// instead of piling up in the freeing thread. Blocks stay here until the process exits.
class CentralFreeList {
 public:
  static CentralFreeList& instance() {
#if defined(_WIN32)
    // Immortal on Windows: a thread's pool is handed back by a fiber-local-storage callback
    // (see this_thread_frame_pool), which may run during process exit after static destructors.
    static CentralFreeList& central = *new CentralFreeList;
#else
    static CentralFreeList central;
#endif
    return central;
  }
  ~CentralFreeList() { trim(); }

  // Returns every batch to malloc (a Runtime does this when it is destroyed, after its workers
  // have exited and handed their lists here).
  void trim() {
    for (auto& cls : classes_) {
      std::vector<BlockBatch> batches;
      {
        std::lock_guard lock(cls.mu);
        batches.swap(cls.batches);
      }
      for (BlockBatch& b : batches) {
        while (b.head != nullptr) std::free(std::exchange(b.head, b.head->next));
      }
    }
  }
  void put(std::size_t c, BlockBatch batch) {
    std::lock_guard lock(classes_[c].mu);
    classes_[c].batches.push_back(batch);
  }
  bool take(std::size_t c, BlockBatch& out) {
    std::lock_guard lock(classes_[c].mu);
    if (classes_[c].batches.empty()) return false;
    out = classes_[c].batches.back();
    classes_[c].batches.pop_back();
    return true;
  }

 private:
  struct Class {
    std::mutex mu;
    std::vector<BlockBatch> batches;  // guarded by mu
  };
  Class classes_[kSizeClasses];
};

class FramePool {
 public:
  ~FramePool() {
    for (std::size_t c = 0; c < kSizeClasses; ++c) {
      if (lists_[c].count != 0) CentralFreeList::instance().put(c, lists_[c]);
    }
  }

  void* allocate(std::size_t block_size) {
#ifndef WEFT_NO_FRAME_POOL
    if (block_size <= kMaxPooledBlock) {
      const std::size_t c = block_size / kBlockAlign - 1;
      BlockBatch& list = lists_[c];
      if (list.head == nullptr) CentralFreeList::instance().take(c, list);
      if (FreeBlock* b = list.head) {
        list.head = b->next;
        if (--list.count == 0) list.tail = nullptr;
        return b;
      }
    }
#endif
    void* p = std::malloc(block_size);  // glibc: 16-byte aligned, as kBlockAlign needs
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }

  void free(void* block, [[maybe_unused]] std::size_t block_size) noexcept {
#ifndef WEFT_NO_FRAME_POOL
    if (block_size <= kMaxPooledBlock) {
      const std::size_t c = block_size / kBlockAlign - 1;
      BlockBatch& list = lists_[c];
      if (list.count == 2 * kBatch) {
        // Hand the older half (from the tail end) to the central list.
        BlockBatch moved;
        FreeBlock* cut = list.head;
        for (std::size_t i = 1; i < kBatch; ++i) cut = cut->next;
        moved.head = cut->next;
        moved.tail = list.tail;
        moved.count = kBatch;
        cut->next = nullptr;
        list.tail = cut;
        list.count = kBatch;
        CentralFreeList::instance().put(c, moved);
      }
      auto* b = ::new (block) FreeBlock{list.head};
      list.head = b;
      if (list.count++ == 0) list.tail = b;
      return;
    }
#endif
    std::free(block);
  }

 private:
  BlockBatch lists_[kSizeClasses];
};

#if defined(_WIN32)
// A new FramePool for this thread, deleted (its lists handed to the central list) when the thread
// exits, by a fiber-local-storage callback (runtime/src/task_frame_pool_win.cpp).
FramePool* adopt_thread_frame_pool();
#endif

inline FramePool& this_thread_frame_pool() {
#if defined(_WIN32)
  // Not a thread_local FramePool: mingw-w64's emulated TLS can free a thread_local's storage
  // before its destructor runs, and the destructor then handed freed memory to the central list
  // as free blocks (a crash in trim() under Wine, 2 runs in 4 of SpawnJoinTest's eight outside
  // threads at mutex_mt4). A trivially destructible pointer, and a heap pool that FLS releases.
  thread_local FramePool* pool = nullptr;
  if (pool == nullptr) pool = adopt_thread_frame_pool();
  return *pool;
#else
  thread_local FramePool pool;
  return pool;
#endif
}

inline std::size_t block_size_for(std::size_t frame_size) {
  return (sizeof(TaskHeader) + frame_size + kBlockAlign - 1) & ~(kBlockAlign - 1);
}

// Promise operator new: a block with a dormant header in front of the frame.
inline void* allocate_frame(std::size_t frame_size) {
  const std::size_t block_size = block_size_for(frame_size);
  void* block = this_thread_frame_pool().allocate(block_size);
  auto* header = ::new (block) TaskHeader(block_size);
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
