/* SPDX-License-Identifier: MIT */
/* model_lanes.c -- the model's swimlanes (model.h): what each task was
 * doing in each column of the schedule.  No curses.  Columns of up to
 * TL_MODEL_LANE_EXACT events replay every event (one state, moved
 * forward column by column); wider ones are sampled: the visible tasks'
 * states are read from the last checkpoint at or before each column's
 * end, nothing replayed, so any zoom costs about the same.
 */
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

int64_t
tl_model_lane_zoom(int64_t zoom, int dir)
{
    if (dir > 0)
        return zoom >= TL_MODEL_LANE_EXACT && zoom < 2 * TL_STATE_EVERY
                   ? 2 * TL_STATE_EVERY : zoom * 2;
    if (zoom == 2 * TL_STATE_EVERY)
        return TL_MODEL_LANE_EXACT;
    return zoom > 1 ? zoom / 2 : 1;
}

int64_t
tl_model_lane_align(int64_t first, int64_t zoom)
{
    if (zoom <= TL_MODEL_LANE_EXACT)
        return first < 1 ? 1 : first;
    /* Column ends on checkpoints: each is loaded, not replayed to. */
    return first < 1 ? 1 : (first - 1) / TL_STATE_EVERY * TL_STATE_EVERY + 1;
}

static unsigned char
lane_cell(int state, const tl_model_task *t, int64_t lo, int64_t hi)
{
    switch (state) {
    case TL_TASK_READY: return TL_LANE_READY;
    case TL_TASK_RUNNING: return TL_LANE_RUNNING;
    case TL_TASK_BLOCKED: return TL_LANE_BLOCKED;
    case TL_ST_SLEEPING: return TL_LANE_SLEEPING;
    case TL_TASK_FAILED:
        return t->end_seq >= lo && t->end_seq <= hi ? TL_LANE_FAILED
                                                    : TL_LANE_NONE;
    case TL_TASK_DONE:
    case TL_TASK_CANCELLED:
        return t->end_seq >= lo && t->end_seq <= hi ? TL_LANE_ENDED
                                                    : TL_LANE_NONE;
    default: return TL_LANE_NONE;
    }
}

/* Where each lane's task resumed, column by column, as the exact lanes
 * replay the events: the cells say RUNNING there, unless they show the
 * task's end. */
typedef struct ran {
    tl_model *m;
    int64_t first, zoom;
    size_t ncols, lane0, nlanes;
    unsigned char *hit;         /* by lane * ncols + column */
} ran;

static void
ran_event(void *udata, int64_t seq, uint32_t loop, int kind, uint32_t task)
{
    ran *r = udata;
    const tl_model_task *t;
    size_t lane, col;

    if (kind != TL_EV_RESUME || seq < r->first ||
        !(t = tl_model_find_task(r->m, loop, task)))
        return;
    lane = (size_t)(t - r->m->tasks);
    col = (size_t)((seq - r->first) / r->zoom);
    if (lane >= r->lane0 && lane < r->lane0 + r->nlanes && col < r->ncols)
        r->hit[(lane - r->lane0) * r->ncols + col] = 1;
}

/* The lanes' states at the last checkpoint at or before hi, read from it
 * (tl_state_peek) rather than loaded: a checkpoint of 100k tasks costs
 * megabytes to load, a few microseconds to read the live ones from.
 * Columns end on checkpoints (tl_model_lane_align); in a trace recorded
 * before checkpoint deltas, where checkpoints lie further apart when many
 * tasks live, columns share one, read once (*ck says which, raw keeps
 * what it said).  A task not alive there gets its end from the tasks
 * table.  0, or -1: no checkpoint yet. */
static int
peek(tl_model *m, int64_t hi, const tl_model_task *mt, size_t n,
     uint32_t *ids, int *raw, int64_t *ck, int *states)
{
    int64_t at = tl_state_checkpoint_at(m->st, hi);

    if (!at)
        return -1;
    for (size_t i = 0, j; at != *ck && i < n; i = j) {
        for (j = i; j < n && mt[j].loop == mt[i].loop; j++)
            ids[j - i] = mt[j].id;
        if (tl_state_peek(m->st, hi, mt[i].loop, ids, j - i, raw + i) != 0) {
            *ck = 0;
            return -1;
        }
    }
    *ck = at;
    for (size_t i = 0; i < n; i++) {
        states[i] = raw[i];
        if (raw[i] < 0 && mt[i].end_seq && mt[i].end_seq <= hi)
            states[i] = !strcmp(mt[i].end_state ? mt[i].end_state : "",
                                "failed") ? TL_TASK_FAILED : TL_TASK_DONE;
    }
    return 0;
}

int
tl_model_lanes(tl_model *m, int64_t first, int64_t zoom, size_t ncols,
               size_t lane0, size_t nlanes, unsigned char *cells)
{
    const tl_model_task *mt;
    uint32_t *ids;
    int *states, *raw, rc = -1;
    int64_t ck = 0;
    ran rn;

    memset(cells, TL_LANE_NONE, ncols * nlanes);
    if (lane0 >= m->ntasks || zoom < 1)
        return 0;
    if (lane0 + nlanes > m->ntasks)
        nlanes = m->ntasks - lane0;
    mt = &m->tasks[lane0];
    rn = (ran){m, first, zoom, ncols, lane0, nlanes, NULL};
    ids = malloc((nlanes + 1) * sizeof *ids);
    states = malloc(2 * (nlanes + 1) * sizeof *states);
    if (!ids || !states)
        goto out;
    raw = states + nlanes + 1;
    /* The state at the cursor serves, and is rebuilt when next asked:
     * a second state would cost a second tl_state_open. */
    m->snap_ok = 0;
    /* Exact: every event from first on is replayed, so seen -- from
     * first - 1, or a checkpoint inside the first column would skip some. */
    if (zoom <= TL_MODEL_LANE_EXACT &&
        (!(rn.hit = calloc(ncols * nlanes + 1, 1)) ||
         tl_state_at(m->st, first - 1) != 0))
        goto out;
    for (size_t c = 0; c < ncols; c++) {
        int64_t lo = first + (int64_t)c * zoom, hi = lo + zoom - 1;
        if (lo > m->last)
            break;
        if (hi > m->last)
            hi = m->last;
        if (zoom <= TL_MODEL_LANE_EXACT ||
            peek(m, hi, mt, nlanes, ids, raw, &ck, states) != 0) {
            if (tl_state_at_each(m->st, hi, rn.hit ? ran_event : NULL,
                                 &rn) != 0)
                goto out;
            for (size_t l = 0; l < nlanes; l++)
                states[l] = tl_state_task_state(m->st, mt[l].loop, mt[l].id);
        }
        for (size_t l = 0; l < nlanes; l++) {
            unsigned char *cell = &cells[l * ncols + c];
            *cell = lane_cell(states[l], &mt[l], lo, hi);
            if (rn.hit && rn.hit[l * ncols + c] && *cell != TL_LANE_ENDED &&
                *cell != TL_LANE_FAILED)
                *cell = TL_LANE_RUNNING;    /* the end shows, even if it ran */
        }
    }
    rc = 0;
out:
    free(rn.hit);
    free(ids);
    free(states);
    return rc;
}
