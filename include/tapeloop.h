/* SPDX-License-Identifier: MIT */
/* tapeloop.h -- the public API of libtapeloop: a cooperative event loop whose
 * tasks are stackful coroutines that block only through loop calls.
 *
 * Conventions.  Fallible calls return 0 (or a count) or a negative TL_E*
 * code; results go through out-parameters written only on success.  Calls
 * marked "Task." may only be made inside a task of a running loop and return
 * TL_ENOTASK elsewhere.  "May yield" means other tasks may run before the
 * call returns; nothing else ever switches tasks.  Names are copied (at most
 * TL_NAME_MAX bytes, else TL_ENAMETOOLONG; NULL means no name).  Handles are
 * opaque.  A loop and everything used with it belong to one thread.
 *
 * Cancellation.  tl_cancel(t) marks t cancelled.  If t is parked in a
 * blocking call (join, sleep, queue get/put/peek, flag/lock/cond/latch wait,
 * accept/connect/recv/send) that call returns TL_ECANCELED at once and t is
 * removed from what it waited on.  If t is runnable, the call it is in keeps
 * the result it already has (an item taken, a lock granted: nothing is lost)
 * and its next blocking call returns TL_ECANCELED.  From then on every
 * blocking call returns TL_ECANCELED without waiting and without effect,
 * except tl_queue_close, which still closes the queue.  Non-blocking calls
 * (tl_flag_set, tl_lock_release, tl_cond_notify, tl_latch_count_down,
 * tl_cancel, tl_queue_len, ...) keep working, so cleanup code can release
 * what it holds.  A task cancelled before its first step never runs; any
 * task that had been cancelled ends "cancelled" when it returns, and its
 * joiners get TL_ECANCELED.
 */
#ifndef TAPELOOP_H
#define TAPELOOP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TL_API __attribute__((visibility("default")))
#define TL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TL_API
#define TL_PRINTF(f, a)
#endif

#define TL_VERSION "0.1.0"
#define TL_NAME_MAX 64                  /* longest name, in bytes */
#define TL_STACK_DEFAULT (64 * 1024)    /* default task stack */
#define TL_STACK_MIN (16 * 1024)        /* smaller requests are rounded up */

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

/* Every code tapeloop returns: XX(name, value, message).  Codes that have
 * an errno twin use -errno, so -errno from a socket call and TL_E* never
 * collide; the rest live above the errno range. */
#define TL_ERRNO_MAP(XX)                                                     \
    XX(ECANCELED, -ECANCELED, "task was cancelled")                          \
    XX(ECLOSED, -4001, "queue is closed")                                    \
    XX(EDEADLOCK, -EDEADLK, "deadlock: tasks wait and nothing can wake them") \
    XX(EFAILED, -4002, "task failed")                                        \
    XX(ENOTASK, -4003, "must be called inside a task")                       \
    XX(ENOLOOP, -4004, "no loop on this thread to attach to")                \
    XX(EINVAL, -EINVAL, "invalid argument")                                  \
    XX(ENOMEM, -ENOMEM, "out of memory")                                     \
    XX(ENAMETOOLONG, -ENAMETOOLONG, "name longer than TL_NAME_MAX")          \
    XX(EBUSY, -EBUSY, "busy: already in use or running")                     \
    XX(EAGAIN, -EAGAIN, "resource temporarily unavailable")

enum {
#define TL__XX(n, v, s) TL_##n = (v),
    TL_ERRNO_MAP(TL__XX)
#undef TL__XX
};

/* A message for any TL_E* code and any -errno; never NULL.  Borrows. */
TL_API const char *tl_strerror(int code);
/* "TL_ECANCELED", ..., "ECONNREFUSED" for -errno, "?" if unknown. */
TL_API const char *tl_err_name(int code);

/* ------------------------------------------------------------------ */
/* Types                                                                */
/* ------------------------------------------------------------------ */

typedef struct tl_loop tl_loop;
typedef struct tl_task tl_task;
typedef struct tl_queue tl_queue;
typedef struct tl_socket tl_socket;
typedef struct tl_flag tl_flag;
typedef struct tl_lock tl_lock;
typedef struct tl_cond tl_cond;
typedef struct tl_latch tl_latch;
typedef struct tl_env tl_env;           /* the nondeterminism seam (core/env.h) */

typedef void *(*tl_task_fn)(void *arg);

/* Zero-initialised means defaults everywhere. */
typedef struct tl_options {
    size_t stack_size;      /* bytes per task stack; 0 = TL_STACK_DEFAULT */
    uint64_t seed;          /* tl_random seed; 0 = TAPELOOP_SEED, else the OS */
    const tl_env *env;      /* tapeloop's own replay and tests; NULL = real */
    const char *record;     /* record into this trace; NULL = TAPELOOP_RECORD */
} tl_options;

/* The state of a task, as tl_task_state reports it. */
typedef enum tl_task_state {
    TL_TASK_READY,          /* runnable, waiting for its turn */
    TL_TASK_RUNNING,        /* the caller of tl_task_state, in fact */
    TL_TASK_BLOCKED,        /* parked in a blocking call (see tl_wait) */
    TL_TASK_DONE,           /* returned normally */
    TL_TASK_FAILED,         /* tl_fail, or an unknown command */
    TL_TASK_CANCELLED       /* cancelled, then returned */
} tl_task_state;

/* What a blocked task waits on. */
typedef enum tl_wait_kind {
    TL_WAIT_NONE, TL_WAIT_JOIN, TL_WAIT_SLEEP, TL_WAIT_GET, TL_WAIT_PUT,
    TL_WAIT_PEEK, TL_WAIT_FLAG, TL_WAIT_LOCK, TL_WAIT_COND, TL_WAIT_LATCH,
    TL_WAIT_ACCEPT, TL_WAIT_CONNECT, TL_WAIT_RECV, TL_WAIT_SEND,
    TL_WAIT_COMMAND         /* a custom command (tl_command) */
} tl_wait_kind;

/* One blocked task, as tl_loop_waits reports it.  Pointers are borrowed
 * from the loop and valid until the loop runs or is freed. */
typedef struct tl_wait {
    const tl_task *task;        /* the blocked task */
    tl_wait_kind kind;          /* what it waits for */
    unsigned object_id;         /* the queue, socket or sync object; or the
                                   joined task's id; 0 for sleep */
    const char *object_name;    /* its name ("" if none) */
    const tl_task *target;      /* TL_WAIT_JOIN: the joined task, or the
                                   lock's owner for TL_WAIT_LOCK; else NULL */
    double until;               /* TL_WAIT_SLEEP: the deadline, tl_now() scale */
} tl_wait;

/* ------------------------------------------------------------------ */
/* Loop                                                                 */
/* ------------------------------------------------------------------ */

/* Creates a loop.  opt may be NULL.  Reads TAPELOOP_SEED from the
 * environment when opt->seed is 0, and TAPELOOP_RECORD when opt->record
 * is NULL: recording into a trace that exists already, or cannot be
 * written, prints one line naming the file and fails with TL_EINVAL or
 * -errno.  TL_ENOMEM, TL_EINVAL (stack size absurd), or the env's error. */
TL_API int tl_loop_new(tl_loop **out, const tl_options *opt);

/* Frees the loop, every task it still holds (blocked, never run, ended) and
 * their stacks, also after TL_EDEADLOCK.  Queues, sync objects and sockets
 * are the caller's to free, before or after; ones still attached are
 * detached.  NULL is a no-op.  Not while the loop runs. */
TL_API void tl_loop_free(tl_loop *loop);

/* Spawns root as task (the first run's root has id 1) and runs until no
 * task can make progress: every task has ended, or the rest wait on
 * nothing that can wake them.  Returns 0 and the root's return value in
 * *result (result may be NULL); TL_EFAILED or TL_ECANCELED if the root
 * failed or was cancelled; TL_EDEADLOCK if tasks remain blocked on queues,
 * joins or sync objects with nothing ready, no timer and no I/O pending
 * (tl_loop_waits tells on what); TL_EBUSY if a loop is already running on
 * this thread; TL_EINVAL for a NULL loop or root.  Tasks left over from an
 * earlier run (blocked after a deadlock) stay and can be woken by the new
 * root; ids go on counting. */
TL_API int tl_loop_run(tl_loop *loop, tl_task_fn root, void *arg,
                       void **result);

/* Fills out[0..cap) with the tasks that are blocked now, in id order, and
 * returns how many there are (may exceed cap).  After TL_EDEADLOCK this is
 * the deadlock.  Does not yield. */
TL_API size_t tl_loop_waits(const tl_loop *loop, tl_wait *out, size_t cap);

/* Writes one line such as `task 4 "sink" waits get(queue 2 "parsed")` into
 * buf (always NUL-terminated when len > 0); returns what snprintf would. */
TL_API int tl_wait_format(const tl_wait *w, char *buf, size_t len);

/* "get", "join", ...: the short name of a wait kind. */
TL_API const char *tl_wait_name(tl_wait_kind kind);

/* Prints every blocked task, one line each (tl_wait_format), to f. */
TL_API void tl_loop_print_waits(const tl_loop *loop, FILE *f);

/* The loop running on this thread, or NULL. */
TL_API tl_loop *tl_loop_current(void);

/* ------------------------------------------------------------------ */
/* Tasks                                                                */
/* ------------------------------------------------------------------ */

/* Task.  May yield.  Creates a task running fn(arg) and yields: the child
 * runs first, then the caller (Flowno's spawn order).  *out (may be NULL
 * for a task nobody will join; it is then detached) receives a handle
 * valid until tl_loop_free.  TL_ENOMEM, TL_ENAMETOOLONG, TL_EINVAL (fn
 * NULL), TL_ECANCELED (the caller is cancelled; nothing is spawned). */
TL_API int tl_spawn(tl_task **out, tl_task_fn fn, void *arg, const char *name);

/* Task.  May yield (always does, even for an ended task).  Waits for t to
 * end.  0 and its return value in *result (may be NULL); TL_EFAILED (see
 * tl_task_error) or TL_ECANCELED if t failed or was cancelled, or if the
 * caller is cancelled while waiting (tl_self's state tells which);
 * TL_EINVAL for NULL, for the caller itself, or for a task of another loop. */
TL_API int tl_join(tl_task *t, void **result);

/* Task.  Does not yield and does not wait for t to end (join to wait).
 * Cancels t as described at the top of this file; cancelling twice is
 * harmless (0).  A task may cancel itself.  TL_EINVAL if t has ended or is
 * NULL. */
TL_API int tl_cancel(tl_task *t);

/* Task.  May yield.  Sleeps for the given seconds; <= 0 yields to the tail
 * of the ready queue.  0, TL_ECANCELED, TL_EINVAL (NaN). */
TL_API int tl_sleep(double seconds);

/* Task.  Yields to the tail of the ready queue.  0 or TL_ECANCELED. */
TL_API int tl_yield(void);

/* The running loop's clock in seconds (monotonic, arbitrary origin); the
 * real clock when no loop runs.  Under replay, the recorded clock. */
TL_API double tl_now(void);

/* 64 random bits from the running loop's generator (xoshiro256**), seeded
 * from the OS unless TAPELOOP_SEED or tl_options.seed fixes it; 0 when no
 * loop runs.  Use it, not rand(), so replay sees the same numbers. */
TL_API uint64_t tl_random(void);

/* The running task, NULL outside a task. */
TL_API tl_task *tl_self(void);

/* 1 for the first root, then creation order within the loop; 0 for NULL. */
TL_API unsigned tl_task_id(const tl_task *t);

/* The name given at spawn ("" if none); "" for NULL.  Borrows. */
TL_API const char *tl_task_name(const tl_task *t);

/* The id of the task that spawned t; 0 for a root or NULL. */
TL_API unsigned tl_task_parent(const tl_task *t);

/* Its state now; TL_TASK_DONE for NULL. */
TL_API tl_task_state tl_task_state_of(const tl_task *t);

/* Task.  Ends the calling task as failed with the formatted message (kept,
 * see tl_task_error); joiners get TL_EFAILED.  Never returns; the task's
 * stack is dropped without unwinding, so release what it holds first.
 * Outside a task it prints the message and aborts: there is nothing to
 * fail. */
TL_API _Noreturn void tl_fail(const char *fmt, ...) TL_PRINTF(1, 2);

/* A failed task's message, else NULL.  Borrows. */
TL_API const char *tl_task_error(const tl_task *t);

/* Frees t as soon as it ends (at once if it has); the handle must not be
 * used again.  NULL is a no-op. */
TL_API void tl_task_detach(tl_task *t);

/* ------------------------------------------------------------------ */
/* Queues (FIFO; items are pointers, NULL too)                          */
/* ------------------------------------------------------------------ */

/* A queue holding at most maxsize items (0 = unbounded).  May be created
 * outside a task; it belongs to the loop running, or else the loop created
 * last on this thread, or else the first loop that uses it.  TL_ENOMEM,
 * TL_ENAMETOOLONG. */
TL_API int tl_queue_new(tl_queue **out, size_t maxsize, const char *name);

/* Task.  Appends item.  Does not yield when nobody waits and there is room;
 * when a getter or peeker waits it hands the item over, wakes them (peekers
 * first, then the first getter) and yields, so the getter runs before the
 * putter.  When full, blocks until a get makes room.  0, TL_ECLOSED,
 * TL_ECANCELED, TL_EINVAL. */
TL_API int tl_queue_put(tl_queue *q, void *item);

/* Task.  Takes the head item into *item (may be NULL to drop it).  Does not
 * yield when an item is there (a putter blocked on a full queue is woken
 * and its item moves in); else blocks until a put.  0, TL_ECLOSED (closed
 * and empty), TL_ECANCELED, TL_EINVAL. */
TL_API int tl_queue_get(tl_queue *q, void **item);

/* Task.  Like get but leaves the item in the queue; every waiting peeker
 * wakes on a put.  0, TL_ECLOSED, TL_ECANCELED, TL_EINVAL. */
TL_API int tl_queue_peek(tl_queue *q, void **item);

/* Task.  May yield (always does).  Closes q: blocked getters and peekers,
 * then blocked putters, wake with TL_ECLOSED (putters' items are not
 * added), then the closer resumes.  Items already in the queue can still
 * be taken.  Closing again is harmless.  0, TL_ECANCELED (closed anyway),
 * TL_EINVAL. */
TL_API int tl_queue_close(tl_queue *q);

/* Items in q now; 0 for NULL. */
TL_API size_t tl_queue_len(const tl_queue *q);
/* True once closed. */
TL_API bool tl_queue_is_closed(const tl_queue *q);
/* Its id (per loop, creation order, from 1) and name. */
TL_API unsigned tl_queue_id(const tl_queue *q);
TL_API const char *tl_queue_name(const tl_queue *q);

/* Frees q and the items' slots (not what they point to).  Tasks still
 * blocked on it wake with TL_ECLOSED.  NULL is a no-op. */
TL_API void tl_queue_free(tl_queue *q);

/* ------------------------------------------------------------------ */
/* Synchronization: flag (Flowno's Event), lock, condition, latch       */
/* All wake waiters in FIFO order; none of the signalling calls yield.  */
/* ------------------------------------------------------------------ */

/* A flag is set once; waiters wake when it is. */
TL_API int tl_flag_new(tl_flag **out, const char *name);
/* Task.  Sets the flag and wakes every waiter; setting again is a no-op. */
TL_API int tl_flag_set(tl_flag *f);
/* Task.  Returns at once if set, else blocks until it is.  0, TL_ECANCELED,
 * TL_ECLOSED (the flag was freed), TL_EINVAL. */
TL_API int tl_flag_wait(tl_flag *f);
TL_API bool tl_flag_is_set(const tl_flag *f);
TL_API void tl_flag_free(tl_flag *f);

/* A FIFO lock, not re-entrant. */
TL_API int tl_lock_new(tl_lock **out, const char *name);
/* Task.  Takes the lock at once if free (no yield), else blocks until it
 * is handed over.  0, TL_ECANCELED (not acquired), TL_EINVAL (NULL, or the
 * caller holds it already: that would deadlock). */
TL_API int tl_lock_acquire(tl_lock *l);
/* Task.  Hands the lock to the first waiter, or frees it.  TL_EINVAL if the
 * caller is not the owner. */
TL_API int tl_lock_release(tl_lock *l);
TL_API bool tl_lock_is_locked(const tl_lock *l);
TL_API void tl_lock_free(tl_lock *l);

/* A condition variable over lock l (borrowed: free the cond first). */
TL_API int tl_cond_new(tl_cond **out, tl_lock *l, const char *name);
/* Task.  The caller must own the lock (else TL_EINVAL).  Releases it, waits
 * for a notify, and returns holding it again.  TL_ECANCELED: returns
 * WITHOUT the lock. */
TL_API int tl_cond_wait(tl_cond *c);
/* Task.  The caller must own the lock (else TL_EINVAL).  Moves the first
 * waiter (or all of them) to the lock's queue, in FIFO order; they run once
 * the lock is handed to them. */
TL_API int tl_cond_notify(tl_cond *c);
TL_API int tl_cond_notify_all(tl_cond *c);
TL_API void tl_cond_free(tl_cond *c);

/* A latch opens when count_down has been called count times. */
TL_API int tl_latch_new(tl_latch **out, unsigned count, const char *name);
/* Task.  Decrements; at zero every waiter wakes.  TL_EINVAL at zero. */
TL_API int tl_latch_count_down(tl_latch *l);
/* Task.  Returns at once if open, else blocks until it opens. */
TL_API int tl_latch_wait(tl_latch *l);
TL_API unsigned tl_latch_count(const tl_latch *l);
TL_API void tl_latch_free(tl_latch *l);

/* ------------------------------------------------------------------ */
/* Sockets (TCP, non-blocking, through the loop's env)                  */
/* ------------------------------------------------------------------ */

/* Binds and listens on host and port (0 picks a free one: see
 * tl_socket_port).  Hosts are numeric IPv4/IPv6 addresses or "localhost"
 * (a DNS lookup would block the loop): anything else is TL_EINVAL.  Needs
 * a loop (as tl_queue_new).  -errno from the OS, TL_ENOLOOP, TL_EINVAL,
 * TL_ENOMEM. */
TL_API int tl_listen(tl_socket **out, const char *host, int port, int backlog);
/* The bound (listener) or peer (connected) port; 0 for NULL. */
TL_API int tl_socket_port(const tl_socket *s);
TL_API unsigned tl_socket_id(const tl_socket *s);
/* Task.  May yield.  Connects without blocking the loop.  -errno
 * (-ECONNREFUSED, ...), TL_ECANCELED, TL_EINVAL. */
TL_API int tl_connect(tl_socket **out, const char *host, int port);
/* Task.  May yield.  Waits for and accepts one connection. */
TL_API int tl_accept(tl_socket *listener, tl_socket **out);
/* Task.  May yield.  Receives up to len bytes: the count, 0 at end of
 * stream, or < 0 (-errno, TL_ECANCELED, TL_EBUSY if another task already
 * waits to receive on s). */
TL_API ssize_t tl_recv(tl_socket *s, void *buf, size_t len);
/* Task.  May yield.  Sends some of buf: the count or < 0 as tl_recv. */
TL_API ssize_t tl_send(tl_socket *s, const void *buf, size_t len);
/* Task.  May yield.  Sends all of buf.  0 or < 0 as tl_recv. */
TL_API int tl_send_all(tl_socket *s, const void *buf, size_t len);
/* Closes and frees s.  A task blocked on it wakes with -EBADF.  NULL is a
 * no-op. */
TL_API void tl_socket_close(tl_socket *s);

/* ------------------------------------------------------------------ */
/* Events and hooks: every command and every outcome, as it happens    */
/* ------------------------------------------------------------------ */

/* Every event kind: XX(NAME, name).  The lower-case name is what traces
 * and tools call it; docs/trace-schema.md says when each fires and what
 * task, object, a and b mean for it.  Append only: the values are stored
 * in traces. */
#define TL_EVENT_MAP(XX)                                                   \
    XX(RUN_START, run_start)                                               \
    XX(RUN_END, run_end)                                                   \
    XX(SPAWN, spawn)                                                       \
    XX(RESUME, resume)                                                     \
    XX(BLOCK, block)                                                       \
    XX(WAKE, wake)                                                         \
    XX(TASK_DONE, task_done)                                               \
    XX(TASK_FAILED, task_failed)                                           \
    XX(TASK_CANCELLED, task_cancelled)                                     \
    XX(JOIN, join)                                                         \
    XX(CANCEL, cancel)                                                     \
    XX(SLEEP, sleep)                                                       \
    XX(YIELD, yield)                                                       \
    XX(COMMAND, command)                                                   \
    XX(QUEUE_NEW, queue_new)                                               \
    XX(QUEUE_PUT, queue_put)                                               \
    XX(QUEUE_GET, queue_get)                                               \
    XX(QUEUE_PEEK, queue_peek)                                             \
    XX(QUEUE_HANDOFF, queue_handoff)                                       \
    XX(QUEUE_CLOSE, queue_close)                                           \
    XX(SYNC_NEW, sync_new)                                                 \
    XX(FLAG_SET, flag_set)                                                 \
    XX(FLAG_WAIT, flag_wait)                                               \
    XX(LOCK_ACQUIRE, lock_acquire)                                         \
    XX(LOCK_RELEASE, lock_release)                                         \
    XX(COND_WAIT, cond_wait)                                               \
    XX(COND_NOTIFY, cond_notify)                                           \
    XX(LATCH_COUNT_DOWN, latch_count_down)                                 \
    XX(LATCH_WAIT, latch_wait)                                             \
    XX(SOCKET_LISTEN, socket_listen)                                       \
    XX(SOCKET_CONNECT_START, socket_connect_start)                         \
    XX(SOCKET_CONNECT_READY, socket_connect_ready)                         \
    XX(SOCKET_ACCEPT_START, socket_accept_start)                           \
    XX(SOCKET_ACCEPT_READY, socket_accept_ready)                           \
    XX(SOCKET_RECV_START, socket_recv_start)                               \
    XX(SOCKET_RECV_READY, socket_recv_ready)                               \
    XX(SOCKET_RECV, socket_recv)                                           \
    XX(SOCKET_SEND_START, socket_send_start)                               \
    XX(SOCKET_SEND_READY, socket_send_ready)                               \
    XX(SOCKET_SEND, socket_send)                                           \
    XX(SOCKET_CLOSE, socket_close)                                         \
    XX(CLOCK, clock)                                                       \
    XX(RANDOM, random)                                                     \
    XX(DEADLOCK, deadlock)

typedef enum tl_event_kind {
#define TL__XX(N, n) TL_EV_##N,
    TL_EVENT_MAP(TL__XX)
#undef TL__XX
    TL_EV__COUNT
} tl_event_kind;

#define TL_EVMASK(kind) ((uint64_t)1 << (kind))
#define TL_EVMASK_ALL (TL_EVMASK(TL_EV__COUNT) - 1)

/* What an event is about (tl_event.okind). */
enum { TL_OBJ_NONE, TL_OBJ_TASK, TL_OBJ_QUEUE, TL_OBJ_SOCKET, TL_OBJ_FLAG,
       TL_OBJ_LOCK, TL_OBJ_COND, TL_OBJ_LATCH };

#define TL_EVF_IMMEDIATE 1u     /* the operation did not block */

/* One event, a plain value.  Valid for the duration of the hook call
 * (payload too: copy what you keep). */
typedef struct tl_event {
    uint64_t seq;           /* 1, 2, ... per loop, across its runs; only
                               events some hook wants are numbered */
    int64_t time;           /* ns on the loop's clock (tl_now() * 1e9) */
    uint16_t kind;          /* tl_event_kind */
    uint8_t okind;          /* TL_OBJ_*: what object is */
    uint8_t flags;          /* TL_EVF_* */
    uint32_t task;          /* the task the event is about: the one that
                               issued the command, or that receives the
                               outcome (wake, a handed-over item or
                               lock); 0 = the loop itself */
    uint32_t object;        /* the id of what it acted on, 0 = nothing */
    uint32_t run;           /* the run (tl_loop_run call) in this process */
    int64_t a, b;           /* per kind: docs/trace-schema.md */
    const void *payload;    /* names, messages, socket bytes; or NULL */
    size_t len;             /* payload bytes */
} tl_event;

typedef void (*tl_hook_fn)(const tl_event *ev, void *udata);

/* Adds a hook called, in registration order after earlier hooks, for each
 * event whose kind is in mask (TL_EVMASK bits).  A hook may not call back
 * into the loop (no task calls, no tl_now).  TL_ENOMEM, TL_EINVAL. */
TL_API int tl_loop_add_hook(tl_loop *loop, uint64_t mask, tl_hook_fn fn,
                            void *udata);
/* Removes the first hook with this fn and udata.  TL_EINVAL if none. */
TL_API int tl_loop_remove_hook(tl_loop *loop, tl_hook_fn fn, void *udata);
/* "queue_put", ...; "?" when out of range. */
TL_API const char *tl_event_name(int kind);

/* ------------------------------------------------------------------ */
/* Extension: custom commands (Flowno's FlowEventLoop hook)             */
/* ------------------------------------------------------------------ */

/* Called in the scheduler, outside any task, when a task issues command
 * code.  It must either resume the task (tl_resume) or keep it and resume
 * it later; it must not block. */
typedef void (*tl_command_fn)(tl_loop *loop, tl_task *task, int code,
                              void *arg, void *udata);

/* Installs the handler for custom commands (NULL removes it). */
TL_API void tl_loop_set_command(tl_loop *loop, tl_command_fn fn, void *udata);

/* Task.  May yield.  Suspends the caller and hands (code, arg) to the
 * loop's command handler; returns what tl_resume passes.  With no handler
 * the command is unknown and the task ends failed (it is not dropped). */
TL_API int tl_command(int code, void *arg, void **result);

/* Makes task (suspended by tl_command) runnable with rc and result, at the
 * tail of the ready queue, or at the head when front is true.  TL_EINVAL
 * if the task is not waiting in tl_command. */
TL_API int tl_resume(tl_task *task, int rc, void *result, bool front);

/* ------------------------------------------------------------------ */
/* Memory                                                               */
/* ------------------------------------------------------------------ */

/* Replaces the allocator for everything tapeloop allocates except stacks.
 * fn(udata, ptr, size): size 0 frees ptr; else resize (ptr may be NULL) and
 * return NULL on failure.  Call before creating anything; NULL restores
 * malloc. */
typedef void *(*tl_alloc_fn)(void *udata, void *ptr, size_t size);
TL_API void tl_set_allocator(tl_alloc_fn fn, void *udata);

#ifdef __cplusplus
}
#endif
#endif /* TAPELOOP_H */
