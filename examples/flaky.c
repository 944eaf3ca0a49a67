/* SPDX-License-Identifier: MIT */
/* flaky.c -- a test that fails now and then: task "client" sends a request
 * to task "server" and waits for the reply with a timeout.  The server's
 * delay comes from tl_random(), so about one run in three times out;
 * TAPELOOP_SEED (read by the core) or --delay-ms makes the outcome fixed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapeloop.h"

#define MS_MAX 600000           /* --timeout-ms and --delay-ms bound: 10 min */

/* What travels over the queues: the request, and the two racers' news. */
static char ping[] = "ping";
static char pong[] = "pong";
static char alarm_msg[] = "timeout";

/* The test: its queues, settings and outcome. */
typedef struct flaky {
    tl_queue *requests;         /* client -> server */
    tl_queue *first;            /* the reply and the alarm race into it */
    tl_task *server;            /* so the client can cancel a late one */
    long timeout_ms;            /* how long the client waits */
    long delay_ms;              /* the server's delay; -1 = random */
    bool verbose;               /* print the server's delay */
    double elapsed_ms;          /* when the client got its answer */
    bool passed;                /* the reply won */
} flaky;

/* Serves one request: waits a while, then replies into "first".  The wait
 * is uniform in [0, 1.5 x timeout) ms unless --delay-ms fixed it. */
static void *
server(void *arg)
{
    flaky *f = arg;
    long delay = f->delay_ms, span = f->timeout_ms * 3 / 2;
    void *req;

    if (tl_queue_get(f->requests, &req) != 0 || req != ping)
        return NULL;
    if (delay < 0)
        delay = span > 0 ? (long)(tl_random() % (unsigned long)span) : 0;
    if (f->verbose)
        printf("server: replying after %ld ms\n", delay);
    if (tl_sleep((double)delay / 1000.0) != 0)
        return NULL;            /* cancelled: the client gave up */
    tl_queue_put(f->first, pong);
    return NULL;
}

/* Raises the alarm into "first" once the timeout has passed. */
static void *
timer(void *arg)
{
    flaky *f = arg;

    if (tl_sleep((double)f->timeout_ms / 1000.0) != 0)
        return NULL;            /* cancelled: the reply came first */
    tl_queue_put(f->first, alarm_msg);
    return NULL;
}

/* Sends the request, starts the timer, takes whichever answer comes first
 * and cancels the other racer. */
static void *
client(void *arg)
{
    flaky *f = arg;
    double t0 = tl_now();
    tl_task *timer_task;
    void *answer;
    int rc;

    if ((rc = tl_queue_put(f->requests, ping)) != 0 ||
        (rc = tl_spawn(&timer_task, timer, f, "timer")) != 0)
        tl_fail("client: %s", tl_strerror(rc));
    if ((rc = tl_queue_get(f->first, &answer)) != 0) {
        tl_cancel(timer_task);
        tl_join(timer_task, NULL);
        tl_fail("client: %s", tl_strerror(rc));
    }
    f->elapsed_ms = (tl_now() - t0) * 1000.0;
    f->passed = answer == pong;
    /* The loser may have ended already (both fired in one pass): then
     * tl_cancel says TL_EINVAL and its news stays unread in "first". */
    tl_cancel(f->passed ? timer_task : f->server);
    tl_join(timer_task, NULL);
    return NULL;
}

/* The root task: the server first, so it already waits for the request. */
static void *
run_test(void *arg)
{
    flaky *f = arg;
    tl_task *c;
    int rc;

    if ((rc = tl_spawn(&f->server, server, f, "server")) != 0 ||
        (rc = tl_spawn(&c, client, f, "client")) != 0)
        tl_fail("spawn: %s", tl_strerror(rc));
    if ((rc = tl_join(c, NULL)) != 0)
        tl_fail("client: %s", tl_strerror(rc));
    tl_join(f->server, NULL);   /* TL_ECANCELED when it lost */
    return NULL;
}

/* Prints the usage to f and returns status, the exit status. */
static int
usage(const char *prog, FILE *out, int status)
{
    fprintf(out,
            "usage: %s [--timeout-ms T] [--delay-ms D] [--verbose]\n"
            "  The client waits T ms (default 100) for a reply the server\n"
            "  sends after a random 0..1.5T ms: PASS (exit 0) or FAIL\n"
            "  (exit 1).  TAPELOOP_SEED=S fixes the random delay.\n"
            "  --timeout-ms T  the client's timeout, 1..%d\n"
            "  --delay-ms D    the server's delay, fixed, 0..%d\n"
            "  --verbose       print the server's delay\n",
            prog, MS_MAX, MS_MAX);
    return status;
}

/* Parses a whole decimal number in [min, max]; false if s is not one. */
static bool
parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (!s || !*s)
        return false;
    v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Reads argv into f; returns -1 to go on, else the exit status. */
static int
parse_args(int argc, char **argv, flaky *f)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return usage(argv[0], stdout, 0);
        if (strcmp(a, "--verbose") == 0)
            f->verbose = true;
        else if (strcmp(a, "--timeout-ms") == 0 &&
            parse_long(v, 1, MS_MAX, &f->timeout_ms))
            i++;
        else if (strcmp(a, "--delay-ms") == 0 &&
                 parse_long(v, 0, MS_MAX, &f->delay_ms))
            i++;
        else
            return usage(argv[0], stderr, 2);
    }
    return -1;
}

int
main(int argc, char **argv)
{
    flaky f = {.timeout_ms = 100, .delay_ms = -1};
    tl_loop *loop = NULL;
    int rc, status;

    if ((status = parse_args(argc, argv, &f)) >= 0)
        return status;
    if ((rc = tl_loop_new(&loop, NULL)) != 0 ||
        (rc = tl_queue_new(&f.requests, 1, "requests")) != 0 ||
        (rc = tl_queue_new(&f.first, 0, "first")) != 0 ||
        (rc = tl_loop_run(loop, run_test, &f, NULL)) != 0) {
        printf("ERROR: %s\n", tl_strerror(rc));
        status = 1;
    } else if (f.passed) {
        printf("PASS: reply in %.0f ms (timeout %ld ms)\n", f.elapsed_ms,
               f.timeout_ms);
        status = 0;
    } else {
        printf("FAIL: timed out after %.0f ms (no reply)\n", f.elapsed_ms);
        status = 1;
    }
    tl_loop_free(loop);
    tl_queue_free(f.requests);
    tl_queue_free(f.first);
    return status;
}
