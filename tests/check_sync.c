/* SPDX-License-Identifier: MIT */
/* check_sync.c -- flag, lock, condition and latch against tapeloop.h and
 * flowno-semantics.md B2/C: FIFO wake order everywhere, signalling never
 * yields, lock hand-off, cond waiters returning with the lock, cancel,
 * free with waiters, misuse codes, and deadlock reports.  Orderings are
 * checked with an event log: each task appends a short word, the test
 * compares the whole line.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "tl_check.h"


static const char *
me(void)
{
    return tl_task_name(tl_self());
}

/* ---- shared by the tasks of one test -------------------------------- */

static tl_flag *f;              /* the objects under test */
static tl_lock *lk, *lk2;
static tl_cond *cv;
static tl_latch *lt;

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

static void
join_all(tl_task **t, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(tl_join(t[i], NULL), 0);
}

/* Joins tasks that may have been cancelled. */
static void
reap(tl_task **t, int n)
{
    for (int i = 0; i < n; i++) {
        int rc = tl_join(t[i], NULL);
        ck_assert(rc == 0 || rc == TL_ECANCELED);
    }
}

/* What the generic waiter waits on. */
enum { W_FLAG, W_LOCK, W_COND, W_LATCH };

/* Waits on the global object of kind INT(arg); logs "<name>:wait", then
 * "<name>:<result>".  A lock or cond waiter that got the lock releases
 * it; one that did not must not own it. */
static void *
waiter(void *arg)
{
    int kind = (int)(intptr_t)arg, rc = 0;

    if (kind == W_COND)
        ck_assert_int_eq(tl_lock_acquire(lk), 0);
    note("%s:wait", me());
    switch (kind) {
    case W_FLAG: rc = tl_flag_wait(f); break;
    case W_LOCK: rc = tl_lock_acquire(lk); break;
    case W_COND: rc = tl_cond_wait(cv); break;
    case W_LATCH: rc = tl_latch_wait(lt); break;
    }
    note("%s:%s", me(), rcs(rc));
    if ((kind == W_LOCK || kind == W_COND) && rc != TL_ECLOSED)
        ck_assert_int_eq(tl_lock_release(lk), rc == 0 ? 0 : TL_EINVAL);
    return NULL;
}

#define WAITER(kind) ((void *)(intptr_t)(kind))

/* ---- flag ------------------------------------------------------------- */

static void *
flag_wait_before_root(void *arg)
{
    tl_task *w[3];

    (void)arg;
    ck_assert_int_eq(tl_flag_new(&f, "go"), 0);
    ck_assert(!tl_flag_is_set(f));
    w[0] = spawn(waiter, WAITER(W_FLAG), "w1");
    w[1] = spawn(waiter, WAITER(W_FLAG), "w2");
    w[2] = spawn(waiter, WAITER(W_FLAG), "w3");
    spawn(bystander, NULL, "x");
    note("r:set");
    ck_assert_int_eq(tl_flag_set(f), 0);        /* no yield */
    note("r:done");
    ck_assert(tl_flag_is_set(f));
    ck_assert_int_eq(tl_yield(), 0);
    note("r:yielded");
    join_all(w, 3);
    tl_flag_free(f);
    return NULL;
}

START_TEST(test_flag_wait_before_set)
{
    ck_assert_int_eq(tl_check_run(flag_wait_before_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w3:wait x1 r:set r:done x2 "
                           "w1:ok w2:ok w3:ok r:yielded");
}
END_TEST

/* Waiting on a set flag returns without yielding; a second set is a
 * no-op that does not yield either. */
static void *
flag_wait_after_root(void *arg)
{
    tl_task *w;

    (void)arg;
    ck_assert_int_eq(tl_flag_new(&f, NULL), 0);
    spawn(bystander, NULL, "x");
    ck_assert_int_eq(tl_flag_set(f), 0);
    ck_assert_int_eq(tl_flag_wait(f), 0);
    ck_assert_int_eq(tl_flag_set(f), 0);
    ck_assert_int_eq(tl_flag_wait(f), 0);
    ck_assert(tl_flag_is_set(f));
    note("r:waited");
    ck_assert_int_eq(tl_yield(), 0);
    w = spawn(waiter, WAITER(W_FLAG), "w");     /* returns at once */
    note("r:end");
    join_all(&w, 1);
    tl_flag_free(f);
    return NULL;
}

START_TEST(test_flag_wait_after_set)
{
    ck_assert_int_eq(tl_check_run(flag_wait_after_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "x1 r:waited x2 w:wait w:ok r:end");
}
END_TEST

static void *
flag_cancel_root(void *arg)
{
    tl_task *w[2];

    (void)arg;
    ck_assert_int_eq(tl_flag_new(&f, NULL), 0);
    w[0] = spawn(waiter, WAITER(W_FLAG), "w1");
    w[1] = spawn(waiter, WAITER(W_FLAG), "w2");
    ck_assert_int_eq(tl_cancel(w[0]), 0);
    ck_assert_int_eq(tl_yield(), 0);
    ck_assert_int_eq(tl_flag_set(f), 0);
    reap(w, 2);
    ck_assert_int_eq(tl_task_state_of(w[0]), TL_TASK_CANCELLED);
    ck_assert_int_eq(tl_task_state_of(w[1]), TL_TASK_DONE);
    tl_flag_free(f);
    return NULL;
}

START_TEST(test_flag_cancel_waiter)
{
    ck_assert_int_eq(tl_check_run(flag_cancel_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w1:TL_ECANCELED w2:ok");
}
END_TEST

/* ---- lock ------------------------------------------------------------- */

static void *
lock_uncontended_root(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, "L"), 0);
    ck_assert(!tl_lock_is_locked(lk));
    spawn(bystander, NULL, "x");
    ck_assert_int_eq(tl_lock_acquire(lk), 0);   /* no yield */
    ck_assert(tl_lock_is_locked(lk));
    note("r:acq");
    ck_assert_int_eq(tl_lock_release(lk), 0);   /* no yield */
    ck_assert(!tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);
    note("r:rel");
    ck_assert_int_eq(tl_yield(), 0);
    note("r:yielded");
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_lock_uncontended)
{
    ck_assert_int_eq(tl_check_run(lock_uncontended_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "x1 r:acq r:rel x2 r:yielded");
}
END_TEST

/* Release hands the lock to the first waiter: the releaser, asking again
 * at once, queues behind the others. */
static void *
lock_fifo_root(void *arg)
{
    tl_wait w[4];
    tl_task *t[3];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, "L"), 0);
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    t[0] = spawn(waiter, WAITER(W_LOCK), "w1");
    t[1] = spawn(waiter, WAITER(W_LOCK), "w2");
    t[2] = spawn(waiter, WAITER(W_LOCK), "w3");
    ck_assert_uint_eq(tl_loop_waits(tl_loop_current(), w, 4), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq(w[i].task, t[i]);
        ck_assert_int_eq(w[i].kind, TL_WAIT_LOCK);
        ck_assert_str_eq(w[i].object_name, "L");
        ck_assert_ptr_eq(w[i].target, tl_self());
    }
    note("r:rel");
    ck_assert_int_eq(tl_lock_release(lk), 0);
    ck_assert(tl_lock_is_locked(lk));           /* w1's now */
    ck_assert_uint_eq(tl_loop_waits(tl_loop_current(), w, 4), 2);
    ck_assert_ptr_eq(w[0].target, t[0]);
    ck_assert_ptr_eq(w[1].target, t[0]);
    ck_assert_int_eq(tl_lock_acquire(lk), 0);   /* behind w2 and w3 */
    note("r:again");
    ck_assert_int_eq(tl_lock_release(lk), 0);
    ck_assert(!tl_lock_is_locked(lk));
    join_all(t, 3);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_lock_fifo_handoff)
{
    ck_assert_int_eq(tl_check_run(lock_fifo_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w3:wait r:rel w1:ok w2:ok w3:ok "
                           "r:again");
}
END_TEST

static void *
release_other(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_lock_release(lk), TL_EINVAL);
    ck_assert(tl_lock_is_locked(lk));
    return NULL;
}

static void *
lock_misuse_root(void *arg)
{
    tl_task *t;

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_lock_release(lk), TL_EINVAL);   /* free lock */
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_lock_acquire(lk), TL_EINVAL);   /* not re-entrant */
    ck_assert(tl_lock_is_locked(lk));
    t = spawn(release_other, NULL, "other");
    join_all(&t, 1);
    ck_assert(tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_lock_release(lk), 0);           /* still ours */
    ck_assert_int_eq(tl_lock_release(lk), TL_EINVAL);
    ck_assert(!tl_lock_is_locked(lk));
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_lock_misuse)
{
    ck_assert_int_eq(tl_check_run(lock_misuse_root, NULL, NULL), 0);
}
END_TEST

/* A cancelled waiter leaves the queue unserved; the lock goes on to the
 * next waiter and ends up free. */
static void *
lock_cancel_root(void *arg)
{
    tl_task *t[2];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    t[0] = spawn(waiter, WAITER(W_LOCK), "w1");
    t[1] = spawn(waiter, WAITER(W_LOCK), "w2");
    ck_assert_int_eq(tl_cancel(t[0]), 0);
    note("r:rel");
    ck_assert_int_eq(tl_lock_release(lk), 0);
    ck_assert(tl_lock_is_locked(lk));           /* w2's, not w1's */
    reap(t, 2);
    ck_assert_int_eq(tl_task_state_of(t[0]), TL_TASK_CANCELLED);
    ck_assert(!tl_lock_is_locked(lk));
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_lock_cancel_waiter)
{
    ck_assert_int_eq(tl_check_run(lock_cancel_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait r:rel w1:TL_ECANCELED w2:ok");
}
END_TEST

/* Cancelled after the hand-off, the waiter keeps the lock (nothing lost)
 * and its release, which still works, hands it on. */
static void *
lock_cancel_granted_root(void *arg)
{
    tl_task *t[2];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    t[0] = spawn(waiter, WAITER(W_LOCK), "w1");
    t[1] = spawn(waiter, WAITER(W_LOCK), "w2");
    ck_assert_int_eq(tl_lock_release(lk), 0);   /* w1's, it is ready */
    ck_assert_int_eq(tl_cancel(t[0]), 0);
    reap(t, 2);
    ck_assert_int_eq(tl_task_state_of(t[0]), TL_TASK_CANCELLED);
    ck_assert(!tl_lock_is_locked(lk));
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_lock_cancel_granted)
{
    ck_assert_int_eq(tl_check_run(lock_cancel_granted_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w1:ok w2:ok");
}
END_TEST

/* A cancelled owner can still release; acquiring then fails at once. */
static void *
lock_cancelled_owner(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_cancel(tl_self()), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);
    ck_assert(!tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_lock_acquire(lk), TL_ECANCELED);
    ck_assert(!tl_lock_is_locked(lk));
    return NULL;
}

static void *
lock_cancelled_owner_root(void *arg)
{
    tl_task *t;

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    t = spawn(lock_cancelled_owner, NULL, "c");
    ck_assert_int_eq(tl_join(t, NULL), TL_ECANCELED);
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_lock_cancelled_owner)
{
    ck_assert_int_eq(tl_check_run(lock_cancelled_owner_root, NULL, NULL), 0);
}
END_TEST

/* ---- cond ------------------------------------------------------------- */

static void *
cond_misuse_other(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_cond_wait(cv), TL_EINVAL);      /* root owns it */
    ck_assert_int_eq(tl_cond_notify(cv), TL_EINVAL);
    ck_assert_int_eq(tl_cond_notify_all(cv), TL_EINVAL);
    return NULL;
}

static void *
cond_misuse_root(void *arg)
{
    tl_task *t;

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_cond_new(&cv, lk, "cv"), 0);
    ck_assert_int_eq(tl_cond_wait(cv), TL_EINVAL);      /* nobody owns it */
    ck_assert_int_eq(tl_cond_notify(cv), TL_EINVAL);
    ck_assert_int_eq(tl_cond_notify_all(cv), TL_EINVAL);
    ck_assert(!tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    t = spawn(cond_misuse_other, NULL, "other");
    join_all(&t, 1);
    ck_assert_int_eq(tl_cond_notify(cv), 0);            /* no waiter: 0 */
    ck_assert_int_eq(tl_cond_notify_all(cv), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);           /* still ours */
    tl_cond_free(cv);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_cond_misuse)
{
    ck_assert_int_eq(tl_check_run(cond_misuse_root, NULL, NULL), 0);
}
END_TEST

/* notify wakes the first waiter, which runs only once the notifier lets
 * go of the lock, and returns holding it (its release succeeds). */
static void *
cond_notify_root(void *arg)
{
    tl_wait w[4];
    tl_task *t[3];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, "L"), 0);
    ck_assert_int_eq(tl_cond_new(&cv, lk, "cv"), 0);
    t[0] = spawn(waiter, WAITER(W_COND), "w1");
    t[1] = spawn(waiter, WAITER(W_COND), "w2");
    t[2] = spawn(waiter, WAITER(W_COND), "w3");
    ck_assert(!tl_lock_is_locked(lk));          /* wait released it */
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_cond_notify(cv), 0);
    ck_assert_int_eq(tl_yield(), 0);            /* w1 needs the lock */
    note("r:yielded");
    ck_assert_uint_eq(tl_loop_waits(tl_loop_current(), w, 4), 3);
    ck_assert_ptr_eq(w[0].task, t[0]);
    ck_assert_int_eq(w[0].kind, TL_WAIT_LOCK);
    ck_assert_str_eq(w[0].object_name, "L");
    ck_assert_ptr_eq(w[0].target, tl_self());
    for (int i = 1; i < 3; i++) {
        ck_assert_ptr_eq(w[i].task, t[i]);
        ck_assert_int_eq(w[i].kind, TL_WAIT_COND);
        ck_assert_str_eq(w[i].object_name, "cv");
    }
    ck_assert_int_eq(tl_lock_release(lk), 0);
    for (int i = 1; i < 3; i++) {
        ck_assert_int_eq(tl_lock_acquire(lk), 0);
        note("r:again");
        ck_assert_int_eq(tl_cond_notify(cv), 0);
        ck_assert_int_eq(tl_lock_release(lk), 0);
    }
    join_all(t, 3);
    ck_assert(!tl_lock_is_locked(lk));
    tl_cond_free(cv);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_cond_notify_fifo)
{
    ck_assert_int_eq(tl_check_run(cond_notify_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w3:wait r:yielded w1:ok "
                           "r:again w2:ok r:again w3:ok");
}
END_TEST

/* Woken by notify_all, it holds the lock across a yield: nobody else
 * runs its critical section meanwhile. */
static void *
cond_holder(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    note("%s:wait", me());
    ck_assert_int_eq(tl_cond_wait(cv), 0);
    note("%s:in", me());
    ck_assert(tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_yield(), 0);
    note("%s:out", me());
    ck_assert_int_eq(tl_lock_release(lk), 0);
    return NULL;
}

static void *
cond_notify_all_root(void *arg)
{
    tl_wait w[4];
    tl_task *t[3];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, "L"), 0);
    ck_assert_int_eq(tl_cond_new(&cv, lk, NULL), 0);
    t[0] = spawn(cond_holder, NULL, "w1");
    t[1] = spawn(cond_holder, NULL, "w2");
    t[2] = spawn(cond_holder, NULL, "w3");
    spawn(bystander, NULL, "x");
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_cond_notify_all(cv), 0);        /* no yield */
    note("r:all");
    ck_assert_uint_eq(tl_loop_waits(tl_loop_current(), w, 4), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq(w[i].task, t[i]);
        ck_assert_int_eq(w[i].kind, TL_WAIT_LOCK);
        ck_assert_ptr_eq(w[i].target, tl_self());
    }
    ck_assert_int_eq(tl_lock_release(lk), 0);
    note("r:rel");
    join_all(t, 3);
    tl_cond_free(cv);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_cond_notify_all_fifo)
{
    ck_assert_int_eq(tl_check_run(cond_notify_all_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w3:wait x1 r:all r:rel x2 "
                           "w1:in w1:out w2:in w2:out w3:in w3:out");
}
END_TEST

/* Cancelled while waiting for a notify: TL_ECANCELED, without the lock;
 * the next notify goes to the next waiter. */
static void *
cond_cancel_root(void *arg)
{
    tl_task *t[2];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_cond_new(&cv, lk, NULL), 0);
    t[0] = spawn(waiter, WAITER(W_COND), "w1");
    t[1] = spawn(waiter, WAITER(W_COND), "w2");
    ck_assert_int_eq(tl_cancel(t[0]), 0);
    ck_assert(!tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_cond_notify(cv), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);
    reap(t, 2);
    ck_assert_int_eq(tl_task_state_of(t[0]), TL_TASK_CANCELLED);
    ck_assert(!tl_lock_is_locked(lk));
    tl_cond_free(cv);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_cond_cancel_waiter)
{
    ck_assert_int_eq(tl_check_run(cond_cancel_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w1:TL_ECANCELED w2:ok");
}
END_TEST

/* Cancelled after the notify, queued for the lock: still TL_ECANCELED
 * without the lock, and the notifier's release frees it. */
static void *
cond_cancel_notified_root(void *arg)
{
    tl_task *t;

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_cond_new(&cv, lk, NULL), 0);
    t = spawn(waiter, WAITER(W_COND), "w1");
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_cond_notify(cv), 0);
    ck_assert_int_eq(tl_cancel(t), 0);
    ck_assert_int_eq(tl_yield(), 0);            /* w1 ends, lock ours */
    note("r:rel");
    ck_assert(tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_lock_release(lk), 0);
    ck_assert(!tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_join(t, NULL), TL_ECANCELED);
    tl_cond_free(cv);
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_cond_cancel_notified)
{
    ck_assert_int_eq(tl_check_run(cond_cancel_notified_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w1:TL_ECANCELED r:rel");
}
END_TEST

/* ---- latch ------------------------------------------------------------ */

static void *
latch_root(void *arg)
{
    tl_task *w[3];

    (void)arg;
    ck_assert_int_eq(tl_latch_new(&lt, 3, "gate"), 0);
    ck_assert_uint_eq(tl_latch_count(lt), 3);
    w[0] = spawn(waiter, WAITER(W_LATCH), "w1");
    w[1] = spawn(waiter, WAITER(W_LATCH), "w2");
    w[2] = spawn(waiter, WAITER(W_LATCH), "w3");
    spawn(bystander, NULL, "x");
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tl_latch_count_down(lt), 0);   /* no yield */
        note("r:%u", tl_latch_count(lt));
    }
    ck_assert_int_eq(tl_yield(), 0);
    note("r:yielded");
    join_all(w, 3);
    tl_latch_free(lt);
    return NULL;
}

START_TEST(test_latch_wakes_all_fifo)
{
    ck_assert_int_eq(tl_check_run(latch_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w3:wait x1 r:2 r:1 r:0 x2 "
                           "w1:ok w2:ok w3:ok r:yielded");
}
END_TEST

/* An open latch: wait returns at once; count_down at zero fails. */
static void *
latch_open_root(void *arg)
{
    tl_latch *zero;

    (void)arg;
    ck_assert_int_eq(tl_latch_new(&zero, 0, NULL), 0);
    ck_assert_int_eq(tl_latch_new(&lt, 1, NULL), 0);
    spawn(bystander, NULL, "x");
    ck_assert_int_eq(tl_latch_wait(zero), 0);
    ck_assert_int_eq(tl_latch_count_down(zero), TL_EINVAL);
    ck_assert_uint_eq(tl_latch_count(zero), 0);
    ck_assert_int_eq(tl_latch_count_down(lt), 0);
    ck_assert_int_eq(tl_latch_wait(lt), 0);
    ck_assert_int_eq(tl_latch_count_down(lt), TL_EINVAL);
    ck_assert_uint_eq(tl_latch_count(lt), 0);
    ck_assert_int_eq(tl_latch_wait(lt), 0);
    note("r:waited");
    ck_assert_int_eq(tl_yield(), 0);
    tl_latch_free(zero);
    tl_latch_free(lt);
    return NULL;
}

START_TEST(test_latch_open)
{
    ck_assert_int_eq(tl_check_run(latch_open_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "x1 r:waited x2");
}
END_TEST

static void *
latch_cancel_root(void *arg)
{
    tl_task *w[2];

    (void)arg;
    ck_assert_int_eq(tl_latch_new(&lt, 1, NULL), 0);
    w[0] = spawn(waiter, WAITER(W_LATCH), "w1");
    w[1] = spawn(waiter, WAITER(W_LATCH), "w2");
    ck_assert_int_eq(tl_cancel(w[0]), 0);
    ck_assert_int_eq(tl_yield(), 0);
    ck_assert_int_eq(tl_latch_count_down(lt), 0);
    reap(w, 2);
    ck_assert_int_eq(tl_task_state_of(w[0]), TL_TASK_CANCELLED);
    tl_latch_free(lt);
    return NULL;
}

START_TEST(test_latch_cancel_waiter)
{
    ck_assert_int_eq(tl_check_run(latch_cancel_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "w1:wait w2:wait w1:TL_ECANCELED w2:ok");
}
END_TEST

/* ---- all four: free with waiters, cancelled callers --------------------- */

static void *
free_wakes_root(void *arg)
{
    tl_task *t[4];

    (void)arg;
    ck_assert_int_eq(tl_flag_new(&f, NULL), 0);
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_lock_new(&lk2, NULL), 0);
    ck_assert_int_eq(tl_latch_new(&lt, 2, NULL), 0);
    t[0] = spawn(waiter, WAITER(W_FLAG), "f");
    t[1] = spawn(waiter, WAITER(W_LATCH), "t");
    ck_assert_int_eq(tl_cond_new(&cv, lk, NULL), 0);
    t[2] = spawn(waiter, WAITER(W_COND), "c");
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    t[3] = spawn(waiter, WAITER(W_LOCK), "l");
    note("r:free");
    tl_latch_free(lt);
    tl_flag_free(f);
    tl_cond_free(cv);                           /* before its lock */
    tl_lock_free(lk);                           /* we held it */
    note("r:freed");
    join_all(t, 4);
    tl_lock_free(lk2);
    return NULL;
}

START_TEST(test_free_wakes_waiters)
{
    ck_assert_int_eq(tl_check_run(free_wakes_root, NULL, NULL), 0);
    ck_assert_str_eq(tl_log(), "f:wait t:wait c:wait l:wait r:free r:freed "
                           "t:TL_ECLOSED f:TL_ECLOSED c:TL_ECLOSED "
                           "l:TL_ECLOSED");
}
END_TEST

/* Once cancelled, waits fail at once, even on an open object; signalling
 * calls keep working. */
static void *
cancelled_calls_task(void *arg)
{
    (void)arg;
    ck_assert_int_eq(tl_cancel(tl_self()), 0);
    ck_assert_int_eq(tl_flag_wait(f), TL_ECANCELED);
    ck_assert_int_eq(tl_flag_set(f), 0);
    ck_assert(tl_flag_is_set(f));
    ck_assert_int_eq(tl_flag_wait(f), TL_ECANCELED);
    ck_assert_int_eq(tl_lock_acquire(lk), TL_ECANCELED);
    ck_assert(!tl_lock_is_locked(lk));
    ck_assert_int_eq(tl_latch_count_down(lt), 0);
    ck_assert_int_eq(tl_latch_wait(lt), TL_ECANCELED);
    return NULL;
}

static void *
cancelled_calls_root(void *arg)
{
    tl_task *t;

    (void)arg;
    ck_assert_int_eq(tl_flag_new(&f, NULL), 0);
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_latch_new(&lt, 1, NULL), 0);
    t = spawn(cancelled_calls_task, NULL, "c");
    ck_assert_int_eq(tl_join(t, NULL), TL_ECANCELED);
    ck_assert_uint_eq(tl_latch_count(lt), 0);
    tl_flag_free(f);
    tl_lock_free(lk);
    tl_latch_free(lt);
    return NULL;
}

START_TEST(test_cancelled_calls)
{
    ck_assert_int_eq(tl_check_run(cancelled_calls_root, NULL, NULL), 0);
}
END_TEST

static void *
early_root(void *arg)
{
    tl_task *t;

    (void)arg;
    t = spawn(waiter, WAITER(W_FLAG), "w");
    ck_assert_int_eq(tl_flag_set(f), 0);
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(tl_lock_release(lk), 0);
    join_all(&t, 1);
    return NULL;
}

/* Objects made after tl_loop_new and before tl_loop_run work in it. */
START_TEST(test_created_outside_task)
{
    tl_loop *loop;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_flag_new(&f, "early"), 0);
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, early_root, NULL, NULL), 0);
    ck_assert(tl_flag_is_set(f));
    ck_assert_str_eq(tl_log(), "w:wait w:ok");
    tl_flag_free(f);
    tl_loop_free(loop);
    tl_lock_free(lk);
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

enum { CROWD = 200 };

/* Many lock waiters: served strictly in arrival order. */
static void *
crowd_member(void *arg)
{
    int *next = arg;
    int me_i = atoi(me());

    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    ck_assert_int_eq(*next, me_i);
    (*next)++;
    ck_assert_int_eq(tl_yield(), 0);            /* hold it a while */
    ck_assert_int_eq(tl_lock_release(lk), 0);
    return NULL;
}

static void *
crowd_root(void *arg)
{
    static tl_task *t[CROWD];
    int next = 0;
    char name[16];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_lock_acquire(lk), 0);
    for (int i = 0; i < CROWD; i++) {
        snprintf(name, sizeof name, "%d", i);
        t[i] = spawn(crowd_member, &next, name);
    }
    ck_assert_int_eq(tl_lock_release(lk), 0);
    join_all(t, CROWD);
    ck_assert_int_eq(next, CROWD);
    ck_assert(!tl_lock_is_locked(lk));
    tl_lock_free(lk);
    return NULL;
}

START_TEST(test_lock_crowd)
{
    ck_assert_int_eq(tl_check_run(crowd_root, NULL, NULL), 0);
}
END_TEST

START_TEST(test_name_limit)
{
    char name[TL_NAME_MAX + 2];
    tl_flag *fl = (tl_flag *)&name;             /* sentinels */
    tl_lock *l = (tl_lock *)&name;
    tl_cond *c = (tl_cond *)&name;
    tl_latch *la = (tl_latch *)&name;

    memset(name, 'n', sizeof name);
    name[TL_NAME_MAX + 1] = '\0';
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_flag_new(&fl, name), TL_ENAMETOOLONG);
    ck_assert_int_eq(tl_lock_new(&l, name), TL_ENAMETOOLONG);
    ck_assert_int_eq(tl_cond_new(&c, lk, name), TL_ENAMETOOLONG);
    ck_assert_int_eq(tl_latch_new(&la, 1, name), TL_ENAMETOOLONG);
    ck_assert_ptr_eq(fl, (tl_flag *)&name);     /* not written */
    ck_assert_ptr_eq(l, (tl_lock *)&name);
    ck_assert_ptr_eq(c, (tl_cond *)&name);
    ck_assert_ptr_eq(la, (tl_latch *)&name);
    name[TL_NAME_MAX] = '\0';                   /* at the limit: fine */
    ck_assert_int_eq(tl_flag_new(&fl, name), 0);
    ck_assert_int_eq(tl_lock_new(&l, name), 0);
    ck_assert_int_eq(tl_cond_new(&c, lk, name), 0);
    ck_assert_int_eq(tl_latch_new(&la, 1, name), 0);
    tl_cond_free(c);
    tl_flag_free(fl);
    tl_lock_free(l);
    tl_latch_free(la);
    tl_lock_free(lk);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

START_TEST(test_notask)
{
    tl_loop *loop = NULL;

    ck_assert_int_eq(tl_flag_new(&f, NULL), 0);
    ck_assert_int_eq(tl_lock_new(&lk, NULL), 0);
    ck_assert_int_eq(tl_cond_new(&cv, lk, NULL), 0);
    ck_assert_int_eq(tl_latch_new(&lt, 2, NULL), 0);
    for (int pass = 0; pass < 2; pass++) {      /* no loop, then idle loop */
        if (pass == 1)
            ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
        ck_assert_int_eq(tl_flag_set(f), TL_ENOTASK);
        ck_assert_int_eq(tl_flag_wait(f), TL_ENOTASK);
        ck_assert_int_eq(tl_lock_acquire(lk), TL_ENOTASK);
        ck_assert_int_eq(tl_lock_release(lk), TL_ENOTASK);
        ck_assert_int_eq(tl_cond_wait(cv), TL_ENOTASK);
        ck_assert_int_eq(tl_cond_notify(cv), TL_ENOTASK);
        ck_assert_int_eq(tl_cond_notify_all(cv), TL_ENOTASK);
        ck_assert_int_eq(tl_latch_count_down(lt), TL_ENOTASK);
        ck_assert_int_eq(tl_latch_wait(lt), TL_ENOTASK);
        ck_assert(!tl_flag_is_set(f));
        ck_assert(!tl_lock_is_locked(lk));
        ck_assert_uint_eq(tl_latch_count(lt), 2);
    }
    tl_loop_free(loop);
    tl_cond_free(cv);
    tl_flag_free(f);
    tl_lock_free(lk);
    tl_latch_free(lt);
}
END_TEST

static void *
null_root(void *arg)
{
    tl_cond *c = (tl_cond *)&c;                 /* a sentinel */

    (void)arg;
    ck_assert_int_eq(tl_flag_set(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_flag_wait(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_lock_acquire(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_lock_release(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_cond_wait(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_cond_notify(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_cond_notify_all(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_latch_count_down(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_latch_wait(NULL), TL_EINVAL);
    ck_assert_int_eq(tl_cond_new(&c, NULL, NULL), TL_EINVAL);
    ck_assert_ptr_eq(c, (tl_cond *)&c);
    ck_assert(!tl_flag_is_set(NULL));
    ck_assert(!tl_lock_is_locked(NULL));
    ck_assert_uint_eq(tl_latch_count(NULL), 0);
    tl_flag_free(NULL);
    tl_lock_free(NULL);
    tl_cond_free(NULL);
    tl_latch_free(NULL);
    return NULL;
}

START_TEST(test_null)
{
    ck_assert_int_eq(tl_check_run(null_root, NULL, NULL), 0);
}
END_TEST

/* Task a holds L1 and wants L2; task b holds L2 and wants L1.  The latch
 * makes sure each holds its first lock before asking for the second. */
static void *
crosser(void *arg)
{
    tl_lock **two = arg;

    ck_assert_int_eq(tl_lock_acquire(two[0]), 0);
    ck_assert_int_eq(tl_latch_count_down(lt), 0);
    ck_assert_int_eq(tl_latch_wait(lt), 0);
    note("%s:wants", me());
    tl_lock_acquire(two[1]);
    ck_abort_msg("a deadlocked acquire returned");
    return NULL;
}

static tl_task *ta, *tb;        /* the two crossers */

static void *
deadlock_root(void *arg)
{
    static tl_lock *order_a[2], *order_b[2];

    (void)arg;
    ck_assert_int_eq(tl_lock_new(&lk, "L1"), 0);
    ck_assert_int_eq(tl_lock_new(&lk2, "L2"), 0);
    ck_assert_int_eq(tl_latch_new(&lt, 2, "both"), 0);
    order_a[0] = order_b[1] = lk;
    order_a[1] = order_b[0] = lk2;
    ta = spawn(crosser, order_a, "a");
    tb = spawn(crosser, order_b, "b");
    return NULL;
}

START_TEST(test_deadlock_locks)
{
    tl_loop *loop;
    tl_wait w[4];
    char line[160], want[160];

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_root, NULL, NULL),
                     TL_EDEADLOCK);
    ck_assert_str_eq(tl_log(), "b:wants a:wants");
    ck_assert_uint_eq(tl_loop_waits(loop, w, 4), 2);
    ck_assert_ptr_eq(w[0].task, ta);            /* in id order */
    ck_assert_ptr_eq(w[1].task, tb);
    ck_assert_int_eq(w[0].kind, TL_WAIT_LOCK);
    ck_assert_int_eq(w[1].kind, TL_WAIT_LOCK);
    ck_assert_str_eq(w[0].object_name, "L2");
    ck_assert_str_eq(w[1].object_name, "L1");
    ck_assert_ptr_eq(w[0].target, tb);          /* L2's owner */
    ck_assert_ptr_eq(w[1].target, ta);          /* L1's owner */
    ck_assert_uint_ne(w[0].object_id, 0);
    ck_assert_uint_ne(w[1].object_id, 0);
    ck_assert_uint_ne(w[0].object_id, w[1].object_id);
    ck_assert(tl_lock_is_locked(lk));
    ck_assert(tl_lock_is_locked(lk2));
    tl_wait_format(&w[0], line, sizeof line);
    snprintf(want, sizeof want,
             "task %u \"a\" waits lock(lock %u \"L2\", held by task %u)",
             tl_task_id(ta), w[0].object_id, tl_task_id(tb));
    ck_assert_str_eq(line, want);
    tl_loop_free(loop);
    tl_lock_free(lk);
    tl_lock_free(lk2);
    tl_latch_free(lt);
}
END_TEST

static void *
deadlock_kinds_root(void *arg)
{
    tl_task **t = arg;

    ck_assert_int_eq(tl_flag_new(&f, "never"), 0);
    ck_assert_int_eq(tl_latch_new(&lt, 1, "gate"), 0);
    ck_assert_int_eq(tl_lock_new(&lk, "L"), 0);
    ck_assert_int_eq(tl_cond_new(&cv, lk, "cv"), 0);
    t[0] = spawn(waiter, WAITER(W_FLAG), "f");
    t[1] = spawn(waiter, WAITER(W_LATCH), "t");
    t[2] = spawn(waiter, WAITER(W_COND), "c");
    return NULL;
}

/* Flag, latch and cond waits nobody will end are reported as such. */
START_TEST(test_deadlock_kinds)
{
    static const tl_wait_kind kinds[] = {TL_WAIT_FLAG, TL_WAIT_LATCH,
                                         TL_WAIT_COND};
    static const char *const names[] = {"never", "gate", "cv"};
    tl_loop *loop;
    tl_task *t[3];
    tl_wait w[4];

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_kinds_root, t, NULL),
                     TL_EDEADLOCK);
    ck_assert_uint_eq(tl_loop_waits(loop, w, 4), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq(w[i].task, t[i]);
        ck_assert_int_eq(w[i].kind, kinds[i]);
        ck_assert_str_eq(w[i].object_name, names[i]);
        ck_assert_uint_ne(w[i].object_id, 0);
        ck_assert_ptr_null(w[i].target);
    }
    ck_assert(!tl_lock_is_locked(lk));          /* the cond wait let go */
    tl_cond_free(cv);
    tl_loop_free(loop);
    tl_flag_free(f);
    tl_latch_free(lt);
    tl_lock_free(lk);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

Suite *
tl_sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *core = tcase_create("core");
    TCase *limits = tcase_create("limits");
    TCase *errors = tcase_create("errors");

    tcase_add_checked_fixture(core, log_reset, NULL);
    tcase_add_checked_fixture(limits, log_reset, NULL);
    tcase_add_checked_fixture(errors, log_reset, NULL);

    tcase_add_test(core, test_flag_wait_before_set);
    tcase_add_test(core, test_flag_wait_after_set);
    tcase_add_test(core, test_flag_cancel_waiter);
    tcase_add_test(core, test_lock_uncontended);
    tcase_add_test(core, test_lock_fifo_handoff);
    tcase_add_test(core, test_lock_cancel_waiter);
    tcase_add_test(core, test_lock_cancel_granted);
    tcase_add_test(core, test_lock_cancelled_owner);
    tcase_add_test(core, test_cond_notify_fifo);
    tcase_add_test(core, test_cond_notify_all_fifo);
    tcase_add_test(core, test_cond_cancel_waiter);
    tcase_add_test(core, test_cond_cancel_notified);
    tcase_add_test(core, test_latch_wakes_all_fifo);
    tcase_add_test(core, test_latch_open);
    tcase_add_test(core, test_latch_cancel_waiter);
    tcase_add_test(core, test_free_wakes_waiters);
    tcase_add_test(core, test_cancelled_calls);
    tcase_add_test(core, test_created_outside_task);
    suite_add_tcase(s, core);

    tcase_add_test(limits, test_lock_crowd);
    tcase_add_test(limits, test_name_limit);
    suite_add_tcase(s, limits);

    tcase_add_test(errors, test_lock_misuse);
    tcase_add_test(errors, test_cond_misuse);
    tcase_add_test(errors, test_notask);
    tcase_add_test(errors, test_null);
    tcase_add_test(errors, test_deadlock_locks);
    tcase_add_test(errors, test_deadlock_kinds);
    suite_add_tcase(s, errors);
    return s;
}

TL_CHECK_MAIN(tl_sync_suite)
