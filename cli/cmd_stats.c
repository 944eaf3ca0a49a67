/* SPDX-License-Identifier: MIT */
/* cmd_stats.c -- tapeloop stats [--json] trace.db (placeholder until the
 * stats are written: reports events by kind). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cmd_stats(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "tapeloop stats: not written yet\n");
    return EXIT_USAGE;
}
