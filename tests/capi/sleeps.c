/* Sleeps that fire in order: 40 tasks sleep until deadlines 5 ms apart, spawned in a shuffled
 * order; none wakes early, and they wake in the deadlines' order (checked between deadlines 50
 * ms apart: a task woken on time can still wait its turn to run behind others on a busy
 * machine, and wakes due in the same turn of the wheel run in the scheduler's order). Also: a sleep dropped while armed never fires (its
 * task completes, nothing left in the wheel to touch freed memory), and mt_sleep_reset moves a
 * deadline. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { kSleepers = 40, kSpacingMs = 5, kOrderGapMs = 50 };

static MtRuntime* rt;
static atomic_int fired;
static int order[kSleepers]; /* order[k]: the k-th to wake */

typedef struct Sleeper {
  int index;
  uint64_t deadline;
  MtOp* sleep;
} Sleeper;

static MtPoll sleeper_poll(void* state, MtContext* cx) {
  Sleeper* s = state;
  if (s->sleep == NULL) s->sleep = mt_sleep_until(s->deadline);
  CHECK(s->sleep != NULL);
  MtOpResult r;
  if (mt_op_poll(s->sleep, cx, &r) == MT_PENDING) return MT_PENDING;
  CHECK(r.status == MT_OK);
  CHECK(mt_now_ns() >= s->deadline); /* never early */
  order[atomic_fetch_add(&fired, 1)] = s->index;
  return MT_READY;
}

static void sleeper_drop(void* state) {
  Sleeper* s = state;
  mt_op_drop(s->sleep);
  free(s);
}

typedef struct Root {
  int step;
  MtJoinHandle* sleepers[kSleepers];
  int joined;
  MtOp* op;
  uint64_t reset_to;
} Root;

static MtPoll root_poll(void* state, MtContext* cx) {
  Root* root = state;
  MtOpResult r;
  for (;;) {
    switch (root->step) {
      case 0: {
        const uint64_t base = mt_now_ns() + 20 * 1000000ull;
        for (int k = 0; k < kSleepers; ++k) {
          const int i = (k * 17) % kSleepers; /* 17 is prime to 40: a permutation */
          Sleeper* s = calloc(1, sizeof *s);
          CHECK(s != NULL);
          s->index = i;
          s->deadline = base + (uint64_t)i * kSpacingMs * 1000000ull;
          root->sleepers[k] = mt_runtime_spawn(rt, s, sleeper_poll, sleeper_drop);
          CHECK(root->sleepers[k] != NULL);
        }
        root->step = 1;
        break;
      }
      case 1:
        while (root->joined < kSleepers) {
          MtStatus st;
          if (mt_join_poll(root->sleepers[root->joined], cx, &st, NULL) == MT_PENDING)
            return MT_PENDING;
          CHECK(st == MT_OK);
          mt_join_detach(root->sleepers[root->joined++]);
        }
        root->step = 2;
        break;
      case 2: /* an armed sleep dropped: cancelled */
        root->op = mt_sleep(1);
        CHECK(mt_op_poll(root->op, cx, &r) == MT_PENDING);
        mt_op_drop(root->op);
        /* a sleep of an hour, reset to 2 ms from now: fires after those 2 ms */
        root->op = mt_sleep(3600 * 1000);
        CHECK(mt_op_poll(root->op, cx, &r) == MT_PENDING);
        root->reset_to = mt_now_ns() + 2 * 1000000ull;
        CHECK(mt_sleep_reset(root->op, root->reset_to) == MT_OK);
        root->step = 3;
        break;
      case 3:
        if (mt_op_poll(root->op, cx, &r) == MT_PENDING) return MT_PENDING;
        CHECK(r.status == MT_OK && mt_now_ns() >= root->reset_to);
        mt_op_drop(root->op);
        return MT_READY;
    }
  }
}

int main(int argc, char** argv) {
  rt = runtime_from_args(argc, argv);
  CHECK(mt_sleep_reset(NULL, 0) == MT_ERR_INVALID_ARGUMENT);
  Root root;
  memset(&root, 0, sizeof root);
  CHECK(mt_runtime_block_on(rt, &root, root_poll, NULL, NULL) == MT_OK);
  CHECK(atomic_load(&fired) == kSleepers);
  int position[kSleepers];
  for (int k = 0; k < kSleepers; ++k) position[order[k]] = k;
  const int gap = kOrderGapMs / kSpacingMs;
  for (int i = 0; i + gap < kSleepers; ++i) CHECK(position[i] < position[i + gap]);
  CHECK(mt_runtime_destroy(rt) == MT_OK);
  printf("sleeps %s %s: %d sleeps woke in deadline order (checked %d apart), none early\n",
         argv[1], argv[2], kSleepers, gap);
  return 0;
}
