/* SPDX-License-Identifier: MIT */
/* pane_list.c -- the event list: seq, time, task, kind, object, detail,
 * one event a row, the cursor's row marked with '>' and reversed, the
 * kind in its colour.  Curses, no SQL: the rows are the model's page.
 */
#include <curses.h>
#include <stdio.h>

#include "tui.h"

typedef struct cols {           /* column widths */
    int seq, time, task, kind, obj, detail;
} cols;

static void
layout(tl_ui *ui, int w, cols *c)
{
    char b[32];
    int r;

    c->seq = snprintf(b, sizeof b, "%lld", (long long)tl_model_last(ui->m));
    if (c->seq < 4)
        c->seq = 4;
    c->time = 9;
    r = w - (1 + c->seq + 1 + c->time + 1);
    c->task = r * 22 / 100;
    c->kind = r * 27 / 100 < 20 ? r * 27 / 100 : 20;
    c->obj = r * 20 / 100;
    c->detail = r - c->task - c->kind - c->obj - 3;
}

void
tl_pane_list_header(tl_ui *ui, tl_box b)
{
    cols c;
    char line[512];

    layout(ui, b.w, &c);
    snprintf(line, sizeof line, " %*s %-*s %-*s %-*s %-*s %s", c.seq, "seq",
             c.time, "time", c.task, "task", c.kind, "kind", c.obj, "object",
             "detail");
    tl_view_put(b.y, b.x, b.w, line, 1, A_BOLD);
}

static void
row(tl_ui *ui, const tl_model_row *r, int y, tl_box b, const cols *c,
    int cursor, int focused)
{
    char s[64], task[96];
    int x = b.x, attr = cursor ? (int)A_REVERSE | (focused ? A_BOLD : 0) : 0;

    if (!r->task)
        snprintf(task, sizeof task, "loop");
    else if (tl_model_nloops(ui->m) > 1)
        snprintf(task, sizeof task, "%u/%u %s", r->loop, r->task,
                 r->task_name);
    else
        snprintf(task, sizeof task, "%u %s", r->task, r->task_name);
    snprintf(s, sizeof s, "%c%*lld ", cursor ? '>' : ' ', c->seq,
             (long long)r->seq);
    x += tl_view_put(y, x, c->seq + 2, s, 1, attr);
    snprintf(s, sizeof s, "%*.6f ", c->time, (double)r->time / 1e9);
    x += tl_view_put(y, x, c->time + 1, s, 1, attr);
    x += tl_view_put(y, x, c->task, task, 1, attr);
    x += tl_view_put(y, x, 1, " ", 1, attr);
    x += tl_view_put(y, x, c->kind, r->kind_name, 1,
                     attr | tl_view_color(tl_view_kind_color(r->kind)));
    x += tl_view_put(y, x, 1, " ", 1, attr);
    x += tl_view_put(y, x, c->obj, r->object_name, 1, attr);
    x += tl_view_put(y, x, 1, " ", 1, attr);
    tl_view_put(y, x, b.w - (x - b.x), r->detail, 1, attr);
}

void
tl_pane_list(tl_ui *ui, tl_box b, int focused)
{
    const tl_model_row *rows;
    size_t n, cur;
    cols c;

    layout(ui, b.w, &c);
    tl_model_set_height(ui->m, b.h);
    n = tl_model_rows(ui->m, &rows, &cur);
    for (size_t i = 0; i < n && (int)i < b.h; i++)
        row(ui, &rows[i], b.y + (int)i, b, &c, i == cur, focused);
    if (!n)
        tl_view_put(b.y, b.x, b.w, "  (no events: a read error?)", 1, 0);
}
