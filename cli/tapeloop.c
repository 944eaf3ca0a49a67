/* SPDX-License-Identifier: MIT */
/* tapeloop.c -- main: the subcommand table, help, and the helpers every
 * subcommand shares.  Exit codes: 0 all is well, 1 a finding, 2 bad usage
 * or input, 3 a replay divergence (cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store.h"
#include "tapeloop.h"

static const struct {
    const char *name;                   /* subcommand */
    int (*fn)(int argc, char **argv);   /* argv[0] is the subcommand */
    const char *what;                   /* one line for help */
} cmds[] = {
    {"record", cmd_record, "run a program and record it into a trace"},
    {"deadlocks", cmd_deadlocks, "why a run hung: the wait-for graph, cycles"},
    {"replay", cmd_replay, "re-run a recorded program against its trace"},
    {"stats", cmd_stats, "events by kind, per task and per queue"},
    {"export", cmd_export, "a trace as Chrome Trace Event JSON (Perfetto)"},
    {"tui", cmd_tui, "browse a trace in the terminal: events, state, why"},
};

static int
help(FILE *f)
{
    fprintf(f, "usage: tapeloop <command> [options] ...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].what);
    fprintf(f, "\n'tapeloop <command> --help' describes one.  Exit status: "
               "0 ok, 1 finding, 2 bad usage or input, 3 replay "
               "divergence.\n");
    return f == stdout ? EXIT_OK : EXIT_USAGE;
}

int
cli_usage(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;

    if (fmt) {
        fprintf(stderr, "tapeloop %s: ", cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    fprintf(stderr, "usage: tapeloop %s %s\n", cmd, usage);
    return EXIT_USAGE;
}

sqlite3 *
cli_open_trace(const char *path)
{
    char err[512];
    sqlite3 *db;

    if (tl_trace_open(&db, path, err, sizeof err) != 0) {
        fprintf(stderr, "tapeloop: %s\n", err);
        return NULL;
    }
    return db;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        return help(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help"))
        return help(stdout);
    if (!strcmp(argv[1], "--version")) {
        printf("tapeloop %s\n", TL_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tapeloop: unknown command '%s'\n", argv[1]);
    return help(stderr);
}
