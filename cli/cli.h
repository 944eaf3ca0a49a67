/* SPDX-License-Identifier: MIT */
/* cli.h -- what the tapeloop subcommands share: exit codes, opening a
 * trace with a one-line error, and the subcommand table's entries.
 * Every subcommand lives in cmd_<name>.c as int cmd_<name>(argc, argv). */
#ifndef TL_CLI_H
#define TL_CLI_H

#include <sqlite3.h>

enum {
    EXIT_OK = 0,                /* all is well */
    EXIT_FINDING = 1,           /* the program failed, a deadlock was found */
    EXIT_USAGE = 2,             /* bad usage or bad input */
    EXIT_DIVERGED = 3           /* a replay diverged from its trace */
};

/* Opens path read-only (recovering a dead recorder's journal); on error
 * prints "tapeloop: <path>: <problem>" and returns NULL. */
sqlite3 *cli_open_trace(const char *path);

/* Prints "tapeloop <cmd>: <message>" and the usage line; returns
 * EXIT_USAGE. */
int cli_usage(const char *cmd, const char *usage, const char *fmt, ...);

int cmd_record(int argc, char **argv);
int cmd_deadlocks(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_tui(int argc, char **argv);

#endif
