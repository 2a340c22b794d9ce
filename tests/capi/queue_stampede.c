/* mt_queue without a runtime: 4 threads, each owning a queue of the variant named, push 20,000
 * items each into their own queue (past a bounded queue's capacity: it spills to its overflow)
 * and 5,000 into the next thread's (a foreign push), then pop their own and steal from the
 * others until every item is taken: each exactly once. Then a blocked mt_queue_pop is woken by
 * another thread's push, and times out with nothing to take. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"

enum { kThreads = 4, kOwn = 20000, kForeign = 5000 };
enum { kTotal = kThreads * (kOwn + kForeign) };

static const char* variant;
static MtQueue* queues[kThreads];
static atomic_int created;
static atomic_int pushed_done;
static atomic_long taken;
static atomic_uchar seen[kTotal];

static void take(void* item) {
  const long v = (long)(uintptr_t)item - 1;
  CHECK(v >= 0 && v < kTotal);
  CHECK(atomic_fetch_add(&seen[v], 1) == 0);
  atomic_fetch_add(&taken, 1);
}

static void spin_until(atomic_int* counter, int value) {
  while (atomic_load(counter) < value) {
  }
}

static void* worker(void* arg) {
  const int id = (int)(intptr_t)arg;
  queues[id] = mt_queue_create(variant);
  CHECK(queues[id] != NULL);
  atomic_fetch_add(&created, 1);
  spin_until(&created, kThreads);
  MtQueue* mine = queues[id];
  MtQueue* next = queues[(id + 1) % kThreads];
  for (int i = 0; i < kOwn; ++i) {
    CHECK(mt_queue_push(mine, (void*)(uintptr_t)(id * (kOwn + kForeign) + i + 1)) == MT_OK);
    if (i < kForeign) {
      CHECK(mt_queue_push(next, (void*)(uintptr_t)(id * (kOwn + kForeign) + kOwn + i + 1)) == MT_OK);
    }
  }
  atomic_fetch_add(&pushed_done, 1);
  void* item = NULL;
  int victim = id;
  while (atomic_load(&taken) < kTotal) {
    MtStatus s = mt_queue_try_pop(mine, &item);
    if (s == MT_OK) {
      take(item);
      continue;
    }
    CHECK(s == MT_ERR_EMPTY);
    victim = (victim + 1) % kThreads;
    if (victim == id) continue;
    s = mt_queue_steal(queues[victim], mine, &item);
    if (s == MT_OK) {
      take(item);
    } else {
      CHECK(s == MT_ERR_EMPTY);
    }
  }
  return NULL;
}

/* The blocking pop: thread B pushes into A's queue after A blocked. */
static MtQueue* blocking;
static atomic_int blocked;

static void* late_pusher(void* arg) {
  (void)arg;
  spin_until(&blocked, 1);
  const struct timespec ms20 = {0, 20 * 1000 * 1000};
  nanosleep(&ms20, NULL);
  CHECK(mt_queue_push(blocking, (void*)(uintptr_t)99) == MT_OK);
  void* item = NULL;
  CHECK(mt_queue_try_pop(blocking, &item) == MT_ERR_MISUSE); /* not the owner */
  return NULL;
}

int main(int argc, char** argv) {
  CHECK(argc == 3);
  variant = argv[1];
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    CHECK(pthread_create(&threads[i], NULL, worker, (void*)(intptr_t)i) == 0);
  }
  for (int i = 0; i < kThreads; ++i) CHECK(pthread_join(threads[i], NULL) == 0);
  CHECK(atomic_load(&taken) == kTotal);
  for (int v = 0; v < kTotal; ++v) CHECK(atomic_load(&seen[v]) == 1);
  for (int i = 0; i < kThreads; ++i) mt_queue_destroy(queues[i]);

  blocking = mt_queue_create(variant);
  CHECK(blocking != NULL);
  pthread_t pusher;
  CHECK(pthread_create(&pusher, NULL, late_pusher, NULL) == 0);
  atomic_store(&blocked, 1);
  void* item = NULL;
  CHECK(mt_queue_pop(blocking, &item, 60 * 1000) == MT_OK && item == (void*)(uintptr_t)99);
  CHECK(pthread_join(pusher, NULL) == 0);
  CHECK(mt_queue_pop(blocking, &item, 10) == MT_ERR_TIMEOUT);
  CHECK(mt_queue_push(blocking, NULL) == MT_ERR_INVALID_ARGUMENT);
  mt_queue_destroy(blocking);
  CHECK(mt_queue_create("no_such_variant") == NULL);
  printf("queue_stampede %s: %d items from %d threads, each taken once; blocking pop woken\n",
         variant, kTotal, kThreads);
  return 0;
}
