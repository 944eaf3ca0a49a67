/* SPDX-License-Identifier: MIT */
/* pane_lanes.c -- the swimlanes: one lane per task, one column per zoom
 * events of the schedule, each cell what the task was doing (running,
 * ready, blocked, sleeping, ended); the cursor's column reversed across
 * the lanes; the events around the cursor below.  And the help screen,
 * which is the key table.  Curses, no SQL: the cells are the model's.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

static const char cell_char[] = {' ', '-', '#', '.', 'z', '|', 'X'};
static const int cell_color[] = {TL_COLOR_NONE, TL_COLOR_NONE,
                                 TL_COLOR_GREEN, TL_COLOR_YELLOW,
                                 TL_COLOR_BLUE, TL_COLOR_NONE, TL_COLOR_RED};

/* Picks the zoom (the first time) and the first column so that the
 * cursor is on screen. */
static void
frame(tl_ui *ui, int ncols)
{
    int64_t cur = tl_model_cursor(ui->m), z, n, first;

    n = tl_model_last(ui->m) - tl_model_first(ui->m) + 1;
    if (!ui->lane_zoom) {
        for (z = 1; z * ncols < n && z < 16;)
            z = tl_model_lane_zoom(z, 1);
        ui->lane_zoom = z;
    }
    z = ui->lane_zoom;
    first = ui->lane_first;
    if (!first || cur < first || cur >= first + z * ncols)
        first = cur - z * (ncols / 2);
    if (z * ncols >= n || first < tl_model_first(ui->m))
        first = tl_model_first(ui->m);
    ui->lane_first = tl_model_lane_align(first, z);
}

static void
axis(tl_ui *ui, int y, int x, int ncols)
{
    char *line = malloc((size_t)ncols + 1), num[32];

    if (!line)
        return;
    memset(line, ' ', (size_t)ncols);
    line[ncols] = 0;
    for (int c = 0; c < ncols; c += 10) {
        int k = snprintf(num, sizeof num, "%lld",
                         (long long)(ui->lane_first + c * ui->lane_zoom));
        line[c] = '+';
        if (c + 1 + k < ncols && k < 9)
            memcpy(line + c + 1, num, (size_t)k);
    }
    tl_view_put(y, x, ncols, line, 1, A_DIM);
    free(line);
}

static void
lane(tl_ui *ui, const tl_model_task *t, const unsigned char *cells, int y,
     tl_box b, int lw, int ncols, int curcol, int selected)
{
    char label[96];

    if (tl_model_nloops(ui->m) > 1)
        snprintf(label, sizeof label, "%u/%u %s", t->loop, t->id, t->name);
    else
        snprintf(label, sizeof label, "%3u %s", t->id, t->name);
    tl_view_put(y, b.x, lw, label, 1, selected ? (int)A_REVERSE : 0);
    mvaddch(y, b.x + lw, ACS_VLINE);
    for (int c = 0; c < ncols; c++) {
        int v = cells[c] < sizeof cell_char ? cells[c] : 0;
        int attr = tl_view_color(cell_color[v]) |
                   (c == curcol ? (int)A_REVERSE : 0) |
                   (v == 2 ? (int)A_BOLD : 0);
        char ch[2] = {cell_char[v], 0};
        tl_view_put(y, b.x + lw + 1 + c, 1, ch, 1, attr);
    }
}

void
tl_pane_lanes(tl_ui *ui, tl_box b)
{
    const tl_model_task *tasks;
    size_t nt = tl_model_tasks(ui->m, &tasks), nvis;
    int lw = b.w / 4 < 20 ? b.w / 4 : 20, ncols = b.w - lw - 1, curcol;
    int avail = b.h - 3, list;
    unsigned char *cells;
    char head[256];

    frame(ui, ncols);
    ui->lane_cols = ncols;
    /* Lanes first, the events below get what is left (at least 4). */
    nvis = nt < (size_t)(avail - 5) ? nt : (size_t)(avail - 5 > 1 ? avail - 5
                                                                   : 1);
    ui->lane_rows = (int)nvis;
    if (nt && ui->lane_sel >= nt)
        ui->lane_sel = nt - 1;
    if (ui->lane_sel < ui->lane_top)
        ui->lane_top = ui->lane_sel;
    if (ui->lane_sel >= ui->lane_top + nvis)
        ui->lane_top = ui->lane_sel - nvis + 1;
    curcol = (int)((tl_model_cursor(ui->m) - ui->lane_first) / ui->lane_zoom);
    snprintf(head, sizeof head, " swimlanes  seq %lld-%lld, %lld event%s a "
                                "column%s  lanes %zu-%zu of %zu",
             (long long)ui->lane_first,
             (long long)(ui->lane_first + ui->lane_zoom * ncols - 1),
             (long long)ui->lane_zoom, ui->lane_zoom == 1 ? "" : "s",
             ui->lane_zoom > TL_MODEL_LANE_EXACT ? " (sampled)" : "",
             nt ? ui->lane_top + 1 : 0, ui->lane_top + nvis, nt);
    tl_view_put(b.y, b.x, b.w, head, 1, A_BOLD);
    if (!(cells = calloc(nvis * (size_t)ncols + 1, 1)))
        return;
    if (tl_model_lanes(ui->m, ui->lane_first, ui->lane_zoom, (size_t)ncols,
                       ui->lane_top, nvis, cells) != 0)
        tl_view_put(b.y + 1, b.x, b.w, " cannot read the trace", 1, 0);
    else
        for (size_t i = 0; i < nvis && ui->lane_top + i < nt; i++)
            lane(ui, &tasks[ui->lane_top + i], cells + i * (size_t)ncols,
                 b.y + 1 + (int)i, b, lw, ncols, curcol,
                 ui->lane_top + i == ui->lane_sel);
    free(cells);
    tl_view_put(b.y + 1 + (int)nvis, b.x, lw, " seq", 1, A_DIM);
    axis(ui, b.y + 1 + (int)nvis, b.x + lw + 1, ncols);
    tl_view_put(b.y + 2 + (int)nvis, b.x, b.w,
                " # running  - ready  . blocked  z sleeping  | ended  "
                "X failed", 1, A_DIM);
    list = b.h - 3 - (int)nvis - 1;
    if (list >= 1) {
        tl_pane_list_header(ui, (tl_box){b.y + 3 + (int)nvis, b.x, 1, b.w});
        ui->list_rows = list;
        tl_pane_list(ui, (tl_box){b.y + 4 + (int)nvis, b.x, list, b.w}, 1);
    }
}

/* The help screen's line i at width w into buf; 0 past the end.  The
 * keys first, one a line, then the notes, wrapped. */
static int
help_line(size_t i, int w, char *buf, size_t len)
{
    static const char *const notes[] = {
        "The main view: the events (cursor '>'), the state of every task "
        "and queue just after the cursor's event, and why tasks wait: the "
        "wait-for graph, cycles and dead ends first.",
        "Enter on an event, a task or a queue opens its view: its events "
        "only; Esc comes back.  Colours follow the kind of event (none "
        "under NO_COLOR).",
    };
    const char *keys, *help = tl_keys_help(i, &keys);
    size_t n = 0;

    if (help) {
        snprintf(buf, len, "  %-16s %s", keys, help);
        return 1;
    }
    while (tl_keys_help(n, &keys))
        n++;
    i -= n;
    for (size_t k = 0; k < sizeof notes / sizeof *notes; k++) {
        const char *s = notes[k];
        if (i-- == 0) {
            buf[0] = 0;             /* a blank line before each note */
            return 1;
        }
        while (*s) {
            size_t b = tl_view_wrap(s, w - 3);   /* no line to the edge */
            if (i-- == 0) {
                snprintf(buf, len, " %.*s", (int)b, s);
                return 1;
            }
            s += b;
            while (*s == ' ')
                s++;
        }
    }
    return 0;
}

void
tl_pane_help(tl_ui *ui, tl_box b)
{
    size_t total = 0;
    char line[512];

    while (help_line(total, b.w, line, sizeof line))
        total++;
    ui->help_rows = b.h - 1;
    if (ui->help_top + (size_t)ui->help_rows > total)
        ui->help_top = total > (size_t)ui->help_rows
                           ? total - (size_t)ui->help_rows : 0;
    tl_view_put(b.y, b.x, b.w, " keys (j/k scroll, Esc or ? goes back, q "
                               "quits)", 1, A_BOLD);
    for (int y = 1; y < b.h && help_line(ui->help_top + (size_t)y - 1, b.w,
                                         line, sizeof line); y++)
        tl_view_put(b.y + y, b.x, b.w, line, 1, 0);
}
