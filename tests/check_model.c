/* SPDX-License-Identifier: MIT */
/* check_model.c -- the TUI's model alone (tui/model.h, no curses): paging,
 * filters, search, the same-task and same-queue jumps, the first failure
 * and the deadlock, the state and the wait-for graph at the cursor,
 * swimlanes, and the traces it refuses.  Each test records the traces it
 * needs, from small programs run with tl_options.record in a child
 * process, into its own mkdtemp directory.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../instrument/store.h"
#include "../tui/model.h"
#include "tl_check.h"

static char dir[256];                   /* this test's directory */

static void
setup(void)
{
    const char *t = getenv("TMPDIR");

    snprintf(dir, sizeof dir, "%s/tl-model.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    unsetenv("TAPELOOP_RECORD");
    unsetenv("TAPELOOP_RECORD_PARENT");
}

static void
teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* ---- the programs recorded ---------------------------------------------- */

static tl_queue *qa, *qb;               /* the queues a program made */

/* alpha and beta each put one item to the other, then wait for a second
 * one that never comes: a cycle in the wait-for graph. */
static void *
alpha(void *arg)
{
    void *it;

    (void)arg;
    tl_queue_put(qb, (void *)1);
    tl_queue_get(qa, &it);
    tl_queue_get(qa, &it);
    return NULL;
}

static void *
beta(void *arg)
{
    void *it;

    (void)arg;
    tl_queue_put(qa, (void *)1);
    tl_queue_get(qb, &it);
    tl_queue_get(qb, &it);
    return NULL;
}

static void *
napper(void *arg)
{
    (void)arg;
    tl_sleep(0.002);
    return NULL;
}

static void *
cycle_root(void *arg)
{
    tl_task *a, *b, *n;

    (void)arg;
    tl_queue_new(&qa, 0, "a");
    tl_queue_new(&qb, 0, "b");
    tl_spawn(&n, napper, NULL, "napper");
    tl_spawn(&a, alpha, NULL, "alpha");
    tl_spawn(&b, beta, NULL, "beta");
    tl_join(n, NULL);
    tl_join(a, NULL);
    tl_join(b, NULL);
    return NULL;
}

/* worker takes two jobs, then fails. */
static void *
worker(void *arg)
{
    void *it;

    (void)arg;
    tl_queue_get(qa, &it);
    tl_yield();
    tl_queue_get(qa, &it);
    tl_fail("boom %d", 7);
}

static void *
fail_root(void *arg)
{
    tl_task *w;

    (void)arg;
    tl_queue_new(&qa, 0, "jobs");
    tl_spawn(&w, worker, NULL, "worker");
    for (long i = 0; i < 3; i++)
        tl_queue_put(qa, (void *)i);
    tl_join(w, NULL);
    return NULL;
}

/* prod sends NITEMS items through "pipe" (4 deep) to cons, then closes
 * it: tens of thousands of events, several checkpoints. */
#define NITEMS 12000

static void *
prod(void *arg)
{
    (void)arg;
    for (long i = 1; i <= NITEMS; i++)
        tl_queue_put(qa, (void *)i);
    tl_queue_close(qa);
    return NULL;
}

static void *
cons(void *arg)
{
    void *it;

    (void)arg;
    while (tl_queue_get(qa, &it) == 0)
        ;
    return NULL;
}

static void *
many_root(void *arg)
{
    tl_task *p, *c, *n;

    (void)arg;
    tl_queue_new(&qa, 4, "pipe");
    tl_spawn(&n, napper, NULL, "napper");
    tl_spawn(&p, prod, NULL, "prod");
    tl_spawn(&c, cons, NULL, "cons");
    tl_join(n, NULL);
    tl_join(p, NULL);
    tl_join(c, NULL);
    return NULL;
}

/* Records root into dir/name.db from a child process; the path in p. */
static char *
record(const char *name, tl_task_fn root, char *p)
{
    pid_t pid;
    int st;

    snprintf(p, 512, "%s/%s.db", dir, name);
    fflush(NULL);
    if ((pid = fork()) == 0) {
        tl_options o = {.record = p};
        tl_loop *loop;
        if (tl_loop_new(&loop, &o) != 0)
            _exit(10);
        tl_loop_run(loop, root, NULL, NULL);
        tl_loop_free(loop);
        tl_queue_free(qa);
        tl_queue_free(qb);
        exit(0);                /* at exit, the journal becomes the trace */
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "recorder: %#x", st);
    ck_assert_int_eq(access(p, F_OK), 0);
    return p;
}

static tl_model *
open_ok(const char *p)
{
    char err[512] = "";
    tl_model *m = NULL;

    ck_assert_msg(tl_model_open(&m, p, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(m);
    return m;
}

static const tl_model_row *
cur(tl_model *m)
{
    const tl_model_row *r = tl_model_row_at_cursor(m);

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->seq, tl_model_cursor(m));
    return r;
}

static const tl_model_task *
task_named(tl_model *m, const char *name)
{
    const tl_model_task *t;
    size_t n = tl_model_tasks(m, &t);

    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    ck_abort_msg("no task %s", name);
    return NULL;
}

static const tl_st_task *
st_task(const tl_model_snap *s, uint32_t id)
{
    for (size_t i = 0; i < s->ntasks; i++)
        if (s->tasks[i].id == id)
            return &s->tasks[i];
    ck_abort_msg("no task %u at seq %lld", id, (long long)s->seq);
    return NULL;
}

/* ---- opening ------------------------------------------------------------ */

START_TEST(opens_at_the_deadlock_with_the_cycle)
{
    char p[512];
    tl_model *m = open_ok(record("cycle", cycle_root, p));
    const tl_model_snap *s;
    const tl_model_row *r;

    ck_assert_int_gt(tl_model_deadlock_seq(m), 0);
    ck_assert_int_eq(tl_model_cursor(m), tl_model_deadlock_seq(m));
    r = cur(m);
    ck_assert_int_eq(r->kind, TL_EV_DEADLOCK);
    ck_assert_str_eq(r->kind_name, "deadlock");
    ck_assert_str_eq(r->task_name, "loop");
    ck_assert_str_eq(r->detail, "3 tasks blocked");
    s = tl_model_snap_get(m);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->seq, tl_model_cursor(m));
    /* The cycle comes first, on one line, naming both tasks. */
    ck_assert_uint_ge(s->ncycles, 1);
    ck_assert_uint_ge(s->nwhy, 4);
    ck_assert_msg(!strncmp(s->why[0], "cycle: ", 7), "%s", s->why[0]);
    ck_assert_ptr_nonnull(strstr(s->why[0], "\"alpha\""));
    ck_assert_ptr_nonnull(strstr(s->why[0], "\"beta\""));
    /* Then one line per blocked task. */
    for (size_t i = s->ncycles; i < s->nwhy; i++)
        ck_assert_msg(!strncmp(s->why[i], "task ", 5), "%s", s->why[i]);
    ck_assert_str_eq(tl_model_program(m), "check_model");
    ck_assert_int_eq(tl_model_first(m), 1);
    ck_assert_uint_eq(tl_model_nloops(m), 1);
    tl_model_close(m);
}
END_TEST

START_TEST(opens_at_the_first_event_without_a_deadlock)
{
    char p[512];
    tl_model *m = open_ok(record("fail", fail_root, p));

    ck_assert_int_eq(tl_model_deadlock_seq(m), 0);
    ck_assert_int_eq(tl_model_cursor(m), 1);
    ck_assert_int_eq(tl_model_next_deadlock(m), 0);
    tl_model_close(m);
}
END_TEST

/* ---- paging ------------------------------------------------------------- */

START_TEST(pages_follow_the_cursor)
{
    char p[512];
    tl_model *m = open_ok(record("many", many_root, p));
    const tl_model_row *rows;
    size_t n, c;
    int64_t last = tl_model_last(m);

    ck_assert_int_gt(last, 4 * TL_STATE_EVERY);
    tl_model_set_height(m, 10);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_uint_eq(n, 10);
    ck_assert_uint_eq(c, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(rows[i].seq, (int64_t)i + 1);
    /* j within the page: the page stays; past its end, it scrolls by one. */
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(tl_model_move(m, 1), 1);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_int_eq(rows[0].seq, 1);
    ck_assert_uint_eq(c, 9);
    ck_assert_int_eq(tl_model_move(m, 1), 1);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_int_eq(rows[0].seq, 2);
    ck_assert_uint_eq(c, 9);
    ck_assert_int_eq(rows[c].seq, 11);
    /* A page down moves the cursor and the page by the height. */
    ck_assert_int_eq(tl_model_move(m, 10), 1);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_int_eq(tl_model_cursor(m), 21);
    ck_assert_int_eq(rows[0].seq, 12);
    /* G: the last event, on a full page; j there does nothing. */
    ck_assert_int_eq(tl_model_end(m), 1);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_uint_eq(n, 10);
    ck_assert_int_eq(tl_model_cursor(m), last);
    ck_assert_int_eq(rows[9].seq, last);
    ck_assert_uint_eq(c, 9);
    ck_assert_int_eq(tl_model_move(m, 1), 0);
    ck_assert_int_eq(tl_model_move(m, -3), 1);
    ck_assert_int_eq(tl_model_cursor(m), last - 3);
    /* g, then k at the top does nothing. */
    ck_assert_int_eq(tl_model_home(m), 1);
    ck_assert_int_eq(tl_model_cursor(m), 1);
    ck_assert_int_eq(tl_model_move(m, -1), 0);
    /* : to a seq far away puts it on the page, a third of the way down. */
    ck_assert_int_eq(tl_model_goto(m, last / 2), 1);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_int_eq(rows[c].seq, last / 2);
    ck_assert_uint_eq(c, 3);
    ck_assert_int_eq(tl_model_goto(m, last + 100), 1);
    ck_assert_int_eq(tl_model_cursor(m), last);
    /* Height changes keep the cursor on the page. */
    tl_model_set_height(m, 3);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(rows[c].seq, last);
    tl_model_close(m);
}
END_TEST

START_TEST(rows_carry_names_and_detail)
{
    char p[512];
    tl_model *m = open_ok(record("fail", fail_root, p));
    const tl_model_row *rows;
    size_t n, c;
    int puts = 0;

    tl_model_set_height(m, 200);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_uint_eq(n, (size_t)tl_model_last(m));
    for (size_t i = 0; i < n; i++) {
        const tl_model_row *r = &rows[i];
        ck_assert_str_eq(r->kind_name, tl_event_name(r->kind));
        if (r->kind == TL_EV_QUEUE_PUT) {
            ck_assert_str_eq(r->object_name, "q1 jobs");
            ck_assert_str_eq(r->task_name, "main");
            ck_assert_ptr_nonnull(strstr(r->detail, "item #"));
            puts++;
        }
        if (r->kind == TL_EV_TASK_FAILED)
            ck_assert_str_eq(r->detail, "boom 7");
        if (i)
            ck_assert_int_ge(r->time, rows[i - 1].time);
    }
    ck_assert_int_eq(puts, 3);
    tl_model_close(m);
}
END_TEST

/* ---- filters ------------------------------------------------------------ */

START_TEST(filters_by_task_queue_and_kind)
{
    char p[512], err[256], text[256];
    tl_model *m = open_ok(record("many", many_root, p));
    const tl_model_task *prod_t = task_named(m, "prod");
    tl_model_filter f = {0};
    const tl_model_row *rows;
    size_t n, c;

    ck_assert_int_eq(tl_model_filter_parse(m, "task prod", &f, err,
                                           sizeof err), 0);
    ck_assert_uint_eq(f.task, prod_t->id);
    ck_assert_int_eq(tl_model_set_filter(m, &f), 0);
    tl_model_filter_text(m, &f, text, sizeof text);
    ck_assert_str_eq(text, "task 3 prod");
    tl_model_set_height(m, 20);
    n = tl_model_rows(m, &rows, &c);
    ck_assert_uint_eq(n, 20);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(rows[i].task, prod_t->id);
    /* Moves stay in the filter, to its last event. */
    ck_assert_int_eq(tl_model_move(m, 5), 1);
    ck_assert_uint_eq(cur(m)->task, prod_t->id);
    ck_assert_int_eq(tl_model_end(m), 1);
    ck_assert_int_eq(tl_model_cursor(m), prod_t->end_seq);
    /* Every one of its events, and no other, from the first on. */
    {
        sqlite3 *db;
        sqlite3_stmt *s;
        int64_t want, got = 1;
        ck_assert_int_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM events "
                                            "WHERE task = ?", -1, &s, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(s, 1, prod_t->id);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        want = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        ck_assert_int_eq(tl_model_home(m), 1);
        ck_assert_int_eq(tl_model_cursor(m), prod_t->spawn_seq + 1);
        while (tl_model_move(m, 1) == 1) {
            ck_assert_uint_eq(cur(m)->task, prod_t->id);
            got++;
        }
        ck_assert_int_eq(got, want);
    }
    /* Kinds add up with the task: its queue_put events only. */
    ck_assert_int_eq(tl_model_filter_parse(m, "k queue_put", &f, err,
                                           sizeof err), 0);
    ck_assert_int_eq(tl_model_set_filter(m, &f), 0);
    tl_model_filter_text(m, &f, text, sizeof text);
    ck_assert_str_eq(text, "task 3 prod, kind queue_put");
    ck_assert_int_eq(tl_model_home(m), 1);
    n = tl_model_rows(m, &rows, &c);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(rows[i].kind, TL_EV_QUEUE_PUT);
        ck_assert_uint_eq(rows[i].task, prod_t->id);
    }
    /* A prefix names every kind that starts so; a bare name finds the
     * queue; an empty text clears. */
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(tl_model_filter_parse(m, "kind queue", &f, err,
                                           sizeof err), 0);
    ck_assert(f.kinds & TL_EVMASK(TL_EV_QUEUE_GET));
    ck_assert(f.kinds & TL_EVMASK(TL_EV_QUEUE_CLOSE));
    ck_assert(!(f.kinds & TL_EVMASK(TL_EV_BLOCK)));
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(tl_model_filter_parse(m, "pipe", &f, err, sizeof err),
                     0);
    ck_assert_uint_eq(f.queue, 1);
    ck_assert_int_eq(tl_model_set_filter(m, &f), 0);
    ck_assert_int_eq(tl_model_end(m), 1);
    ck_assert_int_eq(cur(m)->okind, TL_OBJ_QUEUE);
    ck_assert_uint_eq(cur(m)->object, 1);
    ck_assert_int_eq(tl_model_filter_parse(m, "", &f, err, sizeof err), 0);
    ck_assert_uint_eq(f.queue, 0);
    ck_assert_int_eq(tl_model_set_filter(m, &f), 0);
    tl_model_close(m);
}
END_TEST

/* Walks the filter from its first event: the seqs, ascending, into
 * out; how many. */
static size_t
walk(tl_model *m, int64_t *out, size_t cap)
{
    size_t n = 0;

    tl_model_home(m);           /* 0 when already there */
    do
        if (n < cap)
            out[n++] = tl_model_cursor(m);
    while (tl_model_move(m, 1) == 1);
    return n;
}

/* The seqs SQL finds for a task, a kind too if kind >= 0. */
static size_t
sql_seqs(const char *p, uint32_t task, int kind, int64_t *out, size_t cap)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    size_t n = 0;

    ck_assert_int_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT seq FROM events WHERE "
                                        "loop = 1 AND task = ?1 AND (?2 < 0 "
                                        "OR kind = ?2) ORDER BY seq", -1, &s,
                                        NULL), SQLITE_OK);
    sqlite3_bind_int64(s, 1, task);
    sqlite3_bind_int(s, 2, kind);
    while (sqlite3_step(s) == SQLITE_ROW && n < cap)
        out[n++] = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

START_TEST(a_task_filter_sees_all_its_events_and_no_other)
{
    enum { CAP = 4096 };
    static int64_t want[CAP], got[CAP];
    char p[512];
    tl_model *m = open_ok(record("many", many_root, p));
    const tl_model_task *t;
    size_t nt = tl_model_tasks(m, &t), listed = 0;

    /* Tasks with up to 64 events have them listed in the tasks table
     * (no scan); the others are scanned for: both must agree with SQL,
     * alone and with a kind. */
    for (size_t i = 0; i < nt; i++)
        for (int kind = -1; kind <= TL_EV_BLOCK; kind += 1 + TL_EV_BLOCK) {
            tl_model_filter f = {.task_loop = t[i].loop, .task = t[i].id,
                                 .kinds = kind < 0 ? 0 : TL_EVMASK(kind)};
            size_t nw = sql_seqs(p, t[i].id, kind, want, CAP), ng;
            if (tl_model_set_filter(m, &f) != 0) {
                ck_assert_uint_eq(nw, 0);       /* nothing passes */
                continue;
            }
            ng = walk(m, got, CAP);
            ck_assert_uint_eq(ng, nw);
            for (size_t j = 0; j < nw; j++)
                ck_assert_int_eq(got[j], want[j]);
            listed += kind < 0 && nw > 0 && nw <= 64;
        }
    ck_assert_uint_gt(listed, 0);       /* some task took the listed way */
    tl_model_close(m);
}
END_TEST

START_TEST(bad_filters_leave_the_filter_alone)
{
    char p[512], err[256] = "";
    tl_model *m = open_ok(record("many", many_root, p));
    tl_model_filter f = {0}, g;
    int64_t at;

    ck_assert_int_eq(tl_model_filter_parse(m, "task nosuch", &f, err,
                                           sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
    ck_assert_uint_eq(f.task, 0);
    ck_assert_int_eq(tl_model_filter_parse(m, "queue 9", &f, err,
                                           sizeof err), -1);
    /* A filter nothing passes: refused, the old one stays. */
    ck_assert_int_eq(tl_model_filter_parse(m, "task cons", &f, err,
                                           sizeof err), 0);
    ck_assert_int_eq(tl_model_set_filter(m, &f), 0);
    tl_model_goto(m, 5000);
    at = tl_model_cursor(m);
    g = f;
    /* A kind the trace never has is refused at once, by name ... */
    ck_assert_int_eq(tl_model_filter_parse(m, "kind deadlock", &g, err,
                                           sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "deadlock"));
    /* ... one it has, but never with this task, when it is set. */
    ck_assert_int_eq(tl_model_filter_parse(m, "kind queue_put", &g, err,
                                           sizeof err), 0);
    ck_assert_int_eq(tl_model_set_filter(m, &g), -1);
    tl_model_get_filter(m, &g);
    ck_assert_mem_eq(&g, &f, sizeof f);
    ck_assert_int_eq(tl_model_cursor(m), at);
    tl_model_close(m);
}
END_TEST

/* ---- search ------------------------------------------------------------- */

START_TEST(search_finds_names_kinds_and_messages)
{
    char p[512], err[256] = "";
    tl_model *m = open_ok(record("fail", fail_root, p));
    const tl_model_task *w = task_named(m, "worker");
    int wrapped = 0;
    int64_t first;

    ck_assert_int_eq(tl_model_search_set(m, "nothing-so", err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "not found"));
    /* A task's name: its own events and those aimed at it. */
    ck_assert_int_eq(tl_model_search_set(m, "WORK", err, sizeof err), 0);
    ck_assert_int_eq(tl_model_search(m, 1, &wrapped), 1);
    ck_assert_int_eq(wrapped, 0);
    ck_assert(cur(m)->task == w->id ||
              (cur(m)->okind == TL_OBJ_TASK && cur(m)->object == w->id));
    first = tl_model_cursor(m);
    ck_assert_int_eq(tl_model_search(m, 1, &wrapped), 1);
    ck_assert_int_gt(tl_model_cursor(m), first);
    ck_assert_int_eq(tl_model_search(m, -1, &wrapped), 1);
    ck_assert_int_eq(tl_model_cursor(m), first);
    /* Backwards from the first match wraps to the last. */
    ck_assert_int_eq(tl_model_search(m, -1, &wrapped), 1);
    ck_assert_int_eq(wrapped, 1);
    ck_assert_int_gt(tl_model_cursor(m), first);
    /* A failure message. */
    tl_model_home(m);
    ck_assert_int_eq(tl_model_search_set(m, "boom", err, sizeof err), 0);
    ck_assert_int_eq(tl_model_search(m, 1, &wrapped), 1);
    ck_assert_int_eq(cur(m)->kind, TL_EV_TASK_FAILED);
    ck_assert_int_eq(tl_model_cursor(m), w->end_seq);
    /* A kind. */
    tl_model_home(m);
    ck_assert_int_eq(tl_model_search_set(m, "run_end", err, sizeof err), 0);
    ck_assert_int_eq(tl_model_search(m, 1, &wrapped), 1);
    ck_assert_int_eq(cur(m)->kind, TL_EV_RUN_END);
    tl_model_close(m);
}
END_TEST

START_TEST(search_runs_in_steps)
{
    char p[512], err[256] = "";
    tl_model *m = open_ok(record("many", many_root, p));
    int64_t done, total, last = tl_model_last(m);
    int wrapped, r, steps = 0;

    /* run_end is the last event: from the first, a long way to go. */
    ck_assert_int_eq(tl_model_search_set(m, "run_end", err, sizeof err), 0);
    ck_assert_int_eq(tl_model_scan_start(m, TL_SCAN_SEARCH, 1), 0);
    while ((r = tl_model_scan_step(m, 1000, &wrapped)) == 0)
        steps++;
    ck_assert_int_eq(r, 1);
    ck_assert_int_gt(steps, (int)(last / 1000) - 2);
    ck_assert_int_eq(tl_model_cursor(m), last);
    tl_model_scan_progress(m, &done, &total);
    ck_assert_int_eq(total, last);
    /* Nothing through a filter: the whole trace once, then -1. */
    {
        tl_model_filter f = {0};
        ck_assert_int_eq(tl_model_filter_parse(m, "task prod", &f, err,
                                               sizeof err), 0);
        ck_assert_int_eq(tl_model_set_filter(m, &f), 0);
    }
    ck_assert_int_eq(tl_model_search(m, 1, &wrapped), -1);
    tl_model_close(m);
}
END_TEST

/* ---- jumps -------------------------------------------------------------- */

START_TEST(same_task_and_same_queue)
{
    char p[512];
    tl_model *m = open_ok(record("many", many_root, p));
    const tl_model_task *c = task_named(m, "cons");
    int64_t a, b;

    /* From cons's first event: ] walks its events in order. */
    tl_model_goto(m, c->spawn_seq + 1);
    while (cur(m)->task != c->id)
        ck_assert_int_eq(tl_model_move(m, 1), 1);
    a = tl_model_cursor(m);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(tl_model_same_task(m, 1), 1);
        ck_assert_uint_eq(cur(m)->task, c->id);
        ck_assert_int_gt(tl_model_cursor(m), a);
        a = tl_model_cursor(m);
    }
    ck_assert_int_eq(tl_model_same_task(m, -1), 1);
    ck_assert_int_lt(tl_model_cursor(m), a);
    /* At its last event, ] has nowhere to go. */
    tl_model_goto(m, c->end_seq);
    ck_assert_int_eq(tl_model_same_task(m, 1), 0);
    ck_assert_int_eq(tl_model_cursor(m), c->end_seq);
    /* } needs a queue event at the cursor. */
    tl_model_home(m);
    while (cur(m)->okind == TL_OBJ_QUEUE)
        tl_model_move(m, 1);
    ck_assert_int_eq(tl_model_same_queue(m, 1), -1);
    while (cur(m)->okind != TL_OBJ_QUEUE)
        ck_assert_int_eq(tl_model_move(m, 1), 1);
    b = tl_model_cursor(m);
    ck_assert_int_eq(tl_model_same_queue(m, 1), 1);
    ck_assert_int_gt(tl_model_cursor(m), b);
    ck_assert_int_eq(cur(m)->okind, TL_OBJ_QUEUE);
    ck_assert_uint_eq(cur(m)->object, 1);
    ck_assert_int_eq(tl_model_same_queue(m, -1), 1);
    ck_assert_int_eq(tl_model_cursor(m), b);
    tl_model_close(m);
}
END_TEST

START_TEST(first_failure_clears_a_filter_that_hides_it)
{
    char p[512], err[256];
    tl_model *m = open_ok(record("fail", fail_root, p));
    const tl_model_task *w = task_named(m, "worker");
    tl_model_filter f = {0};

    ck_assert_int_eq(tl_model_filter_parse(m, "task main", &f, err,
                                           sizeof err), 0);
    ck_assert_int_eq(tl_model_set_filter(m, &f), 0);
    ck_assert_int_eq(tl_model_first_failure(m), 1);
    ck_assert_int_eq(tl_model_cursor(m), w->end_seq);
    ck_assert_int_eq(cur(m)->kind, TL_EV_TASK_FAILED);
    ck_assert_str_eq(w->message, "boom 7");
    ck_assert_uint_eq(tl_model_nfailed(m), 1);
    ck_assert_uint_eq(tl_model_name_max(m, 0), strlen("worker"));
    tl_model_get_filter(m, &f);
    ck_assert_uint_eq(f.task, 0);
    tl_model_close(m);
    m = open_ok(record("many", many_root, p));
    ck_assert_int_eq(tl_model_first_failure(m), 0);
    tl_model_close(m);
}
END_TEST

/* ---- the state at the cursor -------------------------------------------- */

START_TEST(state_at_the_deadlock)
{
    char p[512], state[32], what[128];
    tl_model *m = open_ok(record("cycle", cycle_root, p));
    const tl_model_snap *s = tl_model_snap_get(m);
    const tl_st_task *t;
    uint32_t ids[4];
    int64_t blocked;

    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ntasks, 4);
    ck_assert_uint_eq(s->nqueues, 2);
    t = st_task(s, task_named(m, "main")->id);
    ck_assert_int_eq(t->state, TL_TASK_BLOCKED);
    ck_assert_int_eq(t->wait, TL_WAIT_JOIN);
    tl_model_task_doing(m, t, state, sizeof state, what, sizeof what,
                        &blocked);
    ck_assert_str_eq(state, "blocked");
    ck_assert_str_eq(what, "join(task 3 \"alpha\")");
    ck_assert_int_ge(blocked, 0);
    t = st_task(s, task_named(m, "alpha")->id);
    tl_model_task_doing(m, t, state, sizeof state, what, sizeof what,
                        &blocked);
    ck_assert_str_eq(state, "blocked");
    ck_assert_str_eq(what, "get(q1 \"a\")");
    t = st_task(s, task_named(m, "napper")->id);
    tl_model_task_doing(m, t, state, sizeof state, what, sizeof what,
                        &blocked);
    ck_assert_str_eq(state, "done");
    ck_assert_int_eq(blocked, -1);
    /* Queue a: empty, alpha waits on it, beta put to it. */
    ck_assert_uint_eq(s->queues[0].id, 1);
    ck_assert_int_eq(s->queues[0].len, 0);
    ck_assert_int_eq(s->queues[0].closed, 0);
    ck_assert_uint_eq(tl_model_queue_waiters(m, &s->queues[0], 0, ids, 4), 1);
    ck_assert_uint_eq(ids[0], task_named(m, "alpha")->id);
    ck_assert_uint_eq(tl_model_queue_waiters(m, &s->queues[0], 1, ids, 4), 0);
    ck_assert_uint_eq(s->queues[0].nproducers, 1);
    ck_assert_uint_eq(s->queues[0].producers[0], task_named(m, "beta")->id);
    tl_model_close(m);
}
END_TEST

START_TEST(state_follows_the_cursor)
{
    char p[512], state[32], what[128];
    tl_model *m = open_ok(record("cycle", cycle_root, p));
    const tl_model_task *n = task_named(m, "napper");
    const tl_model_snap *s;
    const tl_st_task *t;
    int64_t blocked;

    /* Find napper's block on its sleep: sleeping until its deadline. */
    tl_model_goto(m, n->spawn_seq);
    while (cur(m)->task != n->id)
        ck_assert_int_eq(tl_model_move(m, 1), 1);
    while (cur(m)->kind != TL_EV_BLOCK)
        ck_assert_int_eq(tl_model_same_task(m, 1), 1);
    s = tl_model_snap_get(m);
    t = st_task(s, n->id);
    ck_assert_int_eq(t->state, TL_ST_SLEEPING);
    tl_model_task_doing(m, t, state, sizeof state, what, sizeof what,
                        &blocked);
    ck_assert_str_eq(state, "sleeping");
    ck_assert_ptr_nonnull(strstr(what, "until "));
    ck_assert_int_eq(s->nwhy, 0);
    /* Its resume: running.  Its end: done. */
    ck_assert_int_eq(tl_model_same_task(m, 1), 1);
    ck_assert_int_eq(cur(m)->kind, TL_EV_WAKE);
    ck_assert_int_eq(tl_model_same_task(m, 1), 1);
    ck_assert_int_eq(cur(m)->kind, TL_EV_RESUME);
    s = tl_model_snap_get(m);
    ck_assert_int_eq(st_task(s, n->id)->state, TL_TASK_RUNNING);
    tl_model_goto(m, n->end_seq);
    s = tl_model_snap_get(m);
    ck_assert_int_eq(st_task(s, n->id)->state, TL_TASK_DONE);
    /* Before its spawn, napper is not there. */
    tl_model_goto(m, n->spawn_seq - 1);
    s = tl_model_snap_get(m);
    for (size_t i = 0; i < s->ntasks; i++)
        ck_assert_uint_ne(s->tasks[i].id, n->id);
    tl_model_close(m);
}
END_TEST

START_TEST(state_far_from_the_start_uses_checkpoints)
{
    char p[512];
    tl_model *m = open_ok(record("many", many_root, p));
    const tl_model_task *c = task_named(m, "cons");
    const tl_model_snap *s;
    int64_t last = tl_model_last(m);

    /* Deep in the trace: the queue has moved thousands of items. */
    tl_model_goto(m, last - 10);
    s = tl_model_snap_get(m);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->nqueues, 1);
    ck_assert_uint_gt(s->queues[0].head, NITEMS - 10);
    ck_assert_uint_eq(s->ntasks, 4);
    /* Back and forth agree. */
    tl_model_goto(m, c->end_seq);
    s = tl_model_snap_get(m);
    ck_assert_int_eq(st_task(s, c->id)->state, TL_TASK_DONE);
    ck_assert_int_eq(s->queues[0].closed, 1);
    tl_model_goto(m, 3 * TL_STATE_EVERY + 5);
    s = tl_model_snap_get(m);
    ck_assert_int_eq(s->queues[0].closed, 0);
    ck_assert_int_lt(st_task(s, c->id)->state, TL_TASK_DONE);
    tl_model_close(m);
}
END_TEST

/* NCROWD tasks take turns on one queue, round after round: most live all
 * along and change at every turn, a seventh end after the first round,
 * more join after it -- many live tasks, so checkpoints are deltas. */
#define NCROWD 9000

static void *
crowd_member(void *arg)
{
    void *it;

    for (long i = 0; i < (long)arg; i++)
        if (tl_queue_get(qa, &it) != 0)
            break;
    return NULL;
}

static void *
crowd_root(void *arg)
{
    tl_task *t;
    long n = NCROWD;

    (void)arg;
    tl_queue_new(&qa, 0, "turns");
    for (long i = 0; i < n; i++)
        tl_spawn(&t, crowd_member, (void *)(i % 7 ? 3L : 1L), NULL);
    for (int round = 0; round < 3; round++) {
        for (long i = 0; i < n; i++)
            tl_queue_put(qa, (void *)i);
        if (round == 0) {
            n -= n / 7;
            for (long i = 0; i < NCROWD / 3; i++, n++)
                tl_spawn(&t, crowd_member, (void *)2L, NULL);
        }
    }
    tl_queue_close(qa);
    return NULL;
}

static int
task_equal(const tl_st_task *a, const tl_st_task *b)
{
    return a->loop == b->loop && a->id == b->id && a->parent == b->parent &&
           a->state == b->state && a->wait == b->wait &&
           a->okind == b->okind && a->object == b->object &&
           a->since == b->since && a->since_seq == b->since_seq &&
           a->until == b->until;
}

/* The trace at p, state by state: one state replays forward in steps too
 * short to load a checkpoint, the other comes from the start each time,
 * so loads one (a chain of deltas): at each checkpoint (as loaded) and
 * between two (loaded, then replayed), every task and queue of every
 * loop agree, and a peek at the checkpoint says what loading it says
 * (ids: up to nid ids of each loop) -- near every stride-th checkpoint.
 * How many seqs were compared. */
static long
compare_chains(const char *p, uint32_t nloop, uint32_t nid, int64_t stride)
{
    char err[512];
    sqlite3 *db;
    tl_state *walk, *jump;
    int64_t last;
    long checked = 0;

    ck_assert_int_eq(tl_trace_open(&db, p, err, sizeof err), 0);
    /* Deltas there are (a version 4 blob), and fulls between them. */
    ck_assert_int_gt(q_int(db, "SELECT count(*) FROM checkpoints WHERE "
                               "hex(substr(data, 1, 1)) = '04'"), 10);
    ck_assert_int_gt(q_int(db, "SELECT count(*) FROM checkpoints WHERE "
                               "hex(substr(data, 1, 1)) = '03'"), 1);
    ck_assert_int_eq(tl_state_open(&walk, db), 0);
    ck_assert_int_eq(tl_state_open(&jump, db), 0);
    last = q_int(db, "SELECT max(seq) FROM events");
    for (int64_t seq = 1; seq <= last;
         seq += seq % TL_STATE_EVERY ? TL_STATE_EVERY - seq % TL_STATE_EVERY
                                     : TL_STATE_EVERY / 3) {
        const tl_st_task *a, *b;
        const tl_st_queue *qw, *qj;
        uint32_t ids[64];
        int peeked[64];
        int64_t ck;
        size_t na, nb, nq;
        ck_assert_int_eq(tl_state_at(walk, seq), 0);
        if ((seq / TL_STATE_EVERY) % stride)
            continue;
        ck_assert_int_eq(tl_state_at(jump, 1), 0);
        ck_assert_int_eq(tl_state_at(jump, seq), 0);
        na = tl_state_tasks(walk, &a);
        nb = tl_state_tasks(jump, &b);
        ck_assert_uint_eq(na, nb);
        for (size_t i = 0; i < na; i++)
            ck_assert_msg(task_equal(&a[i], &b[i]),
                          "seq %lld: task %u/%u: %d/%d since %lld/%lld wait "
                          "%d/%d ck %lld", (long long)seq, a[i].loop, a[i].id,
                          a[i].state, b[i].state, (long long)a[i].since_seq,
                          (long long)b[i].since_seq, a[i].wait, b[i].wait,
                          (long long)tl_state_checkpoint_at(jump, seq));
        nq = tl_state_queues(walk, &qw);
        ck_assert_uint_eq(nq, tl_state_queues(jump, &qj));
        for (size_t i = 0; i < nq; i++) {
            ck_assert_int_eq(qw[i].len, qj[i].len);
            ck_assert_uint_eq(qw[i].head, qj[i].head);
            ck_assert_int_eq(qw[i].closed, qj[i].closed);
            ck_assert_uint_eq(qw[i].nproducers, qj[i].nproducers);
            ck_assert_uint_eq(qw[i].nconsumers, qj[i].nconsumers);
        }
        if (!(ck = tl_state_checkpoint_at(jump, seq)))
            continue;
        for (uint32_t l = 1; l <= nloop; l++) {
            for (int i = 0; i < 64; i++)
                ids[i] = (uint32_t)(1 + (seq / 7 + i * 97) % nid);
            ck_assert_int_eq(tl_state_peek(jump, seq, l, ids, 64, peeked), 0);
            ck_assert_int_eq(tl_state_at(jump, 1), 0);
            ck_assert_int_eq(tl_state_at(jump, ck), 0);
            for (int i = 0; i < 64; i++) {
                int st = tl_state_task_state(jump, l, ids[i]);
                int alive = st >= 0 && (st < TL_TASK_DONE ||
                                        st == TL_ST_SLEEPING);
                ck_assert_msg(peeked[i] == (alive ? st : -1),
                              "peek at %lld, task %u/%u: %d, loaded %d",
                              (long long)ck, l, ids[i], peeked[i], st);
            }
        }
        checked++;
    }
    tl_state_free(walk);
    tl_state_free(jump);
    sqlite3_close(db);
    return checked;
}

START_TEST(checkpoint_deltas_give_the_replayed_state)
{
    char p[512];

    record("crowd", crowd_root, p);
    ck_assert_int_gt(compare_chains(p, 1, NCROWD + 3000, 2), 20);
}
END_TEST

/* Two loops, each run twice, their crowds waiting on a latch, a bounded
 * queue, a lock and sleeps, every task ending: the loops' checkpoints
 * interleave in one trace. */
static tl_latch *crowd_go;
static tl_lock *crowd_lock;

static void *
crowd_worker(void *arg)
{
    long i = (long)arg;
    void *it;

    tl_latch_wait(crowd_go);
    for (long r = 0; r < i % 4 + 1; r++) {
        if (i % 3 == 0)
            tl_queue_put(qa, NULL);
        else if (i % 3 == 1)
            tl_queue_get(qa, &it);
        else if (tl_lock_acquire(crowd_lock) == 0) {
            tl_yield();
            tl_lock_release(crowd_lock);
        }
        if (i % 5 == 0)
            tl_sleep(0.0001);
        tl_yield();
    }
    return NULL;
}

static void *
crowd_run(void *arg)
{
    long n = (long)arg;
    tl_task **t = calloc((size_t)n, sizeof *t);

    ck_assert_ptr_nonnull(t);
    for (long i = 0; i < n; i++)
        tl_spawn(&t[i], crowd_worker, (void *)i, NULL);
    tl_latch_count_down(crowd_go);
    for (long i = 0; i < n; i++)
        tl_join(t[i], NULL);
    free(t);
    return NULL;
}

START_TEST(checkpoint_deltas_across_loops_and_runs)
{
    char p[512];
    pid_t pid;
    int st;

    snprintf(p, sizeof p, "%s/loops.db", dir);
    fflush(NULL);
    if ((pid = fork()) == 0) {
        tl_options o = {.record = p};
        tl_loop *l[2];
        tl_queue *q[2];
        tl_lock *k[2];
        for (int i = 0; i < 2; i++)
            if (tl_loop_new(&l[i], &o) != 0 ||
                tl_queue_new(&q[i], 8, NULL) != 0 ||
                tl_lock_new(&k[i], NULL) != 0)
                _exit(10);
        for (int run = 0; run < 2; run++)
            for (int i = 0; i < 2; i++) {
                if (tl_latch_new(&crowd_go, 1, NULL) != 0)
                    _exit(11);
                qa = q[i];
                crowd_lock = k[i];
                if (tl_loop_run(l[i], crowd_run, (void *)9000L, NULL) != 0)
                    _exit(12);
                tl_latch_free(crowd_go);
            }
        exit(0);                /* at exit, the journal becomes the trace */
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "recorder: %#x", st);
    ck_assert_int_gt(compare_chains(p, 2, 2 * 9000 + 2, 4), 40);
}
END_TEST

/* ---- swimlanes ---------------------------------------------------------- */

/* Exact lanes whose first column ends on a checkpoint say who ran in it
 * wherever the state stood before: far before (it loads a checkpoint),
 * or past the window (it goes back).  The window is in the first round
 * of crowd_root's hand-offs, where each member runs once, in id order. */
START_TEST(lanes_the_same_from_anywhere)
{
    char p[512], err[512];
    enum { Z = TL_MODEL_LANE_EXACT, COLS = 4, LANES = 64 };
    unsigned char ca[COLS * LANES], cb[COLS * LANES];
    int64_t round1, ck, first;
    size_t ran = 0, lane0;
    tl_model *a, *b;
    sqlite3 *db;

    record("crowd", crowd_root, p);
    ck_assert_int_eq(tl_trace_open(&db, p, err, sizeof err), 0);
    round1 = q_int(db, "SELECT min(seq) FROM events JOIN kinds USING(kind) "
                       "WHERE name = 'queue_handoff'");
    sqlite3_close(db);
    ck = (round1 / TL_STATE_EVERY + 1) * TL_STATE_EVERY;
    first = ck - Z + 1;         /* column 0 ends on checkpoint ck */
    lane0 = (size_t)((first - round1) / 7);  /* a hand-off is 7 events */
    a = open_ok(p);
    b = open_ok(p);
    tl_model_goto(a, 1);
    ck_assert_ptr_nonnull(tl_model_snap_get(a));
    tl_model_goto(b, ck + 2 * TL_STATE_EVERY);
    ck_assert_ptr_nonnull(tl_model_snap_get(b));
    ck_assert_int_eq(tl_model_lanes(a, first, Z, COLS, lane0, LANES, ca), 0);
    ck_assert_int_eq(tl_model_lanes(b, first, Z, COLS, lane0, LANES, cb), 0);
    for (size_t i = 0; i < sizeof ca; i++) {
        ck_assert_msg(ca[i] == cb[i], "lane %zu column %zu: %d, %d",
                      lane0 + i / COLS, i % COLS, ca[i], cb[i]);
        ran += i % COLS == 0 && ca[i] == TL_LANE_RUNNING;
    }
    ck_assert_uint_ge(ran, 20);     /* members ran in column 0 */
    tl_model_close(a);
    tl_model_close(b);
}
END_TEST

START_TEST(lanes_show_each_task_over_the_schedule)
{
    char p[512];
    tl_model *m = open_ok(record("cycle", cycle_root, p));
    const tl_model_task *t;
    size_t nt = tl_model_tasks(m, &t), ncols;
    int64_t last = tl_model_last(m);
    unsigned char *cells;
    size_t ran[4] = {0};

    ck_assert_uint_eq(nt, 4);
    ncols = (size_t)last;
    cells = calloc(nt * ncols, 1);
    ck_assert_int_eq(tl_model_lanes(m, 1, 1, ncols, 0, nt, cells), 0);
    for (size_t l = 0; l < nt; l++)
        for (size_t c = 0; c < ncols; c++)
            ran[l] += cells[l * ncols + c] == TL_LANE_RUNNING;
    for (size_t l = 0; l < nt; l++)
        ck_assert_uint_gt(ran[l], 0);
    /* At the end main, alpha and beta are blocked; napper is gone. */
    for (size_t l = 0; l < nt; l++)
        ck_assert_int_eq(cells[l * ncols + ncols - 1],
                         !strcmp(t[l].name, "napper") ? TL_LANE_NONE
                                                      : TL_LANE_BLOCKED);
    /* napper slept, and its end shows. */
    {
        size_t l = (size_t)(task_named(m, "napper") - t);
        int slept = 0;
        for (size_t c = 0; c < ncols; c++)
            slept |= cells[l * ncols + c] == TL_LANE_SLEEPING;
        ck_assert(slept);
        ck_assert_int_eq(cells[l * ncols + (size_t)t[l].end_seq - 1],
                         TL_LANE_ENDED);
    }
    /* Two lanes from the second, columns of 4. */
    ck_assert_int_eq(tl_model_lanes(m, 1, 4, 8, 1, 2, cells), 0);
    free(cells);
    tl_model_close(m);
}
END_TEST

START_TEST(lanes_sampled_when_zoomed_out)
{
    char p[512];
    tl_model *m = open_ok(record("many", many_root, p));
    const tl_model_task *t;
    size_t nt = tl_model_tasks(m, &t);
    int64_t z = 1, first;
    unsigned char cells[4 * 16];
    int busy = 0;

    while (z <= TL_MODEL_LANE_EXACT)
        z = tl_model_lane_zoom(z, 1);
    ck_assert_int_eq(z, 2 * TL_STATE_EVERY);
    ck_assert_int_eq(tl_model_lane_zoom(z, -1), TL_MODEL_LANE_EXACT);
    ck_assert_int_eq(tl_model_lane_zoom(1, -1), 1);
    first = tl_model_lane_align(TL_STATE_EVERY + 7, z);
    ck_assert_int_eq(first, TL_STATE_EVERY + 1);
    ck_assert_int_eq(tl_model_lanes(m, first, z, 4, 0, nt, cells), 0);
    for (size_t i = 0; i < nt * 4; i++)
        busy += cells[i] != TL_LANE_NONE;
    ck_assert_int_gt(busy, 0);
    /* Each cell (read from a checkpoint) says what the state at the
     * column's last seq (loaded, replayed) says. */
    for (size_t c = 0; c < 4; c++) {
        int64_t lo = first + (int64_t)c * z, hi = lo + z - 1;
        const tl_model_snap *s;
        if (hi > tl_model_last(m))
            break;
        ck_assert_int_eq(tl_model_goto(m, hi), 1);
        ck_assert_ptr_nonnull(s = tl_model_snap_get(m));
        for (size_t l = 0; l < nt; l++) {
            unsigned char want = TL_LANE_NONE;
            for (size_t k = 0; k < s->ntasks; k++) {
                const tl_st_task *st = &s->tasks[k];
                if (st->loop != t[l].loop || st->id != t[l].id)
                    continue;
                want = st->state == TL_TASK_READY     ? TL_LANE_READY
                       : st->state == TL_TASK_RUNNING ? TL_LANE_RUNNING
                       : st->state == TL_TASK_BLOCKED ? TL_LANE_BLOCKED
                       : st->state == TL_ST_SLEEPING  ? TL_LANE_SLEEPING
                       : t[l].end_seq < lo            ? TL_LANE_NONE
                       : st->state == TL_TASK_FAILED  ? TL_LANE_FAILED
                                                      : TL_LANE_ENDED;
            }
            ck_assert_msg(cells[l * 4 + c] == want,
                          "lane %zu column %zu: %d, the state says %d", l, c,
                          cells[l * 4 + c], want);
        }
    }
    tl_model_close(m);
}
END_TEST

/* ---- refusals ----------------------------------------------------------- */

static void
expect_refused(const char *p, const char *what)
{
    char err[512] = "";
    tl_model *m = NULL;

    ck_assert_int_eq(tl_model_open(&m, p, err, sizeof err), -1);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, what) && strstr(err, p) && !strchr(err, '\n'),
                  "%s: '%s', expected '%s'", p, err, what);
}

static void *
nothing(void *arg)
{
    (void)arg;
    return NULL;
}

START_TEST(refuses_what_it_cannot_show)
{
    char p[512];
    FILE *f;
    pid_t pid;
    int st;

    snprintf(p, sizeof p, "%s/text.db", dir);
    ck_assert_ptr_nonnull(f = fopen(p, "w"));
    fputs("not a trace\n", f);
    fclose(f);
    expect_refused(p, "not a tapeloop trace");
    snprintf(p, sizeof p, "%s/missing.db", dir);
    expect_refused(p, "missing.db");
    /* A trace whose loop never ran: no events. */
    snprintf(p, sizeof p, "%s/empty.db", dir);
    fflush(NULL);
    if ((pid = fork()) == 0) {
        tl_options o = {.record = p};
        tl_loop *loop;
        if (tl_loop_new(&loop, &o) != 0)
            _exit(10);
        tl_loop_free(loop);
        exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    if (access(p, F_OK) == 0)
        expect_refused(p, "no events");
    /* A run that ends cleanly is fine, with nothing blocked. */
    {
        tl_model *m = open_ok(record("nothing", nothing, p));
        ck_assert_uint_eq(tl_model_snap_get(m)->nwhy, 0);
        tl_model_close(m);
    }
}
END_TEST

Suite *
tl_model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *core = tcase_create("core"), *state = tcase_create("state");
    TCase *errors = tcase_create("errors");
    TCase *all[] = {core, state, errors};

    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        tcase_add_checked_fixture(all[i], setup, teardown);
        tcase_set_timeout(all[i], 60);
        suite_add_tcase(s, all[i]);
    }
    tcase_add_test(core, opens_at_the_deadlock_with_the_cycle);
    tcase_add_test(core, opens_at_the_first_event_without_a_deadlock);
    tcase_add_test(core, pages_follow_the_cursor);
    tcase_add_test(core, rows_carry_names_and_detail);
    tcase_add_test(core, filters_by_task_queue_and_kind);
    tcase_add_test(core, a_task_filter_sees_all_its_events_and_no_other);
    tcase_add_test(core, search_finds_names_kinds_and_messages);
    tcase_add_test(core, search_runs_in_steps);
    tcase_add_test(core, same_task_and_same_queue);
    tcase_add_test(core, first_failure_clears_a_filter_that_hides_it);
    tcase_add_test(state, state_at_the_deadlock);
    tcase_add_test(state, state_follows_the_cursor);
    tcase_add_test(state, state_far_from_the_start_uses_checkpoints);
    tcase_add_test(state, checkpoint_deltas_give_the_replayed_state);
    tcase_add_test(state, checkpoint_deltas_across_loops_and_runs);
    tcase_add_test(state, lanes_show_each_task_over_the_schedule);
    tcase_add_test(state, lanes_the_same_from_anywhere);
    tcase_add_test(state, lanes_sampled_when_zoomed_out);
    tcase_add_test(errors, bad_filters_leave_the_filter_alone);
    tcase_add_test(errors, refuses_what_it_cannot_show);
    return s;
}

TL_CHECK_MAIN(tl_model_suite)
