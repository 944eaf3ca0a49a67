/* SPDX-License-Identifier: MIT */
/* bench_record.c -- what recording costs: bench_loop's workloads and an
 * echo load run with recording off, with a counting hook only, and on (a
 * fresh trace); the journal's import into SQLite timed on its own; and a
 * timer for whole commands.  One line per run for bench/record.sh,
 * `name ops ops_per_sec ns_per_op [key=value ...]`; exits 1 on any error.
 *
 * Events are counted inside the timed interval: by the counting hook in
 * mode count, and in mode on from the journal itself (the measured loop's
 * records whose time falls between the two clock reads; the event clock is
 * CLOCK_MONOTONIC's scale).  The workloads are deterministic, so the two
 * counts agree; record.sh checks that.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "tapeloop.h"
#include "../instrument/journal.h"
#include "../instrument/store.h"

#define HOST "127.0.0.1"        /* the echo load's server */
#define MSG_MAX 16384           /* largest echo message, as examples/echo.c */

enum mode { OFF, COUNT, ON };
static const char *const mode_names[] = {"off", "count", "on"};

/* What one run measured; the root task fills it. */
typedef struct result {
    long ops;                   /* operations asked for and done */
    int param;                  /* the workload's parameter, as below */
    int64_t t0, t1;             /* CLOCK_MONOTONIC ns around the timed part */
    uint64_t ev0, ev1;          /* the counting hook's tally at t0, t1 */
    char extra[256];            /* "key=value ..." appended, or "" */
} result;

typedef struct workload {
    const char *name;           /* as given on the command line */
    long ops;                   /* default count */
    int param;                  /* yield: tasks; queues: maxsize; echo:
                                   clients */
    tl_task_fn root;            /* the root task; fills a result */
} workload;

static uint64_t nevents;        /* the counting hook's tally */
static char *trace;             /* mode on: the trace path */
static char *tmpdir;            /* our own temp dir, removed at exit */
static unsigned nloops;         /* loops made: the recorder's loop ids */


static void
start_clock(result *r)
{
    r->ev0 = nevents;
    r->t0 = now_ns();
}

static void
stop_clock(result *r)
{
    r->t1 = now_ns();
    r->ev1 = nevents;
}

#include "workloads.h"

/* ---- echo: examples/echo.c's load, clients started together --------------- */

typedef struct echo {
    tl_socket *listener;        /* the server's socket */
    tl_latch *connected;        /* opens when every client is connected */
    tl_flag *go;                /* set when the clock starts */
    tl_task **handlers;         /* [clients], the server's */
    long clients;               /* client tasks */
    long messages;              /* messages per client */
    long bytes;                 /* bytes echoed, checked */
} echo;

typedef struct client {
    echo *e;                    /* the run */
    long index;                 /* 1..clients */
} client;

/* examples/echo.c's message m of client c: 1..MSG_MAX bytes. */
static size_t
msg_size(long c, long m)
{
    unsigned long h = (unsigned long)(c * 7919 + m * 104729) * 2654435761ul;

    return 1 + (size_t)((h >> 11) % MSG_MAX);
}

static void
msg_fill(unsigned char *buf, size_t len, long c, long m)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = (unsigned char)(c * 31 + m * 7 + (long)k);
}

/* Echoes everything until the client hangs up. */
static void *
handler(void *arg)
{
    tl_socket *s = arg;
    unsigned char buf[4096];
    ssize_t n;

    while ((n = tl_recv(s, buf, sizeof buf)) > 0)
        CHECK(tl_send_all(s, buf, (size_t)n));
    CHECK(n);
    tl_socket_close(s);
    return NULL;
}

static void *
server(void *arg)
{
    echo *e = arg;

    for (long i = 0; i < e->clients; i++) {
        tl_socket *s;
        CHECK(tl_accept(e->listener, &s));
        CHECK(tl_spawn(&e->handlers[i], handler, s, NULL));
    }
    return NULL;
}

static void
recv_all(tl_socket *s, unsigned char *buf, size_t len)
{
    while (len) {
        ssize_t n = tl_recv(s, buf, len);
        CHECK(n);
        if (n == 0)
            die("echo: the server hung up");
        buf += n;
        len -= (size_t)n;
    }
}

/* Connects, waits for the start, sends each message and checks its echo. */
static void *
client_task(void *arg)
{
    client *c = arg;
    echo *e = c->e;
    unsigned char *out = malloc(MSG_MAX), *in = malloc(MSG_MAX);
    tl_socket *s;

    if (!out || !in)
        die("echo: out of memory");
    CHECK(tl_connect(&s, HOST, tl_socket_port(e->listener)));
    CHECK(tl_latch_count_down(e->connected));
    CHECK(tl_flag_wait(e->go));
    for (long m = 1; m <= e->messages; m++) {
        size_t len = msg_size(c->index, m);
        msg_fill(out, len, c->index, m);
        CHECK(tl_send_all(s, out, len));
        recv_all(s, in, len);
        if (memcmp(out, in, len) != 0)
            die("echo: client %ld message %ld: echo differs", c->index, m);
        e->bytes += (long)len;
    }
    tl_socket_close(s);
    free(out);
    free(in);
    return NULL;
}

/* Times from the start flag to the last client's end. */
static void *
echo_root(void *p)
{
    result *r = p;
    echo e = {.clients = r->param, .messages = r->ops / r->param};
    client *cl = calloc((size_t)e.clients, sizeof *cl);
    tl_task **t = calloc((size_t)e.clients, sizeof *t), *srv;

    e.handlers = calloc((size_t)e.clients, sizeof *e.handlers);
    if (!cl || !t || !e.handlers || e.messages < 1)
        die("echo: out of memory, or fewer messages than clients");
    r->ops = e.messages * e.clients;
    CHECK(tl_listen(&e.listener, HOST, 0, 1024));
    CHECK(tl_latch_new(&e.connected, (unsigned)e.clients, NULL));
    CHECK(tl_flag_new(&e.go, NULL));
    CHECK(tl_spawn(&srv, server, &e, NULL));
    for (long i = 0; i < e.clients; i++) {
        cl[i] = (client){.e = &e, .index = i + 1};
        CHECK(tl_spawn(&t[i], client_task, &cl[i], NULL));
    }
    CHECK(tl_latch_wait(e.connected));
    start_clock(r);
    CHECK(tl_flag_set(e.go));
    for (long i = 0; i < e.clients; i++)
        CHECK(tl_join(t[i], NULL));
    stop_clock(r);
    CHECK(tl_join(srv, NULL));
    for (long i = 0; i < e.clients; i++)
        CHECK(tl_join(e.handlers[i], NULL));
    tl_socket_close(e.listener);
    tl_latch_free(e.connected);
    tl_flag_free(e.go);
    snprintf(r->extra, sizeof r->extra, "clients=%ld messages=%ld bytes=%ld",
             e.clients, e.messages, e.bytes);
    free(cl);
    free(t);
    free(e.handlers);
    return NULL;
}

/* ---- the journal, read back ---------------------------------------------- */

typedef struct jcount {
    uint32_t loop;              /* the loop to count */
    int64_t t0, t1;             /* the timed interval */
    long events;                /* its records */
    long timed;                 /* those within [t0, t1] */
} jcount;

static int
count_record(const tl_jrec *r, const void *payload, void *udata)
{
    jcount *c = udata;

    (void)payload;
    if (r->loop != c->loop || r->kind >= TL_EV__COUNT)
        return 0;
    c->events++;
    if (r->time >= c->t0 && r->time <= c->t1)
        c->timed++;
    return 0;
}

/* ---- driver ------------------------------------------------------------ */

static const workload workloads[] = {
    {"spawn_join", 100000, 0, spawn_join_root},
    {"yield", 1000000, 16, yield_root},
    {"queue", 1000000, 0, queue_root},
    {"queue1", 1000000, 1, queue_root},
    {"echo", 12800, 64, echo_root},         /* 64 clients x 200 messages */
};
#define NWORKLOADS (sizeof workloads / sizeof *workloads)

static void
count_event(const tl_event *ev, void *udata)
{
    (void)ev;
    (void)udata;
    nevents++;
}

/* Runs w's root in a fresh loop; *loop_events: what the loop emitted, as
 * the counting hook saw it (mode count only). */
static void
run_once(const workload *w, result *r, enum mode mode, long *loop_events)
{
    tl_options o = {.record = mode == ON ? trace : NULL};
    uint64_t before = nevents;
    tl_loop *loop;

    CHECK(tl_loop_new(&loop, &o));
    nloops++;
    if (mode == COUNT)
        CHECK(tl_loop_add_hook(loop, TL_EVMASK_ALL, count_event, NULL));
    CHECK(tl_loop_run(loop, w->root, r, NULL));
    tl_loop_free(loop);
    *loop_events = (long)(nevents - before);
}

/* One measured run after a warm-up at a tenth of the count, as bench_loop;
 * one line.  events: in the timed interval; loop_events: all the loop's. */
static void
run(const workload *w, long ops, enum mode mode)
{
    result r = {.ops = ops > 0 ? ops : w->ops, .param = w->param};
    result warm = {.ops = r.ops / 10, .param = w->param};
    long loop_events = 0, events = 0, jbytes = 0;
    double ns;

    if (warm.ops > 0 && warm.ops >= w->param)
        run_once(w, &warm, mode, &loop_events);
    run_once(w, &r, mode, &loop_events);
    ns = (double)(r.t1 - r.t0);
    if (r.ops <= 0 || ns <= 0)
        die("%s: nothing measured", w->name);
    events = (long)(r.ev1 - r.ev0);
    if (mode == ON) {
        char jpath[4096];
        jcount c = {.loop = nloops, .t0 = r.t0, .t1 = r.t1};
        tl_journal_end end;
        struct stat jst;
        snprintf(jpath, sizeof jpath, "%s.tlj", trace);
        CHECK(tl_journal_read(jpath, count_record, &c, &end));
        loop_events = c.events, events = c.timed;
        if (stat(jpath, &jst) == 0)     /* records vary: the file tells */
            jbytes = (long)jst.st_size - 4096;
    }
    printf("%s %ld %.0f %.2f mode=%s events=%ld loop_events=%ld", w->name,
           r.ops, (double)r.ops * 1e9 / ns, ns / (double)r.ops,
           mode_names[mode], events, loop_events);
    if (mode == ON)
        printf(" journal_bytes_per_event=%.1f",
               (double)jbytes / (double)loop_events);
    printf("%s%s\n", r.extra[0] ? " " : "", r.extra);
    if (fflush(stdout) != 0)
        die("cannot write the results");
}

/* ---- import: the journal into SQLite, timed ------------------------------- */

static int64_t
query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        die("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Imports jpath into dbpath (tl_store_import, as at exit), then prints the
 * rate and what the trace takes per event on disk, with and without the
 * payload bytes. */
static int
import(const char *jpath, const char *dbpath)
{
    struct stat js, ds;
    char err[512];
    int64_t t0, t1, events, pbytes, pevents;
    sqlite3 *db;

    if (stat(jpath, &js) != 0)
        die("%s: %s", jpath, strerror(errno));
    unlink(dbpath);
    t0 = now_ns();
    if (tl_store_import(jpath, dbpath, NULL, err, sizeof err) != 0)
        die("import: %s", err);
    t1 = now_ns();
    if (stat(dbpath, &ds) != 0)
        die("%s: %s", dbpath, strerror(errno));
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("%s: %s", dbpath, sqlite3_errmsg(db));
    events = query_int(db, "SELECT count(*) FROM events");
    pevents = query_int(db, "SELECT count(*) FROM payloads");
    pbytes = query_int(db, "SELECT CAST(total(length(data)) AS INTEGER) "
                           "FROM payloads");
    sqlite3_close(db);
    if (events <= 0)
        die("%s: no events", dbpath);
    printf("import %lld %.0f %.2f trace_bytes=%lld bytes_per_event=%.1f "
           "payload_events=%lld payload_bytes=%lld "
           "bytes_per_event_without_payload=%.1f journal_bytes=%lld "
           "journal_bytes_per_event=%.1f\n",
           (long long)events, (double)events * 1e9 / (double)(t1 - t0),
           (double)(t1 - t0) / (double)events, (long long)ds.st_size,
           (double)ds.st_size / (double)events, (long long)pevents,
           (long long)pbytes, (double)(ds.st_size - pbytes) / (double)events,
           (long long)js.st_size, (double)js.st_size / (double)events);
    return fflush(stdout) != 0;
}

/* ---- exec: a whole command, timed -------------------------------------- */

/* Runs argv with its stdout sent to our stderr; prints `exec NS STATUS`
 * and returns its exit status. */
static int
exec_timed(char **argv)
{
    int64_t t0 = now_ns(), t1;
    int status;
    pid_t pid;

    fflush(NULL);
    if ((pid = fork()) < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(2, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "bench_record: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid: %s", strerror(errno));
    t1 = now_ns();
    status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("exec %lld %d\n", (long long)(t1 - t0), status);
    fflush(stdout);
    return status;
}

/* ---- main -------------------------------------------------------------- */

static _Noreturn void
usage(void)
{
    fprintf(stderr,
            "usage: bench_record [-t TRACE] WORKLOAD off|count|on [REPEAT] "
            "[OPS]\n"
            "       bench_record list\n"
            "       bench_record import JOURNAL TRACE\n"
            "       bench_record exec COMMAND [ARG...]\n"
            "  on records into TRACE (its journal TRACE.tlj is kept, not\n"
            "  imported), else into a fresh temp dir removed at exit.\n"
            "workloads:");
    for (size_t i = 0; i < NWORKLOADS; i++)
        fprintf(stderr, " %s", workloads[i].name);
    fputc('\n', stderr);
    exit(2);
}

static long
number(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || n <= 0)
        usage();
    return n;
}

/* Registered before the recorder's own exit handler, so it runs after
 * that has closed the journal. */
static void
remove_tmpdir(void)
{
    char jpath[4096];

    snprintf(jpath, sizeof jpath, "%s.tlj", trace);
    unlink(jpath);
    unlink(trace);
    rmdir(tmpdir);
}

/* Mode on: where to record.  The import at exit is left out (the parent
 * variable that `tapeloop record` sets): record.sh times it on its own. */
static void
set_trace(const char *path)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];

    setenv("TAPELOOP_RECORD_PARENT", "1", 1);
    if (path) {
        if (!(trace = strdup(path)))
            die("out of memory");
        return;
    }
    snprintf(tmpl, sizeof tmpl, "%s/bench_record.XXXXXX",
             base && *base ? base : "/tmp");
    if (!(tmpdir = mkdtemp(tmpl)) || !(tmpdir = strdup(tmpdir)) ||
        !(trace = malloc(strlen(tmpdir) + 10)))
        die("mkdtemp %s: %s", tmpl, strerror(errno));
    sprintf(trace, "%s/trace.db", tmpdir);
    atexit(remove_tmpdir);
}

int
main(int argc, char **argv)
{
    const char *keep = NULL;
    enum mode mode;
    long repeat, ops;
    size_t i;

    if (argc > 2 && strcmp(argv[1], "-t") == 0)
        keep = argv[2], argc -= 2, argv += 2;
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (i = 0; i < NWORKLOADS; i++)
            printf("%s\n", workloads[i].name);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "import") == 0)
        return import(argv[2], argv[3]);
    if (argc > 2 && strcmp(argv[1], "exec") == 0)
        return exec_timed(argv + 2);
    if (argc < 3 || argc > 5)
        usage();
    for (i = 0; i < NWORKLOADS && strcmp(argv[1], workloads[i].name); i++)
        ;
    for (mode = OFF; mode <= ON && strcmp(argv[2], mode_names[mode]); mode++)
        ;
    if (i == NWORKLOADS || mode > ON)
        usage();
    repeat = argc > 3 ? number(argv[3]) : 1;
    ops = argc > 4 ? number(argv[4]) : 0;
    unsetenv("TAPELOOP_RECORD");        /* off means off */
    if (mode == ON)
        set_trace(keep);
    for (long k = 0; k < repeat; k++)
        run(&workloads[i], ops, mode);
    return 0;
}
