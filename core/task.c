/* SPDX-License-Identifier: MIT */
/* task.c -- tasks and the scheduler's step: spawn, join, cancel, sleep,
 * yield, fail; the sleep heap; custom commands.  A task changes its own
 * place (ready tail, a wait list, the heap) before switching out, and
 * finishes itself when it ends, on its own stack; the scheduler starts
 * each pass and hands custom commands to their hook.  The hot path (ready,
 * park, wake, switch) is sched_int.h.  Nothing here knows about I/O.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loop_int.h"

#if TL__API_CALL
_Thread_local unsigned char tl__switched;       /* ctx.h */
#endif

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

/* ---- events about waiting ---------------------------------------------- */

void
tl__wake_all(tl__link *list, int rc)
{
    while (!tl__list_empty(list))
        tl__unpark(tl__container_of(list->next, tl_task, link), rc, NULL);
}

/* ---- life of a task ---------------------------------------------------- */

static void finish(tl_loop *loop, tl_task *t);

/* A dead task's stack cannot be given back while it runs on it: it waits
 * in loop->zombie until the next task is created or dies, or the run ends. */
static void
bury(tl_loop *loop, tl__stack *s)
{
    tl__stack z = loop->zombie;

    loop->zombie = *s;
    s->map = NULL;
    if (z.map)
        tl__stack_put(&loop->pool, &z);
}

void
tl__reap(tl_loop *loop)
{
    if (loop->zombie.map)
        tl__stack_put(&loop->pool, &loop->zombie);
}

/* A task's end, on its own stack: wake its joiners with its outcome, free
 * it if detached, and go straight on to the next task of the pass. */
static _Noreturn void
task_exit(tl_task *t)
{
    tl_loop *loop = t->loop;
    tl_task *n;

    bury(loop, &t->stack);
    finish(loop, t);            /* t may be freed from here on */
    n = tl__next_step(loop);
    if (!n)
        loop->cur = NULL;
    tl__ctx_switch(&loop->grave, n ? &n->ctx : &loop->sched, true);
    abort();                    /* an ended task is never entered again */
}

static void
task_main(void *p)
{
    tl_task *t = p;

    tl__ctx_started();
    if (!t->cancelled)          /* cancelled before its first step: never runs */
        t->result = t->fn(t->arg);
    t->state = t->cancelled ? TL_TASK_CANCELLED : TL_TASK_DONE;
    task_exit(t);
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
    tl__reap(loop);
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
    /* Tasks still joining t (a loop freed after a deadlock) must not be
     * left linked into its freed list. */
    while (!tl__list_empty(&t->joiners))
        tl__list_del(t->joiners.next);
    tl__list_del(&t->link);
    tl__list_del(&t->all);
    tl__stack_put(&t->loop->pool, &t->stack);
    tl__free(t->error);
    tl__free(t->name);
    tl__free(t);
}

/* A task has ended: say so, wake its joiners with its outcome, free it if
 * detached.  Its stack is someone else's business (bury). */
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
    tl__stack_put(&loop->pool, &t->stack);      /* not running on it */
    finish(loop, t);
}

/* One scheduling step, seen from the scheduler: run the head of the ready
 * FIFO; tasks then hand over to each other until the pass is over or one
 * issues a custom command, which only the scheduler can hand to its hook. */
void
tl__step(tl_loop *loop)
{
    tl_task *t = tl__next_step(loop);

    tl__ctx_switch(&loop->sched, &t->ctx, false);
    t = loop->cur;              /* whoever came back, NULL if it died */
    loop->cur = NULL;           /* the hook runs outside any task */
    if (!t || t->cmd != TL__CMD_CUSTOM)
        return;
    if (loop->cmd_fn)
        loop->cmd_fn(loop, t, t->ccode, t->val, loop->cmd_ud);
    else
        fail_unknown(loop, t);
    TL__EV_STALE(loop);         /* the handler is program code */
}

/* ---- the task API ---------------------------------------------------- */

tl_task *
tl_self(void)
{
    return tl__running ? tl__running->cur : NULL;
}

TL__ENTRY(tl_spawn)
int
TL__BODY(tl_spawn)(tl_task **out, tl_task_fn fn, void *arg, const char *name)
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

TL__ENTRY(tl_join)
int
TL__BODY(tl_join)(tl_task *t, void **result)
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

TL__ENTRY(tl_sleep)
int
TL__BODY(tl_sleep)(double seconds)
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

/* The switch of task calls that switch only sometimes, entered through
 * the shared call site (ctx.h) from their callers' tail calls, so that
 * the calls that do not switch pay nothing for it. */
TL__ENTRY(tl__wait)
int
TL__BODY(tl__wait)(tl__link *list, int wait, void *obj, void **val)
{
    tl_task *t = tl__running->cur;
    int rc = tl__park(t, list, wait, obj);

    if (rc == 0 && val)
        *val = t->val;
    return rc;
}

TL__ENTRY(tl_yield)
int
TL__BODY(tl_yield)(void)
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
    task_exit(t);
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

TL__ENTRY(tl_command)
int
TL__BODY(tl_command)(int code, void *arg, void **result)
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
    self->cmd = TL__CMD_CUSTOM;
    self->loop->cur = self;
    tl__ctx_switch(&self->ctx, &self->loop->sched, false);
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
    TL__EV_STALE(t->loop);      /* the handler may resume it any time */
    tl__unpark(t, rc, result);
    if (front) {
        tl__list_del(&t->link);
        tl__list_push_front(&t->loop->ready, &t->link);
    }
    return 0;
}
