/* SPDX-License-Identifier: MIT */
/* cycle.c -- two tasks that deadlock in a true wait-for cycle, for
 * deadlocks.sh.  `cycle queues`: "ping" and "pong" each put into a queue
 * of one that the other consumes, and both end up blocked putting into a
 * full queue.  `cycle locks`: "ping" takes lock "a" then "b", "pong" takes
 * "b" then "a", a latch making sure each holds its first before it asks
 * for its second.  `cycle fail` is no cycle but a failure, for the TUI's
 * `e`: ping fails with a message, and pong, which waits for what ping
 * would have put, hangs.  `cycle ring N`: N tasks, each joining the next,
 * the last joining the first -- a cycle as long as the wait-for graph's
 * walk is deep.  In every mode tl_loop_run returns TL_EDEADLOCK and the
 * program exits 1; bad usage exits 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapeloop.h"

/* What the two tasks share. */
typedef struct pair {
    tl_queue *q[2];             /* q[0] "ping->pong", q[1] "pong->ping" */
    tl_lock *l[2];              /* l[0] "a", l[1] "b" */
    tl_latch *both;             /* "both": each side holds its first lock */
    tl_task_fn side;            /* queues_side or locks_side */
} pair;

static pair P;

/* Puts one item, takes one from the other side (so it is known as that
 * queue's consumer), then puts until its output is full for ever. */
static void *
queues_side(void *arg)
{
    int me = (int)(long)arg;
    void *item;

    if (tl_queue_put(P.q[me], NULL) != 0 || tl_queue_get(P.q[!me], &item) != 0)
        return NULL;
    while (tl_queue_put(P.q[me], NULL) == 0)
        ;
    return NULL;
}

/* Takes its first lock, waits until the other task holds its own, then
 * wants the other's. */
static void *
locks_side(void *arg)
{
    int me = (int)(long)arg;

    if (tl_lock_acquire(P.l[me]) != 0)
        return NULL;
    tl_latch_count_down(P.both);
    tl_latch_wait(P.both);
    if (tl_lock_acquire(P.l[!me]) == 0)
        tl_lock_release(P.l[!me]);
    tl_lock_release(P.l[me]);
    return NULL;
}

/* ping yields once, then fails; pong waits for its item for ever. */
static void *
fail_side(void *arg)
{
    void *item;

    if ((long)arg == 0) {
        tl_yield();
        tl_fail("ping gave up after %d tries", 3);
    }
    tl_queue_get(P.q[0], &item);
    return NULL;
}

/* ring: the tasks, and the latch that holds them until all exist. */
static tl_task **ring;
static long nring;
static tl_latch *all;

static void *
ring_side(void *arg)
{
    long i = (long)arg;

    tl_latch_wait(all);
    tl_join(ring[(i + 1) % nring], NULL);
    return NULL;
}

static void *
ring_root(void *arg)
{
    (void)arg;
    for (long i = 0; i < nring; i++)
        if (tl_spawn(&ring[i], ring_side, (void *)i, NULL) != 0)
            tl_fail("spawn %ld failed", i);
    tl_latch_count_down(all);
    tl_join(ring[0], NULL);
    return NULL;
}

/* The root: spawns ping (side 0) and pong (side 1) and joins them. */
static void *
root(void *arg)
{
    tl_task *t[2];

    (void)arg;
    if (tl_spawn(&t[0], P.side, (void *)0L, "ping") != 0 ||
        tl_spawn(&t[1], P.side, (void *)1L, "pong") != 0)
        tl_fail("spawn failed");
    tl_join(t[0], NULL);
    tl_join(t[1], NULL);
    return NULL;
}

int
main(int argc, char **argv)
{
    tl_loop *loop;
    int rc;

    if (argc == 3 && !strcmp(argv[1], "ring") &&
        (nring = atol(argv[2])) > 1) {
        if (!(ring = calloc((size_t)nring, sizeof *ring)) ||
            tl_loop_new(&loop, NULL) != 0 || tl_latch_new(&all, 1, "all") != 0)
            return 2;
        rc = tl_loop_run(loop, ring_root, NULL, NULL);
        printf("cycle ring: %s\n", rc ? tl_err_name(rc) : "no deadlock");
        tl_loop_free(loop);
        tl_latch_free(all);
        free(ring);
        return rc == TL_EDEADLOCK ? 1 : rc ? 2 : 0;
    }
    if (argc == 2 && !strcmp(argv[1], "queues"))
        P.side = queues_side;
    else if (argc == 2 && !strcmp(argv[1], "locks"))
        P.side = locks_side;
    else if (argc == 2 && !strcmp(argv[1], "fail"))
        P.side = fail_side;
    else {
        fprintf(stderr, "usage: cycle queues|locks|fail|ring N\n");
        return 2;
    }
    if (tl_loop_new(&loop, NULL) != 0 ||
        tl_queue_new(&P.q[0], 1, "ping->pong") != 0 ||
        tl_queue_new(&P.q[1], 1, "pong->ping") != 0 ||
        tl_lock_new(&P.l[0], "a") != 0 || tl_lock_new(&P.l[1], "b") != 0 ||
        tl_latch_new(&P.both, 2, "both") != 0) {
        fprintf(stderr, "cycle: setup failed\n");
        return 2;
    }
    rc = tl_loop_run(loop, root, NULL, NULL);
    printf("cycle %s: %s\n", argv[1], rc ? tl_err_name(rc) : "no deadlock");
    tl_loop_print_waits(loop, stdout);
    tl_loop_free(loop);
    tl_latch_free(P.both);
    for (int i = 0; i < 2; i++) {
        tl_queue_free(P.q[i]);
        tl_lock_free(P.l[i]);
    }
    return rc == TL_EDEADLOCK ? 1 : rc ? 2 : 0;
}
