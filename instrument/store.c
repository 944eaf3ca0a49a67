/* SPDX-License-Identifier: MIT */
/* store.c -- journal to SQLite (import), and opening a trace for reading.
 * The import is one pass over the journal with prepared statements in one
 * transaction, into a temporary file renamed over the target at the end,
 * so a trace is either whole or absent.  A reader that finds a journal
 * beside a trace whose recording process has died imports it first.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "state.h"
#include "store.h"
#include "varint.h"

static const char schema_sql[] = {
#include "schema_sql.h"
    0};

/* The statements of an import, in the order of the SQL texts below. */
enum { S_EVENT, S_PAYLOAD, S_META, S_RUN_START, S_RUN_END, S_TASK_NEW,
       S_TASK_END, S_QUEUE_NEW, S_QUEUE_CLOSE, S_SYNC_NEW, S_SOCK_NEW,
       S_SOCK_CLOSE, S_DEADLOCK, S_CHECKPOINT, S_TASK_LAST, S__COUNT };

static const char *const sql[S__COUNT] = {
    "INSERT INTO events VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    "INSERT INTO payloads VALUES(?1,?2)",
    "INSERT OR REPLACE INTO meta VALUES(?1,?2)",
    "INSERT OR REPLACE INTO runs VALUES(?1,?2,?3,?4,NULL,NULL)",
    "UPDATE runs SET end_seq=?2, rc=?3 WHERE run=?1",
    "INSERT OR REPLACE INTO tasks VALUES(?1,?2,?3,?4,?5,?6,NULL,NULL,NULL,"
    "NULL,NULL)",
    "UPDATE tasks SET end_seq=?3, last_seq=?3, end_state=?4, message=?5, "
    "seqs=?6 WHERE loop=?1 AND id=?2",
    "INSERT OR REPLACE INTO queues VALUES(?1,?2,?3,?4,?5,NULL)",
    "UPDATE queues SET close_seq=?3 WHERE loop=?1 AND id=?2 "
    "AND close_seq IS NULL",
    "INSERT OR REPLACE INTO syncs VALUES(?1,?2,?3,?4,?5,?6)",
    "INSERT OR REPLACE INTO sockets VALUES(?1,?2,?3,?4,?5,?6,NULL)",
    "UPDATE sockets SET close_seq=?3 WHERE loop=?1 AND id=?2",
    "INSERT INTO deadlock_waits VALUES(?1,?2,"
    "(SELECT name FROM waits WHERE kind=?3),?4,?5)",
    "INSERT INTO checkpoints VALUES(?1,?2)",
    "UPDATE tasks SET last_seq=?3, seqs=?4 WHERE loop=?1 AND id=?2"};

/* Each task's events so far, per loop, by id: its last one, and all of
 * them while they are at most SEQS_MAX (seq differences as varints).
 * Written into the tasks table when it ends, and for the tasks still
 * alive at the end of the import: a filter on a task then knows where its
 * events stop, and a task with few events needs no scan at all. */
#define SEQS_MAX 64

typedef struct tev {
    int64_t last;               /* its last event; -1: written at its end */
    uint8_t *seqs;              /* its events, while n <= SEQS_MAX */
    uint16_t n, used, room;     /* events, bytes used, bytes allocated */
} tev;

typedef struct lastseq {
    tev *t;                     /* by task id */
    size_t cap;                 /* ids room */
    uint32_t spawned;           /* spawns seen: ids are 1..spawned */
} lastseq;

/* Events go in BATCH rows per INSERT: a statement step costs about as
 * much as the rows it inserts, so 64 rows in one step take a third less
 * than 64 steps (docs/performance.md). */
#define BATCH 64
#define NCOL 11                 /* the columns of events */

#define STR_(x) #x
#define STR(x) STR_(x)          /* a number macro as a string literal */

typedef struct imp {
    sqlite3 *db;                /* the trace being written */
    sqlite3_stmt *st[S__COUNT]; /* prepared once */
    int64_t t0;                 /* first event's absolute time */
    int64_t seq;                /* events so far */
    tl_state *state;            /* the state, for checkpoints */
    int64_t nkind[TL_EV__COUNT];    /* events per kind */
    lastseq *last;              /* by loop id */
    size_t nlast;               /* loops room */
    sqlite3_stmt *rows;         /* inserts BATCH events in one step */
    int64_t batch[BATCH][NCOL]; /* events not inserted yet */
    int nbatch;                 /* how many */
} imp;

/* Adds seq to a task's events; 0, or SQLITE_NOMEM. */
static int
note_seq(tev *t, int64_t seq)
{
    int64_t prev = t->last > 0 ? t->last : 0;

    t->last = seq;
    if (t->n > SEQS_MAX)
        return 0;
    if (++t->n > SEQS_MAX) {    /* too many: a scan finds them */
        free(t->seqs);
        t->seqs = NULL;
        t->used = t->room = 0;
        return 0;
    }
    if (t->room - t->used < 10) {
        uint16_t room = t->room ? (uint16_t)(t->room * 2) : 32;
        uint8_t *b = realloc(t->seqs, room);
        if (!b)
            return SQLITE_NOMEM;
        t->seqs = b;
        t->room = room;
    }
    t->used = (uint16_t)(tl__uvar_put(t->seqs + t->used,
                                      (uint64_t)(seq - prev)) - t->seqs);
    return 0;
}

/* Notes that task (loop, id) acted at seq, or, spawn set, that it was
 * spawned; 0, or SQLITE_NOMEM.  Ids are dense per loop, so an id past
 * the spawns seen (a damaged journal) is ignored, not allocated for. */
static int
note_last(imp *m, uint32_t loop, uint32_t id, int64_t seq, int spawn)
{
    lastseq *l;

    if (!loop || !id || loop > 1u << 16)
        return 0;               /* a damaged trace: no bound, no harm */
    if (loop >= m->nlast) {
        size_t n = loop + 1;
        if (!(l = realloc(m->last, n * sizeof *l)))
            return SQLITE_NOMEM;
        memset(l + m->nlast, 0, (n - m->nlast) * sizeof *l);
        m->last = l;
        m->nlast = n;
    }
    l = &m->last[loop];
    if (spawn && id == l->spawned + 1)
        l->spawned = id;
    if (id > l->spawned)
        return 0;
    if (id >= l->cap) {
        size_t n = l->cap ? l->cap : 64;
        tev *p;
        while (n <= id)
            n *= 2;
        if (!(p = realloc(l->t, n * sizeof *p)))
            return SQLITE_NOMEM;
        memset(p + l->cap, 0, (n - l->cap) * sizeof *p);
        l->t = p;
        l->cap = n;
    }
    return spawn ? 0 : note_seq(&l->t[id], seq);
}

static int
fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Binds the integers and texts described by fmt ('i' int64, 't' text or
 * NULL, 'b' blob with a length) and steps the statement once. */
static int
run(sqlite3_stmt *s, const char *fmt, ...)
{
    va_list ap;
    int i = 1, rc;

    va_start(ap, fmt);
    for (const char *f = fmt; *f; f++, i++) {
        if (*f == 'i') {
            sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
        } else if (*f == 't') {
            const char *t = va_arg(ap, const char *);
            int n = va_arg(ap, int);
            if (t)
                sqlite3_bind_text(s, i, t, n, SQLITE_STATIC);
            else
                sqlite3_bind_null(s, i);
        } else {
            const void *b = va_arg(ap, const void *);
            int n = va_arg(ap, int);
            sqlite3_bind_blob(s, i, b, n, SQLITE_STATIC);
        }
    }
    va_end(ap);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* The last events of the tasks that never ended, into the tasks table. */
static int
write_last(imp *m)
{
    int rc = 0;

    for (size_t L = 0; L < m->nlast && rc == 0; L++)
        for (size_t id = 0; id < m->last[L].cap && rc == 0; id++) {
            tev *t = &m->last[L].t[id];
            if (t->last > 0)
                rc = run(m->st[S_TASK_LAST], "iiib", (int64_t)L, (int64_t)id,
                         t->last, t->seqs, (int)t->used);
        }
    return rc;
}

static const char *
sync_kind(int okind)
{
    switch (okind) {
    case TL_OBJ_FLAG: return "flag";
    case TL_OBJ_LOCK: return "lock";
    case TL_OBJ_COND: return "cond";
    default: return "latch";
    }
}

/* The tables beside events that one record updates. */
static int
index_record(imp *m, const tl_jrec *r, const char *p, int n, int64_t seq)
{
    int64_t L = r->loop, id = r->object, rc = 0;
    const char *state;

    switch (r->kind) {
    case TL_EV_RUN_START:
        return run(m->st[S_RUN_START], "iiii", (int64_t)r->run, L, id, seq);
    case TL_EV_RUN_END:
        return run(m->st[S_RUN_END], "iii", (int64_t)r->run, seq, r->a);
    case TL_EV_SPAWN:
        return run(m->st[S_TASK_NEW], "iiitii", L, id, (int64_t)r->task,
                   n ? p : NULL, n, (int64_t)r->run, seq);
    case TL_EV_TASK_DONE: state = "done"; goto ended;
    case TL_EV_TASK_FAILED: state = "failed"; goto ended;
    case TL_EV_TASK_CANCELLED: state = "cancelled";
    ended:
    {
        tev *t = r->loop < m->nlast && r->task < m->last[r->loop].cap
                     ? &m->last[r->loop].t[r->task] : NULL;
        rc = run(m->st[S_TASK_END], "iiittb", L, (int64_t)r->task, seq,
                 state, -1, n ? p : NULL, n, t ? t->seqs : NULL,
                 t ? (int)t->used : 0);
        if (t) {
            free(t->seqs);
            *t = (tev){.last = -1, .n = SEQS_MAX + 1};  /* written here */
        }
        return rc;
    }
    case TL_EV_QUEUE_NEW:
        return run(m->st[S_QUEUE_NEW], "iitii", L, id, n ? p : NULL, n, r->a,
                   seq);
    case TL_EV_QUEUE_CLOSE:
        return run(m->st[S_QUEUE_CLOSE], "iii", L, id, seq);
    case TL_EV_SYNC_NEW:
        return run(m->st[S_SYNC_NEW], "iittii", L, id, sync_kind(r->okind),
                   -1, n ? p : NULL, n, r->a, seq);
    case TL_EV_SOCKET_LISTEN:
        if (r->a < 0)
            return 0;
        return run(m->st[S_SOCK_NEW], "iititi", L, id, p, n, r->a,
                   "listener", -1, seq);
    case TL_EV_SOCKET_CONNECT_START:
        return run(m->st[S_SOCK_NEW], "iititi", L, id, p, n, r->a, "client",
                   -1, seq);
    case TL_EV_SOCKET_ACCEPT_READY:
        if (r->a < 0 || !r->b)
            return 0;
        return run(m->st[S_SOCK_NEW], "iititi", L, r->b, NULL, 0, (int64_t)0,
                   "accepted", -1, seq);
    case TL_EV_SOCKET_CLOSE:
        return run(m->st[S_SOCK_CLOSE], "iii", L, id, seq);
    case TL_EV_DEADLOCK:
        for (int i = 0; rc == 0 && (i + 1) * 16 <= n; i++) {
            uint32_t w[4];
            memcpy(w, p + 16 * i, sizeof w);
            rc = run(m->st[S_DEADLOCK], "iiiii", seq, (int64_t)w[0],
                     (int64_t)w[1], (int64_t)w[2], (int64_t)w[3]);
        }
        return (int)rc;
    }
    return 0;
}

static int
checkpoint(imp *m)
{
    size_t len;
    void *data = tl_state_save(m->state, &len);
    int rc;

    if (!data)
        return SQLITE_NOMEM;
    rc = run(m->st[S_CHECKPOINT], "ib", m->seq, data, (int)len);
    free(data);
    return rc;
}

/* Inserts the events batched so far: BATCH at a time, else one by one. */
static int
flush(imp *m)
{
    int rc = 0;

    if (m->nbatch == BATCH) {
        for (int i = 0; i < BATCH; i++)
            for (int c = 0; c < NCOL; c++)
                sqlite3_bind_int64(m->rows, i * NCOL + c + 1, m->batch[i][c]);
        rc = sqlite3_step(m->rows);
        sqlite3_reset(m->rows);
        rc = rc == SQLITE_DONE ? 0 : rc;
    } else {
        for (int i = 0; i < m->nbatch && rc == 0; i++) {
            for (int c = 0; c < NCOL; c++)
                sqlite3_bind_int64(m->st[S_EVENT], c + 1, m->batch[i][c]);
            rc = sqlite3_step(m->st[S_EVENT]);
            sqlite3_reset(m->st[S_EVENT]);
            rc = rc == SQLITE_DONE ? 0 : rc;
        }
    }
    m->nbatch = 0;
    return rc;
}

static int
on_record(const tl_jrec *r, const void *payload, void *udata)
{
    imp *m = udata;
    const char *p = payload;
    int n = (int)(r->commit - 1), rc;

    if (r->kind == TL_JREC_META) {
        size_t k = strnlen(p, (size_t)n);
        if ((int)k >= n)
            return 0;
        return run(m->st[S_META], "tt", p, (int)k, p + k + 1, n - (int)k - 1);
    }
    if (r->kind >= TL_EV__COUNT)
        return 0;               /* a kind from a newer writer: skip it */
    m->nkind[r->kind]++;
    if (m->seq == 0) {
        m->t0 = r->time;
        tl_state_origin(m->state, m->t0);
    }
    m->seq++;
    tl_state_apply(m->state, m->seq, r->time - m->t0, r->loop, r->kind, r->task,
                   r->okind, r->object, r->a, r->b);
    if (m->seq % TL_STATE_EVERY == 0 && (rc = checkpoint(m)) != 0)
        return rc;
    if ((r->kind == TL_EV_SPAWN &&
         (rc = note_last(m, r->loop, r->object, 0, 1)) != 0) ||
        (rc = note_last(m, r->loop, r->task, m->seq, 0)) != 0)
        return rc;
    {
        int64_t *e = m->batch[m->nbatch++];
        e[0] = m->seq, e[1] = r->loop, e[2] = r->run, e[3] = r->time - m->t0;
        e[4] = r->kind, e[5] = r->task, e[6] = r->okind, e[7] = r->object;
        e[8] = r->a, e[9] = r->b, e[10] = r->flags;
        rc = m->nbatch == BATCH ? flush(m) : 0;
    }
    if (rc == 0 && n > 0)
        rc = run(m->st[S_PAYLOAD], "ib", m->seq, p, n);
    return rc ? rc : index_record(m, r, p, n, m->seq);
}

static int
meta(imp *m, const char *key, const char *fmt, ...)
{
    char v[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    return run(m->st[S_META], "tt", key, -1, v, -1);
}

static int
kinds(imp *m)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(m->db, "INSERT INTO kinds VALUES(?1,?2,?3)",
                                -1, &s, NULL);

    for (int k = 0; rc == SQLITE_OK && k < TL_EV__COUNT; k++)
        rc = run(s, "iti", (int64_t)k, tl_event_name(k), -1, m->nkind[k]);
    sqlite3_finalize(s);
    return rc;
}

/* Everything but the rename: the journal into a fresh database. */
static int
fill(imp *m, const char *jpath, const char *dbpath,
     const tl_import_info *info, char *err, size_t len)
{
    tl_journal_end end;
    int rc;

    if (sqlite3_exec(m->db,
                     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                     "BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(m->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(err, len, "%s: %s", dbpath, sqlite3_errmsg(m->db));
    for (int i = 0; i < S__COUNT; i++)
        if (sqlite3_prepare_v2(m->db, sql[i], -1, &m->st[i], NULL))
            return fail(err, len, "%s: %s", dbpath, sqlite3_errmsg(m->db));
    if (!(m->state = tl_state_new()))
        return fail(err, len, "%s: out of memory", jpath);
    {
        static const char row[] = ",(?,?,?,?,?,?,?,?,?,?,?)";
        char q[32 + BATCH * sizeof row], *o = q;
        o += sprintf(o, "INSERT INTO events VALUES");
        for (int i = 0; i < BATCH; i++)
            o += sprintf(o, "%s", row + (i == 0));
        if (sqlite3_prepare_v2(m->db, q, -1, &m->rows, NULL) != SQLITE_OK)
            return fail(err, len, "%s: %s", dbpath, sqlite3_errmsg(m->db));
    }
    rc = tl_journal_read(jpath, on_record, m, &end);
    if (rc == TL_EINVAL && tl_journal_version(jpath) > 0)
        return fail(err, len, "%s: a journal of format version %d; this "
                    "tapeloop reads version %d", jpath,
                    tl_journal_version(jpath), TL_JOURNAL_VERSION);
    if (rc == TL_EINVAL)
        return fail(err, len, "%s: not a tapeloop journal", jpath);
    if (rc < 0)
        return fail(err, len, "%s: %s", jpath, strerror(-rc));
    if (rc > 0)
        return fail(err, len, "%s: %s", dbpath, sqlite3_errmsg(m->db));
    rc = rc == 0 ? flush(m) : rc;
    rc = rc ? rc : kinds(m);
    rc = rc ? rc : write_last(m);
    /* Built after the rows, in one sorted pass: a search or filter by
     * kind then seeks, however far its match (about 10 bytes an event). */
    rc = rc ? rc : sqlite3_exec(m->db, "CREATE INDEX events_kind ON "
                                "events(kind)", NULL, NULL, NULL);
    rc = rc ? rc : meta(m, "schema_version", "%d", TL_SCHEMA_VERSION);
    rc = rc ? rc : meta(m, "ended", end.clean ? "normally" : "abnormally");
    if (rc == 0 && end.stopped)
        rc = meta(m, "recording_stopped", "%s", strerror(-end.stopped));
    rc = rc ? rc : meta(m, "events", "%lld", (long long)m->seq);
    rc = rc ? rc : meta(m, "time_origin_ns", "%lld", (long long)m->t0);
    rc = rc ? rc : sqlite3_exec(m->db, "INSERT OR REPLACE INTO meta "
                                "SELECT 'clock', coalesce((SELECT value FROM "
                                "meta WHERE key='env.1'), 'real')", NULL,
                                NULL, NULL);
    if (rc == 0 && info && info->exited)
        rc = meta(m, "exit_status", "%d", info->status);
    if (rc == 0 && info && info->signal)
        rc = meta(m, "signal", "%d", info->signal);
    if (rc == 0)
        rc = sqlite3_exec(m->db, "PRAGMA user_version=" STR(
                                     TL_SCHEMA_VERSION) "; COMMIT;",
                          NULL, NULL, NULL);
    return rc ? fail(err, len, "%s: %s (the journal %s is kept)", dbpath,
                     sqlite3_errmsg(m->db), jpath)
              : 0;
}

int
tl_store_import(const char *jpath, const char *dbpath,
                const tl_import_info *info, char *err, size_t errlen)
{
    size_t n = strlen(dbpath);
    char *tmp = malloc(n + 5);
    imp m = {0};
    int rc;

    if (!tmp)
        return fail(err, errlen, "%s: out of memory", dbpath);
    memcpy(tmp, dbpath, n);
    memcpy(tmp + n, ".tmp", 5);
    unlink(tmp);
    if (sqlite3_open(tmp, &m.db) != SQLITE_OK) {
        rc = fail(err, errlen, "%s: %s", tmp, sqlite3_errmsg(m.db));
    } else {
        rc = fill(&m, jpath, dbpath, info, err, errlen);
    }
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(m.st[i]);
    sqlite3_finalize(m.rows);
    tl_state_free(m.state);
    for (size_t i = 0; i < m.nlast; i++) {
        for (size_t id = 0; id < m.last[i].cap; id++)
            free(m.last[i].t[id].seqs);
        free(m.last[i].t);
    }
    free(m.last);
    if (sqlite3_close(m.db) != SQLITE_OK && rc == 0)
        rc = fail(err, errlen, "%s: cannot close", tmp);
    if (rc == 0 && rename(tmp, dbpath) != 0)
        rc = fail(err, errlen, "%s: %s", dbpath, strerror(errno));
    if (rc == 0)
        unlink(jpath);
    else
        unlink(tmp);
    free(tmp);
    return rc;
}

int
tl_store_check_target(const char *path, int force, char *err, size_t len)
{
    struct stat st;
    char *dir = strdup(path), *slash;

    if (!dir)
        return fail(err, len, "%s: out of memory", path);
    slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    if (access(slash ? dir : ".", W_OK) != 0) {
        fail(err, len, "%s: cannot write in %s: %s", path,
             slash ? dir : ".", strerror(errno));
        free(dir);
        return -1;
    }
    free(dir);
    if (force <= 0 && stat(path, &st) == 0)
        return fail(err, len, force < 0 ? "%s: already exists (remove it "
                                          "first: a trace is never overwritten)"
                                        : "%s: already exists (use -f to "
                                          "overwrite it)", path);
    return 0;
}

/* ---- reading -------------------------------------------------------- */

/* A journal beside the trace: import it if its writer is gone. */
static int
recover(const char *path, char *err, size_t len)
{
    size_t n = strlen(path);
    char *j = malloc(n + 5);
    int pid, rc = 0;

    if (!j)
        return fail(err, len, "%s: out of memory", path);
    memcpy(j, path, n);
    memcpy(j + n, ".tlj", 5);
    pid = tl_journal_pid(j);
    if (pid > 0 && pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM))
        rc = fail(err, len, "%s: still being written (by process %d)", path,
                  pid);
    else if (pid >= 0)
        rc = tl_store_import(j, path, NULL, err, len);
    free(j);
    return rc;
}

/* Checks the header: SQLite, and not cut short. */
static int
check_file(const char *path, char *err, size_t len)
{
    unsigned char h[100];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;
    uint32_t page, pages;

    if (fd < 0)
        return fail(err, len, "%s: %s", path, strerror(errno));
    got = read(fd, h, sizeof h);
    fstat(fd, &st);
    close(fd);
    if (got == 0)
        return fail(err, len, "%s: empty file, not a trace", path);
    if (got < (ssize_t)sizeof h || memcmp(h, "SQLite format 3", 16) != 0)
        return fail(err, len, "%s: not a tapeloop trace (not SQLite)", path);
    page = (uint32_t)(h[16] << 8 | h[17]);
    page = page == 1 ? 65536 : page;
    pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 |
            (uint32_t)h[30] << 8 | h[31];
    if ((uint64_t)page * pages > (uint64_t)st.st_size)
        return fail(err, len, "%s: truncated (%lld of %llu bytes)", path,
                    (long long)st.st_size, (unsigned long long)page * pages);
    return 0;
}

int
tl_trace_open(sqlite3 **out, const char *path, char *err, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char j[4096];
    int v = -1;

    snprintf(j, sizeof j, "%s.tlj", path);
    if (access(j, F_OK) == 0 && recover(path, err, len) != 0)
        return -1;
    if (check_file(path, err, len) != 0)
        return -1;
    /* NOMUTEX: a trace is read by one thread; the mutexes would cost a
     * tenth of a replay's load. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY |
                                       SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        goto bad;
    /* 16 MiB of pages kept (SQLite's default is 2): a state rebuilt from
     * the same checkpoint reads them again without a pread each, which
     * made the keys of a 100k-task trace answer a quarter sooner. */
    sqlite3_exec(db, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) ||
        sqlite3_step(s) != SQLITE_ROW)
        goto bad;
    v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    s = NULL;
    if (v > TL_SCHEMA_VERSION) {
        fail(err, len, "%s: schema version %d is newer than this tapeloop "
                       "reads (%d): use a newer tapeloop", path, v,
             TL_SCHEMA_VERSION);
        sqlite3_close(db);
        return -1;
    }
    if (v < 1 || sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE "
                                        "key='schema_version'", -1, &s,
                                    NULL) ||
        sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        sqlite3_close(db);
        return fail(err, len, "%s: not a tapeloop trace", path);
    }
    sqlite3_finalize(s);
    *out = db;
    return 0;
bad:
    fail(err, len, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return -1;
}
