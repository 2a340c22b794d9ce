/* flat_c.h: spawn_storm's `flat` shape written against the C ABI (weft.h), so that the cost of
 * the boundary is measured: the C++ workload (spawn_storm.cpp) runs it on the runtime the harness
 * made, through a handle that borrows it (weft_cpp.h), and the two figures compare. */
#ifndef WEFT_WORKLOADS_SPAWN_STORM_FLAT_C_H_
#define WEFT_WORKLOADS_SPAWN_STORM_FLAT_C_H_

#include <stddef.h>
#include <stdint.h>

#include "weft.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks the calling thread (not a task's: mt_runtime_block_on) while a root poll-function task
 * on `rt` spawns `tasks` trivial poll-function tasks, detaching each join handle, and completes
 * when every one of them has counted down a shared counter: `flat` in spawn_storm.cpp, task for
 * task. MT_OK, or the first error, its mt_last_error() text (which is per thread, and the root
 * runs on a worker) copied into error[0..error_len). */
MtStatus spawn_storm_flat_c(MtRuntime* rt, int64_t tasks, char* error, size_t error_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_WORKLOADS_SPAWN_STORM_FLAT_C_H_ */
