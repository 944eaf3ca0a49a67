/* SPDX-License-Identifier: MIT */
/* replay.c -- re-runs a program against its trace.  TAPELOOP_REPLAY=trace.db
 * makes tl_loop_new give each loop (in creation order, as recorded) an env
 * served from the trace, and a hook that checks every event the program
 * emits against the recorded one.  The trace drives: every input decision
 * looks at the next recorded event -- whether a socket call would block,
 * what it returns, which waiters the poll wakes, what the clock says --
 * so the recorded schedule comes back without a clock, network or peer.
 * The first mismatch is reported and ends the process with status 3.
 * TAPELOOP_STOP_AT=SEQ raises SIGTRAP just before event SEQ.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop_int.h"
#include "replay.h"
#include "store.h"

#define EXIT_DIVERGED 3
#define FAKE_FD (1 << 20)       /* replayed sockets' fds: never real ones */
#define HISTORY 5               /* matching steps shown with a divergence */

typedef struct rev {            /* one recorded event, as loaded */
    int64_t seq;                /* in the trace */
    int64_t a, b;
    uint32_t task, object;
    uint16_t kind;
    uint8_t okind, flags;
    int32_t plen;               /* payload bytes, 0 if none */
} rev;

typedef struct rloop {          /* one replayed loop */
    tl_loop *loop;
    rev *ev;                    /* its recorded events, in order */
    size_t n, cur;              /* how many; the next to match */
    uint64_t seed;              /* recorded */
    int64_t now;                /* the virtual clock, ns */
    int64_t *deadline;          /* per task id: its last sleep's deadline */
    size_t ndeadline;
    struct {
        uint32_t task;          /* who waits */
        tl_socket *s;           /* on which socket */
        void **slot;            /* its env slot: how unwatch names it */
        int dir;                /* which way */
    } *io;                      /* tasks waiting on sockets */
    size_t nio, capio;
} rloop;

static struct {
    char *path;                 /* the trace */
    sqlite3 *db;                /* open for the whole process */
    sqlite3_stmt *payload;      /* SELECT data FROM payloads WHERE seq=? */
    int64_t stop_at;            /* TAPELOOP_STOP_AT, 0 = none */
    uint32_t nloops;            /* loops replayed so far */
    rloop *loops[64];           /* by loop id - 1 */
    int abnormal;               /* the recording did not end normally */
    int status;                 /* its exit status, if the trace says */
} rp;

/* ---- reporting ---------------------------------------------------------- */

static void
describe(char *buf, size_t len, int kind, uint32_t task, int okind,
         uint32_t object, int64_t a, int64_t b, int flags)
{
    static const char *const ok[] = {"", "task", "queue", "socket", "flag",
                                      "lock", "cond", "latch"};
    char obj[48] = "";

    if (okind > 0 && okind < 8)
        snprintf(obj, sizeof obj, " %s %u", ok[okind], object);
    snprintf(buf, len, "task %u %s%s a=%lld b=%lld%s", task,
             tl_event_name(kind), obj, (long long)a, (long long)b,
             flags & TL_EVF_IMMEDIATE ? " (immediate)" : "");
}

static _Noreturn void
diverge(rloop *r, const tl_event *ev, const char *why)
{
    char want[160] = "the end of the trace", got[160] = "the end of the run";
    size_t from = r->cur > HISTORY ? r->cur - HISTORY : 0;

    fflush(stdout);
    if (r->cur < r->n) {
        const rev *e = &r->ev[r->cur];
        describe(want, sizeof want, e->kind, e->task, e->okind, e->object,
                 e->a, e->b, e->flags);
    }
    if (ev)
        describe(got, sizeof got, ev->kind, ev->task, ev->okind, ev->object,
                 ev->a, ev->b, ev->flags);
    fprintf(stderr, "tapeloop replay: DIVERGED at seq %lld%s%s\n",
            (long long)(r->cur < r->n ? r->ev[r->cur].seq
                                      : r->n ? r->ev[r->n - 1].seq + 1 : 1),
            why ? ": " : "", why ? why : "");
    fprintf(stderr, "  trace:   %s\n  program: %s\n", want, got);
    if (from < r->cur)
        fprintf(stderr, "  last matching steps:\n");
    for (size_t i = from; i < r->cur; i++) {
        const rev *e = &r->ev[i];
        describe(want, sizeof want, e->kind, e->task, e->okind, e->object,
                 e->a, e->b, e->flags);
        fprintf(stderr, "    %lld  %s\n", (long long)e->seq, want);
    }
    _exit(EXIT_DIVERGED);
}

/* ---- loading ------------------------------------------------------------ */

static int
load(rloop *r, uint32_t loop)
{
    sqlite3_stmt *s;
    char key[32];
    size_t cap = 0;
    int rc;

    rc = sqlite3_prepare_v2(rp.db,
                            "SELECT seq, kind, task, okind, object, a, b, "
                            "flags FROM events WHERE loop = ?1 ORDER BY seq",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        return TL_EINVAL;
    sqlite3_bind_int(s, 1, (int)loop);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rev *e;
        if (r->n == cap) {
            rev *n = realloc(r->ev, (cap = cap ? cap * 2 : 4096) * sizeof *n);
            if (!n) {
                sqlite3_finalize(s);
                return TL_ENOMEM;
            }
            r->ev = n;
        }
        e = &r->ev[r->n++];
        e->seq = sqlite3_column_int64(s, 0);
        e->kind = (uint16_t)sqlite3_column_int(s, 1);
        e->task = (uint32_t)sqlite3_column_int64(s, 2);
        e->okind = (uint8_t)sqlite3_column_int(s, 3);
        e->object = (uint32_t)sqlite3_column_int64(s, 4);
        e->a = sqlite3_column_int64(s, 5);
        e->b = sqlite3_column_int64(s, 6);
        e->flags = (uint8_t)sqlite3_column_int(s, 7);
        e->plen = 0;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return TL_EINVAL;
    /* Payloads are few: their lengths in a second pass, merged by seq. */
    if (sqlite3_prepare_v2(rp.db, "SELECT p.seq, length(p.data) FROM "
                                  "payloads p JOIN events e ON e.seq = p.seq "
                                  "WHERE e.loop = ?1 ORDER BY p.seq", -1, &s,
                           NULL) != SQLITE_OK)
        return TL_EINVAL;
    sqlite3_bind_int(s, 1, (int)loop);
    for (size_t i = 0; sqlite3_step(s) == SQLITE_ROW;) {
        int64_t seq = sqlite3_column_int64(s, 0);
        while (i < r->n && r->ev[i].seq < seq)
            i++;
        if (i < r->n && r->ev[i].seq == seq)
            r->ev[i].plen = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    snprintf(key, sizeof key, "seed.%u", loop);
    if (sqlite3_prepare_v2(rp.db, "SELECT value FROM meta WHERE key=?1", -1,
                           &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            r->seed = strtoull((const char *)sqlite3_column_text(s, 0), NULL,
                               10);
        sqlite3_finalize(s);
    }
    return 0;
}

/* The payload of recorded event e, into buf (at most len bytes). */
static size_t
payload(const rev *e, void *buf, size_t len)
{
    size_t n = 0;

    sqlite3_bind_int64(rp.payload, 1, e->seq);
    if (sqlite3_step(rp.payload) == SQLITE_ROW) {
        n = (size_t)sqlite3_column_bytes(rp.payload, 0);
        n = n < len ? n : len;
        memcpy(buf, sqlite3_column_blob(rp.payload, 0), n);
    }
    sqlite3_reset(rp.payload);
    return n;
}

/* ---- the virtual clock -------------------------------------------------- */

static int64_t *
deadline_of(rloop *r, uint32_t task)
{
    if (task >= r->ndeadline) {
        size_t n = task + 64;
        int64_t *d = realloc(r->deadline, n * sizeof *d);
        if (!d)
            return NULL;
        memset(d + r->ndeadline, 0, (n - r->ndeadline) * sizeof *d);
        r->deadline = d;
        r->ndeadline = n;
    }
    return &r->deadline[task];
}

static int
watching(const rloop *r, uint32_t task)
{
    for (size_t i = 0; i < r->nio; i++)
        if (r->io[i].task == task)
            return (int)i;
    return -1;
}

/* Sets the clock for what comes next: the reading the program is about to
 * take (clock, sleep), or the deadline of the timer about to fire. */
static void
look_ahead(rloop *r)
{
    const rev *e;
    int64_t *d;

    if (r->cur >= r->n)
        return;
    e = &r->ev[r->cur];
    if (e->kind == TL_EV_CLOCK)
        r->now = e->a;
    else if (e->kind == TL_EV_SLEEP && !(e->flags & TL_EVF_IMMEDIATE))
        r->now = e->b - e->a;
    else if (e->kind == TL_EV_WAKE && e->b == 0)
        /* Timers fire together: every sleeper the loop woke in one go (a
         * run of wakes by the loop) had its deadline passed by then, so
         * the clock jumps to the latest of them. */
        for (const rev *w = e; w < r->ev + r->n && w->kind == TL_EV_WAKE &&
                               w->b == 0; w++)
            if (watching(r, w->task) < 0 &&
                (d = deadline_of(r, w->task)) && *d > r->now)
                r->now = *d;
}

/* ---- the checking hook -------------------------------------------------- */

static int
same_payload(const rev *e, const tl_event *ev)
{
    char buf[4096];
    size_t n;

    if ((size_t)e->plen != (ev->payload ? ev->len : 0))
        return 0;
    if (!e->plen)
        return 1;
    if (e->plen > (int32_t)sizeof buf)
        return 1;               /* large bytes: the length must do */
    n = payload(e, buf, sizeof buf);
    return n == ev->len && memcmp(buf, ev->payload, n) == 0;
}

static void
check(const tl_event *ev, void *udata)
{
    rloop *r = udata;
    const rev *e;

    if (r->cur >= r->n && rp.abnormal) {
        fflush(stdout);
        fprintf(stderr, "tapeloop replay: the trace ends here: the recorded "
                        "run died at this point (exit status %d)\n",
                rp.status);
        _exit(rp.status);
    }
    if (r->cur >= r->n)
        diverge(r, ev, "the program goes on past the end of the trace");
    e = &r->ev[r->cur];
    if (rp.stop_at && e->seq == rp.stop_at) {
        fprintf(stderr, "tapeloop replay: stopping before seq %lld "
                        "(SIGTRAP)\n", (long long)e->seq);
        raise(SIGTRAP);
    }
    if (e->kind != ev->kind || e->task != ev->task || e->okind != ev->okind ||
        e->object != ev->object || e->a != ev->a || e->b != ev->b ||
        (e->flags & TL_EVF_IMMEDIATE) != (ev->flags & TL_EVF_IMMEDIATE))
        diverge(r, ev, NULL);
    if (!same_payload(e, ev))
        diverge(r, ev, "different bytes (names, messages or data)");
    if (e->kind == TL_EV_SLEEP && !(e->flags & TL_EVF_IMMEDIATE)) {
        int64_t *d = deadline_of(r, e->task);
        if (d)
            *d = e->b;
    }
    r->cur++;
    look_ahead(r);
}

/* ---- the env ------------------------------------------------------------ */

static int
env_open(void **state, tl_loop *loop)
{
    uint32_t id = ++rp.nloops;
    rloop *r;
    int rc;

    if (id > sizeof rp.loops / sizeof *rp.loops)
        return TL_EINVAL;
    if (!(r = calloc(1, sizeof *r)))
        return TL_ENOMEM;
    r->loop = loop;
    if ((rc = load(r, id)) != 0) {
        free(r->ev);
        free(r);
        return rc;
    }
    rp.loops[id - 1] = r;
    look_ahead(r);
    *state = r;
    return 0;
}

static void
env_close(void *state)
{
    rloop *r = state;

    if (r->cur < r->n && !getenv("TAPELOOP_REPLAY_PARTIAL"))
        diverge(r, NULL, "the loop was freed before the trace's end");
    for (size_t i = 0; i < sizeof rp.loops / sizeof *rp.loops; i++)
        if (rp.loops[i] == r)
            rp.loops[i] = NULL;
    free(r->ev);
    free(r->deadline);
    free(r->io);
    free(r);
}

static int64_t
env_now(void *state)
{
    return ((rloop *)state)->now;
}

static uint64_t
env_seed(void *state)
{
    return ((rloop *)state)->seed;
}

/* Delivers the readiness the trace shows next: each upcoming wake by the
 * loop of a task waiting on a socket. */
static int
env_poll(void *state, int64_t timeout)
{
    rloop *r = state;
    int woke = 0;

    while (r->cur < r->n) {
        const rev *e = &r->ev[r->cur];
        int i;
        if (e->kind != TL_EV_WAKE || e->b != 0 ||
            (i = watching(r, e->task)) < 0)
            break;
        tl_socket *s = r->io[i].s;
        int dir = r->io[i].dir;
        r->io[i] = r->io[--r->nio];
        tl__io_ready(s, dir);           /* emits the wake: checked */
        woke = 1;
    }
    if (!woke && timeout < 0 && !r->loop->nready)
        diverge(r, NULL, "the program waits for I/O the trace does not "
                         "deliver");
    return 0;
}

static int
env_watch(void *state, tl_socket *s, int fd, int dir, void **slot)
{
    rloop *r = state;

    (void)fd;
    if (r->nio == r->capio) {
        size_t cap = r->capio ? r->capio * 2 : 16;
        void *n = realloc(r->io, cap * sizeof *r->io);
        if (!n)
            return TL_ENOMEM;
        r->io = n;
        r->capio = cap;
    }
    r->io[r->nio].task = tl_task_id(tl_self());
    r->io[r->nio].s = s;
    r->io[r->nio].slot = slot;
    r->io[r->nio++].dir = dir;
    return 0;
}

static void
env_unwatch(void *state, int dir, void **slot)
{
    rloop *r = state;

    for (size_t i = 0; i < r->nio; i++)
        if (r->io[i].slot == slot && r->io[i].dir == dir) {
            r->io[i] = r->io[--r->nio];
            return;
        }
}

/* The recorded event at cur + k, or NULL. */
static const rev *
peek(const rloop *r, size_t k)
{
    return r->cur + k < r->n ? &r->ev[r->cur + k] : NULL;
}

/* A socket call, answered by what the trace shows next: a block (so the
 * call would have returned EAGAIN), or the operation's ready/result. */
static ssize_t
env_sock(void *state, tl_sockreq *q, void **slot)
{
    rloop *r = state;
    const rev *e = peek(r, 0), *d;

    (void)slot;
    switch (q->op) {
    case TL_SOCK_CLOSE:
    case TL_SOCK_FORGET:
        return 0;
    case TL_SOCK_LISTEN:
        if (!e || e->kind != TL_EV_SOCKET_LISTEN)
            diverge(r, NULL, "the program listens where the trace does not");
        if (e->a < 0)
            return e->a;
        q->port = (int)e->a;
        q->fd = FAKE_FD + (int)e->object;
        return 0;
    }
    if (!e)
        diverge(r, NULL, "a socket call past the end of the trace");
    if (q->op == TL_SOCK_CONNECT)
        q->fd = FAKE_FD + 4096 + (int)r->cur;
    if (e->kind == TL_EV_BLOCK)
        return TL_EAGAIN;
    switch (q->op) {
    case TL_SOCK_CONNECT:
    case TL_SOCK_CONNECTED:
        if (e->kind != TL_EV_SOCKET_CONNECT_READY)
            break;
        return e->a;
    case TL_SOCK_ACCEPT:
        if (e->kind != TL_EV_SOCKET_ACCEPT_READY)
            break;
        q->fd = FAKE_FD + (int)e->b;
        q->port = 0;
        return e->a;
    case TL_SOCK_RECV:
    case TL_SOCK_SEND:
        if (e->kind != (q->op == TL_SOCK_RECV ? TL_EV_SOCKET_RECV_READY
                                              : TL_EV_SOCKET_SEND_READY))
            break;
        if (q->op == TL_SOCK_RECV && e->a > 0 && (d = peek(r, 1)) != NULL &&
            d->kind == TL_EV_SOCKET_RECV)
            payload(d, q->buf, q->len);
        return e->a;
    }
    diverge(r, NULL, "a socket call the trace does not show here");
}

static const tl_env replay_env = {
    .name = "replay",
    .cheap_now = 1,
    .replay = 1,
    .open = env_open,
    .close = env_close,
    .now = env_now,
    .seed = env_seed,
    .poll = env_poll,
    .watch = env_watch,
    .unwatch = env_unwatch,
    .sock = env_sock,
};

/* ---- attaching ---------------------------------------------------------- */

/* How the recording ended: meta ended, exit_status. */
static void
read_end(void)
{
    sqlite3_stmt *s;

    rp.status = 1;
    if (sqlite3_prepare_v2(rp.db, "SELECT key, value FROM meta WHERE key IN "
                                  "('ended', 'exit_status')", -1, &s,
                           NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        const char *v = (const char *)sqlite3_column_text(s, 1);
        if (!strcmp(k, "ended"))
            rp.abnormal = v && strcmp(v, "normally") != 0;
        else
            rp.status = v ? atoi(v) : 1;
    }
    sqlite3_finalize(s);
}

static void
at_exit(void)
{
    for (size_t i = 0; i < sizeof rp.loops / sizeof *rp.loops; i++) {
        rloop *r = rp.loops[i];
        if (r && r->cur < r->n)
            diverge(r, NULL, "the program ended before the trace did");
    }
    if (rp.nloops)
        fprintf(stderr, "tapeloop replay: complete, every event matched "
                        "(%u loop%s)\n", rp.nloops, rp.nloops > 1 ? "s" : "");
}

int
tl__replay_env(const tl_env **out, const char *path)
{
    char err[512];
    const char *stop = getenv("TAPELOOP_STOP_AT");

    if (!rp.db) {
        if (tl_trace_open(&rp.db, path, err, sizeof err) != 0) {
            fprintf(stderr, "tapeloop: %s\n", err);
            return TL_EINVAL;
        }
        if (sqlite3_prepare_v2(rp.db, "SELECT data FROM payloads WHERE "
                                      "seq=?1", -1, &rp.payload,
                               NULL) != SQLITE_OK)
            return TL_EINVAL;
        rp.stop_at = stop ? strtoll(stop, NULL, 10) : 0;
        read_end();
        atexit(at_exit);
    }
    *out = &replay_env;
    return 0;
}

int
tl__replay_attach(tl_loop *loop)
{
    rloop *r = loop->envs;

    return tl_loop_add_hook(loop, TL_EVMASK_ALL, check, r);
}
