/* A million poll-function tasks spawned from a root task, each counted exactly once, and the
 * root joins every one of them through mt_join_poll (so it is woken by the last of each batch
 * it waits for). Every state's destructor runs once. */
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

enum { kTasks = 1000000 };

static atomic_long polled;
static atomic_long dropped;

static MtPoll leaf_poll(void* state, MtContext* cx) {
  atomic_fetch_add_explicit(&polled, 1, memory_order_relaxed);
  mt_context_set_output(cx, state); /* the index, given back through the join handle */
  return MT_READY;
}

static void leaf_drop(void* state) {
  (void)state;
  atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
}

typedef struct Root {
  MtRuntime* rt;
  MtJoinHandle** handles;
  long spawned;
  long joined;
  long wrong_outputs;
} Root;

static MtPoll root_poll(void* state, MtContext* cx) {
  Root* r = state;
  while (r->spawned < kTasks) {
    r->handles[r->spawned] =
        mt_runtime_spawn(r->rt, (void*)(intptr_t)r->spawned, leaf_poll, leaf_drop);
    CHECK(r->handles[r->spawned] != NULL);
    ++r->spawned;
  }
  while (r->joined < kTasks) {
    MtStatus status = MT_ERR_INTERNAL;
    void* out = NULL;
    if (mt_join_poll(r->handles[r->joined], cx, &status, &out) == MT_PENDING) return MT_PENDING;
    CHECK(status == MT_OK);
    if ((intptr_t)out != r->joined) ++r->wrong_outputs;
    mt_join_detach(r->handles[r->joined]);
    ++r->joined;
  }
  return MT_READY;
}

int main(int argc, char** argv) {
  MtRuntime* rt = runtime_from_args(argc, argv);
  Root root = {rt, malloc(sizeof(MtJoinHandle*) * kTasks), 0, 0, 0};
  CHECK(root.handles != NULL);
  CHECK(mt_runtime_block_on(rt, &root, root_poll, NULL, NULL) == MT_OK);
  CHECK(root.joined == kTasks);
  CHECK(root.wrong_outputs == 0);
  CHECK(atomic_load(&polled) == kTasks);
  CHECK(atomic_load(&dropped) == kTasks);
  free(root.handles);
  CHECK(mt_runtime_destroy(rt) == MT_OK);
  printf("spawn_million %s %s: %d tasks, each polled and dropped once\n", argv[1], argv[2], kTasks);
  return 0;
}
