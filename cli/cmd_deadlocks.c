/* SPDX-License-Identifier: MIT */
/* cmd_deadlocks.c -- tapeloop deadlocks trace.db [--at SEQ]: the wait-for
 * graph at a step (the trace's deadlock if it has one, else its end) in
 * plain text.  Exit 1 when a deadlock is found there, 0 when none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "state.h"

static const char usage[] = "trace.db [--at SEQ]";

int
cmd_deadlocks(int argc, char **argv)
{
    const char *path = NULL;
    int64_t at = -1, dl, last = 0;
    size_t n, cycles = 0;
    tl_state *st;
    char **lines;
    sqlite3 *db;
    sqlite3_stmt *s;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--at") && i + 1 < argc) {
            char *end;
            at = strtoll(argv[++i], &end, 10);
            if (*end || at < 0)
                return cli_usage("deadlocks", usage, "--at takes a seq");
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: tapeloop deadlocks %s\n", usage);
            return EXIT_OK;
        } else if (argv[i][0] == '-' || path) {
            return cli_usage("deadlocks", usage, "unexpected %s", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return cli_usage("deadlocks", usage, "no trace given");
    if (!(db = cli_open_trace(path)))
        return EXIT_USAGE;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM events", -1,
                           &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        last = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    dl = tl_state_deadlock_seq(db);
    if (at < 0)
        at = dl > 0 ? dl : last;
    if (at > last)
        at = last;
    if (tl_state_open(&st, db) != 0 || tl_state_at(st, at) != 0) {
        fprintf(stderr, "tapeloop: %s: cannot rebuild the state at seq %lld\n",
                path, (long long)at);
        sqlite3_close(db);
        return EXIT_USAGE;
    }
    n = tl_state_explain(st, &lines, &cycles, 0);
    printf("%s at seq %lld of %lld%s\n", path, (long long)at, (long long)last,
           dl > 0 && at >= dl ? ": the run deadlocked" : "");
    for (size_t i = 0; i < n; i++)
        printf("  %s\n", lines[i]);
    if (!n)
        printf("  no task is blocked\n");
    tl_state_lines_free(lines, n);
    tl_state_free(st);
    sqlite3_close(db);
    /* A deadlock: the loop said so, or tasks wait on each other. */
    return (dl > 0 && at >= dl) || cycles ? EXIT_FINDING : EXIT_OK;
}
