/* CHECK for the C ABI's tests (C11 programs, no test framework): a failed check prints where,
 * what, and mt_last_error(), and the program exits 1. */
#ifndef WEFT_TESTS_CAPI_CHECK_H_
#define WEFT_TESTS_CAPI_CHECK_H_

#include <stdio.h>
#include <stdlib.h>

#include "weft.h"

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s (mt_last_error: '%s')\n", __FILE__, __LINE__, \
              #cond, mt_last_error());                                                     \
      exit(1);                                                                             \
    }                                                                                      \
  } while (0)

/* A runtime from the command line: VARIANT WORKERS, WORKERS 0 meaning current_thread. */
static inline MtRuntime* runtime_from_args(int argc, char** argv) {
  CHECK(argc == 3);
  const long workers = strtol(argv[2], NULL, 10);
  MtRuntime* rt = workers == 0 ? mt_runtime_new_current_thread()
                               : mt_runtime_new((size_t)workers, argv[1]);
  CHECK(rt != NULL);
  return rt;
}

#endif /* WEFT_TESTS_CAPI_CHECK_H_ */
