/* SPDX-License-Identifier: MIT */
/* tui.h -- the TUI's parts and what they share: the UI state (which view,
 * which pane has the focus, the prompt, the message), the key codes the
 * view hands to the key table, and the redraw/quit flags actions return.
 * model.c knows the trace (SQL, no curses); view.c and pane_*.c draw
 * (curses, no SQL); keys.c maps keys to named actions; tui.c runs the
 * loop: draw when flagged, read a key, dispatch, search in slices.
 */
#ifndef TL_TUI_H
#define TL_TUI_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* What an action asks of the loop. */
enum { TL_UI_REDRAW = 1, TL_UI_QUIT = 2 };

/* Keys, as the view hands them over: ASCII as is, the rest here. */
enum {
    TL_KEY_NONE = -1,           /* nothing within the timeout */
    TL_KEY_TAB = '\t',
    TL_KEY_ENTER = '\n',
    TL_KEY_ESC = 27,
    TL_KEY_UP = 0x1000,
    TL_KEY_DOWN,
    TL_KEY_LEFT,
    TL_KEY_RIGHT,
    TL_KEY_PGUP,
    TL_KEY_PGDN,
    TL_KEY_HOME,
    TL_KEY_END,
    TL_KEY_BTAB,                /* shift-tab */
    TL_KEY_BACKSPACE,
    TL_KEY_DEL,
    TL_KEY_RESIZE,              /* the terminal changed size */
    TL_KEY_SIGNAL               /* SIGINT, SIGTERM or SIGHUP arrived */
};
#define TL_KEY_CTRL(c) ((c) & 0x1f)

/* The views, one screen each. */
enum { TL_VIEW_MAIN, TL_VIEW_TASK, TL_VIEW_QUEUE, TL_VIEW_LANES,
       TL_VIEW_HELP };

/* The panes of the main view, in Tab order. */
enum { TL_PANE_EVENTS, TL_PANE_TASKS, TL_PANE_QUEUES, TL_PANE_WHY,
       TL_NPANES };

/* What the bottom line is reading. */
enum { TL_PROMPT_NONE, TL_PROMPT_SEARCH, TL_PROMPT_GOTO, TL_PROMPT_FILTER };

#define TL_UI_DEPTH 8           /* views Enter can stack before Esc */

typedef struct tl_ui_frame {    /* where Esc goes back to */
    int view;                   /* TL_VIEW_* */
    int focus;                  /* TL_PANE_* */
    uint32_t loop, id;          /* its task or queue */
    tl_model_filter filter;     /* the filter it had */
} tl_ui_frame;

typedef struct tl_ui {
    tl_model *m;                /* the trace (borrowed) */
    int view;                   /* TL_VIEW_* */
    int focus;                  /* TL_PANE_* in the main view */
    uint32_t loop, id;          /* the task or queue drilled into */
    tl_ui_frame stack[TL_UI_DEPTH]; /* Esc pops */
    int depth;
    size_t sel[TL_NPANES];      /* selected row (tasks, queues); first
                                   line shown (why) */
    int prompt;                 /* TL_PROMPT_* */
    char input[128];            /* what the prompt has read */
    size_t ninput;
    char msg[256];              /* one line for the bottom, "" none */
    int msg_error;              /* msg says something went wrong */
    int scanning;               /* TL_SCAN_* + 1 while a scan runs */
    char scan_what[128];        /* what it looks for, for messages */
    int64_t lane_first;         /* swimlanes: the first column's seq */
    int64_t lane_zoom;          /* events a column, 0: not chosen yet */
    size_t lane_sel;            /* the selected lane (a task) */
    size_t lane_top;            /* the first lane shown */
    size_t help_top;            /* the help screen's first line */
    /* Set by the view as it lays out a screen, read by the actions. */
    int list_rows;              /* rows of the event list */
    int pane_rows[TL_NPANES];   /* rows each pane shows */
    int lane_cols;              /* swimlane columns */
    int lane_rows;              /* lanes shown */
    int help_rows;              /* help lines shown */
    int too_small;              /* the terminal is below the minimum */
} tl_ui;

/* ---- keys.c ------------------------------------------------------------- */

/* Runs the action bound to key in the current view (or edits the prompt).
 * TL_UI_* flags. */
int tl_keys_handle(tl_ui *ui, int key);
/* One line of the help screen per binding; NULL past the end.  The text
 * is the key table's own, so the help lists every key. */
const char *tl_keys_help(size_t i, const char **keys);
/* Says where the cursor went after a jump, or why it did not. */
void tl_keys_say(tl_ui *ui, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- tui.c -------------------------------------------------------------- */

/* The UI's state for a model opened at its cursor (main view). */
void tl_ui_init(tl_ui *ui, tl_model *m);
/* Opens the trace at path and runs the TUI on the terminal until q or a
 * signal: 0 on q, 128 + the signal; 2 when the trace cannot be shown or
 * the terminal used (not a terminal, too small), err saying why in one
 * line. */
int tl_tui_run(const char *path, char *err, size_t len);

/* ---- view.c ------------------------------------------------------------- */

#define TL_VIEW_MIN_COLS 60     /* below this, the view says so */
#define TL_VIEW_MIN_ROWS 15

/* Takes the terminal (curses), colours unless NO_COLOR is set or the
 * terminal has none, and catches SIGINT, SIGTERM and SIGHUP so that every
 * exit path leaves the terminal as it was.  0, or -1 with err set. */
int tl_view_open(char *err, size_t len);
/* Gives the terminal back; safe to call twice, and from atexit. */
void tl_view_close(void);
/* The terminal's size. */
void tl_view_size(int *cols, int *rows);
/* Draws the whole screen for ui (and sets its layout fields). */
void tl_view_draw(tl_ui *ui);
/* The next key, waiting up to timeout_ms (-1: until one comes, though
 * signals still return TL_KEY_SIGNAL). */
int tl_view_key(int timeout_ms);
/* The signal that arrived, 0 none. */
int tl_view_signal(void);

/* ---- pane_*.c: what the view draws, one file per kind of pane ----------- */

typedef struct tl_box {         /* a rectangle of the screen */
    int y, x, h, w;
} tl_box;

void tl_pane_list(tl_ui *ui, tl_box b, int focused);
void tl_pane_list_header(tl_ui *ui, tl_box b);
void tl_pane_tasks(tl_ui *ui, const tl_model_snap *s, tl_box b, int focused);
void tl_pane_queues(tl_ui *ui, const tl_model_snap *s, tl_box b,
                    int focused);
/* How many screen lines the first upto why lines take at width w. */
int tl_pane_why_lines(const tl_model_snap *s, size_t upto, int w);
/* Draws the why lines from ui->sel[TL_PANE_WHY]; how many lines are left
 * below the box. */
int tl_pane_why(tl_ui *ui, const tl_model_snap *s, tl_box b);
void tl_pane_task_head(tl_ui *ui, const tl_model_snap *s, tl_box b);
void tl_pane_queue_head(tl_ui *ui, const tl_model_snap *s, tl_box b);
void tl_pane_lanes(tl_ui *ui, tl_box b);
void tl_pane_help(tl_ui *ui, tl_box b);

/* view.c's helpers for the panes. */
enum { TL_COLOR_NONE, TL_COLOR_GREEN, TL_COLOR_RED, TL_COLOR_YELLOW,
       TL_COLOR_CYAN, TL_COLOR_MAGENTA, TL_COLOR_BLUE, TL_COLOR_TITLE };
/* Writes s at (y, x), at most w columns, padded with spaces to w when
 * pad; attr is a curses attribute.  Returns the columns written. */
int tl_view_put(int y, int x, int w, const char *s, int pad, int attr);
/* The bytes of s that go on one line of w columns: up to the last space
 * that fits, else cut at w (never inside a UTF-8 sequence). */
size_t tl_view_wrap(const char *s, int w);
/* The curses attribute for a colour (0 when colour is off). */
int tl_view_color(int color);
/* A rule: "─ title ─────" across w columns at (y, x). */
void tl_view_rule(int y, int x, int w, const char *title, int focused);
/* The colour an event kind is drawn in. */
int tl_view_kind_color(int kind);

#endif /* TL_TUI_H */
