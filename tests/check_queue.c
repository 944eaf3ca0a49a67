/* SPDX-License-Identifier: MIT */
/* check_queue.c -- queues against tapeloop.h and flowno-semantics.md A6/C:
 * FIFO order, which calls yield and which do not, the put->getter hand-off
 * order of Flowno's seed, maxsize, peek, close, cancel, ids, deadlock.
 * Every ordering claim is checked with an event log: each task appends a
 * short word, the test compares the whole line.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "tl_check.h"

#define ITEM(i) ((void *)(intptr_t)(i))
#define INT(p) ((int)(intptr_t)(p))


/* ---- shared by the tasks of one test -------------------------------- */

static tl_queue *q;             /* the queue under test */

/* Logs "x1", yields, logs "x2": once spawned it sits in the ready queue,
 * so an "x2" shows exactly where the spawner yielded. */
static void *
bystander(void *arg)
{
    (void)arg;
    note("x1");
    ck_assert_int_eq(tl_yield(), 0);
    note("x2");
    return NULL;
}

static tl_task *
spawn(tl_task_fn fn, void *arg, const char *name)
{
    tl_task *t = NULL;

    ck_assert_int_eq(tl_spawn(&t, fn, arg, name), 0);
    return t;
}

/* Blocks in get on q; logs "<name>:wait", then "<name>=<item>" or
 * "<name>:<error>". */
static void *
getter(void *arg)
{
    const char *name = tl_task_name(tl_self());
    void *it = ITEM(-1);
    int rc;

    (void)arg;
    note("%s:wait", name);
    rc = tl_queue_get(q, &it);
    if (rc == 0)
        note("%s=%d", name, INT(it));
    else
        note("%s:%s", name, rcs(rc));
    return NULL;
}

/* The same for peek. */
static void *
peeker(void *arg)
{
    const char *name = tl_task_name(tl_self());
    void *it = ITEM(-1);
    int rc;

    (void)arg;
    note("%s:wait", name);
    rc = tl_queue_peek(q, &it);
    if (rc == 0)
        note("%s=%d", name, INT(it));
    else
        note("%s:%s", name, rcs(rc));
    return NULL;
}

/* Puts INT(arg) into q; logs "<name>:put<n>", then "<name>:<result>". */
static void *
putter(void *arg)
{
    const char *name = tl_task_name(tl_self());

    note("%s:put%d", name, INT(arg));
    note("%s:%s", name, rcs(tl_queue_put(q, arg)));
    return NULL;
}

static void
join_all(tl_task **t, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(tl_join(t[i], NULL), 0);
}

/* ---- core: order and yield points ---------------------------------- */

static void *
fifo_root(void *arg)
{
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, "fifo"), 0);
    for (int i = 1; i <= 5; i++)
        ck_assert_int_eq(tl_queue_put(q, ITEM(i)), 0);
    ck_assert_uint_eq(tl_queue_len(q), 5);
    for (int i = 1; i <= 5; i++) {
        ck_assert_int_eq(tl_queue_get(q, &it), 0);
        note("%d", INT(it));
    }
    ck_assert_uint_eq(tl_queue_len(q), 0);
    tl_queue_free(q);
    return ITEM(42);
}

START_TEST(test_fifo)
{
    void *res = NULL;

    ck_assert_int_eq(tl_check_run(fifo_root, NULL, &res), 0);
    ck_assert_int_eq(INT(res), 42);
    ck_assert_str_eq(tl_log(), "1 2 3 4 5");
}
END_TEST

/* A ready bystander must not run between the puts: no put yields. */
static void *
put_no_yield_root(void *arg)
{
    tl_queue *b;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    ck_assert_int_eq(tl_queue_new(&b, 3, NULL), 0);
    spawn(bystander, NULL, "x");
    note("r:put");
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(2)), 0);
    ck_assert_int_eq(tl_queue_put(b, ITEM(3)), 0);      /* room: no yield */
    ck_assert_int_eq(tl_queue_put(b, ITEM(4)), 0);
    note("r:done");
    ck_assert_int_eq(tl_yield(), 0);
    note("r:yielded");
    tl_queue_free(q);
    tl_queue_free(b);
    return NULL;
}

START_TEST(test_put_no_yield)
{
    ck_assert_int_eq(tl_check_run(put_no_yield_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "x1 r:put r:done x2 r:yielded");
}
END_TEST

static void *
get_no_yield_root(void *arg)
{
    void *a, *b, *c;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    for (int i = 1; i <= 3; i++)
        ck_assert_int_eq(tl_queue_put(q, ITEM(i)), 0);
    spawn(bystander, NULL, "x");
    ck_assert_int_eq(tl_queue_get(q, &a), 0);
    ck_assert_int_eq(tl_queue_peek(q, &b), 0);
    ck_assert_int_eq(tl_queue_get(q, &c), 0);
    note("r:%d,%d,%d", INT(a), INT(b), INT(c));
    ck_assert_int_eq(tl_yield(), 0);
    note("r:yielded");
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_get_no_yield)
{
    ck_assert_int_eq(tl_check_run(get_no_yield_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "x1 r:1,2,2 x2 r:yielded");
}
END_TEST

/* Flowno seed order: the woken getter runs before the putter goes on. */
static void *
handoff_root(void *arg)
{
    tl_task *g;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    g = spawn(getter, NULL, "g");
    ck_assert_int_eq(tl_task_state_of(g), TL_TASK_BLOCKED);
    note("r:put");
    ck_assert_int_eq(tl_queue_put(q, ITEM(7)), 0);
    note("r:after");
    ck_assert_uint_eq(tl_queue_len(q), 0);      /* handed over, not queued */
    ck_assert_int_eq(tl_task_state_of(g), TL_TASK_DONE);
    join_all(&g, 1);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_put_hands_to_getter)
{
    ck_assert_int_eq(tl_check_run(handoff_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g:wait r:put g=7 r:after");
}
END_TEST

/* The hand-off appends getter then putter to the ready tail: a task that
 * was ready already runs first. */
static void *
handoff_behind_ready_root(void *arg)
{
    tl_task *g;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    g = spawn(getter, NULL, "g");
    spawn(bystander, NULL, "x");
    note("r:put");
    ck_assert_int_eq(tl_queue_put(q, ITEM(7)), 0);
    note("r:after");
    join_all(&g, 1);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_put_hands_to_getter_behind_ready)
{
    ck_assert_int_eq(tl_check_run(handoff_behind_ready_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g:wait x1 r:put x2 g=7 r:after");
}
END_TEST

static void *
maxsize_root(void *arg)
{
    tl_loop *loop = tl_loop_current();
    tl_wait w[4];
    tl_task *p;
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 2, "small"), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(2)), 0);
    p = spawn(putter, ITEM(3), "p");            /* full: blocks */
    ck_assert_int_eq(tl_task_state_of(p), TL_TASK_BLOCKED);
    ck_assert_uint_eq(tl_queue_len(q), 2);
    ck_assert_uint_eq(tl_loop_waits(loop, w, 4), 1);
    ck_assert_ptr_eq(w[0].task, p);
    ck_assert_int_eq(w[0].kind, TL_WAIT_PUT);
    ck_assert_uint_eq(w[0].object_id, tl_queue_id(q));
    ck_assert_str_eq(w[0].object_name, "small");
    ck_assert_ptr_null(w[0].target);
    ck_assert_int_eq(tl_yield(), 0);            /* still blocked */
    note("r:yielded");
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    note("r=%d", INT(it));
    ck_assert_uint_eq(tl_queue_len(q), 2);      /* 3 moved in at once */
    join_all(&p, 1);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    note("r=%d", INT(it));
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    note("r=%d", INT(it));
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_maxsize_blocks)
{
    ck_assert_int_eq(tl_check_run(maxsize_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "p:put3 r:yielded r=1 p:ok r=2 r=3");
}
END_TEST

/* A get with items (no yield) wakes the first blocked putter and moves its
 * item in behind the others; the putters resume in FIFO order. */
static void *
get_wakes_putter_root(void *arg)
{
    tl_task *p[2];
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 1, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    p[0] = spawn(putter, ITEM(2), "p");
    p[1] = spawn(putter, ITEM(3), "q");
    spawn(bystander, NULL, "x");
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tl_queue_get(q, &it), 0);
        note("r=%d,len%zu", INT(it), tl_queue_len(q));
    }
    ck_assert_int_eq(tl_yield(), 0);
    note("r:yielded");
    join_all(p, 2);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_get_wakes_putter)
{
    ck_assert_int_eq(tl_check_run(get_wakes_putter_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "p:put2 q:put3 x1 r=1,len1 r=2,len1 r=3,len0 "
                           "x2 p:ok q:ok r:yielded");
}
END_TEST

static void *
peek_root(void *arg)
{
    void *it = NULL;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(5)), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(6)), 0);
    ck_assert_int_eq(tl_queue_peek(q, &it), 0);
    ck_assert_int_eq(INT(it), 5);
    ck_assert_int_eq(tl_queue_peek(q, NULL), 0);
    ck_assert_int_eq(tl_queue_peek(q, &it), 0);
    ck_assert_int_eq(INT(it), 5);
    ck_assert_uint_eq(tl_queue_len(q), 2);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_int_eq(INT(it), 5);
    ck_assert_int_eq(tl_queue_peek(q, &it), 0);
    ck_assert_int_eq(INT(it), 6);
    ck_assert_int_eq(tl_queue_get(q, NULL), 0);          /* dropped */
    ck_assert_uint_eq(tl_queue_len(q), 0);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_peek_no_consume)
{
    ck_assert_int_eq(tl_check_run(peek_root, NULL, NULL), 0);
}
END_TEST

/* Peekers and a getter wait together; one put wakes every peeker first,
 * then the getter, which takes the item; then the putter goes on. */
static void *
peek_blocked_root(void *arg)
{
    tl_task *t[4];

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    t[0] = spawn(peeker, NULL, "k1");
    t[1] = spawn(getter, NULL, "g");
    t[2] = spawn(peeker, NULL, "k2");
    t[3] = spawn(getter, NULL, "h");
    note("r:put");
    ck_assert_int_eq(tl_queue_put(q, ITEM(9)), 0);
    note("r:after,len%zu", tl_queue_len(q));
    ck_assert_int_eq(tl_task_state_of(t[3]), TL_TASK_BLOCKED);
    ck_assert_int_eq(tl_queue_put(q, ITEM(10)), 0);     /* h's */
    note("r:end,len%zu", tl_queue_len(q));
    join_all(t, 4);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_peek_blocked_wakes_all)
{
    ck_assert_int_eq(tl_check_run(peek_blocked_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "k1:wait g:wait k2:wait h:wait r:put "
                           "k1=9 k2=9 g=9 r:after,len0 h=10 r:end,len0");
}
END_TEST

/* Peekers alone: they all see the item and it stays in the queue. */
static void *
peek_only_root(void *arg)
{
    tl_task *t[2];
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    t[0] = spawn(peeker, NULL, "k1");
    t[1] = spawn(peeker, NULL, "k2");
    ck_assert_int_eq(tl_queue_put(q, ITEM(4)), 0);
    note("r:after,len%zu", tl_queue_len(q));
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    note("r=%d", INT(it));
    join_all(t, 2);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_peek_only_keeps_item)
{
    ck_assert_int_eq(tl_check_run(peek_only_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "k1:wait k2:wait k1=4 k2=4 r:after,len1 r=4");
}
END_TEST

/* ---- core: close ------------------------------------------------------ */

static void *
close_getters_root(void *arg)
{
    tl_task *t[3];

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    t[0] = spawn(getter, NULL, "g1");
    t[1] = spawn(peeker, NULL, "k");
    t[2] = spawn(getter, NULL, "g2");
    note("r:close");
    ck_assert_int_eq(tl_queue_close(q), 0);
    note("r:closed");
    ck_assert(tl_queue_is_closed(q));
    join_all(t, 3);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_close_wakes_getters_peekers)
{
    ck_assert_int_eq(tl_check_run(close_getters_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g1:wait k:wait g2:wait r:close g1:TL_ECLOSED "
                           "g2:TL_ECLOSED k:TL_ECLOSED r:closed");
}
END_TEST

static void *
close_putters_root(void *arg)
{
    tl_task *t[2];
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 1, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    t[0] = spawn(putter, ITEM(2), "p1");
    t[1] = spawn(putter, ITEM(3), "p2");
    note("r:close");
    ck_assert_int_eq(tl_queue_close(q), 0);
    note("r:closed,len%zu", tl_queue_len(q));
    ck_assert_int_eq(tl_queue_get(q, &it), 0);          /* left after close */
    note("r=%d", INT(it));
    note("r:%s", rcs(tl_queue_get(q, &it)));
    join_all(t, 2);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_close_wakes_putters)
{
    ck_assert_int_eq(tl_check_run(close_putters_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "p1:put2 p2:put3 r:close p1:TL_ECLOSED "
                           "p2:TL_ECLOSED r:closed,len1 r=1 r:TL_ECLOSED");
}
END_TEST

/* close yields even with no waiter, the second close too. */
static void *
close_yields_root(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    spawn(bystander, NULL, "x");
    note("r:close");
    ck_assert_int_eq(tl_queue_close(q), 0);
    note("r:again");
    ck_assert_int_eq(tl_queue_close(q), 0);
    note("r:end");
    ck_assert(tl_queue_is_closed(q));
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_close_yields)
{
    ck_assert_int_eq(tl_check_run(close_yields_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "x1 r:close x2 r:again r:end");
}
END_TEST

/* A second close after the first woke waiters (Flowno's seed crashed). */
static void *
double_close_root(void *arg)
{
    tl_task *t[2];

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    t[0] = spawn(getter, NULL, "g1");
    t[1] = spawn(getter, NULL, "g2");
    ck_assert_int_eq(tl_queue_close(q), 0);
    ck_assert_int_eq(tl_queue_close(q), 0);
    note("r:end");
    join_all(t, 2);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_double_close)
{
    ck_assert_int_eq(tl_check_run(double_close_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g1:wait g2:wait g1:TL_ECLOSED g2:TL_ECLOSED "
                           "r:end");
}
END_TEST

static void *
closed_ops_root(void *arg)
{
    void *it = ITEM(-1);

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(2)), 0);
    ck_assert_int_eq(tl_queue_close(q), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(3)), TL_ECLOSED);
    ck_assert_uint_eq(tl_queue_len(q), 2);
    ck_assert_int_eq(tl_queue_peek(q, &it), 0);
    ck_assert_int_eq(INT(it), 1);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_int_eq(INT(it), 1);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_int_eq(INT(it), 2);
    it = ITEM(-1);
    ck_assert_int_eq(tl_queue_get(q, &it), TL_ECLOSED);
    ck_assert_int_eq(tl_queue_peek(q, &it), TL_ECLOSED);
    ck_assert_int_eq(INT(it), -1);              /* untouched on failure */
    ck_assert_int_eq(tl_queue_put(q, NULL), TL_ECLOSED);
    ck_assert_uint_eq(tl_queue_len(q), 0);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_closed_ops)
{
    ck_assert_int_eq(tl_check_run(closed_ops_root, NULL, NULL), 0);
}
END_TEST

/* ---- core: items, waiters, cancel ------------------------------------ */

static void *
null_items_root(void *arg)
{
    tl_task *g;
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    ck_assert_int_eq(tl_queue_put(q, NULL), 0);
    ck_assert_uint_eq(tl_queue_len(q), 3);
    it = ITEM(-1);
    ck_assert_int_eq(tl_queue_peek(q, &it), 0);
    ck_assert_ptr_null(it);
    it = ITEM(-1);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_ptr_null(it);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_int_eq(INT(it), 1);
    it = ITEM(-1);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_ptr_null(it);
    g = spawn(getter, NULL, "g");               /* NULL handed over */
    ck_assert_int_eq(tl_queue_put(q, NULL), 0);
    join_all(&g, 1);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_null_items)
{
    ck_assert_int_eq(tl_check_run(null_items_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g:wait g=0");
}
END_TEST

static void *
getters_fifo_root(void *arg)
{
    static const char *const names[] = {"c0", "c1", "c2", "c3", "c4", "c5"};
    tl_task *t[6];

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    for (int i = 0; i < 6; i++)
        t[i] = spawn(getter, NULL, names[i]);
    tl_log()[0] = '\0';                             /* only the wake order */
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(tl_queue_put(q, ITEM(i)), 0);
    join_all(t, 6);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_getters_fifo)
{
    ck_assert_int_eq(tl_check_run(getters_fifo_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "c0=0 c1=1 c2=2 c3=3 c4=4 c5=5");
}
END_TEST

/* A cancelled getter leaves at once and does not take a later item. */
static void *
cancel_getter_root(void *arg)
{
    tl_task *g[2];

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    g[0] = spawn(getter, NULL, "g1");
    g[1] = spawn(getter, NULL, "g2");
    ck_assert_int_eq(tl_cancel(g[0]), 0);
    note("r:put");
    ck_assert_int_eq(tl_queue_put(q, ITEM(3)), 0);
    note("r:after");
    ck_assert_int_eq(tl_join(g[0], NULL), TL_ECANCELED);
    ck_assert_int_eq(tl_task_state_of(g[0]), TL_TASK_CANCELLED);
    ck_assert_int_eq(tl_join(g[1], NULL), 0);
    ck_assert_uint_eq(tl_queue_len(q), 0);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_cancel_getter)
{
    ck_assert_int_eq(tl_check_run(cancel_getter_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g1:wait g2:wait r:put g1:TL_ECANCELED g2=3 "
                           "r:after");
}
END_TEST

/* A cancelled putter leaves at once and its item is not added. */
static void *
cancel_putter_root(void *arg)
{
    tl_task *p[2];
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 1, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    p[0] = spawn(putter, ITEM(2), "p1");
    p[1] = spawn(putter, ITEM(3), "p2");
    ck_assert_int_eq(tl_cancel(p[0]), 0);
    ck_assert_int_eq(tl_yield(), 0);
    ck_assert_uint_eq(tl_queue_len(q), 1);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(tl_queue_get(q, &it), 0);
        note("r=%d", INT(it));
    }
    ck_assert_int_eq(tl_join(p[0], NULL), TL_ECANCELED);
    ck_assert_int_eq(tl_join(p[1], NULL), 0);
    ck_assert_uint_eq(tl_queue_len(q), 0);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_cancel_putter)
{
    ck_assert_int_eq(tl_check_run(cancel_putter_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "p1:put2 p2:put3 p1:TL_ECANCELED r=1 r=3 p2:ok");
}
END_TEST

/* Cancels the task in arg (a getter already handed its item). */
static void *
canceller(void *arg)
{
    note("z:cancel");
    ck_assert_int_eq(tl_cancel(arg), 0);
    return NULL;
}

static void *
z_bystander(void *arg)
{
    note("z:ready");
    ck_assert_int_eq(tl_yield(), 0);
    return canceller(arg);
}

/* A getter cancelled after the hand-off keeps its item (nothing lost). */
static void *
cancel_after_handoff_root(void *arg)
{
    tl_task *g;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    g = spawn(getter, NULL, "g");
    spawn(z_bystander, g, "z");                 /* ready ahead of the put */
    ck_assert_int_eq(tl_queue_put(q, ITEM(8)), 0);
    note("r:after");
    ck_assert_int_eq(tl_join(g, NULL), TL_ECANCELED);
    ck_assert_int_eq(tl_task_state_of(g), TL_TASK_CANCELLED);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_cancel_after_handoff)
{
    ck_assert_int_eq(tl_check_run(cancel_after_handoff_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g:wait z:ready z:cancel g=8 r:after");
}
END_TEST

/* Once cancelled, queue calls fail without effect; close still closes. */
static void *
cancelled_calls_task(void *arg)
{
    void *it = ITEM(-1);

    (void)arg;
    ck_assert_int_eq(tl_cancel(tl_self()), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(2)), TL_ECANCELED);
    ck_assert_uint_eq(tl_queue_len(q), 1);
    ck_assert_int_eq(tl_queue_get(q, &it), TL_ECANCELED);
    ck_assert_int_eq(tl_queue_peek(q, &it), TL_ECANCELED);
    ck_assert_int_eq(INT(it), -1);
    ck_assert_uint_eq(tl_queue_len(q), 1);
    ck_assert_int_eq(tl_queue_close(q), TL_ECANCELED);
    ck_assert(tl_queue_is_closed(q));
    ck_assert_uint_eq(tl_queue_len(q), 1);      /* non-blocking: works */
    return NULL;
}

static void *
cancelled_calls_root(void *arg)
{
    tl_task *t;
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    t = spawn(cancelled_calls_task, NULL, "c");
    ck_assert_int_eq(tl_join(t, NULL), TL_ECANCELED);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_int_eq(INT(it), 1);
    ck_assert_int_eq(tl_queue_get(q, &it), TL_ECLOSED);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_cancelled_calls)
{
    ck_assert_int_eq(tl_check_run(cancelled_calls_root, NULL, NULL), 0);
}
END_TEST

/* tl_queue_free wakes getters, peekers and putters with TL_ECLOSED. */
static void *
free_wakes_root(void *arg)
{
    tl_queue *full;
    tl_task *t[3], *p;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    t[0] = spawn(getter, NULL, "g");
    t[1] = spawn(peeker, NULL, "k");
    t[2] = spawn(getter, NULL, "h");
    note("r:free");
    tl_queue_free(q);
    note("r:freed");
    join_all(t, 3);
    ck_assert_int_eq(tl_queue_new(&full, 1, NULL), 0);
    q = full;
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    p = spawn(putter, ITEM(2), "p");
    tl_queue_free(full);
    join_all(&p, 1);
    return NULL;
}

START_TEST(test_free_wakes)
{
    ck_assert_int_eq(tl_check_run(free_wakes_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "g:wait k:wait h:wait r:free r:freed "
                           "g:TL_ECLOSED h:TL_ECLOSED k:TL_ECLOSED "
                           "p:put2 p:TL_ECLOSED");
}
END_TEST

/* ---- core: introspection, ids, binding -------------------------------- */

static void *
info_root(void *arg)
{
    tl_queue *a, *b;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&a, 0, "alpha"), 0);
    ck_assert_int_eq(tl_queue_new(&b, 4, NULL), 0);
    ck_assert_uint_eq(tl_queue_id(a), 1);
    ck_assert_uint_eq(tl_queue_id(b), 2);
    ck_assert_str_eq(tl_queue_name(a), "alpha");
    ck_assert_str_eq(tl_queue_name(b), "");
    ck_assert_uint_eq(tl_queue_len(a), 0);
    ck_assert(!tl_queue_is_closed(a));
    ck_assert_int_eq(tl_queue_put(a, NULL), 0);
    ck_assert_int_eq(tl_queue_put(a, NULL), 0);
    ck_assert_uint_eq(tl_queue_len(a), 2);
    ck_assert_int_eq(tl_queue_close(a), 0);
    ck_assert(tl_queue_is_closed(a));
    ck_assert(!tl_queue_is_closed(b));
    ck_assert_uint_eq(tl_queue_len(a), 2);
    /* NULL answers */
    ck_assert_uint_eq(tl_queue_len(NULL), 0);
    ck_assert(!tl_queue_is_closed(NULL));
    ck_assert_uint_eq(tl_queue_id(NULL), 0);
    ck_assert_str_eq(tl_queue_name(NULL), "");
    tl_queue_free(NULL);
    tl_queue_free(a);
    tl_queue_free(b);
    return NULL;
}

START_TEST(test_info)
{
    ck_assert_int_eq(tl_check_run(info_root, NULL, NULL), 0);
}
END_TEST

/* Ids count per loop from 1: a second loop starts again. */
static void *
ids_root(void *arg)
{
    tl_queue *x[3];

    (void)arg;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tl_queue_new(&x[i], 0, NULL), 0);
        ck_assert_uint_eq(tl_queue_id(x[i]), (unsigned)i + 1);
    }
    for (int i = 0; i < 3; i++)
        tl_queue_free(x[i]);
    return NULL;
}

START_TEST(test_ids_per_loop)
{
    ck_assert_int_eq(tl_check_run(ids_root, NULL, NULL), 0);
    ck_assert_int_eq(tl_check_run(ids_root, NULL, NULL), 0);
}
END_TEST

static void *
outside_child(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_queue_put(q, ITEM(2)), 0);
    return NULL;
}

static void *
outside_root(void *arg)
{
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    spawn(outside_child, NULL, "c");
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_int_eq(INT(it), 1);
    ck_assert_int_eq(tl_queue_get(q, &it), 0);
    ck_assert_int_eq(INT(it), 2);
    ck_assert_int_eq(tl_queue_close(q), 0);
    return NULL;
}

/* A queue made after tl_loop_new and before tl_loop_run belongs to it. */
START_TEST(test_created_outside_task)
{
    tl_loop *loop;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_queue_new(&q, 0, "early"), 0);
    ck_assert_uint_eq(tl_queue_id(q), 1);
    ck_assert_uint_eq(tl_queue_len(q), 0);
    ck_assert_int_eq(tl_loop_run(loop, outside_root, NULL, NULL), 0);
    ck_assert(tl_queue_is_closed(q));
    tl_queue_free(q);
    tl_loop_free(loop);
}
END_TEST

/* Freed the other way round: the loop first, then the queue. */
START_TEST(test_created_outside_task_free_loop_first)
{
    tl_loop *loop;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_queue_new(&q, 2, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, outside_root, NULL, NULL), 0);
    tl_loop_free(loop);
    ck_assert(tl_queue_is_closed(q));
    tl_queue_free(q);
}
END_TEST

/* A queue made with no loop at all joins the first loop that uses it. */
START_TEST(test_created_without_loop)
{
    tl_loop *loop;

    ck_assert_ptr_null(tl_loop_current());
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, outside_root, NULL, NULL), 0);
    ck_assert_uint_eq(tl_queue_id(q), 1);
    tl_loop_free(loop);
    tl_queue_free(q);
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

enum { SPSC_N = 100 };

static void *
spsc_producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < SPSC_N; i++)
        ck_assert_int_eq(tl_queue_put(q, ITEM(i)), 0);
    ck_assert_int_eq(tl_queue_close(q), 0);
    return NULL;
}

static void *
spsc_consumer(void *arg)
{
    int *got = arg;
    void *it;
    int rc;

    while ((rc = tl_queue_get(q, &it)) == 0) {
        ck_assert_int_eq(INT(it), *got);        /* in order, none lost */
        ck_assert_uint_le(tl_queue_len(q), 1);
        (*got)++;
    }
    ck_assert_int_eq(rc, TL_ECLOSED);
    return NULL;
}

static void *
spsc_root(void *arg)
{
    tl_task *t[2];

    ck_assert_int_eq(tl_queue_new(&q, 1, "spsc"), 0);
    t[0] = spawn(spsc_producer, NULL, "producer");
    t[1] = spawn(spsc_consumer, arg, "consumer");
    join_all(t, 2);
    tl_queue_free(q);
    return NULL;
}

/* The workload that deadlocked Flowno's seed (A6.12). */
START_TEST(test_spsc_bounded)
{
    int got = 0;

    ck_assert_int_eq(tl_check_run(spsc_root, &got, NULL), 0);
    ck_assert_int_eq(got, SPSC_N);
}
END_TEST

/* The consumer first this time, so the hand-off path carries the items. */
static void *
spsc_consumer_first_root(void *arg)
{
    tl_task *t[2];

    ck_assert_int_eq(tl_queue_new(&q, 1, "spsc"), 0);
    t[1] = spawn(spsc_consumer, arg, "consumer");
    t[0] = spawn(spsc_producer, NULL, "producer");
    join_all(t, 2);
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_spsc_consumer_first)
{
    int got = 0;

    ck_assert_int_eq(tl_check_run(spsc_consumer_first_root, &got, NULL), 0);
    ck_assert_int_eq(got, SPSC_N);
}
END_TEST

enum { MANY = 100000 };

/* The ring grows and wraps: many items, interleaved puts and gets. */
static void *
many_root(void *arg)
{
    int next_in = 0, next_out = 0;
    void *it;

    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    while (next_out < MANY) {
        for (int i = 0; i < 7 && next_in < MANY; i++)
            ck_assert_int_eq(tl_queue_put(q, ITEM(next_in++)), 0);
        for (int i = 0; i < 5 && next_out < next_in; i++) {
            ck_assert_int_eq(tl_queue_get(q, &it), 0);
            ck_assert_int_eq(INT(it), next_out++);
        }
        ck_assert_uint_eq(tl_queue_len(q), (size_t)(next_in - next_out));
    }
    tl_queue_free(q);
    return NULL;
}

START_TEST(test_many_items)
{
    ck_assert_int_eq(tl_check_run(many_root, NULL, NULL), 0);
}
END_TEST

/* A long name at the limit is fine; one byte more is not. */
START_TEST(test_name_limit)
{
    char name[TL_NAME_MAX + 2];
    tl_queue *x = (tl_queue *)&name;            /* a sentinel */

    memset(name, 'n', sizeof name);
    name[TL_NAME_MAX] = '\0';
    ck_assert_int_eq(tl_queue_new(&x, 0, name), 0);
    ck_assert_str_eq(tl_queue_name(x), name);
    tl_queue_free(x);
    name[TL_NAME_MAX] = 'n';
    name[TL_NAME_MAX + 1] = '\0';
    x = (tl_queue *)&name;
    ck_assert_int_eq(tl_queue_new(&x, 0, name), TL_ENAMETOOLONG);
    ck_assert_ptr_eq(x, (tl_queue *)&name);     /* not written */
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

/* Task-only calls outside a task: with no loop, and with one not running. */
START_TEST(test_notask)
{
    tl_loop *loop;
    void *it = ITEM(-1);

    ck_assert_int_eq(tl_queue_new(&q, 0, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), TL_ENOTASK);
    ck_assert_int_eq(tl_queue_get(q, &it), TL_ENOTASK);
    ck_assert_int_eq(tl_queue_peek(q, &it), TL_ENOTASK);
    ck_assert_int_eq(tl_queue_close(q), TL_ENOTASK);
    ck_assert_int_eq(INT(it), -1);
    ck_assert(!tl_queue_is_closed(q));
    ck_assert_uint_eq(tl_queue_len(q), 0);
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), TL_ENOTASK);
    ck_assert_int_eq(tl_queue_get(q, &it), TL_ENOTASK);
    ck_assert_int_eq(tl_queue_peek(q, &it), TL_ENOTASK);
    ck_assert_int_eq(tl_queue_close(q), TL_ENOTASK);
    ck_assert_uint_eq(tl_queue_len(q), 0);
    tl_loop_free(loop);
    tl_queue_free(q);
}
END_TEST

static void *
null_queue_root(void *arg)
{
    void *it = ITEM(-1);

    (void)arg;
    ck_assert_int_eq(tl_queue_put(NULL, ITEM(1)), TL_EINVAL);
    ck_assert_int_eq(tl_queue_get(NULL, &it), TL_EINVAL);
    ck_assert_int_eq(tl_queue_peek(NULL, &it), TL_EINVAL);
    ck_assert_int_eq(tl_queue_close(NULL), TL_EINVAL);
    ck_assert_int_eq(INT(it), -1);
    return NULL;
}

START_TEST(test_null_queue)
{
    ck_assert_int_eq(tl_check_run(null_queue_root, NULL, NULL), 0);
}
END_TEST

static void *
deadlock_root(void *arg)
{
    tl_task **sink = arg;

    ck_assert_int_eq(tl_queue_new(&q, 0, "jobs"), 0);
    *sink = spawn(getter, NULL, "sink");
    return NULL;                                /* nobody will ever put */
}

/* The only consumer waits for ever: the run reports it, it does not hang. */
START_TEST(test_deadlock_reported)
{
    tl_loop *loop;
    tl_task *sink = NULL;
    tl_wait w[4];
    char line[128];

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_root, &sink, NULL),
                     TL_EDEADLOCK);
    ck_assert_uint_eq(tl_loop_waits(loop, NULL, 0), 1);
    ck_assert_uint_eq(tl_loop_waits(loop, w, 4), 1);
    ck_assert_ptr_eq(w[0].task, sink);
    ck_assert_uint_eq(tl_task_id(w[0].task), 2);
    ck_assert_int_eq(w[0].kind, TL_WAIT_GET);
    ck_assert_uint_eq(w[0].object_id, tl_queue_id(q));
    ck_assert_uint_eq(w[0].object_id, 1);
    ck_assert_str_eq(w[0].object_name, "jobs");
    ck_assert_ptr_null(w[0].target);
    ck_assert_int_eq(tl_task_state_of(sink), TL_TASK_BLOCKED);
    tl_wait_format(&w[0], line, sizeof line);
    ck_assert_str_eq(line, "task 2 \"sink\" waits get(queue 1 \"jobs\")");
    ck_assert_str_eq(tl_log(), "sink:wait");
    tl_loop_free(loop);
    tl_queue_free(q);
}
END_TEST

static void *
deadlock_self_root(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_queue_new(&q, 1, "out"), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(1)), 0);
    ck_assert_int_eq(tl_queue_put(q, ITEM(2)), 0);      /* full: for ever */
    ck_abort_msg("put on a full queue nobody reads returned");
    return NULL;
}

/* The root itself blocked on a full queue; freed queue first this time. */
START_TEST(test_deadlock_root_put)
{
    tl_loop *loop;
    tl_wait w[2];

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_self_root, NULL, NULL),
                     TL_EDEADLOCK);
    ck_assert_uint_eq(tl_loop_waits(loop, w, 2), 1);
    ck_assert_uint_eq(tl_task_id(w[0].task), 1);
    ck_assert_int_eq(w[0].kind, TL_WAIT_PUT);
    ck_assert_uint_eq(w[0].object_id, tl_queue_id(q));
    ck_assert_str_eq(w[0].object_name, "out");
    tl_queue_free(q);
    tl_loop_free(loop);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

Suite *
tl_queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *core = tcase_create("core");
    TCase *limits = tcase_create("limits");
    TCase *errors = tcase_create("errors");

    tcase_add_checked_fixture(core, log_reset, NULL);
    tcase_add_checked_fixture(limits, log_reset, NULL);
    tcase_set_timeout(limits, 60);     /* 100k items under Valgrind: ~4 s */
    tcase_add_checked_fixture(errors, log_reset, NULL);

    tcase_add_test(core, test_fifo);
    tcase_add_test(core, test_put_no_yield);
    tcase_add_test(core, test_get_no_yield);
    tcase_add_test(core, test_put_hands_to_getter);
    tcase_add_test(core, test_put_hands_to_getter_behind_ready);
    tcase_add_test(core, test_maxsize_blocks);
    tcase_add_test(core, test_get_wakes_putter);
    tcase_add_test(core, test_peek_no_consume);
    tcase_add_test(core, test_peek_blocked_wakes_all);
    tcase_add_test(core, test_peek_only_keeps_item);
    tcase_add_test(core, test_close_wakes_getters_peekers);
    tcase_add_test(core, test_close_wakes_putters);
    tcase_add_test(core, test_close_yields);
    tcase_add_test(core, test_double_close);
    tcase_add_test(core, test_closed_ops);
    tcase_add_test(core, test_null_items);
    tcase_add_test(core, test_getters_fifo);
    tcase_add_test(core, test_cancel_getter);
    tcase_add_test(core, test_cancel_putter);
    tcase_add_test(core, test_cancel_after_handoff);
    tcase_add_test(core, test_cancelled_calls);
    tcase_add_test(core, test_free_wakes);
    tcase_add_test(core, test_info);
    tcase_add_test(core, test_ids_per_loop);
    tcase_add_test(core, test_created_outside_task);
    tcase_add_test(core, test_created_outside_task_free_loop_first);
    tcase_add_test(core, test_created_without_loop);
    suite_add_tcase(s, core);

    tcase_add_test(limits, test_spsc_bounded);
    tcase_add_test(limits, test_spsc_consumer_first);
    tcase_add_test(limits, test_many_items);
    tcase_add_test(limits, test_name_limit);
    suite_add_tcase(s, limits);

    tcase_add_test(errors, test_notask);
    tcase_add_test(errors, test_null_queue);
    tcase_add_test(errors, test_deadlock_reported);
    tcase_add_test(errors, test_deadlock_root_put);
    suite_add_tcase(s, errors);
    return s;
}

TL_CHECK_MAIN(tl_queue_suite)
