/* SPDX-License-Identifier: MIT */
/* cmd_stats.c -- tapeloop stats [--json] trace.db: events by kind, and per
 * task (steps, time running, time blocked by what it waited on, end) and
 * per queue (puts, gets, peak depth, time tasks were blocked on it), from
 * one pass over the events (walk.c defines the spans).  Plain tables for
 * people, --json for scripts; times in the JSON are integer ns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tapeloop.h"
#include "walk.h"

static const char usage[] = "[--json] trace.db";

/* ---- text -------------------------------------------------------------- */

/* A duration in a unit that keeps it short: "950 ns", "12.3 us". */
static const char *
dur(int64_t ns, char *buf, size_t len)
{
    if (ns < 1000)
        snprintf(buf, len, "%" PRId64 " ns", ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.3f s", (double)ns / 1e9);
    return buf;
}

/* s with control characters as '?', so that a name cannot break a row. */
static const char *
clean(const char *s, char *buf, size_t len)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < len; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    buf[i] = 0;
    return buf;
}

/* "0", or "-35 TL_EDEADLOCK"; "died" when the run never returned. */
static const char *
rc_text(const walk_run *r, char *buf, size_t len)
{
    if (!r->has_rc)
        snprintf(buf, len, "died");
    else if (r->rc == 0)
        snprintf(buf, len, "0");
    else
        snprintf(buf, len, "%" PRId64 " %s", r->rc, tl_err_name((int)r->rc));
    return buf;
}

/* What a task that never ended was last doing. */
static const char *
end_text(walk *w, const walk_task *t, char *buf, size_t len)
{
    char obj[128];

    if (t->end_state)
        return t->end_state;
    if (!t->stuck)
        return "not ended";
    walk_object_name(w, t->loop, t->block.okind, t->block.object, obj,
                     sizeof obj);
    snprintf(buf, len, "blocked: %s%s%s", walk_wait_name(w, t->block.a),
             *obj ? " " : "", obj);
    return buf;
}

typedef struct kind_count {
    int kind;                   /* stored kind, -1: unknown */
    int64_t n;                  /* events */
} kind_count;

static int
by_count(const void *x, const void *y)
{
    const kind_count *a = x, *b = y;

    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return a->kind - b->kind;
}

static void
text_kinds(walk *w)
{
    kind_count *kc = malloc((w->nkinds + 1) * sizeof *kc);
    size_t n = 0;

    printf("\nevents by kind\n");
    if (!kc)
        return;
    for (size_t k = 0; k < w->nkinds; k++)
        if (w->kind_counts[k])
            kc[n++] = (kind_count){(int)k, w->kind_counts[k]};
    if (w->unknown_kinds)
        kc[n++] = (kind_count){-1, w->unknown_kinds};
    qsort(kc, n, sizeof *kc, by_count);
    for (size_t i = 0; i < n; i++) {
        const char *name = walk_kind_name(w, kc[i].kind);
        char other[32];

        if (!name) {
            snprintf(other, sizeof other, kc[i].kind < 0 ? "(unknown)"
                                                         : "kind %d",
                     kc[i].kind);
            name = other;
        }
        printf("  %-22s %10" PRId64 "\n", name, kc[i].n);
    }
    free(kc);
}

/* "get 1.20 ms, put 3.0 us": what a task's blocked time was spent on. */
static void
print_waits(walk *w, const int64_t *ns)
{
    char d[32];
    int first = 1;

    for (int k = 0; k < WALK_NWAITS; k++) {
        if (!ns[k])
            continue;
        printf("%s%s %s", first ? "" : ", ", walk_wait_name(w, k),
               dur(ns[k], d, sizeof d));
        first = 0;
    }
}

static int
name_width(walk *w, int tasks)
{
    size_t width = 4;

    for (size_t i = 0; tasks && i < w->ntasks; i++)
        if (strlen(w->tasks[i]->name) > width)
            width = strlen(w->tasks[i]->name);
    for (size_t i = 0; !tasks && i < w->nqueues; i++)
        if (strlen(w->queues[i]->name) > width)
            width = strlen(w->queues[i]->name);
    return (int)(width > 32 ? 32 : width);
}

static void
text_tasks(walk *w)
{
    int nw = name_width(w, 1), ew = 9;
    char d1[32], d2[32], end[192], name[80], endc[192];

    for (size_t i = 0; i < w->ntasks; i++) {
        int n = (int)strlen(end_text(w, w->tasks[i], end, sizeof end));
        ew = n > ew ? n : ew;
    }
    printf("\ntasks\n  %4s %6s  %-*s %8s %10s %10s  %-*s  %s\n", "loop", "id",
           nw, "name", "steps", "running", "blocked", ew, "end",
           "blocked on");
    for (size_t i = 0; i < w->ntasks; i++) {
        walk_task *t = w->tasks[i];

        printf("  %4u %6u  %-*.*s %8" PRId64 " %10s %10s  %-*s  ", t->loop,
               t->id, nw, nw, clean(t->name, name, sizeof name), t->steps,
               dur(t->run_ns, d1, sizeof d1),
               dur(t->blocked_ns, d2, sizeof d2), ew,
               clean(end_text(w, t, end, sizeof end), endc, sizeof endc));
        print_waits(w, t->wait_ns);
        printf("\n");
    }
}

static void
text_queues(walk *w)
{
    int nw = name_width(w, 0);
    char d[3][32], name[80];

    printf("\nqueues\n  %4s %6s  %-*s %6s %8s %8s %6s %10s %10s %6s\n",
           "loop", "id", nw, "name", "max", "puts", "gets", "peak",
           "get-wait", "put-wait", "closed");
    for (size_t i = 0; i < w->nqueues; i++) {
        walk_queue *q = w->queues[i];

        printf("  %4u %6u  %-*.*s %6" PRId64 " %8" PRId64 " %8" PRId64
               " %6" PRId64 " %10s %10s %6s",
               q->loop, q->id, nw, nw, clean(q->name, name, sizeof name),
               q->maxsize, q->puts, q->gets,
               q->peak, dur(q->wait_ns[WALK_QGET], d[0], sizeof d[0]),
               dur(q->wait_ns[WALK_QPUT], d[1], sizeof d[1]),
               q->closed ? "yes" : "no");
        if (q->peeks || q->wait_ns[WALK_QPEEK])
            printf("  peeks %" PRId64 ", peek-wait %s", q->peeks,
                   dur(q->wait_ns[WALK_QPEEK], d[2], sizeof d[2]));
        printf("\n");
    }
}

static void
print_text(walk *w, const char *path)
{
    char d[32], rc[64], prog[256];

    printf("trace %s: %s, %" PRId64 " events, %zu run%s, %u loop%s, %s\n",
           path, w->program ? clean(w->program, prog, sizeof prog)
                            : "(program unknown)", w->nevents,
           w->nruns, w->nruns == 1 ? "" : "s", w->nloops,
           w->nloops == 1 ? "" : "s", dur(w->last_time, d, sizeof d));
    printf("\nruns\n  %4s %4s %6s  %s\n", "run", "loop", "root", "rc");
    for (size_t i = 0; i < w->nruns; i++)
        printf("  %4u %4u %6u  %s\n", w->runs[i].run, w->runs[i].loop,
               w->runs[i].root, rc_text(&w->runs[i], rc, sizeof rc));
    text_kinds(w);
    text_tasks(w);
    if (w->nqueues)
        text_queues(w);
}

/* ---- JSON -------------------------------------------------------------- */

static void
json_kinds(walk *w)
{
    int first = 1;

    printf("  \"kinds\": {");
    for (size_t k = 0; k < w->nkinds; k++) {
        const char *name = walk_kind_name(w, (int)k);

        if (!name)
            continue;
        printf("%s\n    ", first ? "" : ",");
        walk_json_str(stdout, name);
        printf(": %" PRId64, w->kind_counts[k]);
        first = 0;
    }
    printf("\n  },\n  \"unknown_kinds\": %" PRId64 ",\n", w->unknown_kinds);
}

static void
json_task(walk *w, const walk_task *t)
{
    char obj[128], buf[192];
    int first = 1;

    printf("    {\"loop\": %u, \"id\": %u, \"name\": ", t->loop, t->id);
    walk_json_str(stdout, t->name);
    printf(", \"parent\": %u, \"steps\": %" PRId64 ", \"running_ns\": %" PRId64
           ", \"blocked_ns\": %" PRId64 ", \"blocked_by\": {",
           t->parent, t->steps, t->run_ns, t->blocked_ns);
    for (int k = 0; k < WALK_NWAITS; k++) {
        if (!t->wait_ns[k])
            continue;
        printf("%s", first ? "" : ", ");
        walk_json_str(stdout, walk_wait_name(w, k));
        printf(": %" PRId64, t->wait_ns[k]);
        first = 0;
    }
    printf("}, \"end_state\": ");
    walk_json_str(stdout, t->end_state);
    printf(", \"blocked_at_end\": ");
    if (t->stuck) {
        walk_object_name(w, t->loop, t->block.okind, t->block.object, obj,
                         sizeof obj);
        snprintf(buf, sizeof buf, "%s%s%s", walk_wait_name(w, t->block.a),
                 *obj ? " " : "", obj);
        walk_json_str(stdout, buf);
    } else {
        printf("null");
    }
    printf(", \"message\": ");
    walk_json_str(stdout, t->message);
    printf("}");
}

static void
json_queue(const walk_queue *q)
{
    printf("    {\"loop\": %u, \"id\": %u, \"name\": ", q->loop, q->id);
    walk_json_str(stdout, q->name);
    printf(", \"maxsize\": %" PRId64 ", \"puts\": %" PRId64 ", \"gets\": %"
           PRId64 ", \"peeks\": %" PRId64 ", \"peak_depth\": %" PRId64
           ", \"closed\": %s, \"blocked_ns\": {\"get\": %" PRId64
           ", \"put\": %" PRId64 ", \"peek\": %" PRId64 "}}",
           q->maxsize, q->puts, q->gets, q->peeks, q->peak,
           q->closed ? "true" : "false", q->wait_ns[WALK_QGET],
           q->wait_ns[WALK_QPUT], q->wait_ns[WALK_QPEEK]);
}

static void
print_json(walk *w, const char *path)
{
    printf("{\n  \"trace\": ");
    walk_json_str(stdout, path);
    printf(",\n  \"program\": ");
    walk_json_str(stdout, w->program);
    printf(",\n  \"events\": %" PRId64 ",\n  \"duration_ns\": %" PRId64
           ",\n  \"loops\": %u,\n  \"runs\": [",
           w->nevents, w->last_time, w->nloops);
    for (size_t i = 0; i < w->nruns; i++) {
        const walk_run *r = &w->runs[i];

        printf("%s\n    {\"run\": %u, \"loop\": %u, \"root\": %u, \"rc\": ",
               i ? "," : "", r->run, r->loop, r->root);
        if (r->has_rc)
            printf("%" PRId64 ", \"rc_name\": \"%s\"}", r->rc,
                   r->rc ? tl_err_name((int)r->rc) : "ok");
        else
            printf("null, \"rc_name\": null}");
    }
    printf("\n  ],\n");
    json_kinds(w);
    printf("  \"tasks\": [");
    for (size_t i = 0; i < w->ntasks; i++) {
        printf("%s\n", i ? "," : "");
        json_task(w, w->tasks[i]);
    }
    printf("\n  ],\n  \"queues\": [");
    for (size_t i = 0; i < w->nqueues; i++) {
        printf("%s\n", i ? "," : "");
        json_queue(w->queues[i]);
    }
    printf("\n  ]\n}\n");
}

/* ---- the command ------------------------------------------------------- */

int
cmd_stats(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, rc = EXIT_OK;
    sqlite3 *db;
    walk w;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: tapeloop stats %s\n", usage);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--") && i + 1 < argc && !path) {
            path = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage("stats", usage, "unknown option %s", argv[i]);
        } else if (path) {
            return cli_usage("stats", usage, "one trace at a time");
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return cli_usage("stats", usage, "no trace given");
    if (!(db = cli_open_trace(path)))
        return EXIT_USAGE;
    if (walk_init(&w, db, path) != 0 || walk_events(&w, NULL, NULL) != 0) {
        fprintf(stderr, "tapeloop: %s\n", w.err);
        rc = EXIT_USAGE;
    } else if (json) {
        print_json(&w, path);
    } else {
        print_text(&w, path);
    }
    walk_fini(&w);
    sqlite3_close(db);
    if (rc == EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "tapeloop stats: writing: %s\n", strerror(errno));
        rc = EXIT_USAGE;
    }
    return rc;
}
