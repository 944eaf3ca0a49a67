/* SPDX-License-Identifier: MIT */
/* loop_int.h -- the private layout of the loop, its tasks and objects,
 * shared by the core/ sources and nothing else.
 *
 * Invariant: a task is in at most one place at a time -- the ready list, one
 * wait list (a queue's getters, a lock's waiters, a task's joiners, ...),
 * the sleep heap, one socket's waiter slot, or nowhere (running, ended).
 * So one intrusive link per task is enough, waking is O(1), and cancel can
 * always take a task out of whatever it waits on.  Counters: nready tasks
 * are linked on loop->ready, nheap sleep, nio wait for I/O, nparked wait on
 * lists; a run is over when all four are zero, deadlocked when only nparked
 * is not.
 */
#ifndef TL_LOOP_INT_H
#define TL_LOOP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ctx.h"
#include "env.h"
#include "tape.h"
#include "tapeloop.h"

#define TL_HIDDEN __attribute__((visibility("hidden")))

/* ---- intrusive lists (circular, with a head node) ------------------ */

typedef struct tl__link {
    struct tl__link *next;      /* towards the tail */
    struct tl__link *prev;      /* towards the head */
} tl__link;

#define tl__container_of(p, T, m) ((T *)(void *)((char *)(p)-offsetof(T, m)))

static inline void tl__list_init(tl__link *h) { h->next = h->prev = h; }
static inline int tl__list_empty(const tl__link *h) { return h->next == h; }

static inline void
tl__list_push(tl__link *h, tl__link *n)         /* at the tail */
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static inline void
tl__list_push_front(tl__link *h, tl__link *n)
{
    tl__list_push(h->next, n);
}

static inline void
tl__list_del(tl__link *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* ---- memory, names ---------------------------------------------------- */

TL_HIDDEN void *tl__alloc(size_t n);            /* NULL on failure */
TL_HIDDEN void *tl__calloc(size_t n);
TL_HIDDEN void *tl__realloc(void *p, size_t n);
TL_HIDDEN void tl__free(void *p);
TL_HIDDEN char *tl__strdup(const char *s);
/* Copies name (NULL -> NULL) into *out; TL_ENAMETOOLONG, TL_ENOMEM. */
TL_HIDDEN int tl__name(char **out, const char *name);

/* ---- stacks ----------------------------------------------------------- */

typedef struct tl__stack {
    void *map;                  /* the whole mapping, guard page included */
    size_t maplen;              /* its length */
    void *lo;                   /* lowest usable byte */
    size_t size;                /* usable bytes */
    unsigned vg_id;             /* Valgrind's stack id */
    int guard;                  /* 1 if map starts with a PROT_NONE page */
} tl__stack;

typedef struct tl__pool {
    tl__stack *free;            /* stacks ready for reuse (LIFO) */
    size_t nfree, cap;          /* how many, and the array's room */
    size_t size;                /* usable size of every stack here */
} tl__pool;

TL_HIDDEN int tl__stack_get(tl__pool *p, tl__stack *out);
TL_HIDDEN void tl__stack_put(tl__pool *p, tl__stack *s);
TL_HIDDEN void tl__pool_fini(tl__pool *p);
/* Installs the SIGSEGV reporter (once per process) and an alternate
 * signal stack for this thread if it has none. */
TL_HIDDEN void tl__stack_guard_install(void);

/* ---- objects ---------------------------------------------------------- */

enum tl__obj_kind { TL__QUEUE, TL__FLAG, TL__LOCK, TL__COND, TL__LATCH,
                    TL__SOCKET };

/* The header every queue, sync object and socket starts with. */
typedef struct tl__obj {
    tl_loop *loop;              /* owner; NULL until first use if none */
    tl__link node;              /* in loop->objects */
    unsigned id;                /* per loop and id family, from 1 */
    int kind;                   /* enum tl__obj_kind */
    char *name;                 /* copied; NULL = none */
    int64_t arg;                /* maxsize (queue) or count (latch) at birth */
} tl__obj;

/* ---- tasks ------------------------------------------------------------ */

/* What a task asks of the scheduler as it switches out. */
enum tl__cmd { TL__CMD_NONE,    /* it already placed itself somewhere */
               TL__CMD_CUSTOM   /* hand (code, arg) to the command hook */ };

struct tl_task {
    tl__ctx ctx;                /* saved registers while switched out */
    tl_loop *loop;              /* owner */
    tl__link link;              /* ready list or a wait list */
    tl__link all;               /* loop->tasks, in id order */
    tl__link joiners;           /* tasks blocked joining this one */
    unsigned id;                /* 1 = first root, then creation order */
    unsigned parent;            /* spawner's id, 0 for a root */
    unsigned char state;        /* tl_task_state */
    unsigned char wait;         /* tl_wait_kind while blocked */
    unsigned char cmd;          /* enum tl__cmd, read after it switches out */
    unsigned char cancelled;    /* tl_cancel was called (sticky) */
    unsigned char detached;     /* free when it ends */
    int rc;                     /* what its pending call returns */
    void *val;                  /* the value it returns / the item it puts */
    void *wobj;                 /* what it waits on: tl__obj or tl_task */
    int ccode;                  /* custom command code */
    int64_t deadline;           /* sleeping: wake at (env ns) */
    uint64_t sseq;              /* sleeping: tie-break, FIFO */
    size_t heap_i;              /* sleeping: index in loop->heap */
    tl_task_fn fn;              /* body */
    void *arg;                  /* its argument */
    void *result;               /* its return value once done */
    char *error;                /* tl_fail's message */
    char *name;                 /* copied; NULL = none */
    tl__stack stack;            /* while alive */
};

/* ---- the loop --------------------------------------------------------- */

struct tl_loop {
    tl__ctx sched;              /* the scheduler: the thread's own stack */
    tl_task *cur;               /* the running task, NULL in the scheduler */
    tl__link ready;             /* runnable tasks, FIFO */
    size_t nready;              /* their count */
    size_t pass_left;           /* steps left in this pass */
    tl_task **heap;             /* sleepers, min-heap on (deadline, sseq) */
    size_t nheap, capheap;      /* count and room */
    uint64_t sseq;              /* next sleep sequence number */
    size_t nparked;             /* tasks on wait lists (queue, join, sync) */
    size_t nio;                 /* tasks waiting for socket readiness */
    tl__link tasks;             /* every task held, in id order */
    tl__link objects;           /* queues, sync objects, sockets bound here */
    unsigned ntasks, nqueues, nsockets, nsyncs;   /* id counters */
    tl__pool pool;              /* stacks */
    tl__stack zombie;           /* the last dead task's, not yet pooled */
    tl__ctx grave;              /* where a dying task's registers go */
    const tl_env *env;          /* clock, readiness, sockets, seed */
    void *envs;                 /* the env's state */
    uint64_t rng[4];            /* xoshiro256** state */
    uint64_t seed;              /* what seeded it */
    tl_command_fn cmd_fn;       /* custom command hook */
    void *cmd_ud;               /* its udata */
    tl_task *root;              /* this run's root */
    tl_loop *prev_last;         /* the thread's previous "last created" */
    int running;                /* inside tl_loop_run */
    uint64_t evmask;            /* kinds some hook wants; 0 = no hooks */
    struct tl__hook *hooks;     /* in registration order */
    size_t nhooks;              /* their count */
    uint64_t evseq;             /* the last event's seq */
    int64_t evtime;             /* the current command's clock reading */
    int tstamped;               /* evtime is still that command's */
    tl__tape *tape;             /* recording: the journal, else NULL */
    uint32_t tape_loop;         /* this loop's id in the journal */
    uint64_t tape_lr;           /* tl__lr(tape_loop, run) */
    int tape_fast;              /* recording and no hook: events go to the
                                   tape inline, without a tl__emit call */
    uint32_t run;               /* the current run's id */
    uint64_t tick0;             /* event clock: a (tick, ns) pair ... */
    int64_t ns0;
    uint64_t tick_ns;           /* ... and ns per tick in 32.32 fixed
                                   point (no FP on the hot path); 0 =
                                   uncalibrated */
};

/* ---- events ----------------------------------------------------------- */

/* Emits an event of kind k built from the designated initialisers that
 * follow, when some hook wants k: with no hook, one predictable branch.
 * Arguments are evaluated only then: keep side effects out of them.
 *
 * An event's time is when the command (or the scheduler's action) that
 * caused it began: TL__EV reads the clock, TL__EV_THEN reuses the reading
 * of the event before it, for what follows in the same command with no
 * task code between -- a hand-off's get and wake, the resume that a
 * suspending command switches to.  (Hooks may run in between; they do not
 * move a command's time.)  tstamped says the reading is still that
 * command's; a TL__EV the hooks do not want clears it, as does the
 * scheduler before it polls, fires timers or starts a pass, and after a
 * custom command's handler. */
#define TL__EV_(loop, k, fresh, ...)                                       \
    do {                                                                   \
        if (__builtin_expect((loop)->evmask != 0, 0)) {                    \
            if ((loop)->tape_fast) {                                       \
                const tl_event evf_ = {.kind = (k), __VA_ARGS__};          \
                tl__emit_tape((loop), &evf_, (fresh));                     \
            } else if (((loop)->evmask >> (k)) & 1) {                      \
                tl_event ev_ = {.kind = (k), __VA_ARGS__};                 \
                tl__emit((loop), &ev_, (fresh));                           \
            } else if (fresh) {                                            \
                (loop)->tstamped = 0;                                      \
            }                                                              \
        }                                                                  \
    } while (0)
#define TL__EV(loop, k, ...) TL__EV_(loop, k, 1, __VA_ARGS__)
#define TL__EV_THEN(loop, k, ...) TL__EV_(loop, k, 0, __VA_ARGS__)
/* The next TL__EV_THEN reads the clock afresh. */
#define TL__EV_STALE(loop) ((loop)->tstamped = 0)

/* Stamps ev (seq, time, run), appends it to the tape if the loop records,
 * and calls every hook that wants it. */
TL_HIDDEN void tl__emit(tl_loop *loop, tl_event *ev, int fresh);
/* Appends ev, numbered seq and timed loop->evtime, to the loop's tape. */
TL_HIDDEN void tl__tape_event(tl_loop *loop, const tl_event *ev,
                              uint64_t seq);

/* The event clock: the cycle counter, mapped onto CLOCK_MONOTONIC by the
 * rate hook.c measured (a read costs a few ns where clock_gettime costs
 * ~22), or the env's own clock when that is cheap (virtual, replay). */
static inline uint64_t
tl__ticks(void)
{
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
#endif
}

static inline int64_t
tl__event_time(tl_loop *loop)
{
    if (loop->env->cheap_now)
        return loop->env->now(loop->envs);
#ifdef __SIZEOF_INT128__
    return loop->ns0 + (int64_t)((unsigned __int128)(tl__ticks() -
                                                     loop->tick0) *
                                 loop->tick_ns >> 32);
#else
    return loop->ns0 + (int64_t)((double)(tl__ticks() - loop->tick0) *
                                 (double)loop->tick_ns / 4294967296.0);
#endif
}

/* Makes loop->evtime the reading of this event: a fresh one, or the
 * command's (TL__EV_THEN) while it still stands. */
static inline __attribute__((always_inline)) void
tl__ev_stamp(tl_loop *loop, int fresh)
{
    if (fresh || !loop->tstamped) {
        loop->evtime = tl__event_time(loop);
        loop->tstamped = 1;
    }
}

/* Recording with no hook: ev goes straight to the journal's live block,
 * inline where it is emitted.  The common record -- same loop and run
 * as the one before, next in seq, no payload -- is encoded here; any
 * other goes through tl__tape_event. */
static inline __attribute__((always_inline)) void
tl__emit_tape(tl_loop *loop, const tl_event *ev, int fresh)
{
    tl__tape *t = loop->tape;
    uint64_t seq = ++loop->evseq;
    uint8_t *p;

    tl__ev_stamp(loop, fresh);
    if (ev->kind == TL_EV_RESUME &&
        tl__tape_resumed(t, loop->tape_lr, seq, loop->evtime, ev->task,
                         ev->a))
        return;                 /* in the record before */
    if (__builtin_expect(ev->payload != NULL ||
                         !tl__tape_fits(t, loop->tape_lr, seq),
                         0)) {
        tl_event copy = *ev;    /* so that ev itself need not be in memory */
        tl__tape_event(loop, &copy, seq);
        return;
    }
    p = t->live + t->used;
    p[0] = (uint8_t)ev->kind;
    if ((ev->object | (uint64_t)(loop->evtime - t->time) | (uint64_t)ev->a |
         (uint64_t)ev->b) == 0) {       /* a resume, mostly: 3 bytes */
        p[1] = TL__TAPE_FLAGS(ev->okind, ev->flags, TL__TAPE_SHORT, 1);
        p = tl__tape_uvar(p + 2, ev->task);
        t->hand = 0;
    } else {
        t->hand = t->used + 1;  /* a resume may follow it */
        p[1] = TL__TAPE_FLAGS(ev->okind, ev->flags, 0, 1);
        p = tl__tape_uvar(p + 2, ev->task);
        p = tl__tape_uvar(p, ev->object);
        p = tl__tape_svar(p, loop->evtime - t->time);
        p = tl__tape_svar(p, ev->a);
        p = tl__tape_svar(p, ev->b);
    }
    t->seq = seq;
    t->time = loop->evtime;
    t->used = (size_t)(p - t->live);
    tl__tape_publish(t);
}

TL_HIDDEN void tl__hooks_free(tl_loop *loop);
/* Sets evmask from the hooks and the tape; calibrates the event clock the
 * first time it is not 0. */
TL_HIDDEN void tl__evmask_update(tl_loop *loop);
/* The id of the running task, 0 in the scheduler. */
#define TL__ACTOR(loop) ((loop)->cur ? (loop)->cur->id : 0u)
/* TL_OBJ_* for an object header. */
static inline int
tl__okind(const tl__obj *o)
{
    static const unsigned char map[] = {
        [TL__QUEUE] = TL_OBJ_QUEUE, [TL__FLAG] = TL_OBJ_FLAG,
        [TL__LOCK] = TL_OBJ_LOCK,   [TL__COND] = TL_OBJ_COND,
        [TL__LATCH] = TL_OBJ_LATCH, [TL__SOCKET] = TL_OBJ_SOCKET};
    return map[o->kind];
}

/* The running loop and the last one created on this thread. */
extern _Thread_local tl_loop *tl__running
    __attribute__((tls_model("initial-exec")));
extern _Thread_local tl_loop *tl__last
    __attribute__((tls_model("initial-exec")));

/* The running task, or NULL; fills *tp. */
#define TL__TASK(tp)                                                       \
    do {                                                                   \
        tl_loop *l_ = tl__running;                                         \
        if (!l_ || !(tp = l_->cur))                                        \
            return TL_ENOTASK;                                             \
    } while (0)

/* loop.c */
TL_HIDDEN int tl__obj_init(tl__obj *o, int kind, const char *name,
                           int64_t arg);
TL_HIDDEN int tl__obj_bind(tl__obj *o, tl_loop *loop);
TL_HIDDEN void tl__obj_fini(tl__obj *o);
TL_HIDDEN int64_t tl__now_ns(tl_loop *loop);

/* task.c */
TL_HIDDEN void tl__wake_all(tl__link *list, int rc);
/* The running task, parked on list (tl__park) until woken; *val (if not
 * NULL) gets what it was woken with.  For task calls that switch only
 * sometimes: they tail-call it (core/ctx.h, TL__ENTRY). */
TL_HIDDEN int tl__wait(tl__link *list, int wait, void *obj, void **val);
TL_HIDDEN void tl__step(tl_loop *loop);
TL_HIDDEN void tl__run_timers(tl_loop *loop, int64_t now);
TL_HIDDEN void tl__task_free(tl_task *t);
TL_HIDDEN void tl__reap(tl_loop *loop);
TL_HIDDEN int tl__task_new(tl_task **out, tl_loop *loop, tl_task_fn fn,
                           void *arg, const char *name, unsigned parent);

/* sync.c */
TL_HIDDEN tl_task *tl__lock_owner(const tl__obj *o);
TL_HIDDEN void tl__lock_detach(tl__obj *o);

/* instrument/record.c: starts recording loop into the trace at path. */
TL_HIDDEN int tl__record_attach(tl_loop *loop, const char *path);
/* Whether this thread may write the journal: if not, says so once. */
TL_HIDDEN int tl__record_writer(void);

/* net.c */
TL_HIDDEN void tl__net_cancel(tl_task *t);
TL_HIDDEN void tl__net_detach(tl__obj *o);

/* Checks for task calls on an object: bound to the caller's loop. */
static inline int
tl__obj_use(tl__obj *o, tl_task *t)
{
    if (o->loop == t->loop)
        return 0;
    return tl__obj_bind(o, t->loop);
}

#include "sched_int.h"

#endif /* TL_LOOP_INT_H */
