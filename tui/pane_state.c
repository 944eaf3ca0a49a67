/* SPDX-License-Identifier: MIT */
/* pane_state.c -- the state at the cursor: the tasks pane (state, what
 * each waits on and for how long, parent), the queues pane (length, first
 * items, blocked getters and putters, closed), the why pane (the
 * wait-for graph in tl_state_explain's words, cycles first), and the
 * heads of the task and queue views.  Curses, no SQL.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "tui.h"

static size_t
clamp_sel(size_t *sel, size_t n)
{
    if (n && *sel >= n)
        *sel = n - 1;
    return *sel;
}

static int
state_color(int state)
{
    switch (state) {
    case TL_TASK_RUNNING: return TL_COLOR_GREEN;
    case TL_TASK_BLOCKED: return TL_COLOR_YELLOW;
    case TL_ST_SLEEPING: return TL_COLOR_BLUE;
    case TL_TASK_FAILED: return TL_COLOR_RED;
    case TL_TASK_CANCELLED: return TL_COLOR_MAGENTA;
    }
    return TL_COLOR_NONE;
}

/* The width of the name column of the tasks (what = 0) or queues pane:
 * the longest name in the trace, kept within [lo, hi]. */
static int
name_width(tl_ui *ui, int what, int lo, int hi)
{
    size_t n = tl_model_name_max(ui->m, what);
    int w = n > (size_t)lo ? (n < (size_t)hi ? (int)n : hi) : lo;

    return w < hi ? w : hi > lo ? hi : lo;
}

/* "5" or "2/5" (several loops). */
static const char *
task_id(tl_ui *ui, uint32_t loop, uint32_t id, char *buf, size_t len)
{
    if (tl_model_nloops(ui->m) > 1)
        snprintf(buf, len, "%u/%u", loop, id);
    else
        snprintf(buf, len, "%u", id);
    return buf;
}

/* "5 sink, 6 handler" for ids, "none" for none, into buf. */
static const char *
task_list(tl_ui *ui, uint32_t loop, const uint32_t *ids, size_t n,
          char *buf, size_t len)
{
    size_t at = 0;

    buf[0] = 0;
    for (size_t i = 0; i < n && at + 1 < len; i++) {
        const tl_model_task *t = tl_model_find_task(ui->m, loop, ids[i]);
        at += (size_t)snprintf(buf + at, len - at, "%s%u%s%s", i ? ", " : "",
                               ids[i], t && *t->name ? " " : "",
                               t ? t->name : "");
    }
    if (!n)
        snprintf(buf, len, "none");
    return buf;
}

/* ---- tasks -------------------------------------------------------------- */

static void
task_line(tl_ui *ui, const tl_st_task *t, int y, tl_box b, int selected)
{
    char id[40], buf[32], state[16], what[256], d[32], rest[400];
    int64_t blocked;
    int x = b.x, nw = name_width(ui, 0, 6, b.w / 4);
    int attr = selected ? (int)A_REVERSE : 0;

    tl_model_task_doing(ui->m, t, state, sizeof state, what, sizeof what,
                        &blocked);
    snprintf(rest, sizeof rest, "%s%s%s", what, blocked >= 0 ? " " : "",
             blocked >= 0 ? tl_model_dur(blocked, d, sizeof d) : "");
    if (t->parent) {
        /* The parent where there is room: always on a wide pane. */
        size_t n = strlen(rest);
        int room = b.w - (4 + nw + 1 + 9 + 1);
        if ((int)n + 12 <= room)
            snprintf(rest + n, sizeof rest - n, "%sparent %u", n ? "  " : "",
                     t->parent);
    }
    task_id(ui, t->loop, t->id, buf, sizeof buf);
    snprintf(id, sizeof id, "%-3s ", buf);
    x += tl_view_put(y, x, (int)strlen(id), id, 1, attr);
    x += tl_view_put(y, x, nw, *t->name ? t->name : "-", 1, attr);
    x += tl_view_put(y, x, 1, " ", 1, attr);
    x += tl_view_put(y, x, 9, state, 1,
                     attr | tl_view_color(state_color(t->state)));
    x += tl_view_put(y, x, 1, " ", 1, attr);
    tl_view_put(y, x, b.w - (x - b.x), rest, 1, attr);
}

void
tl_pane_tasks(tl_ui *ui, const tl_model_snap *s, tl_box b, int focused)
{
    size_t sel = clamp_sel(&ui->sel[TL_PANE_TASKS], s->ntasks);
    size_t top = sel >= (size_t)b.h ? sel - (size_t)b.h + 1 : 0;

    if (!s->ntasks)
        tl_view_put(b.y, b.x, b.w, " no task yet", 1, A_DIM);
    for (size_t i = top; i < s->ntasks && i < top + (size_t)b.h; i++)
        task_line(ui, &s->tasks[i], b.y + (int)(i - top), b,
                  focused && i == sel);
}

/* ---- queues ------------------------------------------------------------- */

/* "#9 #10 #11 ..": the numbers of the first items in q. */
static void
items(const tl_st_queue *q, char *buf, size_t len)
{
    size_t at = 0;

    buf[0] = 0;
    for (int64_t i = 0; i < q->len && i < 3 && at + 1 < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s#%llu", i ? " " : "",
                               (unsigned long long)(q->head + (uint64_t)i));
    if (q->len > 3 && at + 1 < len)
        snprintf(buf + at, len - at, " ..");
}

static void
id_list(const uint32_t *ids, size_t n, char *buf, size_t len)
{
    size_t at = 0;

    buf[0] = 0;
    for (size_t i = 0; i < n && at + 1 < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? "," : "",
                               ids[i]);
}

static void
queue_line(tl_ui *ui, const tl_st_queue *q, int y, tl_box b, int selected)
{
    uint32_t g[16], p[16];
    size_t ng = tl_model_queue_waiters(ui->m, q, 0, g, 16);
    size_t np = tl_model_queue_waiters(ui->m, q, 1, p, 16);
    char max[32], it[64], gs[96], ps[96], line[512];
    int nw = name_width(ui, 1, 4, b.w / 3);

    if (q->maxsize)
        snprintf(max, sizeof max, "%lld", (long long)q->maxsize);
    else
        snprintf(max, sizeof max, "-");
    items(q, it, sizeof it);
    id_list(g, ng < 16 ? ng : 16, gs, sizeof gs);
    id_list(p, np < 16 ? np : 16, ps, sizeof ps);
    snprintf(line, sizeof line, "q%-2u %-*.*s %lld/%s %-6s%s%s%s%s%s%s", q->id,
             nw, nw, *q->name ? q->name : "-", (long long)q->len, max,
             q->closed ? "closed" : "open", *it ? " " : "", it,
             ng ? " getters " : "", gs, np ? " putters " : "", ps);
    tl_view_put(y, b.x, b.w, line, 1, selected ? (int)A_REVERSE : 0);
}

void
tl_pane_queues(tl_ui *ui, const tl_model_snap *s, tl_box b, int focused)
{
    size_t sel = clamp_sel(&ui->sel[TL_PANE_QUEUES], s->nqueues);
    size_t top = sel >= (size_t)b.h ? sel - (size_t)b.h + 1 : 0;

    if (!s->nqueues)
        tl_view_put(b.y, b.x, b.w, " no queue yet", 1, A_DIM);
    for (size_t i = top; i < s->nqueues && i < top + (size_t)b.h; i++)
        queue_line(ui, &s->queues[i], b.y + (int)(i - top), b,
                   focused && i == sel);
}

/* ---- why ---------------------------------------------------------------- */

/* Draws the screen lines of s (wrapped at w, continuations indented)
 * from line first on, at most max of them; how many lines s takes. */
static int
why_split(const char *s, int w, int y, int x, int attr, int first, int max)
{
    int n = 0, indent = 0;

    while (*s) {
        size_t k = tl_view_wrap(s, w - indent);
        if (n >= first && n - first < max) {
            char buf[1024];
            snprintf(buf, sizeof buf, "%*s%.*s", indent, "", (int)k, s);
            tl_view_put(y + n - first, x, w, buf, 1, attr);
        }
        n++;
        s += k;
        while (*s == ' ')
            s++;
        indent = 2;
    }
    return n;
}

int
tl_pane_why_lines(const tl_model_snap *s, size_t upto, int w)
{
    int n = 0;

    for (size_t i = 0; i < s->nwhy && i < upto; i++)
        n += why_split(s->why[i], w - 1, 0, 0, 0, 0, 0);
    return n ? n : 1;
}

int
tl_pane_why(tl_ui *ui, const tl_model_snap *s, tl_box b)
{
    int total = tl_pane_why_lines(s, s->nwhy, b.w), first, y = 0;

    if (total > b.h && ui->sel[TL_PANE_WHY] > (size_t)(total - b.h))
        ui->sel[TL_PANE_WHY] = (size_t)(total - b.h);
    if (total <= b.h)
        ui->sel[TL_PANE_WHY] = 0;
    first = (int)ui->sel[TL_PANE_WHY];
    if (!s->nwhy) {
        tl_view_put(b.y, b.x + 1, b.w - 1, "no task is blocked", 1, A_DIM);
        return 0;
    }
    for (size_t i = 0; i < s->nwhy && y - first < b.h; i++) {
        int attr = i < s->ncycles ? tl_view_color(TL_COLOR_RED) | A_BOLD : 0;
        int n = why_split(s->why[i], b.w - 1, b.y + y - first, b.x + 1,
                          attr, first > y ? first - y : 0,
                          b.h - (y > first ? y - first : 0));
        y += n;
    }
    return total > b.h + first ? total - b.h - first : 0;
}

/* ---- the heads of the task and queue views ------------------------------ */

void
tl_pane_task_head(tl_ui *ui, const tl_model_snap *s, tl_box b)
{
    const tl_model_task *t = tl_model_find_task(ui->m, ui->loop, ui->id);
    const tl_model_task *p = t ? tl_model_find_task(ui->m, t->loop, t->parent)
                               : NULL;
    const tl_st_task *st = NULL;
    uint32_t kids[64];
    size_t nk = tl_model_children(ui->m, ui->loop, ui->id, kids, 64);
    char line[1024], ks[512], state[16], what[256], d[32], id[32];
    char key[48], par[96];
    int64_t blocked;

    for (size_t i = 0; i < s->ntasks; i++)
        if (s->tasks[i].loop == ui->loop && s->tasks[i].id == ui->id)
            st = &s->tasks[i];
    task_list(ui, ui->loop, kids, nk < 64 ? nk : 64, ks, sizeof ks);
    if (t && t->parent)
        snprintf(par, sizeof par, "%u %s", t->parent, p ? p->name : "");
    else
        snprintf(par, sizeof par, "none (a root)");
    snprintf(line, sizeof line, " task %s \"%s\"  parent: %s  children: %s",
             task_id(ui, ui->loop, ui->id, id, sizeof id), t ? t->name : "",
             par, ks);
    tl_view_put(b.y, b.x, b.w, line, 1, A_BOLD);
    if (!t)
        snprintf(line, sizeof line, " not in the tasks table");
    else if (t->end_state)
        snprintf(line, sizeof line, " spawned at seq %lld, ended at seq %lld: "
                                    "%s%s%s", (long long)t->spawn_seq,
                 (long long)t->end_seq, t->end_state,
                 t->message ? ": " : "", t->message ? t->message : "");
    else
        snprintf(line, sizeof line, " spawned at seq %lld, never ended "
                                    "(still there when the trace ends)",
                 (long long)t->spawn_seq);
    tl_view_put(b.y + 1, b.x, b.w, line, 1, 0);
    if (!st) {
        snprintf(line, sizeof line, " at seq %lld: not spawned yet",
                 (long long)s->seq);
    } else {
        tl_model_task_doing(ui->m, st, state, sizeof state, what, sizeof what,
                            &blocked);
        snprintf(line, sizeof line, " at seq %lld: %s%s%s%s%s",
                 (long long)s->seq, state, *what ? " " : "", what,
                 blocked >= 0 ? " for " : "",
                 blocked >= 0 ? tl_model_dur(blocked, d, sizeof d) : "");
        if (blocked >= 0) {
            size_t n = strlen(line);
            snprintf(line + n, sizeof line - n, " (since seq %lld)",
                     (long long)st->since_seq);
        }
    }
    tl_view_put(b.y + 2, b.x, b.w, line, 1,
                st ? tl_view_color(state_color(st->state)) : 0);
    /* Its line of the wait-for graph, if it is blocked. */
    snprintf(key, sizeof key, "task %u \"", ui->id);
    for (size_t i = 0; i < s->nwhy; i++)
        if (!strncmp(s->why[i], key, strlen(key))) {
            snprintf(line, sizeof line, " why: %s", s->why[i]);
            tl_view_put(b.y + 3, b.x, b.w, line, 1, 0);
            break;
        }
}

void
tl_pane_queue_head(tl_ui *ui, const tl_model_snap *s, tl_box b)
{
    const tl_model_queue *q = tl_model_find_queue(ui->m, ui->loop, ui->id);
    const tl_st_queue *sq = NULL;
    char line[1024], max[32], closed[64], it[64], a[400], c[400];
    uint32_t ids[64];
    size_t n;

    for (size_t i = 0; i < s->nqueues; i++)
        if (s->queues[i].loop == ui->loop && s->queues[i].id == ui->id)
            sq = &s->queues[i];
    if (q && q->maxsize)
        snprintf(max, sizeof max, "maxsize %lld", (long long)q->maxsize);
    else
        snprintf(max, sizeof max, "unbounded");
    if (q && q->close_seq)
        snprintf(closed, sizeof closed, "first closed at seq %lld",
                 (long long)q->close_seq);
    else
        snprintf(closed, sizeof closed, "never closed");
    snprintf(line, sizeof line, " queue q%u \"%s\"  %s  created at seq %lld  "
                                "%s", ui->id, q ? q->name : "", max,
             (long long)(q ? q->new_seq : 0), closed);
    tl_view_put(b.y, b.x, b.w, line, 1, A_BOLD);
    if (!sq) {
        snprintf(line, sizeof line, " at seq %lld: not created yet",
                 (long long)s->seq);
        tl_view_put(b.y + 1, b.x, b.w, line, 1, 0);
        return;
    }
    items(sq, it, sizeof it);
    snprintf(line, sizeof line, " at seq %lld: %lld item%s%s%s%s, %s",
             (long long)s->seq, (long long)sq->len, sq->len == 1 ? "" : "s",
             *it ? " (" : "", it, *it ? ")" : "",
             sq->closed ? "closed" : "open");
    tl_view_put(b.y + 1, b.x, b.w, line, 1, 0);
    n = tl_model_queue_waiters(ui->m, sq, 0, ids, 64);
    task_list(ui, sq->loop, ids, n < 64 ? n : 64, a, sizeof a);
    n = tl_model_queue_waiters(ui->m, sq, 1, ids, 64);
    task_list(ui, sq->loop, ids, n < 64 ? n : 64, c, sizeof c);
    snprintf(line, sizeof line, " blocked getters: %s;  blocked putters: %s",
             a, c);
    tl_view_put(b.y + 2, b.x, b.w, line, 1, 0);
    task_list(ui, sq->loop, sq->producers, sq->nproducers, a, sizeof a);
    task_list(ui, sq->loop, sq->consumers, sq->nconsumers, c, sizeof c);
    snprintf(line, sizeof line, " producers so far: %s;  consumers so far: %s",
             a, c);
    tl_view_put(b.y + 3, b.x, b.w, line, 1, 0);
}
