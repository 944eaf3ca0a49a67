/* SPDX-License-Identifier: MIT */
/* cmd_export.c -- tapeloop export [--format chrome] [-o file] trace.db:
 * the trace as Chrome Trace Event JSON (the object format, "traceEvents"),
 * which Perfetto and chrome://tracing open.  One process per loop, one
 * thread per task (tid = task id, tid 0 = the loop); "X" slices for
 * running and blocked spans (walk.c defines them: they never overlap on a
 * track), instants for runs, deadlocks, failures and cancels, a depth
 * counter per queue, and flow arrows from each queue_put to the get that
 * took its item and from each spawn to the child's first step.  Written
 * as the events are read, in one pass.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tapeloop.h"
#include "walk.h"

static const char usage[] = "[--format chrome] [-o out.json] trace.db";

/* A put whose item no get has taken yet. */
typedef struct put {
    int64_t item;               /* the item's number */
    int64_t time;               /* the put's time */
    unsigned task;              /* the putter */
} put;

/* A queue's puts in item order (a ring): FIFO queues take items in the
 * order they were put, so a get always matches the head. */
typedef struct ring {
    put *v;                     /* cap slots */
    size_t head, n, cap;
} ring;

typedef struct exporter {
    FILE *f;                    /* the output */
    walk *w;                    /* the walker, for names */
    int64_t nout;               /* trace events written */
    int64_t flows;              /* flow ids handed out */
    sqlite3_stmt *dl;           /* deadlock_waits of one deadlock */
    int oom;                    /* a pending put was lost to memory */
} exporter;

/* ---- writing ----------------------------------------------------------- */

/* ns as a microsecond timestamp with all its digits: "12.345". */
static const char *
us(int64_t ns, char *buf, size_t len)
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t v = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

    snprintf(buf, len, "%s%" PRIu64 ".%03" PRIu64, sign, v / 1000, v % 1000);
    return buf;
}

/* Starts a trace event: the separator, then {"ph":..,"pid":..,"tid":..,
 * "ts":.. ; the caller adds the rest and the closing brace. */
static void
ev_start(exporter *x, const char *ph, unsigned pid, unsigned tid,
         int64_t ns)
{
    char ts[40];

    fputs(x->nout++ ? ",\n" : "\n", x->f);
    fprintf(x->f, "{\"ph\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":%s", ph, pid,
            tid, us(ns, ts, sizeof ts));
}

/* ,"name":<s> */
static void
field(exporter *x, const char *key, const char *s)
{
    fprintf(x->f, ",\"%s\":", key);
    walk_json_str(x->f, s);
}

/* A flow arrow: "s" at (from_tid, from) and "f" at (to_tid, to), bound
 * to the slices around them. */
static void
flow(exporter *x, const char *name, unsigned pid, unsigned from_tid,
     int64_t from, unsigned to_tid, int64_t to)
{
    int64_t id = ++x->flows;

    ev_start(x, "s", pid, from_tid, from);
    fprintf(x->f, ",\"cat\":\"flow\",\"name\":\"%s\",\"id\":%" PRId64 "}",
            name, id);
    ev_start(x, "f", pid, to_tid, to);
    fprintf(x->f, ",\"cat\":\"flow\",\"name\":\"%s\",\"id\":%" PRId64
            ",\"bp\":\"e\"}", name, id);
}

/* Starts an instant on a track, up to its open args: {"seq":N ; the
 * caller may add fields, then closes with instant_end. */
static void
instant(exporter *x, const walk_ev *ev, unsigned tid, const char *name)
{
    ev_start(x, "i", ev->loop, tid, ev->time);
    fprintf(x->f, ",\"s\":\"%s\",\"cat\":\"event\"", tid ? "t" : "p");
    field(x, "name", name);
    fprintf(x->f, ",\"args\":{\"seq\":%" PRId64, ev->seq);
}

static void
instant_end(exporter *x)
{
    fputs("}}", x->f);
}

/* ---- spans ------------------------------------------------------------- */

static void
on_step(void *ud, walk_task *t, int64_t start, int64_t end, int64_t seq)
{
    exporter *x = ud;
    char d[40];

    ev_start(x, "X", t->loop, t->id, start);
    fprintf(x->f, ",\"dur\":%s,\"cat\":\"running\",\"name\":\"running\","
            "\"args\":{\"seq\":%" PRId64 "}}", us(end - start, d, sizeof d),
            seq);
    /* After the slice, so that a reader that keeps file order for equal
     * timestamps has the slice open when the arrow ends in it. */
    if (t->flow_pending) {
        t->flow_pending = 0;
        flow(x, "spawn", t->loop, t->spawner, t->spawn_time, t->id, start);
    }
}

static void
on_blocked(void *ud, walk_task *t, const walk_ev *block, int64_t end,
           const walk_ev *by)
{
    exporter *x = ud;
    walk *w = x->w;
    char obj[128], name[192], d[40];
    const char *wait = walk_wait_name(w, block->a);

    walk_object_name(w, t->loop, block->okind, block->object, obj,
                     sizeof obj);
    snprintf(name, sizeof name, "%s%s%s", wait, *obj ? " " : "", obj);
    ev_start(x, "X", t->loop, t->id, block->time);
    fprintf(x->f, ",\"dur\":%s,\"cat\":\"blocked\"",
            us(end - block->time, d, sizeof d));
    field(x, "name", name);
    fprintf(x->f, ",\"args\":{\"seq\":%" PRId64, block->seq);
    field(x, "wait", wait);
    if (*obj)
        field(x, "on", obj);
    if (!by) {
        fprintf(x->f, ",\"ended\":\"never woken\"");
    } else if (by->kind == TL_EV_WAKE) {
        if (by->b) {
            walk_object_name(w, t->loop, TL_OBJ_TASK, (unsigned)by->b, obj,
                             sizeof obj);
            field(x, "woken_by", obj);
        } else {
            fprintf(x->f, ",\"woken_by\":\"loop\"");
        }
        if (by->a)
            fprintf(x->f, ",\"rc\":\"%" PRId64 " %s\"", by->a,
                    tl_err_name((int)by->a));
    } else if (by->kind == TL_EV_BLOCK) {
        /* A cond waiter, notified, goes on to wait for the lock. */
        walk_object_name(w, t->loop, by->okind, by->object, obj, sizeof obj);
        snprintf(name, sizeof name, "%s%s%s", walk_wait_name(w, by->a),
                 *obj ? " " : "", obj);
        field(x, "then_waits", name);
    } else {
        field(x, "ended", walk_kind_name(w, by->rawkind));
    }
    fprintf(x->f, "}}");
}

/* ---- events ------------------------------------------------------------ */

static int
ring_push(ring *p, const walk_ev *ev)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        put *v = malloc(cap * sizeof *v);

        if (!v)
            return -1;
        for (size_t i = 0; i < p->n; i++)
            v[i] = p->v[(p->head + i) % p->cap];
        free(p->v);
        p->v = v;
        p->head = 0;
        p->cap = cap;
    }
    p->v[(p->head + p->n++) % p->cap] = (put){ev->a, ev->time, ev->task};
    return 0;
}

/* The pending put of item, dropping older ones that no get took (a queue
 * freed with items in it); NULL if there is none. */
static const put *
ring_take(ring *p, int64_t item)
{
    while (p->n) {
        const put *h = &p->v[p->head];

        if (h->item > item)
            return NULL;
        p->head = (p->head + 1) % p->cap;
        p->n--;
        if (h->item == item)
            return h;
    }
    return NULL;
}

static void
on_queue(exporter *x, const walk_ev *ev)
{
    walk_queue *q = walk_queue_find(x->w, ev->loop, ev->object);
    char name[128];
    const put *p;

    if (!q)
        return;
    if (!q->user && !(q->user = calloc(1, sizeof(ring)))) {
        x->oom = 1;
        return;
    }
    if (ev->kind == TL_EV_QUEUE_PUT && ring_push(q->user, ev) != 0)
        x->oom = 1;
    if (ev->kind == TL_EV_QUEUE_GET && (p = ring_take(q->user, ev->a)))
        flow(x, "item", ev->loop, p->task, p->time, ev->task, ev->time);
    /* The depth after the put or get, as a counter track per queue. */
    walk_object_name(x->w, ev->loop, TL_OBJ_QUEUE, ev->object, name,
                     sizeof name);
    ev_start(x, "C", ev->loop, 0, ev->time);
    field(x, "name", name);
    fprintf(x->f, ",\"args\":{\"depth\":%" PRId64 "}}", ev->b);
}

/* The deadlock, with its list from deadlock_waits, on the loop's track. */
static void
on_deadlock(exporter *x, const walk_ev *ev)
{
    char obj[128], line[300];
    int first = 1;

    instant(x, ev, 0, "deadlock");
    fprintf(x->f, ",\"blocked\":%" PRId64 ",\"waits\":[", ev->a);
    sqlite3_reset(x->dl);
    sqlite3_bind_int64(x->dl, 1, ev->seq);
    while (sqlite3_step(x->dl) == SQLITE_ROW) {
        unsigned task = (unsigned)sqlite3_column_int64(x->dl, 0);
        const char *wait = (const char *)sqlite3_column_text(x->dl, 1);
        char who[128];

        walk_object_name(x->w, ev->loop, TL_OBJ_TASK, task, who, sizeof who);
        walk_object_name(x->w, ev->loop, sqlite3_column_int(x->dl, 2),
                         (unsigned)sqlite3_column_int64(x->dl, 3), obj,
                         sizeof obj);
        snprintf(line, sizeof line, "%s waits %s%s%s", who,
                 wait ? wait : "?", *obj ? " " : "", obj);
        fputs(first ? "" : ",", x->f);
        walk_json_str(x->f, line);
        first = 0;
    }
    fputs("]", x->f);
    instant_end(x);
}

static void
on_event(void *ud, const walk_ev *ev)
{
    exporter *x = ud;
    walk_task *t;
    char obj[128], name[192];

    switch (ev->kind) {
    case TL_EV_QUEUE_PUT: case TL_EV_QUEUE_GET:
        if (ev->okind == TL_OBJ_QUEUE)
            on_queue(x, ev);
        break;
    case TL_EV_RUN_START:
        snprintf(name, sizeof name, "run %u start", ev->run);
        instant(x, ev, 0, name);
        instant_end(x);
        break;
    case TL_EV_RUN_END:
        snprintf(name, sizeof name, "run %u end", ev->run);
        instant(x, ev, 0, name);
        fprintf(x->f, ",\"rc\":\"%" PRId64 "%s%s\"", ev->a,
                ev->a ? " " : "", ev->a ? tl_err_name((int)ev->a) : "");
        instant_end(x);
        break;
    case TL_EV_DEADLOCK:
        on_deadlock(x, ev);
        break;
    case TL_EV_TASK_FAILED:
        t = walk_task_find(x->w, ev->loop, ev->task);
        instant(x, ev, ev->task, "task_failed");
        if (t && t->message)
            field(x, "message", t->message);
        instant_end(x);
        break;
    case TL_EV_TASK_CANCELLED:
        instant(x, ev, ev->task, "task_cancelled");
        instant_end(x);
        break;
    case TL_EV_CANCEL:
        walk_object_name(x->w, ev->loop, TL_OBJ_TASK, ev->object, obj,
                         sizeof obj);
        snprintf(name, sizeof name, "cancel %s", obj);
        instant(x, ev, ev->task, name);
        instant_end(x);
        break;
    default:
        break;
    }
}

/* ---- the file ---------------------------------------------------------- */

/* Names the tracks: a process per loop, a thread per task ("id name"),
 * sorted by id; tid 0 is the loop itself. */
static void
metadata(exporter *x)
{
    walk *w = x->w;
    char name[192];
    unsigned loop = 0;

    for (size_t i = 0; i < w->ntasks; i++) {
        const walk_task *t = w->tasks[i];

        if (i == 0 || t->loop != loop) {
            loop = t->loop;
            snprintf(name, sizeof name, "loop %u", loop);
            ev_start(x, "M", loop, 0, 0);
            fprintf(x->f, ",\"name\":\"process_name\",\"args\":{\"name\":");
            walk_json_str(x->f, name);
            fprintf(x->f, "}}");
            ev_start(x, "M", loop, 0, 0);
            fprintf(x->f, ",\"name\":\"process_sort_index\","
                    "\"args\":{\"sort_index\":%u}}", loop);
            ev_start(x, "M", loop, 0, 0);
            fprintf(x->f, ",\"name\":\"thread_name\","
                    "\"args\":{\"name\":\"0 loop\"}}");
        }
        snprintf(name, sizeof name, "%u%s%s", t->id, *t->name ? " " : "",
                 t->name);
        ev_start(x, "M", t->loop, t->id, 0);
        fprintf(x->f, ",\"name\":\"thread_name\",\"args\":{\"name\":");
        walk_json_str(x->f, name);
        fprintf(x->f, "}}");
        ev_start(x, "M", t->loop, t->id, 0);
        fprintf(x->f, ",\"name\":\"thread_sort_index\","
                "\"args\":{\"sort_index\":%u}}", t->id);
    }
}

static int
export_chrome(walk *w, FILE *f, const char *path)
{
    static const walk_ops ops = {on_event, on_step, on_blocked};
    exporter x = {.f = f, .w = w};
    int rc;

    if (sqlite3_prepare_v2(w->db, "SELECT task, wait, okind, object FROM "
                                  "deadlock_waits WHERE seq = ?1",
                           -1, &x.dl, NULL) != SQLITE_OK) {
        snprintf(w->err, sizeof w->err, "%s: %s", path,
                 sqlite3_errmsg(w->db));
        sqlite3_finalize(x.dl);
        return -1;
    }
    fprintf(f, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"tool\":"
               "\"tapeloop export\",\"version\":\"%s\",\"trace\":", TL_VERSION);
    walk_json_str(f, path);
    fprintf(f, ",\"program\":");
    walk_json_str(f, w->program);
    fprintf(f, "},\"traceEvents\":[");
    rc = walk_events(w, &ops, &x);
    if (rc == 0) {
        metadata(&x);
        fprintf(f, "\n]}\n");
    }
    sqlite3_finalize(x.dl);
    for (size_t i = 0; i < w->nqueues; i++) {
        ring *p = w->queues[i]->user;
        if (p)
            free(p->v);
        free(p);
        w->queues[i]->user = NULL;
    }
    if (rc == 0 && x.oom) {
        snprintf(w->err, sizeof w->err, "out of memory");
        return -1;
    }
    return rc;
}

/* ---- the command ------------------------------------------------------- */

int
cmd_export(int argc, char **argv)
{
    const char *path = NULL, *format = "chrome", *out = NULL;
    FILE *f = stdout;
    int rc = EXIT_OK;
    sqlite3 *db;
    walk w;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--format")) {
            if (i + 1 >= argc)
                return cli_usage("export", usage, "%s needs a value", a);
            format = argv[++i];
        } else if (!strncmp(a, "--format=", 9)) {
            format = a + 9;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc)
                return cli_usage("export", usage, "%s needs a file", a);
            out = argv[++i];
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: tapeloop export %s\n", usage);
            return EXIT_OK;
        } else if (!strcmp(a, "--") && i + 1 < argc && !path) {
            path = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("export", usage, "unknown option %s", a);
        } else if (path) {
            return cli_usage("export", usage, "one trace at a time");
        } else {
            path = a;
        }
    }
    if (strcmp(format, "chrome") != 0)
        return cli_usage("export", usage, "unknown format '%s' (known: "
                         "chrome)", format);
    if (!path)
        return cli_usage("export", usage, "no trace given");
    if (!(db = cli_open_trace(path)))
        return EXIT_USAGE;
    if (walk_init(&w, db, path) != 0) {
        fprintf(stderr, "tapeloop: %s\n", w.err);
        rc = EXIT_USAGE;
    } else if (out && !(f = fopen(out, "w"))) {
        fprintf(stderr, "tapeloop: %s: %s\n", out, strerror(errno));
        rc = EXIT_USAGE;
    } else if (export_chrome(&w, f, path) != 0) {
        fprintf(stderr, "tapeloop: %s\n", w.err);
        rc = EXIT_USAGE;
    }
    if (f != stdout && f && fclose(f) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "tapeloop: %s: %s\n", out, strerror(errno));
        rc = EXIT_USAGE;
    } else if (f == stdout && (fflush(stdout) != 0 || ferror(stdout)) &&
               rc == EXIT_OK) {
        fprintf(stderr, "tapeloop export: writing: %s\n", strerror(errno));
        rc = EXIT_USAGE;
    }
    if (out && f && rc != EXIT_OK)
        unlink(out);
    walk_fini(&w);
    sqlite3_close(db);
    return rc;
}
