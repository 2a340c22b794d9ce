/* The README's "From C" example, verbatim (tests/scripts/test_readme_c_example.py checks). */
#include <stdint.h>
#include <stdio.h>

#include "weft.h"

/* A leaf task: its output is its input squared. */
static MtPoll square(void* state, MtContext* cx) {
  intptr_t n = (intptr_t)state;
  mt_context_set_output(cx, (void*)(n * n));
  return MT_READY;
}

/* The root: spawns ten leaves, then joins them in order, suspending while one is not done. */
typedef struct Sum {
  MtRuntime* rt;
  MtJoinHandle* leaves[10];
  int spawned, joined;
  intptr_t total;
} Sum;

static MtPoll sum(void* state, MtContext* cx) {
  Sum* s = state;
  for (; s->spawned < 10; ++s->spawned)
    s->leaves[s->spawned] = mt_runtime_spawn(s->rt, (void*)(intptr_t)s->spawned, square, NULL);
  for (; s->joined < 10; ++s->joined) {
    MtStatus status;
    void* out;
    if (mt_join_poll(s->leaves[s->joined], cx, &status, &out) == MT_PENDING)
      return MT_PENDING; /* polled again when that leaf is done */
    if (status != MT_OK) return MT_READY;
    s->total += (intptr_t)out;
    mt_join_detach(s->leaves[s->joined]);
  }
  return MT_READY;
}

int main(void) {
  MtRuntime* rt = mt_runtime_new(2, "chase_lev");
  if (rt == NULL) {
    fprintf(stderr, "%s\n", mt_last_error());
    return 1;
  }
  Sum s = {.rt = rt};
  MtStatus st = mt_runtime_block_on(rt, &s, sum, NULL, NULL);
  printf("%s: sum of squares 0..9 = %ld\n", mt_status_name(st), (long)s.total);
  mt_runtime_destroy(rt);
  return st == MT_OK && s.total == 285 ? 0 : 1;
}
