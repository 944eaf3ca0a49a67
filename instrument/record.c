/* SPDX-License-Identifier: MIT */
/* record.c -- recording, switched on for a loop by tl_options.record or
 * TAPELOOP_RECORD (both read by tl_loop_new).  Every recording loop of the
 * process appends to one journal (trace.db.tlj), inline through its tape
 * (core/tape.h), not through a hook; at exit the journal becomes the
 * trace (trace.db), unless TAPELOOP_RECORD_PARENT says that
 * `tapeloop record` will do it once the process has ended.  If the
 * process dies instead, the journal stays and the next tool converts it.
 * A forked child records nothing: the journal and the trace are the
 * parent's, and its exit leaves them alone.  Nor does a thread other than
 * the one that started recording: the journal has one writer, unlocked.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "loop_int.h"
#include "store.h"

static struct {
    tl_journal *j;              /* NULL until the first loop records */
    char *trace;                /* the trace path */
    char *jpath;                /* the journal: trace + ".tlj" */
    uint32_t nloops;            /* loop ids handed out */
    int failed;                 /* set up failed once: do not retry */
    int child;                  /* a fork of the recording process */
    int foreign;                /* said that another thread's loop is not
                                   recorded */
} rec;

static _Thread_local int writer; /* this thread writes the journal */

static void
forked(void)
{
    rec.child = 1;
    writer = 0;
    if (rec.j)
        tl_journal_disown(rec.j);       /* a loop running on writes nothing */
}

/* A loop on another thread than the journal's writer (or in a forked
 * child): its events are not recorded, and the first time says so. */
static void
not_writer(void)
{
    if (rec.child || rec.foreign)
        return;
    rec.foreign = 1;
    fprintf(stderr, "tapeloop: %s: a loop on another thread than the one "
                    "recording is not recorded\n", rec.trace);
}

/* NUL-separated /proc/self/cmdline as a JSON array of strings. */
static char *
argv_json(void)
{
    char buf[65536], *out, *o;
    FILE *f = fopen("/proc/self/cmdline", "r");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;

    if (f)
        fclose(f);
    if (!(out = malloc(n * 6 + 3)))
        return NULL;
    o = out;
    *o++ = '[';
    for (size_t i = 0; i < n;) {
        size_t len = strnlen(buf + i, n - i);
        *o++ = '"';
        for (size_t k = i; k < i + len; k++) {
            unsigned char c = (unsigned char)buf[k];
            if (c == '"' || c == '\\')
                *o++ = '\\', *o++ = (char)c;
            else if (c < 0x20)
                o += sprintf(o, "\\u%04x", c);
            else
                *o++ = (char)c;
        }
        *o++ = '"';
        i += len + 1;
        if (i < n)
            *o++ = ',';
    }
    *o++ = ']';
    *o = 0;
    return out;
}

static void
write_meta(void)
{
    char buf[PATH_MAX], now[64];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    char *argv = argv_json();
    time_t t = time(NULL);

    buf[n > 0 ? n : 0] = 0;
    tl_journal_meta(rec.j, "program", buf);
    tl_journal_meta(rec.j, "argv", argv ? argv : "[]");
    free(argv);
    tl_journal_meta(rec.j, "cwd", getcwd(buf, sizeof buf) ? buf : "");
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    tl_journal_meta(rec.j, "start_time", now);
    tl_journal_meta(rec.j, "tapeloop_version", TL_VERSION);
    snprintf(now, sizeof now, "%d", (int)getpid());
    tl_journal_meta(rec.j, "pid", now);
}

/* At exit: the journal becomes the trace, unless a parent does that. */
static void
at_exit(void)
{
    const char *parent = getenv("TAPELOOP_RECORD_PARENT");
    char err[256];

    if (!rec.j || rec.child)
        return;
    tl_journal_close(rec.j);
    rec.j = NULL;
    if (parent && *parent)
        return;
    if (tl_store_import(rec.jpath, rec.trace, NULL, err, sizeof err) != 0)
        fprintf(stderr, "tapeloop: %s\n", err);
}

/* Opens the journal for path, once per process: 0, 1 where recording is
 * not this thread's (a forked child, another thread), or a TL_E*. */
static int
start(const char *path)
{
    char err[256];
    size_t n = strlen(path);
    int rc;

    if (rec.child)
        return 1;               /* not ours to write: no recording */
    if (rec.j && strcmp(rec.trace, path) != 0)
        return TL_EBUSY;
    if (rec.j && !writer) {
        not_writer();
        return 1;
    }
    if (rec.j)
        return 0;
    if (rec.failed)
        return TL_EINVAL;
    rec.failed = 1;
    if (!getenv("TAPELOOP_RECORD_PARENT") &&
        tl_store_check_target(path, -1, err, sizeof err) != 0) {
        fprintf(stderr, "tapeloop: %s\n", err);
        return TL_EINVAL;
    }
    if (!(rec.trace = strdup(path)) || !(rec.jpath = malloc(n + 5)))
        return TL_ENOMEM;
    memcpy(rec.jpath, path, n);
    memcpy(rec.jpath + n, ".tlj", 5);
    if ((rc = tl_journal_open(&rec.j, rec.jpath)) != 0) {
        fprintf(stderr, "tapeloop: cannot record to %s: %s\n", rec.jpath,
                strerror(-rc));
        return rc;
    }
    writer = 1;
    write_meta();
    atexit(at_exit);
    pthread_atfork(NULL, NULL, forked);
    rec.failed = 0;
    return 0;
}

int
tl__record_attach(tl_loop *loop, const char *path)
{
    char key[32], val[32];
    uint32_t id;
    int rc;

    if ((rc = start(path)) != 0)
        return rc > 0 ? 0 : rc;
    id = ++rec.nloops;
    snprintf(key, sizeof key, "seed.%u", id);
    snprintf(val, sizeof val, "%llu", (unsigned long long)loop->seed);
    tl_journal_meta(rec.j, key, val);
    snprintf(key, sizeof key, "env.%u", id);
    tl_journal_meta(rec.j, key, loop->env->name);
    loop->tape = tl_journal_tape(rec.j);
    loop->tape_loop = id;
    loop->tape_lr = tl__lr(id, loop->run);
    tl__evmask_update(loop);
    return 0;
}

int
tl__record_writer(void)
{
    if (writer)
        return 1;
    not_writer();
    return 0;
}
