/* A TCP echo written as hand-made state machines, the shape a compiler lowers async code to:
 * a server task accepts 100 connections and spawns an echo task for each (read, write back,
 * until end of stream); 100 client tasks connect, write 1,000 bytes in 4 writes, read the echo
 * back, check every byte, half-close, read end of stream. The root joins them all. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { kConnections = 100, kMessage = 1000, kChunk = 250 };

static MtRuntime* rt;
static char address[64];

/* --- the server side ------------------------------------------------------------------------ */

typedef struct Echo {
  MtTcpStream* stream;
  MtOp* op; /* the pending read or write */
  int writing;
  unsigned char buf[512];
  size_t echoed;
} Echo;

static MtPoll echo_poll(void* state, MtContext* cx) {
  Echo* e = state;
  for (;;) {
    if (e->op == NULL) e->op = async_read(e->stream, e->buf, sizeof e->buf);
    CHECK(e->op != NULL);
    MtOpResult r;
    if (mt_op_poll(e->op, cx, &r) == MT_PENDING) return MT_PENDING;
    mt_op_drop(e->op);
    e->op = NULL;
    CHECK(r.status == MT_OK);
    if (e->writing) {
      e->writing = 0;
      continue;
    }
    if (r.size == 0) {                   /* end of stream: done */
      mt_context_set_output(cx, (void*)(uintptr_t)e->echoed);
      return MT_READY;
    }
    e->echoed += r.size;
    e->op = async_write(e->stream, e->buf, r.size); /* copies: buf may be reused at once */
    e->writing = 1;
  }
}

static void echo_drop(void* state) {
  Echo* e = state;
  mt_op_drop(e->op);
  mt_tcp_close(e->stream);
  free(e);
}

typedef struct Server {
  MtTcpListener* listener;
  MtOp* accept;
  int accepted;
  MtJoinHandle* echoes[kConnections];
  int joined;
  size_t echoed;
} Server;

static MtPoll server_poll(void* state, MtContext* cx) {
  Server* s = state;
  while (s->accepted < kConnections) {
    if (s->accept == NULL) s->accept = async_tcp_accept(s->listener);
    CHECK(s->accept != NULL);
    MtOpResult r;
    if (mt_op_poll(s->accept, cx, &r) == MT_PENDING) return MT_PENDING;
    mt_op_drop(s->accept);
    s->accept = NULL;
    CHECK(r.status == MT_OK && r.stream != NULL);
    Echo* e = calloc(1, sizeof *e);
    CHECK(e != NULL);
    e->stream = r.stream;
    s->echoes[s->accepted] = mt_runtime_spawn(rt, e, echo_poll, echo_drop);
    CHECK(s->echoes[s->accepted] != NULL);
    ++s->accepted;
  }
  while (s->joined < kConnections) {
    MtStatus st;
    void* out;
    if (mt_join_poll(s->echoes[s->joined], cx, &st, &out) == MT_PENDING) return MT_PENDING;
    CHECK(st == MT_OK);
    s->echoed += (size_t)(uintptr_t)out;
    mt_join_detach(s->echoes[s->joined++]);
  }
  mt_context_set_output(cx, (void*)(uintptr_t)s->echoed);
  return MT_READY;
}

static void server_drop(void* state) {
  Server* s = state;
  mt_op_drop(s->accept);
  mt_tcp_listener_close(s->listener);
  free(s);
}

/* --- the client side ------------------------------------------------------------------------ */

typedef enum { kConnect, kWrite, kRead, kEof, kDone } Step;

typedef struct Client {
  int id;
  Step step;
  MtTcpStream* stream;
  MtOp* op;
  unsigned char sent[kMessage];
  unsigned char got[kMessage];
  size_t written, read;
} Client;

static MtPoll client_poll(void* state, MtContext* cx) {
  Client* c = state;
  for (;;) {
    if (c->op == NULL) {
      switch (c->step) {
        case kConnect: c->op = async_tcp_connect(address); break;
        case kWrite: c->op = async_write(c->stream, c->sent + c->written, kChunk); break;
        case kRead: c->op = async_read(c->stream, c->got + c->read, kMessage - c->read); break;
        case kEof: c->op = async_read(c->stream, c->got, sizeof c->got); break;
        case kDone: return MT_READY;
      }
      CHECK(c->op != NULL);
    }
    MtOpResult r;
    if (mt_op_poll(c->op, cx, &r) == MT_PENDING) return MT_PENDING;
    mt_op_drop(c->op);
    c->op = NULL;
    CHECK(r.status == MT_OK);
    switch (c->step) {
      case kConnect:
        c->stream = r.stream;
        c->step = kWrite;
        break;
      case kWrite:
        CHECK(r.size == kChunk);
        c->written += r.size;
        if (c->written == kMessage) c->step = kRead;
        break;
      case kRead:
        CHECK(r.size > 0);
        c->read += r.size;
        if (c->read == kMessage) {
          CHECK(memcmp(c->sent, c->got, kMessage) == 0);
          CHECK(async_tcp_shutdown_write(c->stream) == MT_OK);
          c->step = kEof;
        }
        break;
      case kEof:
        CHECK(r.size == 0);
        c->step = kDone;
        break;
      case kDone: break;
    }
  }
}

static void client_drop(void* state) {
  Client* c = state;
  mt_op_drop(c->op);
  mt_tcp_close(c->stream);
  free(c);
}

/* --- the root ------------------------------------------------------------------------------- */

typedef struct Root {
  int started;
  MtJoinHandle* server;
  MtJoinHandle* clients[kConnections];
  int joined;
  size_t echoed;
} Root;

static MtPoll root_poll(void* state, MtContext* cx) {
  Root* root = state;
  if (!root->started) {
    root->started = 1;
    Server* s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    CHECK(async_tcp_bind("127.0.0.1:0", &s->listener) == MT_OK);
    CHECK(mt_tcp_listener_address(s->listener, address, sizeof address) == MT_OK);
    root->server = mt_runtime_spawn(rt, s, server_poll, server_drop);
    CHECK(root->server != NULL);
    for (int i = 0; i < kConnections; ++i) {
      Client* c = calloc(1, sizeof *c);
      CHECK(c != NULL);
      c->id = i;
      for (int b = 0; b < kMessage; ++b) c->sent[b] = (unsigned char)(i * 31 + b * 7);
      root->clients[i] = mt_runtime_spawn(rt, c, client_poll, client_drop);
      CHECK(root->clients[i] != NULL);
    }
  }
  while (root->joined < kConnections) {
    MtStatus st;
    if (mt_join_poll(root->clients[root->joined], cx, &st, NULL) == MT_PENDING) return MT_PENDING;
    CHECK(st == MT_OK);
    mt_join_detach(root->clients[root->joined++]);
  }
  MtStatus st;
  void* out;
  if (mt_join_poll(root->server, cx, &st, &out) == MT_PENDING) return MT_PENDING;
  CHECK(st == MT_OK);
  root->echoed = (size_t)(uintptr_t)out;
  mt_join_detach(root->server);
  return MT_READY;
}

int main(int argc, char** argv) {
  rt = runtime_from_args(argc, argv);
  Root root;
  memset(&root, 0, sizeof root);
  CHECK(mt_runtime_block_on(rt, &root, root_poll, NULL, NULL) == MT_OK);
  CHECK(root.echoed == (size_t)kConnections * kMessage);
  CHECK(mt_runtime_destroy(rt) == MT_OK);
  printf("tcp_echo %s %s: %d connections, %zu bytes echoed and checked\n", argv[1], argv[2],
         kConnections, root.echoed);
  return 0;
}
