/* Wakers and join handles across C state machines: one-shot hand-offs between producer and
 * consumer tasks (the consumer stores a cloned waker, the producer wakes it from wherever it
 * runs), a task that re-polls itself with mt_waker_wake_by_ref, and an aborted task whose
 * destructor runs and whose join handle says MT_ERR_CANCELLED. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"

enum { kPairs = 20000, kSelfWakes = 100 };

/* --- one-shot hand-off --------------------------------------------------------------------- */

typedef struct Slot {
  atomic_bool ready;
  _Atomic(MtWaker*) waiter; /* owned by the slot while stored */
} Slot;

static MtPoll consumer_poll(void* state, MtContext* cx) {
  Slot* s = state;
  if (atomic_load(&s->ready)) return MT_READY;
  MtWaker* mine = mt_waker_clone(mt_context_waker(cx));
  CHECK(mine != NULL);
  mt_waker_drop(atomic_exchange(&s->waiter, mine));
  /* The producer may have set ready before the store: look again, or its wake was spent; and
   * then take the waker back (unless the producer took it first), so the slot keeps none. */
  if (!atomic_load(&s->ready)) return MT_PENDING;
  mt_waker_drop(atomic_exchange(&s->waiter, NULL));
  return MT_READY;
}

static MtPoll producer_poll(void* state, MtContext* cx) {
  (void)cx;
  Slot* s = state;
  atomic_store(&s->ready, true);
  MtWaker* waiter = atomic_exchange(&s->waiter, NULL);
  if (waiter != NULL) mt_waker_wake(waiter);
  return MT_READY;
}

/* --- a task that wakes itself ------------------------------------------------------------ */

typedef struct SelfWaker {
  int polls;
} SelfWaker;

static MtPoll self_waker_poll(void* state, MtContext* cx) {
  SelfWaker* s = state;
  if (++s->polls > kSelfWakes) return MT_READY;
  mt_waker_wake_by_ref(mt_context_waker(cx)); /* while this poll still runs */
  return MT_PENDING;
}

/* --- a task that never completes, aborted ------------------------------------------------ */

static atomic_int forever_dropped;
static MtPoll forever_poll(void* state, MtContext* cx) {
  (void)state;
  (void)cx;
  return MT_PENDING; /* and keeps no waker: only an abort ends it */
}
static void forever_drop(void* state) {
  (void)state;
  atomic_fetch_add(&forever_dropped, 1);
}

/* --- the root ---------------------------------------------------------------------------- */

typedef struct Root {
  MtRuntime* rt;
  int stage;
  Slot* slots;
  MtJoinHandle** consumers;
  long joined;
  SelfWaker self;
  MtJoinHandle* self_waker;
  MtJoinHandle* forever;
} Root;

static MtPoll root_poll(void* state, MtContext* cx) {
  Root* r = state;
  MtStatus status = MT_ERR_INTERNAL;
  switch (r->stage) {
    case 0:
      for (long i = 0; i < kPairs; ++i) {
        r->consumers[i] = mt_runtime_spawn(r->rt, &r->slots[i], consumer_poll, NULL);
        CHECK(r->consumers[i] != NULL);
      }
      for (long i = 0; i < kPairs; ++i) {
        mt_join_detach(mt_runtime_spawn(r->rt, &r->slots[i], producer_poll, NULL));
      }
      r->stage = 1;
      /* fall through */
    case 1:
      while (r->joined < kPairs) {
        if (mt_join_poll(r->consumers[r->joined], cx, &status, NULL) == MT_PENDING) {
          return MT_PENDING;
        }
        CHECK(status == MT_OK);
        mt_join_detach(r->consumers[r->joined++]);
      }
      r->self_waker = mt_runtime_spawn(r->rt, &r->self, self_waker_poll, NULL);
      r->stage = 2;
      /* fall through */
    case 2: {
      if (mt_join_poll(r->self_waker, cx, &status, NULL) == MT_PENDING) return MT_PENDING;
      CHECK(status == MT_OK);
      mt_join_detach(r->self_waker);
      r->forever = mt_runtime_spawn(r->rt, NULL, forever_poll, forever_drop);
      CHECK(r->forever != NULL);
      CHECK(mt_join_abort(r->forever) == MT_OK);
      r->stage = 3;
    }
      /* fall through */
    case 3:
      if (mt_join_poll(r->forever, cx, &status, NULL) == MT_PENDING) return MT_PENDING;
      CHECK(status == MT_ERR_CANCELLED);
      mt_join_detach(r->forever);
      return MT_READY;
  }
  CHECK(!"unreachable");
  return MT_READY;
}

int main(int argc, char** argv) {
  MtRuntime* rt = runtime_from_args(argc, argv);
  Root root = {rt, 0, calloc(kPairs, sizeof(Slot)), calloc(kPairs, sizeof(MtJoinHandle*)), 0,
               {0}, NULL, NULL};
  CHECK(root.slots != NULL && root.consumers != NULL);
  CHECK(mt_runtime_block_on(rt, &root, root_poll, NULL, NULL) == MT_OK);
  CHECK(atomic_load(&forever_dropped) == 1);
  CHECK(root.self.polls == kSelfWakes + 1);
  for (long i = 0; i < kPairs; ++i) CHECK(atomic_load(&root.slots[i].waiter) == NULL);
  free(root.slots);
  free(root.consumers);
  CHECK(mt_runtime_destroy(rt) == MT_OK);
  printf("wakers %s %s: %d hand-offs, %d self-wakes, an abort\n", argv[1], argv[2], kPairs,
         kSelfWakes);
  return 0;
}
