/* SPDX-License-Identifier: MIT */
/* task.c -- tasks and the scheduler's step: spawn, join, cancel, sleep,
 * yield, fail; the ready FIFO, wait lists and the sleep heap; custom
 * commands.  A task changes its own place (ready tail, a wait list, the
 * heap) before switching out; the scheduler only finishes ended tasks and
 * hands custom commands to their hook.  Nothing here knows about I/O.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loop_int.h"

/* ---- the sleep heap: min on (deadline, sseq), so equal deadlines wake in
 * the order they were set ------------------------------------------------- */

static int
earlier(const tl_task *a, const tl_task *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->sseq < b->sseq);
}

static void
heap_set(tl_loop *loop, size_t i, tl_task *t)
{
    loop->heap[i] = t;
    t->heap_i = i;
}

static void
heap_up(tl_loop *loop, size_t i)
{
    tl_task *t = loop->heap[i];
    while (i && earlier(t, loop->heap[(i - 1) / 2])) {
        heap_set(loop, i, loop->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(loop, i, t);
}

static void
heap_down(tl_loop *loop, size_t i)
{
    tl_task *t = loop->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= loop->nheap)
            break;
        if (c + 1 < loop->nheap && earlier(loop->heap[c + 1], loop->heap[c]))
            c++;
        if (!earlier(loop->heap[c], t))
            break;
        heap_set(loop, i, loop->heap[c]);
        i = c;
    }
    heap_set(loop, i, t);
}

static int
heap_push(tl_loop *loop, tl_task *t)
{
    if (loop->nheap == loop->capheap) {
        size_t cap = loop->capheap ? loop->capheap * 2 : 64;
        tl_task **h = tl__realloc(loop->heap, cap * sizeof *h);
        if (!h)
            return TL_ENOMEM;
        loop->heap = h;
        loop->capheap = cap;
    }
    t->sseq = loop->sseq++;
    heap_set(loop, loop->nheap++, t);
    heap_up(loop, loop->nheap - 1);
    return 0;
}

static void
heap_remove(tl_loop *loop, tl_task *t)
{
    size_t i = t->heap_i;
    tl_task *last = loop->heap[--loop->nheap];

    if (i == loop->nheap)
        return;
    heap_set(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->heap_i);
}

void
tl__run_timers(tl_loop *loop, int64_t now)
{
    while (loop->nheap && loop->heap[0]->deadline <= now) {
        tl_task *t = loop->heap[0];
        heap_remove(loop, t);
        tl__wake(t, 0, NULL);
    }
}

/* ---- ready, park, wake ------------------------------------------------- */

void
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
static inline tl_task *
next_step(tl_loop *loop)
{
    tl_task *t;

    if (!loop->pass_left || !loop->nready)
        return NULL;
    loop->pass_left--;
    t = tl__container_of(loop->ready.next, tl_task, link);
    tl__list_del(&t->link);
    loop->nready--;
    t->state = TL_TASK_RUNNING;
    loop->cur = t;
    TL__EV(loop, TL_EV_RESUME, .task = t->id, .a = t->rc);
    return t;
}

/* Switches out a task that has put itself where it belongs: straight to
 * the next task of the pass (one switch per step, not two), or back to the
 * scheduler when the pass is over.  Returns what the task was woken with. */
int
tl__suspend(tl_task *t)
{
    tl_loop *loop = t->loop;
    tl_task *n = next_step(loop);

    t->cmd = TL__CMD_NONE;
    if (n != t)
        tl__ctx_switch(&t->ctx, n ? &n->ctx : &loop->sched, false);
    return t->rc;
}

/* Leaves for the scheduler, which must act on t->cmd. */
static void
to_scheduler(tl_task *t, int cmd, bool dying)
{
    t->cmd = (unsigned char)cmd;
    tl__ctx_switch(&t->ctx, &t->loop->sched, dying);
}

int
tl__yield_to_tail(tl_task *t, int rc)
{
    tl__make_ready(t->loop, t, rc, NULL);
    return tl__suspend(t);
}

/* What a blocked task waits on, as an event names it. */
void
tl__block_event(tl_task *t, int wait, const void *obj)
{
    tl_loop *loop = t->loop;
    int ok = TL_OBJ_NONE;
    unsigned id = 0;

    if (wait == TL_WAIT_JOIN) {
        ok = TL_OBJ_TASK;
        id = ((const tl_task *)obj)->id;
    } else if (obj) {
        ok = tl__okind(obj);
        id = ((const tl__obj *)obj)->id;
    }
    TL__EV(loop, TL_EV_BLOCK, .task = t->id, .okind = (uint8_t)ok,
           .object = id, .a = wait);
}

int
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
void
tl__wake(tl_task *t, int rc, void *val)
{
    tl_loop *loop = t->loop;

    TL__EV(loop, TL_EV_WAKE, .task = t->id, .a = rc, .b = TL__ACTOR(loop));
    tl__make_ready(loop, t, rc, val);
}

void
tl__unpark(tl_task *t, int rc, void *val)
{
    tl__list_del(&t->link);
    t->loop->nparked--;
    tl__wake(t, rc, val);
}

void
tl__wake_all(tl__link *list, int rc)
{
    while (!tl__list_empty(list))
        tl__unpark(tl__container_of(list->next, tl_task, link), rc, NULL);
}

/* ---- life of a task ---------------------------------------------------- */

static void
task_main(void *p)
{
    tl_task *t = p;

    tl__ctx_started();
    if (!t->cancelled)          /* cancelled before its first step: never runs */
        t->result = t->fn(t->arg);
    t->state = t->cancelled ? TL_TASK_CANCELLED : TL_TASK_DONE;
    to_scheduler(t, TL__CMD_EXIT, true);
    abort();                    /* an ended task is never entered again */
}

int
tl__task_new(tl_task **out, tl_loop *loop, tl_task_fn fn, void *arg,
             const char *name, unsigned parent)
{
    tl_task *t = tl__calloc(sizeof *t);
    int rc;

    if (!t)
        return TL_ENOMEM;
    if ((rc = tl__name(&t->name, name)) != 0)
        goto fail;
    if ((rc = tl__stack_get(&loop->pool, &t->stack)) != 0)
        goto fail;
    tl__ctx_make(&t->ctx, t->stack.lo, t->stack.size, task_main, t);
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    t->parent = parent;
    t->id = ++loop->ntasks;
    tl__list_init(&t->link);
    tl__list_init(&t->joiners);
    tl__list_push(&loop->tasks, &t->all);
    *out = t;
    return 0;
fail:
    tl__free(t->name);
    tl__free(t);
    return rc;
}

void
tl__task_free(tl_task *t)
{
    tl__list_del(&t->link);
    tl__list_del(&t->all);
    tl__stack_put(&t->loop->pool, &t->stack);
    tl__free(t->error);
    tl__free(t->name);
    tl__free(t);
}

/* The scheduler's side of a task's end: wake joiners with its outcome,
 * give back its stack, free it if detached. */
static void
finish(tl_loop *loop, tl_task *t)
{
    int rc = t->state == TL_TASK_DONE     ? 0
             : t->state == TL_TASK_FAILED ? TL_EFAILED
                                          : TL_ECANCELED;
    int kind = rc == 0 ? TL_EV_TASK_DONE
               : rc == TL_EFAILED ? TL_EV_TASK_FAILED : TL_EV_TASK_CANCELLED;
    const char *msg = tl_task_error(t);

    TL__EV(loop, kind, .task = t->id, .payload = msg,
           .len = msg ? strlen(msg) : 0);
    while (!tl__list_empty(&t->joiners))
        tl__unpark(tl__container_of(t->joiners.next, tl_task, link), rc,
                   t->result);
    tl__stack_put(&loop->pool, &t->stack);
    if (t->detached && t != loop->root)
        tl__task_free(t);
}

static void
fail_unknown(tl_loop *loop, tl_task *t)
{
    char buf[64];

    loop->nparked--;
    snprintf(buf, sizeof buf, "unknown command %d", t->ccode);
    t->error = tl__strdup(buf);
    t->state = TL_TASK_FAILED;
    finish(loop, t);
}

/* One scheduling step, seen from the scheduler: run the head of the ready
 * FIFO; tasks then hand over to each other until the pass is over or one
 * needs the scheduler (it ended, or issued a custom command). */
void
tl__step(tl_loop *loop)
{
    tl_task *t = next_step(loop);

    tl__ctx_switch(&loop->sched, &t->ctx, false);
    t = loop->cur;              /* whoever came back */
    if (t->cmd == TL__CMD_CUSTOM && loop->cmd_fn) {
        loop->cur = NULL;       /* the hook runs outside any task */
        loop->cmd_fn(loop, t, t->ccode, t->val, loop->cmd_ud);
        return;
    }
    if (t->cmd == TL__CMD_EXIT)
        finish(loop, t);        /* cur is still t: it wakes its joiners */
    else if (t->cmd == TL__CMD_CUSTOM)
        fail_unknown(loop, t);
    loop->cur = NULL;
}

/* ---- the task API ---------------------------------------------------- */

tl_task *
tl_self(void)
{
    return tl__running ? tl__running->cur : NULL;
}

int
tl_spawn(tl_task **out, tl_task_fn fn, void *arg, const char *name)
{
    tl_task *self, *c;
    int rc;

    TL__TASK(self);
    if (self->cancelled)
        return TL_ECANCELED;
    if (!fn)
        return TL_EINVAL;
    if ((rc = tl__task_new(&c, self->loop, fn, arg, name, self->id)) != 0)
        return rc;
    c->detached = !out;
    if (out)
        *out = c;
    TL__EV(self->loop, TL_EV_SPAWN, .task = self->id, .okind = TL_OBJ_TASK,
           .object = c->id, .payload = c->name,
           .len = c->name ? strlen(c->name) : 0);
    tl__make_ready(self->loop, c, 0, NULL);     /* the child first */
    tl__yield_to_tail(self, 0);                 /* then the parent */
    return 0;
}

int
tl_join(tl_task *t, void **result)
{
    tl_task *self;
    int rc;

    TL__TASK(self);
    if (!t || t == self || t->loop != self->loop)
        return TL_EINVAL;
    if (self->cancelled)
        return TL_ECANCELED;
    TL__EV(self->loop, TL_EV_JOIN, .task = self->id, .okind = TL_OBJ_TASK,
           .object = t->id, .flags = t->state >= TL_TASK_DONE);
    if (t->state >= TL_TASK_DONE) {
        rc = t->state == TL_TASK_DONE ? 0
             : t->state == TL_TASK_FAILED ? TL_EFAILED : TL_ECANCELED;
        tl__make_ready(self->loop, self, rc, t->result);
        rc = tl__suspend(self);
    } else {
        rc = tl__park(self, &t->joiners, TL_WAIT_JOIN, t);
    }
    if (rc == 0 && result)
        *result = self->val;
    return rc;
}

int
tl_cancel(tl_task *t)
{
    tl_task *self;

    TL__TASK(self);
    if (!t || t->loop != self->loop || t->state >= TL_TASK_DONE)
        return TL_EINVAL;
    TL__EV(self->loop, TL_EV_CANCEL, .task = self->id, .okind = TL_OBJ_TASK,
           .object = t->id, .a = t->cancelled);
    if (t->cancelled)
        return 0;
    t->cancelled = 1;
    if (t->state != TL_TASK_BLOCKED)
        return 0;               /* its next blocking call sees it */
    switch (t->wait) {
    case TL_WAIT_SLEEP:
        heap_remove(t->loop, t);
        tl__wake(t, TL_ECANCELED, NULL);
        break;
    case TL_WAIT_ACCEPT: case TL_WAIT_CONNECT:
    case TL_WAIT_RECV: case TL_WAIT_SEND:
        tl__net_cancel(t);
        tl__wake(t, TL_ECANCELED, NULL);
        break;
    default:                    /* a wait list, or a custom command */
        tl__unpark(t, TL_ECANCELED, NULL);
        break;
    }
    return 0;
}

int
tl_sleep(double seconds)
{
    tl_task *self;
    int64_t d;
    int rc;

    TL__TASK(self);
    if (self->cancelled)
        return TL_ECANCELED;
    if (isnan(seconds))
        return TL_EINVAL;
    if (seconds <= 0) {
        TL__EV(self->loop, TL_EV_SLEEP, .task = self->id,
               .flags = TL_EVF_IMMEDIATE);
        return tl__yield_to_tail(self, 0);
    }
    d = seconds > 1e9 ? INT64_MAX / 2 : (int64_t)(seconds * 1e9);
    self->deadline = tl__now_ns(self->loop) + d;
    if ((rc = heap_push(self->loop, self)) != 0)
        return rc;
    TL__EV(self->loop, TL_EV_SLEEP, .task = self->id, .a = d,
           .b = self->deadline);
    if (self->loop->evmask)
        tl__block_event(self, TL_WAIT_SLEEP, NULL);
    self->state = TL_TASK_BLOCKED;
    self->wait = TL_WAIT_SLEEP;
    self->wobj = NULL;
    return tl__suspend(self);
}

int
tl_yield(void)
{
    tl_task *self;

    TL__TASK(self);
    if (self->cancelled)
        return TL_ECANCELED;
    TL__EV(self->loop, TL_EV_YIELD, .task = self->id);
    return tl__yield_to_tail(self, 0);
}

_Noreturn void
tl_fail(const char *fmt, ...)
{
    tl_task *t = tl_self();
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt ? fmt : "(null)", ap);
    va_end(ap);
    if (!t) {
        fprintf(stderr, "tapeloop: tl_fail outside a task: %s\n", buf);
        abort();
    }
    tl__free(t->error);
    t->error = tl__strdup(buf);
    t->state = TL_TASK_FAILED;
    to_scheduler(t, TL__CMD_EXIT, true);
    abort();                    /* never entered again */
}

const char *
tl_task_error(const tl_task *t)
{
    if (!t || t->state != TL_TASK_FAILED)
        return NULL;
    return t->error ? t->error : "(message lost: out of memory)";
}

void
tl_task_detach(tl_task *t)
{
    if (!t)
        return;
    t->detached = 1;
    if (t->state >= TL_TASK_DONE && t != t->loop->root)
        tl__task_free(t);       /* a root is freed when its run ends */
}

unsigned
tl_task_id(const tl_task *t)
{
    return t ? t->id : 0;
}

const char *
tl_task_name(const tl_task *t)
{
    return t && t->name ? t->name : "";
}

unsigned
tl_task_parent(const tl_task *t)
{
    return t ? t->parent : 0;
}

tl_task_state
tl_task_state_of(const tl_task *t)
{
    return t ? (tl_task_state)t->state : TL_TASK_DONE;
}

/* ---- custom commands ------------------------------------------------- */

void
tl_loop_set_command(tl_loop *loop, tl_command_fn fn, void *udata)
{
    if (!loop)
        return;
    loop->cmd_fn = fn;
    loop->cmd_ud = udata;
}

int
tl_command(int code, void *arg, void **result)
{
    tl_task *self;
    int rc;

    TL__TASK(self);
    if (self->cancelled)
        return TL_ECANCELED;
    TL__EV(self->loop, TL_EV_COMMAND, .task = self->id, .a = code);
    if (self->loop->evmask)
        tl__block_event(self, TL_WAIT_COMMAND, NULL);
    self->ccode = code;
    self->val = arg;
    self->state = TL_TASK_BLOCKED;
    self->wait = TL_WAIT_COMMAND;
    self->wobj = NULL;
    self->loop->nparked++;
    to_scheduler(self, TL__CMD_CUSTOM, false);
    rc = self->rc;
    if (result)
        *result = self->val;
    return rc;
}

int
tl_resume(tl_task *t, int rc, void *result, bool front)
{
    if (!t || t->state != TL_TASK_BLOCKED || t->wait != TL_WAIT_COMMAND)
        return TL_EINVAL;
    tl__unpark(t, rc, result);
    if (front) {
        tl__list_del(&t->link);
        tl__list_push_front(&t->loop->ready, &t->link);
    }
    return 0;
}
