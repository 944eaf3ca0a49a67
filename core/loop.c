/* SPDX-License-Identifier: MIT */
/* loop.c -- the loop's life: new, run, free; the clock and random source;
 * object ids; the report of what blocked tasks wait on.  tl_loop_run reads
 * as its list of phases, mirrored in docs/loop.md.  Scheduling itself (a
 * step, parking, waking, timers) is task.c.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop_int.h"
#include "replay.h"

_Thread_local tl_loop *tl__running;
_Thread_local tl_loop *tl__last;
static _Atomic uint32_t tl__runs;     /* run ids, process-wide */

/* ---- clock and random ------------------------------------------------ */

int64_t
tl__now_ns(tl_loop *loop)
{
    return loop->env->now(loop->envs);
}

double
tl_now(void)
{
    struct timespec ts;

    if (tl__running) {
        tl_loop *l = tl__running;
        int64_t ns = tl__now_ns(l);
        TL__EV(l, TL_EV_CLOCK, .task = TL__ACTOR(l), .a = ns);
        return (double)ns / 1e9;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
tl_random(void)
{
    tl_loop *l = tl__running;
    uint64_t *s, r, t;

    if (!l)
        return 0;
    s = l->rng;
    r = rotl(s[1] * 5, 7) * 9;
    t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    TL__EV(l, TL_EV_RANDOM, .task = TL__ACTOR(l), .a = (int64_t)r);
    return r;
}

/* opt's seed, else TAPELOOP_SEED, else the env's; TL_EINVAL if the
 * variable is not a number. */
static int
seed_rng(tl_loop *loop, uint64_t seed)
{
    const char *e = getenv("TAPELOOP_SEED");

    if (loop->env->replay) {
        seed = loop->env->seed(loop->envs);     /* the recorded one */
    } else if (!seed && e && *e) {
        char *end;
        errno = 0;
        seed = strtoull(e, &end, 0);
        if (errno || *end)
            return TL_EINVAL;
    } else if (!seed) {
        seed = loop->env->seed(loop->envs);
    }
    loop->seed = seed;
    for (int i = 0; i < 4; i++)
        loop->rng[i] = splitmix64(&seed);
    return 0;
}

/* ---- objects ---------------------------------------------------------- */

int
tl__obj_init(tl__obj *o, int kind, const char *name, int64_t arg)
{
    int rc = tl__name(&o->name, name);

    if (rc)
        return rc;
    o->kind = kind;
    o->arg = arg;
    tl__list_init(&o->node);
    if (tl__running || tl__last)
        tl__obj_bind(o, tl__running ? tl__running : tl__last);
    return 0;
}

int
tl__obj_bind(tl__obj *o, tl_loop *loop)
{
    if (o->loop)
        return o->loop == loop ? 0 : TL_EINVAL;
    o->loop = loop;
    switch (o->kind) {
    case TL__QUEUE: o->id = ++loop->nqueues; break;
    case TL__SOCKET: o->id = ++loop->nsockets; break;
    default: o->id = ++loop->nsyncs; break;
    }
    tl__list_push(&loop->objects, &o->node);
    if (o->kind != TL__SOCKET)
        TL__EV(loop, o->kind == TL__QUEUE ? TL_EV_QUEUE_NEW : TL_EV_SYNC_NEW,
               .task = TL__ACTOR(loop), .okind = (uint8_t)tl__okind(o),
               .object = o->id, .a = o->arg, .payload = o->name,
               .len = o->name ? strlen(o->name) : 0);
    return 0;
}

void
tl__obj_fini(tl__obj *o)
{
    tl__list_del(&o->node);
    tl__free(o->name);
    o->name = NULL;
    o->loop = NULL;
}

/* ---- life ------------------------------------------------------------- */

tl_loop *
tl_loop_current(void)
{
    return tl__running;
}

/* The env the environment asks for: a replay of TAPELOOP_REPLAY, the
 * virtual clock of TAPELOOP_CLOCK=virtual, or the real one. */
static int
pick_env(const tl_env **env)
{
    const char *replay = getenv("TAPELOOP_REPLAY");
    const char *clock = getenv("TAPELOOP_CLOCK");

    if (replay && *replay)
        return tl__replay_env(env, replay);
    if (clock && !strcmp(clock, "virtual"))
        *env = &tl__env_virtual;
    else if (clock && *clock && strcmp(clock, "real") != 0) {
        fprintf(stderr, "tapeloop: TAPELOOP_CLOCK=%s: use real or virtual\n",
                clock);
        return TL_EINVAL;
    } else
        *env = &tl__env_real;
    return 0;
}

int
tl_loop_new(tl_loop **out, const tl_options *opt)
{
    tl_options o = opt ? *opt : (tl_options){0};
    size_t pg = 4096, ss = o.stack_size ? o.stack_size : TL_STACK_DEFAULT;
    tl_loop *loop;
    int rc;

    if (!out || ss > ((size_t)1 << 30))
        return TL_EINVAL;
    if (ss < TL_STACK_MIN)
        ss = TL_STACK_MIN;
    if (!(loop = tl__calloc(sizeof *loop)))
        return TL_ENOMEM;
    tl__list_init(&loop->ready);
    tl__list_init(&loop->tasks);
    tl__list_init(&loop->objects);
    loop->pool.size = (ss + pg - 1) & ~(pg - 1);
    if (!o.env && (rc = pick_env(&o.env)) != 0)
        goto fail;
    loop->env = o.env;
    if ((rc = loop->env->open(&loop->envs, loop)) != 0)
        goto fail;
    if ((rc = seed_rng(loop, o.seed)) != 0)
        goto fail_env;
    if (loop->env->replay && (rc = tl__replay_attach(loop)) != 0)
        goto fail_env;
    if (!o.record)
        o.record = getenv("TAPELOOP_RECORD");
    if (o.record && *o.record && (rc = tl__record_attach(loop, o.record)) != 0)
        goto fail_env;
    loop->prev_last = tl__last;
    tl__last = loop;
    *out = loop;
    return 0;
fail_env:
    loop->env->close(loop->envs);
fail:
    tl__free(loop);
    return rc;
}

void
tl_loop_free(tl_loop *loop)
{
    tl_loop **pp;

    if (!loop || loop->running)
        return;                 /* freeing a running loop: refuse, not crash */
    while (!tl__list_empty(&loop->tasks))
        tl__task_free(tl__container_of(loop->tasks.next, tl_task, all));
    while (!tl__list_empty(&loop->objects)) {
        tl__obj *o = tl__container_of(loop->objects.next, tl__obj, node);
        if (o->kind == TL__SOCKET)
            tl__net_detach(o);
        else if (o->kind == TL__LOCK)
            tl__lock_detach(o);
        tl__list_del(&o->node);
        o->loop = NULL;
    }
    tl__reap(loop);
    tl__pool_fini(&loop->pool);
    tl__hooks_free(loop);
    tl__free(loop->heap);
    loop->env->close(loop->envs);
    for (pp = &tl__last; *pp; pp = &(*pp)->prev_last)
        if (*pp == loop) {
            *pp = loop->prev_last;
            break;
        }
    tl__free(loop);
}

/* ---- run: the phases --------------------------------------------------- */

/* Phase 1: ask the env for I/O readiness.  Waits only when nothing is
 * ready: until the next deadline, or for ever when only I/O can wake. */
static int
poll_io(tl_loop *loop)
{
    int64_t timeout = -1;

    if (loop->nready)
        timeout = 0;
    else if (loop->nheap)
        timeout = loop->heap[0]->deadline - tl__now_ns(loop);
    if (timeout < -1)
        timeout = 0;
    if (loop->nio == 0 && timeout == 0)
        return 0;               /* nothing to poll, nothing to wait for */
    return loop->env->poll(loop->envs, timeout);
}

/* Phase 3: one pass -- every task ready when it starts runs one step;
 * tasks made ready meanwhile wait for the next pass. */
static void
run_ready(tl_loop *loop)
{
    loop->pass_left = loop->nready;
    while (loop->pass_left && loop->nready)
        tl__step(loop);
}

static int
end_code(const tl_task *t)
{
    switch (t->state) {
    case TL_TASK_DONE: return 0;
    case TL_TASK_FAILED: return TL_EFAILED;
    case TL_TASK_CANCELLED: return TL_ECANCELED;
    default: return TL_EDEADLOCK;
    }
}

/* One deadlock event: a = how many tasks are blocked; the payload packs,
 * per blocked task, four uint32: task id, wait kind, TL_OBJ_* and id. */
static void
deadlock_event(tl_loop *loop)
{
    size_t n = tl_loop_waits(loop, NULL, 0);
    tl_wait *w = tl__alloc(n * sizeof *w);
    uint32_t *p = tl__alloc(n * 4 * sizeof *p);
    static const unsigned char okind[] = {
        TL_OBJ_NONE, TL_OBJ_TASK, TL_OBJ_NONE, TL_OBJ_QUEUE, TL_OBJ_QUEUE,
        TL_OBJ_QUEUE, TL_OBJ_FLAG, TL_OBJ_LOCK, TL_OBJ_COND, TL_OBJ_LATCH,
        TL_OBJ_SOCKET, TL_OBJ_SOCKET, TL_OBJ_SOCKET, TL_OBJ_SOCKET,
        TL_OBJ_NONE};

    if (w && p) {
        tl_loop_waits(loop, w, n);
        for (size_t i = 0; i < n; i++) {
            p[4 * i] = tl_task_id(w[i].task);
            p[4 * i + 1] = w[i].kind;
            p[4 * i + 2] = okind[w[i].kind];
            p[4 * i + 3] = w[i].object_id;
        }
    }
    TL__EV(loop, TL_EV_DEADLOCK, .a = (int64_t)n, .payload = p,
           .len = w && p ? n * 4 * sizeof *p : 0);
    tl__free(w);
    tl__free(p);
}

int
tl_loop_run(tl_loop *loop, tl_task_fn root, void *arg, void **result)
{
    tl_task *t;
    int rc;

    if (!loop || !root)
        return TL_EINVAL;
    if (tl__running)
        return TL_EBUSY;
    if (loop->tape && !tl__record_writer()) {
        loop->tape = NULL;      /* the journal is another thread's */
        tl__evmask_update(loop);
    }
    if ((rc = tl__task_new(&t, loop, root, arg, "main", 0)) != 0)
        return rc;
    loop->run = ++tl__runs;
    loop->tape_lr = tl__lr(loop->tape_loop, loop->run);
    TL__EV(loop, TL_EV_RUN_START, .okind = TL_OBJ_TASK, .object = t->id);
    TL__EV(loop, TL_EV_SPAWN, .okind = TL_OBJ_TASK, .object = t->id,
           .payload = "main", .len = 4);
    tl__make_ready(loop, t, 0, NULL);
    loop->root = t;
    loop->running = 1;
    tl__running = loop;
    tl__stack_guard_install();
    tl__ctx_main(&loop->sched);
    while (loop->nready || loop->nheap || loop->nio) {
        TL__EV_STALE(loop);     /* time passes between the phases */
        if ((rc = poll_io(loop)) != 0)          /* 1: I/O readiness */
            break;
        TL__EV_STALE(loop);
        if (loop->nheap)                        /* 2: expired timers */
            tl__run_timers(loop, tl__now_ns(loop));
        TL__EV_STALE(loop);
        run_ready(loop);                        /* 3: one pass */
    }
    tl__running = NULL;
    tl__reap(loop);
    loop->running = 0;
    loop->root = NULL;
    if (rc == 0)
        rc = loop->nparked ? TL_EDEADLOCK : end_code(t);
    if (rc == TL_EDEADLOCK && loop->evmask)
        deadlock_event(loop);
    TL__EV(loop, TL_EV_RUN_END, .a = rc);
    if (rc == 0 && result)
        *result = t->result;
    if (t->detached && t->state >= TL_TASK_DONE)
        tl__task_free(t);
    return rc;
}

/* ---- what blocked tasks wait on ------------------------------------- */

static void
describe(const tl_task *t, tl_wait *w)
{
    memset(w, 0, sizeof *w);
    w->task = t;
    w->kind = (tl_wait_kind)t->wait;
    w->object_name = "";
    if (t->wait == TL_WAIT_SLEEP) {
        w->until = (double)t->deadline / 1e9;
    } else if (t->wait == TL_WAIT_JOIN) {
        const tl_task *j = t->wobj;
        w->target = j;
        w->object_id = j->id;
        w->object_name = j->name ? j->name : "";
    } else if (t->wait != TL_WAIT_COMMAND && t->wobj) {
        const tl__obj *o = t->wobj;
        w->object_id = o->id;
        w->object_name = o->name ? o->name : "";
        if (t->wait == TL_WAIT_LOCK)
            w->target = tl__lock_owner(o);
    }
}

size_t
tl_loop_waits(const tl_loop *loop, tl_wait *out, size_t cap)
{
    size_t n = 0;

    if (!loop)
        return 0;
    for (const tl__link *l = loop->tasks.next; l != &loop->tasks; l = l->next) {
        const tl_task *t = tl__container_of(l, tl_task, all);
        if (t->state != TL_TASK_BLOCKED)
            continue;
        if (n < cap)
            describe(t, &out[n]);
        n++;
    }
    return n;
}

const char *
tl_wait_name(tl_wait_kind kind)
{
    static const char *const names[] = {
        "none", "join", "sleep", "get", "put", "peek", "flag", "lock",
        "cond", "latch", "accept", "connect", "recv", "send", "command"};
    return (unsigned)kind < sizeof names / sizeof *names ? names[kind] : "?";
}

int
tl_wait_format(const tl_wait *w, char *buf, size_t len)
{
    static const char *const what[] = {
        "", "task", "", "queue", "queue", "queue", "flag", "lock", "cond",
        "latch", "socket", "socket", "socket", "socket", ""};
    const char *name = tl_task_name(w->task), *obj = "";
    char tail[128] = "";

    if ((unsigned)w->kind < sizeof what / sizeof *what)
        obj = what[w->kind];
    if (w->kind == TL_WAIT_SLEEP)
        snprintf(tail, sizeof tail, "until %.6f", w->until);
    else if (*obj)
        snprintf(tail, sizeof tail, "%s %u \"%s\"", obj, w->object_id,
                 w->object_name);
    if (w->kind == TL_WAIT_LOCK && w->target)
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                 ", held by task %u", tl_task_id(w->target));
    return snprintf(buf, len, "task %u \"%s\" waits %s(%s)",
                    tl_task_id(w->task), name, tl_wait_name(w->kind), tail);
}

void
tl_loop_print_waits(const tl_loop *loop, FILE *f)
{
    size_t n = tl_loop_waits(loop, NULL, 0);
    tl_wait *w = n ? tl__alloc(n * sizeof *w) : NULL;
    char line[256];

    if (!w)
        return;
    tl_loop_waits(loop, w, n);
    for (size_t i = 0; i < n; i++) {
        tl_wait_format(&w[i], line, sizeof line);
        fprintf(f, "%s\n", line);
    }
    tl__free(w);
}
