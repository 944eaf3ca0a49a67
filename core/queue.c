/* SPDX-License-Identifier: MIT */
/* queue.c -- FIFO queues of pointers, bounded or not, with Flowno's seed
 * semantics and its bugs fixed (docs/loop.md lists both).  Items live in a
 * ring; blocked getters, peekers and putters in FIFO wait lists.  Waiters
 * exist only while the queue is empty (getters, peekers) or full (putters).
 */
#include <string.h>

#include "loop_int.h"

struct tl_queue {
    tl__obj obj;                /* id, name, loop */
    void **ring;                /* items, ring[head] is the oldest */
    size_t head, len, cap;      /* ring position, item count, ring room
                                   (a power of two: indices are masked) */
    size_t maxsize;             /* 0 = unbounded */
    tl__link getters;           /* tasks blocked in get */
    tl__link peekers;           /* tasks blocked in peek */
    tl__link putters;           /* tasks blocked in put; their item in ->val */
    int closed;                 /* tl_queue_close was called */
    uint64_t nput, nget;        /* items that entered / left: the n-th item
                                   is number n in events */
};

int
tl_queue_new(tl_queue **out, size_t maxsize, const char *name)
{
    tl_queue *q;
    int rc;

    if (!out)
        return TL_EINVAL;
    if (!(q = tl__calloc(sizeof *q)))
        return TL_ENOMEM;
    if ((rc = tl__obj_init(&q->obj, TL__QUEUE, name, (int64_t)maxsize)) != 0) {
        tl__free(q);
        return rc;
    }
    q->maxsize = maxsize;
    tl__list_init(&q->getters);
    tl__list_init(&q->peekers);
    tl__list_init(&q->putters);
    *out = q;
    return 0;
}

void
tl_queue_free(tl_queue *q)
{
    if (!q)
        return;
    if (q->obj.loop)
        TL__EV_STALE(q->obj.loop);      /* its wakes follow no event */
    tl__wake_all(&q->getters, TL_ECLOSED);
    tl__wake_all(&q->peekers, TL_ECLOSED);
    tl__wake_all(&q->putters, TL_ECLOSED);
    tl__obj_fini(&q->obj);
    tl__free(q->ring);
    tl__free(q);
}

static int
push(tl_queue *q, void *item)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        void **r = tl__alloc(cap * sizeof *r);
        if (!r)
            return TL_ENOMEM;
        for (size_t i = 0; i < q->len; i++)
            r[i] = q->ring[(q->head + i) & (q->cap - 1)];
        tl__free(q->ring);
        q->ring = r;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->len++) & (q->cap - 1)] = item;
    return 0;
}

static void *
pop(tl_queue *q)
{
    void *item = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
    return item;
}

/* queue_put/get/peek: a = the item's number, b = the length after.  The
 * caller's own event reads the clock (EV); what it does on behalf of a
 * waiter follows it (EV_THEN). */
#define item_event(EV, q, kind, t, n, fl)                                  \
    EV((t)->loop, (kind), .task = (t)->id, .okind = TL_OBJ_QUEUE,          \
       .object = (q)->obj.id, .a = (int64_t)(n), .b = (int64_t)(q)->len,   \
       .flags = (uint8_t)(fl))

/* queue_put for the item just counted in nput, on behalf of t. */
#define put_event(EV, q, t, fl)                                            \
    item_event(EV, q, TL_EV_QUEUE_PUT, t, (q)->nput, fl)

/* Recording with no hook, the put that hands its item over to the first
 * getter (no peekers) is one journal record, not four events' worth
 * (core/tape.h): counts the item and says 1 if it was written. */
static inline __attribute__((always_inline)) int
handoff_recorded(tl_queue *q, tl_task *t)
{
    tl_loop *loop = t->loop;
    tl_task *g = tl__container_of(q->getters.next, tl_task, link);

    tl__ev_stamp(loop, 1);                      /* the put: a fresh one */
    if (q->nput != q->nget ||
        tl__tape_handoff(loop->tape, loop->tape_lr,
                         loop->evseq + 1, loop->evtime, t->id, q->obj.id,
                         g->id, (int64_t)q->nput + 1) != 0)
        return 0;
    loop->evseq += 4;
    q->nput++;
    q->nget++;
    return 1;
}

TL_HIDDEN int tl__queue_put_waited(tl_queue *q, void *item);

/* The checks every task call on a queue starts with. */
static inline __attribute__((always_inline)) int
enter(tl_queue *q, tl_task **tp)
{
    tl_task *t;
    int rc;

    TL__TASK(t);
    if (!q)
        return TL_EINVAL;
    if ((rc = tl__obj_use(&q->obj, t)) != 0)
        return rc;
    *tp = t;
    return t->cancelled ? TL_ECANCELED : 0;
}

/* The running task when enter() would let it use q at once (q is its
 * loop's, it is not cancelled), else NULL: only then may a call look at
 * q first -- a queue of a loop on another thread is not to be read. */
static inline __attribute__((always_inline)) tl_task *
ready(const tl_queue *q)
{
    tl_task *t;

    if (!q || !tl__running || q->obj.loop != tl__running ||
        !(t = tl__running->cur) || t->cancelled)
        return NULL;
    return t;
}

/* A put to an empty queue with tasks waiting on it: peekers see the item,
 * the first getter takes it, and they run before the putter does.  It
 * switches, so it is entered through the shared call site (core/ctx.h),
 * straight from tl_queue_put, which checked what enter() would. */
TL__ENTRY(tl__queue_put_waited)
int
TL__BODY(tl__queue_put_waited)(tl_queue *q, void *item)
{
    tl_task *t = tl__running->cur;
    int handoff = !tl__list_empty(&q->getters), rc;

    if (handoff && t->loop->tape_fast && tl__list_empty(&q->peekers) &&
        handoff_recorded(q, t)) {       /* its events are recorded */
        tl_task *g = tl__container_of(q->getters.next, tl_task, link);
        tl__list_del(&g->link);
        t->loop->nparked--;
        tl__make_ready(t->loop, g, 0, item);
        return tl__yield_to_tail(t, 0);
    }
    if (!handoff && (rc = push(q, item)) != 0)
        return rc;
    q->nput++;
    put_event(TL__EV, q, t, TL_EVF_IMMEDIATE);
    while (!tl__list_empty(&q->peekers)) {
        tl_task *p = tl__container_of(q->peekers.next, tl_task, link);
        item_event(TL__EV_THEN, q, TL_EV_QUEUE_PEEK, p, q->nget + 1, 0);
        tl__unpark(p, 0, item);
    }
    if (handoff) {
        tl_task *g = tl__container_of(q->getters.next, tl_task, link);
        q->nget++;
        TL__EV_THEN(t->loop, TL_EV_QUEUE_HANDOFF, .task = t->id,
                    .okind = TL_OBJ_QUEUE, .object = q->obj.id, .a = q->nget,
                    .b = g->id);
        item_event(TL__EV_THEN, q, TL_EV_QUEUE_GET, g, q->nget, 0);
        tl__unpark(g, 0, item);
    }
    return tl__yield_to_tail(t, 0);
}

/* A put nobody waits for: the item joins the queue, or the putter waits
 * for room. */
static __attribute__((noinline)) int
put_alone(tl_queue *q, void *item)
{
    tl_task *t;
    int rc;

    if ((rc = enter(q, &t)) != 0)
        return rc;
    if (q->closed)
        return TL_ECLOSED;
    if (q->maxsize && q->len >= q->maxsize) {
        t->val = item;
        return tl__wait(&q->putters, TL_WAIT_PUT, q, NULL);
    }
    if ((rc = push(q, item)) != 0)
        return rc;
    q->nput++;
    put_event(TL__EV, q, t, TL_EVF_IMMEDIATE);
    return 0;
}

/* Waiters exist only on an open, empty queue.  The two ways go apart
 * before either sets up a frame: the one that switches pays only the
 * shared call site's few instructions, the other nothing; errors are
 * the other's (enter()). */
int
tl_queue_put(tl_queue *q, void *item)
{
    if (ready(q) &&
        (!tl__list_empty(&q->getters) || !tl__list_empty(&q->peekers)))
        return tl__queue_put_waited(q, item);
    return put_alone(q, item);
}

/* A get with an item there (or from a closed queue). */
static __attribute__((noinline)) int
get_now(tl_queue *q, void **item)
{
    tl_task *t;
    void *it;
    int rc;

    if ((rc = enter(q, &t)) != 0)
        return rc;
    if (!q->len)
        return q->closed ? TL_ECLOSED
                         : tl__wait(&q->getters, TL_WAIT_GET, q, item);
    it = pop(q);
    q->nget++;
    item_event(TL__EV, q, TL_EV_QUEUE_GET, t, q->nget, TL_EVF_IMMEDIATE);
    if (!tl__list_empty(&q->putters)) {     /* room: the first putter */
        tl_task *p = tl__container_of(q->putters.next, tl_task, link);
        push(q, p->val);        /* cannot fail: a slot was just freed */
        q->nput++;
        put_event(TL__EV_THEN, q, p, 0);
        tl__unpark(p, 0, NULL);
    }
    if (item)
        *item = it;
    return 0;
}

int
tl_queue_get(tl_queue *q, void **item)
{
    if (ready(q) && !q->len && !q->closed)
        return tl__wait(&q->getters, TL_WAIT_GET, q, item);
    return get_now(q, item);
}

int
tl_queue_peek(tl_queue *q, void **item)
{
    tl_task *t;
    void *it;
    int rc;

    if ((rc = enter(q, &t)) != 0)
        return rc;
    if (!q->len)
        return q->closed ? TL_ECLOSED
                         : tl__wait(&q->peekers, TL_WAIT_PEEK, q, item);
    it = q->ring[q->head];
    item_event(TL__EV, q, TL_EV_QUEUE_PEEK, t, q->nget + 1, TL_EVF_IMMEDIATE);
    if (item)
        *item = it;
    return 0;
}

TL__ENTRY(tl_queue_close)
int
TL__BODY(tl_queue_close)(tl_queue *q)
{
    tl_task *t = NULL;
    int rc = enter(q, &t);

    if (rc != 0 && rc != TL_ECANCELED)
        return rc;
    TL__EV(t->loop, TL_EV_QUEUE_CLOSE, .task = t->id, .okind = TL_OBJ_QUEUE,
           .object = q->obj.id, .a = q->closed, .b = (int64_t)q->len);
    q->closed = 1;
    tl__wake_all(&q->getters, TL_ECLOSED);
    tl__wake_all(&q->peekers, TL_ECLOSED);
    tl__wake_all(&q->putters, TL_ECLOSED);
    return rc ? rc : tl__yield_to_tail(t, 0);
}

size_t
tl_queue_len(const tl_queue *q)
{
    return q ? q->len : 0;
}

bool
tl_queue_is_closed(const tl_queue *q)
{
    return q && q->closed;
}

unsigned
tl_queue_id(const tl_queue *q)
{
    return q ? q->obj.id : 0;
}

const char *
tl_queue_name(const tl_queue *q)
{
    return q && q->obj.name ? q->obj.name : "";
}
