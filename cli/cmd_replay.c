/* SPDX-License-Identifier: MIT */
/* cmd_replay.c -- tapeloop replay [-o out.db] [-f] [--stop-at SEQ] trace.db
 * [-- program args...]: runs the recorded program (or the one given) with
 * TAPELOOP_REPLAY set, so the library serves it the trace and checks each
 * step; exits with the program's status, or 3 when it diverged. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

static const char usage[] =
    "[-o out.db] [-f] [--stop-at SEQ] trace.db [-- program [args...]]";

/* Parses the JSON array of strings that meta 'argv' holds (as record.c
 * writes it) into a NULL-terminated vector; NULL if it is not one. */
static char **
parse_argv(const char *j)
{
    size_t n = 0, cap = 8;
    char **v = malloc(cap * sizeof *v);

    if (!v || *j++ != '[')
        goto bad;
    while (*j == '"') {
        char *s = malloc(strlen(j) + 1), *o = s;
        if (!s)
            goto bad;
        for (j++; *j && *j != '"'; j++) {
            if (*j != '\\') {
                *o++ = *j;
            } else if (j[1] == 'u' && strlen(j) >= 6) {
                *o++ = (char)strtol((char[]){j[4], j[5], 0}, NULL, 16);
                j += 5;
            } else if (j[1]) {
                *o++ = *++j;
            }
        }
        *o = 0;
        if (*j++ != '"') {
            free(s);
            goto bad;
        }
        if (n + 2 > cap) {
            char **w = realloc(v, (cap *= 2) * sizeof *v);
            if (!w) {
                free(s);
                goto bad;
            }
            v = w;
        }
        v[n++] = s;
        if (*j == ',')
            j++;
    }
    if (*j != ']' || n == 0)
        goto bad;
    v[n] = NULL;
    return v;
bad:
    while (v && n)
        free(v[--n]);
    free(v);
    return NULL;
}

static void
free_argv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static char **
recorded_argv(sqlite3 *db, const char *path)
{
    sqlite3_stmt *s;
    char **v = NULL;

    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='argv'", -1,
                           &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = parse_argv((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (!v)
        fprintf(stderr, "tapeloop: %s: no recorded program (give one after "
                        "--)\n", path);
    return v;
}

int
cmd_replay(int argc, char **argv)
{
    const char *out = NULL, *stop = NULL, *trace;
    char err[512], jpath[4096], **prog, **owned;
    tl_import_info info = {0};
    int force = 0, i, status;
    sqlite3 *db;
    pid_t pid;

    for (i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "-f"))
            force = 1;
        else if (!strcmp(argv[i], "--stop-at") && i + 1 < argc)
            stop = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return printf("usage: tapeloop replay %s\n", usage), EXIT_OK;
        else
            return cli_usage("replay", usage, "unknown option %s", argv[i]);
    }
    if (i >= argc || !strcmp(argv[i], "--"))
        return cli_usage("replay", usage, "no trace given");
    trace = argv[i++];
    if (stop && (atoll(stop) <= 0 || strspn(stop, "0123456789") != strlen(stop)))
        return cli_usage("replay", usage, "--stop-at takes a seq (>= 1)");
    if (!(db = cli_open_trace(trace)))
        return EXIT_USAGE;
    if (i < argc && !strcmp(argv[i], "--"))
        i++;
    owned = i < argc ? NULL : recorded_argv(db, trace);
    prog = i < argc ? argv + i : owned;
    sqlite3_close(db);
    if (!prog)
        return EXIT_USAGE;
    if (out && tl_store_check_target(out, force, err, sizeof err) != 0) {
        fprintf(stderr, "tapeloop: %s\n", err);
        free_argv(owned);
        return EXIT_USAGE;
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        fprintf(stderr, "tapeloop: fork: %s\n", strerror(errno));
        free_argv(owned);
        return EXIT_USAGE;
    }
    if (pid == 0) {
        setenv("TAPELOOP_REPLAY", trace, 1);
        unsetenv("TAPELOOP_RECORD");
        unsetenv("TAPELOOP_CLOCK");
        if (stop)
            setenv("TAPELOOP_STOP_AT", stop, 1);
        if (out) {
            setenv("TAPELOOP_RECORD", out, 1);
            setenv("TAPELOOP_RECORD_PARENT", "1", 1);
        }
        execvp(prog[0], prog);
        fprintf(stderr, "tapeloop: %s: %s\n", prog[0], strerror(errno));
        _exit(127);
    }
    free_argv(owned);
    signal(SIGINT, SIG_IGN);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    info.exited = 1;
    info.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    info.status = info.signal ? 128 + info.signal : WEXITSTATUS(status);
    snprintf(jpath, sizeof jpath, "%s.tlj", out ? out : "");
    if (out && access(jpath, F_OK) == 0 &&
        tl_store_import(jpath, out, &info, err, sizeof err) != 0)
        fprintf(stderr, "tapeloop: %s\n", err);
    return info.status;
}
