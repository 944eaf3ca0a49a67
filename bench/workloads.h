/* SPDX-License-Identifier: MIT */
/* workloads.h -- the loop workloads both benchmarks run (bench_loop alone,
 * bench_record with recording off, counting or on): spawn+join, yields,
 * queue hand-offs.  The includer defines `result` (ops, param, extra) and
 * start_clock/stop_clock(result *), which bracket the timed part. */
#ifndef TL_WORKLOADS_H
#define TL_WORKLOADS_H

/* ---- spawn + join ------------------------------------------------------ */

static inline void *
return_arg(void *arg)
{
    return arg;
}

/* The root spawns one task at a time and joins it, then frees it. */
static inline void *
spawn_join_root(void *p)
{
    result *r = p;

    start_clock(r);
    for (long i = 0; i < r->ops; i++) {
        tl_task *t;
        void *v = NULL;
        CHECK(tl_spawn(&t, return_arg, int_ptr(i + 1), NULL));
        CHECK(tl_join(t, &v));
        if (v != int_ptr(i + 1))
            die("spawn_join: task %ld returned the wrong value", i);
        tl_task_detach(t);
    }
    stop_clock(r);
    return NULL;
}

/* ---- yields: tl_sleep(0) or tl_yield across r->param tasks ---------------- */

typedef struct yield_args {
    tl_flag *go;                /* set when the clock starts */
    long n;                     /* yields per task */
    int sleep0;                 /* 1: tl_sleep(0), 0: tl_yield() */
    int apart;                  /* every other task yields from elsewhere */
} yield_args;

static inline void *
yield_task(void *p)
{
    const yield_args *a = p;

    CHECK(tl_flag_wait(a->go));
    if (a->sleep0)
        for (long i = 0; i < a->n; i++)
            CHECK(tl_sleep(0));
    else
        for (long i = 0; i < a->n; i++)
            CHECK(tl_yield());
    return NULL;
}

/* yield_task's tl_yield loop from another call site: tasks that switch
 * between two call sites, as the tasks of real programs do, show what a
 * switch costs the CPU's return prediction (docs/loop.md). */
static inline void *
yield_task_apart(void *p)
{
    const yield_args *a = p;
    long i;

    CHECK(tl_flag_wait(a->go));
    for (i = 0; i < a->n; i++)
        CHECK(tl_yield());
    return (void *)i;
}

/* Spawns the yielders (they park on the flag), then times from setting the
 * flag to joining the last: the root is parked in join meanwhile, so
 * exactly r->param tasks take turns. */
static inline void
yield_run(result *r, int sleep0, int apart)
{
    yield_args a = {.n = r->ops / r->param, .sleep0 = sleep0, .apart = apart};
    tl_task **t = calloc((size_t)r->param, sizeof *t);

    if (!t)
        die("yield: out of memory");
    r->ops = a.n * r->param;
    CHECK(tl_flag_new(&a.go, NULL));
    for (int i = 0; i < r->param; i++)
        CHECK(tl_spawn(&t[i], apart && i % 2 ? yield_task_apart : yield_task,
                       &a, NULL));
    start_clock(r);
    CHECK(tl_flag_set(a.go));
    for (int i = 0; i < r->param; i++)
        CHECK(tl_join(t[i], NULL));
    stop_clock(r);
    tl_flag_free(a.go);
    free(t);
    snprintf(r->extra, sizeof r->extra, "tasks=%d apart=%d", r->param, apart);
}

static inline void *
sleep0_root(void *p)
{
    yield_run(p, 1, 0);
    return NULL;
}

static inline void *
yield_root(void *p)
{
    yield_run(p, 0, 0);
    return NULL;
}

static inline void *
yield_apart_root(void *p)
{
    yield_run(p, 0, 1);
    return NULL;
}

/* ---- task calls that do not switch, made from helper functions ------- */

/* A put and a get on a queue nobody else uses, three helper calls deep, as
 * programs make them: each helper's own return follows, so a task call
 * that left its call unpaired with a ret shows here (docs/loop.md). */
static __attribute__((noinline, unused)) long
nonblock_step(tl_queue *q, long i)
{
    void *it = NULL;

    CHECK(tl_queue_put(q, int_ptr(i)));
    CHECK(tl_queue_get(q, &it));
    return (long)(intptr_t)it;
}

static __attribute__((noinline, unused)) long
nonblock_helper(tl_queue *q, long i)
{
    return nonblock_step(q, i) + 1;
}

static __attribute__((noinline, unused)) long
nonblock_outer(tl_queue *q, long i)
{
    return nonblock_helper(q, i) + 1;
}

static inline void *
nonblock_root(void *p)
{
    result *r = p;
    tl_queue *q;
    long sum = 0;

    CHECK(tl_queue_new(&q, 0, NULL));
    start_clock(r);
    for (long i = 0; i < r->ops; i++)
        sum += nonblock_outer(q, i);
    stop_clock(r);
    if (sum != r->ops * (r->ops - 1) / 2 + 2 * r->ops)
        die("nonblock: items came back wrong");
    tl_queue_free(q);
    snprintf(r->extra, sizeof r->extra, "depth=3");
    return NULL;
}

/* ---- queues: producer to a waiting consumer ---------------------------- */

typedef struct queue_args {
    tl_queue *q;                /* the queue */
    long n;                     /* items to take */
} queue_args;

static inline void *
consumer_task(void *p)
{
    const queue_args *a = p;

    for (long i = 0; i < a->n; i++) {
        void *item = NULL;
        CHECK(tl_queue_get(a->q, &item));
        if (item != int_ptr(i + 1))
            die("queue: item %ld out of order", i);
    }
    return NULL;
}

/* The consumer runs first (spawn order) and parks in get, so every put
 * finds it waiting and hands the item over; maxlen proves it did. */
static inline void *
queue_root(void *p)
{
    result *r = p;
    queue_args a = {.n = r->ops};
    size_t maxlen = 0;
    tl_task *c;

    CHECK(tl_queue_new(&a.q, (size_t)r->param, NULL));
    CHECK(tl_spawn(&c, consumer_task, &a, NULL));
    if (tl_task_state_of(c) != TL_TASK_BLOCKED)
        die("queue: the consumer is not waiting");
    start_clock(r);
    for (long i = 0; i < r->ops; i++) {
        CHECK(tl_queue_put(a.q, int_ptr(i + 1)));
        if (tl_queue_len(a.q) > maxlen)
            maxlen = tl_queue_len(a.q);
    }
    CHECK(tl_join(c, NULL));
    stop_clock(r);
    tl_queue_free(a.q);
    snprintf(r->extra, sizeof r->extra, "maxsize=%d maxlen=%zu", r->param,
             maxlen);
    return NULL;
}

#endif
