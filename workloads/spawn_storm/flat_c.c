/* spawn_storm's `flat` through the C ABI (flat_c.h). It mirrors `flat` in spawn_storm.cpp: one
 * root task spawns `tasks` leaves and detaches them; each leaf does one acq_rel decrement of a
 * shared counter (Countdown::count_down) and the last one wakes the root, which then completes.
 * The one difference is how the root waits: `flat` awaits a mutex-guarded event, this root
 * clones its waker once before the first spawn (a poll function has no awaiter) -- once per
 * run, not per task, so the per-task figures compare.
 *
 * Who owns the root's waker: whoever takes the counter to 0 (a leaf, or the root itself when a
 * spawn failed) wakes or drops it; nobody else touches it. Lifetimes: FlatShared lives in
 * spawn_storm_flat_c's frame, which outlives the root (block_on returns after the root
 * completes), and the root completes only once the counter is 0. A leaf reads all it needs from
 * FlatShared before its decrement, so the last one may still be in mt_waker_wake after the
 * frame is gone: the waker is its own heap object, and it holds a reference on the root task.
 *
 * Synchronization map (FlatShared.remaining):
 *   [C1] leaf: fetch_sub 1, acq_rel. The one that reaches 0 acquires every other leaf's
 *        decrement and owns the waker. Pairs with [C3] and with the other leaves' [C1].
 *   [C2] root, when spawns failed: fetch_sub of the leaves that never ran, acq_rel, as [C1].
 *   [C3] root: load, acquire. Seeing 0 completes the root. Pairs with the last [C1] or [C2].
 * root_waker is written before the first spawn and only read after: the spawn publishes it. */
#include "spawn_storm/flat_c.h"

#include <stdatomic.h>
#include <stdio.h>

typedef struct FlatShared {
  atomic_int_fast64_t remaining; /* leaves not yet run: [C1] [C2] [C3] */
  /* Written by the root before its first spawn, then only read: the spawn publishes it. */
  MtWaker* root_waker;
} FlatShared;

typedef struct FlatRoot {
  MtRuntime* rt;
  FlatShared* shared;
  int64_t tasks;
  int started;
  MtStatus status; /* the first error: written and read on the root's polls, then by the caller */
  char* error;
  size_t error_len;
} FlatRoot;

static MtPoll leaf_poll(void* state, MtContext* cx) {
  (void)cx;
  FlatShared* shared = state;
  MtWaker* root_waker = shared->root_waker; /* read first: after the last [C1], `shared` goes */
  /* [C1] acq_rel: the last decrement owns the waker. Pairs with [C3]. */
  if (atomic_fetch_sub_explicit(&shared->remaining, 1, memory_order_acq_rel) == 1) {
    mt_waker_wake(root_waker);
  }
  return MT_READY;
}

static void record_error(FlatRoot* root, MtStatus status) {
  if (root->status != MT_OK) return;
  root->status = status;
  if (root->error_len > 0) snprintf(root->error, root->error_len, "%s", mt_last_error());
}

/* The first poll spawns every leaf; any poll completes once the counter is 0. */
static MtPoll root_poll(void* state, MtContext* cx) {
  FlatRoot* root = state;
  FlatShared* shared = root->shared;
  if (!root->started) {
    root->started = 1;
    if (root->tasks == 0) return MT_READY;
    shared->root_waker = mt_waker_clone(mt_context_waker(cx));
    if (shared->root_waker == NULL) {
      record_error(root, MT_ERR_RESOURCE);
      return MT_READY; /* nothing spawned */
    }
    int64_t spawned = 0;
    for (; spawned < root->tasks; ++spawned) {
      const MtStatus s = mt_runtime_spawn_detached(root->rt, shared, leaf_poll, NULL);
      if (s != MT_OK) {
        record_error(root, s);
        break;
      }
    }
    const int64_t never = root->tasks - spawned;
    /* [C2] acq_rel, for the leaves that will never run: taking the counter to 0 here makes the
     * root the waker's owner. */
    if (never > 0 &&
        atomic_fetch_sub_explicit(&shared->remaining, never, memory_order_acq_rel) == never) {
      mt_waker_drop(shared->root_waker);
      return MT_READY;
    }
  }
  /* [C3] acquire. Pairs with the decrement that reached 0 ([C1] or [C2]). */
  return atomic_load_explicit(&shared->remaining, memory_order_acquire) == 0 ? MT_READY
                                                                             : MT_PENDING;
}

MtStatus spawn_storm_flat_c(MtRuntime* rt, int64_t tasks, char* error, size_t error_len) {
  if (error_len > 0) error[0] = '\0';
  FlatShared shared = {.root_waker = NULL};
  atomic_init(&shared.remaining, tasks);
  FlatRoot root = {.rt = rt,
                   .shared = &shared,
                   .tasks = tasks,
                   .status = MT_OK,
                   .error = error,
                   .error_len = error_len};
  const MtStatus status = mt_runtime_block_on(rt, &root, root_poll, NULL, NULL);
  if (status != MT_OK) {
    if (error_len > 0) snprintf(error, error_len, "%s", mt_last_error());
    return status;
  }
  return root.status;
}
