/* SPDX-License-Identifier: MIT */
/* model.c -- the TUI's model: opening a trace, its objects, the cursor
 * and the page around it, and the jumps (model.h).  No curses.
 * Every event query is a range of seq (the primary key) with a LIMIT, so
 * a move costs the rows it returns, or, through a filter that matches
 * little, one pass over the events it skips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "varint.h"
#include "store.h"

/* ---- small helpers ------------------------------------------------------ */

static char empty[1];           /* every empty string: most tasks have no
                                   name, and 100k copies of "" add up */

/* A copy of s (NULL: "") with control characters as '?', so that a name
 * from the trace cannot move the terminal's cursor.  Free it with
 * tl__model_free_str. */
char *
tl__model_clean(const unsigned char *s)
{
    size_t n = s ? strlen((const char *)s) : 0;
    char *c = n ? malloc(n + 1) : empty;

    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
    c[n] = 0;
    return c;
}

void
tl__model_free_str(char *s)
{
    if (s != empty)
        free(s);
}

/* A task's end_state, as one of three constant strings. */
static const char *
end_state(sqlite3_stmt *s, int col)
{
    const char *how = (const char *)sqlite3_column_text(s, col);

    if (!how)
        return NULL;
    return !strcmp(how, "done") ? "done" : !strcmp(how, "failed") ? "failed"
                                                                 : "cancelled";
}

/* Gives back the room an array grew ahead: n items of size. */
static void *
fit(void *p, size_t n, size_t size)
{
    void *q = n ? realloc(p, n * size) : NULL;

    return q ? q : p;
}

static void
copy_clean(char *dst, size_t len, const unsigned char *s)
{
    size_t i = 0;

    for (; s && s[i] && i + 1 < len; i++)
        dst[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
    dst[i] = 0;
}

static int64_t
one_int(sqlite3 *db, const char *sql, int64_t dflt)
{
    sqlite3_stmt *s;
    int64_t v = dflt;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return dflt;
    if (sqlite3_step(s) == SQLITE_ROW &&
        sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

const char *
tl_model_dur(int64_t ns, char *buf, size_t len)
{
    if (ns < 0)
        ns = 0;
    if (ns < 1000)
        snprintf(buf, len, "%lld ns", (long long)ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.3f s", (double)ns / 1e9);
    return buf;
}

/* ---- the trace's objects ------------------------------------------------ */

static int
load_tasks(tl_model *m)
{
    sqlite3_stmt *s;
    size_t cap = 0;
    int rc = 0;

    char sql[256];

    /* last_seq and seqs came with schema version 2. */
    m->v2 = one_int(m->db, "SELECT value FROM meta WHERE "
                           "key='schema_version'", 1) >= 2;
    snprintf(sql, sizeof sql, "SELECT loop, id, coalesce(parent, 0), "
             "coalesce(spawn_seq, 0), coalesce(end_seq, 0), name, end_state, "
             "message, %s FROM tasks ORDER BY loop, id",
             m->v2 ? "coalesce(last_seq, 0)" : "0");
    if (sqlite3_prepare_v2(m->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        tl_model_task *t;
        if (m->ntasks == cap) {
            cap = cap ? cap * 2 : 64;
            if (!(t = realloc(m->tasks, cap * sizeof *t))) {
                rc = -1;        /* out of memory: no half a task list */
                break;
            }
            m->tasks = t;
        }
        t = &m->tasks[m->ntasks];
        t->loop = (uint32_t)sqlite3_column_int64(s, 0);
        t->id = (uint32_t)sqlite3_column_int64(s, 1);
        t->parent = (uint32_t)sqlite3_column_int64(s, 2);
        t->spawn_seq = sqlite3_column_int64(s, 3);
        t->end_seq = sqlite3_column_int64(s, 4);
        t->last_seq = sqlite3_column_int64(s, 8);
        t->name = tl__model_clean(sqlite3_column_text(s, 5));
        t->end_state = end_state(s, 6);
        t->message = sqlite3_column_type(s, 7) == SQLITE_NULL
                         ? NULL : tl__model_clean(sqlite3_column_text(s, 7));
        if (!t->name || (!t->message && sqlite3_column_type(s, 7) !=
                                            SQLITE_NULL)) {
            tl__model_free_str(t->name);
            tl__model_free_str(t->message);
            rc = -1;
            break;
        }
        if (strlen(t->name) > m->name_max[0])
            m->name_max[0] = strlen(t->name);
        m->nfailed += t->end_state && !strcmp(t->end_state, "failed");
        m->ntasks++;
    }
    sqlite3_finalize(s);
    m->tasks = fit(m->tasks, m->ntasks, sizeof *m->tasks);
    return rc;
}

static int
load_queues(tl_model *m)
{
    sqlite3_stmt *s;
    size_t cap = 0;

    if (sqlite3_prepare_v2(m->db, "SELECT loop, id, coalesce(maxsize, 0), "
                                  "coalesce(new_seq, 0), "
                                  "coalesce(close_seq, 0), name FROM queues "
                                  "ORDER BY loop, id", -1, &s,
                           NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        tl_model_queue *q;
        if (m->nqueues == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(q = realloc(m->queues, cap * sizeof *q)))
                break;
            m->queues = q;
        }
        q = &m->queues[m->nqueues];
        q->loop = (uint32_t)sqlite3_column_int64(s, 0);
        q->id = (uint32_t)sqlite3_column_int64(s, 1);
        q->maxsize = sqlite3_column_int64(s, 2);
        q->new_seq = sqlite3_column_int64(s, 3);
        q->close_seq = sqlite3_column_int64(s, 4);
        if (!(q->name = tl__model_clean(sqlite3_column_text(s, 5))))
            break;
        if (strlen(q->name) > m->name_max[1])
            m->name_max[1] = strlen(q->name);
        m->nqueues++;
    }
    sqlite3_finalize(s);
    return 0;
}

static int
load_small(tl_model *m)
{
    sqlite3_stmt *s;
    size_t cap = 0;

    if (sqlite3_prepare_v2(m->db, "SELECT loop, id, name FROM syncs "
                                  "ORDER BY loop, id", -1, &s,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            tl__msync *y;
            if (m->nsyncs == cap) {
                cap = cap ? cap * 2 : 16;
                if (!(y = realloc(m->syncs, cap * sizeof *y)))
                    break;
                m->syncs = y;
            }
            y = &m->syncs[m->nsyncs];
            y->loop = (uint32_t)sqlite3_column_int64(s, 0);
            y->id = (uint32_t)sqlite3_column_int64(s, 1);
            if (!(y->name = tl__model_clean(sqlite3_column_text(s, 2))))
                break;
            m->nsyncs++;
        }
        sqlite3_finalize(s);
    }
    /* Only the kinds the trace has: a search or filter for one it lacks
     * then answers at once instead of reading every event to find none. */
    if (sqlite3_prepare_v2(m->db, "SELECT kind, name FROM kinds WHERE "
                                  "kind BETWEEN 0 AND 255 AND events > 0",
                           -1, &s, NULL) == SQLITE_OK ||
        sqlite3_prepare_v2(m->db, "SELECT kind, name FROM kinds WHERE "
                                  "kind BETWEEN 0 AND 255", -1, &s,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            size_t k = (size_t)sqlite3_column_int64(s, 0);
            if (k >= m->nkinds) {
                char **p = realloc(m->kinds, (k + 1) * sizeof *p);
                if (!p)
                    break;
                memset(p + m->nkinds, 0, (k + 1 - m->nkinds) * sizeof *p);
                m->kinds = p;
                m->nkinds = k + 1;
            }
            tl__model_free_str(m->kinds[k]);
            m->kinds[k] = tl__model_clean(sqlite3_column_text(s, 1));
        }
        sqlite3_finalize(s);
    }
    cap = 0;
    if (sqlite3_prepare_v2(m->db, "SELECT DISTINCT seq FROM deadlock_waits "
                                  "ORDER BY seq", -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            if (m->ndeadlocks == cap) {
                int64_t *p;
                cap = cap ? cap * 2 : 4;
                if (!(p = realloc(m->deadlocks, cap * sizeof *p)))
                    break;
                m->deadlocks = p;
            }
            m->deadlocks[m->ndeadlocks++] = sqlite3_column_int64(s, 0);
        }
        sqlite3_finalize(s);
    }
    return 0;
}

static void
load_program(tl_model *m)
{
    sqlite3_stmt *s;
    const char *p = NULL, *slash;

    if (sqlite3_prepare_v2(m->db, "SELECT value FROM meta WHERE "
                                  "key = 'program'", -1, &s,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            p = (const char *)sqlite3_column_text(s, 0);
        if (p && (slash = strrchr(p, '/')) != NULL)
            p = slash + 1;
        m->program = tl__model_clean((const unsigned char *)p);
        sqlite3_finalize(s);
    }
    if (!m->program)
        m->program = tl__model_clean(NULL);
}

/* ---- opening ------------------------------------------------------------ */

int
tl_model_open(tl_model **out, const char *path, char *err, size_t len)
{
    tl_model *m = calloc(1, sizeof *m);

    if (!m) {
        snprintf(err, len, "%s: out of memory", path);
        return -1;
    }
    m->path = path;
    m->height = 20;
    if (tl_trace_open(&m->db, path, err, len) != 0) {
        free(m);
        return -1;
    }
    m->first = one_int(m->db, "SELECT min(seq) FROM events", 0);
    m->last = one_int(m->db, "SELECT max(seq) FROM events", 0);
    m->flo = m->first;
    m->fhi = m->last;
    if (m->last <= 0) {
        snprintf(err, len, "%s: the trace has no events", path);
        goto fail;
    }
    if (load_tasks(m) != 0 || load_queues(m) != 0 || load_small(m) != 0) {
        snprintf(err, len, "%s: %s", path, sqlite3_errmsg(m->db));
        goto fail;
    }
    load_program(m);
    m->nloops = (unsigned)one_int(m->db, "SELECT max((SELECT coalesce("
                                         "max(loop), 1) FROM runs), (SELECT "
                                         "coalesce(max(loop), 1) FROM tasks))",
                                  1);
    if (tl__model_prepare(m) != 0 || tl__model_bounds(m) != 0 ||
        tl_state_open(&m->st, m->db) != 0) {
        snprintf(err, len, "%s: cannot read its events: %s", path,
                 sqlite3_errmsg(m->db));
        goto fail;
    }
    m->cur = m->top = m->ndeadlocks ? m->deadlocks[m->ndeadlocks - 1]
                                    : m->first;
    tl__model_place(m, m->cur);
    *out = m;
    return 0;
fail:
    tl_model_close(m);
    return -1;
}

void
tl_model_close(tl_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ntasks; i++) {
        tl__model_free_str(m->tasks[i].name);
        tl__model_free_str(m->tasks[i].message);
    }
    for (size_t i = 0; i < m->nqueues; i++)
        tl__model_free_str(m->queues[i].name);
    for (size_t i = 0; i < m->nsyncs; i++)
        tl__model_free_str(m->syncs[i].name);
    for (size_t i = 0; i < m->nkinds; i++)
        tl__model_free_str(m->kinds[i]);
    free(m->tasks);
    free(m->queues);
    free(m->syncs);
    free(m->kinds);
    free(m->deadlocks);
    tl__model_free_str(m->program);
    free(m->fsql);
    free(m->rows);
    free(m->pattern);
    free(m->ssql);
    tl_state_lines_free(m->snap.why, m->snap.nwhy);
    sqlite3_finalize(m->next);
    sqlite3_finalize(m->prev);
    sqlite3_finalize(m->page);
    sqlite3_finalize(m->one);
    sqlite3_finalize(m->detail);
    sqlite3_finalize(m->sfwd);
    sqlite3_finalize(m->sback);
    tl_state_free(m->st);
    sqlite3_close(m->db);
    free(m);
}

const char *
tl_model_path(const tl_model *m)
{
    return m->path;
}

const char *
tl_model_program(const tl_model *m)
{
    return m->program;
}

int64_t
tl_model_first(const tl_model *m)
{
    return m->first;
}

int64_t
tl_model_last(const tl_model *m)
{
    return m->last;
}

unsigned
tl_model_nloops(const tl_model *m)
{
    return m->nloops;
}

size_t
tl_model_nfailed(const tl_model *m)
{
    return m->nfailed;
}

size_t
tl_model_name_max(const tl_model *m, int queues)
{
    return m->name_max[queues != 0];
}

int64_t
tl_model_deadlock_seq(const tl_model *m)
{
    return m->ndeadlocks ? m->deadlocks[m->ndeadlocks - 1] : 0;
}

const char *
tl_model_kind_name(const tl_model *m, int kind)
{
    return kind >= 0 && (size_t)kind < m->nkinds && m->kinds[kind]
               ? m->kinds[kind] : "?";
}

/* Binary search over arrays in (loop, id) order; elem is the size. */
static const void *
find_key(const void *arr, size_t n, size_t elem, uint32_t loop, uint32_t id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const uint32_t *k = (const uint32_t *)((const char *)arr + mid * elem);
        if (k[0] == loop && k[1] == id)
            return k;
        if (k[0] < loop || (k[0] == loop && k[1] < id))
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const tl_model_task *
tl_model_find_task(const tl_model *m, uint32_t loop, uint32_t id)
{
    return find_key(m->tasks, m->ntasks, sizeof *m->tasks, loop, id);
}

const tl_model_queue *
tl_model_find_queue(const tl_model *m, uint32_t loop, uint32_t id)
{
    return find_key(m->queues, m->nqueues, sizeof *m->queues, loop, id);
}

size_t
tl_model_tasks(const tl_model *m, const tl_model_task **out)
{
    *out = m->tasks;
    return m->ntasks;
}

size_t
tl_model_queues(const tl_model *m, const tl_model_queue **out)
{
    *out = m->queues;
    return m->nqueues;
}

size_t
tl_model_children(const tl_model *m, uint32_t loop, uint32_t id,
                  uint32_t *ids, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < m->ntasks; i++)
        if (m->tasks[i].loop == loop && m->tasks[i].parent == id &&
            m->tasks[i].id != id) {
            if (n < cap)
                ids[n] = m->tasks[i].id;
            n++;
        }
    return n;
}

/* "q2 parsed", "t5 sink", "s3", "#1 db": what (okind, object) names. */
static void
object_name(const tl_model *m, uint32_t loop, int okind, uint32_t object,
            char *buf, size_t len)
{
    const tl_model_task *t;
    const tl_model_queue *q;
    const tl__msync *y;

    if (!object || okind == TL_OBJ_NONE) {
        snprintf(buf, len, "-");
    } else if (okind == TL_OBJ_TASK) {
        t = tl_model_find_task(m, loop, object);
        snprintf(buf, len, "t%u%s%s", object, t && *t->name ? " " : "",
                 t ? t->name : "");
    } else if (okind == TL_OBJ_QUEUE) {
        q = tl_model_find_queue(m, loop, object);
        snprintf(buf, len, "q%u%s%s", object, q && *q->name ? " " : "",
                 q ? q->name : "");
    } else if (okind == TL_OBJ_SOCKET) {
        snprintf(buf, len, "s%u", object);
    } else {
        y = find_key(m->syncs, m->nsyncs, sizeof *m->syncs, loop, object);
        snprintf(buf, len, "#%u%s%s", object, y && *y->name ? " " : "",
                 y ? y->name : "");
    }
}

/* ---- rows --------------------------------------------------------------- */

#define ROW_COLS "seq, time, loop, task, kind, okind, object, a, b, flags"

/* (Re)prepares the statements that see events through the filter. */
int
tl__model_prepare(tl_model *m)
{
    char sql[4096];
    const char *f = m->fsql ? m->fsql : "1";
    sqlite3_stmt *s[3] = {NULL, NULL, NULL};

    long long lo = m->flo, hi = m->fhi;

    /* One lower and one upper bound on seq each: given two, SQLite would
     * seek to one and test the other row by row. */
    snprintf(sql, sizeof sql, "SELECT seq FROM events WHERE seq > max(?1, "
                              "%lld) AND seq <= %lld AND (%s) ORDER BY seq "
                              "LIMIT ?2", lo - 1, hi, f);
    if (sqlite3_prepare_v2(m->db, sql, -1, &s[0], NULL) != SQLITE_OK)
        goto fail;
    snprintf(sql, sizeof sql, "SELECT seq FROM events WHERE seq < min(?1, "
                              "%lld) AND seq >= %lld AND (%s) ORDER BY seq "
                              "DESC LIMIT ?2", hi + 1, lo, f);
    if (sqlite3_prepare_v2(m->db, sql, -1, &s[1], NULL) != SQLITE_OK)
        goto fail;
    snprintf(sql, sizeof sql, "SELECT " ROW_COLS " FROM events WHERE "
                              "seq >= max(?1, %lld) AND seq <= %lld AND (%s) "
                              "ORDER BY seq LIMIT ?2", lo, hi, f);
    if (sqlite3_prepare_v2(m->db, sql, -1, &s[2], NULL) != SQLITE_OK)
        goto fail;
    if (!m->one &&
        (sqlite3_prepare_v2(m->db, "SELECT " ROW_COLS " FROM events WHERE "
                                   "seq = ?1", -1, &m->one,
                            NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(m->db, "SELECT detail FROM event_log WHERE "
                                   "seq = ?1", -1, &m->detail,
                            NULL) != SQLITE_OK))
        goto fail;
    sqlite3_finalize(m->next);
    sqlite3_finalize(m->prev);
    sqlite3_finalize(m->page);
    m->next = s[0];
    m->prev = s[1];
    m->page = s[2];
    m->gen++;
    return 0;
fail:
    for (int i = 0; i < 3; i++)
        sqlite3_finalize(s[i]);
    return -1;
}

/* Fills r from a statement positioned on a row of ROW_COLS, names and
 * the event_log detail included. */
static void
fill_row(tl_model *m, sqlite3_stmt *s, tl_model_row *r)
{
    const tl_model_task *t;

    memset(r, 0, sizeof *r);
    r->seq = sqlite3_column_int64(s, 0);
    r->time = sqlite3_column_int64(s, 1);
    r->loop = (uint32_t)sqlite3_column_int64(s, 2);
    r->task = (uint32_t)sqlite3_column_int64(s, 3);
    r->kind = sqlite3_column_int(s, 4);
    r->okind = sqlite3_column_int(s, 5);
    r->object = (uint32_t)sqlite3_column_int64(s, 6);
    r->a = sqlite3_column_int64(s, 7);
    r->b = sqlite3_column_int64(s, 8);
    r->flags = sqlite3_column_int(s, 9);
    if (!r->task)
        snprintf(r->task_name, sizeof r->task_name, "loop");
    else if ((t = tl_model_find_task(m, r->loop, r->task)) != NULL)
        snprintf(r->task_name, sizeof r->task_name, "%s", t->name);
    snprintf(r->kind_name, sizeof r->kind_name, "%s",
             tl_model_kind_name(m, r->kind));
    object_name(m, r->loop, r->okind, r->object, r->object_name,
                sizeof r->object_name);
    sqlite3_bind_int64(m->detail, 1, r->seq);
    if (sqlite3_step(m->detail) == SQLITE_ROW)
        copy_clean(r->detail, sizeof r->detail,
                   sqlite3_column_text(m->detail, 0));
    sqlite3_reset(m->detail);
}

/* Makes rows[] the page that starts at top: a query only when top, the
 * height or the filter changed, so that moves within the page cost
 * nothing, however sparse the filter.  0, or -1 out of memory. */
static int
fetch(tl_model *m)
{
    tl_model_row *r;
    size_t n = 0;

    if (m->rows && m->rows_top == m->top && m->rows_height == m->height &&
        m->rows_gen == m->gen)
        return 0;
    if (!(r = realloc(m->rows, (size_t)m->height * sizeof *r)))
        return -1;
    m->rows = r;
    if (m->nfew) {
        for (size_t i = 0; i < m->nfew && n < (size_t)m->height; i++) {
            if (m->few[i] < m->top)
                continue;
            sqlite3_bind_int64(m->one, 1, m->few[i]);
            if (sqlite3_step(m->one) == SQLITE_ROW)
                fill_row(m, m->one, &m->rows[n++]);
            sqlite3_reset(m->one);
        }
    } else {
        sqlite3_bind_int64(m->page, 1, m->top);
        sqlite3_bind_int64(m->page, 2, m->height);
        while (n < (size_t)m->height && sqlite3_step(m->page) == SQLITE_ROW)
            fill_row(m, m->page, &m->rows[n++]);
        sqlite3_reset(m->page);
    }
    m->nrows = n;
    m->rows_top = m->top;
    m->rows_height = m->height;
    m->rows_gen = m->gen;
    return 0;
}

size_t
tl_model_rows(tl_model *m, const tl_model_row **rows, size_t *cursor)
{
    *cursor = 0;
    *rows = m->rows;
    if (fetch(m) != 0)
        return 0;
    for (size_t i = 0; i < m->nrows; i++)
        if (m->rows[i].seq == m->cur)
            *cursor = i;
    *rows = m->rows;
    return m->nrows;
}

const tl_model_row *
tl_model_row_at_cursor(tl_model *m)
{
    int ok = 0;

    if (m->currow_seq == m->cur && m->cur)
        return &m->currow;
    sqlite3_bind_int64(m->one, 1, m->cur);
    if (sqlite3_step(m->one) == SQLITE_ROW) {
        fill_row(m, m->one, &m->currow);
        ok = 1;
    }
    sqlite3_reset(m->one);
    m->currow_seq = ok ? m->cur : 0;
    return ok ? &m->currow : NULL;
}

/* ---- moving ------------------------------------------------------------- */

/* The nth seq after (dir > 0) or before from that passes the filter, or
 * the farthest there is when fewer; 0 when none. */
static int64_t
nth(tl_model *m, int64_t from, int dir, int64_t n)
{
    sqlite3_stmt *s = dir > 0 ? m->next : m->prev;
    int64_t seq = 0;

    if (n <= 0)
        return from;
    if (m->nfew) {
        /* A filter that few events pass: they are all in few[]. */
        size_t i = 0;
        while (i < m->nfew && m->few[i] <= from)
            i++;
        if (dir > 0)
            return i < m->nfew ? m->few[i + (size_t)n - 1 < m->nfew
                                            ? i + (size_t)n - 1
                                            : m->nfew - 1] : 0;
        while (i > 0 && m->few[i - 1] >= from)
            i--;
        return i ? m->few[i > (size_t)n ? i - (size_t)n : 0] : 0;
    }
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, n);
    while (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return seq;
}

/* The nearest seq to seq that passes the filter: itself, the next, else
 * the previous; 0 when no event passes. */
int64_t
tl__model_near(tl_model *m, int64_t seq)
{
    int64_t s;

    if (seq <= m->ffirst)
        return m->ffirst;
    if (seq >= m->flast)
        return m->flast;
    s = nth(m, seq - 1, 1, 1);
    return s ? s : nth(m, seq, -1, 1);
}

int64_t
tl_model_cursor(const tl_model *m)
{
    return m->cur;
}

/* A filter on one task (and kinds) whose few events the tasks table
 * lists: few[] from that list, no scan.  0 if done, -1 if no event
 * passes, 1 if there is no list (or it is damaged): scan instead. */
static int
task_few(tl_model *m)
{
    const tl_model_filter *f = &m->filter;
    sqlite3_stmt *s = NULL, *k = NULL;
    const uint8_t *p, *lim;
    int64_t seq = 0;
    uint64_t d;
    int rc = 1;

    m->nfew = 0;
    if (!m->v2 || !f->task || f->queue ||
        sqlite3_prepare_v2(m->db, "SELECT seqs FROM tasks WHERE loop = ?1 "
                                  "AND id = ?2", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(m->db, "SELECT kind FROM events WHERE seq = ?1",
                           -1, &k, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int(s, 1, (int)f->task_loop);
    sqlite3_bind_int(s, 2, (int)f->task);
    if (sqlite3_step(s) != SQLITE_ROW ||
        sqlite3_column_type(s, 0) != SQLITE_BLOB)
        goto out;
    p = sqlite3_column_blob(s, 0);
    lim = p + sqlite3_column_bytes(s, 0);
    while (p < lim && m->nfew < TL_MODEL_FEW) {
        int keep = 1;
        if (!tl__uvar_get(&p, lim, &d)) {
            m->nfew = 0;        /* damaged: scan instead */
            goto out;
        }
        seq += (int64_t)d;
        if (f->kinds) {
            sqlite3_bind_int64(k, 1, seq);
            keep = sqlite3_step(k) == SQLITE_ROW &&
                   (f->kinds >> sqlite3_column_int(k, 0) & 1);
            sqlite3_reset(k);
        }
        if (keep)
            m->few[m->nfew++] = seq;
    }
    rc = m->nfew ? 0 : -1;
    if (m->nfew) {
        m->ffirst = m->few[0];
        m->flast = m->few[m->nfew - 1];
    }
out:
    sqlite3_finalize(s);
    sqlite3_finalize(k);
    return rc;
}

/* Finds the first and last seq through the filter: one pass over the
 * events at most, as the two scans stop where they meet.  0, or -1 when
 * no event passes. */
int
tl__model_bounds(tl_model *m)
{
    size_t n = 0;
    int rc;

    if ((rc = task_few(m)) <= 0)
        return rc;
    /* The first TL_MODEL_FEW through the filter: when that is all of
     * them, nth() and the page need no more scans. */
    m->nfew = 0;
    sqlite3_bind_int64(m->next, 1, m->first - 1);
    sqlite3_bind_int64(m->next, 2, TL_MODEL_FEW);
    while (n < TL_MODEL_FEW && sqlite3_step(m->next) == SQLITE_ROW)
        m->few[n++] = sqlite3_column_int64(m->next, 0);
    sqlite3_reset(m->next);
    if (!n)
        return -1;
    m->ffirst = m->few[0];
    if (n < TL_MODEL_FEW && m->fsql) {
        m->nfew = n;
        m->flast = m->few[n - 1];
    } else {
        m->flast = nth(m, m->last + 1, -1, 1);
    }
    return 0;
}

/* Keeps the page full at the end: top no later than height - 1 rows
 * before the last row (found once per filter and height). */
static void
clamp_top(tl_model *m)
{
    if (m->lt_gen != m->gen || m->lt_height != m->height || !m->lt) {
        m->lt = nth(m, m->flast, -1, m->height - 1);
        if (!m->lt)
            m->lt = m->flast;
        m->lt_gen = m->gen;
        m->lt_height = m->height;
    }
    if (m->top > m->lt)
        m->top = m->lt;
}

/* The last seq on the page that starts at top (from the page itself). */
static int64_t
bottom(tl_model *m)
{
    if (fetch(m) != 0 || !m->nrows)
        return 0;
    return m->rows[m->nrows - 1].seq;
}

/* Puts the cursor on seq (which passes the filter), scrolling the page
 * only if seq is not on it: then seq lands a third of the way down. */
int
tl__model_place(tl_model *m, int64_t seq)
{
    int64_t b, t;

    if (!seq)
        return 0;
    m->cur = seq;
    if (seq >= m->top && (b = bottom(m)) != 0 && seq <= b && m->top ==
        nth(m, m->top - 1, 1, 1))
        return 1;
    t = nth(m, seq, -1, m->height / 3);
    m->top = t ? t : seq;
    clamp_top(m);
    return 1;
}

void
tl_model_set_height(tl_model *m, int height)
{
    int64_t b;

    if (height < 1)
        height = 1;
    if (height == m->height)
        return;
    m->height = height;
    clamp_top(m);
    if (m->cur < m->top)
        m->top = m->cur;
    else if ((b = bottom(m)) != 0 && m->cur > b)
        m->top = nth(m, m->cur, -1, m->height - 1);
}

int
tl_model_move(tl_model *m, int n)
{
    int dir = n < 0 ? -1 : 1;
    int64_t k = n < 0 ? -(int64_t)n : n;
    int64_t to, b;

    if (m->cur == (dir > 0 ? m->flast : m->ffirst))
        return 0;               /* no scan to the end of a sparse filter */
    to = nth(m, m->cur, dir, k);
    if (!to || to == m->cur)
        return 0;
    if (k >= m->height) {
        int64_t t = nth(m, m->top, dir, k);
        if (t)
            m->top = t;
        clamp_top(m);
    }
    m->cur = to;
    if (to < m->top)
        m->top = to;
    else if ((b = bottom(m)) != 0 && to > b)
        m->top = nth(m, to, -1, m->height - 1);
    if (!m->top)
        m->top = to;
    return 1;
}

int
tl_model_home(tl_model *m)
{
    int64_t s = m->ffirst;

    if (!s || s == m->cur)
        return 0;
    m->cur = m->top = s;
    return 1;
}

int
tl_model_end(tl_model *m)
{
    int64_t s = m->flast, t;

    if (!s || s == m->cur)
        return 0;
    m->cur = s;
    t = nth(m, s, -1, m->height - 1);
    m->top = t ? t : s;
    return 1;
}

int
tl_model_goto(tl_model *m, int64_t seq)
{
    int64_t s;

    if (seq < m->first)
        seq = m->first;
    if (seq > m->last)
        seq = m->last;
    s = tl__model_near(m, seq);
    if (!s || s == m->cur)
        return 0;
    return tl__model_place(m, s);
}

/* ---- jumps -------------------------------------------------------------- */

/* Goes to seq, clearing the filter if it hides seq. */
static int
go_clearing(tl_model *m, int64_t seq)
{
    if (tl__model_near(m, seq) != seq) {
        tl_model_filter none = {0};
        if (tl_model_set_filter(m, &none) != 0)
            return 0;
    }
    if (seq == m->cur)
        return 1;
    return tl__model_place(m, seq);
}

int
tl_model_first_failure(tl_model *m)
{
    int64_t seq = one_int(m->db, "SELECT min(end_seq) FROM tasks WHERE "
                                 "end_state = 'failed'", 0);

    return seq > 0 ? go_clearing(m, seq) : 0;
}

int
tl_model_next_deadlock(tl_model *m)
{
    for (size_t i = 0; i < m->ndeadlocks; i++)
        if (m->deadlocks[i] > m->cur)
            return go_clearing(m, m->deadlocks[i]);
    return m->ndeadlocks ? go_clearing(m, m->deadlocks[0]) : 0;
}
