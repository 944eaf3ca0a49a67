/* SPDX-License-Identifier: MIT */
/* keys.c -- the key table: each key names an action; each action changes
 * the model or the UI state and returns TL_UI_REDRAW and/or TL_UI_QUIT.
 * No curses (the view translates its keys into TL_KEY_*), no SQL (the
 * model answers).  The help screen is this table, so it lists every key.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

typedef int (*action_fn)(tl_ui *ui, int dir);

typedef struct keyarg {         /* a key and what it passes its action */
    int key;                    /* TL_KEY_* or a character; 0 ends */
    int dir;                    /* 1 forward, -1 back (or unused) */
} keyarg;

typedef struct binding {
    keyarg k[6];                /* the keys bound */
    const char *keys;           /* as the help shows them */
    action_fn fn;               /* what they do */
    const char *help;           /* one line for the help screen */
} binding;

void
tl_keys_say(tl_ui *ui, int error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ui->msg, sizeof ui->msg, fmt, ap);
    va_end(ap);
    ui->msg_error = error;
}

/* "task 5 sink" for the cursor's task into buf. */
static const char *
cursor_task(tl_ui *ui, char *buf, size_t len)
{
    const tl_model_row *r = tl_model_row_at_cursor(ui->m);

    if (!r)
        snprintf(buf, len, "?");
    else if (!r->task)
        snprintf(buf, len, "the loop");
    else
        snprintf(buf, len, "task %u %s", r->task, r->task_name);
    return buf;
}

/* ---- moving ------------------------------------------------------------- */

/* The count of rows in the focused pane of the main view, for clamping;
 * the why pane's lines are counted (and clamped) by the view. */
static size_t
pane_count(tl_ui *ui)
{
    const tl_model_snap *s = tl_model_snap_get(ui->m);

    if (!s)
        return 0;
    if (ui->focus == TL_PANE_TASKS)
        return s->ntasks;
    if (ui->focus == TL_PANE_QUEUES)
        return s->nqueues;
    return (size_t)-1 / 2;
}

/* Moves the selection of the focused pane, the help or the lanes by n. */
static int
move_sel(size_t *sel, long n, size_t count)
{
    long v = (long)*sel + n;

    if (v < 0)
        v = 0;
    if (count && (size_t)v >= count)
        v = (long)count - 1;
    *sel = (size_t)v;
    return TL_UI_REDRAW;
}

static int
in_pane(tl_ui *ui)
{
    return ui->view == TL_VIEW_MAIN && ui->focus != TL_PANE_EVENTS;
}

static int
move(tl_ui *ui, long n)
{
    if (ui->view == TL_VIEW_HELP)
        return move_sel(&ui->help_top, n, 0);
    if (in_pane(ui))
        return move_sel(&ui->sel[ui->focus], n, pane_count(ui));
    if (!tl_model_move(ui->m, (int)n))
        tl_keys_say(ui, 0, n > 0 ? "at the last event%s" :
                    "at the first event%s", ui->view == TL_VIEW_MAIN ? ""
                                                      : " of this view");
    return TL_UI_REDRAW;
}

static int
act_updown(tl_ui *ui, int dir)
{
    if (ui->view == TL_VIEW_LANES)
        return move_sel(&ui->lane_sel, dir, 0);
    return move(ui, dir);
}

static int
page(tl_ui *ui)
{
    int n = ui->view == TL_VIEW_HELP ? ui->help_rows
            : in_pane(ui)            ? ui->pane_rows[ui->focus]
                                     : ui->list_rows;

    return n > 1 ? n - (ui->view == TL_VIEW_MAIN ? 0 : 1) : 1;
}

static int
act_page(tl_ui *ui, int dir)
{
    if (ui->view == TL_VIEW_LANES) {
        tl_model_goto(ui->m, tl_model_cursor(ui->m) +
                                 dir * ui->lane_zoom * (ui->lane_cols / 2));
        return TL_UI_REDRAW;
    }
    return move(ui, dir * page(ui));
}

static int
act_ends(tl_ui *ui, int dir)
{
    if (ui->view == TL_VIEW_HELP)
        return dir < 0 ? (ui->help_top = 0, TL_UI_REDRAW)
                       : move_sel(&ui->help_top, 10000, 0);
    if (in_pane(ui))
        return dir < 0 ? (ui->sel[ui->focus] = 0, TL_UI_REDRAW)
                       : move_sel(&ui->sel[ui->focus], 1L << 30,
                                  pane_count(ui));
    if (dir < 0)
        tl_model_home(ui->m);
    else
        tl_model_end(ui->m);
    return TL_UI_REDRAW;
}

/* Swimlanes: one column back or forward, the cursor with it. */
static int
act_lane_step(tl_ui *ui, int dir)
{
    int64_t cur = tl_model_cursor(ui->m), z = ui->lane_zoom ? ui->lane_zoom
                                                            : 1;

    if (ui->view != TL_VIEW_LANES) {
        tl_keys_say(ui, 0, "h and l move in the swimlanes (s)");
        return TL_UI_REDRAW;
    }
    if (z == 1)
        tl_model_move(ui->m, dir);
    else
        tl_model_goto(ui->m, cur + dir * z);
    return TL_UI_REDRAW;
}

static int
act_zoom(tl_ui *ui, int dir)
{
    int64_t n = tl_model_last(ui->m) - tl_model_first(ui->m) + 1, z;

    if (ui->view != TL_VIEW_LANES) {
        tl_keys_say(ui, 0, "+ and - zoom the swimlanes (s)");
        return TL_UI_REDRAW;
    }
    z = tl_model_lane_zoom(ui->lane_zoom ? ui->lane_zoom : 1, dir);
    if (dir > 0 && ui->lane_zoom * ui->lane_cols >= n)
        z = ui->lane_zoom;      /* the whole trace fits already */
    ui->lane_zoom = z;
    ui->lane_first = 0;         /* recentre on the cursor */
    tl_keys_say(ui, 0, "%lld event%s a column%s", (long long)z,
                z == 1 ? "" : "s",
                z > TL_MODEL_LANE_EXACT ? " (sampled at each column's end)"
                                        : "");
    return TL_UI_REDRAW;
}

/* ---- prompts ------------------------------------------------------------ */

static int
prompt(tl_ui *ui, int which)
{
    ui->prompt = which;
    ui->ninput = 0;
    ui->input[0] = 0;
    ui->msg[0] = 0;
    return TL_UI_REDRAW;
}

static int
act_search(tl_ui *ui, int dir)
{
    (void)dir;
    return prompt(ui, TL_PROMPT_SEARCH);
}

static int
act_goto(tl_ui *ui, int dir)
{
    (void)dir;
    return prompt(ui, TL_PROMPT_GOTO);
}

/* Starts a scan (tui.c runs it in slices); what it looks for, for the
 * messages, in ui->scan_what. */
static int
scan(tl_ui *ui, int what, int dir, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
scan(tl_ui *ui, int what, int dir, const char *fmt, ...)
{
    va_list ap;

    if (tl_model_scan_start(ui->m, what, dir) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ui->scan_what, sizeof ui->scan_what, fmt, ap);
    va_end(ap);
    ui->scanning = what + 1;
    if (what == TL_SCAN_SEARCH)
        tl_keys_say(ui, 0, "searching for \"%s\"...", ui->scan_what);
    else
        tl_keys_say(ui, 0, "looking for the %s...", ui->scan_what);
    return 0;
}

static int
search_again(tl_ui *ui, int dir)
{
    const char *p = tl_model_search_pattern(ui->m);

    if (!p)
        tl_keys_say(ui, 1, "no search yet: / starts one");
    else
        scan(ui, TL_SCAN_SEARCH, dir, "%s", p);
    return TL_UI_REDRAW;
}

static int
act_again(tl_ui *ui, int dir)
{
    return search_again(ui, dir);
}

static void
say_filter(tl_ui *ui)
{
    tl_model_filter f;
    char t[200];

    tl_model_get_filter(ui->m, &f);
    tl_model_filter_text(ui->m, &f, t, sizeof t);
    tl_keys_say(ui, 0, "filter: %s", t);
}

/* f prompts for a filter, F clears it. */
static int
act_filter(tl_ui *ui, int dir)
{
    tl_model_filter none = {0};

    if (dir > 0)
        return prompt(ui, TL_PROMPT_FILTER);
    tl_model_set_filter(ui->m, &none);
    say_filter(ui);
    return TL_UI_REDRAW;
}

static void
submit_filter(tl_ui *ui)
{
    tl_model_filter f;
    char err[256], t[200];

    tl_model_get_filter(ui->m, &f);
    if (tl_model_filter_parse(ui->m, ui->input, &f, err, sizeof err) != 0) {
        tl_keys_say(ui, 1, "%s", err);
        return;
    }
    if (tl_model_set_filter(ui->m, &f) != 0) {
        tl_model_filter_text(ui->m, &f, t, sizeof t);
        tl_keys_say(ui, 1, "no event matches %s: filter unchanged", t);
        return;
    }
    say_filter(ui);
}

static void
submit_goto(tl_ui *ui)
{
    const char *s = ui->input;
    char *end;
    long long seq;

    while (*s == ' ')
        s++;
    if (!strncmp(s, "seq", 3))
        s += 3;
    seq = strtoll(s, &end, 10);
    while (*end == ' ')
        end++;
    if (end == s || *end || seq < 0) {
        tl_keys_say(ui, 1, "go to: type a seq, e.g. :%lld",
                    (long long)tl_model_last(ui->m));
        return;
    }
    tl_model_goto(ui->m, seq);
    if (tl_model_cursor(ui->m) != seq)
        tl_keys_say(ui, 0, "seq %lld %s: at seq %lld", seq,
                    seq > tl_model_last(ui->m) || seq < 1
                        ? "is not in the trace" : "is hidden by the filter",
                    (long long)tl_model_cursor(ui->m));
}

static void
submit(tl_ui *ui)
{
    char err[256];
    int which = ui->prompt;

    ui->prompt = TL_PROMPT_NONE;
    if (which == TL_PROMPT_FILTER) {
        submit_filter(ui);
    } else if (which == TL_PROMPT_GOTO) {
        submit_goto(ui);
    } else if (which == TL_PROMPT_SEARCH) {
        if (!ui->ninput) {
            search_again(ui, 1);    /* "/" Enter: the last pattern again */
            return;
        }
        if (tl_model_search_set(ui->m, ui->input, err, sizeof err) != 0) {
            tl_keys_say(ui, 1, "%s", err);
            return;
        }
        search_again(ui, 1);
    }
}

static int
prompt_key(tl_ui *ui, int key)
{
    switch (key) {
    case TL_KEY_ENTER:
    case '\r':
        submit(ui);
        return TL_UI_REDRAW;
    case TL_KEY_ESC:
    case TL_KEY_CTRL('c'):
    case TL_KEY_CTRL('g'):
        ui->prompt = TL_PROMPT_NONE;
        return TL_UI_REDRAW;
    case TL_KEY_BACKSPACE:
    case 127:
    case TL_KEY_CTRL('h'):
        if (ui->ninput)
            ui->input[--ui->ninput] = 0;
        else
            ui->prompt = TL_PROMPT_NONE;    /* as less and vim do */
        return TL_UI_REDRAW;
    case TL_KEY_CTRL('u'):
        ui->ninput = 0;
        ui->input[0] = 0;
        return TL_UI_REDRAW;
    case TL_KEY_RESIZE:
        return TL_UI_REDRAW;
    }
    if (key >= 0x20 && key < 0x100 && key != 0x7f &&
        ui->ninput + 1 < sizeof ui->input) {
        ui->input[ui->ninput++] = (char)key;
        ui->input[ui->ninput] = 0;
    }
    return TL_UI_REDRAW;
}

/* ---- jumps -------------------------------------------------------------- */

static int
act_task_step(tl_ui *ui, int dir)
{
    char t[80];

    scan(ui, TL_SCAN_TASK, dir, "%s event of %s",
         dir > 0 ? "later" : "earlier", cursor_task(ui, t, sizeof t));
    return TL_UI_REDRAW;
}

static int
act_queue_step(tl_ui *ui, int dir)
{
    const tl_model_row *r = tl_model_row_at_cursor(ui->m);
    char q[64];

    snprintf(q, sizeof q, "%s", r ? r->object_name : "");
    if (scan(ui, TL_SCAN_QUEUE, dir, "%s operation on %s",
             dir > 0 ? "later" : "earlier", q) != 0)
        tl_keys_say(ui, 0, "the event at the cursor is not on a queue");
    return TL_UI_REDRAW;
}

static int
act_failure(tl_ui *ui, int dir)
{
    (void)dir;
    const tl_model_row *r;
    const tl_model_task *t;

    if (!tl_model_first_failure(ui->m)) {
        tl_keys_say(ui, 0, "no task failed in this trace");
        return TL_UI_REDRAW;
    }
    r = tl_model_row_at_cursor(ui->m);
    t = r ? tl_model_find_task(ui->m, r->loop, r->task) : NULL;
    tl_keys_say(ui, 1, "first failure: task %u %s failed: %s",
                r ? r->task : 0, t ? t->name : "",
                t && t->message ? t->message : "");
    return TL_UI_REDRAW;
}

static int
act_deadlock(tl_ui *ui, int dir)
{
    (void)dir;
    const tl_model_row *r;

    if (!tl_model_next_deadlock(ui->m)) {
        tl_keys_say(ui, 0, "no deadlock in this trace");
        return TL_UI_REDRAW;
    }
    r = tl_model_row_at_cursor(ui->m);
    tl_keys_say(ui, 1, "deadlock at seq %lld: %s", (long long)(r ? r->seq : 0),
                r ? r->detail : "");
    return TL_UI_REDRAW;
}

/* ---- panes and views ---------------------------------------------------- */

static int
act_focus(tl_ui *ui, int dir)
{
    if (ui->view != TL_VIEW_MAIN) {
        tl_keys_say(ui, 0, "Tab moves between the panes of the main view "
                           "(Esc goes back to it)");
        return TL_UI_REDRAW;
    }
    ui->focus = (ui->focus + TL_NPANES + dir) % TL_NPANES;
    return TL_UI_REDRAW;
}

/* Opens view (pushing the current one), for task or queue (loop, id)
 * with filter f; keeps the cursor where it is. */
static int
push(tl_ui *ui, int view, uint32_t loop, uint32_t id,
     const tl_model_filter *f)
{
    tl_ui_frame *fr;

    if (ui->depth == TL_UI_DEPTH) {
        tl_keys_say(ui, 1, "too deep: Esc goes back");
        return TL_UI_REDRAW;
    }
    fr = &ui->stack[ui->depth];
    fr->view = ui->view;
    fr->focus = ui->focus;
    fr->loop = ui->loop;
    fr->id = ui->id;
    tl_model_get_filter(ui->m, &fr->filter);
    if (f && tl_model_set_filter(ui->m, f) != 0) {
        tl_keys_say(ui, 1, "no event to show");
        return TL_UI_REDRAW;
    }
    ui->depth++;
    ui->view = view;
    ui->loop = loop;
    ui->id = id;
    ui->msg[0] = 0;
    return TL_UI_REDRAW;
}

static int
drill_task(tl_ui *ui, uint32_t loop, uint32_t id)
{
    tl_model_filter f = {0};

    f.task_loop = loop;
    f.task = id;
    return push(ui, TL_VIEW_TASK, loop, id, &f);
}

static int
drill_queue(tl_ui *ui, uint32_t loop, uint32_t id)
{
    tl_model_filter f = {0};

    f.queue_loop = loop;
    f.queue = id;
    return push(ui, TL_VIEW_QUEUE, loop, id, &f);
}

/* Enter on an event: into its queue or task (the one the view is not
 * about already). */
static int
drill_event(tl_ui *ui)
{
    const tl_model_row *r = tl_model_row_at_cursor(ui->m);

    if (!r)
        return TL_UI_REDRAW;
    if (ui->view == TL_VIEW_MAIN && r->task)
        return drill_task(ui, r->loop, r->task);
    if (r->okind == TL_OBJ_QUEUE &&
        !(ui->view == TL_VIEW_QUEUE && ui->id == r->object))
        return drill_queue(ui, r->loop, r->object);
    if (r->okind == TL_OBJ_TASK &&
        !(ui->view == TL_VIEW_TASK && ui->id == r->object))
        return drill_task(ui, r->loop, r->object);
    if (r->task && !(ui->view == TL_VIEW_TASK && ui->id == r->task))
        return drill_task(ui, r->loop, r->task);
    tl_keys_say(ui, 0, "nothing to drill into from this event");
    return TL_UI_REDRAW;
}

static int
act_enter(tl_ui *ui, int dir)
{
    (void)dir;
    const tl_model_snap *s = tl_model_snap_get(ui->m);
    const tl_model_task *t;

    switch (ui->view) {
    case TL_VIEW_HELP:
        return TL_UI_REDRAW;
    case TL_VIEW_LANES:
        if (tl_model_tasks(ui->m, &t) > ui->lane_sel)
            return drill_task(ui, t[ui->lane_sel].loop, t[ui->lane_sel].id);
        return TL_UI_REDRAW;
    case TL_VIEW_MAIN:
        if (ui->focus == TL_PANE_TASKS && s && ui->sel[ui->focus] < s->ntasks)
            return drill_task(ui, s->tasks[ui->sel[ui->focus]].loop,
                              s->tasks[ui->sel[ui->focus]].id);
        if (ui->focus == TL_PANE_QUEUES && s &&
            ui->sel[ui->focus] < s->nqueues)
            return drill_queue(ui, s->queues[ui->sel[ui->focus]].loop,
                               s->queues[ui->sel[ui->focus]].id);
        if (ui->focus == TL_PANE_WHY) {
            tl_keys_say(ui, 0, "Enter drills into events, tasks and queues");
            return TL_UI_REDRAW;
        }
        break;
    }
    return drill_event(ui);
}

static int
act_back(tl_ui *ui, int dir)
{
    (void)dir;
    tl_ui_frame *fr;

    if (!ui->depth) {
        if (!ui->msg[0] && ui->view == TL_VIEW_MAIN &&
            ui->focus != TL_PANE_EVENTS)
            ui->focus = TL_PANE_EVENTS;
        ui->msg[0] = 0;
        return TL_UI_REDRAW;
    }
    fr = &ui->stack[--ui->depth];
    ui->view = fr->view;
    ui->focus = fr->focus;
    ui->loop = fr->loop;
    ui->id = fr->id;
    tl_model_set_filter(ui->m, &fr->filter);
    ui->msg[0] = 0;
    return TL_UI_REDRAW;
}

static int
act_lanes(tl_ui *ui, int dir)
{
    (void)dir;
    if (ui->view == TL_VIEW_LANES)
        return act_back(ui, 0);
    ui->lane_first = 0;         /* centre on the cursor */
    return push(ui, TL_VIEW_LANES, 0, 0, NULL);
}

static int
act_help(tl_ui *ui, int dir)
{
    (void)dir;
    if (ui->view == TL_VIEW_HELP)
        return act_back(ui, 0);
    ui->help_top = 0;
    return push(ui, TL_VIEW_HELP, 0, 0, NULL);
}

static int
act_redraw(tl_ui *ui, int dir)
{
    (void)dir;
    (void)ui;
    return TL_UI_REDRAW;
}

static int
act_quit(tl_ui *ui, int dir)
{
    (void)dir;
    (void)ui;
    return TL_UI_QUIT;
}

/* ---- the table ---------------------------------------------------------- */

static const binding bindings[] = {
    {{{'j', 1}, {TL_KEY_DOWN, 1}, {'k', -1}, {TL_KEY_UP, -1}}, "j k  Down Up",
     act_updown, "next / previous event (in a pane: row; swimlanes: lane)"},
    {{{TL_KEY_PGDN, 1}, {' ', 1}, {TL_KEY_CTRL('f'), 1}, {TL_KEY_PGUP, -1},
      {'b', -1}, {TL_KEY_CTRL('b'), -1}}, "PgDn PgUp  Spc b",
     act_page, "a page down / up (also ^F ^B)"},
    {{{'g', -1}, {TL_KEY_HOME, -1}, {'<', -1}, {'G', 1}, {TL_KEY_END, 1},
      {'>', 1}}, "g G  Home End",
     act_ends, "the first / last event (through the filter)"},
    {{{':', 0}}, ":", act_goto, "go to a seq: type it, then Enter"},
    {{{'/', 0}}, "/", act_search,
     "search task, kind and object names and failure messages"},
    {{{'n', 1}, {'N', -1}}, "n N", act_again,
     "the next / previous match of the search"},
    {{{'f', 1}, {'F', -1}}, "f F", act_filter,
     "filter by task, queue or kind (empty clears) / clear it"},
    {{{']', 1}, {'[', -1}}, "[ ]", act_task_step,
     "the previous / next step of the same task"},
    {{{'}', 1}, {'{', -1}}, "{ }", act_queue_step,
     "the previous / next operation on the same queue"},
    {{{'e', 0}}, "e", act_failure, "the first failure (a task that failed)"},
    {{{'d', 0}}, "d", act_deadlock, "the deadlock (the next one, if several)"},
    {{{TL_KEY_TAB, 1}, {TL_KEY_BTAB, -1}}, "Tab S-Tab", act_focus,
     "the next / previous pane: events, tasks, queues, why"},
    {{{TL_KEY_ENTER, 0}, {'\r', 0}}, "Enter", act_enter,
     "drill into a task or queue (the event's, or the pane's row)"},
    {{{TL_KEY_ESC, 0}}, "Esc", act_back,
     "back to the previous view; clear the message"},
    {{{'s', 0}}, "s", act_lanes,
     "swimlanes: one lane per task across the schedule"},
    {{{'l', 1}, {TL_KEY_RIGHT, 1}, {'h', -1}, {TL_KEY_LEFT, -1}},
     "h l  Left Right", act_lane_step,
     "swimlanes: one column back / forward"},
    {{{'+', -1}, {'=', -1}, {'-', 1}, {'_', 1}}, "+ -", act_zoom,
     "swimlanes: zoom in / out (fewer / more events a column)"},
    {{{'?', 0}}, "?", act_help, "this help (Esc or ? closes it)"},
    {{{TL_KEY_CTRL('l'), 0}}, "^L", act_redraw, "redraw the screen"},
    {{{'q', 0}}, "q", act_quit, "quit"},
};

const char *
tl_keys_help(size_t i, const char **keys)
{
    if (i >= sizeof bindings / sizeof *bindings)
        return NULL;
    *keys = bindings[i].keys;
    return bindings[i].help;
}

/* The actions the help screen takes: moving it, leaving it. */
static int
help_key(action_fn fn)
{
    static const action_fn ok[] = {act_updown, act_page, act_ends, act_back,
                                   act_help, act_quit, act_redraw};

    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (ok[i] == fn)
            return 1;
    return 0;
}

int
tl_keys_handle(tl_ui *ui, int key)
{
    if (key == TL_KEY_RESIZE)
        return TL_UI_REDRAW;
    if (ui->prompt)
        return prompt_key(ui, key);
    if (ui->too_small && key != 'q' && key != TL_KEY_CTRL('l'))
        return 0;
    if (ui->msg[0] && key != TL_KEY_ESC)
        ui->msg[0] = 0;
    for (size_t i = 0; i < sizeof bindings / sizeof *bindings; i++)
        for (int k = 0; k < 6 && bindings[i].k[k].key; k++)
            if (bindings[i].k[k].key == key)
                return ui->view != TL_VIEW_HELP || help_key(bindings[i].fn)
                           ? bindings[i].fn(ui, bindings[i].k[k].dir) : 0;
    if (key >= 0x20 && key < 0x7f)
        tl_keys_say(ui, 0, "'%c' does nothing here: ? lists the keys", key);
    return TL_UI_REDRAW;
}
