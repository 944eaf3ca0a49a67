/* SPDX-License-Identifier: MIT */
/* state.h -- the state of a recorded run at any seq, rebuilt from its
 * trace: every task (ready, running, blocked on what and since when,
 * ended how), every queue (length, head item, closed, who put and took so
 * far, who waits), every lock's owner, and the wait-for graph with its
 * cycles and dead ends explained in words.  No curses, no printing: the
 * TUI, `tapeloop deadlocks` and tests read it.
 *
 * The same state machine runs twice: at import, over every event, to
 * leave a checkpoint every TL_STATE_EVERY events: the state of the live
 * tasks (about 20 bytes each) and the queues -- in full every live / 2
 * events at most, so full ones cost at most ~40 bytes an event, and in
 * between as a delta from the last full one (the tasks that changed);
 * and when reading, from the nearest checkpoint at or before the seq
 * asked for, so a reader replays at most TL_STATE_EVERY events.
 */
#ifndef TL_STATE_H
#define TL_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "tapeloop.h"

#define TL_STATE_EVERY 4096     /* events between checkpoints */

typedef struct sqlite3 sqlite3;

enum { TL_ST_SLEEPING = 16 };   /* beside tl_task_state: blocked in sleep */

typedef struct tl_st_task {
    uint32_t loop, id;          /* identity */
    uint32_t parent;            /* spawner, 0 for a root */
    int state;                  /* tl_task_state, or TL_ST_SLEEPING */
    int wait;                   /* tl_wait_kind while blocked */
    int okind;                  /* TL_OBJ_* it waits on */
    uint32_t object;            /* its id */
    int64_t since;              /* blocked since (trace ns) */
    int64_t since_seq;          /* ... and seq */
    int64_t until;              /* sleeping: deadline (trace ns) */
    const char *name;           /* from the tasks table; "" if none */
    const char *message;        /* a failed task's message, or NULL */
} tl_st_task;

typedef struct tl_st_queue {
    uint32_t loop, id;
    int64_t maxsize;            /* 0 = unbounded */
    int64_t len;                /* items in it */
    uint64_t head;              /* the number of the item at its head
                                   (1 for the first); 0: not created */
    int closed;
    uint32_t *producers;        /* tasks that have put to it so far */
    size_t nproducers;
    uint32_t *consumers;        /* tasks that have taken from it so far */
    size_t nconsumers;
    const char *name;
} tl_st_queue;

typedef struct tl_state tl_state;

/* The state machine alone, for the importer: feed it every event, times
 * relative to origin (the absolute ns of the first event). */
tl_state *tl_state_new(void);
void tl_state_origin(tl_state *st, int64_t origin);
void tl_state_free(tl_state *st);
void tl_state_apply(tl_state *st, int64_t seq, int64_t time, uint32_t loop,
                    int kind, uint32_t task, int okind, uint32_t object,
                    int64_t a, int64_t b);
/* Serialises the state (ended tasks left out: the tasks table has them);
 * *len bytes, malloc'd (NULL on failure): in full at most every live / 2
 * events, else a delta over the last one saved (the live tasks that
 * changed since), unless that keeps more than half of them. */
void *tl_state_save(tl_state *st, size_t *len);

/* For readers: a state bound to a trace (borrowed db), at seq 0. */
int tl_state_open(tl_state **out, sqlite3 *db);
/* Moves to the state just after event seq (0: before any). 0 or -1. */
int tl_state_at(tl_state *st, int64_t seq);
/* The same, calling fn after each event it replays on the way (not those
 * a checkpoint stood for). */
typedef void (*tl_state_each_fn)(void *udata, int64_t seq, uint32_t loop,
                                 int kind, uint32_t task);
int tl_state_at_each(tl_state *st, int64_t seq, tl_state_each_fn fn,
                     void *udata);
int64_t tl_state_seq(const tl_state *st);
int64_t tl_state_time(const tl_state *st);      /* ns at that seq */
/* True at or after the trace's deadlock, or at its end: nothing more will
 * happen, so a queue nobody serves any more is a dead end. */
int tl_state_final(const tl_state *st);

/* Every task (queue) at the current seq.  The array stays valid until the
 * next call of the same function after a change of the state -- so
 * tl_state_explain's calls leave it alone -- or tl_state_at. */
size_t tl_state_tasks(const tl_state *st, const tl_st_task **out);
size_t tl_state_queues(const tl_state *st, const tl_st_queue **out);
/* From the last checkpoint at or before seq, without moving to it: the
 * state of each task ids[i] of loop that was alive there in states[i], -1
 * for the others (not spawned yet, or ended: the tasks table says which).
 * A sample: checkpoints lie every TL_STATE_EVERY events (in traces from
 * before deltas, further apart when many tasks live).  0, or -1 when
 * there is none (or it cannot be read). */
int tl_state_peek(tl_state *st, int64_t seq, uint32_t loop,
                  const uint32_t *ids, size_t n, int *states);
/* The seq of the last checkpoint at or before seq, 0 if none: what
 * tl_state_peek would read, found without reading it. */
int64_t tl_state_checkpoint_at(tl_state *st, int64_t seq);
/* One task's state (tl_task_state, TL_ST_SLEEPING), -1 if not spawned
 * (yet): no copy of every task, for a reader that wants a few. */
int tl_state_task_state(const tl_state *st, uint32_t loop, uint32_t id);
/* The owner of lock id in loop, 0 if free. */
uint32_t tl_state_lock_owner(const tl_state *st, uint32_t loop, uint32_t id);
/* The name of an object: queues, sync objects, "socket N", tasks. */
const char *tl_state_name(const tl_state *st, uint32_t loop, int okind,
                          uint32_t id);

/* The wait-for graph in words: one line per blocked task (what it waits
 * on, who could release it) -- at most max of them, then one saying how
 * many more, when max is not 0 -- then one line per cycle ("cycle: ..."),
 * then -- only where tl_state_final -- one line per queue whose producers
 * (or consumers) all ended, or never were.  Cycles and dead ends are
 * found among all the blocked tasks, whatever max.  Returns how many
 * lines (each malloc'd, in *lines, itself malloc'd); *ncycles says how
 * many cycles. */
size_t tl_state_explain(const tl_state *st, char ***lines, size_t *ncycles,
                        size_t max);
void tl_state_lines_free(char **lines, size_t n);

/* The seq of the trace's last deadlock event, 0 if none; -1 on error. */
int64_t tl_state_deadlock_seq(sqlite3 *db);

#endif /* TL_STATE_H */
