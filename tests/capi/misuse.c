/* Misuse of the C ABI gets an error code and a message, never a crash: bad arguments, NULL
 * handles, a runtime blocked on, shut down or destroyed from inside its own task, a spawn after
 * shutdown, a join handle polled after its output was taken. */
#include <stdatomic.h>
#include <string.h>

#include "check.h"

static atomic_int drops;
static void count_drop(void* state) {
  (void)state;
  atomic_fetch_add(&drops, 1);
}
static MtPoll ready_poll(void* state, MtContext* cx) {
  mt_context_set_output(cx, state);
  return MT_READY;
}

static int contains(const char* haystack, const char* needle) {
  return strstr(haystack, needle) != NULL;
}

/* Inside a task of `rt`: what the runtime must refuse there. */
static MtPoll misuse_inside_poll(void* state, MtContext* cx) {
  (void)cx;
  MtRuntime* rt = state;
  CHECK(mt_runtime_block_on(rt, NULL, ready_poll, NULL, NULL) == MT_ERR_MISUSE);
  CHECK(contains(mt_last_error(), "block_on"));
  CHECK(mt_runtime_destroy(rt) == MT_ERR_MISUSE);
  CHECK(contains(mt_last_error(), "inside a task"));
  CHECK(mt_runtime_shutdown(rt, 1000) == MT_ERR_MISUSE);
  CHECK(contains(mt_last_error(), "own tasks"));
  return MT_READY;
}

/* Joins a task and polls its handle again after the output was taken. */
typedef struct Twice {
  MtJoinHandle* h;
} Twice;
static MtPoll join_twice_poll(void* state, MtContext* cx) {
  Twice* t = state;
  MtStatus st = MT_ERR_INTERNAL;
  void* out = NULL;
  if (mt_join_poll(t->h, cx, &st, &out) == MT_PENDING) return MT_PENDING;
  CHECK(st == MT_OK && out == (void*)t);
  CHECK(mt_join_poll(t->h, cx, &st, &out) == MT_READY);
  CHECK(st == MT_ERR_ALREADY_TAKEN);
  CHECK(mt_join_poll(NULL, cx, &st, NULL) == MT_READY && st == MT_ERR_INVALID_ARGUMENT);
  CHECK(mt_join_poll(t->h, NULL, &st, NULL) == MT_READY && st == MT_ERR_INVALID_ARGUMENT);
  mt_join_detach(t->h);
  return MT_READY;
}

int main(int argc, char** argv) {
  /* Bad arguments to the constructors. */
  CHECK(mt_runtime_new(0, "ring") == NULL);
  CHECK(contains(mt_last_error(), "0"));
  CHECK(mt_runtime_new(2, "no_such_variant") == NULL);
  CHECK(contains(mt_last_error(), "no_such_variant"));
  CHECK(strcmp(mt_status_name(MT_ERR_SHUTDOWN), "MT_ERR_SHUTDOWN") == 0);

  /* NULL handles: an error, and the state's destructor still runs once. */
  CHECK(mt_runtime_spawn(NULL, NULL, ready_poll, count_drop) == NULL);
  CHECK(contains(mt_last_error(), "NULL runtime"));
  CHECK(atomic_load(&drops) == 1);
  CHECK(mt_runtime_block_on(NULL, NULL, ready_poll, count_drop, NULL) == MT_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&drops) == 2);
  CHECK(mt_runtime_shutdown(NULL, 0) == MT_ERR_INVALID_ARGUMENT);
  CHECK(mt_runtime_destroy(NULL) == MT_ERR_INVALID_ARGUMENT);
  CHECK(mt_join_abort(NULL) == MT_ERR_INVALID_ARGUMENT);
  CHECK(mt_waker_clone(NULL) == NULL);
  mt_waker_wake(NULL);
  mt_waker_wake_by_ref(NULL);
  mt_waker_drop(NULL);
  mt_join_detach(NULL);
  CHECK(mt_context_waker(NULL) == NULL);

  /* Operations: NULL handles, a call that needs a task made outside one, mismatched queues. */
  MtOpResult r;
  CHECK(mt_op_poll(NULL, NULL, &r) == MT_READY && r.status == MT_ERR_INVALID_ARGUMENT);
  CHECK(mt_op_poll(NULL, NULL, NULL) == MT_READY);
  mt_op_drop(NULL);
  CHECK(async_channel_send(NULL, NULL) == NULL && async_channel_recv(NULL) == NULL);
  CHECK(async_channel_close(NULL) == MT_ERR_INVALID_ARGUMENT);
  CHECK(async_mutex_lock(NULL) == NULL && async_mutex_unlock(NULL) == MT_ERR_INVALID_ARGUMENT);
  CHECK(async_tcp_accept(NULL) == NULL && async_read(NULL, NULL, 0) == NULL);
  CHECK(async_write(NULL, NULL, 0) == NULL && async_tcp_shutdown_write(NULL) == MT_ERR_INVALID_ARGUMENT);
  CHECK(async_tcp_connect("not an address") == NULL);
  MtTcpListener* listener = NULL;
  CHECK(async_tcp_bind("127.0.0.1:0", &listener) == MT_ERR_MISUSE && listener == NULL);
  CHECK(contains(mt_last_error(), "outside"));
  mt_tcp_close(NULL);
  mt_tcp_listener_close(NULL);
  MtQueue* ring = mt_queue_create("ring");
  MtQueue* bwos = mt_queue_create("bwos");
  void* item = NULL;
  CHECK(mt_queue_steal(ring, bwos, &item) == MT_ERR_INVALID_ARGUMENT);
  CHECK(mt_queue_steal(ring, ring, &item) == MT_ERR_MISUSE);
  CHECK(mt_queue_try_pop(NULL, &item) == MT_ERR_INVALID_ARGUMENT);
  mt_queue_destroy(ring);
  mt_queue_destroy(bwos);
  mt_queue_destroy(NULL);

  MtRuntime* rt = runtime_from_args(argc, argv);
  CHECK(mt_runtime_spawn(rt, NULL, NULL, count_drop) == NULL);
  CHECK(contains(mt_last_error(), "NULL poll function"));
  CHECK(atomic_load(&drops) == 3);

  /* From inside its own task: refused, and the runtime works on. */
  CHECK(mt_runtime_block_on(rt, rt, misuse_inside_poll, NULL, NULL) == MT_OK);
  Twice twice = {NULL};
  twice.h = mt_runtime_spawn(rt, &twice, ready_poll, NULL);
  CHECK(twice.h != NULL);
  CHECK(mt_runtime_block_on(rt, &twice, join_twice_poll, NULL, NULL) == MT_OK);

  /* A detached task's state is freed once, whether it ran (workers) or shutdown dropped it
   * (current_thread: nothing ran it outside block_on). */
  CHECK(mt_runtime_spawn_detached(rt, NULL, ready_poll, count_drop) == MT_OK);
  CHECK(mt_runtime_spawn_detached(NULL, NULL, ready_poll, count_drop) == MT_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&drops) >= 4 && atomic_load(&drops) <= 5);

  /* After shutdown: nothing new runs, and the states are freed. */
  CHECK(mt_runtime_shutdown(rt, 1000) == MT_OK);
  CHECK(atomic_load(&drops) == 5);
  CHECK(mt_runtime_shutdown(rt, 1000) == MT_OK);
  CHECK(mt_runtime_spawn(rt, NULL, ready_poll, count_drop) == NULL);
  CHECK(contains(mt_last_error(), "shut down"));
  CHECK(mt_runtime_spawn_detached(rt, NULL, ready_poll, count_drop) == MT_ERR_SHUTDOWN);
  CHECK(mt_runtime_block_on(rt, NULL, ready_poll, count_drop, NULL) == MT_ERR_SHUTDOWN);
  CHECK(atomic_load(&drops) == 8);
  CHECK(mt_runtime_destroy(rt) == MT_OK);
  printf("misuse %s %s: every misuse refused with its code\n", argv[1], argv[2]);
  return 0;
}
