/* SPDX-License-Identifier: MIT */
/* sync.c -- flag (Flowno's Event), lock, condition and latch.  Every wait
 * list is FIFO (Flowno's HEAD used sets: hash order); signalling never
 * yields; a lock is handed to its first waiter on release, so a woken
 * waiter always holds it.  A cond waiter, once notified, queues for the
 * lock like any acquirer.
 */
#include "loop_int.h"

struct tl_flag {
    tl__obj obj;                /* id, name, loop */
    tl__link waiters;           /* tasks in tl_flag_wait */
    int set;                    /* set once, for good */
};

struct tl_lock {
    tl__obj obj;                /* id, name, loop */
    tl__link waiters;           /* tasks queued for it, FIFO */
    tl_task *owner;             /* NULL when free */
};

struct tl_cond {
    tl__obj obj;                /* id, name, loop */
    tl__link waiters;           /* tasks in tl_cond_wait, not yet notified */
    tl_lock *lock;              /* borrowed */
};

struct tl_latch {
    tl__obj obj;                /* id, name, loop */
    tl__link waiters;           /* tasks in tl_latch_wait */
    unsigned count;             /* open at 0 */
};

/* Allocates and initialises any of the four: they all start with the
 * object header and a wait list. */
static int
sync_new(void **out, size_t size, int kind, const char *name, int64_t arg)
{
    tl__obj *o;
    int rc;

    if (!out)
        return TL_EINVAL;
    if (!(o = tl__calloc(size)))
        return TL_ENOMEM;
    if ((rc = tl__obj_init(o, kind, name, arg)) != 0) {
        tl__free(o);
        return rc;
    }
    tl__list_init((tl__link *)(o + 1));
    *out = o;
    return 0;
}

static void
sync_free(tl__obj *o)
{
    if (!o)
        return;
    if (o->loop)
        TL__EV_STALE(o->loop);          /* its wakes follow no event */
    tl__wake_all((tl__link *)(o + 1), TL_ECLOSED);
    tl__obj_fini(o);
    tl__free(o);
}

/* The checks every task call starts with; *tp is the caller. */
static int
enter(tl__obj *o, tl_task **tp)
{
    tl_task *t;
    int rc;

    TL__TASK(t);
    if (!o)
        return TL_EINVAL;
    if ((rc = tl__obj_use(o, t)) != 0)
        return rc;
    *tp = t;
    return 0;
}

/* ---- flag ----------------------------------------------------------- */

int
tl_flag_new(tl_flag **out, const char *name)
{
    return sync_new((void **)out, sizeof(tl_flag), TL__FLAG, name, 0);
}

int
tl_flag_set(tl_flag *f)
{
    tl_task *t;
    int rc = enter(f ? &f->obj : NULL, &t);

    if (rc)
        return rc;
    TL__EV(t->loop, TL_EV_FLAG_SET, .task = t->id, .okind = TL_OBJ_FLAG,
           .object = f->obj.id, .a = f->set);
    f->set = 1;
    tl__wake_all(&f->waiters, 0);
    return 0;
}

int
tl_flag_wait(tl_flag *f)
{
    tl_task *t;
    int rc = enter(f ? &f->obj : NULL, &t);

    if (rc)
        return rc;
    if (t->cancelled)
        return TL_ECANCELED;
    TL__EV(t->loop, TL_EV_FLAG_WAIT, .task = t->id, .okind = TL_OBJ_FLAG,
           .object = f->obj.id, .flags = f->set ? TL_EVF_IMMEDIATE : 0);
    return f->set ? 0 : tl__wait(&f->waiters, TL_WAIT_FLAG, f, NULL);
}

bool
tl_flag_is_set(const tl_flag *f)
{
    return f && f->set;
}

void
tl_flag_free(tl_flag *f)
{
    sync_free(f ? &f->obj : NULL);
}

/* ---- lock ----------------------------------------------------------- */

int
tl_lock_new(tl_lock **out, const char *name)
{
    return sync_new((void **)out, sizeof(tl_lock), TL__LOCK, name, 0);
}

/* lock_acquire, when t gets l: at once, or handed over later. */
static void
acquire_event(tl_lock *l, tl_task *t, unsigned flags)
{
    TL__EV(t->loop, TL_EV_LOCK_ACQUIRE, .task = t->id, .okind = TL_OBJ_LOCK,
           .object = l->obj.id, .flags = (uint8_t)flags);
}

int
tl_lock_acquire(tl_lock *l)
{
    tl_task *t;
    int rc = enter(l ? &l->obj : NULL, &t);

    if (rc)
        return rc;
    if (t->cancelled)
        return TL_ECANCELED;
    if (l->owner == t)
        return TL_EINVAL;
    if (!l->owner) {
        l->owner = t;
        acquire_event(l, t, TL_EVF_IMMEDIATE);
        return 0;
    }
    return tl__wait(&l->waiters, TL_WAIT_LOCK, l, NULL);
}

/* Gives l to its first waiter, or frees it; by is the releasing task. */
static void
hand_over(tl_lock *l, tl_task *by)
{
    tl_task *next = tl__list_empty(&l->waiters)
                        ? NULL
                        : tl__container_of(l->waiters.next, tl_task, link);

    TL__EV(by->loop, TL_EV_LOCK_RELEASE, .task = by->id, .okind = TL_OBJ_LOCK,
           .object = l->obj.id, .b = next ? next->id : 0);
    l->owner = next;
    if (next) {
        acquire_event(l, next, 0);
        tl__unpark(next, 0, NULL);
    }
}

int
tl_lock_release(tl_lock *l)
{
    tl_task *t;
    int rc = enter(l ? &l->obj : NULL, &t);

    if (rc)
        return rc;
    if (l->owner != t)
        return TL_EINVAL;
    hand_over(l, t);
    return 0;
}

bool
tl_lock_is_locked(const tl_lock *l)
{
    return l && l->owner;
}

void
tl_lock_free(tl_lock *l)
{
    sync_free(l ? &l->obj : NULL);
}

tl_task *
tl__lock_owner(const tl__obj *o)
{
    return ((const tl_lock *)(const void *)o)->owner;
}

void
tl__lock_detach(tl__obj *o)
{
    ((tl_lock *)(void *)o)->owner = NULL;
}

/* ---- condition ------------------------------------------------------- */

int
tl_cond_new(tl_cond **out, tl_lock *l, const char *name)
{
    int rc;

    if (!l)
        return TL_EINVAL;
    if ((rc = sync_new((void **)out, sizeof(tl_cond), TL__COND, name, 0)) == 0)
        (*out)->lock = l;
    return rc;
}

TL__ENTRY(tl_cond_wait)
int
TL__BODY(tl_cond_wait)(tl_cond *c)
{
    tl_task *t;
    int rc = enter(c ? &c->obj : NULL, &t);

    if (rc)
        return rc;
    if (t->cancelled)
        return TL_ECANCELED;
    if (c->lock->owner != t)
        return TL_EINVAL;
    TL__EV(t->loop, TL_EV_COND_WAIT, .task = t->id, .okind = TL_OBJ_COND,
           .object = c->obj.id, .b = c->lock->obj.id);
    hand_over(c->lock, t);
    return tl__park(t, &c->waiters, TL_WAIT_COND, c);
}

/* Moves up to n waiters from c to its lock's queue (they stay parked). */
static int
notify(tl_cond *c, size_t n)
{
    tl_task *t;
    int rc = enter(c ? &c->obj : NULL, &t);

    if (rc)
        return rc;
    if (c->lock->owner != t)
        return TL_EINVAL;
    TL__EV(t->loop, TL_EV_COND_NOTIFY, .task = t->id, .okind = TL_OBJ_COND,
           .object = c->obj.id, .a = n == 1 ? 1 : -1);
    while (n-- && !tl__list_empty(&c->waiters)) {
        tl_task *w = tl__container_of(c->waiters.next, tl_task, link);
        tl__list_del(&w->link);
        tl__list_push(&c->lock->waiters, &w->link);
        w->wait = TL_WAIT_LOCK;
        w->wobj = c->lock;
        if (t->loop->evmask)
            tl__block_event(w, TL_WAIT_LOCK, c->lock);  /* now waits on it */
    }
    return 0;
}

int
tl_cond_notify(tl_cond *c)
{
    return notify(c, 1);
}

int
tl_cond_notify_all(tl_cond *c)
{
    return notify(c, (size_t)-1);
}

void
tl_cond_free(tl_cond *c)
{
    sync_free(c ? &c->obj : NULL);
}

/* ---- latch ----------------------------------------------------------- */

int
tl_latch_new(tl_latch **out, unsigned count, const char *name)
{
    int rc = sync_new((void **)out, sizeof(tl_latch), TL__LATCH, name, count);

    if (rc == 0)
        (*out)->count = count;
    return rc;
}

int
tl_latch_count_down(tl_latch *l)
{
    tl_task *t;
    int rc = enter(l ? &l->obj : NULL, &t);

    if (rc)
        return rc;
    if (l->count == 0)
        return TL_EINVAL;
    TL__EV(t->loop, TL_EV_LATCH_COUNT_DOWN, .task = t->id,
           .okind = TL_OBJ_LATCH, .object = l->obj.id, .a = l->count - 1);
    if (--l->count == 0)
        tl__wake_all(&l->waiters, 0);
    return 0;
}

int
tl_latch_wait(tl_latch *l)
{
    tl_task *t;
    int rc = enter(l ? &l->obj : NULL, &t);

    if (rc)
        return rc;
    if (t->cancelled)
        return TL_ECANCELED;
    TL__EV(t->loop, TL_EV_LATCH_WAIT, .task = t->id, .okind = TL_OBJ_LATCH,
           .object = l->obj.id, .flags = l->count ? 0 : TL_EVF_IMMEDIATE);
    return l->count == 0 ? 0 : tl__wait(&l->waiters, TL_WAIT_LATCH, l, NULL);
}

unsigned
tl_latch_count(const tl_latch *l)
{
    return l ? l->count : 0;
}

void
tl_latch_free(tl_latch *l)
{
    sync_free(l ? &l->obj : NULL);
}
