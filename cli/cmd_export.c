/* SPDX-License-Identifier: MIT */
/* cmd_export.c -- tapeloop export --format chrome trace.db (placeholder
 * until the exporter is written). */
#include <stdio.h>

#include "cli.h"

int
cmd_export(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "tapeloop export: not written yet\n");
    return EXIT_USAGE;
}
