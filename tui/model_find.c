/* SPDX-License-Identifier: MIT */
/* model_find.c -- the model's filters and search, and the state at the
 * cursor (model.h).  No curses.  Names are matched in
 * memory against the objects loaded at open; the events are then read
 * by id, in chunks of seq for a search so that the caller can keep the
 * screen alive between chunks.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model_int.h"

#define CHUNK 65536             /* events a search reads per query */

/* ---- SQL text ----------------------------------------------------------- */

typedef struct sbuf {           /* a growing string */
    char *p;
    size_t n, cap;
    int bad;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (b->bad)
        return;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt,
                      ap);
        va_end(ap);
        if (k < 0) {
            b->bad = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        {
            size_t cap = (b->n + (size_t)k + 1) * 2 + 64;
            char *q = realloc(b->p, cap);
            if (!q) {
                b->bad = 1;
                return;
            }
            b->p = q;
            b->cap = cap;
        }
    }
}

static char *
sb_done(sbuf *b)
{
    if (b->bad) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

/* ---- filter ------------------------------------------------------------- */

/* The filter's condition, and in [*lo, *hi] the seqs it can match: a
 * task's events lie between its spawn and its end, a queue's after its
 * creation, so a sparse task or queue is sought, not scanned for. */
static char *
filter_sql(const tl_model *m, const tl_model_filter *f, int64_t *lo,
           int64_t *hi)
{
    const tl_model_task *t;
    const tl_model_queue *q;
    sbuf b = {0};
    int any = 0;

    *lo = m->first;
    *hi = m->last;
    if (f->task) {
        sb_add(&b, "loop = %u AND task = %u", f->task_loop, f->task);
        if ((t = tl_model_find_task(m, f->task_loop, f->task)) != NULL) {
            if (t->spawn_seq > *lo)
                *lo = t->spawn_seq;
            if (t->end_seq && t->end_seq < *hi)
                *hi = t->end_seq;
            if (t->last_seq && t->last_seq < *hi)
                *hi = t->last_seq;      /* alive at the end: still bound */
        }
        any = 1;
    }
    if (f->queue) {
        sb_add(&b, "%sokind = 2 AND loop = %u AND object = %u",
               any ? " AND " : "", f->queue_loop, f->queue);
        if ((q = tl_model_find_queue(m, f->queue_loop, f->queue)) != NULL &&
            q->new_seq > *lo)
            *lo = q->new_seq;
        any = 1;
    }
    if (f->kinds) {
        int n = 0;
        sb_add(&b, "%skind IN (", any ? " AND " : "");
        for (int k = 0; k < 64; k++)
            if (f->kinds & ((uint64_t)1 << k))
                sb_add(&b, "%s%d", n++ ? "," : "", k);
        sb_add(&b, ")");
        any = 1;
    }
    if (!any)
        return NULL;
    return sb_done(&b);
}

void
tl_model_get_filter(const tl_model *m, tl_model_filter *f)
{
    *f = m->filter;
}

int
tl_model_set_filter(tl_model *m, const tl_model_filter *f)
{
    tl_model_filter old = m->filter;
    int64_t s, olo = m->flo, ohi = m->fhi, lo, hi;
    char *osql = m->fsql, *nsql = filter_sql(m, f, &lo, &hi);

    if (!nsql && (f->task || f->queue || f->kinds))
        return -1;
    m->filter = *f;
    m->fsql = nsql;
    m->flo = lo;
    m->fhi = hi;
    if (tl__model_prepare(m) != 0 || tl__model_bounds(m) != 0 ||
        !(s = tl__model_near(m, m->cur))) {
        m->filter = old;
        m->fsql = osql;
        m->flo = olo;
        m->fhi = ohi;
        free(nsql);
        tl__model_prepare(m);
        tl__model_bounds(m);
        return -1;
    }
    free(osql);
    m->top = s + 1;             /* off the page: place() puts it a third
                                   of the way down */
    tl__model_place(m, s);
    return 0;
}

/* The loop an id given without one is in: the cursor's. */
static uint32_t
cursor_loop(tl_model *m)
{
    const tl_model_row *r = tl_model_row_at_cursor(m);

    return r && r->loop ? r->loop : 1;
}

/* Parses "3" or "2/3" into (loop, id); 0 if it is not a number. */
static int
parse_id(tl_model *m, const char *s, uint32_t *loop, uint32_t *id)
{
    char *end;
    unsigned long a = strtoul(s, &end, 10), b;

    if (end == s || !isdigit((unsigned char)*s))
        return 0;
    if (*end == '/') {
        const char *t = end + 1;
        b = strtoul(t, &end, 10);
        if (end == t || *end)
            return 0;
        *loop = (uint32_t)a;
        *id = (uint32_t)b;
        return 1;
    }
    if (*end)
        return 0;
    *loop = cursor_loop(m);
    *id = (uint32_t)a;
    return 1;
}

/* Finds a task (what = 0) or queue (1) named s: by id, by exact name (in
 * the cursor's loop first), else by a part of its name if only one has
 * it.  1 found, 0 none, -1 ambiguous (err says so). */
static int
find_named(tl_model *m, int what, const char *s, uint32_t *loop,
           uint32_t *id, char *err, size_t len)
{
    size_t n = what ? m->nqueues : m->ntasks, hits = 0, at = 0;
    uint32_t cl = cursor_loop(m);

    if (parse_id(m, s, loop, id))
        return what ? tl_model_find_queue(m, *loop, *id) != NULL
                    : tl_model_find_task(m, *loop, *id) != NULL;
    for (int pass = 0; pass < 3 && !hits; pass++) {
        for (size_t i = 0; i < n; i++) {
            uint32_t l = what ? m->queues[i].loop : m->tasks[i].loop;
            const char *name = what ? m->queues[i].name : m->tasks[i].name;
            int ok = pass < 2 ? !strcasecmp(name, s) && (pass || l == cl)
                              : strcasestr(name, s) != NULL;
            if (ok && hits++ == 0)
                at = i;
        }
    }
    if (!hits)
        return 0;
    if (hits > 1) {
        snprintf(err, len, "%zu %s match \"%s\": give its id", hits,
                 what ? "queues" : "tasks", s);
        return -1;
    }
    *loop = what ? m->queues[at].loop : m->tasks[at].loop;
    *id = what ? m->queues[at].id : m->tasks[at].id;
    return 1;
}

/* The kinds named s: exactly, else every kind starting with s, else
 * every kind containing it. */
static uint64_t
find_kinds(tl_model *m, const char *s)
{
    uint64_t mask = 0;
    size_t n = strlen(s);

    for (int pass = 0; pass < 3 && !mask; pass++)
        for (size_t k = 0; k < m->nkinds && k < 64; k++) {
            const char *name = m->kinds[k];
            if (name && (pass == 0   ? !strcasecmp(name, s)
                         : pass == 1 ? !strncasecmp(name, s, n)
                                     : strcasestr(name, s) != NULL))
                mask |= (uint64_t)1 << k;
        }
    return mask;
}

static const char *
skip_word(const char *s, const char *const *words, size_t nwords)
{
    for (size_t i = 0; i < nwords; i++) {
        size_t n = strlen(words[i]);
        if (!strncasecmp(s, words[i], n)) {
            const char *t = s + n;
            if (*t == ' ' || *t == '=' || *t == ':') {
                while (*t == ' ' || *t == '=' || *t == ':')
                    t++;
                return t;
            }
            if (n == 1 && isdigit((unsigned char)*t))
                return t;       /* "t5", "q2" */
        }
    }
    return NULL;
}

int
tl_model_filter_parse(tl_model *m, const char *text, tl_model_filter *f,
                      char *err, size_t len)
{
    static const char *const tw[] = {"task", "t"}, *const qw[] = {"queue", "q"},
                             *const kw[] = {"kind", "k"};
    char buf[256];
    const char *v;
    tl_model_filter g = *f;
    size_t n;
    int r;

    while (*text == ' ')
        text++;
    snprintf(buf, sizeof buf, "%s", text);
    for (n = strlen(buf); n && buf[n - 1] == ' ';)
        buf[--n] = 0;
    if (!*buf || !strcasecmp(buf, "none") || !strcasecmp(buf, "clear") ||
        !strcmp(buf, "-") || !strcasecmp(buf, "off")) {
        memset(f, 0, sizeof *f);
        return 0;
    }
    if ((v = skip_word(buf, tw, 2)) != NULL) {
        if ((r = find_named(m, 0, v, &g.task_loop, &g.task, err, len)) <= 0)
            goto none;
    } else if ((v = skip_word(buf, qw, 2)) != NULL) {
        if ((r = find_named(m, 1, v, &g.queue_loop, &g.queue, err, len)) <= 0)
            goto none;
    } else if ((v = skip_word(buf, kw, 2)) != NULL) {
        r = (g.kinds = find_kinds(m, v)) != 0;
        if (!r)
            goto none;
    } else {
        /* A bare word: a task, a queue, a kind, in that order. */
        v = buf;
        if ((r = find_named(m, 0, v, &g.task_loop, &g.task, err, len)) < 0)
            return -1;
        if (!r && (r = find_named(m, 1, v, &g.queue_loop, &g.queue, err,
                                  len)) < 0)
            return -1;
        if (!r && !(g.kinds = find_kinds(m, v)))
            goto none;
    }
    *f = g;
    return 0;
none:
    if (r == 0)
        snprintf(err, len, "nothing in this trace is called \"%s\" (try "
                           "task N, queue N, kind NAME)", v);
    return -1;
}

void
tl_model_filter_text(const tl_model *m, const tl_model_filter *f, char *buf,
                     size_t len)
{
    size_t at = 0;
    int any = 0;

    buf[0] = 0;
#define ADD(...)                                                             \
    do {                                                                     \
        if (at < len)                                                        \
            at += (size_t)snprintf(buf + at, len - at, __VA_ARGS__);         \
    } while (0)
    if (f->task) {
        const tl_model_task *t = tl_model_find_task(m, f->task_loop, f->task);
        if (m->nloops > 1)
            ADD("task %u/%u", f->task_loop, f->task);
        else
            ADD("task %u", f->task);
        if (t && *t->name)
            ADD(" %s", t->name);
        any = 1;
    }
    if (f->queue) {
        const tl_model_queue *q = tl_model_find_queue(m, f->queue_loop,
                                                      f->queue);
        ADD("%squeue q%u", any ? ", " : "", f->queue);
        if (q && *q->name)
            ADD(" %s", q->name);
        any = 1;
    }
    if (f->kinds) {
        int n = 0;
        ADD("%skind ", any ? ", " : "");
        for (int k = 0; k < 64; k++)
            if (f->kinds & ((uint64_t)1 << k))
                ADD("%s%s", n++ ? "|" : "", tl_model_kind_name(m, k));
        any = 1;
    }
#undef ADD
    if (!any)
        snprintf(buf, len, "none");
}

/* ---- search ------------------------------------------------------------- */

/* "loop = L AND col IN (ids...)" for each loop, ORed, into b. */
static int
add_ids(sbuf *b, int *any, const char *col, const char *extra,
        const uint32_t *loops, const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        sb_add(b, "%s(%sloop = %u AND %s IN (", *any ? " OR " : "", extra,
               loops[i], col);
        for (; j < n && loops[j] == loops[i]; j++)
            sb_add(b, "%s%u", j > i ? "," : "", ids[j]);
        sb_add(b, "))");
        *any = 1;
        i = j;
    }
    return 0;
}

/* The search condition for pattern p, NULL if nothing matches it. */
static char *
search_sql(tl_model *m, const char *p)
{
    size_t cap = m->ntasks + m->nqueues + m->nsyncs + 1, nt = 0, nq = 0,
           ny = 0, nf = 0;
    uint32_t *l = malloc(4 * 2 * cap * sizeof *l);
    sbuf b = {0};
    int any = 0, nk = 0;
    uint64_t kinds = find_kinds(m, p);

    if (!l)
        return NULL;
    /* Tasks by name (as actor and as object), failed tasks by message,
     * queues and sync objects by name: (loop, id) pairs in four lists. */
    for (size_t i = 0; i < m->ntasks; i++) {
        if (strcasestr(m->tasks[i].name, p)) {
            l[nt] = m->tasks[i].loop;
            l[cap + nt++] = m->tasks[i].id;
        }
        if (m->tasks[i].message && strcasestr(m->tasks[i].message, p)) {
            l[6 * cap + nf] = m->tasks[i].loop;
            l[7 * cap + nf++] = m->tasks[i].id;
        }
    }
    for (size_t i = 0; i < m->nqueues; i++)
        if (strcasestr(m->queues[i].name, p)) {
            l[2 * cap + nq] = m->queues[i].loop;
            l[3 * cap + nq++] = m->queues[i].id;
        }
    for (size_t i = 0; i < m->nsyncs; i++)
        if (strcasestr(m->syncs[i].name, p)) {
            l[4 * cap + ny] = m->syncs[i].loop;
            l[5 * cap + ny++] = m->syncs[i].id;
        }
    if (kinds) {
        sb_add(&b, "kind IN (");
        for (int k = 0; k < 64; k++)
            if (kinds & ((uint64_t)1 << k))
                sb_add(&b, "%s%d", nk++ ? "," : "", k);
        sb_add(&b, ")");
        any = 1;
    }
    add_ids(&b, &any, "task", "", l, l + cap, nt);
    add_ids(&b, &any, "object", "okind = 1 AND ", l, l + cap, nt);
    add_ids(&b, &any, "object", "okind = 2 AND ", l + 2 * cap, l + 3 * cap,
            nq);
    add_ids(&b, &any, "object", "okind >= 4 AND ", l + 4 * cap, l + 5 * cap,
            ny);
    {
        char k[64];
        snprintf(k, sizeof k, "kind = %d AND ", TL_EV_TASK_FAILED);
        add_ids(&b, &any, "task", k, l + 6 * cap, l + 7 * cap, nf);
    }
    free(l);
    if (!any)
        return NULL;
    return sb_done(&b);
}

int
tl_model_search_set(tl_model *m, const char *pattern, char *err, size_t len)
{
    char *sql, *p;

    if (!*pattern) {
        snprintf(err, len, "no pattern");
        return -1;
    }
    if (!(sql = search_sql(m, pattern))) {
        snprintf(err, len, "pattern not found: %s (search looks at task, "
                           "kind, object names and failure messages)",
                 pattern);
        return -1;
    }
    if (!(p = strdup(pattern))) {
        free(sql);
        return -1;
    }
    free(m->pattern);
    free(m->ssql);
    m->pattern = p;
    m->ssql = sql;
    m->sdir = 0;
    return 0;
}

const char *
tl_model_search_pattern(const tl_model *m)
{
    return m->pattern;
}

/* ---- scans: search, and the same task's or queue's next event -------- */

/* Prepares the two chunk queries for cond (with the filter) and starts
 * from the cursor.  0, or -1. */
static int
scan_prepare(tl_model *m, const char *cond, int dir, int wrap)
{
    static const char *const q[2] = {   /* one bound each way (prepare) */
        "SELECT seq FROM events WHERE seq > max(?1, %lld) AND "
        "seq <= min(?2, %lld) AND (%s) AND (%s) ORDER BY seq LIMIT 1",
        "SELECT seq FROM events WHERE seq >= max(?2, %lld) AND "
        "seq < min(?1, %lld) AND (%s) AND (%s) ORDER BY seq DESC LIMIT 1"};
    long long lo[2] = {m->flo - 1, m->flo}, hi[2] = {m->fhi, m->fhi + 1};
    sqlite3_stmt **st[2] = {&m->sfwd, &m->sback};

    m->sdir = 0;
    for (int i = 0; i < 2; i++) {
        sbuf b = {0};
        char *sql;
        int rc;
        sqlite3_finalize(*st[i]);
        *st[i] = NULL;
        sb_add(&b, q[i], lo[i], hi[i], cond, m->fsql ? m->fsql : "1");
        if (!(sql = sb_done(&b)))
            return -1;
        rc = sqlite3_prepare_v2(m->db, sql, -1, st[i], NULL);
        free(sql);
        if (rc != SQLITE_OK)
            return -1;
    }
    m->sdir = dir > 0 ? 1 : -1;
    m->swrap = wrap;
    m->sphase = 0;
    m->sfrom = m->spos = m->cur;
    m->sdone = 0;
    m->slo = m->first;
    m->shi = m->last;
    return 0;
}

int
tl_model_scan_start(tl_model *m, int what, int dir)
{
    const tl_model_row *r = tl_model_row_at_cursor(m);
    const tl_model_task *t;
    char cond[128];

    m->sdir = 0;
    if (what == TL_SCAN_SEARCH)
        return m->ssql ? scan_prepare(m, m->ssql, dir, 1) : -1;
    if (!r || (what == TL_SCAN_QUEUE && r->okind != TL_OBJ_QUEUE))
        return -1;
    if (what == TL_SCAN_QUEUE) {
        snprintf(cond, sizeof cond, "okind = 2 AND loop = %u AND "
                                    "object = %u", r->loop, r->object);
        return scan_prepare(m, cond, dir, 0);
    }
    snprintf(cond, sizeof cond, "loop = %u AND task = %u", r->loop, r->task);
    if (scan_prepare(m, cond, dir, 0) != 0)
        return -1;
    /* A task's events lie between its spawn and its end: no need to
     * look past them. */
    if ((t = tl_model_find_task(m, r->loop, r->task)) != NULL) {
        if (t->spawn_seq > m->slo)
            m->slo = t->spawn_seq < m->cur ? t->spawn_seq : m->cur;
        if (t->end_seq && t->end_seq < m->shi)
            m->shi = t->end_seq > m->cur ? t->end_seq : m->cur;
    }
    return 0;
}

/* One query over (a, b] forward or [b, a) backward: the seq nearest the
 * start, or 0. */
static int64_t
scan_chunk(tl_model *m, int64_t a, int64_t b)
{
    sqlite3_stmt *s = m->sdir > 0 ? m->sfwd : m->sback;
    int64_t seq = 0;

    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return seq;
}

/* Scans up to n events on from spos; the seq found, or 0.  At the end
 * of the trace it wraps (once) or stops (sdir = 0). */
static int64_t
scan_some(tl_model *m, int64_t n)
{
    int64_t seq = 0, end;

    if (m->sdir > 0) {
        /* phase 0: (spos, shi]; phase 1: (spos, sfrom] */
        int64_t hi;
        end = m->sphase ? m->sfrom : m->shi;
        hi = m->spos + n < end ? m->spos + n : end;
        seq = hi > m->spos ? scan_chunk(m, m->spos, hi) : 0;
        m->sdone += hi - m->spos;
        m->spos = hi;
    } else {
        /* phase 0: [slo, spos); phase 1: [sfrom, spos) */
        int64_t lo;
        end = m->sphase ? m->sfrom : m->slo;
        lo = m->spos - n > end ? m->spos - n : end;
        seq = lo < m->spos ? scan_chunk(m, m->spos, lo) : 0;
        m->sdone += m->spos - lo;
        m->spos = lo;
    }
    if (!seq && m->spos == end) {
        if (m->sphase || !m->swrap) {
            m->sdir = 0;
        } else {
            m->sphase = 1;
            m->spos = m->sdir > 0 ? m->first - 1 : m->last + 1;
        }
    }
    return seq;
}

int
tl_model_scan_step(tl_model *m, int64_t budget, int *wrapped)
{
    *wrapped = m->sphase;
    while (m->sdir && budget > 0) {
        int64_t n = budget < CHUNK ? budget : CHUNK, seq = scan_some(m, n);
        budget -= n;
        if (seq) {
            *wrapped = m->sphase;
            m->sdir = 0;
            tl__model_place(m, seq);
            return 1;
        }
    }
    *wrapped = m->sphase;
    return m->sdir ? 0 : -1;
}

void
tl_model_scan_progress(const tl_model *m, int64_t *done, int64_t *total)
{
    *done = m->sdone;
    if (m->swrap)
        *total = m->last - m->first + 1;
    else
        *total = m->sdir > 0 ? m->shi - m->sfrom : m->sfrom - m->slo;
}

/* A whole scan at once: 1 found, 0 none (or nothing to look for). */
static int
scan(tl_model *m, int what, int dir, int *wrapped)
{
    int r, w = 0;

    if (tl_model_scan_start(m, what, dir) != 0)
        return -1;
    while ((r = tl_model_scan_step(m, CHUNK * 16, &w)) == 0)
        ;
    if (wrapped)
        *wrapped = w;
    return r > 0;
}

int
tl_model_search(tl_model *m, int dir, int *wrapped)
{
    return scan(m, TL_SCAN_SEARCH, dir, wrapped) > 0 ? 1 : -1;
}

int
tl_model_same_task(tl_model *m, int dir)
{
    return scan(m, TL_SCAN_TASK, dir, NULL) > 0;
}

int
tl_model_same_queue(tl_model *m, int dir)
{
    return scan(m, TL_SCAN_QUEUE, dir, NULL);
}

/* ---- the state at the cursor -------------------------------------------- */

const tl_model_snap *
tl_model_snap_get(tl_model *m)
{
    char **lines = NULL, **order;
    size_t n, ncycles = 0;

    if (m->snap_ok && m->snap.seq == m->cur)
        return &m->snap;
    m->snap_ok = 0;
    if (tl_state_at(m->st, m->cur) != 0)
        return NULL;
    n = tl_state_explain(m->st, &lines, &ncycles, TL_MODEL_WHY_MAX);
    if (ncycles > n)
        ncycles = n;
    /* The cycles and dead ends come last from tl_state_explain: they go
     * first here, so that a small pane still shows them. */
    if (n && (order = malloc(n * sizeof *order)) != NULL) {
        for (size_t i = 0; i < ncycles; i++)
            order[i] = lines[n - ncycles + i];
        for (size_t i = 0; i < n - ncycles; i++)
            order[ncycles + i] = lines[i];
        free(lines);
        lines = order;
    }
    tl_state_lines_free(m->snap.why, m->snap.nwhy);
    m->snap.why = lines;
    m->snap.nwhy = lines ? n : 0;
    m->snap.ncycles = lines ? ncycles : 0;
    /* After explain, which may rebuild the arrays these point into. */
    m->snap.ntasks = tl_state_tasks(m->st, &m->snap.tasks);
    m->snap.nqueues = tl_state_queues(m->st, &m->snap.queues);
    m->snap.seq = m->cur;
    m->snap.time = tl_state_time(m->st);
    m->snap_ok = 1;
    return &m->snap;
}

/* "q3 "out"", "task 5 "sink"", "socket 2": what a wait is on, in the
 * words of the wait-for graph (tl_state_explain). */
static void
wait_object(tl_model *m, const tl_st_task *t, char *buf, size_t len)
{
    static const char *const ob[] = {"", "task ", "q", "socket ", "flag ",
                                     "lock ", "cond ", "latch "};
    const char *name = t->okind == TL_OBJ_SOCKET
                           ? "" : tl_state_name(m->st, t->loop, t->okind,
                                                t->object);

    if (!t->object || t->okind <= 0 || t->okind >= 8) {
        buf[0] = 0;
        return;
    }
    snprintf(buf, len, "%s%u%s%s%s", ob[t->okind], t->object,
             *name ? " \"" : "", name, *name ? "\"" : "");
}

void
tl_model_task_doing(tl_model *m, const tl_st_task *t, char *state,
                    size_t slen, char *what, size_t wlen, int64_t *blocked_ns)
{
    char obj[160];

    *blocked_ns = -1;
    what[0] = 0;
    switch (t->state) {
    case TL_TASK_READY: snprintf(state, slen, "ready"); break;
    case TL_TASK_RUNNING: snprintf(state, slen, "running"); break;
    case TL_TASK_DONE: snprintf(state, slen, "done"); break;
    case TL_TASK_CANCELLED: snprintf(state, slen, "cancelled"); break;
    case TL_TASK_FAILED:
        snprintf(state, slen, "failed");
        snprintf(what, wlen, "%s", t->message ? t->message : "");
        break;
    case TL_ST_SLEEPING:
        snprintf(state, slen, "sleeping");
        snprintf(what, wlen, "until %.6f s", (double)t->until / 1e9);
        *blocked_ns = m->snap.time - t->since;
        break;
    case TL_TASK_BLOCKED:
        snprintf(state, slen, "blocked");
        wait_object(m, t, obj, sizeof obj);
        snprintf(what, wlen, "%s(%s)", tl_wait_name((tl_wait_kind)t->wait),
                 obj);
        *blocked_ns = m->snap.time - t->since;
        break;
    default: snprintf(state, slen, "?"); break;
    }
}

size_t
tl_model_queue_waiters(tl_model *m, const tl_st_queue *q, int put,
                       uint32_t *ids, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < m->snap.ntasks; i++) {
        const tl_st_task *t = &m->snap.tasks[i];
        int w = t->wait;
        if (t->state != TL_TASK_BLOCKED || t->okind != TL_OBJ_QUEUE ||
            t->loop != q->loop || t->object != q->id)
            continue;
        if (put ? w != TL_WAIT_PUT : (w != TL_WAIT_GET && w != TL_WAIT_PEEK))
            continue;
        if (n < cap)
            ids[n] = t->id;
        n++;
    }
    return n;
}
