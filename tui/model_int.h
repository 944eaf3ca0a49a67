/* SPDX-License-Identifier: MIT */
/* model_int.h -- struct tl_model, shared by model.c (opening, paging,
 * jumps) and model_find.c (filters, search, state, swimlanes).  Not for
 * the view or the key table: they see model.h only.
 */
#ifndef TL_TUI_MODEL_INT_H
#define TL_TUI_MODEL_INT_H

#include <sqlite3.h>

#include "model.h"

#define TL_MODEL_FEW 256         /* a filter this few pass is kept whole */
#define TL_MODEL_WHY_MAX 1000    /* blocked tasks the why pane words; the
                                    rest are counted (tapeloop deadlocks
                                    lists them all) */

typedef struct tl__msync {      /* a flag, lock, cond or latch */
    uint32_t loop, id;          /* key */
    char *name;                 /* "" if none */
} tl__msync;

struct tl_model {
    sqlite3 *db;                /* the trace, read-only; owned */
    const char *path;           /* borrowed from the caller of open */
    char *program;              /* meta program's basename, "" if none */
    int64_t first, last;        /* the seq range of events */
    unsigned nloops;            /* loops in the trace */
    size_t nfailed;             /* tasks that failed */
    size_t name_max[2];         /* longest task, queue name */
    tl_model_task *tasks;       /* (loop, id) order */
    size_t ntasks;
    tl_model_queue *queues;     /* (loop, id) order */
    size_t nqueues;
    tl__msync *syncs;           /* (loop, id) order */
    size_t nsyncs;
    char **kinds;               /* kind names by number, NULL: none */
    size_t nkinds;
    int64_t *deadlocks;         /* seq of every deadlock event, ascending */
    size_t ndeadlocks;

    int v2;                     /* schema 2: tasks.last_seq, tasks.seqs */
    tl_model_filter filter;     /* what the list shows */
    char *fsql;                 /* the filter as an SQL condition */
    int64_t flo, fhi;           /* the seq range it can match: a bound of
                                   each statement, which SQLite seeks to */
    sqlite3_stmt *next;         /* seq > ?1 AND filter, ascending, LIMIT ?2 */
    sqlite3_stmt *prev;         /* seq < ?1 AND filter, descending */
    sqlite3_stmt *page;         /* rows with seq >= ?1 AND filter, LIMIT ?2 */
    sqlite3_stmt *one;          /* the row with seq = ?1 */
    sqlite3_stmt *detail;       /* event_log's detail of seq = ?1 */
    int64_t ffirst, flast;      /* the first and last seq through it */
    int64_t few[TL_MODEL_FEW];  /* every seq through it, when nfew > 0 */
    size_t nfew;                /* ... how many; 0: more than fit */
    int64_t cur;                /* the cursor: a seq that passes the filter */
    int64_t top;                /* the first row of the page */
    int height;                 /* rows on the page */
    tl_model_row *rows;         /* the page, height of them */
    size_t nrows;
    int64_t rows_top;           /* what rows[] holds: top, height, filter */
    int rows_height;
    unsigned rows_gen;
    unsigned gen;               /* bumped when the filter changes */
    int64_t lt;                 /* the last top that fills a page */
    unsigned lt_gen;            /* ... for this filter */
    int lt_height;              /* ... and height */
    tl_model_row currow;        /* the cursor's row */
    int64_t currow_seq;         /* ... for this seq, 0: none */

    char *pattern;              /* the search pattern, NULL: none */
    char *ssql;                 /* it as an SQL condition */
    sqlite3_stmt *sfwd, *sback; /* one chunk of a scan */
    int sdir;                   /* the running scan's direction, 0: none */
    int swrap;                  /* it wraps around the trace (a search) */
    int sphase;                 /* 0: cursor to the end; 1: wrapped */
    int64_t sfrom;              /* where it started (the cursor) */
    int64_t slo, shi;           /* the range it looks in before wrapping */
    int64_t spos;               /* scanned up to here (exclusive side) */
    int64_t sdone;              /* events looked at */

    tl_state *st;               /* the state at the cursor */
    tl_model_snap snap;         /* ... in the shape the view wants */
    int snap_ok;                /* snap is for cur */
};

/* model.c, for model_find.c */
int tl__model_prepare(tl_model *m);
int tl__model_bounds(tl_model *m);
int tl__model_place(tl_model *m, int64_t seq);
int64_t tl__model_near(tl_model *m, int64_t seq);
char *tl__model_clean(const unsigned char *s);
void tl__model_free_str(char *s);

#endif /* TL_TUI_MODEL_INT_H */
