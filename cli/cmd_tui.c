/* SPDX-License-Identifier: MIT */
/* cmd_tui.c -- tapeloop tui trace.db: the terminal browser of a trace
 * (tui/).  Refuses, with one line and exit 2, what it cannot show: a bad
 * or empty trace, one still being written, no terminal, a terminal too
 * small.  Opens at the deadlock when the run ended in one. */
#include <stdio.h>
#include <string.h>

#include "../tui/tui.h"
#include "cli.h"

static const char usage[] = "trace.db";

int
cmd_tui(int argc, char **argv)
{
    const char *path = NULL;
    char err[512];
    int rc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: tapeloop tui %s\n"
                   "Browse a trace: the events, the state of every task "
                   "and queue at the\ncursor, why tasks wait, swimlanes.  "
                   "Press ? in it for the keys.\n", usage);
            return EXIT_OK;
        } else if (argv[i][0] == '-' || path) {
            return cli_usage("tui", usage, "unexpected %s", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return cli_usage("tui", usage, "no trace given");
    if ((rc = tl_tui_run(path, err, sizeof err)) == EXIT_USAGE)
        fprintf(stderr, "tapeloop tui: %s\n", err);
    return rc;
}
