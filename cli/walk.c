/* SPDX-License-Identifier: MIT */
/* walk.c -- the single pass over a trace that stats and export share.
 * It never looks back: one prepared statement reads events by seq, and
 * all state is per loop (its running step) and per task (its open block).
 *
 * Definitions, which the numbers of both tools follow:
 *
 * A step of task T starts at its resume event and lasts until T switches
 * away.  The trace has no "switched away" event, so a step ends at the
 * time of its last event that T's own code caused: T's block event (the
 * step ends there, at once), or else the last event before the next
 * resume, run_end or deadlock of the same loop that the loop itself did
 * not emit.  The loop's own events are those whose actor is 0: task 0,
 * or a wake with b = 0 (timers, I/O readiness).  So the time the
 * scheduler spends polling or sleeping after T yields, sleeps or ends is
 * nobody's running time, and a running span never overlaps a blocked one.
 *
 * A blocked span of T runs from its block event (a = tl_wait_kind, okind
 * and object = what it waits on) to the next event that ends the wait:
 * T's wake, T's task_done/failed/cancelled, or T's next block (a
 * notified cond waiter goes on to wait for the lock with no wake between).
 * A block nothing ended counts until the last event of T's loop in the
 * trace (a deadlock, or a process that died).
 */
#include <stdlib.h>
#include <string.h>

#include "tapeloop.h"
#include "walk.h"

/* ---- a small open-addressing map: 64-bit key -> pointer ---------------- */

struct walk_map {
    uint64_t *keys;             /* slot keys; valid where vals[i] != NULL */
    void **vals;                /* NULL: empty slot */
    size_t cap;                 /* a power of two */
    size_t n;                   /* slots used */
};

static size_t
slot_of(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static void *
map_get(const walk_map *m, uint64_t key)
{
    size_t i;

    if (!m)
        return NULL;
    for (i = slot_of(key, m->cap); m->vals[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key)
            return m->vals[i];
    return NULL;
}

/* Adds key -> val (key must be new).  0, or -1 out of memory. */
static int
map_put(walk_map **mp, uint64_t key, void *val)
{
    walk_map *m = *mp;
    size_t i;

    if (!m || (m->n + 1) * 2 > m->cap) {
        walk_map *g = calloc(1, sizeof *g);
        size_t cap = m ? m->cap * 2 : 64;

        if (!g || !(g->keys = calloc(cap, sizeof *g->keys)) ||
            !(g->vals = calloc(cap, sizeof *g->vals))) {
            if (g)
                free(g->keys);
            free(g);
            return -1;
        }
        g->cap = cap;
        for (i = 0; m && i < m->cap; i++)
            if (m->vals[i])
                map_put(&g, m->keys[i], m->vals[i]);
        if (m) {
            free(m->keys);
            free(m->vals);
            free(m);
        }
        *mp = m = g;
    }
    for (i = slot_of(key, m->cap); m->vals[i]; i = (i + 1) & (m->cap - 1))
        ;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

static void
map_free(walk_map *m)
{
    if (m) {
        free(m->keys);
        free(m->vals);
        free(m);
    }
}

static uint64_t
key2(unsigned loop, unsigned id)
{
    return (uint64_t)loop << 32 | id;
}

/* ---- tables ------------------------------------------------------------ */

/* A loop's state during the pass. */
struct walk_loop {
    unsigned loop;              /* its id */
    walk_task *cur;             /* the task whose step is open, or NULL */
    int64_t start;              /* that step's resume time */
    int64_t last;               /* the time of its last event so far */
    int64_t seq;                /* its resume event's seq */
    int64_t last_time;          /* the loop's last event's time */
};

static char *
dup_text(const unsigned char *s)
{
    const char *src = s ? (const char *)s : "";
    size_t n = strlen(src) + 1;
    char *d = malloc(n);

    if (d)
        memcpy(d, src, n);
    return d;
}

/* Sets w->err to "<path>: <what>" (what may be the db's message). */
static int
fail(walk *w, const char *what)
{
    snprintf(w->err, sizeof w->err, "%s: %s", w->path,
             what ? what : sqlite3_errmsg(w->db));
    return -1;
}

/* Makes room for element n of the array *arrp of size-byte elements:
 * the capacity is 16, then doubles at each power of two.  0, or -1. */
static int
grow(void *arrp, size_t n, size_t size)
{
    void **arr = arrp;
    void *g;

    if (n && (n < 16 || (n & (n - 1))))
        return 0;
    if (!(g = realloc(*arr, (n ? n * 2 : 16) * size)))
        return -1;
    *arr = g;
    return 0;
}

/* Appends p to the pointer array *arr of *n. */
static int
push_ptr(void ***arr, size_t *n, void *p)
{
    if (grow(arr, *n, sizeof **arr) != 0)
        return -1;
    (*arr)[(*n)++] = p;
    return 0;
}

static walk_task *
task_add(walk *w, unsigned loop, unsigned id)
{
    walk_task *t = calloc(1, sizeof *t);

    if (!t || !(t->name = dup_text(NULL)) ||
        push_ptr((void ***)&w->tasks, &w->ntasks, t) != 0) {
        if (t)
            free(t->name);
        free(t);
        return NULL;
    }
    t->loop = loop;
    t->id = id;
    if (map_put(&w->task_map, key2(loop, id), t) != 0) {
        w->ntasks--;
        free(t->name);
        free(t);
        return NULL;
    }
    return t;
}

static walk_queue *
queue_add(walk *w, unsigned loop, unsigned id)
{
    walk_queue *q = calloc(1, sizeof *q);

    if (!q || !(q->name = dup_text(NULL)) ||
        push_ptr((void ***)&w->queues, &w->nqueues, q) != 0) {
        if (q)
            free(q->name);
        free(q);
        return NULL;
    }
    q->loop = loop;
    q->id = id;
    if (map_put(&w->queue_map, key2(loop, id), q) != 0) {
        w->nqueues--;
        free(q->name);
        free(q);
        return NULL;
    }
    return q;
}

walk_task *
walk_task_find(walk *w, unsigned loop, unsigned id)
{
    return map_get(w->task_map, key2(loop, id));
}

walk_queue *
walk_queue_find(walk *w, unsigned loop, unsigned id)
{
    return map_get(w->queue_map, key2(loop, id));
}

/* Prepares sql; NULL with w->err set if the trace lacks what it needs. */
static sqlite3_stmt *
prepare(walk *w, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(w, NULL);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Steps st to its end; -1 with w->err on an error.  Used by the loaders
 * after their rows are read. */
static int
finish(walk *w, sqlite3_stmt *st, int rc)
{
    if (rc != SQLITE_DONE) {
        if (rc == SQLITE_ROW || rc == SQLITE_NOMEM)
            fail(w, "out of memory");
        else
            fail(w, NULL);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static int
load_kinds(walk *w)
{
    sqlite3_stmt *st;
    int rc;

    if (!(st = prepare(w, "SELECT max(kind) FROM kinds")))
        return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t max = sqlite3_column_int64(st, 0);
        /* Kinds are a small enum; anything beyond is counted as unknown. */
        w->nkinds = max < 0 ? 0 : max > 4095 ? 4096 : (size_t)max + 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return fail(w, NULL);
    w->kind_names = calloc(w->nkinds + 1, sizeof *w->kind_names);
    w->kind_map = calloc(w->nkinds + 1, sizeof *w->kind_map);
    w->kind_counts = calloc(w->nkinds + 1, sizeof *w->kind_counts);
    if (!w->kind_names || !w->kind_map || !w->kind_counts)
        return fail(w, "out of memory");
    for (size_t k = 0; k < w->nkinds; k++)
        w->kind_map[k] = -1;
    if (!(st = prepare(w, "SELECT kind, name FROM kinds")))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);

        if (k < 0 || (size_t)k >= w->nkinds || !name || w->kind_names[k])
            continue;
        if (!(w->kind_names[k] = dup_text((const unsigned char *)name)))
            break;
        /* Semantics by name, so a trace whose numbering differed would
         * still be read right. */
        for (int e = 0; e < TL_EV__COUNT; e++)
            if (!strcmp(name, tl_event_name(e)))
                w->kind_map[k] = e;
    }
    return finish(w, st, rc);
}

static int
load_waits(walk *w)
{
    sqlite3_stmt *st = prepare(w, "SELECT kind, name FROM waits");
    int rc;

    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 0);

        if (k < 0 || k >= WALK_NWAITS - 1 || w->wait_names[k])
            continue;
        if (!(w->wait_names[k] = dup_text(sqlite3_column_text(st, 1))))
            break;
    }
    if (finish(w, st, rc) != 0)
        return -1;
    for (int k = 0; k < WALK_NWAITS; k++)
        if (!w->wait_names[k] &&
            !(w->wait_names[k] = dup_text((const unsigned char *)(
                  k < WALK_NWAITS - 1 ? tl_wait_name((tl_wait_kind)k)
                                      : "other"))))
            return fail(w, "out of memory");
    return 0;
}

static int
load_runs(walk *w)
{
    sqlite3_stmt *st = prepare(w, "SELECT run, loop, root, rc FROM runs "
                                  "ORDER BY run");
    walk_map *loops = NULL;
    int rc;

    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        walk_run *r;

        if (grow(&w->runs, w->nruns, sizeof *w->runs) != 0)
            break;
        r = &w->runs[w->nruns++];
        r->run = (unsigned)sqlite3_column_int64(st, 0);
        r->loop = (unsigned)sqlite3_column_int64(st, 1);
        r->root = (unsigned)sqlite3_column_int64(st, 2);
        r->has_rc = sqlite3_column_type(st, 3) != SQLITE_NULL;
        r->rc = sqlite3_column_int64(st, 3);
        if (!map_get(loops, r->loop)) {
            if (map_put(&loops, r->loop, r) != 0)
                break;
            w->nloops++;
        }
    }
    map_free(loops);
    if (finish(w, st, rc) != 0)
        return -1;
    /* The array is complete: its addresses are stable from here on. */
    for (size_t i = 0; i < w->nruns; i++)
        if (!map_get(w->run_map, w->runs[i].run) &&
            map_put(&w->run_map, w->runs[i].run, &w->runs[i]) != 0)
            return fail(w, "out of memory");
    return 0;
}

static int
load_tasks(walk *w)
{
    sqlite3_stmt *st = prepare(w, "SELECT loop, id, parent, name, end_state, "
                                  "message FROM tasks ORDER BY loop, id");
    int rc;

    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        unsigned loop = (unsigned)sqlite3_column_int64(st, 0);
        unsigned id = (unsigned)sqlite3_column_int64(st, 1);
        walk_task *t;

        if (walk_task_find(w, loop, id))
            continue;
        if (!(t = task_add(w, loop, id)))
            break;
        t->parent = (unsigned)sqlite3_column_int64(st, 2);
        free(t->name);
        if (!(t->name = dup_text(sqlite3_column_text(st, 3))))
            break;
        if (sqlite3_column_type(st, 4) != SQLITE_NULL &&
            !(t->end_state = dup_text(sqlite3_column_text(st, 4))))
            break;
        if (sqlite3_column_type(st, 5) != SQLITE_NULL &&
            !(t->message = dup_text(sqlite3_column_text(st, 5))))
            break;
    }
    return finish(w, st, rc);
}

static int
load_queues(walk *w)
{
    sqlite3_stmt *st = prepare(w, "SELECT loop, id, name, maxsize, close_seq "
                                  "FROM queues ORDER BY loop, id");
    int rc;

    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        unsigned loop = (unsigned)sqlite3_column_int64(st, 0);
        unsigned id = (unsigned)sqlite3_column_int64(st, 1);
        walk_queue *q;

        if (walk_queue_find(w, loop, id))
            continue;
        if (!(q = queue_add(w, loop, id)))
            break;
        free(q->name);
        if (!(q->name = dup_text(sqlite3_column_text(st, 2))))
            break;
        q->maxsize = sqlite3_column_int64(st, 3);
        q->closed = sqlite3_column_type(st, 4) != SQLITE_NULL;
    }
    return finish(w, st, rc);
}

static int
load_syncs(walk *w)
{
    sqlite3_stmt *st = prepare(w, "SELECT loop, id, name FROM syncs");
    int rc;

    if (!st)
        return -1;
    /* Only their names are needed: the map holds them. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t key = key2((unsigned)sqlite3_column_int64(st, 0),
                            (unsigned)sqlite3_column_int64(st, 1));
        char *name;

        if (map_get(w->sync_map, key))
            continue;
        if (!(name = dup_text(sqlite3_column_text(st, 2))))
            break;
        if (map_put(&w->sync_map, key, name) != 0) {
            free(name);
            break;
        }
    }
    return finish(w, st, rc);
}

static int
load_meta(walk *w)
{
    sqlite3_stmt *st = prepare(w, "SELECT value FROM meta "
                                  "WHERE key = 'program'");
    int rc;

    if (!st)
        return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
        !(w->program = dup_text(sqlite3_column_text(st, 0))))
        rc = SQLITE_NOMEM;
    if (rc == SQLITE_ROW)
        rc = SQLITE_DONE;
    return finish(w, st, rc);
}

int
walk_init(walk *w, sqlite3 *db, const char *path)
{
    memset(w, 0, sizeof *w);
    w->db = db;
    w->path = path;
    if (load_meta(w) || load_kinds(w) || load_waits(w) || load_runs(w) ||
        load_tasks(w) || load_queues(w) || load_syncs(w))
        return -1;
    return 0;
}

void
walk_fini(walk *w)
{
    for (size_t i = 0; i < w->ntasks; i++) {
        free(w->tasks[i]->name);
        free(w->tasks[i]->end_state);
        free(w->tasks[i]->message);
        free(w->tasks[i]);
    }
    free(w->tasks);
    for (size_t i = 0; i < w->nqueues; i++) {
        free(w->queues[i]->name);
        free(w->queues[i]);
    }
    free(w->queues);
    for (size_t i = 0; w->sync_map && i < w->sync_map->cap; i++)
        free(w->sync_map->vals[i]);
    for (size_t i = 0; i < w->nloopst; i++)
        free(w->loops[i]);
    free(w->loops);
    free(w->runs);
    for (size_t k = 0; w->kind_names && k < w->nkinds; k++)
        free(w->kind_names[k]);
    free(w->kind_names);
    free(w->kind_map);
    free(w->kind_counts);
    for (int k = 0; k < WALK_NWAITS; k++)
        free(w->wait_names[k]);
    free(w->program);
    map_free(w->task_map);
    map_free(w->queue_map);
    map_free(w->run_map);
    map_free(w->sync_map);
    map_free(w->loop_map);
    memset(w, 0, sizeof *w);
}

/* ---- names ------------------------------------------------------------ */

const char *
walk_wait_name(const walk *w, int64_t wait)
{
    if (wait < 0 || wait >= WALK_NWAITS - 1)
        wait = WALK_NWAITS - 1;
    return w->wait_names[wait] ? w->wait_names[wait] : "?";
}

const char *
walk_kind_name(const walk *w, int rawkind)
{
    if (rawkind < 0 || (size_t)rawkind >= w->nkinds)
        return NULL;
    return w->kind_names[rawkind];
}

void
walk_object_name(walk *w, unsigned loop, int okind, unsigned object,
                 char *buf, size_t len)
{
    const char *name = "";
    walk_task *t;
    walk_queue *q;
    char *s;

    if (!len)
        return;
    switch (okind) {
    case TL_OBJ_TASK:
        if ((t = walk_task_find(w, loop, object)))
            name = t->name;
        snprintf(buf, len, "t%u%s%s", object, *name ? " " : "", name);
        break;
    case TL_OBJ_QUEUE:
        if ((q = walk_queue_find(w, loop, object)))
            name = q->name;
        snprintf(buf, len, "q%u%s%s", object, *name ? " " : "", name);
        break;
    case TL_OBJ_SOCKET:
        snprintf(buf, len, "s%u", object);
        break;
    case TL_OBJ_FLAG: case TL_OBJ_LOCK: case TL_OBJ_COND: case TL_OBJ_LATCH:
        if ((s = map_get(w->sync_map, key2(loop, object))))
            name = s;
        snprintf(buf, len, "#%u%s%s", object, *name ? " " : "", name);
        break;
    default:
        buf[0] = 0;
        break;
    }
}

void
walk_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s) {
        fputs("null", f);
        return;
    }
    putc('"', f);
    while (*p) {
        unsigned c = *p, need, cp, min;

        if (c < 0x80) {
            if (c == '"' || c == '\\')
                putc('\\', f), putc((int)c, f);
            else if (c == '\n')
                fputs("\\n", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                putc((int)c, f);
            p++;
            continue;
        }
        /* A multi-byte sequence: written as is only if it is well formed
         * (no overlong forms, no surrogates, nothing past U+10FFFF). */
        need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        min = need == 3 ? 0x10000 : need == 2 ? 0x800 : 0x80;
        cp = c & (0x3F >> need);
        for (unsigned i = 1; need && i <= need; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                need = 0;
                break;
            }
            cp = cp << 6 | (p[i] & 0x3F);
        }
        if (!need || c > 0xF4 || cp < min || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        fwrite(p, 1, need + 1, f);
        p += need + 1;
    }
    putc('"', f);
}

/* ---- the pass ---------------------------------------------------------- */

static struct walk_loop *
loop_of(walk *w, unsigned loop)
{
    struct walk_loop *l = map_get(w->loop_map, loop);

    if (l)
        return l;
    if (!(l = calloc(1, sizeof *l)) ||
        push_ptr((void ***)&w->loops, &w->nloopst, l) != 0) {
        free(l);
        return NULL;
    }
    l->loop = loop;
    return map_put(&w->loop_map, loop, l) == 0 ? l : NULL;
}

static void
step_end(struct walk_loop *l, const walk_ops *ops, void *ud)
{
    walk_task *t = l->cur;

    if (!t)
        return;
    l->cur = NULL;
    t->run_ns += l->last - l->start;
    if (ops && ops->step)
        ops->step(ud, t, l->start, l->last, l->seq);
}

static void
block_end(walk *w, walk_task *t, int64_t end, const walk_ev *by,
          const walk_ops *ops, void *ud)
{
    int64_t d = end > t->block.time ? end - t->block.time : 0;
    int64_t k = t->block.a;
    walk_queue *q;

    t->blocked = 0;
    t->blocked_ns += d;
    t->wait_ns[k >= 0 && k < WALK_NWAITS - 1 ? k : WALK_NWAITS - 1] += d;
    if (t->block.okind == TL_OBJ_QUEUE &&
        (q = walk_queue_find(w, t->loop, t->block.object))) {
        if (k == TL_WAIT_GET)
            q->wait_ns[WALK_QGET] += d;
        else if (k == TL_WAIT_PUT)
            q->wait_ns[WALK_QPUT] += d;
        else if (k == TL_WAIT_PEEK)
            q->wait_ns[WALK_QPEEK] += d;
    }
    if (ops && ops->blocked)
        ops->blocked(ud, t, &t->block, end, by);
}

/* The steps: see the top of this file. */
static void
track_step(struct walk_loop *l, walk_task *t, const walk_ev *ev,
           const walk_ops *ops, void *ud)
{
    unsigned actor = ev->kind == TL_EV_WAKE ? (unsigned)ev->b : ev->task;

    switch (ev->kind) {
    case TL_EV_RESUME:
        step_end(l, ops, ud);
        if (!t)
            break;
        t->steps++;
        if (!t->resumed && t->spawner)
            t->flow_pending = 1;
        t->resumed = 1;
        l->cur = t;
        l->start = l->last = ev->time;
        l->seq = ev->seq;
        break;
    case TL_EV_RUN_START: case TL_EV_RUN_END: case TL_EV_DEADLOCK:
        step_end(l, ops, ud);
        break;
    default:
        if (l->cur && actor != 0 && ev->time > l->last)
            l->last = ev->time;
        if (ev->kind == TL_EV_BLOCK && l->cur && l->cur == t)
            step_end(l, ops, ud);
        break;
    }
}

/* Blocks, spawns and queues. */
static int
track_objects(walk *w, walk_task *t, const walk_ev *ev, const walk_ops *ops,
              void *ud)
{
    walk_queue *q;
    walk_task *c;

    switch (ev->kind) {
    case TL_EV_BLOCK:
        if (!t)
            break;
        if (t->blocked)
            block_end(w, t, ev->time, ev, ops, ud);
        t->blocked = 1;
        t->block = *ev;
        break;
    case TL_EV_WAKE: case TL_EV_TASK_DONE: case TL_EV_TASK_FAILED:
    case TL_EV_TASK_CANCELLED:
        if (t && t->blocked)
            block_end(w, t, ev->time, ev, ops, ud);
        break;
    case TL_EV_SPAWN:
        if (ev->okind != TL_OBJ_TASK || !ev->object)
            break;
        if (!(c = walk_task_find(w, ev->loop, ev->object)) &&
            !(c = task_add(w, ev->loop, ev->object)))
            return -1;
        if (!c->parent)
            c->parent = ev->task;
        if (ev->task && !c->resumed) {
            c->spawner = ev->task;
            c->spawn_time = ev->time;
        }
        break;
    case TL_EV_QUEUE_PUT: case TL_EV_QUEUE_GET: case TL_EV_QUEUE_PEEK:
    case TL_EV_QUEUE_CLOSE:
        if (ev->okind != TL_OBJ_QUEUE)
            break;
        if (!(q = walk_queue_find(w, ev->loop, ev->object)) &&
            !(q = queue_add(w, ev->loop, ev->object)))
            return -1;
        if (ev->kind == TL_EV_QUEUE_CLOSE) {
            q->closed = 1;
            break;
        }
        if (ev->kind == TL_EV_QUEUE_PUT)
            q->puts++;
        else if (ev->kind == TL_EV_QUEUE_GET)
            q->gets++;
        else
            q->peeks++;
        if (ev->kind != TL_EV_QUEUE_PEEK && ev->b > q->peak)
            q->peak = ev->b;
        break;
    default:
        break;
    }
    return 0;
}

/* Applies one event: counts, steps, blocks, objects; then ops->event. */
static int
apply(walk *w, walk_ev *ev, const walk_ops *ops, void *ud)
{
    struct walk_loop *l = w->lcache;
    walk_task *t = NULL;

    if (ev->rawkind >= 0 && (size_t)ev->rawkind < w->nkinds)
        w->kind_counts[ev->rawkind]++;
    else
        w->unknown_kinds++;
    if (!l || l->loop != ev->loop) {
        if (!(l = loop_of(w, ev->loop)))
            return -1;
        w->lcache = l;
    }
    l->last_time = ev->time;
    w->last_time = ev->time;
    if (ev->task && !(t = walk_task_find(w, ev->loop, ev->task)) &&
        !(t = task_add(w, ev->loop, ev->task)))
        return -1;
    track_step(l, t, ev, ops, ud);
    if (track_objects(w, t, ev, ops, ud) != 0)
        return -1;
    if (ops && ops->event)
        ops->event(ud, ev);
    return 0;
}

static int
cmp_task(const void *x, const void *y)
{
    const walk_task *a = *(walk_task *const *)x, *b = *(walk_task *const *)y;

    if (a->loop != b->loop)
        return a->loop < b->loop ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int
cmp_queue(const void *x, const void *y)
{
    const walk_queue *a = *(walk_queue *const *)x;
    const walk_queue *b = *(walk_queue *const *)y;

    if (a->loop != b->loop)
        return a->loop < b->loop ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Ends what is still open when the events run out. */
static void
walk_end(walk *w, const walk_ops *ops, void *ud)
{
    for (size_t i = 0; i < w->nloopst; i++)
        step_end(w->loops[i], ops, ud);
    for (size_t i = 0; i < w->ntasks; i++) {
        walk_task *t = w->tasks[i];
        struct walk_loop *l;

        if (!t->blocked)
            continue;
        l = map_get(w->loop_map, t->loop);
        t->stuck = 1;
        block_end(w, t, l ? l->last_time : w->last_time, NULL, ops, ud);
    }
    if (w->ntasks)
        qsort(w->tasks, w->ntasks, sizeof *w->tasks, cmp_task);
    if (w->nqueues)
        qsort(w->queues, w->nqueues, sizeof *w->queues, cmp_queue);
}

int
walk_events(walk *w, const walk_ops *ops, void *ud)
{
    static const char cols[] = "run, time, kind, task, okind, object, a, b, "
                               "flags FROM events ORDER BY seq";
    char sql[160];
    sqlite3_stmt *st = NULL;
    const walk_run *run = NULL;
    walk_ev ev;
    int rc;

    /* events.loop came after the first traces of schema 1: without it an
     * event's loop is its run's (and a run-0 event's is unknown, 0,
     * unless the trace has one loop). */
    snprintf(sql, sizeof sql, "SELECT seq, loop, %s", cols);
    if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        snprintf(sql, sizeof sql, "SELECT seq, NULL, %s", cols);
        if (!(st = prepare(w, sql)))
            return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 4);

        ev.seq = sqlite3_column_int64(st, 0);
        ev.run = (unsigned)sqlite3_column_int64(st, 2);
        ev.time = sqlite3_column_int64(st, 3);
        ev.rawkind = k < 0 || k > 0xFFFF ? -1 : (int)k;
        ev.kind = ev.rawkind >= 0 && (size_t)ev.rawkind < w->nkinds
                      ? w->kind_map[ev.rawkind]
                      : -1;
        ev.task = (unsigned)sqlite3_column_int64(st, 5);
        ev.okind = (int)sqlite3_column_int64(st, 6);
        ev.object = (unsigned)sqlite3_column_int64(st, 7);
        ev.a = sqlite3_column_int64(st, 8);
        ev.b = sqlite3_column_int64(st, 9);
        ev.flags = (int)sqlite3_column_int64(st, 10);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
            ev.loop = (unsigned)sqlite3_column_int64(st, 1);
        } else {
            if (!run || run->run != ev.run)
                run = map_get(w->run_map, ev.run);
            ev.loop = run ? run->loop
                      : w->nloops == 1 && w->nruns ? w->runs[0].loop : 0;
        }
        w->nevents++;
        if (apply(w, &ev, ops, ud) != 0) {
            sqlite3_finalize(st);
            return fail(w, "out of memory");
        }
    }
    if (finish(w, st, rc) != 0)
        return -1;
    walk_end(w, ops, ud);
    return 0;
}
