/* weft.h: Weft's C ABI, for code that speaks C (a compiler's generated code, another language's
 * runtime glue). A thin layer over the C++ API (weft/weft.hpp), never a second implementation.
 * C11 and C++; opaque handles; no exception crosses it.
 *
 * Tasks are poll functions, the shape a compiler lowers an async function to (as Rust's
 * Future::poll): a task is a state pointer, a poll function and a destructor for the state.
 *
 *     MtPoll poll(void* state, MtContext* cx);
 *
 * The runtime calls poll; it returns MT_READY when the task is done (its output, if any, set
 * with mt_context_set_output) or MT_PENDING after arranging to be woken: it takes the waker
 * with mt_context_waker(cx), clones it (mt_waker_clone) into whatever will complete, and that
 * wakes it (mt_waker_wake) from any thread. A woken task is polled again. A wake before poll
 * returned MT_PENDING is not lost: the task runs again once. The destructor runs once, when
 * the task completes or is dropped unfinished (aborted, or the runtime shut down).
 *
 *     MtRuntime* rt = mt_runtime_new(4, "chase_lev");
 *     void* out = NULL;
 *     MtStatus st = mt_runtime_block_on(rt, state, my_poll, my_drop, &out);
 *     mt_runtime_destroy(rt);
 *
 * Errors: functions return an MtStatus (MT_OK or an error code), or a handle that is NULL on
 * error; either way mt_last_error() names what went wrong, for this thread, until its next
 * failing call. Misuse is an error code, not a crash: a NULL handle, a spawn after shutdown,
 * destroying or blocking on a runtime from inside one of its own tasks.
 *
 * Threads: every function may be called from any thread, except that mt_context_* take the
 * context of the poll running on this thread. Handles are not synchronised: one MtJoinHandle
 * or one owned MtWaker is used by one thread at a time (as any C object).
 */
#ifndef WEFT_H_
#define WEFT_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum MtPoll { MT_PENDING = 0, MT_READY = 1 } MtPoll;

typedef enum MtStatus {
  MT_OK = 0,
  MT_ERR_INVALID_ARGUMENT = 1, /* a NULL handle or function, an unknown variant, a bad count */
  MT_ERR_SHUTDOWN = 2,         /* the runtime was shut down: nothing new runs on it */
  MT_ERR_MISUSE = 3,           /* a call its context forbids (block_on inside a task, ...) */
  MT_ERR_CANCELLED = 4,        /* the task was aborted or dropped before it completed */
  MT_ERR_ALREADY_TAKEN = 5,    /* the join handle's output was taken by an earlier poll */
  MT_ERR_RESOURCE = 6,         /* threads or memory could not be had */
  MT_ERR_INTERNAL = 7          /* anything else; mt_last_error() says what */
} MtStatus;

typedef struct MtRuntime MtRuntime;
typedef struct MtContext MtContext;
typedef struct MtWaker MtWaker;
typedef struct MtJoinHandle MtJoinHandle;

typedef MtPoll (*MtPollFn)(void* state, MtContext* cx);
typedef void (*MtDropFn)(void* state); /* may be NULL: nothing to free */

/* The message of this thread's last failed call ("" if none); valid until its next call. */
const char* mt_last_error(void);
/* A constant name for a status: "MT_OK", "MT_ERR_SHUTDOWN", ... */
const char* mt_status_name(MtStatus status);

/* --- the runtime ------------------------------------------------------------------------ */

/* A multi-threaded runtime with `num_workers` workers (1..4096) on the scheduler variant named
 * (mutex, chase_lev, vyukov, ring, bwos; NULL: the default). NULL on error. */
MtRuntime* mt_runtime_new(size_t num_workers, const char* variant);
/* A runtime that runs its tasks only inside mt_runtime_block_on, on the calling thread. */
MtRuntime* mt_runtime_new_current_thread(void);

/* Spawns a task. The join handle is the caller's: poll it for the output, or detach it. On
 * error (a NULL runtime or poll function, a runtime shut down) NULL, and the state's destructor
 * has been called: ownership of `state` always passes to the call. */
MtJoinHandle* mt_runtime_spawn(MtRuntime* rt, void* state, MtPollFn poll, MtDropFn drop);

/* Runs a task to completion on the calling thread's behalf and gives its output. Not from
 * inside a task of any runtime (MT_ERR_MISUSE). Ownership of `state` passes to the call. */
MtStatus mt_runtime_block_on(MtRuntime* rt, void* state, MtPollFn poll, MtDropFn drop,
                             void** output);

/* Stops the runtime: runs what is queued until `deadline_ms` passes, then drops the rest
 * (their destructors run). Later spawns fail with MT_ERR_SHUTDOWN. Not from one of its own
 * tasks (MT_ERR_MISUSE). A second call does nothing. */
MtStatus mt_runtime_shutdown(MtRuntime* rt, unsigned long deadline_ms);

/* Shuts down (30 s deadline) if that was not done, joins the workers and frees the runtime.
 * From inside a task (of this runtime or another): MT_ERR_MISUSE, and the runtime lives on. */
MtStatus mt_runtime_destroy(MtRuntime* rt);

/* --- inside a poll ------------------------------------------------------------------------- */

/* The running task's waker, borrowed: valid until this poll returns. Clone it to keep it. */
const MtWaker* mt_context_waker(MtContext* cx);
/* The task's output, which its join handle (or block_on) gives once poll returns MT_READY. */
void mt_context_set_output(MtContext* cx, void* output);

/* --- wakers -------------------------------------------------------------------------------- */

/* An owned copy (NULL if `waker` is NULL or memory ran out). */
MtWaker* mt_waker_clone(const MtWaker* waker);
/* Wakes the task and releases the owned waker. */
void mt_waker_wake(MtWaker* waker);
/* Wakes the task; the waker stays valid. */
void mt_waker_wake_by_ref(const MtWaker* waker);
/* Releases an owned waker without waking. NULL is allowed. */
void mt_waker_drop(MtWaker* waker);

/* --- join handles -------------------------------------------------------------------------- */

/* From inside a poll: MT_READY once the task is done, with *status MT_OK and *output its output
 * (or *status MT_ERR_CANCELLED); else MT_PENDING, and this poll's task is woken when it is done.
 * The output is given once; a later poll is MT_READY with MT_ERR_ALREADY_TAKEN. A NULL handle
 * or context: MT_READY with MT_ERR_INVALID_ARGUMENT. `output` may be NULL. */
MtPoll mt_join_poll(MtJoinHandle* handle, MtContext* cx, MtStatus* status, void** output);
/* Asks the task to stop: if it has not completed, it never runs again (its destructor runs)
 * and its join handle reports MT_ERR_CANCELLED. The handle stays the caller's. */
MtStatus mt_join_abort(MtJoinHandle* handle);
/* Releases the handle; the task runs on (or is done). NULL is allowed. */
void mt_join_detach(MtJoinHandle* handle);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_H_ */
