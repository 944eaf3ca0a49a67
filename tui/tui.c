/* SPDX-License-Identifier: MIT */
/* tui.c -- the TUI's loop: draw when an action asked for it, read a key,
 * hand it to the key table.  A scan that has far to go (a search, the
 * same task's or queue's next event) runs in slices of a few tens of ms
 * between which the screen shows how far it got, Esc stops it and other
 * keys typed meanwhile wait their turn: no key waits on a long scan to
 * be answered.
 * With TAPELOOP_TUI_TIMES=file, the time from start to the first frame,
 * each key's time from read to drawn, and each scan's time to its end
 * are appended to file ("open N ms", "key K N ms", "scan N ms"), for
 * bench/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tui.h"

#define SLICE_MS 40.0           /* a scan's slice between two draws */
#define FIRST_SLICE_MS 5.0      /* ... and before the first one */
#define SLICE_EVENTS 32768      /* events a scan step reads */
#define TL_KEYS_AHEAD 32        /* keys typed during a scan, kept */

static double
now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void
tl_ui_init(tl_ui *ui, tl_model *m)
{
    const tl_model_row *r;

    memset(ui, 0, sizeof *ui);
    ui->m = m;
    ui->view = TL_VIEW_MAIN;
    ui->focus = TL_PANE_EVENTS;
    ui->list_rows = 10;
    if (tl_model_deadlock_seq(m) &&
        tl_model_cursor(m) == tl_model_deadlock_seq(m) &&
        (r = tl_model_row_at_cursor(m)) != NULL)
        tl_keys_say(ui, 1, "the run deadlocked at seq %lld: %s; why "
                           "below", (long long)r->seq, r->detail);
}

/* Runs the pending scan for up to ms, then says how far it got or what
 * it found.  TL_UI_REDRAW. */
static int
scan_slice(tl_ui *ui, double ms, FILE *times, double started)
{
    int search = ui->scanning == TL_SCAN_SEARCH + 1, r, wrapped = 0;
    double t0 = now_ms();
    int64_t done, total;

    do
        r = tl_model_scan_step(ui->m, SLICE_EVENTS, &wrapped);
    while (r == 0 && now_ms() - t0 < ms);
    if (r == 0) {
        tl_model_scan_progress(ui->m, &done, &total);
        if (search)
            tl_keys_say(ui, 0, "searching for \"%s\": %d%% (Esc stops)",
                        ui->scan_what, (int)(done * 100 / (total ? total : 1)));
        else
            tl_keys_say(ui, 0, "looking for the %s: %d%% (Esc stops)",
                        ui->scan_what, (int)(done * 100 / (total ? total : 1)));
        return TL_UI_REDRAW;
    }
    ui->scanning = 0;
    ui->msg[0] = 0;
    if (r > 0 && search)
        tl_keys_say(ui, 0, "/%s: seq %lld%s", ui->scan_what,
                    (long long)tl_model_cursor(ui->m),
                    wrapped ? " (wrapped around the trace)" : "");
    else if (search)
        tl_keys_say(ui, 1, "pattern not found: %s", ui->scan_what);
    else if (r < 0)
        tl_keys_say(ui, 0, "no %s", ui->scan_what);
    if (times) {
        fprintf(times, "scan %.3f ms %s\n", now_ms() - started,
                r > 0 ? "found" : "none");
        fflush(times);
    }
    return TL_UI_REDRAW;
}

/* The next key: one typed while a scan ran, else from the terminal
 * (waiting for it unless a scan runs).  Esc and q stop a scan (q then
 * quits); other keys typed meanwhile wait for its end, in order, so that
 * "] ]" typed fast moves twice. */
static int
next_key(tl_ui *ui, int *ahead, int *nahead)
{
    int key;

    if (!ui->scanning && *nahead) {
        key = ahead[0];
        memmove(ahead, ahead + 1, (size_t)--*nahead * sizeof *ahead);
        return key;
    }
    if (!ui->scanning)
        return tl_view_key(-1);
    while ((key = tl_view_key(0)) != TL_KEY_NONE) {
        if (key == TL_KEY_ESC || key == 'q' || key == TL_KEY_SIGNAL) {
            ui->scanning = 0;
            tl_keys_say(ui, 0, "stopped looking");
            return key == TL_KEY_ESC ? TL_KEY_RESIZE : key;
        }
        if (key != TL_KEY_RESIZE && *nahead < TL_KEYS_AHEAD)
            ahead[(*nahead)++] = key;
    }
    return TL_KEY_NONE;
}

/* The screen loop over an open model: 0 on q, 128 + a signal, 2 when
 * the terminal will not do (err set). */
static int
run(tl_model *m, FILE *times, double started, char *err, size_t len)
{
    int flags = TL_UI_REDRAW, rc = 0, key = TL_KEY_NONE, cols, rows, first = 1;
    int ahead[TL_KEYS_AHEAD], nahead = 0;
    double t0 = 0, scan_t0 = 0;
    tl_ui ui;

    tl_ui_init(&ui, m);
    if (tl_view_open(err, len) != 0)
        return 2;
    tl_view_size(&cols, &rows);
    if (cols < TL_VIEW_MIN_COLS || rows < TL_VIEW_MIN_ROWS) {
        tl_view_close();
        snprintf(err, len, "the terminal is too small (%dx%d): the TUI needs "
                           "at least %dx%d", cols, rows, TL_VIEW_MIN_COLS,
                 TL_VIEW_MIN_ROWS);
        return 2;
    }
    for (;;) {
        if (flags & TL_UI_REDRAW) {
            tl_view_draw(&ui);
            if (times && (first || key != TL_KEY_NONE)) {
                if (first)
                    fprintf(times, "open %.3f ms\n", now_ms() - started);
                else
                    fprintf(times, "key %d %.3f ms\n", key, now_ms() - t0);
                fflush(times);
            }
            first = 0;
        }
        flags = 0;
        key = next_key(&ui, ahead, &nahead);
        if (key == TL_KEY_SIGNAL) {
            rc = 128 + tl_view_signal();
            break;
        }
        if (key == TL_KEY_NONE) {
            if (ui.scanning)
                flags = scan_slice(&ui, SLICE_MS, times, scan_t0);
            continue;
        }
        t0 = now_ms();
        flags = tl_keys_handle(&ui, key);
        if (ui.scanning) {
            /* Most scans end within a first short slice: no frame saying
             * "looking" for those. */
            scan_t0 = t0;
            flags |= scan_slice(&ui, FIRST_SLICE_MS, times, scan_t0);
        }
        if (flags & TL_UI_QUIT)
            break;
    }
    tl_view_close();
    return rc;
}

int
tl_tui_run(const char *path, char *err, size_t len)
{
    const char *tpath = getenv("TAPELOOP_TUI_TIMES");
    double started = now_ms();
    FILE *times;
    tl_model *m;
    int rc;

    if (tl_model_open(&m, path, err, len) != 0)
        return 2;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, len, "not a terminal (the TUI needs one on its input "
                           "and output); 'tapeloop deadlocks %s' prints the "
                           "wait-for graph as text", path);
        tl_model_close(m);
        return 2;
    }
    times = tpath && *tpath ? fopen(tpath, "a") : NULL;
    rc = run(m, times, started, err, len);
    if (times)
        fclose(times);
    tl_model_close(m);
    return rc;
}
