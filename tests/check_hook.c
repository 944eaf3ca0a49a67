/* SPDX-License-Identifier: MIT */
/* check_hook.c -- events and hooks: the exact sequence of events each
 * command and outcome emits (spawn, yield, sleep, queues, join, cancel,
 * task ends, lock, flag, latch, cond, object creation, clock, random,
 * deadlock, runs, sockets), seq numbering, several hooks, masks, removal
 * and misuse.  A hook copies every event into an array; tests compare it
 * field by field with a table, ANY standing for what the clock decides.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tl_check.h"

#define ANY INT64_MIN           /* a field the test does not fix */
#define MAXEV 4096              /* events one test may collect */
#define PAYMAX 256              /* payload bytes kept per event */

/* One event as the hook saw it. */
typedef struct got {
    uint64_t seq;               /* tl_event.seq */
    int64_t time;               /* tl_event.time */
    uint32_t run;               /* tl_event.run */
    int kind, okind, flags;     /* tl_event.kind, okind, flags */
    int64_t task, object, a, b; /* tl_event.task, object, a, b */
    int has_payload;            /* payload was not NULL */
    size_t len;                 /* tl_event.len */
    unsigned char pay[PAYMAX];  /* its first PAYMAX bytes */
} got;

static got evs[MAXEV];
static size_t nev;
static int overflowed;

static void
collect(const tl_event *e, void *udata)
{
    got *g;

    (void)udata;
    if (nev == MAXEV) {
        overflowed = 1;
        return;
    }
    g = &evs[nev++];
    memset(g, 0, sizeof *g);
    g->seq = e->seq;
    g->time = e->time;
    g->run = e->run;
    g->kind = e->kind;
    g->okind = e->okind;
    g->flags = e->flags;
    g->task = e->task;
    g->object = e->object;
    g->a = e->a;
    g->b = e->b;
    g->has_payload = e->payload != NULL;
    g->len = e->len;
    if (e->payload)
        memcpy(g->pay, e->payload, e->len < PAYMAX ? e->len : PAYMAX);
}

static void
reset(void)
{
    nev = 0;
    overflowed = 0;
    unsetenv("TAPELOOP_RECORD");        /* hooks only: no recording */
}

/* One expected event.  pay: NULL leaves the payload unchecked, "" wants
 * none, else exactly these bytes (strlen). */
typedef struct want {
    int kind;
    int64_t task, okind, object, a, b, flags;
    const char *pay;
} want;

#define E(k, t, ok, o, a, b, f) {TL_EV_##k, t, ok, o, a, b, f, NULL}
#define EP(k, t, ok, o, a, b, f, p) {TL_EV_##k, t, ok, o, a, b, f, p}
#define IMM TL_EVF_IMMEDIATE
#define RUN_START(root) E(RUN_START, 0, TL_OBJ_TASK, root, 0, 0, 0)
#define RUN_END(rc) E(RUN_END, 0, TL_OBJ_NONE, 0, rc, 0, 0)
#define SPAWN(by, id, name) EP(SPAWN, by, TL_OBJ_TASK, id, 0, 0, 0, name)
#define RESUME(t, rc) E(RESUME, t, TL_OBJ_NONE, 0, rc, 0, 0)
#define BLOCK(t, ok, o, w) E(BLOCK, t, ok, o, w, 0, 0)
#define WAKE(t, rc, by) E(WAKE, t, TL_OBJ_NONE, 0, rc, by, 0)
#define DONE(t) EP(TASK_DONE, t, TL_OBJ_NONE, 0, 0, 0, 0, "")
#define JOIN(t, o, f) E(JOIN, t, TL_OBJ_TASK, o, 0, 0, f)
#define QEV(k, t, q, a, b, f) E(k, t, TL_OBJ_QUEUE, q, a, b, f)
/* Every run of a root named "main" starts so. */
#define PROLOGUE RUN_START(1), SPAWN(0, 1, "main"), RESUME(1, 0)

static int
field_ok(int64_t want_v, int64_t got_v)
{
    return want_v == ANY || want_v == got_v;
}

static int
event_ok(const want *w, const got *g)
{
    if (w->kind != g->kind || !field_ok(w->task, g->task) ||
        !field_ok(w->okind, g->okind) || !field_ok(w->object, g->object) ||
        !field_ok(w->a, g->a) || !field_ok(w->b, g->b) ||
        !field_ok(w->flags, g->flags))
        return 0;
    if (!w->pay)
        return 1;
    return g->len == strlen(w->pay) &&
           memcmp(g->pay, w->pay, g->len < PAYMAX ? g->len : PAYMAX) == 0;
}

static void
fmt_field(char *buf, size_t len, const char *name, int64_t v)
{
    if (v == ANY)
        snprintf(buf, len, " %s=*", name);
    else
        snprintf(buf, len, " %s=%lld", name, (long long)v);
}

static const char *
fmt_want(const want *w, char *buf, size_t len)
{
    const int64_t v[] = {w->task, w->okind, w->object, w->a, w->b, w->flags};
    static const char *const names[] = {"task", "ok", "obj", "a", "b", "fl"};
    size_t n = (size_t)snprintf(buf, len, "%s", tl_event_name(w->kind));

    for (size_t i = 0; i < 6 && n < len; i++) {
        fmt_field(buf + n, len - n, names[i], v[i]);
        n += strlen(buf + n);
    }
    if (w->pay && n < len)
        snprintf(buf + n, len - n, " pay=\"%s\"", w->pay);
    return buf;
}

static const char *
fmt_got(const got *g, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s task=%lld ok=%d obj=%lld a=%lld b=%lld "
                               "fl=%d", tl_event_name(g->kind),
                     (long long)g->task, g->okind, (long long)g->object,
                     (long long)g->a, (long long)g->b, g->flags);
    if (g->has_payload && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " pay=\"%.*s\"",
                 (int)(g->len < 40 ? g->len : 40), (const char *)g->pay);
    return buf;
}

/* Both sequences, side by side, on stderr. */
static void
dump(const want *w, size_t n, const got *g, size_t ng, const char *what)
{
    char a[256], b[256];

    fprintf(stderr, "---- %s: expected %zu events, got %zu\n", what, n, ng);
    for (size_t i = 0; i < n || i < ng; i++)
        fprintf(stderr, "%3zu %c %-60s | %s\n", i,
                i < n && i < ng && event_ok(&w[i], &g[i]) ? ' ' : '!',
                i < n ? fmt_want(&w[i], a, sizeof a) : "-",
                i < ng ? fmt_got(&g[i], b, sizeof b) : "-");
}

/* Compares g[0..ng) with w[0..n), exactly. */
static void
expect_in(const want *w, size_t n, const got *g, size_t ng, const char *what)
{
    char a[256], b[256];
    size_t i;

    ck_assert_msg(!overflowed, "%s: more than %d events", what, MAXEV);
    for (i = 0; i < n && i < ng; i++)
        if (!event_ok(&w[i], &g[i]))
            break;
    if (i == n && i == ng)
        return;
    dump(w, n, g, ng, what);
    ck_abort_msg("%s: event %zu: expected %s; got %s", what, i,
                 i < n ? fmt_want(&w[i], a, sizeof a) : "(end)",
                 i < ng ? fmt_got(&g[i], b, sizeof b) : "(end)");
}

#define EXPECT(arr) expect_in(arr, sizeof arr / sizeof *arr, evs, nev, #arr)

/* Every collected event is numbered one more than the one before. */
static void
expect_seq_from(uint64_t first)
{
    for (size_t i = 0; i < nev; i++)
        ck_assert_msg(evs[i].seq == first + i,
                      "event %zu (%s): seq %llu, expected %llu", i,
                      tl_event_name(evs[i].kind),
                      (unsigned long long)evs[i].seq,
                      (unsigned long long)(first + i));
}

/* Runs fn on a fresh loop (seed 1) with collect hooked for mask. */
static int
run_hooked(uint64_t mask, tl_task_fn fn, void *arg)
{
    tl_options opt = {.seed = 1};
    tl_loop *loop;
    int rc;

    ck_assert_int_eq(tl_loop_new(&loop, &opt), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, mask, collect, NULL), 0);
    rc = tl_loop_run(loop, fn, arg, NULL);
    tl_loop_free(loop);
    return rc;
}

static int64_t
mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- tasks: spawn, yield, sleep, join, cancel, ends ------------------ */

static void *
noop(void *arg)
{
    return arg;
}

static void *
spawn_root(void *arg)
{
    tl_task *c;

    (void)arg;
    ck_assert_int_eq(tl_spawn(&c, noop, NULL, "kid"), 0);
    ck_assert_int_eq(tl_join(c, NULL), 0);
    return NULL;
}

START_TEST(spawn_child_resumes_before_parent)
{
    static const want w[] = {
        PROLOGUE,
        SPAWN(1, 2, "kid"),
        RESUME(2, 0),           /* the child first */
        DONE(2),
        RESUME(1, 0),           /* then the parent */
        JOIN(1, 2, IMM),
        RESUME(1, 0),           /* join always yields */
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, spawn_root, NULL), 0);
    EXPECT(w);
    expect_seq_from(1);
}
END_TEST

static void *
yield_root(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_yield(), 0);
    ck_assert_int_eq(tl_sleep(0), 0);
    ck_assert_int_eq(tl_sleep(-1), 0);
    return NULL;
}

START_TEST(yield_step_is_yield_then_resume)
{
    static const want w[] = {
        PROLOGUE,
        E(YIELD, 1, TL_OBJ_NONE, 0, 0, 0, 0),
        RESUME(1, 0),
        E(SLEEP, 1, TL_OBJ_NONE, 0, 0, 0, IMM),        /* sleep(0) */
        RESUME(1, 0),
        E(SLEEP, 1, TL_OBJ_NONE, 0, 0, 0, IMM),        /* sleep(-1) */
        RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, yield_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static int64_t sleep_before, sleep_after;

static void *
sleep_root(void *arg)
{
    (void)arg;
    sleep_before = mono_ns();
    ck_assert_int_eq(tl_sleep(0.01), 0);
    sleep_after = mono_ns();
    return NULL;
}

START_TEST(sleep_blocks_and_the_loop_wakes_it)
{
    static const want w[] = {
        PROLOGUE,
        E(SLEEP, 1, TL_OBJ_NONE, 0, 10000000, ANY, 0),
        BLOCK(1, TL_OBJ_NONE, 0, TL_WAIT_SLEEP),
        WAKE(1, 0, 0),          /* by the loop */
        RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    int64_t deadline;

    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, sleep_root, NULL), 0);
    EXPECT(w);
    deadline = evs[3].b;
    ck_assert_msg(deadline >= sleep_before + 10000000 &&
                      deadline <= sleep_after,
                  "sleep deadline %lld not in [%lld, %lld]",
                  (long long)deadline, (long long)(sleep_before + 10000000),
                  (long long)sleep_after);
}
END_TEST

static void *
yield_twice(void *arg)
{
    tl_yield();
    tl_yield();
    return arg;
}

static void *
join_root(void *arg)
{
    tl_task *a, *b;
    void *r = NULL;

    (void)arg;
    tl_spawn(&a, noop, (void *)11, "a");
    tl_spawn(&b, yield_twice, (void *)22, "b");
    ck_assert_int_eq(tl_join(a, &r), 0);       /* a has ended */
    ck_assert_ptr_eq(r, (void *)11);
    ck_assert_int_eq(tl_join(b, &r), 0);       /* b still runs */
    ck_assert_ptr_eq(r, (void *)22);
    return NULL;
}

START_TEST(join_immediate_and_blocked)
{
    static const want w[] = {
        PROLOGUE,
        SPAWN(1, 2, "a"), RESUME(2, 0), DONE(2), RESUME(1, 0),
        SPAWN(1, 3, "b"), RESUME(3, 0),
        E(YIELD, 3, 0, 0, 0, 0, 0), RESUME(1, 0),
        JOIN(1, 2, IMM),        /* a ended: immediate, but yields */
        RESUME(3, 0),
        E(YIELD, 3, 0, 0, 0, 0, 0), RESUME(1, 0),
        JOIN(1, 3, 0),          /* b has not ended: blocks */
        BLOCK(1, TL_OBJ_TASK, 3, TL_WAIT_JOIN),
        RESUME(3, 0),
        DONE(3),
        WAKE(1, 0, 3),          /* by the task that ended */
        RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, join_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
sleep_hour(void *arg)
{
    ck_assert_int_eq(tl_sleep(3600), TL_ECANCELED);
    return arg;
}

static void *
yield_once(void *arg)
{
    ck_assert_int_eq(tl_yield(), 0);   /* granted before the cancel */
    return arg;
}

static void *
cancel_root(void *arg)
{
    tl_task *s, *y;

    (void)arg;
    tl_spawn(&s, sleep_hour, NULL, "sleeper");
    ck_assert_int_eq(tl_cancel(s), 0);
    ck_assert_int_eq(tl_join(s, NULL), TL_ECANCELED);
    ck_assert_int_eq(tl_cancel(s), TL_EINVAL); /* ended: no event */
    tl_spawn(&y, yield_once, NULL, "ready");
    ck_assert_int_eq(tl_cancel(y), 0);         /* ready: no wake */
    ck_assert_int_eq(tl_cancel(y), 0);         /* again: a = 1 */
    ck_assert_int_eq(tl_join(y, NULL), TL_ECANCELED);
    return NULL;
}

START_TEST(cancel_blocked_and_ready_tasks)
{
    static const want w[] = {
        PROLOGUE,
        SPAWN(1, 2, "sleeper"), RESUME(2, 0),
        E(SLEEP, 2, TL_OBJ_NONE, 0, 3600000000000LL, ANY, 0),
        BLOCK(2, TL_OBJ_NONE, 0, TL_WAIT_SLEEP),
        RESUME(1, 0),
        E(CANCEL, 1, TL_OBJ_TASK, 2, 0, 0, 0),
        WAKE(2, TL_ECANCELED, 1),
        JOIN(1, 2, 0),
        BLOCK(1, TL_OBJ_TASK, 2, TL_WAIT_JOIN),
        RESUME(2, TL_ECANCELED),
        EP(TASK_CANCELLED, 2, TL_OBJ_NONE, 0, 0, 0, 0, ""),
        WAKE(1, TL_ECANCELED, 2),
        RESUME(1, TL_ECANCELED),
        SPAWN(1, 3, "ready"), RESUME(3, 0),
        E(YIELD, 3, 0, 0, 0, 0, 0), RESUME(1, 0),
        E(CANCEL, 1, TL_OBJ_TASK, 3, 0, 0, 0),
        E(CANCEL, 1, TL_OBJ_TASK, 3, 1, 0, 0),  /* a = already cancelled */
        JOIN(1, 3, 0),
        BLOCK(1, TL_OBJ_TASK, 3, TL_WAIT_JOIN),
        RESUME(3, 0),
        EP(TASK_CANCELLED, 3, TL_OBJ_NONE, 0, 0, 0, 0, ""),
        WAKE(1, TL_ECANCELED, 3),
        RESUME(1, TL_ECANCELED),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, cancel_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
failer(void *arg)
{
    (void)arg;
    tl_fail("bad %d", 42);
}

static void *
fail_root(void *arg)
{
    tl_task *f;

    (void)arg;
    tl_spawn(&f, failer, NULL, "failer");
    ck_assert_int_eq(tl_join(f, NULL), TL_EFAILED);
    return NULL;
}

START_TEST(task_ends_done_failed_cancelled)
{
    static const want w[] = {
        PROLOGUE,
        SPAWN(1, 2, "failer"), RESUME(2, 0),
        EP(TASK_FAILED, 2, TL_OBJ_NONE, 0, 0, 0, 0, "bad 42"),
        RESUME(1, 0),
        JOIN(1, 2, IMM),
        RESUME(1, TL_EFAILED),
        DONE(1),
        RUN_END(0),
    };
    static const want root_fails[] = {
        PROLOGUE,
        EP(TASK_FAILED, 1, TL_OBJ_NONE, 0, 0, 0, 0, "bad 42"),
        RUN_END(TL_EFAILED),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, fail_root, NULL), 0);
    EXPECT(w);
    reset();
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, failer, NULL), TL_EFAILED);
    EXPECT(root_fails);
}
END_TEST

/* ---- queues ------------------------------------------------------------ */

static tl_queue *q;

static void *
put_root(void *arg)
{
    void *item;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, "q"), 0);
    for (long i = 1; i <= 3; i++)
        ck_assert_int_eq(tl_queue_put(q, (void *)i), 0);
    ck_assert_int_eq(tl_queue_get(q, &item), 0);
    ck_assert_ptr_eq(item, (void *)1);
    tl_queue_free(q);
    return NULL;
}

START_TEST(queue_put_immediate_when_nobody_waits)
{
    static const want w[] = {
        PROLOGUE,
        EP(QUEUE_NEW, 1, TL_OBJ_QUEUE, 1, 0, 0, 0, "q"),
        QEV(QUEUE_PUT, 1, 1, 1, 1, IMM),        /* a = item #, b = len */
        QEV(QUEUE_PUT, 1, 1, 2, 2, IMM),
        QEV(QUEUE_PUT, 1, 1, 3, 3, IMM),
        QEV(QUEUE_GET, 1, 1, 1, 2, IMM),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, put_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
getter(void *arg)
{
    void *item = NULL;

    ck_assert_int_eq(tl_queue_get(q, &item), (int)(long)arg);
    return item;
}

static void *
handoff_root(void *arg)
{
    tl_task *g;
    void *r = NULL;

    (void)arg;
    tl_queue_new(&q, 0, "q");
    tl_spawn(&g, getter, (void *)0, "getter");
    ck_assert_int_eq(tl_queue_put(q, (void *)7), 0);
    ck_assert_int_eq(tl_join(g, &r), 0);
    ck_assert_ptr_eq(r, (void *)7);
    tl_queue_free(q);
    return NULL;
}

START_TEST(queue_put_hands_over_to_blocked_getter)
{
    static const want w[] = {
        PROLOGUE,
        EP(QUEUE_NEW, 1, TL_OBJ_QUEUE, 1, 0, 0, 0, "q"),
        SPAWN(1, 2, "getter"), RESUME(2, 0),
        BLOCK(2, TL_OBJ_QUEUE, 1, TL_WAIT_GET),
        RESUME(1, 0),
        QEV(QUEUE_PUT, 1, 1, 1, 0, IMM),        /* never in the queue */
        QEV(QUEUE_HANDOFF, 1, 1, 1, 2, 0),      /* b = the getter */
        QEV(QUEUE_GET, 2, 1, 1, 0, 0),          /* not immediate */
        WAKE(2, 0, 1),                          /* by the putter */
        RESUME(2, 0),                           /* the getter first */
        DONE(2),
        RESUME(1, 0),
        JOIN(1, 2, IMM), RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, handoff_root, NULL), 0);
    EXPECT(w);
}
END_TEST

/* Spins for ms milliseconds of CLOCK_MONOTONIC: program code between two
 * commands, which the events' times must show. */
static void
spin_ms(int ms)
{
    int64_t end = mono_ns() + (int64_t)ms * 1000000;

    while (mono_ns() < end)
        ;
}

static void *
slow_getter(void *arg)
{
    void *item = NULL;

    (void)arg;
    ck_assert_int_eq(tl_queue_get(q, &item), 0);
    spin_ms(2);                         /* then ends: task_done is later */
    return item;
}

static int64_t before_put;             /* CLOCK_MONOTONIC, ns */

static void *
stamp_root(void *arg)
{
    tl_task *g;

    (void)arg;
    tl_queue_new(&q, 0, "q");
    tl_spawn(&g, slow_getter, NULL, "getter");
    tl_now();                           /* an event in the put's step */
    spin_ms(2);                         /* the put is 2 ms after the block */
    before_put = mono_ns();
    ck_assert_int_eq(tl_queue_put(q, (void *)7), 0);
    spin_ms(2);
    ck_assert_int_eq(tl_queue_put(q, (void *)8), 0);     /* immediate */
    ck_assert_int_eq(tl_join(g, NULL), 0);
    tl_queue_free(q);
    return NULL;
}

/* The index of the n-th (from 0) collected event of kind k. */
static size_t
nth(int k, int n)
{
    for (size_t i = 0; i < nev; i++)
        if (evs[i].kind == k && n-- == 0)
            return i;
    ck_abort_msg("no %s #%d", tl_event_name(k), n);
    return 0;
}

static void *
freed_root(void *arg)
{
    tl_task *g;

    (void)arg;
    tl_queue_new(&q, 0, "q");
    tl_spawn(&g, getter, (void *)(long)TL_ECLOSED, "getter");
    tl_now();                           /* a reading in this step */
    spin_ms(2);
    tl_queue_free(q);                   /* wakes the getter: no event first */
    ck_assert_int_eq(tl_join(g, NULL), 0);
    return NULL;
}

START_TEST(a_free_reads_the_clock_for_its_wakes)
{
    const int64_t ms = 1000000;

    ck_assert_int_eq(run_hooked(TL_EVMASK(TL_EV_CLOCK) |
                                TL_EVMASK(TL_EV_WAKE), freed_root, NULL), 0);
    ck_assert_uint_ge(nev, 2);          /* clock, the getter's wake, ... */
    ck_assert_int_eq(evs[0].kind, TL_EV_CLOCK);
    ck_assert_int_eq(evs[1].kind, TL_EV_WAKE);
    ck_assert_int_eq(evs[1].task, 2);
    ck_assert_int_eq(evs[1].a, TL_ECLOSED);
    ck_assert_int_ge(evs[1].time - evs[0].time, 2 * ms);
}
END_TEST

START_TEST(events_of_one_command_share_its_time)
{
    const int64_t ms = 1000000;
    size_t put, handoff, get, wake, resume, done, put2;

    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, stamp_root, NULL), 0);
    put = nth(TL_EV_QUEUE_PUT, 0);
    handoff = nth(TL_EV_QUEUE_HANDOFF, 0);
    get = nth(TL_EV_QUEUE_GET, 0);
    wake = nth(TL_EV_WAKE, 0);
    resume = wake + 1;
    done = nth(TL_EV_TASK_DONE, 0);
    put2 = nth(TL_EV_QUEUE_PUT, 1);
    ck_assert_int_eq(evs[resume].kind, TL_EV_RESUME);
    ck_assert_int_eq(evs[resume].task, 2);
    /* The put's consequences, and the switch to the getter that follows
     * it, carry the put's time: no program code ran between them. */
    ck_assert_int_eq(evs[handoff].time, evs[put].time);
    ck_assert_int_eq(evs[get].time, evs[put].time);
    ck_assert_int_eq(evs[wake].time, evs[put].time);
    ck_assert_int_eq(evs[resume].time, evs[put].time);
    /* Commands after program code read the clock again. */
    ck_assert_int_ge(evs[put].time - evs[nth(TL_EV_BLOCK, 0)].time, 2 * ms);
    ck_assert_int_ge(evs[done].time - evs[put].time, 2 * ms);
    ck_assert_int_ge(evs[put2].time - evs[done].time, 2 * ms);
    for (size_t i = 1; i < nev; i++)
        ck_assert_int_ge(evs[i].time, evs[i - 1].time);
    /* A hook that wants only the consequences still sees fresh times: the
     * put it does not want reads the clock for them all the same. */
    reset();
    ck_assert_int_eq(run_hooked(TL_EVMASK(TL_EV_WAKE) |
                                TL_EVMASK(TL_EV_TASK_DONE) |
                                TL_EVMASK(TL_EV_CLOCK), stamp_root,
                                NULL), 0);
    ck_assert_uint_eq(nev, 4);          /* clock, wake, done, done */
    ck_assert_int_eq(evs[1].kind, TL_EV_WAKE);
    ck_assert_int_ge(evs[1].time, before_put - ms / 2);
    ck_assert_int_ge(evs[2].time - evs[1].time, 2 * ms);
}
END_TEST

static void *
putter(void *arg)
{
    ck_assert_int_eq(tl_queue_put(q, arg), 0);
    return NULL;
}

static void *
full_root(void *arg)
{
    tl_task *p;
    void *item;

    (void)arg;
    tl_queue_new(&q, 1, "one");
    ck_assert_int_eq(tl_queue_put(q, (void *)1), 0);
    tl_spawn(&p, putter, (void *)2, "putter");  /* blocks: full */
    ck_assert_int_eq(tl_queue_get(q, &item), 0);
    ck_assert_ptr_eq(item, (void *)1);
    ck_assert_uint_eq(tl_queue_len(q), 1);      /* the putter's item */
    tl_join(p, NULL);
    ck_assert_int_eq(tl_queue_get(q, &item), 0);
    ck_assert_ptr_eq(item, (void *)2);
    tl_queue_free(q);
    return NULL;
}

START_TEST(queue_blocked_putter_moves_in_on_get)
{
    static const want w[] = {
        PROLOGUE,
        EP(QUEUE_NEW, 1, TL_OBJ_QUEUE, 1, 1, 0, 0, "one"),  /* a = maxsize */
        QEV(QUEUE_PUT, 1, 1, 1, 1, IMM),
        SPAWN(1, 2, "putter"), RESUME(2, 0),
        BLOCK(2, TL_OBJ_QUEUE, 1, TL_WAIT_PUT),
        RESUME(1, 0),
        QEV(QUEUE_GET, 1, 1, 1, 0, IMM),
        QEV(QUEUE_PUT, 2, 1, 2, 1, 0),          /* the putter's, now */
        WAKE(2, 0, 1),
        JOIN(1, 2, 0),
        BLOCK(1, TL_OBJ_TASK, 2, TL_WAIT_JOIN),
        RESUME(2, 0),
        DONE(2),
        WAKE(1, 0, 2),
        RESUME(1, 0),
        QEV(QUEUE_GET, 1, 1, 2, 0, IMM),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, full_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
peeker(void *arg)
{
    void *item = NULL;

    (void)arg;
    ck_assert_int_eq(tl_queue_peek(q, &item), 0);
    return item;
}

static void *
peek_root(void *arg)
{
    tl_task *p;
    void *item = NULL;

    (void)arg;
    tl_queue_new(&q, 0, "pq");
    tl_spawn(&p, peeker, NULL, "peeker");
    tl_queue_put(q, (void *)5);
    ck_assert_int_eq(tl_queue_peek(q, &item), 0);
    ck_assert_ptr_eq(item, (void *)5);
    ck_assert_uint_eq(tl_queue_len(q), 1);
    tl_join(p, &item);
    ck_assert_ptr_eq(item, (void *)5);
    tl_queue_free(q);
    return NULL;
}

START_TEST(queue_peek_immediate_and_blocked)
{
    static const want w[] = {
        PROLOGUE,
        EP(QUEUE_NEW, 1, TL_OBJ_QUEUE, 1, 0, 0, 0, "pq"),
        SPAWN(1, 2, "peeker"), RESUME(2, 0),
        BLOCK(2, TL_OBJ_QUEUE, 1, TL_WAIT_PEEK),
        RESUME(1, 0),
        QEV(QUEUE_PUT, 1, 1, 1, 1, IMM),        /* stays in the queue */
        QEV(QUEUE_PEEK, 2, 1, 1, 1, 0),         /* a = the head's number */
        WAKE(2, 0, 1),
        RESUME(2, 0),
        DONE(2),
        RESUME(1, 0),
        QEV(QUEUE_PEEK, 1, 1, 1, 1, IMM),
        JOIN(1, 2, IMM), RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, peek_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
close_root(void *arg)
{
    tl_task *g1, *g2;

    (void)arg;
    tl_queue_new(&q, 0, "cq");
    tl_spawn(&g1, getter, (void *)(long)TL_ECLOSED, "g1");
    tl_spawn(&g2, getter, (void *)(long)TL_ECLOSED, "g2");
    ck_assert_int_eq(tl_queue_close(q), 0);
    ck_assert_int_eq(tl_queue_close(q), 0);    /* again: a = 1 */
    tl_join(g1, NULL);
    tl_join(g2, NULL);
    tl_queue_free(q);
    return NULL;
}

START_TEST(queue_close_wakes_waiters_with_eclosed)
{
    static const want w[] = {
        PROLOGUE,
        EP(QUEUE_NEW, 1, TL_OBJ_QUEUE, 1, 0, 0, 0, "cq"),
        SPAWN(1, 2, "g1"), RESUME(2, 0),
        BLOCK(2, TL_OBJ_QUEUE, 1, TL_WAIT_GET), RESUME(1, 0),
        SPAWN(1, 3, "g2"), RESUME(3, 0),
        BLOCK(3, TL_OBJ_QUEUE, 1, TL_WAIT_GET), RESUME(1, 0),
        QEV(QUEUE_CLOSE, 1, 1, 0, 0, 0),        /* a = was closed, b = len */
        WAKE(2, TL_ECLOSED, 1),
        WAKE(3, TL_ECLOSED, 1),
        RESUME(2, TL_ECLOSED), DONE(2),
        RESUME(3, TL_ECLOSED), DONE(3),
        RESUME(1, 0),
        QEV(QUEUE_CLOSE, 1, 1, 1, 0, 0),
        RESUME(1, 0),
        JOIN(1, 2, IMM), RESUME(1, 0),
        JOIN(1, 3, IMM), RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, close_root, NULL), 0);
    EXPECT(w);
}
END_TEST

/* ---- sync objects ------------------------------------------------------ */

static tl_lock *lk;
static tl_cond *cv;
static tl_flag *fl;
static tl_latch *la;

static void *
lock_taker(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);
    return NULL;
}

static void *
lock_root(void *arg)
{
    tl_task *w;

    (void)arg;
    tl_lock_new(&lk, "lk");
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    tl_spawn(&w, lock_taker, NULL, "w");
    ck_assert_int_eq(tl_lock_release(lk), 0);
    tl_join(w, NULL);
    ck_assert(!tl_lock_is_locked(lk));
    tl_lock_free(lk);
    return NULL;
}

START_TEST(lock_acquire_immediate_and_handed_over)
{
    static const want w[] = {
        PROLOGUE,
        EP(SYNC_NEW, 1, TL_OBJ_LOCK, 1, 0, 0, 0, "lk"),
        E(LOCK_ACQUIRE, 1, TL_OBJ_LOCK, 1, 0, 0, IMM),
        SPAWN(1, 2, "w"), RESUME(2, 0),
        BLOCK(2, TL_OBJ_LOCK, 1, TL_WAIT_LOCK),
        RESUME(1, 0),
        E(LOCK_RELEASE, 1, TL_OBJ_LOCK, 1, 0, 2, 0),    /* b = new owner */
        E(LOCK_ACQUIRE, 2, TL_OBJ_LOCK, 1, 0, 0, 0),    /* handed over */
        WAKE(2, 0, 1),
        JOIN(1, 2, 0), BLOCK(1, TL_OBJ_TASK, 2, TL_WAIT_JOIN),
        RESUME(2, 0),
        E(LOCK_RELEASE, 2, TL_OBJ_LOCK, 1, 0, 0, 0),    /* b = 0: free */
        DONE(2),
        WAKE(1, 0, 2), RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, lock_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
flag_waiter(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_flag_wait(fl), 0);
    return NULL;
}

static void *
flag_root(void *arg)
{
    tl_task *w;

    (void)arg;
    tl_flag_new(&fl, "fl");
    tl_spawn(&w, flag_waiter, NULL, "w");
    ck_assert_int_eq(tl_flag_set(fl), 0);
    ck_assert_int_eq(tl_flag_set(fl), 0);      /* again: a = 1 */
    ck_assert_int_eq(tl_flag_wait(fl), 0);     /* set: immediate */
    tl_join(w, NULL);
    tl_flag_free(fl);
    return NULL;
}

START_TEST(flag_set_and_wait)
{
    static const want w[] = {
        PROLOGUE,
        EP(SYNC_NEW, 1, TL_OBJ_FLAG, 1, 0, 0, 0, "fl"),
        SPAWN(1, 2, "w"), RESUME(2, 0),
        E(FLAG_WAIT, 2, TL_OBJ_FLAG, 1, 0, 0, 0),
        BLOCK(2, TL_OBJ_FLAG, 1, TL_WAIT_FLAG),
        RESUME(1, 0),
        E(FLAG_SET, 1, TL_OBJ_FLAG, 1, 0, 0, 0),
        WAKE(2, 0, 1),
        E(FLAG_SET, 1, TL_OBJ_FLAG, 1, 1, 0, 0),
        E(FLAG_WAIT, 1, TL_OBJ_FLAG, 1, 0, 0, IMM),
        JOIN(1, 2, 0), BLOCK(1, TL_OBJ_TASK, 2, TL_WAIT_JOIN),
        RESUME(2, 0), DONE(2),
        WAKE(1, 0, 2), RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, flag_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
latch_waiter(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_latch_wait(la), 0);
    return NULL;
}

static void *
latch_root(void *arg)
{
    tl_task *w;

    (void)arg;
    tl_latch_new(&la, 2, "la");
    tl_spawn(&w, latch_waiter, NULL, "w");
    ck_assert_int_eq(tl_latch_count_down(la), 0);
    ck_assert_int_eq(tl_latch_count_down(la), 0);
    ck_assert_int_eq(tl_latch_count_down(la), TL_EINVAL);  /* no event */
    ck_assert_int_eq(tl_latch_wait(la), 0);
    tl_join(w, NULL);
    tl_latch_free(la);
    return NULL;
}

START_TEST(latch_count_down_and_wait)
{
    static const want w[] = {
        PROLOGUE,
        EP(SYNC_NEW, 1, TL_OBJ_LATCH, 1, 2, 0, 0, "la"),   /* a = count */
        SPAWN(1, 2, "w"), RESUME(2, 0),
        E(LATCH_WAIT, 2, TL_OBJ_LATCH, 1, 0, 0, 0),
        BLOCK(2, TL_OBJ_LATCH, 1, TL_WAIT_LATCH),
        RESUME(1, 0),
        E(LATCH_COUNT_DOWN, 1, TL_OBJ_LATCH, 1, 1, 0, 0),  /* a = after */
        E(LATCH_COUNT_DOWN, 1, TL_OBJ_LATCH, 1, 0, 0, 0),
        WAKE(2, 0, 1),
        E(LATCH_WAIT, 1, TL_OBJ_LATCH, 1, 0, 0, IMM),
        JOIN(1, 2, 0), BLOCK(1, TL_OBJ_TASK, 2, TL_WAIT_JOIN),
        RESUME(2, 0), DONE(2),
        WAKE(1, 0, 2), RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, latch_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
cond_waiter(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_cond_wait(cv), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);
    return NULL;
}

static void *
cond_root(void *arg)
{
    tl_task *w;

    (void)arg;
    tl_lock_new(&lk, "m");
    tl_cond_new(&cv, lk, "cv");
    tl_spawn(&w, cond_waiter, NULL, "w");
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_cond_notify(cv), 0);
    ck_assert_int_eq(tl_cond_notify_all(cv), 0);   /* nobody left: a = -1 */
    ck_assert_int_eq(tl_lock_release(lk), 0);
    tl_join(w, NULL);
    tl_cond_free(cv);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(cond_wait_and_notify)
{
    static const want w[] = {
        PROLOGUE,
        EP(SYNC_NEW, 1, TL_OBJ_LOCK, 1, 0, 0, 0, "m"),
        EP(SYNC_NEW, 1, TL_OBJ_COND, 2, 0, 0, 0, "cv"),
        SPAWN(1, 2, "w"), RESUME(2, 0),
        E(LOCK_ACQUIRE, 2, TL_OBJ_LOCK, 1, 0, 0, IMM),
        E(COND_WAIT, 2, TL_OBJ_COND, 2, 0, 1, 0),       /* b = the lock */
        E(LOCK_RELEASE, 2, TL_OBJ_LOCK, 1, 0, 0, 0),
        BLOCK(2, TL_OBJ_COND, 2, TL_WAIT_COND),
        RESUME(1, 0),
        E(LOCK_ACQUIRE, 1, TL_OBJ_LOCK, 1, 0, 0, IMM),
        E(COND_NOTIFY, 1, TL_OBJ_COND, 2, 1, 0, 0),     /* a = 1: one */
        BLOCK(2, TL_OBJ_LOCK, 1, TL_WAIT_LOCK),         /* now on the lock */
        E(COND_NOTIFY, 1, TL_OBJ_COND, 2, -1, 0, 0),    /* a = -1: all */
        E(LOCK_RELEASE, 1, TL_OBJ_LOCK, 1, 0, 2, 0),
        E(LOCK_ACQUIRE, 2, TL_OBJ_LOCK, 1, 0, 0, 0),
        WAKE(2, 0, 1),
        JOIN(1, 2, 0), BLOCK(1, TL_OBJ_TASK, 2, TL_WAIT_JOIN),
        RESUME(2, 0),
        E(LOCK_RELEASE, 2, TL_OBJ_LOCK, 1, 0, 0, 0),
        DONE(2),
        WAKE(1, 0, 2), RESUME(1, 0),
        DONE(1),
        RUN_END(0),
    };
    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, cond_root, NULL), 0);
    EXPECT(w);
}
END_TEST

static void *
objects_root(void *arg)
{
    tl_queue *jobs, *anon;
    tl_flag *f;
    tl_lock *l;
    tl_cond *c;
    tl_latch *t;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&jobs, 5, "jobs"), 0);
    ck_assert_int_eq(tl_queue_new(&anon, 0, NULL), 0);
    ck_assert_int_eq(tl_flag_new(&f, "go"), 0);
    ck_assert_int_eq(tl_lock_new(&l, "mutex"), 0);
    ck_assert_int_eq(tl_cond_new(&c, l, "ready"), 0);
    ck_assert_int_eq(tl_latch_new(&t, 3, "three"), 0);
    tl_latch_free(t);
    tl_cond_free(c);
    tl_lock_free(l);
    tl_flag_free(f);
    tl_queue_free(anon);
    tl_queue_free(jobs);
    return NULL;
}

START_TEST(objects_new_carry_their_names)
{
    static const want w[] = {
        EP(QUEUE_NEW, 0, TL_OBJ_QUEUE, 1, 0, 0, 0, "early"),   /* no run */
        RUN_START(1), SPAWN(0, 1, "main"), RESUME(1, 0),
        EP(QUEUE_NEW, 1, TL_OBJ_QUEUE, 2, 5, 0, 0, "jobs"),
        EP(QUEUE_NEW, 1, TL_OBJ_QUEUE, 3, 0, 0, 0, ""),
        EP(SYNC_NEW, 1, TL_OBJ_FLAG, 1, 0, 0, 0, "go"),
        EP(SYNC_NEW, 1, TL_OBJ_LOCK, 2, 0, 0, 0, "mutex"),
        EP(SYNC_NEW, 1, TL_OBJ_COND, 3, 0, 0, 0, "ready"),
        EP(SYNC_NEW, 1, TL_OBJ_LATCH, 4, 3, 0, 0, "three"),
        DONE(1),
        RUN_END(0),
    };
    tl_loop *loop;
    tl_queue *early;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_queue_new(&early, 0, "early"), 0);
    ck_assert_int_eq(tl_loop_run(loop, objects_root, NULL, NULL), 0);
    tl_loop_free(loop);
    tl_queue_free(early);
    EXPECT(w);
    ck_assert_uint_eq(evs[0].run, 0);          /* before any run */
    ck_assert_uint_eq(evs[1].run, evs[2].run);
    ck_assert_uint_gt(evs[1].run, 0);
    expect_seq_from(1);
}
END_TEST

/* ---- clock, random ---------------------------------------------------- */

static double clock_seen;
static uint64_t random_seen;

static void *
clock_root(void *arg)
{
    (void)arg;
    clock_seen = tl_now();
    random_seen = tl_random();
    return NULL;
}

START_TEST(clock_and_random_are_events)
{
    static const want w[] = {
        PROLOGUE,
        E(CLOCK, 1, TL_OBJ_NONE, 0, ANY, 0, 0),
        E(RANDOM, 1, TL_OBJ_NONE, 0, ANY, 0, 0),
        DONE(1),
        RUN_END(0),
    };
    tl_options opt = {.seed = 7};
    tl_loop *loop;
    uint64_t first;
    double ns;

    ck_assert_int_eq(tl_loop_new(&loop, &opt), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    (void)tl_now();                     /* no loop runs: no event */
    ck_assert_uint_eq(tl_random(), 0);  /* likewise */
    ck_assert_int_eq(tl_loop_run(loop, clock_root, NULL, NULL), 0);
    tl_loop_free(loop);
    EXPECT(w);
    ns = clock_seen * 1e9;
    ck_assert_msg(evs[3].a > ns - 1000 && evs[3].a < ns + 1000,
                  "clock event a=%lld, tl_now()*1e9=%.0f",
                  (long long)evs[3].a, ns);
    ck_assert_msg((uint64_t)evs[4].a == random_seen,
                  "random event a=%llx, tl_random()=%llx",
                  (unsigned long long)evs[4].a,
                  (unsigned long long)random_seen);
    /* The same seed draws the same number, and the event says so. */
    first = random_seen;
    reset();
    ck_assert_int_eq(tl_loop_new(&loop, &opt), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK(TL_EV_RANDOM), collect,
                                      NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, clock_root, NULL, NULL), 0);
    tl_loop_free(loop);
    ck_assert_uint_eq(nev, 1);
    ck_assert_uint_eq(random_seen, first);
    ck_assert_uint_eq((uint64_t)evs[0].a, first);
}
END_TEST

/* ---- deadlock, runs, seq ------------------------------------------------- */

static void *
deadlock_root(void *arg)
{
    tl_task *g;

    (void)arg;
    tl_spawn(&g, getter, NULL, "stuck");
    tl_join(g, NULL);                   /* never returns */
    return NULL;
}

START_TEST(deadlock_event_lists_every_blocked_task)
{
    static const want w[] = {
        EP(QUEUE_NEW, 0, TL_OBJ_QUEUE, 1, 0, 0, 0, "dq"),
        PROLOGUE,
        SPAWN(1, 2, "stuck"), RESUME(2, 0),
        BLOCK(2, TL_OBJ_QUEUE, 1, TL_WAIT_GET),
        RESUME(1, 0),
        JOIN(1, 2, 0), BLOCK(1, TL_OBJ_TASK, 2, TL_WAIT_JOIN),
        E(DEADLOCK, 0, TL_OBJ_NONE, 0, 2, 0, 0),        /* a = blocked */
        RUN_END(TL_EDEADLOCK),
    };
    const uint32_t waits[8] = {1, TL_WAIT_JOIN, TL_OBJ_TASK, 2,
                               2, TL_WAIT_GET, TL_OBJ_QUEUE, 1};
    tl_loop *loop;
    const got *d;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_queue_new(&q, 0, "dq"), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_root, NULL, NULL),
                     TL_EDEADLOCK);
    tl_loop_free(loop);
    tl_queue_free(q);
    EXPECT(w);
    d = &evs[nev - 2];
    ck_assert_msg(d->has_payload && d->len == sizeof waits,
                  "deadlock payload: %zu bytes, expected %zu", d->len,
                  sizeof waits);
    for (size_t i = 0; i < 8; i++) {
        uint32_t v;
        memcpy(&v, d->pay + 4 * i, sizeof v);
        ck_assert_msg(v == waits[i], "deadlock payload word %zu: %u, "
                      "expected %u", i, v, waits[i]);
    }
}
END_TEST

START_TEST(runs_start_and_end_and_seq_goes_on)
{
    static const want w[] = {
        RUN_START(1), SPAWN(0, 1, "main"), RESUME(1, 0), DONE(1), RUN_END(0),
        RUN_START(2), SPAWN(0, 2, "main"), RESUME(2, 0),
        EP(TASK_FAILED, 2, TL_OBJ_NONE, 0, 0, 0, 0, "bad 42"),
        RUN_END(TL_EFAILED),
    };
    tl_loop *loop;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, noop, NULL, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, failer, NULL, NULL), TL_EFAILED);
    tl_loop_free(loop);
    EXPECT(w);
    expect_seq_from(1);
    for (size_t i = 0; i < nev; i++) {
        ck_assert_uint_eq(evs[i].run, evs[0].run + (i >= 5));
        if (i)
            ck_assert_msg(evs[i].time >= evs[i - 1].time,
                          "event %zu: time %lld before %lld", i,
                          (long long)evs[i].time,
                          (long long)evs[i - 1].time);
    }
}
END_TEST

/* ---- custom commands ----------------------------------------------------- */

static void
on_command(tl_loop *loop, tl_task *task, int code, void *arg, void *udata)
{
    (void)loop, (void)udata, (void)arg;
    tl_resume(task, code + 1, NULL, false);
}

static void *
command_root(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_command(41, NULL, NULL), 42);
    return NULL;
}

START_TEST(command_blocks_until_resumed)
{
    static const want w[] = {
        PROLOGUE,
        E(COMMAND, 1, TL_OBJ_NONE, 0, 41, 0, 0),
        BLOCK(1, TL_OBJ_NONE, 0, TL_WAIT_COMMAND),
        WAKE(1, 42, 0),
        RESUME(1, 42),
        DONE(1),
        RUN_END(0),
    };
    tl_loop *loop;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    tl_loop_set_command(loop, on_command, NULL);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, command_root, NULL, NULL), 0);
    tl_loop_free(loop);
    EXPECT(w);
}
END_TEST

/* A handler that takes 2 ms and keeps the task, which main resumes
 * later; meanwhile the other tasks of the pass go on. */
static tl_task *kept;

static void
slow_command(tl_loop *loop, tl_task *task, int code, void *arg, void *udata)
{
    (void)loop, (void)udata, (void)arg, (void)code;
    spin_ms(2);
    kept = task;
}

static void *
commander(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_yield(), 0);
    ck_assert_int_eq(tl_command(1, NULL, NULL), 0);
    return NULL;
}

static void *
four_yields(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tl_yield(), 0);
    return NULL;
}

static void *
slow_command_root(void *arg)
{
    tl_task *c, *o;

    (void)arg;
    tl_spawn(&c, commander, NULL, "c");
    tl_spawn(&o, four_yields, NULL, "o");       /* due in the same pass */
    for (int i = 0; i < 8; i++)
        tl_yield();
    ck_assert_ptr_nonnull(kept);
    ck_assert_int_eq(tl_resume(kept, 0, NULL, false), 0);
    tl_join(c, NULL);
    tl_join(o, NULL);
    return NULL;
}

START_TEST(a_command_handlers_time_shows)
{
    const int64_t ms = 1000000;
    size_t cmd = 0, next;
    tl_loop *loop;

    kept = NULL;
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    tl_loop_set_command(loop, slow_command, NULL);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, slow_command_root, NULL, NULL), 0);
    tl_loop_free(loop);
    while (cmd < nev && evs[cmd].kind != TL_EV_COMMAND)
        cmd++;
    ck_assert_uint_lt(cmd + 2, nev);
    /* After the command and its block, the handler ran 2 ms: the next
     * task's resume is that much later. */
    next = cmd + 2;
    ck_assert_int_eq(evs[next].kind, TL_EV_RESUME);
    ck_assert_int_ge(evs[next].time - evs[cmd].time, 2 * ms);
}
END_TEST

/* ---- hooks: order, masks, removal, misuse -------------------------------- */

static char order[MAXEV * 2];
static size_t norder;

static void
tag(const tl_event *e, void *udata)
{
    (void)e;
    if (norder < sizeof order)
        order[norder++] = *(const char *)udata;
}

START_TEST(hooks_are_called_in_registration_order)
{
    tl_loop *loop;
    size_t n;

    norder = 0;
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, tag, "a"), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, tag, "b"), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, tag, "c"), 0);
    ck_assert_int_eq(tl_loop_run(loop, spawn_root, NULL, NULL), 0);
    tl_loop_free(loop);
    n = nev;
    ck_assert_uint_eq(n, 11);
    ck_assert_uint_eq(norder, 3 * n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(memcmp(order + 3 * i, "abc", 3) == 0,
                      "event %zu: hooks called as %.3s, expected abc", i,
                      order + 3 * i);
}
END_TEST

START_TEST(masks_filter_kinds)
{
    uint64_t mask = TL_EVMASK(TL_EV_SPAWN) | TL_EVMASK(TL_EV_TASK_DONE) |
                    TL_EVMASK(TL_EV_QUEUE_PUT);
    static const want w[] = {
        SPAWN(0, 1, "main"),
        SPAWN(1, 2, "kid"),
        DONE(2),
        DONE(1),
    };
    tl_loop *loop;

    ck_assert_int_eq(run_hooked(mask, spawn_root, NULL), 0);
    EXPECT(w);
    /* Kinds nobody wants are not emitted, so they take no seq: a masked
     * hook alone sees 1, 2, 3, ... */
    expect_seq_from(1);
    /* Beside a hook that wants everything, it sees the shared numbers:
     * spawn main is the 2nd event, spawn kid the 4th. */
    reset();
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, mask, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, tag, "t"), 0);
    norder = 0;
    ck_assert_int_eq(tl_loop_run(loop, spawn_root, NULL, NULL), 0);
    tl_loop_free(loop);
    EXPECT(w);
    ck_assert_uint_eq(norder, 11);
    ck_assert_uint_eq(evs[0].seq, 2);
    ck_assert_uint_eq(evs[1].seq, 4);
    ck_assert_uint_eq(evs[2].seq, 6);
    ck_assert_uint_eq(evs[3].seq, 10);
    /* Bits past the last kind are ignored, not refused. */
    reset();
    ck_assert_int_eq(run_hooked(TL_EVMASK(TL_EV_RUN_END) | ~TL_EVMASK_ALL,
                                noop, NULL), 0);
    ck_assert_uint_eq(nev, 1);
    ck_assert_int_eq(evs[0].kind, TL_EV_RUN_END);
}
END_TEST

static tl_loop *remove_loop;
static size_t tagged_before_remove;

static void *
remove_root(void *arg)
{
    (void)arg;
    tl_yield();
    tagged_before_remove = norder;
    ck_assert_int_eq(tl_loop_remove_hook(remove_loop, tag, "x"), 0);
    tl_yield();
    return NULL;
}

START_TEST(remove_hook_stops_calls)
{
    tl_loop *loop;

    norder = 0;
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    remove_loop = loop;
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, tag, "x"), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, remove_root, NULL, NULL), 0);
    /* x saw the 5 events before the removal; collect saw all 9. */
    ck_assert_uint_eq(tagged_before_remove, 5);
    ck_assert_uint_eq(norder, 5);
    ck_assert_uint_eq(nev, 9);
    /* Gone: removing again fails; collect stays. */
    ck_assert_int_eq(tl_loop_remove_hook(loop, tag, "x"), TL_EINVAL);
    ck_assert_int_eq(tl_loop_remove_hook(loop, collect, (void *)1),
                     TL_EINVAL);               /* udata must match too */
    ck_assert_int_eq(tl_loop_remove_hook(NULL, collect, NULL), TL_EINVAL);
    /* The same pair twice is called twice; removing drops one. */
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, tag, "y"), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, tag, "y"), 0);
    ck_assert_int_eq(tl_loop_remove_hook(loop, collect, NULL), 0);
    norder = 0;
    ck_assert_int_eq(tl_loop_run(loop, noop, NULL, NULL), 0);
    ck_assert_uint_eq(norder, 2 * 5);
    ck_assert_int_eq(tl_loop_remove_hook(loop, tag, "y"), 0);
    norder = 0;
    ck_assert_int_eq(tl_loop_run(loop, noop, NULL, NULL), 0);
    ck_assert_uint_eq(norder, 5);
    ck_assert_int_eq(tl_loop_remove_hook(loop, tag, "y"), 0);
    ck_assert_int_eq(tl_loop_remove_hook(loop, tag, "y"), TL_EINVAL);
    tl_loop_free(loop);
}
END_TEST

START_TEST(add_hook_rejects_bad_arguments)
{
    tl_loop *loop;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(NULL, TL_EVMASK_ALL, collect, NULL),
                     TL_EINVAL);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, NULL, NULL),
                     TL_EINVAL);
    ck_assert_int_eq(tl_loop_add_hook(loop, 0, collect, NULL), TL_EINVAL);
    ck_assert_int_eq(tl_loop_add_hook(loop, ~TL_EVMASK_ALL, collect, NULL),
                     TL_EINVAL);               /* no real kind in it */
    ck_assert_int_eq(tl_loop_run(loop, spawn_root, NULL, NULL), 0);
    tl_loop_free(loop);
    ck_assert_uint_eq(nev, 0);                  /* none was added */
    ck_assert_str_eq(tl_event_name(TL_EV_QUEUE_PUT), "queue_put");
    ck_assert_str_eq(tl_event_name(TL_EV_DEADLOCK), "deadlock");
    ck_assert_str_eq(tl_event_name(TL_EV__COUNT), "?");
    ck_assert_str_eq(tl_event_name(-1), "?");
}
END_TEST

START_TEST(no_hook_nothing_is_called)
{
    tl_loop *a, *b;

    norder = 0;
    ck_assert_int_eq(tl_loop_new(&a, NULL), 0);
    ck_assert_int_eq(tl_loop_new(&b, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(a, TL_EVMASK_ALL, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(b, TL_EVMASK_ALL, tag, "b"), 0);
    ck_assert_int_eq(tl_loop_remove_hook(a, collect, NULL), 0);
    ck_assert_int_eq(tl_loop_run(a, spawn_root, NULL, NULL), 0);
    ck_assert_uint_eq(nev, 0);                  /* removed: silent */
    ck_assert_uint_eq(norder, 0);               /* b's hook: not a's */
    ck_assert_int_eq(tl_loop_run(b, noop, NULL, NULL), 0);
    ck_assert_uint_eq(norder, 5);
    ck_assert_uint_eq(nev, 0);
    tl_loop_free(a);
    tl_loop_free(b);
}
END_TEST

/* ---- sockets ------------------------------------------------------------- */

static tl_socket *lsn;
static int lsn_port;

static void *
sock_server(void *arg)
{
    tl_socket *c;
    char buf[64];

    (void)arg;
    ck_assert_int_eq(tl_accept(lsn, &c), 0);
    ck_assert_uint_eq(tl_socket_id(c), 3);
    ck_assert_int_eq(tl_recv(c, buf, sizeof buf), 5);  /* waits: nothing sent */
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_int_eq(tl_send(c, "world", 5), 5);
    tl_socket_close(c);
    return NULL;
}

static void *
sock_root(void *arg)
{
    tl_socket *c;
    tl_task *s;
    char buf[64];

    (void)arg;
    ck_assert_int_eq(tl_listen(&lsn, "127.0.0.1", 0, 8), 0);
    lsn_port = tl_socket_port(lsn);
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", lsn_port), 0);
    tl_spawn(&s, sock_server, NULL, "server");
    ck_assert_int_eq(tl_send(c, "hello", 5), 5);
    ck_assert_int_eq(tl_recv(c, buf, sizeof buf), 5);  /* waits */
    ck_assert_int_eq(memcmp(buf, "world", 5), 0);
    ck_assert_int_eq(tl_recv(c, buf, sizeof buf), 0);  /* end of stream */
    tl_socket_close(c);
    tl_socket_close(lsn);
    tl_join(s, NULL);
    return NULL;
}

/* Copies into out the events of task t that concern sockets. */
static size_t
socket_events_of(int64_t t, got *out)
{
    size_t n = 0;

    for (size_t i = 0; i < nev; i++) {
        const got *g = &evs[i];
        int sock = g->kind >= TL_EV_SOCKET_LISTEN &&
                   g->kind <= TL_EV_SOCKET_CLOSE;
        if (g->task == t && (sock || (g->kind == TL_EV_BLOCK &&
                                      g->okind == TL_OBJ_SOCKET)))
            out[n++] = *g;
    }
    return n;
}

/* Whether task t blocked (BLOCK on wait) between the start event of kind
 * start and the ready event after it; checks the ready's flags agree. */
static void
expect_flags_agree(int64_t t, int start, int wait)
{
    int open = 0, blocked = 0;

    for (size_t i = 0; i < nev; i++) {
        const got *g = &evs[i];
        if (g->task != t)
            continue;
        if (g->kind == start) {
            open = 1;
            blocked = 0;
        } else if (open && g->kind == TL_EV_BLOCK && g->a == wait) {
            blocked = 1;
        } else if (open && g->kind == start + 1) {
            ck_assert_msg(g->flags == (blocked ? 0 : (int)IMM),
                          "%s of task %lld: flags %d but it %s",
                          tl_event_name(g->kind), (long long)t, g->flags,
                          blocked ? "blocked" : "did not block");
            open = 0;
        }
    }
}

START_TEST(socket_events_carry_ids_and_bytes)
{
    got mine[64];
    size_t n;
    int64_t p;

    ck_assert_int_eq(run_hooked(TL_EVMASK_ALL, sock_root, NULL), 0);
    p = lsn_port;
    {
        const want root[] = {
            EP(SOCKET_LISTEN, 1, TL_OBJ_SOCKET, 1, p, 0, 0, "127.0.0.1"),
            EP(SOCKET_CONNECT_START, 1, TL_OBJ_SOCKET, 2, p, 0, 0,
               "127.0.0.1"),
            E(SOCKET_CONNECT_READY, 1, TL_OBJ_SOCKET, 2, 0, 0, ANY),
            E(SOCKET_SEND_START, 1, TL_OBJ_SOCKET, 2, 5, 0, 0),
            E(SOCKET_SEND_READY, 1, TL_OBJ_SOCKET, 2, 5, 0, IMM),
            EP(SOCKET_SEND, 1, TL_OBJ_SOCKET, 2, 5, 0, 0, "hello"),
            E(SOCKET_RECV_START, 1, TL_OBJ_SOCKET, 2, 64, 0, 0),
            BLOCK(1, TL_OBJ_SOCKET, 2, TL_WAIT_RECV),
            E(SOCKET_RECV_READY, 1, TL_OBJ_SOCKET, 2, 5, 0, 0),
            EP(SOCKET_RECV, 1, TL_OBJ_SOCKET, 2, 5, 0, 0, "world"),
            E(SOCKET_RECV_START, 1, TL_OBJ_SOCKET, 2, 64, 0, 0),
            E(SOCKET_RECV_READY, 1, TL_OBJ_SOCKET, 2, 0, 0, ANY),
            EP(SOCKET_RECV, 1, TL_OBJ_SOCKET, 2, 0, 0, 0, ""),
            E(SOCKET_CLOSE, 1, TL_OBJ_SOCKET, 2, 0, 0, 0),
            E(SOCKET_CLOSE, 1, TL_OBJ_SOCKET, 1, 0, 0, 0),
        };
        const want server[] = {
            E(SOCKET_ACCEPT_START, 2, TL_OBJ_SOCKET, 1, 0, 0, 0),
            E(SOCKET_ACCEPT_READY, 2, TL_OBJ_SOCKET, 1, 0, 3, ANY),
            E(SOCKET_RECV_START, 2, TL_OBJ_SOCKET, 3, 64, 0, 0),
            BLOCK(2, TL_OBJ_SOCKET, 3, TL_WAIT_RECV),
            E(SOCKET_RECV_READY, 2, TL_OBJ_SOCKET, 3, 5, 0, 0),
            EP(SOCKET_RECV, 2, TL_OBJ_SOCKET, 3, 5, 0, 0, "hello"),
            E(SOCKET_SEND_START, 2, TL_OBJ_SOCKET, 3, 5, 0, 0),
            E(SOCKET_SEND_READY, 2, TL_OBJ_SOCKET, 3, 5, 0, IMM),
            EP(SOCKET_SEND, 2, TL_OBJ_SOCKET, 3, 5, 0, 0, "world"),
            E(SOCKET_CLOSE, 2, TL_OBJ_SOCKET, 3, 0, 0, 0),
        };
        /* connect and accept may or may not wait: drop their blocks,
         * then check each ready's flags against whether it blocked. */
        n = socket_events_of(1, mine);
        for (size_t i = 0, k = 0; i <= n; i++)
            if (i == n)
                n = k;
            else if (!(mine[i].kind == TL_EV_BLOCK &&
                       mine[i].a == TL_WAIT_CONNECT))
                mine[k++] = mine[i];
        expect_in(root, sizeof root / sizeof *root, mine, n, "root");
        n = socket_events_of(2, mine);
        for (size_t i = 0, k = 0; i <= n; i++)
            if (i == n)
                n = k;
            else if (!(mine[i].kind == TL_EV_BLOCK &&
                       mine[i].a == TL_WAIT_ACCEPT))
                mine[k++] = mine[i];
        expect_in(server, sizeof server / sizeof *server, mine, n,
                  "server");
    }
    expect_flags_agree(1, TL_EV_SOCKET_CONNECT_START, TL_WAIT_CONNECT);
    expect_flags_agree(2, TL_EV_SOCKET_ACCEPT_START, TL_WAIT_ACCEPT);
    expect_flags_agree(1, TL_EV_SOCKET_RECV_START, TL_WAIT_RECV);
    expect_seq_from(1);
}
END_TEST

Suite *
tl_hook_suite(void)
{
    Suite *s = suite_create("hook");
    TCase *tasks = tcase_create("tasks"), *queues = tcase_create("queues");
    TCase *sync = tcase_create("sync"), *loop = tcase_create("loop");
    TCase *hooks = tcase_create("hooks"), *net = tcase_create("net");
    TCase *all[] = {tasks, queues, sync, loop, hooks, net};

    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        tcase_add_checked_fixture(all[i], reset, NULL);
    tcase_add_test(tasks, spawn_child_resumes_before_parent);
    tcase_add_test(tasks, yield_step_is_yield_then_resume);
    tcase_add_test(tasks, sleep_blocks_and_the_loop_wakes_it);
    tcase_add_test(tasks, join_immediate_and_blocked);
    tcase_add_test(tasks, cancel_blocked_and_ready_tasks);
    tcase_add_test(tasks, task_ends_done_failed_cancelled);
    tcase_add_test(tasks, command_blocks_until_resumed);
    tcase_add_test(tasks, a_command_handlers_time_shows);
    tcase_add_test(queues, queue_put_immediate_when_nobody_waits);
    tcase_add_test(queues, queue_put_hands_over_to_blocked_getter);
    tcase_add_test(queues, events_of_one_command_share_its_time);
    tcase_add_test(queues, a_free_reads_the_clock_for_its_wakes);
    tcase_add_test(queues, queue_blocked_putter_moves_in_on_get);
    tcase_add_test(queues, queue_peek_immediate_and_blocked);
    tcase_add_test(queues, queue_close_wakes_waiters_with_eclosed);
    tcase_add_test(sync, lock_acquire_immediate_and_handed_over);
    tcase_add_test(sync, flag_set_and_wait);
    tcase_add_test(sync, latch_count_down_and_wait);
    tcase_add_test(sync, cond_wait_and_notify);
    tcase_add_test(sync, objects_new_carry_their_names);
    tcase_add_test(loop, clock_and_random_are_events);
    tcase_add_test(loop, deadlock_event_lists_every_blocked_task);
    tcase_add_test(loop, runs_start_and_end_and_seq_goes_on);
    tcase_add_test(hooks, hooks_are_called_in_registration_order);
    tcase_add_test(hooks, masks_filter_kinds);
    tcase_add_test(hooks, remove_hook_stops_calls);
    tcase_add_test(hooks, add_hook_rejects_bad_arguments);
    tcase_add_test(hooks, no_hook_nothing_is_called);
    tcase_add_test(net, socket_events_carry_ids_and_bytes);
    tcase_set_timeout(net, 30);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        suite_add_tcase(s, all[i]);
    return s;
}

TL_CHECK_MAIN(tl_hook_suite)
