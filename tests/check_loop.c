/* SPDX-License-Identifier: MIT */
/* check_loop.c -- the loop and its tasks: run, spawn order, join, cancel,
 * sleep and timers, deadlock, ids, re-running, custom commands, failure,
 * misuse, allocation failure, errors, stacks.  Orderings are asserted
 * through a log of short strings that tasks append to.
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "tl_check.h"

static char logbuf[4096];

static void
say(const char *fmt, ...)
{
    size_t n = strlen(logbuf);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(logbuf + n, sizeof logbuf - n, fmt, ap);
    va_end(ap);
}

static void
reset(void)
{
    logbuf[0] = 0;
}

/* ---- run, spawn, join ------------------------------------------------ */

static void *
ret_arg(void *arg)
{
    return arg;
}

START_TEST(run_returns_root_value)
{
    void *r = NULL;
    ck_assert_int_eq(tl_check_run(ret_arg, (void *)7, &r), 0);
    ck_assert_ptr_eq(r, (void *)7);
    ck_assert_int_eq(tl_check_run(ret_arg, NULL, NULL), 0);
}
END_TEST

static void *
child_say(void *arg)
{
    say("%s ", (const char *)arg);
    return arg;
}

static void *
spawn_order_root(void *arg)
{
    tl_task *a, *b;
    (void)arg;
    ck_assert_int_eq(tl_spawn(&a, child_say, "a", "a"), 0);
    say("p1 ");
    ck_assert_int_eq(tl_spawn(&b, child_say, "b", "b"), 0);
    say("p2 ");
    ck_assert_int_eq(tl_join(a, NULL), 0);
    ck_assert_int_eq(tl_join(b, NULL), 0);
    return NULL;
}

START_TEST(spawn_child_runs_first)
{
    reset();
    ck_assert_int_eq(tl_check_run(spawn_order_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "a p1 b p2 ");
}
END_TEST

static void *
yielder(void *arg)
{
    for (int i = 0; i < 3; i++) {
        say("%s%d ", (const char *)arg, i);
        ck_assert_int_eq(tl_sleep(0), 0);
    }
    return NULL;
}

static void *
round_robin_root(void *arg)
{
    tl_task *a, *b;
    (void)arg;
    tl_spawn(&a, yielder, "a", NULL);
    tl_spawn(&b, yielder, "b", NULL);
    tl_join(a, NULL);
    tl_join(b, NULL);
    return NULL;
}

START_TEST(sleep_zero_yields_to_tail)
{
    /* a runs first and yields behind the root; the root spawns b: ready
     * is then a, b, root -- so a1 comes before b0; then round robin. */
    reset();
    ck_assert_int_eq(tl_check_run(round_robin_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "a0 a1 b0 a2 b1 b2 ");
}
END_TEST

static void *
join_values_root(void *arg)
{
    tl_task *t;
    void *r = NULL;
    (void)arg;
    tl_spawn(&t, ret_arg, (void *)5, "five");
    ck_assert_int_eq(tl_join(t, &r), 0);
    ck_assert_ptr_eq(r, (void *)5);
    r = NULL;
    ck_assert_int_eq(tl_join(t, &r), 0);        /* again: same value */
    ck_assert_ptr_eq(r, (void *)5);
    ck_assert_int_eq(tl_task_state_of(t), TL_TASK_DONE);
    ck_assert_int_eq(tl_join(tl_self(), NULL), TL_EINVAL);
    ck_assert_int_eq(tl_join(NULL, NULL), TL_EINVAL);
    return NULL;
}

START_TEST(join_values_and_misuse)
{
    ck_assert_int_eq(tl_check_run(join_values_root, NULL, NULL), 0);
}
END_TEST

static void *
failer(void *arg)
{
    if (arg)
        tl_fail("bad %d", 42);
    return NULL;
}

static void *
fail_root(void *arg)
{
    tl_task *t;
    (void)arg;
    tl_spawn(&t, failer, (void *)1, "failer");
    ck_assert_int_eq(tl_join(t, NULL), TL_EFAILED);
    ck_assert_int_eq(tl_join(t, NULL), TL_EFAILED);
    ck_assert_str_eq(tl_task_error(t), "bad 42");
    ck_assert_int_eq(tl_task_state_of(t), TL_TASK_FAILED);
    ck_assert_ptr_null(tl_task_error(tl_self()));
    return NULL;
}

START_TEST(fail_reaches_joiners)
{
    ck_assert_int_eq(tl_check_run(fail_root, NULL, NULL), 0);
    ck_assert_int_eq(tl_check_run(failer, (void *)1, NULL), TL_EFAILED);
}
END_TEST

static void *
detached_spawner(void *arg)
{
    (void)arg;
    tl_spawn(NULL, yielder, "x", "x");
    tl_spawn(NULL, yielder, "y", "y");
    return (void *)3;           /* returns while x and y still run */
}

START_TEST(spawned_tasks_are_waited_for)
{
    void *r = NULL;
    reset();
    ck_assert_int_eq(tl_check_run(detached_spawner, NULL, &r), 0);
    ck_assert_ptr_eq(r, (void *)3);
    ck_assert_str_eq(logbuf, "x0 x1 y0 x2 y1 y2 ");
}
END_TEST

/* ---- cancellation ---------------------------------------------------- */

static tl_queue *cq;

static void *
blocked_getter(void *arg)
{
    void *item;
    int rc = tl_queue_get(cq, &item);
    say("get=%s ", tl_err_name(rc));
    rc = tl_yield();                            /* sticky */
    say("yield=%s ", tl_err_name(rc));
    rc = tl_sleep(0.5);
    say("sleep=%s ", tl_err_name(rc));
    return arg;
}

static void *
cancel_blocked_root(void *arg)
{
    tl_task *t;
    void *r = NULL;
    (void)arg;
    ck_assert_int_eq(tl_queue_new(&cq, 0, "cq"), 0);
    tl_spawn(&t, blocked_getter, (void *)1, "g");
    ck_assert_int_eq(tl_task_state_of(t), TL_TASK_BLOCKED);
    ck_assert_int_eq(tl_cancel(t), 0);
    ck_assert_int_eq(tl_cancel(t), 0);          /* de-duplicated */
    ck_assert_int_eq(tl_task_state_of(t), TL_TASK_READY);
    ck_assert_int_eq(tl_join(t, &r), TL_ECANCELED);
    ck_assert_int_eq(tl_task_state_of(t), TL_TASK_CANCELLED);
    ck_assert_int_eq(tl_cancel(t), TL_EINVAL);  /* already ended */
    tl_queue_put(cq, (void *)9);                /* nobody steals it */
    ck_assert_uint_eq(tl_queue_len(cq), 1);
    tl_queue_free(cq);
    return NULL;
}

START_TEST(cancel_blocked_task_is_sticky)
{
    reset();
    ck_assert_int_eq(tl_check_run(cancel_blocked_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf,
                     "get=TL_ECANCELED yield=TL_ECANCELED sleep=TL_ECANCELED ");
}
END_TEST

static void *
sleeper(void *arg)
{
    int rc = tl_sleep(3600);
    say("sleep=%s ", tl_err_name(rc));
    return arg;
}

static void *
cancel_sleeper_root(void *arg)
{
    tl_task *t;
    double t0 = tl_now();
    (void)arg;
    tl_spawn(&t, sleeper, NULL, "sleeper");
    tl_cancel(t);
    ck_assert_int_eq(tl_join(t, NULL), TL_ECANCELED);
    ck_assert(tl_now() - t0 < 1.0);             /* did not wait an hour */
    return NULL;
}

START_TEST(cancel_sleeper_leaves_heap)
{
    reset();
    ck_assert_int_eq(tl_check_run(cancel_sleeper_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "sleep=TL_ECANCELED ");
}
END_TEST

static tl_task *join_target;

static void *
joiner(void *arg)
{
    int rc = tl_join(join_target, NULL);
    say("join=%s ", tl_err_name(rc));
    return arg;
}

static void *
cancel_joiner_root(void *arg)
{
    tl_task *j;
    (void)arg;
    tl_spawn(&join_target, sleeper, NULL, "target");
    tl_spawn(&j, joiner, NULL, "joiner");
    tl_cancel(j);                               /* out of the join wait */
    tl_join(j, NULL);
    say("| ");
    tl_cancel(join_target);
    tl_join(join_target, NULL);
    return NULL;
}

START_TEST(cancel_join_waiter)
{
    reset();
    ck_assert_int_eq(tl_check_run(cancel_joiner_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "join=TL_ECANCELED | sleep=TL_ECANCELED ");
}
END_TEST

static void *
never_runs(void *arg)
{
    (void)arg;
    say("ran ");
    return NULL;
}

static void *
cancel_unstarted_root(void *arg)
{
    tl_task *t, *self = tl_self();
    (void)arg;
    /* Spawn from a helper so that the child is still queued when the
     * root cancels it: the root cancels itself too (allowed, sticky). */
    tl_spawn(&t, never_runs, NULL, "x");        /* x runs first... */
    ck_assert_int_eq(tl_join(t, NULL), 0);
    ck_assert_int_eq(tl_cancel(self), 0);
    ck_assert_int_eq(tl_yield(), TL_ECANCELED);
    ck_assert_int_eq(tl_spawn(&t, never_runs, NULL, "y"), TL_ECANCELED);
    return NULL;
}

START_TEST(cancel_self_and_spawn_refused)
{
    reset();
    ck_assert_int_eq(tl_check_run(cancel_unstarted_root, NULL, NULL),
                     TL_ECANCELED);
    ck_assert_str_eq(logbuf, "ran ");
}
END_TEST

/* Y runs ahead of the task it cancels: it was queued first. */
static tl_task *victim;

static void *
canceller(void *arg)
{
    (void)arg;
    tl_sleep(0);                        /* now queued ahead of the victim */
    ck_assert_int_eq(tl_cancel(victim), 0);
    return NULL;
}

static void *
ready_cancel_getter(void *arg)
{
    void *item = NULL;
    int rc = tl_queue_get(cq, &item);
    say("get=%s,%ld ", tl_err_name(rc), (long)item);
    rc = tl_queue_get(cq, &item);
    say("next=%s ", tl_err_name(rc));
    return arg;
}

static void *
ready_cancel_root(void *arg)
{
    tl_task *y;
    (void)arg;
    tl_queue_new(&cq, 0, "cq");
    tl_spawn(&victim, ready_cancel_getter, NULL, "g");  /* blocks in get */
    tl_spawn(&y, canceller, NULL, "y");                 /* yields */
    tl_queue_put(cq, (void *)7);    /* ready: y, g(with 7), root */
    ck_assert_int_eq(tl_join(victim, NULL), TL_ECANCELED);
    tl_join(y, NULL);
    ck_assert_uint_eq(tl_queue_len(cq), 0);
    tl_queue_free(cq);
    return NULL;
}

START_TEST(cancel_keeps_delivered_item)
{
    /* g was woken with item 7 before y cancelled it: it keeps the item
     * and its next blocking call reports the cancellation. */
    reset();
    ck_assert_int_eq(tl_check_run(ready_cancel_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "get=0,7 next=TL_ECANCELED ");
}
END_TEST

/* A lock granted to a waiter that is cancelled before it runs: it keeps
 * the lock (its acquire returns 0), so the lock is never lost. */
static tl_lock *lk;
static tl_task *lk_waiter;

static void *
lock_waiter(void *arg)
{
    int rc = tl_lock_acquire(lk);
    say("acq=%s ", tl_err_name(rc));
    if (rc == 0)
        tl_lock_release(lk);
    return arg;
}

static void *
granted_cancel_root(void *arg)
{
    (void)arg;
    tl_lock_new(&lk, "lk");
    tl_lock_acquire(lk);
    tl_spawn(&lk_waiter, lock_waiter, NULL, "w");   /* parks on lk */
    tl_lock_release(lk);            /* handed to w, w ready (no yield) */
    tl_cancel(lk_waiter);           /* w is ready: keeps the grant */
    tl_join(lk_waiter, NULL);
    ck_assert(!tl_lock_is_locked(lk));
    tl_lock_free(lk);
    return NULL;
}

START_TEST(cancel_ready_task_keeps_grant)
{
    reset();
    ck_assert_int_eq(tl_check_run(granted_cancel_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "acq=0 ");
}
END_TEST

static void *
unstarted_root(void *arg)
{
    tl_task *y;
    (void)arg;
    tl_spawn(&y, canceller, NULL, "y");         /* yields: queued first */
    tl_spawn(&victim, never_runs, NULL, "v");   /* queued behind y */
    ck_assert_int_eq(tl_join(victim, NULL), TL_ECANCELED);
    ck_assert_int_eq(tl_task_state_of(victim), TL_TASK_CANCELLED);
    tl_join(y, NULL);
    return NULL;
}

START_TEST(cancel_before_first_step_never_runs)
{
    reset();
    ck_assert_int_eq(tl_check_run(unstarted_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "");
}
END_TEST

/* ---- sleep and timers ------------------------------------------------ */

static void *
timed(void *arg)
{
    tl_sleep((double)(long)arg / 1000.0);
    say("%ld ", (long)arg);
    return NULL;
}

static void *
sleep_order_root(void *arg)
{
    long d[] = {30, 10, 20, 10, 10};
    tl_task *t[5];
    (void)arg;
    for (int i = 0; i < 5; i++)
        tl_spawn(&t[i], timed, (void *)d[i], NULL);
    for (int i = 0; i < 5; i++)
        tl_join(t[i], NULL);
    return NULL;
}

START_TEST(sleepers_wake_by_deadline)
{
    reset();
    ck_assert_int_eq(tl_check_run(sleep_order_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "10 10 10 20 30 ");
}
END_TEST

/* A frozen clock that moves only when the loop waits: sleeps set exactly
 * equal deadlines, and a one-hour sleep takes no time. */
static int64_t fake_ns;
static int fake_open(void **st, tl_loop *l) { (void)l; *st = NULL; return 0; }
static void fake_close(void *st) { (void)st; }
static int64_t fake_now(void *st) { (void)st; return fake_ns; }
static uint64_t fake_seed(void *st) { (void)st; return 1; }
static int
fake_poll(void *st, int64_t timeout)
{
    (void)st;
    if (timeout < 0)
        return TL_EINVAL;       /* nothing but I/O could wake: none here */
    fake_ns += timeout;
    return 0;
}
static int
fake_watch(void *st, tl_socket *s, int fd, int dir, void **slot)
{
    (void)st, (void)s, (void)fd, (void)dir, (void)slot;
    return TL_EINVAL;
}
static void fake_unwatch(void *st, int dir, void **slot) { (void)st, (void)dir, (void)slot; }
static ssize_t
fake_sock(void *st, tl_sockreq *req, void **slot)
{
    (void)st, (void)req, (void)slot;
    return -ENOSYS;
}
static const tl_env fake_env = {
    .name = "fake", .cheap_now = 1, .open = fake_open, .close = fake_close,
    .now = fake_now, .seed = fake_seed, .poll = fake_poll,
    .watch = fake_watch, .unwatch = fake_unwatch, .sock = fake_sock};

static void *
eq_sleeper(void *arg)
{
    tl_sleep(0.005);
    say("%ld ", (long)arg);
    return NULL;
}

static void *
equal_deadline_root(void *arg)
{
    tl_task *t[8];
    (void)arg;
    for (long i = 0; i < 8; i++)
        tl_spawn(&t[i], eq_sleeper, (void *)i, NULL);
    for (int i = 0; i < 8; i++)
        tl_join(t[i], NULL);
    ck_assert(tl_now() == 0.005);
    ck_assert_int_eq(tl_sleep(3600), 0);        /* virtual: instant */
    return NULL;
}

START_TEST(equal_deadlines_wake_fifo)
{
    tl_options o = {.env = &fake_env};
    tl_loop *loop;

    reset();
    fake_ns = 0;
    ck_assert_int_eq(tl_loop_new(&loop, &o), 0);
    ck_assert_int_eq(tl_loop_run(loop, equal_deadline_root, NULL, NULL), 0);
    tl_loop_free(loop);
    ck_assert_str_eq(logbuf, "0 1 2 3 4 5 6 7 ");
}
END_TEST

static void *
sleep_elapsed_root(void *arg)
{
    double t0 = tl_now();
    (void)arg;
    ck_assert_int_eq(tl_sleep(0.02), 0);
    ck_assert(tl_now() - t0 >= 0.02);
    ck_assert_int_eq(tl_sleep(-1), 0);
    ck_assert_int_eq(tl_sleep(NAN), TL_EINVAL);
    return NULL;
}

START_TEST(sleep_waits_and_rejects_nan)
{
    ck_assert_int_eq(tl_check_run(sleep_elapsed_root, NULL, NULL), 0);
}
END_TEST

/* ---- deadlock, re-running, ids ----------------------------------------- */

static tl_queue *dq;

static void *
dl_getter(void *arg)
{
    void *x;
    return (void *)(long)tl_queue_get(dq, &x) + (long)arg;
}

static void *
deadlock_root(void *arg)
{
    tl_task *t;
    (void)arg;
    tl_spawn(&t, dl_getter, NULL, "sink");
    tl_join(t, NULL);
    return NULL;
}

static void *
release_root(void *arg)
{
    (void)arg;
    tl_queue_put(dq, (void *)1);
    return NULL;
}

START_TEST(deadlock_is_reported_then_resolved)
{
    tl_loop *loop;
    tl_wait w[4];
    char line[200];

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_queue_new(&dq, 0, "parsed"), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_root, NULL, NULL),
                     TL_EDEADLOCK);
    ck_assert_uint_eq(tl_loop_waits(loop, w, 4), 2);
    ck_assert_uint_eq(tl_task_id(w[0].task), 1);
    ck_assert_int_eq(w[0].kind, TL_WAIT_JOIN);
    ck_assert_uint_eq(w[0].object_id, 2);
    ck_assert_str_eq(w[0].object_name, "sink");
    ck_assert_int_eq(w[1].kind, TL_WAIT_GET);
    ck_assert_uint_eq(w[1].object_id, 1);
    tl_wait_format(&w[1], line, sizeof line);
    ck_assert_str_eq(line, "task 2 \"sink\" waits get(queue 1 \"parsed\")");
    tl_wait_format(&w[0], line, sizeof line);
    ck_assert_str_eq(line, "task 1 \"main\" waits join(task 2 \"sink\")");
    /* A second run goes on counting and releases the leftovers. */
    ck_assert_int_eq(tl_loop_run(loop, release_root, NULL, NULL), 0);
    ck_assert_uint_eq(tl_loop_waits(loop, w, 4), 0);
    tl_queue_free(dq);
    tl_loop_free(loop);
}
END_TEST

/* Two tasks joining each other: a join cycle. */
static tl_task *pair[2];

static void *
join_other(void *arg)
{
    tl_yield();                 /* both exist by now */
    tl_join(pair[!(long)arg], NULL);
    return NULL;
}

static void *
join_cycle_root(void *arg)
{
    (void)arg;
    tl_spawn(&pair[0], join_other, (void *)0L, "a");
    tl_spawn(&pair[1], join_other, (void *)1L, "b");
    tl_join(pair[0], NULL);
    return NULL;
}

START_TEST(free_after_deadlock_is_clean)
{
    tl_loop *loop;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_queue_new(&dq, 0, "q"), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_root, NULL, NULL),
                     TL_EDEADLOCK);
    tl_loop_free(loop);         /* frees blocked tasks and their stacks */
    tl_queue_free(dq);          /* detached: nothing to wake */
    /* A task freed before the task joining it (ASan watches). */
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, join_cycle_root, NULL, NULL),
                     TL_EDEADLOCK);
    tl_loop_free(loop);
}
END_TEST

static void *
id_root(void *arg)
{
    tl_task *a, *b;
    tl_queue *q1, *q2;
    unsigned *base = arg;
    tl_spawn(&a, ret_arg, NULL, "a");
    tl_spawn(&b, ret_arg, NULL, "b");
    ck_assert_uint_eq(tl_task_id(tl_self()), base[0]);
    ck_assert_uint_eq(tl_task_id(a), base[0] + 1);
    ck_assert_uint_eq(tl_task_id(b), base[0] + 2);
    ck_assert_uint_eq(tl_task_parent(a), base[0]);
    ck_assert_uint_eq(tl_task_parent(tl_self()), 0);
    ck_assert_str_eq(tl_task_name(a), "a");
    ck_assert_str_eq(tl_task_name(tl_self()), "main");
    tl_queue_new(&q1, 0, NULL);
    tl_queue_new(&q2, 0, NULL);
    ck_assert_uint_eq(tl_queue_id(q1), base[1]);
    ck_assert_uint_eq(tl_queue_id(q2), base[1] + 1);
    ck_assert_str_eq(tl_queue_name(q1), "");
    tl_queue_free(q1);
    tl_queue_free(q2);
    return NULL;
}

START_TEST(ids_in_creation_order_across_runs)
{
    tl_loop *loop;
    unsigned first[2] = {1, 1}, second[2] = {4, 3};

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, id_root, first, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, id_root, second, NULL), 0);
    tl_loop_free(loop);
}
END_TEST

/* ---- custom commands ----------------------------------------------- */

static void
cmd_handler(tl_loop *loop, tl_task *t, int code, void *arg, void *ud)
{
    (void)loop, (void)ud;
    say("cmd%d ", code);
    tl_resume(t, code * 10, arg, code == 2);
}

static void *
cmd_user(void *arg)
{
    void *r = NULL;
    int rc = tl_command((int)(long)arg, (void *)99, &r);
    say("rc%d ", rc);
    ck_assert_ptr_eq(r, (void *)99);
    return NULL;
}

static void *
cmd_root(void *arg)
{
    tl_task *a;
    (void)arg;
    tl_spawn(&a, cmd_user, (void *)1, "a");
    tl_join(a, NULL);
    return NULL;
}

START_TEST(custom_command_reaches_handler)
{
    tl_loop *loop;

    reset();
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    tl_loop_set_command(loop, cmd_handler, NULL);
    ck_assert_int_eq(tl_loop_run(loop, cmd_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "cmd1 rc10 ");
    tl_loop_free(loop);
}
END_TEST

static void *
unknown_root(void *arg)
{
    tl_task *a;
    (void)arg;
    tl_spawn(&a, cmd_user, (void *)3, "a");
    ck_assert_int_eq(tl_join(a, NULL), TL_EFAILED);
    ck_assert_str_eq(tl_task_error(a), "unknown command 3");
    return NULL;
}

START_TEST(unknown_command_fails_the_task)
{
    reset();
    ck_assert_int_eq(tl_check_run(unknown_root, NULL, NULL), 0);
    ck_assert_str_eq(logbuf, "");
}
END_TEST

/* ---- misuse and errors ----------------------------------------------- */

START_TEST(task_calls_outside_a_task)
{
    tl_task *t;
    void *r;
    ck_assert_int_eq(tl_spawn(&t, ret_arg, NULL, NULL), TL_ENOTASK);
    ck_assert_int_eq(tl_join((tl_task *)&r, NULL), TL_ENOTASK);
    ck_assert_int_eq(tl_cancel((tl_task *)&r), TL_ENOTASK);
    ck_assert_int_eq(tl_sleep(1), TL_ENOTASK);
    ck_assert_int_eq(tl_yield(), TL_ENOTASK);
    ck_assert_int_eq(tl_command(1, NULL, NULL), TL_ENOTASK);
    ck_assert_ptr_null(tl_self());
    ck_assert_ptr_null(tl_loop_current());
    ck_assert_uint_eq(tl_random(), 0);
    ck_assert(tl_now() > 0);
    ck_assert_uint_eq(tl_task_id(NULL), 0);
    ck_assert_str_eq(tl_task_name(NULL), "");
    ck_assert_ptr_null(tl_task_error(NULL));
    tl_task_detach(NULL);
    tl_loop_free(NULL);
}
END_TEST

START_TEST(bad_arguments)
{
    tl_loop *loop;
    tl_options o = {.stack_size = (size_t)1 << 40};

    ck_assert_int_eq(tl_loop_new(NULL, NULL), TL_EINVAL);
    ck_assert_int_eq(tl_loop_new(&loop, &o), TL_EINVAL);
    ck_assert_int_eq(tl_loop_run(NULL, ret_arg, NULL, NULL), TL_EINVAL);
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, NULL, NULL, NULL), TL_EINVAL);
    tl_loop_free(loop);
}
END_TEST

static void *
long_name_root(void *arg)
{
    char name[TL_NAME_MAX + 2];
    tl_task *t;
    (void)arg;
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = 0;
    ck_assert_int_eq(tl_spawn(&t, ret_arg, NULL, name), TL_ENAMETOOLONG);
    name[TL_NAME_MAX] = 0;
    ck_assert_int_eq(tl_spawn(&t, ret_arg, NULL, name), 0);
    ck_assert_int_eq(tl_spawn(&t, NULL, NULL, NULL), TL_EINVAL);
    return NULL;
}

START_TEST(names_are_bounded)
{
    ck_assert_int_eq(tl_check_run(long_name_root, NULL, NULL), 0);
}
END_TEST

static void *
nested_run_root(void *arg)
{
    tl_loop *inner;
    ck_assert_int_eq(tl_loop_new(&inner, NULL), 0);
    ck_assert_int_eq(tl_loop_run(inner, ret_arg, NULL, NULL), TL_EBUSY);
    tl_loop_free(inner);
    tl_loop_free(tl_loop_current());    /* refused while running */
    return arg;
}

START_TEST(no_nested_runs)
{
    ck_assert_int_eq(tl_check_run(nested_run_root, NULL, NULL), 0);
}
END_TEST

START_TEST(every_code_has_a_name_and_message)
{
#define TL__XX(n, v, s)                                                    \
    ck_assert_str_eq(tl_strerror(TL_##n), s);                              \
    ck_assert_str_eq(tl_err_name(TL_##n), "TL_" #n);
    TL_ERRNO_MAP(TL__XX)
#undef TL__XX
    ck_assert_str_eq(tl_err_name(-ECONNREFUSED), "ECONNREFUSED");
    ck_assert_str_eq(tl_strerror(-ECONNREFUSED), strerror(ECONNREFUSED));
    ck_assert_str_eq(tl_strerror(0), "success");
    ck_assert_str_eq(tl_strerror(-99999), "unknown error");
    ck_assert_str_eq(tl_err_name(12345), "?");
    /* codes are distinct */
    int codes[] = {
#define TL__XX(n, v, s) TL_##n,
        TL_ERRNO_MAP(TL__XX)
#undef TL__XX
    };
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        for (size_t j = i + 1; j < sizeof codes / sizeof *codes; j++)
            ck_assert_int_ne(codes[i], codes[j]);
}
END_TEST

/* ---- allocation failure ------------------------------------------------ */

static long alloc_left;

static void *
failing_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (alloc_left-- <= 0)
        return NULL;
    return realloc(p, n);
}

static void *
alloc_root(void *arg)
{
    tl_task *t;
    tl_queue *q;
    int rc;
    (void)arg;
    if ((rc = tl_queue_new(&q, 0, "q")) != 0)
        return (void *)(long)rc;
    for (int i = 0; i < 20; i++)
        if ((rc = tl_queue_put(q, NULL)) != 0)
            break;
    tl_queue_free(q);
    if (rc)
        return (void *)(long)rc;
    if ((rc = tl_spawn(&t, ret_arg, NULL, "child")) != 0)
        return (void *)(long)rc;
    return (void *)(long)tl_join(t, NULL);
}

START_TEST(allocation_failure_is_an_error_not_a_crash)
{
    int ok = 0;

    /* Fail the 1st, 2nd, ... allocation until the whole run succeeds. */
    for (long n = 0; n < 100 && !ok; n++) {
        tl_loop *loop;
        void *r = (void *)1;
        int rc;
        alloc_left = n;
        tl_set_allocator(failing_alloc, NULL);
        rc = tl_loop_new(&loop, NULL);
        if (rc == 0) {
            rc = tl_loop_run(loop, alloc_root, NULL, &r);
            ck_assert(rc == 0 || rc == TL_ENOMEM);
            ck_assert(rc != 0 || r == NULL || (long)r == TL_ENOMEM);
            ok = rc == 0 && r == NULL;
            tl_loop_free(loop);
        } else {
            ck_assert_int_eq(rc, TL_ENOMEM);
        }
        tl_set_allocator(NULL, NULL);
    }
    ck_assert(ok);
}
END_TEST

/* ---- random ------------------------------------------------------------ */

static void *
rand_root(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < 4; i++)
        out[i] = tl_random();
    return NULL;
}

START_TEST(random_is_seeded)
{
    uint64_t a[4], b[4], c[4];
    tl_options o = {.seed = 1234};
    tl_loop *loop;

    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(tl_loop_new(&loop, &o), 0);
        ck_assert_int_eq(tl_loop_run(loop, rand_root, k ? b : a, NULL), 0);
        tl_loop_free(loop);
    }
    ck_assert_mem_eq(a, b, sizeof a);
    setenv("TAPELOOP_SEED", "1234", 1);
    ck_assert_int_eq(tl_check_run(rand_root, c, NULL), 0);
    ck_assert_mem_eq(a, c, sizeof a);
    setenv("TAPELOOP_SEED", "not-a-number", 1);
    ck_assert_int_eq(tl_loop_new(&loop, NULL), TL_EINVAL);
    unsetenv("TAPELOOP_SEED");
    ck_assert_int_eq(tl_check_run(rand_root, c, NULL), 0);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
}
END_TEST

/* ---- detach, many tasks, stacks ------------------------------------------ */

static void *
detach_root(void *arg)
{
    tl_task *t;
    (void)arg;
    for (int i = 0; i < 100; i++) {
        tl_spawn(&t, ret_arg, NULL, "d");
        tl_task_detach(t);              /* already ended: freed now */
    }
    for (int i = 0; i < 100; i++)
        tl_spawn(NULL, yielder, "n", NULL);     /* detached from birth */
    return NULL;
}

START_TEST(detached_tasks_are_freed)
{
    reset();
    ck_assert_int_eq(tl_check_run(detach_root, NULL, NULL), 0);
}
END_TEST

static void *
flag_blocked(void *arg)
{
    return (void *)(long)tl_flag_wait(arg);
}

static void *
many_root(void *arg)
{
    long n = (long)arg;
    tl_flag *f;
    tl_task **t = malloc((size_t)n * sizeof *t);
    tl_flag_new(&f, "go");
    for (long i = 0; i < n; i++)
        ck_assert_int_eq(tl_spawn(&t[i], flag_blocked, f, NULL), 0);
    tl_flag_set(f);
    for (long i = 0; i < n; i++) {
        void *r = (void *)1;
        ck_assert_int_eq(tl_join(t[i], &r), 0);
        ck_assert_ptr_null(r);
    }
    free(t);
    tl_flag_free(f);
    return NULL;
}

START_TEST(many_tasks_alive_at_once)
{
    ck_assert_int_eq(tl_check_run(many_root, (void *)40000, NULL), 0);
}
END_TEST

static int
deep(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    return n ? deep(n - 1) + pad[0] : 0;
}

static void *
overflow_task(void *arg)
{
    return (void *)(long)deep((int)(long)arg);
}

START_TEST(stack_overflow_names_the_task)
{
    int fds[2], status;
    char out[512] = "";
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        tl_loop *loop;
        dup2(fds[1], 2);
        tl_loop_new(&loop, NULL);
        tl_loop_run(loop, overflow_task, (void *)1000000, NULL);
        _exit(0);
    }
    close(fds[1]);
    for (size_t n = 0; n < sizeof out - 1;) {
        ssize_t r = read(fds[0], out + n, sizeof out - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    /* Dies by SIGSEGV; under ASan its report ends the process instead. */
    ck_assert(WIFSIGNALED(status) ||
              (WIFEXITED(status) && WEXITSTATUS(status) != 0));
    ck_assert_msg(strstr(out, "task 1 \"main\" overflowed its 65536-byte"),
                  "stderr was: %s", out);
}
END_TEST

Suite *
tl_loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *core = tcase_create("core"), *cancel = tcase_create("cancel");
    TCase *limits = tcase_create("limits"), *errors = tcase_create("errors");

    tcase_add_test(core, run_returns_root_value);
    tcase_add_test(core, spawn_child_runs_first);
    tcase_add_test(core, sleep_zero_yields_to_tail);
    tcase_add_test(core, join_values_and_misuse);
    tcase_add_test(core, fail_reaches_joiners);
    tcase_add_test(core, spawned_tasks_are_waited_for);
    tcase_add_test(core, sleepers_wake_by_deadline);
    tcase_add_test(core, equal_deadlines_wake_fifo);
    tcase_add_test(core, sleep_waits_and_rejects_nan);
    tcase_add_test(core, deadlock_is_reported_then_resolved);
    tcase_add_test(core, free_after_deadlock_is_clean);
    tcase_add_test(core, ids_in_creation_order_across_runs);
    tcase_add_test(core, custom_command_reaches_handler);
    tcase_add_test(core, unknown_command_fails_the_task);
    tcase_add_test(core, random_is_seeded);
    tcase_add_test(core, detached_tasks_are_freed);
    tcase_add_test(cancel, cancel_blocked_task_is_sticky);
    tcase_add_test(cancel, cancel_sleeper_leaves_heap);
    tcase_add_test(cancel, cancel_join_waiter);
    tcase_add_test(cancel, cancel_self_and_spawn_refused);
    tcase_add_test(cancel, cancel_keeps_delivered_item);
    tcase_add_test(cancel, cancel_ready_task_keeps_grant);
    tcase_add_test(cancel, cancel_before_first_step_never_runs);
    tcase_add_test(limits, many_tasks_alive_at_once);
    tcase_add_test(limits, stack_overflow_names_the_task);
    tcase_add_test(limits, allocation_failure_is_an_error_not_a_crash);
    tcase_set_timeout(limits, 60);
    tcase_add_test(errors, task_calls_outside_a_task);
    tcase_add_test(errors, bad_arguments);
    tcase_add_test(errors, names_are_bounded);
    tcase_add_test(errors, no_nested_runs);
    tcase_add_test(errors, every_code_has_a_name_and_message);
    suite_add_tcase(s, core);
    suite_add_tcase(s, cancel);
    suite_add_tcase(s, limits);
    suite_add_tcase(s, errors);
    return s;
}

TL_CHECK_MAIN(tl_loop_suite)
