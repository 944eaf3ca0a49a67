/* SPDX-License-Identifier: MIT */
/* view.c -- the TUI's screen: taking and giving back the terminal,
 * colours, keys, and the layout of each view (title, panes, status line,
 * bottom line).  Curses, no SQL: what it draws comes from the model.
 * Every way out (q, a signal, exit, a crash) goes through tl_view_close,
 * so that no path leaves the terminal in curses mode.
 */
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"

static SCREEN *screen;          /* ours, while the view is open */
static int colors;              /* colours are on */
static volatile sig_atomic_t caught;    /* SIGINT, SIGTERM, SIGHUP */
static const int soft[] = {SIGINT, SIGTERM, SIGHUP};
static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction saved[sizeof soft / sizeof *soft +
                              sizeof fatal / sizeof *fatal];

/* ---- the terminal ------------------------------------------------------- */

static void
on_soft(int sig)
{
    caught = sig;
}

/* A crash: give the terminal back before dying of the signal. */
static void
on_fatal(int sig)
{
    if (screen)
        endwin();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
catch_signals(void)
{
    struct sigaction sa;
    size_t n = sizeof soft / sizeof *soft;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_soft;    /* no SA_RESTART: getch returns */
    for (size_t i = 0; i < n; i++)
        sigaction(soft[i], &sa, &saved[i]);
    sa.sa_handler = on_fatal;
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
        sigaction(fatal[i], &sa, &saved[n + i]);
}

static void
restore_signals(void)
{
    size_t n = sizeof soft / sizeof *soft;

    for (size_t i = 0; i < n; i++)
        sigaction(soft[i], &saved[i], NULL);
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
        sigaction(fatal[i], &saved[n + i], NULL);
}

static void
init_colors(void)
{
    const char *no = getenv("NO_COLOR");

    colors = 0;
    if ((no && *no) || !has_colors() || start_color() == ERR)
        return;
    use_default_colors();
    init_pair(TL_COLOR_GREEN, COLOR_GREEN, -1);
    init_pair(TL_COLOR_RED, COLOR_RED, -1);
    init_pair(TL_COLOR_YELLOW, COLOR_YELLOW, -1);
    init_pair(TL_COLOR_CYAN, COLOR_CYAN, -1);
    init_pair(TL_COLOR_MAGENTA, COLOR_MAGENTA, -1);
    init_pair(TL_COLOR_BLUE, COLOR_BLUE, -1);
    init_pair(TL_COLOR_TITLE, COLOR_BLACK, COLOR_CYAN);
    colors = 1;
}

int
tl_view_open(char *err, size_t len)
{
    static int registered;
    const char *term = getenv("TERM");

    if (screen)
        return 0;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, len, "not a terminal: the TUI needs one on its input "
                           "and output");
        return -1;
    }
    setlocale(LC_ALL, "");
    caught = 0;
    catch_signals();
    if (!registered && atexit(tl_view_close) == 0)
        registered = 1;
    set_escdelay(25);           /* Esc answers at once, not after 1 s */
    if (!(screen = newterm(NULL, stdout, stdin))) {
        restore_signals();
        snprintf(err, len, "cannot drive this terminal (TERM=%s)",
                 term && *term ? term : "unset");
        return -1;
    }
    set_term(screen);
    {
        char *cup = tigetstr("cup");
        if (!cup || cup == (char *)-1) {
            /* A terminal that cannot move its cursor cannot show panes. */
            endwin();
            delscreen(screen);
            screen = NULL;
            restore_signals();
            snprintf(err, len, "this terminal cannot move its cursor "
                               "(TERM=%s)", term && *term ? term : "unset");
            return -1;
        }
    }
    cbreak();
    noecho();
    nl();
    keypad(stdscr, TRUE);
    curs_set(0);
    init_colors();
    return 0;
}

void
tl_view_close(void)
{
    if (!screen)
        return;
    curs_set(1);
    endwin();
    delscreen(screen);
    screen = NULL;
    restore_signals();
    fflush(stdout);
}

void
tl_view_size(int *cols, int *rows)
{
    int y, x;

    getmaxyx(stdscr, y, x);
    *cols = x;
    *rows = y;
}

int
tl_view_signal(void)
{
    return caught;
}

static int
translate(int ch)
{
    switch (ch) {
    case KEY_UP: return TL_KEY_UP;
    case KEY_DOWN: return TL_KEY_DOWN;
    case KEY_LEFT: return TL_KEY_LEFT;
    case KEY_RIGHT: return TL_KEY_RIGHT;
    case KEY_PPAGE: return TL_KEY_PGUP;
    case KEY_NPAGE: return TL_KEY_PGDN;
    case KEY_HOME: return TL_KEY_HOME;
    case KEY_END: return TL_KEY_END;
    case KEY_BTAB: return TL_KEY_BTAB;
    case KEY_BACKSPACE: return TL_KEY_BACKSPACE;
    case KEY_DC: return TL_KEY_DEL;
    case KEY_ENTER: return TL_KEY_ENTER;
    case '\r': return TL_KEY_ENTER;
    case KEY_RESIZE: return TL_KEY_RESIZE;
    }
    return ch >= KEY_MIN ? TL_KEY_NONE : ch;
}

int
tl_view_key(int timeout_ms)
{
    int ch;

    for (;;) {
        if (caught)
            return TL_KEY_SIGNAL;
        timeout(timeout_ms < 0 || timeout_ms > 250 ? 250 : timeout_ms);
        if ((ch = getch()) != ERR)
            return translate(ch);
        if (caught)
            return TL_KEY_SIGNAL;
        if (timeout_ms >= 0)
            return TL_KEY_NONE;
    }
}

/* ---- drawing helpers ---------------------------------------------------- */

int
tl_view_color(int color)
{
    return colors && color ? (int)COLOR_PAIR(color) : 0;
}

int
tl_view_kind_color(int kind)
{
    switch (kind) {
    case TL_EV_SPAWN: case TL_EV_TASK_DONE: case TL_EV_JOIN:
        return TL_COLOR_GREEN;
    case TL_EV_TASK_FAILED: case TL_EV_TASK_CANCELLED: case TL_EV_CANCEL:
    case TL_EV_DEADLOCK:
        return TL_COLOR_RED;
    case TL_EV_BLOCK: case TL_EV_SLEEP: case TL_EV_YIELD: case TL_EV_COMMAND:
        return TL_COLOR_YELLOW;
    case TL_EV_WAKE:
        return TL_COLOR_MAGENTA;
    case TL_EV_QUEUE_NEW: case TL_EV_QUEUE_PUT: case TL_EV_QUEUE_GET:
    case TL_EV_QUEUE_PEEK: case TL_EV_QUEUE_HANDOFF: case TL_EV_QUEUE_CLOSE:
        return TL_COLOR_CYAN;
    }
    if (kind >= TL_EV_SYNC_NEW && kind <= TL_EV_LATCH_WAIT)
        return TL_COLOR_MAGENTA;
    if (kind >= TL_EV_SOCKET_LISTEN && kind <= TL_EV_SOCKET_CLOSE)
        return TL_COLOR_BLUE;
    return TL_COLOR_NONE;
}

/* Bytes of s that fill at most w columns, a UTF-8 sequence counting as
 * one column and never cut; *cols gets the columns. */
static size_t
fit(const char *s, int w, int *cols)
{
    size_t i = 0;
    int c = 0;

    while (s[i] && c < w) {
        size_t k = 1;
        while ((s[i + k] & 0xc0) == 0x80)
            k++;
        i += k;
        c++;
    }
    *cols = c;
    return i;
}

size_t
tl_view_wrap(const char *s, int w)
{
    size_t i = 0, space = 0;
    int c = 0;

    while (s[i] && c < w) {
        size_t k = 1;
        if (s[i] == ' ')
            space = i;
        while ((s[i + k] & 0xc0) == 0x80)
            k++;
        i += k;
        c++;
    }
    if (!s[i] || s[i] == ' ')
        return i;
    return space ? space : i;
}

int
tl_view_put(int y, int x, int w, const char *s, int pad, int attr)
{
    int cols = 0;
    size_t n;

    if (w <= 0)
        return 0;
    n = fit(s ? s : "", w, &cols);
    if (attr)
        attron(attr);
    mvaddnstr(y, x, s ? s : "", (int)n);
    if (pad)
        for (int i = cols; i < w; i++)
            addch(' ');
    if (attr)
        attroff(attr);
    return pad ? w : cols;
}

void
tl_view_rule(int y, int x, int w, const char *title, int focused)
{
    int at = 0;

    attron(focused ? A_BOLD : A_DIM);
    mvhline(y, x, ACS_HLINE, w);
    if (title && *title && w > 4) {
        mvaddch(y, x + 1, ' ');
        at = tl_view_put(y, x + 2, w - 4, title,
                         0, focused ? (int)A_REVERSE : 0);
        mvaddch(y, x + 2 + at, ' ');
    }
    attroff(focused ? A_BOLD : A_DIM);
}

/* ---- the lines around every view ---------------------------------------- */

static void
title(tl_ui *ui, int w)
{
    tl_model *m = ui->m;
    char left[512], right[128] = "";
    const tl_model_task *t;
    size_t nt = tl_model_tasks(m, &t), failed = tl_model_nfailed(m);
    int n, attr = colors ? tl_view_color(TL_COLOR_TITLE) : (int)A_REVERSE;

    snprintf(left, sizeof left, " tapeloop  %s  %s%s%lld events, %zu task%s%s",
             tl_model_path(m), tl_model_program(m),
             *tl_model_program(m) ? "  " : "",
             (long long)(tl_model_last(m) - tl_model_first(m) + 1), nt,
             nt == 1 ? "" : "s", tl_model_nloops(m) > 1 ? ", several loops"
                                                        : "");
    if (tl_model_deadlock_seq(m))
        snprintf(right, sizeof right, "DEADLOCK at seq %lld ",
                 (long long)tl_model_deadlock_seq(m));
    else if (failed)
        snprintf(right, sizeof right, "%zu FAILED ", failed);
    n = *right && (int)strlen(right) + 20 < w ? (int)strlen(right) : 0;
    tl_view_put(0, 0, w - n, left, 1, attr);
    if (n) {
        tl_view_put(0, w - n - 1, 1, " ", 1, attr);
        tl_view_put(0, w - n, n, right, 0, attr | A_BOLD);
    }
}

static void
status(tl_ui *ui, int y, int w)
{
    const tl_model_row *r = tl_model_row_at_cursor(ui->m);
    tl_model_filter f;
    char ft[200], where[96], who[80], line[512];
    static const char *const panes[] = {"events", "tasks", "queues", "why"};

    tl_model_get_filter(ui->m, &f);
    tl_model_filter_text(ui->m, &f, ft, sizeof ft);
    switch (ui->view) {
    case TL_VIEW_TASK: snprintf(where, sizeof where, "task %u", ui->id); break;
    case TL_VIEW_QUEUE: snprintf(where, sizeof where, "queue q%u", ui->id);
        break;
    case TL_VIEW_LANES:
        snprintf(where, sizeof where, "lanes %lld/col",
                 (long long)ui->lane_zoom);
        break;
    case TL_VIEW_HELP: snprintf(where, sizeof where, "help"); break;
    default: snprintf(where, sizeof where, "%s", panes[ui->focus]); break;
    }
    if (r && r->task)
        snprintf(who, sizeof who, ", task %u %s", r->task, r->task_name);
    else
        snprintf(who, sizeof who, "%s", r ? ", the loop" : "");
    snprintf(line, sizeof line, " seq %lld/%lld  t=%.6f s  %s%s  filter: %s  "
                                "[%s]",
             (long long)tl_model_cursor(ui->m), (long long)tl_model_last(ui->m),
             r ? (double)r->time / 1e9 : 0.0, r ? r->kind_name : "", who, ft,
             where);
    tl_view_put(y, 0, w, line, 1, A_REVERSE);
}

static const char *
hints(const tl_ui *ui)
{
    switch (ui->view) {
    case TL_VIEW_HELP:
        return "j/k scroll  Esc or ? back  q quit";
    case TL_VIEW_LANES:
        return "h/l move  +/- zoom  j/k lane  Enter task  [ ] task  "
               "s or Esc back  ? help  q quit";
    case TL_VIEW_TASK:
    case TL_VIEW_QUEUE:
        return "j/k move  Enter drill  / search  f filter  [ ] task  "
               "{ } queue  Esc back  ? help  q quit";
    }
    return "j/k move  / search  f filter  [ ] task  { } queue  e fail  "
           "d deadlock  s lanes  Tab pane  Enter drill  ? help  q quit";
}

static void
bottom(tl_ui *ui, int y, int w)
{
    static const char *const label[] = {
        "", "/", ":", "filter (task|queue|kind NAME; empty clears): "};
    char line[512];

    if (ui->prompt) {
        int n = snprintf(line, sizeof line, "%s%s", label[ui->prompt],
                         ui->input);
        tl_view_put(y, 0, w, line, 1, 0);
        curs_set(1);
        move(y, n < w ? n : w - 1);
        return;
    }
    curs_set(0);
    if (ui->msg[0])
        tl_view_put(y, 0, w, ui->msg, 1,
                    ui->msg_error ? (tl_view_color(TL_COLOR_RED) | A_BOLD)
                                  : 0);
    else
        tl_view_put(y, 0, w, hints(ui), 1, A_DIM);
}

/* ---- the views ---------------------------------------------------------- */

static int
clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void
main_view(tl_ui *ui, int w, int h)
{
    const tl_model_snap *s = tl_model_snap_get(ui->m);
    int body = h - 6, need_why, need_state, ly, sy, wy, tw, why_min, more, n;
    const tl_model_task *tasks;
    const tl_model_queue *queues;
    char t[96];

    /* Sizes that do not change as the cursor moves (the trace's tasks
     * and queues, a quarter for why), except that the why pane grows to
     * show its cycles and dead ends (which come first) up to a third. */
    need_why = s ? tl_pane_why_lines(s, s->ncycles, w) : 1;
    need_state = (int)tl_model_tasks(ui->m, &tasks);
    if ((int)tl_model_queues(ui->m, &queues) > need_state)
        need_state = (int)tl_model_queues(ui->m, &queues);
    why_min = s && s->ncycles ? clamp(need_why, 2, body / 3) : 2;
    ui->pane_rows[TL_PANE_WHY] = body / 4 > why_min ? body / 4 : why_min;
    ui->pane_rows[TL_PANE_TASKS] = clamp(need_state, 1,
                                         body / 3 > 3 ? body / 3 : 3);
    ui->list_rows = body - ui->pane_rows[TL_PANE_WHY] -
                    ui->pane_rows[TL_PANE_TASKS];
    if (ui->list_rows < 3) {
        ui->pane_rows[TL_PANE_TASKS] -= 3 - ui->list_rows;
        ui->list_rows = 3;
    }
    ui->pane_rows[TL_PANE_QUEUES] = ui->pane_rows[TL_PANE_TASKS];
    ui->pane_rows[TL_PANE_EVENTS] = ui->list_rows;
    ly = 2;
    sy = ly + ui->list_rows;
    wy = sy + 1 + ui->pane_rows[TL_PANE_TASKS];
    tl_pane_list_header(ui, (tl_box){1, 0, 1, w});
    tl_pane_list(ui, (tl_box){ly, 0, ui->list_rows, w},
                 ui->focus == TL_PANE_EVENTS);
    if (!s) {
        tl_view_put(sy, 0, w, "cannot rebuild the state at the cursor", 1,
                    tl_view_color(TL_COLOR_RED));
        return;
    }
    tw = tl_model_queues(ui->m, &queues) ? w * 3 / 5 : w;
    snprintf(t, sizeof t, "tasks at %lld", (long long)s->seq);
    tl_view_rule(sy, 0, tw, t, ui->focus == TL_PANE_TASKS);
    tl_pane_tasks(ui, s, (tl_box){sy + 1, 0, ui->pane_rows[TL_PANE_TASKS], tw},
                  ui->focus == TL_PANE_TASKS);
    if (tw < w) {
        snprintf(t, sizeof t, "queues at %lld", (long long)s->seq);
        tl_view_rule(sy, tw + 1, w - tw - 1, t, ui->focus == TL_PANE_QUEUES);
        mvvline(sy + 1, tw, ACS_VLINE, ui->pane_rows[TL_PANE_TASKS]);
        mvaddch(sy, tw, ACS_TTEE);
        mvaddch(wy, tw, ACS_BTEE);
        tl_pane_queues(ui, s, (tl_box){sy + 1, tw + 1,
                                       ui->pane_rows[TL_PANE_TASKS],
                                       w - tw - 1},
                       ui->focus == TL_PANE_QUEUES);
    }
    more = tl_pane_why(ui, s, (tl_box){wy + 1, 0, ui->pane_rows[TL_PANE_WHY],
                                       w});
    n = snprintf(t, sizeof t, "why at %lld", (long long)s->seq);
    if (more)
        snprintf(t + n, sizeof t - (size_t)n, " (%d more line%s: %s)", more,
                 more == 1 ? "" : "s",
                 ui->focus == TL_PANE_WHY ? "j" : "Tab to it, then j");
    tl_view_rule(wy, 0, w, t, ui->focus == TL_PANE_WHY);
}

/* The task and queue views: a head, then their events. */
static void
drill_view(tl_ui *ui, int w, int h)
{
    const tl_model_snap *s = tl_model_snap_get(ui->m);
    const tl_model_task *t = tl_model_find_task(ui->m, ui->loop, ui->id);
    const tl_model_queue *q = tl_model_find_queue(ui->m, ui->loop, ui->id);
    int head = 4;
    char r[128];

    if (ui->view == TL_VIEW_TASK)
        snprintf(r, sizeof r, "events of task %u%s%s", ui->id,
                 t && *t->name ? " " : "", t ? t->name : "");
    else
        snprintf(r, sizeof r, "events on queue q%u%s%s", ui->id,
                 q && *q->name ? " " : "", q ? q->name : "");
    if (s && ui->view == TL_VIEW_TASK)
        tl_pane_task_head(ui, s, (tl_box){1, 0, head, w});
    else if (s)
        tl_pane_queue_head(ui, s, (tl_box){1, 0, head, w});
    tl_view_rule(1 + head, 0, w, r, 1);
    ui->list_rows = h - 5 - head;
    tl_pane_list_header(ui, (tl_box){2 + head, 0, 1, w});
    tl_pane_list(ui, (tl_box){3 + head, 0, ui->list_rows, w}, 1);
}

void
tl_view_draw(tl_ui *ui)
{
    int w, h;

    tl_view_size(&w, &h);
    erase();
    if (w < TL_VIEW_MIN_COLS || h < TL_VIEW_MIN_ROWS) {
        char line[3][64];       /* short lines: it must fit the small */
        ui->too_small = 1;
        snprintf(line[0], sizeof line[0], "too small: %dx%d", w, h);
        snprintf(line[1], sizeof line[1], "needs %dx%d", TL_VIEW_MIN_COLS,
                 TL_VIEW_MIN_ROWS);
        snprintf(line[2], sizeof line[2], "(q quits)");
        for (int i = 0; i < 3; i++)
            tl_view_put(h / 2 - 1 + i, 0, w, line[i], 0, A_BOLD);
        curs_set(0);
        refresh();
        return;
    }
    ui->too_small = 0;
    title(ui, w);
    switch (ui->view) {
    case TL_VIEW_TASK:
    case TL_VIEW_QUEUE:
        drill_view(ui, w, h);
        break;
    case TL_VIEW_LANES:
        tl_pane_lanes(ui, (tl_box){1, 0, h - 3, w});
        break;
    case TL_VIEW_HELP:
        tl_pane_help(ui, (tl_box){1, 0, h - 3, w});
        break;
    default:
        main_view(ui, w, h);
        break;
    }
    status(ui, h - 2, w);
    bottom(ui, h - 1, w);
    refresh();
}
