/* SPDX-License-Identifier: MIT */
/* recorded.c -- a deterministic program for record.sh to record and crash.
 * "main" runs a "producer" that puts items 1..N into queue "work" (room
 * for 2) and a "consumer" that takes them; after item K the consumer ends
 * the process the chosen way, first writing "events E" with E the number
 * of events its own hook has counted, so the trace must hold exactly E.
 * Usage:
 *   recorded MODE N K   MODE: none, abort, segv, kill, exit (exit(3))
 *   recorded spam N     N items and no crash, for the full-disk test
 *   recorded open PATH  tl_trace_open: "events E ended HOW", or exit 2
 * Nothing here reads the clock or tl_random: every run of the same
 * arguments emits the same events.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "tapeloop.h"

static const char *mode;        /* how the consumer ends the process */
static long items, crash_at;    /* N and K */
static tl_queue *work;          /* producer -> consumer */
static uint64_t counted;        /* events seen by count_event */

/* Our own hook, registered after the recorder's: when it has seen an
 * event, the journal has it too. */
static void
count_event(const tl_event *ev, void *udata)
{
    (void)ev, (void)udata;
    counted++;
}

/* Writes "events E" without stdio, so nothing is lost to a crash. */
static void
say_count(void)
{
    char line[64];
    int n = snprintf(line, sizeof line, "events %llu\n",
                     (unsigned long long)counted);

    if (write(1, line, (size_t)n) != n)
        _exit(99);
}

static void
crash(void)
{
    say_count();
    if (strcmp(mode, "abort") == 0)
        abort();
    if (strcmp(mode, "segv") == 0)
        *(volatile int *)(uintptr_t)16 = 1;     /* not NULL: UBSan would
                                                   catch that first */
    if (strcmp(mode, "kill") == 0)
        kill(getpid(), SIGKILL);
    if (strcmp(mode, "exit") == 0)
        exit(3);
}

static void *
producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= items; i++)
        if (tl_queue_put(work, (void *)(intptr_t)i) != 0)
            break;
    tl_queue_close(work);
    return NULL;
}

static void *
consumer(void *arg)
{
    void *item;
    long sum = 0;

    (void)arg;
    while (tl_queue_get(work, &item) == 0) {
        sum += (long)(intptr_t)item;
        if ((long)(intptr_t)item == crash_at)
            crash();
    }
    return (void *)(intptr_t)sum;
}

static void *
root(void *arg)
{
    tl_task *p, *c;
    void *sum = NULL;

    (void)arg;
    if (tl_queue_new(&work, 2, "work") != 0 ||
        tl_spawn(&p, producer, NULL, "producer") != 0 ||
        tl_spawn(&c, consumer, NULL, "consumer") != 0)
        tl_fail("set up failed");
    tl_join(p, NULL);
    tl_join(c, &sum);
    tl_queue_free(work);
    return sum;
}

static int
open_trace(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char err[512];
    int rc = 2;

    if (tl_trace_open(&db, path, err, sizeof err) != 0) {
        fprintf(stderr, "recorded: %s\n", err);
        return 2;
    }
    if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM events), "
                               "(SELECT value FROM meta WHERE key='ended')",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        printf("events %lld ended %s\n", sqlite3_column_int64(s, 0),
               (const char *)sqlite3_column_text(s, 1));
        rc = 0;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

int
main(int argc, char **argv)
{
    tl_loop *loop;
    void *sum = NULL;
    int rc;

    if (argc == 3 && strcmp(argv[1], "open") == 0)
        return open_trace(argv[2]);
    if (argc == 3 && strcmp(argv[1], "spam") == 0) {
        mode = "none";
        items = atol(argv[2]);
        crash_at = 0;
    } else if (argc == 4) {
        mode = argv[1];
        items = atol(argv[2]);
        crash_at = atol(argv[3]);
    } else {
        fprintf(stderr, "usage: recorded none|abort|segv|kill|exit N K | "
                        "spam N | open PATH\n");
        return 2;
    }
    if ((rc = tl_loop_new(&loop, NULL)) != 0) {
        fprintf(stderr, "recorded: %s\n", tl_strerror(rc));
        return 1;
    }
    if ((rc = tl_loop_add_hook(loop, TL_EVMASK_ALL, count_event, NULL)) != 0 ||
        (rc = tl_loop_run(loop, root, NULL, &sum)) != 0) {
        fprintf(stderr, "recorded: %s\n", tl_strerror(rc));
        tl_loop_free(loop);
        return 1;
    }
    tl_loop_free(loop);
    say_count();
    printf("sum %ld\n", (long)(intptr_t)sum);
    return 0;
}
