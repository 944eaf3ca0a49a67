/* SPDX-License-Identifier: MIT */
/* walk.h -- one pass over a trace's events in seq order, shared by stats
 * and export: it turns events into running spans (steps) and blocked spans
 * and keeps per-task, per-queue and per-kind totals.  It reads the trace,
 * never writes it; the definitions of the spans are at the top of walk.c.
 */
#ifndef TL_CLI_WALK_H
#define TL_CLI_WALK_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#define WALK_NWAITS 16          /* tl_wait_kind 0..14, then "other" */

/* What a blocked queue task waited to do (walk_queue.wait_ns). */
enum { WALK_QGET, WALK_QPUT, WALK_QPEEK, WALK_NQ };

/* One row of the events table, with its run's loop. */
typedef struct walk_ev {
    int64_t seq;                /* events.seq */
    int64_t time;               /* ns since the trace's first event */
    int64_t a, b;               /* per kind */
    int kind;                   /* TL_EV_*, or -1: unknown to this build */
    int rawkind;                /* events.kind as stored */
    unsigned run;               /* events.run */
    unsigned loop;              /* events.loop (older traces: its run's) */
    unsigned task;              /* the task that acted, 0: the loop */
    unsigned object;            /* what it acted on */
    int okind;                  /* TL_OBJ_* */
    int flags;                  /* TL_EVF_* */
} walk_ev;

/* A task of the trace: from the tasks table, or first seen in an event. */
typedef struct walk_task {
    unsigned loop, id;          /* its key */
    unsigned parent;            /* the spawner's id, 0 for a root */
    char *name;                 /* "" if none; owned */
    char *end_state;            /* done, failed, cancelled; NULL: never
                                   ended; owned */
    char *message;              /* a failed task's message or NULL; owned */
    int64_t steps;              /* resume events */
    int64_t run_ns;             /* time in its steps (walk.c) */
    int64_t blocked_ns;         /* time from its blocks to their ends */
    int64_t wait_ns[WALK_NWAITS];   /* blocked_ns by tl_wait_kind */
    int blocked;                /* a block is open now */
    walk_ev block;              /* that block event (kept after it ends) */
    int stuck;                  /* still blocked when the trace ended */
    int64_t spawn_time;         /* its spawn event's time, if spawned by a
                                   task (not a root) */
    unsigned spawner;           /* that task's id, 0: none seen */
    int resumed;                /* it has had a first resume */
    int flow_pending;           /* export: spawn flow still to write */
} walk_task;

/* A queue of the trace. */
typedef struct walk_queue {
    unsigned loop, id;          /* its key */
    char *name;                 /* "" if none; owned */
    int64_t maxsize;            /* 0: unbounded */
    int closed;                 /* it has a close event (or close_seq) */
    int64_t puts, gets, peeks;  /* queue_put/get/peek events */
    int64_t peak;               /* the largest length after a put or get */
    int64_t wait_ns[WALK_NQ];   /* time tasks spent blocked on it */
    void *user;                 /* the caller's, never touched here */
} walk_queue;

/* A run of the trace. */
typedef struct walk_run {
    unsigned run, loop, root;   /* runs.run, .loop, .root */
    int has_rc;                 /* rc below is known (not NULL: died) */
    int64_t rc;                 /* what tl_loop_run returned */
} walk_run;

/* Called by walk_events; any may be NULL.  Pointers are valid only for the
 * call, except tasks and queues, which live until walk_fini. */
typedef struct walk_ops {
    /* Every event, after the walker has applied it to its tables. */
    void (*event)(void *ud, const walk_ev *ev);
    /* A step of t ended: it ran from start to end (ns); seq is the resume
     * event's. */
    void (*step)(void *ud, walk_task *t, int64_t start, int64_t end,
                 int64_t seq);
    /* A blocked span of t ended at end: block is the block event; by is
     * the event that ended it (a wake, or the task's end), NULL when
     * nothing did before the trace ended. */
    void (*blocked)(void *ud, walk_task *t, const walk_ev *block,
                    int64_t end, const walk_ev *by);
} walk_ops;

typedef struct walk_map walk_map;

/* The walker: tables loaded from the trace and totals from the pass. */
typedef struct walk {
    sqlite3 *db;                /* borrowed */
    const char *path;           /* the trace's path, for messages */
    walk_task **tasks;          /* in (loop, id) order after walk_events */
    size_t ntasks;
    walk_queue **queues;        /* in (loop, id) order */
    size_t nqueues;
    walk_run *runs;             /* in run order */
    size_t nruns;
    unsigned nloops;            /* distinct loops among the runs */
    char **kind_names;          /* by stored kind; NULL where none */
    int *kind_map;              /* stored kind -> TL_EV_* or -1 */
    int64_t *kind_counts;       /* events per stored kind */
    size_t nkinds;              /* size of those three */
    int64_t unknown_kinds;      /* events whose kind is not in kinds */
    char *wait_names[WALK_NWAITS];  /* from the waits table; owned */
    char *program;              /* meta program, or NULL */
    int64_t nevents;            /* events read */
    int64_t last_time;          /* the last event's time */
    walk_map *task_map;         /* (loop, id) -> tasks[] */
    walk_map *queue_map;        /* (loop, id) -> queues[] */
    walk_map *run_map;          /* run -> runs[] */
    walk_map *sync_map;         /* (loop, id) -> a sync object's name */
    struct walk_loop **loops;   /* per-loop state of the pass */
    size_t nloopst;
    walk_map *loop_map;         /* loop -> loops[] */
    struct walk_loop *lcache;   /* the last event's loop */
    char err[512];              /* the last error: "<path>: <problem>" */
} walk;

/* Loads the trace's tables (tasks, queues, syncs, runs, kinds, waits,
 * meta) from db (borrowed; path names it in messages).  0, or -1 with
 * w->err set; walk_fini is needed either way. */
int walk_init(walk *w, sqlite3 *db, const char *path);

/* Reads every event in seq order through one prepared statement, keeps
 * the totals and calls ops (may be NULL) as spans end.  0, or -1 with
 * w->err set. */
int walk_events(walk *w, const walk_ops *ops, void *ud);

/* Frees what walk_init and walk_events allocated (not the db). */
void walk_fini(walk *w);

/* The task or queue with this key, or NULL. */
walk_task *walk_task_find(walk *w, unsigned loop, unsigned id);
walk_queue *walk_queue_find(walk *w, unsigned loop, unsigned id);

/* "get", "join", ...: a tl_wait_kind's name in the trace; "?" if none. */
const char *walk_wait_name(const walk *w, int64_t wait);

/* The stored kind's name, or NULL. */
const char *walk_kind_name(const walk *w, int rawkind);

/* Writes what an event's (okind, object) names into buf, the way a
 * person reads it: "q2 parsed" (queue), "t5 sink" (task), "s3" (socket),
 * "#1 db" (flag, lock, cond or latch: the wait kind says which); "" for
 * no object.  Always NUL-terminates when len > 0. */
void walk_object_name(walk *w, unsigned loop, int okind, unsigned object,
                      char *buf, size_t len);

/* Writes s as a JSON string (quotes included): escapes what JSON needs
 * and replaces bytes that are not UTF-8 with U+FFFD, so the output always
 * parses.  NULL is written as null. */
void walk_json_str(FILE *f, const char *s);

#endif /* TL_CLI_WALK_H */
