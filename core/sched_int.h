/* SPDX-License-Identifier: MIT */
/* sched_int.h -- the scheduler's hot path, inlined where queues, sync objects
 * and sockets use it: readying a task, parking one on a wait list, waking
 * one, and switching to the next task of the pass.  Included by
 * loop_int.h after the structures it works on.
 */
#ifndef TL_SCHED_INT_H
#define TL_SCHED_INT_H

static inline __attribute__((always_inline)) void
tl__make_ready(tl_loop *loop, tl_task *t, int rc, void *val)
{
    t->rc = rc;
    t->val = val;
    t->state = TL_TASK_READY;
    t->wait = TL_WAIT_NONE;
    tl__list_push(&loop->ready, &t->link);
    loop->nready++;
}

/* The next step of this pass: pops the head of the ready FIFO and makes it
 * the running task; NULL when the pass is over. */
static inline __attribute__((always_inline)) tl_task *
tl__next_step(tl_loop *loop)
{
    tl_task *t;

    if (!loop->nready)
        return NULL;
    if (!loop->pass_left) {
        /* A pass ends with a poll and a look at the timers; with neither
         * to do, the next pass starts here, without the scheduler. */
        if (loop->nio || loop->nheap)
            return NULL;
        loop->pass_left = loop->nready;
    }
    loop->pass_left--;
    t = tl__container_of(loop->ready.next, tl_task, link);
    tl__list_del(&t->link);
    loop->nready--;
    t->state = TL_TASK_RUNNING;
    loop->cur = t;
    TL__EV_THEN(loop, TL_EV_RESUME, .task = t->id, .a = t->rc);
    return t;
}

/* Switches out a task that has put itself where it belongs: straight to
 * the next task of the pass (one switch per step, not two), or back to the
 * scheduler when the pass is over.  Returns what the task was woken with. */
static inline __attribute__((always_inline)) int
tl__suspend(tl_task *t)
{
    tl_loop *loop = t->loop;
    tl_task *n = tl__next_step(loop);

    t->cmd = TL__CMD_NONE;
    if (n != t)
        tl__ctx_switch(&t->ctx, n ? &n->ctx : &loop->sched, false);
    return t->rc;
}


static inline __attribute__((always_inline)) int
tl__yield_to_tail(tl_task *t, int rc)
{
    tl__make_ready(t->loop, t, rc, NULL);
    return tl__suspend(t);
}

/* The block event: what t waits on (a task it joins, an object, or
 * nothing: a sleep, a custom command). */
static inline __attribute__((always_inline)) void
tl__block_event(tl_task *t, int wait, const void *obj)
{
    int ok = TL_OBJ_NONE;
    unsigned id = 0;

    if (wait == TL_WAIT_JOIN) {
        ok = TL_OBJ_TASK;
        id = ((const tl_task *)obj)->id;
    } else if (obj) {
        ok = tl__okind(obj);
        id = ((const tl__obj *)obj)->id;
    }
    TL__EV(t->loop, TL_EV_BLOCK, .task = t->id, .okind = (uint8_t)ok,
           .object = id, .a = wait);
}

static inline __attribute__((always_inline)) int
tl__park(tl_task *t, tl__link *list, int wait, void *obj)
{
    if (t->loop->evmask)
        tl__block_event(t, wait, obj);
    t->state = TL_TASK_BLOCKED;
    t->wait = (unsigned char)wait;
    t->wobj = obj;
    tl__list_push(list, &t->link);
    t->loop->nparked++;
    return tl__suspend(t);
}

/* Readies a task that waited, and says so: by whom, with what. */
static inline __attribute__((always_inline)) void
tl__wake(tl_task *t, int rc, void *val)
{
    tl_loop *loop = t->loop;

    TL__EV_THEN(loop, TL_EV_WAKE, .task = t->id, .a = rc,
                .b = TL__ACTOR(loop));
    tl__make_ready(loop, t, rc, val);
}

static inline __attribute__((always_inline)) void
tl__unpark(tl_task *t, int rc, void *val)
{
    tl__list_del(&t->link);
    t->loop->nparked--;
    tl__wake(t, rc, val);
}

#endif /* TL_SCHED_INT_H */
