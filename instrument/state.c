/* SPDX-License-Identifier: MIT */
/* state.c -- the state of a recorded run at any seq (state.h): a state
 * machine over events, its checkpoints, and the wait-for graph in words.
 * Ids are dense per loop (1, 2, ...), so tasks, queues and locks live in
 * arrays indexed by id - 1; a task's state changes only through its own
 * events, except that the running task becomes ready when another runs.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "varint.h"

typedef struct names {          /* one loop's names, loaded for readers */
    char **task, **queue, **sync;   /* by id - 1 */
    size_t ntask, nqueue, nsync;
    char **msg;                 /* failed tasks' messages, by id - 1 */
    size_t nmsg;
    struct tinfo {
        int64_t end;            /* the seq it ended at, 0 if never */
        int state;              /* how: TL_TASK_DONE, ... */
        uint32_t parent;
    } *info;                    /* from the tasks table, by id - 1 */
    size_t ninfo;
} names;

typedef struct st_loop {
    tl_st_task *task;           /* by id - 1 */
    size_t ntask, captask;      /* slots in use, allocated: kept from
                                   one checkpoint load to the next */
    tl_st_queue *queue;         /* by id - 1 */
    size_t nqueue;
    uint32_t *owner;            /* lock owners, by sync id - 1 */
    size_t nowner;
    uint32_t running;           /* the running task, 0 none */
    names nm;                   /* readers only */
    tl_st_task *mark;           /* import: the tasks as of the last
                                   checkpoint, by id - 1 */
    size_t nmark;
} st_loop;

struct tl_state {
    st_loop *loop;              /* by loop - 1 */
    size_t nloop;
    size_t live;                /* import: tasks spawned and not ended */
    int64_t seq, time;          /* where it stands */
    int64_t origin;             /* absolute ns of trace time 0 */
    uint64_t gen;               /* bumped by every change */
    tl_st_task *flat;           /* every task, for tl_state_tasks ... */
    size_t nflat, capflat;
    uint64_t genflat;           /* ... as of this gen (0: never built) */
    tl_st_queue *flatq;         /* every queue */
    char *peek;                 /* tl_state_peek's bytes of a checkpoint */
    size_t cappeek;
    sqlite3 *db;                /* readers: the trace (borrowed) */
    int64_t last;               /* its last event's seq */
    int64_t deadlock;           /* its deadlock event's seq, 0 if none */
    int64_t base;               /* import: the last checkpoint's seq, 0
                                   none, ... */
    int64_t full;               /* ... and the last full one's */
    sqlite3_stmt *ckpt, *events, *ckbase;
};

/* ---- growing arrays ------------------------------------------------------ */

/* Ids past this are a damaged trace's: refused, not allocated for. */
#define MAX_ID ((size_t)1 << 28)

static void *
grow(void *p, size_t *n, size_t want, size_t size)
{
    char *q;

    if (want <= *n)
        return p;
    if (want > MAX_ID)
        return NULL;
    if (want < *n * 2)
        want = *n * 2;          /* ids climb one by one: amortise */
    if (!(q = realloc(p, want * size)))
        return NULL;
    memset(q + *n * size, 0, (want - *n) * size);
    *n = want;
    return q;
}

static st_loop *
loop_of(tl_state *st, uint32_t loop)
{
    void *p;

    if (!loop)
        return NULL;
    if (loop > st->nloop) {
        size_t n = st->nloop;
        if (!(p = grow(st->loop, &n, loop, sizeof *st->loop)))
            return NULL;
        st->loop = p;
        st->nloop = n;
    }
    return &st->loop[loop - 1];
}

/* Makes L's first n task slots, from ntask on, fresh: not spawned. */
static int
task_slots(st_loop *L, uint32_t loop, size_t n)
{
    if (n > MAX_ID)
        return -1;
    if (n > L->captask) {
        void *p = realloc(L->task, n * sizeof *L->task);
        if (!p)
            return -1;
        L->task = p;
        L->captask = n;
    }
    for (size_t i = L->ntask; i < n; i++)
        L->task[i] = (tl_st_task){.loop = loop, .id = (uint32_t)i + 1,
                                  .state = -1};
    L->ntask = n;
    return 0;
}

static tl_st_task *
task_of(st_loop *L, uint32_t loop, uint32_t id)
{
    if (!L || !id)
        return NULL;
    if (id > L->ntask &&
        task_slots(L, loop, (size_t)id + 15 > 2 * L->ntask
                                ? (size_t)id + 15 : 2 * L->ntask))
        return NULL;            /* ids climb one by one: amortise */
    return &L->task[id - 1];
}

static tl_st_queue *
queue_of(st_loop *L, uint32_t loop, uint32_t id)
{
    void *p;

    if (!L || !id)
        return NULL;
    if (id > L->nqueue) {
        size_t n = L->nqueue;
        if (!(p = grow(L->queue, &n, (size_t)id + 7, sizeof *L->queue)))
            return NULL;
        L->queue = p;
        for (size_t i = L->nqueue; i < n; i++) {
            L->queue[i].loop = loop;
            L->queue[i].id = (uint32_t)i + 1;
            L->queue[i].head = 0;               /* not created yet */
        }
        L->nqueue = n;
    }
    return &L->queue[id - 1];
}

static void
add_id(uint32_t **set, size_t *n, uint32_t id)
{
    uint32_t *p;

    for (size_t i = 0; i < *n; i++)
        if ((*set)[i] == id)
            return;
    if (!(p = realloc(*set, (*n + 1) * sizeof *p)))
        return;
    p[(*n)++] = id;
    *set = p;
}

/* ---- the state machine ---------------------------------------------------- */

tl_state *
tl_state_new(void)
{
    return calloc(1, sizeof(tl_state));
}

void
tl_state_origin(tl_state *st, int64_t origin)
{
    st->origin = origin;
}

/* Frees L's queues and lock owners. */
static void
clear_objects(st_loop *L)
{
    for (size_t i = 0; i < L->nqueue; i++) {
        free(L->queue[i].producers);
        free(L->queue[i].consumers);
    }
    free(L->queue);
    free(L->owner);
    L->queue = NULL;
    L->owner = NULL;
    L->nqueue = L->nowner = 0;
}

static void
clear(tl_state *st)
{
    for (size_t l = 0; l < st->nloop; l++) {
        st_loop *L = &st->loop[l];
        clear_objects(L);
        L->ntask = 0;
        L->running = 0;
    }
    st->live = 0;
    st->gen++;
}

/* Alive: spawned, not ended.  Checkpoints keep only these; the ended ones
 * readers take from the tasks table. */
static int
task_alive(const tl_st_task *t)
{
    return t->state >= 0 &&
           (t->state < TL_TASK_DONE || t->state == TL_ST_SLEEPING);
}

static void
names_free(names *nm)
{
    for (size_t i = 0; i < nm->ntask; i++)
        free(nm->task[i]);
    for (size_t i = 0; i < nm->nqueue; i++)
        free(nm->queue[i]);
    for (size_t i = 0; i < nm->nsync; i++)
        free(nm->sync[i]);
    for (size_t i = 0; i < nm->nmsg; i++)
        free(nm->msg[i]);
    free(nm->msg);
    free(nm->info);
    free(nm->task);
    free(nm->queue);
    free(nm->sync);
}

void
tl_state_free(tl_state *st)
{
    if (!st)
        return;
    clear(st);
    for (size_t l = 0; l < st->nloop; l++) {
        names_free(&st->loop[l].nm);
        free(st->loop[l].task);
        free(st->loop[l].mark);
    }
    free(st->loop);
    free(st->flat);
    free(st->flatq);
    free(st->peek);
    sqlite3_finalize(st->ckpt);
    sqlite3_finalize(st->events);
    sqlite3_finalize(st->ckbase);
    free(st);
}

void
tl_state_apply(tl_state *st, int64_t seq, int64_t time, uint32_t loop,
               int kind, uint32_t task, int okind, uint32_t object,
               int64_t a, int64_t b)
{
    st_loop *L = loop_of(st, loop);
    tl_st_task *t = task_of(L, loop, task), *r;
    tl_st_queue *q;

    st->seq = seq;
    st->time = time;
    st->gen++;
    if (!L)
        return;
    switch (kind) {
    case TL_EV_RUN_START:
    case TL_EV_RUN_END:
        if ((r = task_of(L, loop, L->running)) && r->state == TL_TASK_RUNNING)
            r->state = TL_TASK_READY;
        L->running = 0;
        break;
    case TL_EV_SPAWN:
        if ((r = task_of(L, loop, object)) != NULL) {
            st->live += r->state < 0;
            r->state = TL_TASK_READY;
            r->parent = task;
        }
        break;
    case TL_EV_RESUME:
        if ((r = task_of(L, loop, L->running)) && r != t &&
            r->state == TL_TASK_RUNNING)
            r->state = TL_TASK_READY;
        if (t) {
            t->state = TL_TASK_RUNNING;
            t->wait = TL_WAIT_NONE;
        }
        L->running = task;
        break;
    case TL_EV_SLEEP:
        if (t)
            t->until = b - st->origin;
        break;
    case TL_EV_BLOCK:
        if (!t)
            break;
        if (t->state != TL_TASK_BLOCKED && t->state != TL_ST_SLEEPING) {
            t->since = time;
            t->since_seq = seq;
        }
        t->state = a == TL_WAIT_SLEEP ? TL_ST_SLEEPING : TL_TASK_BLOCKED;
        t->wait = (int)a;
        t->okind = okind;
        t->object = object;
        if (L->running == task)
            L->running = 0;
        break;
    case TL_EV_WAKE:
        if (t) {
            t->state = TL_TASK_READY;
            t->wait = TL_WAIT_NONE;
        }
        break;
    case TL_EV_TASK_DONE:
    case TL_EV_TASK_FAILED:
    case TL_EV_TASK_CANCELLED:
        if (t && st->live && (t->state < TL_TASK_DONE ||
                              t->state == TL_ST_SLEEPING) && t->state >= 0)
            st->live--;
        if (t)              /* what it waited on is no more */
            *t = (tl_st_task){.loop = loop, .id = task, .parent = t->parent,
                              .state = kind == TL_EV_TASK_DONE
                                           ? TL_TASK_DONE
                                       : kind == TL_EV_TASK_FAILED
                                           ? TL_TASK_FAILED
                                           : TL_TASK_CANCELLED};
        if (L->running == task)
            L->running = 0;
        break;
    case TL_EV_QUEUE_NEW:
        if ((q = queue_of(L, loop, object)) != NULL) {
            q->maxsize = a;
            q->head = 1;
        }
        break;
    case TL_EV_QUEUE_PUT:
        if ((q = queue_of(L, loop, object)) != NULL) {
            q->len = b;
            add_id(&q->producers, &q->nproducers, task);
        }
        break;
    case TL_EV_QUEUE_GET:
        if ((q = queue_of(L, loop, object)) != NULL) {
            q->len = b;
            q->head = (uint64_t)a + 1;
            add_id(&q->consumers, &q->nconsumers, task);
        }
        break;
    case TL_EV_QUEUE_CLOSE:
        if ((q = queue_of(L, loop, object)) != NULL)
            q->closed = 1;
        break;
    case TL_EV_LOCK_ACQUIRE:
    case TL_EV_LOCK_RELEASE: {
        uint32_t *p = object ? grow(L->owner, &L->nowner, object, sizeof *p)
                             : NULL;    /* 0: a damaged trace's, no lock */
        if (p) {
            L->owner = p;
            p[object - 1] = kind == TL_EV_LOCK_ACQUIRE ? task : (uint32_t)b;
        }
        break;
    }
    }
}

/* ---- checkpoints: [version seq time (base) nloop] then per loop [running
 * ntask ntasks-kept tasks nqueue queues(+ids) nowner owners].  A full one
 * (version 3) keeps the live tasks; a delta (version 4, after the seq of
 * the checkpoint before it, which it builds on) the live tasks that
 * changed since that one.  The tasks that ended by then the tasks table
 * says. ---------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n, cap;
    int bad;
} buf;

static void
put(buf *b, const void *p, size_t n)
{
    if (b->bad || n == 0)
        return;
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 256;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->bad = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

#define PUT(b, v) put((b), &(v), sizeof(v))

#define CKPT_VERSION 3            /* a full checkpoint; readers check it */
#define CKPT_DELTA 4              /* a delta */

/* A live task, in varints (about 20 bytes, not sizeof(tl_st_task)): its
 * id as the difference from the previous one's, then the fields that
 * name and message aside make its state. */
static void
put_task(buf *b, const tl_st_task *t, uint32_t *prev)
{
    uint8_t rec[96], *p = rec;

    p = tl__uvar_put(p, t->id - *prev);
    p = tl__uvar_put(p, t->parent);
    p = tl__svar_put(p, t->state);
    p = tl__svar_put(p, t->wait);
    p = tl__svar_put(p, t->okind);
    p = tl__uvar_put(p, t->object);
    p = tl__svar_put(p, t->since);
    p = tl__svar_put(p, t->since_seq);
    p = tl__svar_put(p, t->until);
    *prev = t->id;
    put(b, rec, (size_t)(p - rec));
}

/* Whether task i of L goes into a checkpoint: alive, and for a delta
 * changed (in what put_task writes) since the last checkpoint. */
static int
kept(const st_loop *L, size_t i, int delta)
{
    const tl_st_task *t = &L->task[i], *m;

    if (!task_alive(t))
        return 0;
    if (!delta || i >= L->nmark)
        return 1;
    m = &L->mark[i];
    return !task_alive(m) ||
           m->parent != t->parent || m->state != t->state ||
           m->wait != t->wait || m->okind != t->okind ||
           m->object != t->object || m->since != t->since ||
           m->since_seq != t->since_seq || m->until != t->until;
}

/* Remembers the tasks as a checkpoint just kept them (all of them after
 * a full one, the changed ones after a delta): what deltas compare
 * against. */
static int
mark(tl_state *st, int delta)
{
    for (size_t l = 0; l < st->nloop; l++) {
        st_loop *L = &st->loop[l];
        if (L->ntask > L->nmark) {
            void *p = realloc(L->mark, L->ntask * sizeof *L->mark);
            if (!p)
                return -1;
            L->mark = p;
            memset(L->mark + L->nmark, 0xFF,        /* state -1: not alive */
                   (L->ntask - L->nmark) * sizeof *L->mark);
            L->nmark = L->ntask;
        }
        for (size_t i = 0; i < L->ntask; i++)
            if (!delta || kept(L, i, 1))
                L->mark[i] = L->task[i];
    }
    st->base = st->seq;
    return 0;
}

void *
tl_state_save(tl_state *st, size_t *len)
{
    buf b = {0};
    uint64_t n = st->nloop, v = CKPT_DELTA, nkept = 0;
    uint32_t prev;
    /* In full at most every live / 2 events (so ~40 bytes an event), and
     * where a delta would keep more than half the live tasks. */
    int full = !st->base || (uint64_t)(st->seq - st->full) >= st->live / 2;

    for (size_t l = 0; !full && l < st->nloop; l++)
        for (size_t i = 0; i < st->loop[l].ntask; i++)
            nkept += (uint64_t)kept(&st->loop[l], i, 1);
    if (full || nkept > st->live / 2) {
        v = CKPT_VERSION;
        st->full = st->seq;
    }
    PUT(&b, v);
    PUT(&b, st->seq);
    PUT(&b, st->time);
    if (v == CKPT_DELTA)
        PUT(&b, st->base);
    PUT(&b, n);
    for (size_t l = 0; l < st->nloop; l++) {
        const st_loop *L = &st->loop[l];
        uint64_t nt = L->ntask, nq = L->nqueue, no = L->nowner;
        uint64_t nk = 0;
        PUT(&b, L->running);
        PUT(&b, nt);
        for (size_t i = 0; i < nt; i++)
            nk += (uint64_t)kept(L, i, v == CKPT_DELTA);
        PUT(&b, nk);
        prev = 0;
        for (size_t i = 0; i < nt; i++)
            if (kept(L, i, v == CKPT_DELTA))
                put_task(&b, &L->task[i], &prev);
        PUT(&b, nq);
        for (size_t i = 0; i < nq; i++) {
            tl_st_queue q = L->queue[i];
            uint64_t np = q.nproducers, nc = q.nconsumers;
            q.producers = q.consumers = NULL;
            q.name = NULL;
            PUT(&b, q);
            PUT(&b, np);
            put(&b, L->queue[i].producers, np * sizeof(uint32_t));
            PUT(&b, nc);
            put(&b, L->queue[i].consumers, nc * sizeof(uint32_t));
        }
        PUT(&b, no);
        put(&b, L->owner, no * sizeof(uint32_t));
    }
    if (b.bad || mark(st, v == CKPT_DELTA) != 0) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}

typedef struct rd {
    const char *p;
    size_t n, at;
    int bad;
} rd;

static void
get(rd *r, void *out, size_t n)
{
    if (n == 0)
        return;
    if (r->bad || r->at + n > r->n) {
        r->bad = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p + r->at, n);
    r->at += n;
}

#define GET(r, v) get((r), &(v), sizeof(v))

/* Reads a task put_task wrote, of loop, into *t (r->bad when cut); v2
 * checkpoints (older traces) hold the struct itself. */
static void
get_task(rd *r, tl_st_task *t, uint32_t loop, uint32_t *prev, uint64_t v)
{
    const uint8_t *p = (const uint8_t *)r->p + r->at,
                  *lim = (const uint8_t *)r->p + r->n;
    uint64_t id, parent, object;
    int64_t state, wait, okind;

    if (v == 2) {
        GET(r, *t);
        t->name = t->message = NULL;
        return;
    }
    if (r->bad || r->at > r->n ||
        !tl__uvar_get(&p, lim, &id) || !tl__uvar_get(&p, lim, &parent) ||
        !tl__svar_get(&p, lim, &state) || !tl__svar_get(&p, lim, &wait) ||
        !tl__svar_get(&p, lim, &okind) || !tl__uvar_get(&p, lim, &object) ||
        !tl__svar_get(&p, lim, &t->since) ||
        !tl__svar_get(&p, lim, &t->since_seq) ||
        !tl__svar_get(&p, lim, &t->until) || id > UINT32_MAX - *prev) {
        r->bad = 1;
        return;
    }
    *prev += (uint32_t)id;
    t->loop = loop;
    t->id = *prev;
    t->parent = (uint32_t)parent;
    t->state = (int)state;
    t->wait = (int)wait;
    t->okind = (int)okind;
    t->object = (uint32_t)object;
    t->name = t->message = NULL;
    r->at = (size_t)(p - (const uint8_t *)r->p);
}

static uint32_t *
get_ids(rd *r, size_t *count)
{
    uint64_t n = 0;
    uint32_t *ids;

    GET(r, n);
    *count = 0;
    if (r->bad || n > (r->n - r->at) / sizeof(uint32_t))
        return (r->bad = 1), NULL;
    if (!n || !(ids = malloc(n * sizeof *ids)))
        return NULL;
    get(r, ids, n * sizeof *ids);
    *count = n;
    return ids;
}

static int load(tl_state *st, const void *data, size_t len, int depth);

/* Loads the checkpoint at seq, which a delta builds on. */
static int
load_base(tl_state *st, int64_t seq, int depth)
{
    void *copy = NULL;
    size_t len = 0;
    int rc = -1;

    if (!st->ckbase && sqlite3_prepare_v2(st->db, "SELECT data FROM "
                                                  "checkpoints WHERE seq = ?1",
                                          -1, &st->ckbase, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st->ckbase, 1, seq);
    if (sqlite3_step(st->ckbase) == SQLITE_ROW &&
        (len = (size_t)sqlite3_column_bytes(st->ckbase, 0)) > 0 &&
        (copy = malloc(len)))   /* the statement serves the one before */
        memcpy(copy, sqlite3_column_blob(st->ckbase, 0), len);
    sqlite3_reset(st->ckbase);
    if (copy)
        rc = load(st, copy, len, depth);
    free(copy);
    return rc;
}

/* Loads a checkpoint: a full one in place of the state, or a delta over
 * the one before it, loaded first (depth: deltas under this one). */
static int
load(tl_state *st, const void *data, size_t len, int depth)
{
    rd r = {data, len, 0, 0};
    uint64_t nl = 0, v = 0;
    int64_t seq = 0, time = 0, base = 0;

    GET(&r, v);
    GET(&r, seq);
    GET(&r, time);
    if (v == CKPT_DELTA) {
        GET(&r, base);
        if (depth > 4096 || r.bad || base <= 0 || base >= seq ||
            load_base(st, base, depth + 1) != 0)
            return -1;
    } else if (v == CKPT_VERSION || v == 2) {
        clear(st);
    } else {
        return -1;
    }
    st->seq = seq;
    st->time = time;
    GET(&r, nl);
    for (uint32_t l = 1; !r.bad && l <= nl; l++) {
        st_loop *L = loop_of(st, l);
        uint64_t nt = 0, nq = 0, no = 0;
        uint32_t prev = 0;
        if (!L)
            return -1;
        uint64_t nkept = 0;
        GET(&r, L->running);
        GET(&r, nt);
        GET(&r, nkept);
        /* Ended ones stay not spawned (full) or as the checkpoint before
         * had them (delta): fix_ended() takes them from the table. */
        if (nt > ((uint64_t)1 << 32) || nkept > nt ||
            (nt > L->ntask && task_slots(L, l, (size_t)nt) != 0))
            return -1;
        for (size_t i = 0; i < nkept && !r.bad; i++) {
            tl_st_task t;
            get_task(&r, &t, l, &prev, v);
            if (!r.bad && t.id >= 1 && t.id <= nt)
                L->task[t.id - 1] = t;
        }
        clear_objects(L);
        GET(&r, nq);
        if (nq > len || !(L->queue = calloc(nq ? nq : 1, sizeof *L->queue)))
            return -1;
        L->nqueue = nq;
        for (size_t i = 0; i < nq; i++) {
            tl_st_queue *q = &L->queue[i];
            GET(&r, *q);
            q->producers = get_ids(&r, &q->nproducers);
            q->consumers = get_ids(&r, &q->nconsumers);
        }
        GET(&r, no);
        if (no > len || !(L->owner = calloc(no ? no : 1, sizeof *L->owner)))
            return -1;
        L->nowner = no;
        get(&r, L->owner, no * sizeof *L->owner);
    }
    st->gen++;
    return r.bad ? -1 : 0;
}

/* ---- readers ----------------------------------------------------------- */

/* Sets (*arr)[id - 1] to a copy of text, growing the array. */
static void
set_name(char ***arr, size_t *n, uint32_t id, const unsigned char *text)
{
    void *p;

    if (!id || !text || !*text || !(p = grow(*arr, n, (size_t)id + 15,
                                            sizeof(char *))))
        return;                 /* "" is no name: nm() says it */
    *arr = p;
    free((*arr)[id - 1]);
    (*arr)[id - 1] = strdup((const char *)text);
}

static void
load_names(tl_state *st)
{
    static const char *const q[] = {
        "SELECT loop, id, coalesce(name,''), message, coalesce(end_seq, 0), "
        "end_state, parent FROM tasks",
        "SELECT loop, id, coalesce(name,''), NULL FROM queues",
        "SELECT loop, id, coalesce(name,''), NULL FROM syncs"};

    for (int k = 0; k < 3; k++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, q[k], -1, &s, NULL) != SQLITE_OK)
            continue;
        while (sqlite3_step(s) == SQLITE_ROW) {
            st_loop *L = loop_of(st, (uint32_t)sqlite3_column_int(s, 0));
            uint32_t id = (uint32_t)sqlite3_column_int(s, 1);
            const unsigned char *name = sqlite3_column_text(s, 2);
            if (!L)
                continue;
            if (k == 0) {
                const char *how = (const char *)sqlite3_column_text(s, 5);
                void *p = grow(L->nm.info, &L->nm.ninfo, (size_t)id + 15,
                               sizeof *L->nm.info);
                set_name(&L->nm.task, &L->nm.ntask, id, name);
                set_name(&L->nm.msg, &L->nm.nmsg, id,
                         sqlite3_column_text(s, 3));
                if (p && id) {
                    struct tinfo *ti = &(L->nm.info = p)[id - 1];
                    ti->end = sqlite3_column_int64(s, 4);
                    ti->parent = (uint32_t)sqlite3_column_int64(s, 6);
                    ti->state = !how ? 0
                                : !strcmp(how, "done")   ? TL_TASK_DONE
                                : !strcmp(how, "failed") ? TL_TASK_FAILED
                                                         : TL_TASK_CANCELLED;
                }
            } else if (k == 1) {
                set_name(&L->nm.queue, &L->nm.nqueue, id, name);
            } else {
                set_name(&L->nm.sync, &L->nm.nsync, id, name);
            }
        }
        sqlite3_finalize(s);
    }
}

int
tl_state_open(tl_state **out, sqlite3 *db)
{
    tl_state *st = tl_state_new();
    sqlite3_stmt *s;

    if (!st)
        return -1;
    st->db = db;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE "
                               "key='time_origin_ns'", -1, &s,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            st->origin = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    if (sqlite3_prepare_v2(db, "SELECT seq, data FROM checkpoints WHERE "
                               "seq <= ?1 ORDER BY seq DESC LIMIT 1", -1,
                           &st->ckpt,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT seq, time, loop, kind, task, okind, "
                               "object, a, b FROM events WHERE seq > ?1 AND "
                               "seq <= ?2 ORDER BY seq", -1, &st->events,
                           NULL) != SQLITE_OK) {
        tl_state_free(st);
        return -1;
    }
    load_names(st);
    st->deadlock = tl_state_deadlock_seq(db);
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM events", -1,
                           &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            st->last = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    *out = st;
    return 0;
}

int64_t
tl_state_checkpoint_at(tl_state *st, int64_t seq)
{
    int64_t ck = 0;

    sqlite3_bind_int64(st->ckpt, 1, seq);
    if (sqlite3_step(st->ckpt) == SQLITE_ROW)
        ck = sqlite3_column_int64(st->ckpt, 0);     /* the blob stays unread */
    sqlite3_reset(st->ckpt);
    return ck;
}

/* tl_state_peek's reading of a checkpoint's (first) bytes in r: 0, or -1
 * where the bytes ran out or made no sense; *base: the checkpoint a delta
 * builds on, else 0. */
static int
peek_parse(rd *r, uint32_t loop, const uint32_t *ids, size_t n,
           uint32_t maxid, int *states, int64_t *base)
{
    uint64_t v = 0, nl = 0;
    int64_t skip;
    uint32_t prev;

    *base = 0;
    GET(r, v);
    GET(r, skip);               /* seq */
    GET(r, skip);               /* time */
    if (v == CKPT_DELTA)
        GET(r, *base);
    GET(r, nl);
    if (v != CKPT_VERSION && v != CKPT_DELTA && v != 2)
        return -1;
    /* Loop by loop (load()'s layout) to the one asked for, reading its
     * live tasks only, and those only up to the highest id asked for. */
    for (uint32_t l = 1; !r->bad && l <= nl && l <= loop; l++) {
        uint64_t nt = 0, nlive = 0, nq = 0, no = 0, k = 0;
        uint32_t running;
        GET(r, running);
        GET(r, nt);
        GET(r, nlive);
        prev = 0;
        for (uint64_t i = 0; i < nlive && !r->bad; i++) {
            tl_st_task t;
            get_task(r, &t, l, &prev, v);
            if (r->bad || (l == loop && t.id > maxid))
                break;          /* ids ascend: the rest are not asked for */
            for (size_t j = 0; l == loop && j < n; j++)
                if (ids[j] == t.id)
                    states[j] = t.state;
        }
        if (l == loop)
            break;
        GET(r, nq);
        for (uint64_t i = 0; i < nq && !r->bad; i++) {
            tl_st_queue q;
            GET(r, q);
            for (int side = 0; side < 2 && !r->bad; side++) {
                GET(r, k);
                if (k > (r->n - r->at) / sizeof(uint32_t))
                    r->bad = 1;
                else
                    r->at += k * sizeof(uint32_t);
            }
        }
        GET(r, no);
        if (no > (r->n - r->at) / sizeof(uint32_t))
            r->bad = 1;
        else
            r->at += no * sizeof(uint32_t);
    }
    return r->bad ? -1 : 0;
}

/* tl_state_peek on the checkpoint at seq ck. */
static int
peek_at(tl_state *st, int64_t ck, uint32_t loop, const uint32_t *ids,
        size_t n, int *states, int64_t *base)
{
    sqlite3_blob *b = NULL;
    uint32_t maxid = 0;
    size_t total, want;
    int rc = -1;

    for (size_t i = 0; i < n; i++)
        if (ids[i] > maxid)
            maxid = ids[i];
    /* A checkpoint of 100k tasks is megabytes; lanes at the top want the
     * first few: read a prefix, and the whole only if that fell short. */
    if (!ck || sqlite3_blob_open(st->db, "main", "checkpoints", "data", ck, 0,
                                 &b) != SQLITE_OK) {
        sqlite3_blob_close(b);
        return -1;
    }
    total = (size_t)sqlite3_blob_bytes(b);
    for (want = total < 65536 ? total : 65536;; want = total) {
        rd r = {0};
        if (want > st->cappeek) {
            char *p = realloc(st->peek, want);
            if (!p)
                break;
            st->peek = p;
            st->cappeek = want;
        }
        if (sqlite3_blob_read(b, st->peek, (int)want, 0) != SQLITE_OK)
            break;
        r.p = st->peek;
        r.n = want;
        for (size_t i = 0; i < n; i++)
            states[i] = -1;
        if ((rc = peek_parse(&r, loop, ids, n, maxid, states, base)) == 0 ||
            want == total)
            break;
    }
    sqlite3_blob_close(b);
    return rc;
}

int
tl_state_peek(tl_state *st, int64_t seq, uint32_t loop, const uint32_t *ids,
              size_t n, int *states)
{
    int64_t ck = tl_state_checkpoint_at(st, seq), base, before;
    const names *nm = loop && loop <= st->nloop ? &st->loop[loop - 1].nm
                                                : NULL;
    int *was, rc = 0;

    if (peek_at(st, ck, loop, ids, n, states, &base) != 0 || base >= ck)
        return -1;
    if (!base)
        return 0;
    /* A delta: the others are as in the checkpoints before it, unless
     * they ended in between. */
    if (!(was = malloc((n + 1) * sizeof *was)))
        return -1;
    for (int depth = 0; base; depth++, base = before) {
        size_t left = 0;
        if (depth > 4096 ||
            peek_at(st, base, loop, ids, n, was, &before) != 0 ||
            before >= base) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            const struct tinfo *ti = nm && ids[i] >= 1 && ids[i] <= nm->ninfo
                                         ? &nm->info[ids[i] - 1] : NULL;
            if (states[i] >= 0 || (ti && ti->end && ti->end <= ck))
                continue;
            if (was[i] >= 0)
                states[i] = was[i];
            else
                left++;
        }
        if (!left)
            break;
    }
    free(was);
    return rc;
}

/* After a checkpoint: the tasks that had ended by then, from the table. */
static void
fix_ended(tl_state *st)
{
    for (uint32_t l = 1; l <= st->nloop; l++) {
        st_loop *L = &st->loop[l - 1];
        for (size_t i = 0; i < L->nm.ninfo; i++) {
            const struct tinfo *ti = &L->nm.info[i];
            tl_st_task *t;
            if (!ti->end || ti->end > st->seq || !ti->state ||
                !(t = task_of(L, l, (uint32_t)i + 1)))
                continue;
            *t = (tl_st_task){.loop = l, .id = (uint32_t)i + 1,
                              .parent = ti->parent, .state = ti->state};
        }
    }
}

int
tl_state_at(tl_state *st, int64_t seq)
{
    return tl_state_at_each(st, seq, NULL, NULL);
}

int
tl_state_at_each(tl_state *st, int64_t seq, tl_state_each_fn fn, void *udata)
{
    int64_t ck = 0;

    /* From the nearest checkpoint at or before seq, unless where the
     * state stands now is between it and seq, or close enough before it
     * that replaying costs less than loading (a checkpoint of 100k
     * tasks costs more than a few thousand events). */
    if (seq < st->seq || seq - st->seq > TL_STATE_EVERY) {
        sqlite3_bind_int64(st->ckpt, 1, seq);
        if (sqlite3_step(st->ckpt) == SQLITE_ROW)
            ck = sqlite3_column_int64(st->ckpt, 0);
    }
    if (seq < st->seq || st->seq < ck) {
        clear(st);
        st->seq = st->time = 0;
        if (ck && load(st, sqlite3_column_blob(st->ckpt, 1),
                       (size_t)sqlite3_column_bytes(st->ckpt, 1), 0) != 0) {
            clear(st);          /* unreadable: from the start instead */
            st->seq = st->time = 0;
        } else if (ck) {
            fix_ended(st);
        }
    }
    sqlite3_reset(st->ckpt);
    sqlite3_bind_int64(st->events, 1, st->seq);
    sqlite3_bind_int64(st->events, 2, seq);
    while (sqlite3_step(st->events) == SQLITE_ROW) {
        sqlite3_stmt *e = st->events;
        int64_t at = sqlite3_column_int64(e, 0);
        uint32_t loop = (uint32_t)sqlite3_column_int(e, 2),
                 task = (uint32_t)sqlite3_column_int64(e, 4);
        int kind = sqlite3_column_int(e, 3);
        tl_state_apply(st, at, sqlite3_column_int64(e, 1), loop, kind, task,
                       sqlite3_column_int(e, 5),
                       (uint32_t)sqlite3_column_int64(e, 6),
                       sqlite3_column_int64(e, 7), sqlite3_column_int64(e, 8));
        if (fn)
            fn(udata, at, loop, kind, task);
    }
    sqlite3_reset(st->events);
    if (seq > st->seq)
        st->seq = seq;          /* past the end: the end */
    return 0;
}

int64_t
tl_state_seq(const tl_state *st)
{
    return st->seq;
}

int
tl_state_final(const tl_state *st)
{
    return st->db && (st->seq >= st->last ||
                      (st->deadlock > 0 && st->seq >= st->deadlock));
}

int64_t
tl_state_time(const tl_state *st)
{
    return st->time;
}

static const char *
nm(char **arr, size_t n, uint32_t id)
{
    return id && id <= n && arr[id - 1] ? arr[id - 1] : "";
}

const char *
tl_state_name(const tl_state *st, uint32_t loop, int okind, uint32_t id)
{
    const st_loop *L = loop && loop <= st->nloop ? &st->loop[loop - 1] : NULL;

    if (!L)
        return "";
    switch (okind) {
    case TL_OBJ_TASK: return nm(L->nm.task, L->nm.ntask, id);
    case TL_OBJ_QUEUE: return nm(L->nm.queue, L->nm.nqueue, id);
    case TL_OBJ_SOCKET: return "";
    default: return nm(L->nm.sync, L->nm.nsync, id);
    }
}

int
tl_state_task_state(const tl_state *st, uint32_t loop, uint32_t id)
{
    const st_loop *L = loop && loop <= st->nloop ? &st->loop[loop - 1] : NULL;

    return L && id && id <= L->ntask ? L->task[id - 1].state : -1;
}

size_t
tl_state_tasks(const tl_state *st, const tl_st_task **out)
{
    tl_state *w = (tl_state *)st;
    size_t n = 0;

    *out = w->flat;
    if (w->genflat == st->gen + 1)
        return w->nflat;        /* nothing moved since */
    for (size_t l = 0; l < st->nloop; l++)
        n += st->loop[l].ntask;
    if (n > w->capflat || !w->flat) {
        free(w->flat);
        w->capflat = n ? n : 1;
        if (!(w->flat = malloc(w->capflat * sizeof *w->flat)))
            w->capflat = 0;
    }
    n = 0;
    for (size_t l = 0; w->flat && l < st->nloop; l++) {
        const st_loop *L = &st->loop[l];
        for (size_t i = 0; i < L->ntask; i++) {
            if (L->task[i].state < 0)
                continue;       /* not spawned (yet) */
            w->flat[n] = L->task[i];
            w->flat[n].name = nm(L->nm.task, L->nm.ntask, (uint32_t)i + 1);
            w->flat[n].message = i < L->nm.nmsg ? L->nm.msg[i] : NULL;
            n++;
        }
    }
    *out = w->flat;
    w->nflat = w->flat ? n : 0;
    w->genflat = st->gen + 1;
    return w->nflat;
}

size_t
tl_state_queues(const tl_state *st, const tl_st_queue **out)
{
    tl_state *w = (tl_state *)st;
    size_t n = 0;

    for (size_t l = 0; l < st->nloop; l++)
        n += st->loop[l].nqueue;
    free(w->flatq);
    w->flatq = malloc((n ? n : 1) * sizeof *w->flatq);
    n = 0;
    for (size_t l = 0; w->flatq && l < st->nloop; l++) {
        const st_loop *L = &st->loop[l];
        for (size_t i = 0; i < L->nqueue; i++) {
            if (!L->queue[i].head)
                continue;       /* never created: a slot grown ahead */
            w->flatq[n] = L->queue[i];
            w->flatq[n].name = nm(L->nm.queue, L->nm.nqueue, (uint32_t)i + 1);
            n++;
        }
    }
    *out = w->flatq;
    return w->flatq ? n : 0;
}

uint32_t
tl_state_lock_owner(const tl_state *st, uint32_t loop, uint32_t id)
{
    const st_loop *L = loop && loop <= st->nloop ? &st->loop[loop - 1] : NULL;

    return L && id && id <= L->nowner ? L->owner[id - 1] : 0;
}
