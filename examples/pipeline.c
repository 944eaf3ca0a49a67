/* SPDX-License-Identifier: MIT */
/* pipeline.c -- four named tasks, source -> parse -> transform -> sink,
 * joined by bounded queues "raw", "parsed" and "out".  By default transform
 * forgets to close "out", so sink waits for ever and the loop reports a
 * deadlock; --fixed closes every queue and the pipeline drains.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapeloop.h"

#define QUEUE_SIZE 2            /* every queue holds at most two items */
#define ITEMS_MAX 1000000       /* --items upper bound */

/* What the stages share; the queues are created before the loop runs. */
typedef struct pipeline {
    tl_queue *raw;              /* source -> parse: "item 7" strings */
    tl_queue *parsed;           /* parse -> transform: numbers */
    tl_queue *out;              /* transform -> sink: squared numbers */
    long items;                 /* how many items source emits */
    bool fixed;                 /* every stage closes its output */
    long got;                   /* items the sink received */
    long sum;                   /* their sum */
} pipeline;

/* Emits "item 1" ... "item N" as heap strings, then closes "raw". */
static void *
source(void *arg)
{
    pipeline *p = arg;

    for (long i = 1; i <= p->items; i++) {
        char *line = malloc(32);
        if (!line)
            tl_fail("source: out of memory");
        snprintf(line, 32, "item %ld", i);
        if (tl_queue_put(p->raw, line) != 0) {
            free(line);
            break;
        }
    }
    tl_queue_close(p->raw);
    return NULL;
}

/* Turns each "item N" into the number N, then closes "parsed". */
static void *
parse(void *arg)
{
    pipeline *p = arg;
    void *item;

    while (tl_queue_get(p->raw, &item) == 0) {
        char *line = item;
        long n = strtol(line + strlen("item "), NULL, 10);
        free(line);
        if (tl_queue_put(p->parsed, (void *)(intptr_t)n) != 0)
            break;
    }
    tl_queue_close(p->parsed);
    return NULL;
}

/* Squares each number.  The bug: when "parsed" runs dry it just returns,
 * and nobody will ever close "out" (unless --fixed). */
static void *
transform(void *arg)
{
    pipeline *p = arg;
    void *item;

    while (tl_queue_get(p->parsed, &item) == 0) {
        long n = (long)(intptr_t)item;
        if (tl_queue_put(p->out, (void *)(intptr_t)(n * n)) != 0)
            break;
    }
    if (p->fixed)
        tl_queue_close(p->out);
    return NULL;
}

/* Counts and sums what arrives until "out" is closed. */
static void *
sink(void *arg)
{
    pipeline *p = arg;
    void *item;

    while (tl_queue_get(p->out, &item) == 0) {
        p->got++;
        p->sum += (long)(intptr_t)item;
    }
    return NULL;
}

/* The root task: starts the stages in pipeline order and joins them. */
static void *
run_pipeline(void *arg)
{
    static const struct {
        const char *name;       /* the task's name */
        tl_task_fn fn;          /* its body */
    } stages[] = {
        {"source", source},
        {"parse", parse},
        {"transform", transform},
        {"sink", sink},
    };
    enum { NSTAGES = sizeof stages / sizeof stages[0] };
    tl_task *task[NSTAGES];
    int rc;

    for (int i = 0; i < NSTAGES; i++)
        if ((rc = tl_spawn(&task[i], stages[i].fn, arg, stages[i].name)) != 0)
            tl_fail("spawn %s: %s", stages[i].name, tl_strerror(rc));
    for (int i = 0; i < NSTAGES; i++)
        if ((rc = tl_join(task[i], NULL)) != 0)
            tl_fail("%s: %s", stages[i].name, tl_strerror(rc));
    return NULL;
}

/* Prints the usage to f and returns status, the exit status. */
static int
usage(const char *prog, FILE *f, int status)
{
    fprintf(f,
            "usage: %s [--fixed] [--items N]\n"
            "  source -> parse -> transform -> sink over queues of %d.\n"
            "  By default transform never closes its output queue and the\n"
            "  pipeline deadlocks (exit 1); --fixed closes it (exit 0).\n"
            "  --items N   items the source emits (default 10)\n",
            prog, QUEUE_SIZE);
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

/* Runs the pipeline in loop; returns the exit status and prints why. */
static int
report(tl_loop *loop, pipeline *p)
{
    int rc = tl_loop_run(loop, run_pipeline, p, NULL);

    if (rc == TL_EDEADLOCK) {
        printf("deadlock: %zu tasks blocked\n", tl_loop_waits(loop, NULL, 0));
        tl_loop_print_waits(loop, stdout);
        printf("sink got %ld of %ld items before it blocked; "
               "run with --fixed to close every queue\n", p->got, p->items);
        return 1;
    }
    if (rc != 0) {
        printf("pipeline failed: %s\n", tl_strerror(rc));
        return 1;
    }
    printf("sink got %ld items (sum of squares %ld)\n", p->got, p->sum);
    return p->got == p->items ? 0 : 1;
}

int
main(int argc, char **argv)
{
    pipeline p = {.items = 10};
    tl_loop *loop;
    int rc, status;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(argv[0], stdout, 0);
        else if (strcmp(argv[i], "--fixed") == 0)
            p.fixed = true;
        else if (strcmp(argv[i], "--items") == 0 && i + 1 < argc &&
                 parse_long(argv[i + 1], 0, ITEMS_MAX, &p.items))
            i++;
        else
            return usage(argv[0], stderr, 2);
    }
    if ((rc = tl_loop_new(&loop, NULL)) != 0) {
        fprintf(stderr, "pipeline: %s\n", tl_strerror(rc));
        return 1;
    }
    if ((rc = tl_queue_new(&p.raw, QUEUE_SIZE, "raw")) != 0 ||
        (rc = tl_queue_new(&p.parsed, QUEUE_SIZE, "parsed")) != 0 ||
        (rc = tl_queue_new(&p.out, QUEUE_SIZE, "out")) != 0) {
        fprintf(stderr, "pipeline: %s\n", tl_strerror(rc));
        status = 1;
    } else {
        printf("pipeline: %ld items, source -> parse -> transform -> sink "
               "(queues of %d)%s\n", p.items, QUEUE_SIZE,
               p.fixed ? ", fixed" : "");
        status = report(loop, &p);
    }
    tl_loop_free(loop);
    tl_queue_free(p.raw);
    tl_queue_free(p.parsed);
    tl_queue_free(p.out);
    return status;
}
