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
#include <stdint.h>

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
  MT_ERR_INTERNAL = 7,         /* anything else; mt_last_error() says what */
  MT_ERR_CLOSED = 8,           /* the channel is closed (and, for a receive, drained) */
  MT_ERR_TIMEOUT = 9,          /* mt_queue_pop's timeout passed with nothing to take */
  MT_ERR_EMPTY = 10,           /* nothing to take (mt_queue_try_pop, mt_queue_steal) */
  MT_ERR_IO = 11               /* the operating system refused; MtOpResult.os_error has errno */
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

/* Spawns a task nobody joins (as spawning and detaching at once, without the join handle's
 * allocation): MT_OK, or an error as mt_runtime_spawn's, the state's destructor then run. */
MtStatus mt_runtime_spawn_detached(MtRuntime* rt, void* state, MtPollFn poll, MtDropFn drop);

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

/* --- operations: I/O, timers, sync ------------------------------------------------------- */

/* An operation (a sleep, a channel send or receive, a mutex lock, a TCP accept, connect, read
 * or write) is a handle made by its function below and driven by mt_op_poll from inside a task,
 * as Rust's poll_read is: MT_PENDING means the task's waker is registered and the task is
 * polled again when the operation can progress; MT_READY fills *result. One task polls an
 * operation. mt_op_drop releases it, done or not, from any thread: dropping a pending
 * operation is safe (a queued waiter is unlinked, a sleep leaves the timer wheel, a lock or a
 * value handed to it meanwhile is passed on, I/O in flight is cancelled by the runtime before
 * its memory goes). The objects an operation works on (channel, mutex, stream, listener) stay
 * alive while it does, even if their own handle was released first. */
typedef struct MtOp MtOp;
typedef struct MtChannel MtChannel;
typedef struct MtMutex MtMutex;
typedef struct MtTcpListener MtTcpListener;
typedef struct MtTcpStream MtTcpStream;

typedef struct MtOpResult {
  MtStatus status;     /* MT_OK, or why not */
  int os_error;        /* with MT_ERR_IO: the errno value */
  void* value;         /* a channel receive: the value; a send refused (closed): the value back */
  size_t size;         /* a read: bytes read (0 is end of stream); a write: bytes written */
  MtTcpStream* stream; /* an accept or a connect: the new stream, the caller's to close */
} MtOpResult;

/* Drives `op` (see above). Polling an operation that already gave MT_READY gives MT_READY with
 * MT_ERR_ALREADY_TAKEN. A NULL op, context or result: MT_READY with MT_ERR_INVALID_ARGUMENT
 * (in *result when it is not NULL). Errors from the runtime: MT_ERR_MISUSE outside a task,
 * MT_ERR_SHUTDOWN once its shutdown began. */
MtPoll mt_op_poll(MtOp* op, MtContext* cx, MtOpResult* result);
/* Releases an operation, pending or done. NULL is allowed. */
void mt_op_drop(MtOp* op);

/* Timers. The runtime's clock, in nanoseconds from an arbitrary start (monotonic). */
uint64_t mt_now_ns(void);
/* A sleep until mt_now_ns() reaches `deadline_ns` (timer_wheel_insert when first polled
 * pending; mt_op_drop before it fires is timer_wheel_cancel). MT_READY, MT_OK once it fired. */
MtOp* mt_sleep_until(uint64_t deadline_ns);
/* A sleep of `duration_ms` milliseconds from now. */
MtOp* mt_sleep(uint64_t duration_ms);
/* Moves a sleep's deadline (cancelling the timer if it is armed); the next poll re-arms it.
 * MT_ERR_INVALID_ARGUMENT if `op` is not a sleep. */
MtStatus mt_sleep_reset(MtOp* op, uint64_t deadline_ns);

/* Channels of pointers: FIFO, bounded (`capacity` >= 1), many senders and receivers. */
MtChannel* async_channel_new(size_t capacity);
/* Sends `value`: MT_OK once it is in the channel (waits while the channel is full);
 * MT_ERR_CLOSED if the channel was closed first, with the value back in result->value. */
MtOp* async_channel_send(MtChannel* ch, void* value);
/* Receives the oldest value (result->value); waits while empty; MT_ERR_CLOSED once the channel
 * is closed and drained. */
MtOp* async_channel_recv(MtChannel* ch);
/* Without waiting: MT_OK and *value, MT_ERR_EMPTY, or MT_ERR_CLOSED (closed and drained). */
MtStatus async_channel_try_recv(MtChannel* ch, void** value);
/* Closes: later sends are refused, waiting senders get their value back, waiting receivers get
 * MT_ERR_CLOSED once the values already sent are received. Any thread; twice is harmless. */
MtStatus async_channel_close(MtChannel* ch);
/* Releases the caller's handle (operations still pending keep the channel alive). Values still
 * in it are not freed: they are the caller's pointers (drain with async_channel_try_recv). */
void async_channel_destroy(MtChannel* ch);

/* An async mutex: waiting tasks suspend, never their thread; FIFO hand-off. */
MtMutex* async_mutex_new(void);
/* MT_READY with MT_OK once the polling task holds the mutex. */
MtOp* async_mutex_lock(MtMutex* m);
/* By the holder, from any thread: hands the mutex to the oldest waiter. MT_ERR_MISUSE if it is
 * not locked. */
MtStatus async_mutex_unlock(MtMutex* m);
/* Releases the caller's handle (pending lock operations keep the mutex alive). */
void async_mutex_destroy(MtMutex* m);

/* TCP. Addresses are "host:port" with a numeric IPv4 host or "[v6]:port"; port 0 picks one.
 * bind is called from inside a poll (MT_ERR_MISUSE elsewhere): the socket belongs to that
 * task's runtime. */
MtStatus async_tcp_bind(const char* address, MtTcpListener** listener);
/* The listener's address as "host:port" into buf (NUL-terminated); MT_ERR_INVALID_ARGUMENT if
 * `len` is too small. */
MtStatus mt_tcp_listener_address(const MtTcpListener* listener, char* buf, size_t len);
/* The next connection: result->stream. */
MtOp* async_tcp_accept(MtTcpListener* listener);
/* Connects: result->stream. */
MtOp* async_tcp_connect(const char* address);
/* Reads up to `len` bytes into `buf`; result->size 0 is the end of the stream. `buf` is written
 * only by the mt_op_poll that returns MT_READY. One read at a time per stream: a read made just
 * after a pending one was dropped may fail (MT_ERR_IO, EBUSY) until the runtime has destroyed
 * the dropped one's task; bytes the dropped read had taken from the socket are lost with it. */
MtOp* async_read(MtTcpStream* stream, void* buf, size_t len);
/* Writes all `len` bytes of `buf` (copied by this call: `buf` may be reused at once);
 * result->size == len on MT_OK. One write at a time per stream. */
MtOp* async_write(MtTcpStream* stream, const void* buf, size_t len);
/* Half-close: the peer reads end of stream; this side can still read. */
MtStatus async_tcp_shutdown_write(MtTcpStream* stream);
/* Closes (once no dropped operation still holds it). NULL is allowed. */
void mt_tcp_close(MtTcpStream* stream);
void mt_tcp_listener_close(MtTcpListener* listener);

/* --- work queues on their own ------------------------------------------------------------ */

/* One scheduler variant's work-stealing queue, without a runtime (as crossbeam-deque's Worker
 * and Stealer): the thread that creates it owns it and pushes and pops at its end; any thread
 * may push (into its overflow queue, the variant's injector) and steal. */
typedef struct MtQueue MtQueue;
/* The queue of `variant` (mutex, chase_lev, vyukov, ring, bwos; NULL: the default), owned by
 * the calling thread. NULL on error. */
MtQueue* mt_queue_create(const char* variant);
/* Frees the queue; items still in it are not freed (they are the caller's pointers). */
void mt_queue_destroy(MtQueue* q);
/* Pushes an item (not NULL). Any thread; the owner's go to its own end, other threads' to the
 * overflow queue, and wake an owner blocked in mt_queue_pop. */
MtStatus mt_queue_push(MtQueue* q, void* item);
/* The owner only (MT_ERR_MISUSE elsewhere): its next item (its own end first, then the
 * overflow), MT_ERR_EMPTY if none. */
MtStatus mt_queue_try_pop(MtQueue* q, void** item);
/* As try_pop, but waits up to `timeout_ms` for another thread's push: MT_ERR_TIMEOUT then. */
MtStatus mt_queue_pop(MtQueue* q, void** item, uint64_t timeout_ms);
/* Steals half of `victim`'s items (at most 128) into `thief` (a queue of the same variant that
 * the caller owns) and gives one of them in *item; MT_ERR_EMPTY if there was nothing. */
MtStatus mt_queue_steal(MtQueue* victim, MtQueue* thief, void** item);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_H_ */
