/* SPDX-License-Identifier: MIT */
/* model.h -- what the TUI shows, without drawing it: a trace opened
 * read-only, a cursor over its events seen through a filter, the page of
 * rows around the cursor, search, jumps, swimlanes, and the state of the
 * run at the cursor.  No curses here; the view (view.c) draws it.
 *
 * Memory follows the screen, not the trace: every query reads a range of
 * seq with a LIMIT, and the state at the cursor comes from the nearest
 * checkpoint plus the events since (instrument/state.h).  What is loaded
 * whole is the per-object tables (tasks, queues, sync objects, kinds).
 * The cursor is always an event that passes the filter.
 */
#ifndef TL_TUI_MODEL_H
#define TL_TUI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

typedef struct tl_model tl_model;

/* One row of the event list. */
typedef struct tl_model_row {
    int64_t seq;                /* events.seq */
    int64_t time;               /* ns since the trace's first event */
    uint32_t loop;              /* the loop it happened in */
    uint32_t task;              /* the task it is about, 0: the loop */
    int kind;                   /* events.kind (TL_EV_*) */
    int okind;                  /* TL_OBJ_* */
    uint32_t object;            /* its id, 0: none */
    int64_t a, b;               /* per kind */
    int flags;                  /* TL_EVF_* */
    char task_name[40];         /* the task's name, "loop" for task 0 */
    char kind_name[24];         /* "queue_put", ... */
    char object_name[48];       /* "q2 parsed", "t5 sink", "s3", "#1 db" */
    char detail[160];           /* the event_log view's detail column */
} tl_model_row;

/* What the event list shows: the conjunction of what is set. */
typedef struct tl_model_filter {
    uint32_t task_loop, task;   /* events of this task (task = 0: any) */
    uint32_t queue_loop, queue; /* events on this queue (queue = 0: any) */
    uint64_t kinds;             /* TL_EVMASK bits of kinds; 0: any */
} tl_model_filter;

/* A task of the trace, from its tasks table. */
typedef struct tl_model_task {
    uint32_t loop, id;          /* key */
    uint32_t parent;            /* spawner, 0 for a root */
    int64_t spawn_seq, end_seq; /* 0: none */
    int64_t last_seq;           /* its last event as the actor; 0: unknown
                                   (a trace of schema version 1) */
    char *name;                 /* "" if none; owned by the model */
    const char *end_state;      /* done, failed, cancelled; NULL: never */
    char *message;              /* a failed task's message, or NULL */
} tl_model_task;

/* A queue of the trace, from its queues table. */
typedef struct tl_model_queue {
    uint32_t loop, id;          /* key */
    int64_t maxsize;            /* 0: unbounded */
    int64_t new_seq, close_seq; /* close_seq 0: never closed */
    char *name;                 /* "" if none; owned by the model */
} tl_model_queue;

/* The state of the run just after the cursor's event. */
typedef struct tl_model_snap {
    int64_t seq;                /* the cursor */
    int64_t time;               /* ns at that seq */
    const tl_st_task *tasks;    /* every task spawned so far, (loop, id) */
    size_t ntasks;
    const tl_st_queue *queues;  /* every queue created so far */
    size_t nqueues;
    char **why;                 /* tl_state_explain's lines, verbatim, the
                                   cycles and dead ends first */
    size_t nwhy;
    size_t ncycles;             /* how many of why[] name a cycle or a
                                   dead end (they are why[0..ncycles)) */
} tl_model_snap;

/* Swimlane cells (tl_model_lanes). */
enum {
    TL_LANE_NONE,               /* not spawned yet, or ended */
    TL_LANE_READY,              /* runnable, waiting for its turn */
    TL_LANE_RUNNING,            /* ran in the column */
    TL_LANE_BLOCKED,            /* parked on a queue, join, lock, ... */
    TL_LANE_SLEEPING,           /* parked in tl_sleep */
    TL_LANE_ENDED,              /* returned or was cancelled (its column) */
    TL_LANE_FAILED              /* failed (its column) */
};

/* ---- opening ------------------------------------------------------------ */

/* Opens the trace at path read-only (tl_trace_open: recovers a dead
 * recorder's journal, refuses what is not a trace or is still being
 * written) and puts the cursor on its deadlock if it has one, else on
 * its first event.  0, or -1 with a one-line message naming the file in
 * err; a trace without events is refused too. */
int tl_model_open(tl_model **out, const char *path, char *err, size_t len);
void tl_model_close(tl_model *m);

/* The trace: its path (borrowed from the caller of open), the program
 * it recorded ("" if unknown), its first and last seq, how many loops. */
const char *tl_model_path(const tl_model *m);
const char *tl_model_program(const tl_model *m);
int64_t tl_model_first(const tl_model *m);
int64_t tl_model_last(const tl_model *m);
unsigned tl_model_nloops(const tl_model *m);
/* Tasks that failed; the longest task (queues: 1) name, in bytes.  Known
 * at open, so a frame does not go through every task to say them. */
size_t tl_model_nfailed(const tl_model *m);
size_t tl_model_name_max(const tl_model *m, int queues);
/* The seq of the trace's last deadlock event, 0 if none. */
int64_t tl_model_deadlock_seq(const tl_model *m);

/* ---- the cursor and the page -------------------------------------------- */

int64_t tl_model_cursor(const tl_model *m);
/* The number of rows the list shows (at least 1).  The page is kept so
 * that the cursor stays on it. */
void tl_model_set_height(tl_model *m, int height);
/* The page: up to height rows from the top of the list, and the index of
 * the cursor's row in it.  The rows are the model's, valid until the next
 * call that moves the cursor or changes the filter.  How many rows. */
size_t tl_model_rows(tl_model *m, const tl_model_row **rows, size_t *cursor);
/* The cursor's own row (NULL on a read error). */
const tl_model_row *tl_model_row_at_cursor(tl_model *m);

/* Moves the cursor n rows down (n < 0: up) through the filter, stopping
 * at the ends; a move of a page or more scrolls the page with it.
 * 1 moved, 0 already at that end. */
int tl_model_move(tl_model *m, int n);
/* To the first or last row. 1 moved, 0 already there. */
int tl_model_home(tl_model *m);
int tl_model_end(tl_model *m);
/* To seq, or the nearest row after it that passes the filter (else
 * before).  1 moved, 0 not (nothing passes, or already there). */
int tl_model_goto(tl_model *m, int64_t seq);

/* ---- jumps (1 moved, 0 nothing there) ----------------------------------- */

/* The first task_failed of the trace (tasks table); it also clears a
 * filter that hides it.  The next deadlock after the cursor, wrapping. */
int tl_model_first_failure(tl_model *m);
int tl_model_next_deadlock(tl_model *m);

/* ---- filter ------------------------------------------------------------- */

void tl_model_get_filter(const tl_model *m, tl_model_filter *f);
/* Sets the filter and moves the cursor to the nearest event that passes
 * it.  0; -1 if no event passes it (the filter is left as it was). */
int tl_model_set_filter(tl_model *m, const tl_model_filter *f);
/* Adds to *f what text names: "task 3", "t sink", "queue out", "q2",
 * "kind block", "k socket" (every kind whose name starts so), or a bare
 * name tried as a task, a queue and a kind.  An empty text, "none" or
 * "clear" clears *f.  Ids are in the cursor's loop ("task 2/3": loop 2).
 * 0, or -1 with a one-line message in err (*f unchanged). */
int tl_model_filter_parse(tl_model *m, const char *text, tl_model_filter *f,
                          char *err, size_t len);
/* "task 5 sink, kind block" or "none", into buf. */
void tl_model_filter_text(const tl_model *m, const tl_model_filter *f,
                          char *buf, size_t len);

/* ---- search and scans ---------------------------------------------------- */

/* Sets the pattern: a case-insensitive part of a task's name, a kind's
 * name, an object's name (queue, task, sync object) or a failed task's
 * message.  0, or -1 with a message when the trace names nothing so. */
int tl_model_search_set(tl_model *m, const char *pattern, char *err,
                        size_t len);
const char *tl_model_search_pattern(const tl_model *m);

/* A scan looks, from the cursor and through the filter, for the next
 * (dir > 0) or previous event that matches the search pattern (wrapping
 * once around the trace), or that is the cursor's task's, or on the
 * cursor event's queue.  It reads the trace in chunks of seq, so that
 * the caller can keep the screen alive between them. */
enum { TL_SCAN_SEARCH, TL_SCAN_TASK, TL_SCAN_QUEUE };
/* 0; -1 when there is nothing to look for (no pattern; the cursor's
 * event is not on a queue). */
int tl_model_scan_start(tl_model *m, int what, int dir);
/* Looks at up to budget more events.  1 found (the cursor is on it), 0
 * not done yet, -1 nothing there.  *wrapped: the match is past an end. */
int tl_model_scan_step(tl_model *m, int64_t budget, int *wrapped);
/* How far the scan has looked, in events, and how far it can. */
void tl_model_scan_progress(const tl_model *m, int64_t *done,
                            int64_t *total);
/* Whole scans at once.  Search: 1 found, -1 not.  The previous or next
 * event of the cursor's task; operation on the cursor event's queue:
 * 1 moved, 0 none (same_queue: -1 when the event is not on a queue). */
int tl_model_search(tl_model *m, int dir, int *wrapped);
int tl_model_same_task(tl_model *m, int dir);
int tl_model_same_queue(tl_model *m, int dir);

/* ---- state at the cursor ------------------------------------------------ */

/* The state after the cursor's event, rebuilt when the cursor moved.
 * NULL when the state cannot be rebuilt.  Valid until the cursor moves. */
const tl_model_snap *tl_model_snap_get(tl_model *m);
/* What a task is doing at the snap, in words: state "blocked", what
 * "get(q3 "out")" or "join(task 5 "sink")" (as tl_state_explain says
 * it), *blocked_ns how long (else -1); or
 * "sleeping", "until 0.501200 s"; "failed", its message; "ready",
 * "running", "done", "cancelled" with what "". */
void tl_model_task_doing(tl_model *m, const tl_st_task *t, char *state,
                         size_t slen, char *what, size_t wlen,
                         int64_t *blocked_ns);
/* The tasks blocked at the snap getting or peeking (put = 0) or putting
 * (put = 1) on queue q, into ids (at most cap).  How many there are. */
size_t tl_model_queue_waiters(tl_model *m, const tl_st_queue *q, int put,
                              uint32_t *ids, size_t cap);

/* ---- the trace's objects ------------------------------------------------ */

const tl_model_task *tl_model_find_task(const tl_model *m, uint32_t loop,
                                   uint32_t id);
const tl_model_queue *tl_model_find_queue(const tl_model *m, uint32_t loop,
                                     uint32_t id);
/* Every task, every queue in (loop, id) order; how many. */
size_t tl_model_tasks(const tl_model *m, const tl_model_task **out);
size_t tl_model_queues(const tl_model *m, const tl_model_queue **out);
/* The task's children in the trace, into ids (at most cap); how many. */
size_t tl_model_children(const tl_model *m, uint32_t loop, uint32_t id,
                         uint32_t *ids, size_t cap);
/* The name of a kind in this trace, "?" if unknown. */
const char *tl_model_kind_name(const tl_model *m, int kind);

/* ---- swimlanes ---------------------------------------------------------- */

/* The states of lanes [lane0, lane0 + nlanes) (tasks in tl_model_tasks
 * order) over ncols columns of zoom events each, the first column
 * starting at seq first: cells[lane * ncols + col] = TL_LANE_*.  A column
 * shows the state at its last event, and RUNNING if the task ran in it
 * (for zooms above TL_MODEL_LANE_EXACT the state is sampled at the
 * column's end only).  0, or -1 on a read error. */
#define TL_MODEL_LANE_EXACT 512   /* a screen replays up to ~50k events */
int tl_model_lanes(tl_model *m, int64_t first, int64_t zoom, size_t ncols,
                   size_t lane0, size_t nlanes, unsigned char *cells);
/* The zoom after (dir > 0: more events per column) or before zoom. */
int64_t tl_model_lane_zoom(int64_t zoom, int dir);
/* A first column start for zoom (aligned to checkpoints when sampled). */
int64_t tl_model_lane_align(int64_t first, int64_t zoom);

/* ---- text --------------------------------------------------------------- */

/* "950 ns", "12.3 us", "1.20 ms", "3.001 s" into buf. */
const char *tl_model_dur(int64_t ns, char *buf, size_t len);

#endif /* TL_TUI_MODEL_H */
