/* SPDX-License-Identifier: MIT */
/* cmd_record.c -- tapeloop record [-o trace.db] [-f] -- program args...:
 * runs the program with TAPELOOP_RECORD set, waits for it, turns its
 * journal into the trace whatever way it ended (recording how), and exits
 * with the program's own status (128 + the signal if one killed it). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

static const char usage[] = "[-o trace.db] [-f] [--] program [args...]";

int
cmd_record(int argc, char **argv)
{
    const char *out = "trace.db";
    char err[512], jpath[4096];
    tl_import_info info = {0};
    int force = 0, i, status;
    pid_t pid;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "-f")) {
            force = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: tapeloop record %s\n", usage);
            return EXIT_OK;
        } else {
            return cli_usage("record", usage, "unknown option %s", argv[i]);
        }
    }
    if (i >= argc)
        return cli_usage("record", usage, "no program to run");
    if (tl_store_check_target(out, force, err, sizeof err) != 0) {
        fprintf(stderr, "tapeloop: %s\n", err);
        return EXIT_USAGE;
    }
    snprintf(jpath, sizeof jpath, "%s.tlj", out);
    unlink(jpath);
    fflush(NULL);
    if ((pid = fork()) < 0) {
        fprintf(stderr, "tapeloop: fork: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    if (pid == 0) {
        setenv("TAPELOOP_RECORD", out, 1);
        setenv("TAPELOOP_RECORD_PARENT", "1", 1);
        execvp(argv[i], argv + i);
        fprintf(stderr, "tapeloop: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    /* The terminal's ^C reaches the program; we wait for it to end. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    info.exited = 1;
    if (WIFSIGNALED(status)) {
        info.signal = WTERMSIG(status);
        info.status = 128 + info.signal;
    } else {
        info.status = WEXITSTATUS(status);
    }
    if (access(jpath, F_OK) != 0) {
        fprintf(stderr, "tapeloop: %s recorded nothing (is it linked with "
                        "tapeloop, and does it run a loop?)\n", argv[i]);
        return info.status ? info.status : EXIT_USAGE;
    }
    if (tl_store_import(jpath, out, &info, err, sizeof err) != 0) {
        fprintf(stderr, "tapeloop: %s\n", err);
        return info.status ? info.status : EXIT_USAGE;
    }
    return info.status;
}
