/* A channel between producer and consumer state machines, then close: 4 producers send 5,000
 * values each through a channel of capacity 16 (so senders wait), 3 consumers receive until
 * MT_ERR_CLOSED; a closer joins the producers and closes. Every value arrives exactly once,
 * each producer's values in the order sent. Then: a send after close gets its value back; a
 * receive dropped while pending loses nothing; an async mutex serialises 4 tasks x 2,000
 * increments of a plain counter (TSan checks the hand-off), and a dropped pending lock passes
 * the mutex on. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { kProducers = 4, kConsumers = 3, kPerProducer = 5000, kLockers = 4, kLocks = 2000 };

static MtRuntime* rt;
static MtChannel* ch;
static unsigned char seen[kProducers * kPerProducer];

typedef struct Producer {
  int id, next;
  MtOp* op;
} Producer;

static MtPoll producer_poll(void* state, MtContext* cx) {
  Producer* p = state;
  while (p->next < kPerProducer) {
    if (p->op == NULL) p->op = async_channel_send(ch, (void*)(uintptr_t)(p->id * kPerProducer + p->next + 1));
    CHECK(p->op != NULL);
    MtOpResult r;
    if (mt_op_poll(p->op, cx, &r) == MT_PENDING) return MT_PENDING;
    mt_op_drop(p->op);
    p->op = NULL;
    CHECK(r.status == MT_OK);
    ++p->next;
  }
  return MT_READY;
}

static void producer_drop(void* state) {
  Producer* p = state;
  mt_op_drop(p->op);
  free(p);
}

typedef struct Consumer {
  int last[kProducers]; /* the last index received from each producer, -1 before any */
  MtOp* op;
  long received;
} Consumer;

static MtPoll consumer_poll(void* state, MtContext* cx) {
  Consumer* c = state;
  for (;;) {
    if (c->op == NULL) c->op = async_channel_recv(ch);
    CHECK(c->op != NULL);
    MtOpResult r;
    if (mt_op_poll(c->op, cx, &r) == MT_PENDING) return MT_PENDING;
    mt_op_drop(c->op);
    c->op = NULL;
    if (r.status == MT_ERR_CLOSED) {
      mt_context_set_output(cx, (void*)(uintptr_t)c->received);
      return MT_READY;
    }
    CHECK(r.status == MT_OK);
    const long v = (long)(uintptr_t)r.value - 1;
    CHECK(v >= 0 && v < kProducers * kPerProducer);
    CHECK(seen[v] == 0); /* each value once: only this consumer touches seen[v] */
    seen[v] = 1;
    const int producer = (int)(v / kPerProducer), index = (int)(v % kPerProducer);
    CHECK(index > c->last[producer]); /* a producer's values in the order sent */
    c->last[producer] = index;
    ++c->received;
  }
}

static void consumer_drop(void* state) {
  Consumer* c = state;
  mt_op_drop(c->op);
  free(c);
}

/* --- the mutex ------------------------------------------------------------------------------ */

static MtMutex* mutex;
static long counter; /* plain: only the mutex's holder touches it */

typedef struct Locker {
  int done, holding;
  MtOp* op;
} Locker;

static MtPoll locker_poll(void* state, MtContext* cx) {
  Locker* l = state;
  while (l->done < kLocks) {
    if (!l->holding) {
      if (l->op == NULL) l->op = async_mutex_lock(mutex);
      CHECK(l->op != NULL);
      MtOpResult r;
      if (mt_op_poll(l->op, cx, &r) == MT_PENDING) return MT_PENDING;
      CHECK(r.status == MT_OK);
      mt_op_drop(l->op);
      l->op = NULL;
      l->holding = 1;
      if (l->done % 100 == 0) { /* now and then, hold it across a yield */
        mt_waker_wake_by_ref(mt_context_waker(cx));
        return MT_PENDING;
      }
    }
    ++counter;
    l->holding = 0;
    CHECK(async_mutex_unlock(mutex) == MT_OK);
    ++l->done;
  }
  return MT_READY;
}

static void locker_drop(void* state) {
  Locker* l = state;
  mt_op_drop(l->op);
  free(l);
}

/* --- the root ------------------------------------------------------------------------------- */

typedef struct Root {
  int step;
  MtJoinHandle* producers[kProducers];
  MtJoinHandle* consumers[kConsumers];
  MtJoinHandle* lockers[kLockers];
  int joined;
  long received;
  MtOp* op;
} Root;

static MtJoinHandle* spawn_checked(void* state, MtPollFn poll, MtDropFn drop) {
  CHECK(state != NULL);
  MtJoinHandle* h = mt_runtime_spawn(rt, state, poll, drop);
  CHECK(h != NULL);
  return h;
}

/* Joins handles[joined..n); MT_PENDING until all are done; sums their outputs into *sum. */
static int join_all(MtJoinHandle** handles, int n, int* joined, long* sum, MtContext* cx) {
  while (*joined < n) {
    MtStatus st;
    void* out;
    if (mt_join_poll(handles[*joined], cx, &st, &out) == MT_PENDING) return 0;
    CHECK(st == MT_OK);
    if (sum != NULL) *sum += (long)(uintptr_t)out;
    mt_join_detach(handles[(*joined)++]);
  }
  *joined = 0;
  return 1;
}

static MtPoll root_poll(void* state, MtContext* cx) {
  Root* root = state;
  MtOpResult r;
  for (;;) {
    switch (root->step) {
      case 0:
        for (int i = 0; i < kProducers; ++i) {
          Producer* p = calloc(1, sizeof *p);
          if (p != NULL) p->id = i;
          root->producers[i] = spawn_checked(p, producer_poll, producer_drop);
        }
        for (int i = 0; i < kConsumers; ++i) {
          Consumer* c = calloc(1, sizeof *c);
          if (c != NULL) memset(c->last, 0xff, sizeof c->last); /* -1 */
          root->consumers[i] = spawn_checked(c, consumer_poll, consumer_drop);
        }
        root->step = 1;
        break;
      case 1: /* the producers are done: close, then the consumers drain and stop */
        if (!join_all(root->producers, kProducers, &root->joined, NULL, cx)) return MT_PENDING;
        CHECK(async_channel_close(ch) == MT_OK);
        root->step = 2;
        break;
      case 2:
        if (!join_all(root->consumers, kConsumers, &root->joined, &root->received, cx))
          return MT_PENDING;
        root->step = 3;
        break;
      case 3: /* after close: a send is refused with its value back; a receive says closed */
        root->op = async_channel_send(ch, (void*)(uintptr_t)7);
        CHECK(mt_op_poll(root->op, cx, &r) == MT_READY);
        CHECK(r.status == MT_ERR_CLOSED && r.value == (void*)(uintptr_t)7);
        mt_op_drop(root->op);
        root->op = async_channel_recv(ch);
        CHECK(mt_op_poll(root->op, cx, &r) == MT_READY && r.status == MT_ERR_CLOSED);
        CHECK(mt_op_poll(root->op, cx, &r) == MT_READY && r.status == MT_ERR_ALREADY_TAKEN);
        mt_op_drop(root->op);
        root->op = NULL;
        root->step = 4;
        break;
      case 4: { /* a receive dropped while pending: the value sent next is not lost */
        MtChannel* other = async_channel_new(1);
        CHECK(other != NULL);
        MtOp* recv = async_channel_recv(other);
        CHECK(mt_op_poll(recv, cx, &r) == MT_PENDING);
        mt_op_drop(recv);
        MtOp* send = async_channel_send(other, (void*)(uintptr_t)42);
        CHECK(mt_op_poll(send, cx, &r) == MT_READY && r.status == MT_OK);
        mt_op_drop(send);
        void* v = NULL;
        CHECK(async_channel_try_recv(other, &v) == MT_OK && v == (void*)(uintptr_t)42);
        CHECK(async_channel_try_recv(other, &v) == MT_ERR_EMPTY);
        async_channel_destroy(other);
        root->step = 5;
        break;
      }
      case 5: { /* the mutex: a pending lock dropped passes nothing on wrongly */
        MtOp* first = async_mutex_lock(mutex);
        CHECK(mt_op_poll(first, cx, &r) == MT_READY && r.status == MT_OK);
        MtOp* second = async_mutex_lock(mutex);
        CHECK(mt_op_poll(second, cx, &r) == MT_PENDING);
        mt_op_drop(second); /* queued: unlinked */
        mt_op_drop(first);  /* a done lock op: the mutex stays held until unlocked */
        CHECK(async_mutex_unlock(mutex) == MT_OK);
        CHECK(async_mutex_unlock(mutex) == MT_ERR_MISUSE);
        for (int i = 0; i < kLockers; ++i) {
          root->lockers[i] = spawn_checked(calloc(1, sizeof(Locker)), locker_poll, locker_drop);
        }
        root->step = 6;
        break;
      }
      case 6:
        if (!join_all(root->lockers, kLockers, &root->joined, NULL, cx)) return MT_PENDING;
        return MT_READY;
    }
  }
}

int main(int argc, char** argv) {
  rt = runtime_from_args(argc, argv);
  ch = async_channel_new(16);
  mutex = async_mutex_new();
  CHECK(ch != NULL && mutex != NULL);
  CHECK(async_channel_new(0) == NULL);
  Root root;
  memset(&root, 0, sizeof root);
  CHECK(mt_runtime_block_on(rt, &root, root_poll, NULL, NULL) == MT_OK);
  CHECK(root.received == (long)kProducers * kPerProducer);
  for (int v = 0; v < kProducers * kPerProducer; ++v) CHECK(seen[v] == 1);
  CHECK(counter == (long)kLockers * kLocks);
  async_channel_destroy(ch);
  async_mutex_destroy(mutex);
  CHECK(mt_runtime_destroy(rt) == MT_OK);
  printf("channel %s %s: %ld values each received once in order; %ld locked increments\n",
         argv[1], argv[2], root.received, counter);
  return 0;
}
