/* SPDX-License-Identifier: MIT */
/* waitfor.c -- the wait-for graph of a state, in words.  Each blocked task
 * points at the tasks that could release it: the joined task, the lock's
 * owner, a queue's live producers (for a getter) or consumers (for a
 * putter).  Cycles among blocked tasks are strongly connected components;
 * a queue whose every producer has ended unclosed is a dead end.  Flags,
 * latches, conditions and sockets can be released by anyone (or by the
 * world): they get a line but no edge.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

typedef struct graph {
    const tl_st_task *t;        /* all tasks */
    size_t n;
    size_t *first;              /* where each loop's tasks start in t (by
                                   loop - 1; ids are dense from 1) */
    uint32_t nloops;
    const tl_st_queue *q;       /* all queues */
    size_t nq;
    const tl_state *st;
    char **lines;               /* the output */
    size_t nlines, cap;
} graph;

static void
say(graph *g, const char *fmt, ...)
{
    char buf[1024], **p;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g->nlines == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        if (!(p = realloc(g->lines, cap * sizeof *p)))
            return;
        g->lines = p;
        g->cap = cap;
    }
    if ((g->lines[g->nlines] = strdup(buf)) != NULL)
        g->nlines++;
}

/* The index of (loop, id) in an array of n elements of size bytes whose
 * first two members are the loop and the id, in (loop, id) order (as
 * tl_state_tasks and tl_state_queues give them); n if absent.  Halving:
 * 100k blocked tasks each looking up their releasers must not cost n^2. */
static size_t
lookup(const void *arr, size_t n, size_t size, uint32_t loop, uint32_t id)
{
    size_t lo = 0, hi = n;
    uint64_t key = (uint64_t)loop << 32 | id;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uint32_t *e = (const void *)((const char *)arr + mid * size);
        uint64_t k = (uint64_t)e[0] << 32 | e[1];
        if (k == key)
            return mid;
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n;
}

static const tl_st_task *
find(const graph *g, uint32_t loop, uint32_t id)
{
    size_t i;

    /* A loop's spawned tasks have ids 1..k: the place is known. */
    if (loop && loop <= g->nloops && id) {
        i = g->first[loop - 1] + id - 1;
        if (i < g->n && g->t[i].loop == loop && g->t[i].id == id)
            return &g->t[i];
    }
    i = lookup(g->t, g->n, sizeof *g->t, loop, id);
    return i < g->n ? &g->t[i] : NULL;
}

static const tl_st_queue *
queue(const graph *g, uint32_t loop, uint32_t id)
{
    size_t i = lookup(g->q, g->nq, sizeof *g->q, loop, id);

    return i < g->nq ? &g->q[i] : NULL;
}

static int
blocked(const tl_st_task *t)
{
    return t && t->state == TL_TASK_BLOCKED;
}

static int
alive(const tl_st_task *t)
{
    return t && (t->state < TL_TASK_DONE || t->state == TL_ST_SLEEPING);
}

/* The tasks that could release t, into out (at most cap); how many. */
static size_t
releasers(const graph *g, const tl_st_task *t, uint32_t *out, size_t cap)
{
    const tl_st_queue *q;
    size_t n = 0;

    if (!blocked(t))
        return 0;
    switch (t->wait) {
    case TL_WAIT_JOIN:
        if (alive(find(g, t->loop, t->object)) && cap)
            out[n++] = t->object;
        return n;
    case TL_WAIT_LOCK: {
        uint32_t o = tl_state_lock_owner(g->st, t->loop, t->object);
        if (o && cap)
            out[n++] = o;
        return n;
    }
    case TL_WAIT_GET:
    case TL_WAIT_PEEK:
    case TL_WAIT_PUT:
        if (!(q = queue(g, t->loop, t->object)))
            return 0;
        {
            int put = t->wait == TL_WAIT_PUT;
            const uint32_t *ids = put ? q->consumers : q->producers;
            size_t k = put ? q->nconsumers : q->nproducers;
            for (size_t i = 0; i < k && n < cap; i++)
                if (ids[i] != t->id && alive(find(g, t->loop, ids[i])))
                    out[n++] = ids[i];
        }
        return n;
    }
    return 0;
}

/* "task 3 "stage-b" waits get(q2 "parsed")" into buf. */
static void
clause(const graph *g, const tl_st_task *t, char *buf, size_t len)
{
    static const char *const ob[] = {"", "task ", "q", "socket ", "flag ",
                                     "lock ", "cond ", "latch "};
    const char *name = tl_state_name(g->st, t->loop, t->okind, t->object);
    const tl_st_queue *q = t->okind == TL_OBJ_QUEUE
                               ? queue(g, t->loop, t->object) : NULL;

    snprintf(buf, len, "task %u \"%s\" waits %s(%s%u%s%s%s%s)", t->id, t->name,
             tl_wait_name((tl_wait_kind)t->wait),
             t->okind < 8 ? ob[t->okind] : "", t->object, *name ? " \"" : "",
             name, *name ? "\"" : "",
             q && t->wait == TL_WAIT_PUT && q->maxsize ? ", full" : "");
}

/* The per-task line: the clause and who could release it. */
static void
explain_task(graph *g, const tl_st_task *t)
{
    char c[400], who[400] = "";
    uint32_t r[16];
    size_t n = releasers(g, t, r, 16), at = 0;
    const char *role = t->wait == TL_WAIT_PUT ? "consumers" : "producers";

    clause(g, t, c, sizeof c);
    for (size_t i = 0; i < n && at < sizeof who - 40; i++)
        at += (size_t)snprintf(who + at, sizeof who - at, "%stask %u", i ? ", "
                                                                        : "",
                               r[i]);
    switch (t->wait) {
    case TL_WAIT_GET: case TL_WAIT_PEEK: case TL_WAIT_PUT:
        say(g, "%s, q%u's live %s so far: %s", c, t->object, role,
            n ? who : "none");
        break;
    case TL_WAIT_JOIN:
        say(g, "%s%s", c, n ? "" : " (it has ended: about to wake)");
        break;
    case TL_WAIT_LOCK:
        say(g, "%s, held by %s", c, n ? who : "nobody");
        break;
    default:
        say(g, "%s", c);
    }
}

/* Tarjan's strongly connected components over blocked tasks, with a stack
 * of its own: a join chain of 100k tasks would overflow the thread's. */
typedef struct frame {
    size_t v;                   /* the task being visited */
    uint32_t r[16];             /* its releasers ... */
    unsigned char n, i;         /* ... how many, the next to follow */
    unsigned char self;         /* it can release itself */
} frame;

typedef struct scc {
    graph *g;
    int *index, *low, *onstack;
    size_t *stack, sp;
    frame *frames;              /* the visit's path, at most n deep */
    int next;
    size_t ncycles;
} scc;

static void
report_cycle(scc *s, size_t *members, size_t n)
{
    graph *g = s->g;
    char line[1024] = "cycle: ", c[400];
    size_t at = strlen(line), i;

    for (i = 0; i < n; i++) {
        const tl_st_task *t = &g->t[members[n - 1 - i]];
        uint32_t r[16];
        size_t k = releasers(g, t, r, 16), mark = at;
        clause(g, t, c, sizeof c);
        at += (size_t)snprintf(line + at, sizeof line - at, "%s%s", i ? "; " : "",
                               c);
        if (t->okind == TL_OBJ_QUEUE && at < sizeof line)
            at += (size_t)snprintf(line + at, sizeof line - at,
                                   ", q%u's %s so far: ", t->object,
                                   t->wait == TL_WAIT_PUT ? "consumers"
                                                          : "producers");
        for (size_t j = 0; t->okind == TL_OBJ_QUEUE && j < k && at < sizeof line;
             j++)
            at += (size_t)snprintf(line + at, sizeof line - at, "%stask %u",
                                   j ? ", " : "", r[j]);
        if (at >= sizeof line || (at >= sizeof line - 96 && i + 1 < n)) {
            at = mark;          /* no room for it and the tail: cut here */
            line[at] = 0;
            break;
        }
    }
    if (i < n)                  /* a long one: say how long */
        snprintf(line + at, sizeof line - at,
                 "%s... %zu more (%zu tasks in the cycle)", i ? "; " : "",
                 n - i, n);
    say(g, "%s", line);
    s->ncycles++;
}

/* Starts the visit of v: frame f. */
static void
visit(scc *s, frame *f, size_t v)
{
    f->v = v;
    f->n = (unsigned char)releasers(s->g, &s->g->t[v], f->r, 16);
    f->i = f->self = 0;
    s->index[v] = s->low[v] = s->next++;
    s->stack[s->sp++] = v;
    s->onstack[v] = 1;
}

static void
strong(scc *s, size_t root)
{
    graph *g = s->g;
    size_t depth = 1;

    visit(s, &s->frames[0], root);
    while (depth) {
        frame *f = &s->frames[depth - 1];
        size_t v = f->v;
        if (f->i < f->n) {                      /* the next edge */
            const tl_st_task *w = find(g, g->t[v].loop, f->r[f->i++]);
            size_t wi;
            if (!blocked(w))
                continue;
            wi = (size_t)(w - g->t);
            f->self |= wi == v;
            if (s->index[wi] < 0)
                visit(s, &s->frames[depth++], wi);
            else if (s->onstack[wi] && s->index[wi] < s->low[v])
                s->low[v] = s->index[wi];
            continue;
        }
        if (s->low[v] == s->index[v]) {         /* v roots a component */
            size_t start = s->sp;
            do
                s->onstack[s->stack[--start]] = 0;
            while (s->stack[start] != v);
            if (s->sp - start > 1 || f->self)
                report_cycle(s, s->stack + start, s->sp - start);
            s->sp = start;
        }
        if (--depth && s->low[v] < s->low[s->frames[depth - 1].v])
            s->low[s->frames[depth - 1].v] = s->low[v];
    }
}

/* Queues whose waiters nobody can serve any more. */
static size_t
dead_ends(graph *g)
{
    size_t found = 0;

    for (size_t i = 0; i < g->n; i++) {
        const tl_st_task *t = &g->t[i];
        const tl_st_queue *q;
        uint32_t r[1];
        int put = t->wait == TL_WAIT_PUT;
        const uint32_t *ids;
        size_t k;
        char who[400] = "";
        size_t at = 0;

        if (!blocked(t) || t->okind != TL_OBJ_QUEUE ||
            !(q = queue(g, t->loop, t->object)) || q->closed ||
            releasers(g, t, r, 1))
            continue;
        ids = put ? q->consumers : q->producers;
        k = put ? q->nconsumers : q->nproducers;
        for (size_t j = 0; j < k && at < sizeof who - 80; j++) {
            const tl_st_task *p = find(g, t->loop, ids[j]);
            if (!p || ids[j] == t->id)
                continue;
            at += (size_t)snprintf(who + at, sizeof who - at, "%s%s", at ? ", "
                                                                        : "",
                                   *p->name ? p->name : "?");
        }
        if (!at)
            say(g, "%s waits %s(\"%s\"); nobody has ever %s it", t->name,
                tl_wait_name((tl_wait_kind)t->wait), q->name,
                put ? "taken from" : "put to");
        else
            say(g, "%s waits %s(\"%s\"); its %s %s, %s, ended without %s it",
                t->name, tl_wait_name((tl_wait_kind)t->wait), q->name,
                strchr(who, ',') ? "" : "only",
                put ? (strchr(who, ',') ? "consumers" : "consumer")
                    : (strchr(who, ',') ? "producers" : "producer"),
                who, put ? "taking from" : "closing");
        found++;
    }
    return found;
}

size_t
tl_state_explain(const tl_state *st, char ***lines, size_t *ncycles,
                 size_t max)
{
    graph g = {0};
    scc s = {0};
    size_t said = 0, more = 0;

    g.st = st;
    g.n = tl_state_tasks(st, &g.t);
    g.nq = tl_state_queues(st, &g.q);
    g.nloops = g.n ? g.t[g.n - 1].loop : 0;
    if ((g.first = calloc(g.nloops + 1, sizeof *g.first)) != NULL)
        for (size_t i = g.n; i-- > 0;)
            g.first[g.t[i].loop - 1] = i;       /* ends at each loop's first */
    else
        g.nloops = 0;
    for (size_t i = 0; i < g.n; i++) {
        if (!blocked(&g.t[i]))
            continue;
        if (max && said == max) {
            more++;
        } else {
            explain_task(&g, &g.t[i]);
            said++;
        }
    }
    if (more)
        say(&g, "... and %zu more blocked tasks (`tapeloop deadlocks --at "
                "%lld` lists them all)", more, (long long)tl_state_seq(st));
    s.g = &g;
    s.index = malloc((g.n + 1) * sizeof *s.index);
    s.low = malloc((g.n + 1) * sizeof *s.low);
    s.onstack = calloc(g.n + 1, sizeof *s.onstack);
    s.stack = malloc((g.n + 1) * sizeof *s.stack);
    s.frames = malloc((g.n + 1) * sizeof *s.frames);
    if (s.index && s.low && s.onstack && s.stack && s.frames) {
        for (size_t i = 0; i < g.n; i++)
            s.index[i] = -1;
        for (size_t i = 0; i < g.n; i++)
            if (blocked(&g.t[i]) && s.index[i] < 0)
                strong(&s, i);
    }
    free(s.index);
    free(s.low);
    free(s.onstack);
    free(s.stack);
    free(s.frames);
    if (tl_state_final(st))
        dead_ends(&g);
    free(g.first);
    *ncycles = s.ncycles;
    *lines = g.lines;
    return g.nlines;
}

void
tl_state_lines_free(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

int64_t
tl_state_deadlock_seq(sqlite3 *db)
{
    sqlite3_stmt *s;
    int64_t seq = -1;

    /* deadlock_waits has a row per blocked task of every deadlock event:
     * small, where a scan of events by kind would read them all. */
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM "
                               "deadlock_waits", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return seq;
}
