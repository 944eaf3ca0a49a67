/* SPDX-License-Identifier: MIT */
/* bench_loop.c -- the loop benchmark: spawn+join, yields, queues, loopback
 * TCP ping-pong and 100k live tasks; one line per run for bench/run.sh,
 * `name ops ops_per_sec ns_per_op [key=value ...]`; exits 1 on any error.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "tapeloop.h"

#define MSG_LEN 32              /* bytes per socket ping */

/* What one run measured; the root task fills it. */
typedef struct result {
    long ops;                   /* operations asked for and done */
    int64_t t0;                 /* when the timed part began */
    int64_t ns;                 /* the time they took */
    int param;                  /* the workload's parameter, as below */
    char extra[256];            /* "key=value ..." appended, or "" */
} result;

typedef struct workload {
    const char *name;           /* as given on the command line */
    long ops;                   /* default count */
    int param;                  /* queues: maxsize; yields: tasks */
    int warm;                   /* 1: an untimed run at ops/10 first */
    tl_task_fn root;            /* the root task; fills a result */
} workload;


/* ---- the clock the shared workloads call --------------------------------- */

static void
start_clock(result *r)
{
    r->t0 = now_ns();
}

static void
stop_clock(result *r)
{
    r->ns = now_ns() - r->t0;
}

#include "workloads.h"

/* ---- loopback TCP ping-pong -------------------------------------------- */

/* Receives exactly len bytes; 0 if the peer closed first, before any. */
static int
recv_all(tl_socket *s, char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = tl_recv(s, buf + got, len - got);
        CHECK(n);
        if (n == 0 && got == 0)
            return 0;
        if (n == 0)
            die("socket: the peer closed mid-message");
        got += (size_t)n;
    }
    return 1;
}

/* Accepts one connection and echoes whole messages until it closes. */
static void *
echo_task(void *p)
{
    tl_socket *listener = p, *s;
    char buf[MSG_LEN];

    CHECK(tl_accept(listener, &s));
    while (recv_all(s, buf, sizeof buf))
        CHECK(tl_send_all(s, buf, sizeof buf));
    tl_socket_close(s);
    return NULL;
}

/* One round trip: send a numbered message, wait for the same bytes. */
static void
ping(tl_socket *s, long i)
{
    char out[MSG_LEN], in[MSG_LEN];

    memset(out, 'x', sizeof out);
    snprintf(out, sizeof out, "ping %ld", i);
    CHECK(tl_send_all(s, out, sizeof out));
    if (!recv_all(s, in, sizeof in) || memcmp(in, out, sizeof in) != 0)
        die("socket: round trip %ld came back wrong", i);
}

static void *
socket_root(void *p)
{
    result *r = p;
    tl_socket *listener, *s;
    tl_task *echo;
    int64_t t0;

    CHECK(tl_listen(&listener, "127.0.0.1", 0, 16));
    CHECK(tl_spawn(&echo, echo_task, listener, NULL));
    CHECK(tl_connect(&s, "127.0.0.1", tl_socket_port(listener)));
    ping(s, -1);                /* the connection is up both ways */
    t0 = now_ns();
    for (long i = 0; i < r->ops; i++)
        ping(s, i);
    r->ns = now_ns() - t0;
    tl_socket_close(s);
    CHECK(tl_join(echo, NULL));
    tl_socket_close(listener);
    snprintf(r->extra, sizeof r->extra, "msg=%d", MSG_LEN);
    return NULL;
}

/* ---- 100k tasks alive at once -------------------------------------------- */

typedef struct mem {
    long vsz, rss;              /* /proc/self/statm, bytes */
    long maps, guards;          /* mappings, and PROT_NONE ones among them */
} mem;

static void
mem_now(mem *m)
{
    long pg = 4096, vsz, rss;
    char line[4096];
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f || fscanf(f, "%ld %ld", &vsz, &rss) != 2)
        die("alive: cannot read /proc/self/statm");
    fclose(f);
    m->vsz = vsz * pg;
    m->rss = rss * pg;
    m->maps = m->guards = 0;
    if (!(f = fopen("/proc/self/maps", "r")))
        die("alive: cannot read /proc/self/maps");
    while (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        m->maps++;
        if (sp && strncmp(sp + 1, "---p", 4) == 0)
            m->guards++;
    }
    fclose(f);
}

static void *
flag_waiter(void *p)
{
    CHECK(tl_flag_wait(p));
    return int_ptr(1);
}

/* Spawns every task (each parks on the flag), checks that all are blocked
 * and what memory grew by, then sets the flag and joins them all.  The
 * /proc reads are left out of the time. */
static void *
alive_root(void *p)
{
    result *r = p;
    tl_task **t = calloc((size_t)r->ops, sizeof *t);
    tl_flag *f;
    mem m0, m1;
    size_t blocked;
    int64_t t0, t1, t2;

    if (!t)
        die("alive: out of memory");
    CHECK(tl_flag_new(&f, NULL));
    mem_now(&m0);
    t0 = now_ns();
    for (long i = 0; i < r->ops; i++)
        CHECK(tl_spawn(&t[i], flag_waiter, f, NULL));
    t1 = now_ns();
    mem_now(&m1);
    blocked = tl_loop_waits(tl_loop_current(), NULL, 0);
    if (blocked != (size_t)r->ops)
        die("alive: %zu tasks blocked, not %ld", blocked, r->ops);
    t2 = now_ns();
    CHECK(tl_flag_set(f));
    for (long i = 0; i < r->ops; i++) {
        void *v = NULL;
        CHECK(tl_join(t[i], &v));
        if (v != int_ptr(1))
            die("alive: task %ld returned the wrong value", i);
        tl_task_detach(t[i]);
    }
    r->ns = (t1 - t0) + (now_ns() - t2);
    tl_flag_free(f);
    free(t);
    snprintf(r->extra, sizeof r->extra,
             "ok=1 blocked=%zu spawn_ms=%.1f rss_per_task=%.0f "
             "vsz_per_task=%.0f maps=%ld guarded=%ld",
             blocked, (double)(t1 - t0) / 1e6,
             (double)(m1.rss - m0.rss) / (double)r->ops,
             (double)(m1.vsz - m0.vsz) / (double)r->ops, m1.maps - m0.maps,
             m1.guards - m0.guards);
    return NULL;
}

/* ---- driver ------------------------------------------------------------ */

static const workload workloads[] = {
    {"spawn_join", 100000, 0, 1, spawn_join_root},
    {"sleep0", 1000000, 16, 1, sleep0_root},
    {"yield", 1000000, 16, 1, yield_root},
    {"yield1", 1000000, 1, 1, yield_root},  /* every step ends a pass */
    {"yield_apart", 1000000, 2, 1, yield_apart_root},
    {"nonblock", 1000000, 0, 1, nonblock_root},
    {"queue", 1000000, 0, 1, queue_root},
    {"queue1", 1000000, 1, 1, queue_root},
    {"socket", 100000, 0, 1, socket_root},
    {"alive", 100000, 0, 0, alive_root},    /* warm, it would measure less */
};
#define NWORKLOADS (sizeof workloads / sizeof *workloads)

/* Runs w's root in a fresh loop. */
static void
run_once(const workload *w, result *r)
{
    tl_loop *loop;

    CHECK(tl_loop_new(&loop, NULL));
    CHECK(tl_loop_run(loop, w->root, r, NULL));
    tl_loop_free(loop);
}

/* One measured run, printed as one line; after a warm-up run at a tenth of
 * the count where w asks for one, as asyncio_peer.py does too. */
static void
run(const workload *w, long ops)
{
    result r = {.ops = ops > 0 ? ops : w->ops, .param = w->param};
    result warm = {.ops = r.ops / 10, .param = w->param};

    if (w->warm && warm.ops > 0 && warm.ops >= w->param)
        run_once(w, &warm);
    run_once(w, &r);
    if (r.ops <= 0 || r.ns <= 0)
        die("%s: nothing measured", w->name);
    printf("%s %ld %.0f %.2f%s%s\n", w->name, r.ops,
           (double)r.ops * 1e9 / (double)r.ns, (double)r.ns / (double)r.ops,
           r.extra[0] ? " " : "", r.extra);
    if (fflush(stdout) != 0)
        die("cannot write the results");
}

static _Noreturn void
usage(void)
{
    fprintf(stderr, "usage: bench_loop [all|list|WORKLOAD] [REPEAT] [OPS]\n"
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

int
main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    long repeat = argc > 2 ? number(argv[2]) : 1;
    long ops = argc > 3 ? number(argv[3]) : 0;
    int found = 0;

    if (argc > 4)
        usage();
    if (strcmp(which, "list") == 0) {
        for (size_t i = 0; i < NWORKLOADS; i++)
            printf("%s\n", workloads[i].name);
        return 0;
    }
    for (size_t i = 0; i < NWORKLOADS; i++) {
        if (strcmp(which, "all") != 0 && strcmp(which, workloads[i].name))
            continue;
        found = 1;
        for (long k = 0; k < repeat; k++)
            run(&workloads[i], ops);
    }
    if (!found)
        usage();
    return 0;
}
