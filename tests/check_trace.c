/* SPDX-License-Identifier: MIT */
/* check_trace.c -- the journal and the SQLite trace: journals written and
 * read back (payloads past a block, records across blocks),
 * journals cut short, refused files, a full disk; importing into SQLite
 * and the tables that come out; tl_trace_open's refusals and its recovery
 * of a journal whose writer died; recording through tl_options.record and
 * TAPELOOP_RECORD in child processes.  Every test works in its own
 * mkdtemp directory.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/tape.h"
#include "../instrument/journal.h"
#include "../instrument/store.h"
#include "tl_check.h"

#define HEAD 4096                       /* journal header (journal.h) */
#define BLOCK ((size_t)1 << 20)         /* the live block (journal.c) */
#define RECSZ sizeof(tl_jrec)           /* a decoded record: an upper
                                           bound of a stored head */

static char dir[256];                   /* this test's directory */

static void
setup(void)
{
    const char *t = getenv("TMPDIR");

    snprintf(dir, sizeof dir, "%s/tl-trace.XXXXXX", t && *t ? t : "/tmp");
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

/* dir/name into p. */
static char *
at(char *p, const char *name)
{
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static int
exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static off_t
file_size(const char *p)
{
    struct stat st;

    ck_assert_int_eq(stat(p, &st), 0);
    return st.st_size;
}

static void
write_file(const char *p, const void *data, size_t len)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* The whole file at p, malloc'd; its size in *size. */
static char *
read_file(const char *p, off_t *size)
{
    off_t n = file_size(p);
    char *buf = malloc((size_t)n + 1);
    int fd = open(p, O_RDONLY);

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(read(fd, buf, (size_t)n), (ssize_t)n);
    close(fd);
    *size = n;
    return buf;
}

static void
copy_file(const char *from, const char *to)
{
    off_t n;
    char *buf = read_file(from, &n);

    write_file(to, buf, (size_t)n);
    free(buf);
}

/* ---- synthetic journals ---------------------------------------------- */

/* The i-th test event: every field derived from i, a payload of 0..60
 * bytes (none for some). */
static size_t
make_event(tl_event *ev, uint64_t i, unsigned char *buf)
{
    size_t len = (size_t)((i * 7) % 61);

    for (size_t k = 0; k < len; k++)
        buf[k] = (unsigned char)(i * 31 + k);
    *ev = (tl_event){.seq = i + 1, .time = (int64_t)i * 1000 - 5,
                     .kind = (uint16_t)(i % TL_EV__COUNT),
                     .okind = (uint8_t)(i % 8), .flags = (uint8_t)(i & 1),
                     .task = (uint32_t)i, .object = (uint32_t)(i * 3),
                     .run = (uint32_t)(i / 1000 + 1), .a = -(int64_t)i,
                     .b = (int64_t)(i * i), .payload = len ? buf : NULL,
                     .len = len};
    return len;
}

/* What a walk over a journal saw. */
typedef struct seen {
    uint64_t events;            /* event records, checked against make_event */
    uint64_t metas;             /* META records */
    uint32_t loop;              /* the loop id they must carry */
    uint64_t stop_at;           /* return 7 at this event (0: never) */
} seen;

static int
check_record(const tl_jrec *r, const void *payload, void *udata)
{
    seen *s = udata;
    unsigned char buf[64];
    tl_event ev;
    size_t len;

    if (r->kind == TL_JREC_META) {
        char want[32];
        int n = snprintf(want, sizeof want, "key%llu",
                         (unsigned long long)s->metas);
        ck_assert_uint_eq(r->commit - 1, (unsigned)n + 1 + 5);
        ck_assert_int_eq(memcmp(payload, want, (size_t)n + 1), 0);
        ck_assert_int_eq(memcmp((const char *)payload + n + 1, "value", 5),
                         0);
        s->metas++;
        return 0;
    }
    /* Per-record checks abort only on failure: Check's assertions write
     * to a pipe even when they hold, a million times here. */
    if (r->kind >= TL_EV__COUNT)
        ck_abort_msg("record %llu: kind %u", (unsigned long long)s->events,
                     r->kind);
    len = make_event(&ev, s->events, buf);
    if (!(r->commit == len + 1 && r->kind == ev.kind &&
          r->okind == ev.okind && r->flags == ev.flags &&
          r->task == ev.task && r->object == ev.object &&
          r->run == ev.run && r->loop == s->loop && r->seq == ev.seq &&
          r->time == ev.time && r->a == ev.a && r->b == ev.b))
        ck_abort_msg("record %llu differs from what was appended",
                     (unsigned long long)s->events);
    if (len && memcmp(payload, buf, len) != 0)
        ck_abort_msg("record %llu: payload differs",
                     (unsigned long long)s->events);
    s->events++;
    if (s->stop_at && s->events == s->stop_at)
        return 7;
    return 0;
}

/* Writes a journal of nmeta META records then n events, closed cleanly
 * unless leave_open (then the handle is returned in *open_j). */
static void
write_journal(const char *p, uint64_t n, unsigned nmeta, tl_journal **open_j)
{
    unsigned char buf[64];
    tl_journal *j;
    tl_event ev;

    ck_assert_int_eq(tl_journal_open(&j, p), 0);
    for (unsigned m = 0; m < nmeta; m++) {
        char key[32];
        snprintf(key, sizeof key, "key%u", m);
        tl_journal_meta(j, key, "value");
    }
    for (uint64_t i = 0; i < n; i++) {
        make_event(&ev, i, buf);
        tl_journal_append(j, 2, &ev);
    }
    ck_assert_int_eq(tl_journal_error(j), 0);
    if (open_j)
        *open_j = j;
    else
        tl_journal_close(j);
}

/* Reads the journal at p; expects rc and how it ended. */
static seen
read_journal(const char *p, int want_rc, int clean, int stopped)
{
    seen s = {.loop = 2};
    tl_journal_end end = {-1, -1};
    int rc = tl_journal_read(p, check_record, &s, &end);

    ck_assert_msg(rc == want_rc, "tl_journal_read(%s) = %d, expected %d", p,
                  rc, want_rc);
    ck_assert_msg(end.clean == clean, "end.clean = %d, expected %d",
                  end.clean, clean);
    ck_assert_msg(end.stopped == stopped, "end.stopped = %d, expected %d",
                  end.stopped, stopped);
    return s;
}

START_TEST(journal_round_trip)
{
    char p[512];
    seen s;

    write_journal(at(p, "j.tlj"), 1000, 3, NULL);
    ck_assert_int_eq(tl_journal_pid(p), (int)getpid());
    s = read_journal(p, 0, 1, 0);
    ck_assert_uint_eq(s.events, 1000);
    ck_assert_uint_eq(s.metas, 3);
    /* A clean close trims the file to its last record. */
    ck_assert_int_lt(file_size(p), (off_t)(HEAD + 1000 * (RECSZ + 64) +
                                           4 * (RECSZ + 16) + RECSZ));
    /* The callback's non-zero ends the walk and is returned. */
    {
        seen t = {.loop = 2, .stop_at = 10};
        tl_journal_end end;
        ck_assert_int_eq(tl_journal_read(p, check_record, &t, &end), 7);
        ck_assert_uint_eq(t.events, 10);
    }
    /* An empty journal: no records, clean. */
    write_journal(at(p, "empty.tlj"), 0, 0, NULL);
    s = read_journal(p, 0, 1, 0);
    ck_assert_uint_eq(s.events + s.metas, 0);
}
END_TEST

/* Payloads of sizes around and past the live block, each a byte
 * pattern: a record of about BLOCK bytes is where a writer must spill it
 * as a block of its own, whatever its record heads cost. */
static const size_t big_sizes[] = {
    (size_t)9 << 20,                    /* many blocks' worth */
    BLOCK - 200,                        /* around the live block's room */
    BLOCK - 112,
    BLOCK - 96,
    BLOCK - 95,
    BLOCK - 56,
    BLOCK - 16,
    BLOCK,
    BLOCK + 1,
    1,
    (size_t)17 << 20,                   /* past a disk reservation */
};
#define NBIG (sizeof big_sizes / sizeof *big_sizes)

static unsigned char *
big_payload(size_t i)
{
    unsigned char *b = malloc(big_sizes[i]);

    ck_assert_ptr_nonnull(b);
    for (size_t k = 0; k < big_sizes[i]; k++)
        b[k] = (unsigned char)(k * 13 + i + (k >> 16));
    return b;
}

typedef struct big_seen {
    size_t n;                   /* records seen */
} big_seen;

static int
check_big(const tl_jrec *r, const void *payload, void *udata)
{
    big_seen *s = udata;
    size_t i = s->n / 2;

    if (s->n % 2 == 0) {        /* the small record before each big one */
        ck_assert_uint_eq(r->commit, 4);
        ck_assert_int_eq(memcmp(payload, "abc", 3), 0);
    } else {
        unsigned char *b = big_payload(i);
        ck_assert_msg(r->commit - 1 == big_sizes[i],
                      "big record %zu: %u bytes, expected %zu", i,
                      r->commit - 1, big_sizes[i]);
        ck_assert_msg(memcmp(payload, b, big_sizes[i]) == 0,
                      "big record %zu: payload differs", i);
        ck_assert_int_eq(r->a, (int64_t)i);
        free(b);
    }
    s->n++;
    return 0;
}

/* Payloads repeated a moment later (an echo, a relay) are recorded as
 * references: read back, every payload is the one appended, byte for
 * byte, across live blocks too. */
typedef struct paycheck {
    uint64_t n;                 /* events read */
    unsigned seed;              /* what payload_of needs */
} paycheck;

/* The payload of event i: 64 to 2000 bytes; every third repeats the one
 * before it, every fifth the one three before, the rest are new; some
 * new ones have the length of an old one and differ in one byte. */
static size_t
payload_of(uint64_t i, unsigned char *buf)
{
    uint64_t k = i % 3 == 2 ? i - 1 : i % 5 == 4 && i >= 3 ? i - 3 : i;
    size_t len = 64 + (size_t)(k * 7919 % 1937);

    for (size_t b = 0; b < len; b++)
        buf[b] = (unsigned char)(k * 31 + b);
    if (k % 7 == 6)
        len = 64 + (size_t)((k - 1) * 7919 % 1937);     /* an old length */
    return len;
}

static int
check_payload(const tl_jrec *r, const void *payload, void *udata)
{
    paycheck *c = udata;
    static unsigned char want[4096];
    size_t len;

    if (r->kind == TL_JREC_META)
        return 0;
    len = payload_of(c->n, want);
    ck_assert_uint_eq(r->commit - 1, len);
    ck_assert_msg(memcmp(payload, want, len) == 0, "payload %llu differs",
                  (unsigned long long)c->n);
    ck_assert_uint_eq(r->seq, c->n + 1);
    c->n++;
    return 0;
}

START_TEST(repeated_payloads_read_back_whole)
{
    enum { N = 3000 };          /* ~3 MB of payloads: several blocks */
    static unsigned char buf[4096];
    char p[512];
    tl_journal *j;
    tl_journal_end end;
    paycheck c = {0, 0};

    ck_assert_int_eq(tl_journal_open(&j, at(p, "pay.tlj")), 0);
    for (uint64_t i = 0; i < N; i++) {
        tl_event ev = {.seq = i + 1, .kind = TL_EV_SOCKET_RECV,
                       .okind = TL_OBJ_SOCKET, .task = 1, .object = 2,
                       .run = 1, .payload = buf};
        ev.len = payload_of(i, buf);
        ev.a = (int64_t)ev.len;
        ck_assert_int_eq(tl_journal_append(j, 1, &ev), 0);
    }
    tl_journal_close(j);
    /* References make the file smaller than the payloads it holds. */
    ck_assert_int_lt(file_size(p), 850 * N);
    ck_assert_int_eq(tl_journal_read(p, check_payload, &c, &end), 0);
    ck_assert_uint_eq(c.n, N);
    ck_assert(end.clean);
}
END_TEST

START_TEST(journal_payloads_bigger_than_a_block)
{
    char p[512], db[512], sql[128];
    big_seen s = {0};
    tl_journal_end end;
    tl_journal *j;
    sqlite3 *d;
    char err[512];

    ck_assert_int_eq(tl_journal_open(&j, at(p, "big.tlj")), 0);
    for (size_t i = 0; i < NBIG; i++) {
        unsigned char *b = big_payload(i);
        tl_event small = {.kind = TL_EV_SOCKET_SEND, .seq = 2 * i + 1,
                          .payload = "abc", .len = 3};
        tl_event big = {.kind = TL_EV_SOCKET_RECV, .seq = 2 * i + 2,
                        .a = (int64_t)i, .payload = b, .len = big_sizes[i]};
        tl_journal_append(j, 1, &small);
        tl_journal_append(j, 1, &big);
        free(b);
    }
    ck_assert_int_eq(tl_journal_error(j), 0);
    tl_journal_close(j);
    ck_assert_int_eq(tl_journal_read(p, check_big, &s, &end), 0);
    ck_assert_uint_eq(s.n, 2 * NBIG);
    ck_assert_int_eq(end.clean, 1);
    /* The same bytes come out of the trace. */
    ck_assert_int_eq(tl_store_import(p, at(db, "big.db"), NULL, err,
                                     sizeof err), 0);
    ck_assert(!exists(p));
    ck_assert_int_eq(tl_trace_open(&d, db, err, sizeof err), 0);
    for (size_t i = 0; i < NBIG; i++) {
        sqlite3_stmt *st;
        unsigned char *b = big_payload(i);
        snprintf(sql, sizeof sql, "SELECT data FROM payloads WHERE seq=%zu",
                 2 * i + 2);
        ck_assert_int_eq(sqlite3_prepare_v2(d, sql, -1, &st, NULL), 0);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_bytes(st, 0), (int)big_sizes[i]);
        ck_assert(memcmp(sqlite3_column_blob(st, 0), b, big_sizes[i]) == 0);
        sqlite3_finalize(st);
        free(b);
    }
    sqlite3_close(d);
}
END_TEST

START_TEST(journal_many_records_cross_blocks)
{
    /* Payloads of 30 bytes on average: 600000 records fill many blocks
     * and pass a disk reservation (8 MiB) whatever their heads cost. */
    const uint64_t n = 600000;
    char p[512];
    seen s;

    write_journal(at(p, "many.tlj"), n, 2, NULL);
    ck_assert_int_gt(file_size(p), (off_t)16 << 20);
    s = read_journal(p, 0, 1, 0);
    ck_assert_uint_eq(s.events, n);
    ck_assert_uint_eq(s.metas, 2);
}
END_TEST


/* Marks the record at off, the last one, as never finished, the way a
 * writer that died while appending it leaves it.  The only place this
 * file knows the journal's layout (journal.h). */
static void
unfinish(const char *p, off_t off)
{
    uint32_t v, zero = 0;
    int fd = open(p, O_RDWR);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &v, sizeof v, 24), sizeof v);
    if (v >= 3 && v <= 5) {   /* live block 0 {word, state (OPEN), arg} */
        uint64_t word = (uint64_t)(off - HEAD);
        ck_assert_int_lt(off, HEAD + (off_t)BLOCK);
        ck_assert_int_eq(pwrite(fd, &word, sizeof word, HEAD), sizeof word);
        ck_assert_int_eq(pwrite(fd, &zero, sizeof zero, HEAD + 8),
                         sizeof zero);
    } else {
        ck_abort_msg("journal version %u: teach unfinish() its layout", v);
    }
    close(fd);
}

START_TEST(journal_cut_anywhere_reads_whole_records)
{
    enum { N = 40, METAS = 2, TOTAL = N + METAS };
    off_t end_of[TOTAL + 1] = {0};      /* where record k ends: the
                                           shortest cut that keeps it */
    char full[512], p[512], *img;
    uint64_t prev = 0;
    off_t size;

    write_journal(at(full, "full.tlj"), N, METAS, NULL);
    img = read_file(full, &size);
    at(p, "cut.tlj");
    /* Cut after every byte: the records before the cut, whole and in
     * order (check_record checks each), one more at a time; clean only
     * when nothing is cut. */
    for (off_t len = HEAD; len <= size; len++) {
        seen s = {.loop = 2};
        tl_journal_end end = {-1, -1};
        uint64_t got;
        write_file(p, img, (size_t)len);
        ck_assert_int_eq(tl_journal_read(p, check_record, &s, &end), 0);
        got = s.events + s.metas;
        ck_assert_msg(got == prev || got == prev + 1,
                      "cut at %lld: %llu records after %llu", (long long)len,
                      (unsigned long long)got, (unsigned long long)prev);
        ck_assert_msg(end.clean == (len == size),
                      "cut at %lld of %lld: clean = %d", (long long)len,
                      (long long)size, end.clean);
        ck_assert_int_eq(end.stopped, 0);
        if (got > prev)
            end_of[got] = len;
        prev = got;
    }
    ck_assert_uint_eq(prev, TOTAL);
    /* The last record never finished: the walk stops before it. */
    write_file(p, img, (size_t)size);
    unfinish(p, end_of[TOTAL - 1]);
    {
        seen s = read_journal(p, 0, 0, 0);
        ck_assert_uint_eq(s.events, N - 1);
        ck_assert_uint_eq(s.metas, METAS);
    }
    free(img);
}
END_TEST

/* A journal of many spilled blocks cut anywhere (every 40000th byte, and
 * around each block's start): the records of the blocks before the cut,
 * never more as the cut moves back, never any of a later block; clean
 * only when whole. */
START_TEST(journal_cut_across_blocks)
{
    const uint64_t n = 200000;          /* ~8 MiB: some 8 blocks */
    char full[512], p[512], *img;
    uint64_t prev = 0;
    off_t size, len;

    write_journal(at(full, "blocks.tlj"), n, 0, NULL);
    img = read_file(full, &size);
    ck_assert_int_gt(size, HEAD + 5 * (off_t)BLOCK);
    at(p, "cutb.tlj");
    for (len = HEAD; len <= size; ) {
        seen s = {.loop = 2};
        tl_journal_end end = {-1, -1};
        write_file(p, img, (size_t)len);
        ck_assert_int_eq(tl_journal_read(p, check_record, &s, &end), 0);
        ck_assert_msg(s.events >= prev, "cut at %lld: %llu records after %llu",
                      (long long)len, (unsigned long long)s.events,
                      (unsigned long long)prev);
        ck_assert_msg(end.clean == (len == size), "cut at %lld: clean = %d",
                      (long long)len, end.clean);
        prev = s.events;
        if (len == size)
            break;
        /* The next cut: 40000 bytes on, or a block's first bytes. */
        off_t next = len + 40000, blk = (len - HEAD) / (off_t)BLOCK + 1;
        off_t start = HEAD + blk * (off_t)BLOCK;
        if (len < start - 1 && next >= start - 1)
            next = start - 1;
        else if (len == start - 1)
            next = start + 24;          /* inside its header, then past */
        len = next < size ? next : size;
    }
    ck_assert_uint_eq(prev, n);
    free(img);
}
END_TEST

/* A writer killed at any moment while appending leaves a journal whose
 * records are exactly the first ones it appended, whole. */
START_TEST(journal_writer_killed_mid_append)
{
    char p[512];

    for (int round = 0; round < 12; round++) {
        pid_t pid;
        int st, fds[2];
        char c;
        seen s;

        snprintf(p, sizeof p, "%s/kill%d.tlj", dir, round);
        ck_assert_int_eq(pipe(fds), 0);
        fflush(NULL);
        if ((pid = fork()) == 0) {
            unsigned char buf[64];
            tl_journal *j;
            tl_event ev;
            close(fds[0]);
            if (tl_journal_open(&j, p) != 0)
                _exit(2);
            for (uint64_t i = 0;; i++) {
                make_event(&ev, i, buf);
                tl_journal_append(j, 2, &ev);
                if (i == 1000 && write(fds[1], "r", 1) != 1)
                    _exit(3);
            }
        }
        close(fds[1]);
        ck_assert_int_eq(read(fds[0], &c, 1), 1);      /* 1000 are in */
        close(fds[0]);
        usleep((useconds_t)(round * 700));
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        s = read_journal(p, 0, 0, 0);
        ck_assert_uint_gt(s.events, 1000);
        unlink(p);
    }
}
END_TEST

START_TEST(journal_left_open_by_a_dead_writer)
{
    char p[512];
    tl_journal *j;
    pid_t pid;
    int st;
    seen s;

    at(p, "dead.tlj");
    fflush(NULL);
    if ((pid = fork()) == 0) {
        write_journal(p, 5000, 1, &j);
        raise(SIGKILL);                 /* no close, no END */
        _exit(1);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_int_eq(tl_journal_pid(p), (int)pid);
    s = read_journal(p, 0, 0, 0);
    ck_assert_uint_eq(s.events, 5000);
    ck_assert_uint_eq(s.metas, 1);
}
END_TEST

START_TEST(journal_refuses_what_is_not_one)
{
    char p[512], text[8192];
    tl_journal_end end;
    seen s = {.loop = 2};
    int fd;
    uint32_t v = TL_JOURNAL_VERSION + 1;

    ck_assert_int_eq(tl_journal_read(at(p, "missing.tlj"), check_record, &s,
                                     &end), -ENOENT);
    ck_assert_int_eq(tl_journal_pid(p), -ENOENT);
    write_file(at(p, "empty"), "", 0);
    ck_assert_int_eq(tl_journal_read(p, check_record, &s, &end), TL_EINVAL);
    write_file(at(p, "short"), "hello\n", 6);
    ck_assert_int_eq(tl_journal_read(p, check_record, &s, &end), TL_EINVAL);
    memset(text, 'x', sizeof text);
    write_file(at(p, "text"), text, sizeof text);
    ck_assert_int_eq(tl_journal_read(p, check_record, &s, &end), TL_EINVAL);
    ck_assert_int_eq(tl_journal_pid(p), 0);
    /* A journal of a newer version. */
    write_journal(at(p, "newer.tlj"), 10, 0, NULL);
    fd = open(p, O_WRONLY);
    ck_assert_int_eq(pwrite(fd, &v, sizeof v, 24), sizeof v);
    close(fd);
    ck_assert_int_eq(tl_journal_read(p, check_record, &s, &end), TL_EINVAL);
    ck_assert_uint_eq(s.events, 0);
}
END_TEST

START_TEST(journal_full_disk_stops_with_a_stop_record)
{
    char p[512], db[512], err[512];
    unsigned long long appended = 0;
    int fds[2], st;
    sqlite3 *d;
    pid_t pid;
    seen s;

    at(p, "full.tlj");
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    if ((pid = fork()) == 0) {
        /* Room for the first disk reservation (8 MiB), not the second. */
        struct rlimit rl = {(rlim_t)12 << 20, (rlim_t)12 << 20};
        unsigned char buf[64];
        tl_journal *j;
        tl_event ev;
        uint64_t i;
        close(fds[0]);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || tl_journal_open(&j, p) != 0)
            _exit(2);
        for (i = 0; i < 1000000; i++) {
            make_event(&ev, i, buf);
            tl_journal_append(j, 2, &ev);
            if (tl_journal_error(j))
                break;
        }
        if (write(fds[1], &i, sizeof i) != sizeof i)
            _exit(3);
        st = tl_journal_error(j);
        tl_journal_append(j, 2, &ev);          /* ignored from now on */
        tl_journal_close(j);
        _exit(st == -EFBIG ? 0 : 4);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &appended, sizeof appended),
                     sizeof appended);
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "writer: status %#x (4: error was not -EFBIG)", st);
    ck_assert_uint_gt(appended, 1000);
    ck_assert_uint_lt(appended, 1000000);
    s = read_journal(p, 0, 0, -EFBIG);
    ck_assert_uint_eq(s.events, appended);
    /* The trace says so. */
    ck_assert_int_eq(tl_store_import(p, at(db, "full.db"), NULL, err,
                                     sizeof err), 0);
    ck_assert_int_eq(tl_trace_open(&d, db, err, sizeof err), 0);
    {
        sqlite3_stmt *q;
        ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT value FROM meta WHERE "
                                            "key='recording_stopped'", -1,
                                            &q, NULL), 0);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 0),
                         strerror(EFBIG));
        sqlite3_finalize(q);
    }
    sqlite3_close(d);
}
END_TEST

/* ---- SQLite: import -------------------------------------------------- */

/* Query helpers (q_int: tl_check.h): the first column of the first row. */
static const char *
q_text(sqlite3 *d, const char *sql)
{
    static char buf[4096];
    sqlite3_stmt *s;
    const unsigned char *t;

    ck_assert_msg(sqlite3_prepare_v2(d, sql, -1, &s, NULL) == SQLITE_OK,
                  "%s: %s", sql, sqlite3_errmsg(d));
    ck_assert_msg(sqlite3_step(s) == SQLITE_ROW, "%s: no row", sql);
    t = sqlite3_column_text(s, 0);
    snprintf(buf, sizeof buf, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(s);
    return buf;
}

#define EXPECT_INT(d, sql, want)                                          \
    do {                                                                  \
        long long got_ = q_int(d, sql);                                   \
        ck_assert_msg(got_ == (long long)(want),                          \
                      "%s: expected %lld, got %lld", sql,                 \
                      (long long)(want), got_);                           \
    } while (0)
#define EXPECT_TEXT(d, sql, want)                                         \
    do {                                                                  \
        const char *got_ = q_text(d, sql);                                \
        ck_assert_msg(strcmp(got_, want) == 0,                            \
                      "%s: expected '%s', got '%s'", sql, want, got_);    \
    } while (0)

/* A recorder of our own, as record.c does it: every event of a loop into
 * a journal, and their kinds kept to compare with the trace. */
typedef struct jhook {
    tl_journal *j;              /* the journal */
    size_t n;                   /* events appended */
    char kinds[8192];           /* their kinds, as "k,k,...," */
    size_t klen;                /* bytes used in kinds */
} jhook;

static void
to_journal(const tl_event *ev, void *udata)
{
    jhook *h = udata;

    tl_journal_append(h->j, 1, ev);
    h->n++;
    if (h->klen + 8 < sizeof h->kinds)
        h->klen += (size_t)snprintf(h->kinds + h->klen, 8, "%d,", ev->kind);
}

static tl_queue *jobs, *never;
static tl_flag *done;

static void *
producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= 5; i++)
        tl_queue_put(jobs, (void *)i);
    tl_queue_close(jobs);
    return NULL;
}

static void *
consumer(void *arg)
{
    void *item;
    long sum = 0;

    (void)arg;
    while (tl_queue_get(jobs, &item) == 0)
        sum += (long)item;
    tl_flag_set(done);
    return (void *)sum;
}

static void *
oops(void *arg)
{
    (void)arg;
    tl_fail("went %s", "wrong");
}

static void *
work_root(void *arg)
{
    tl_task *p, *c, *o;
    void *sum = NULL;

    (void)arg;
    tl_queue_new(&jobs, 2, "jobs");
    tl_flag_new(&done, "done");
    tl_spawn(&p, producer, NULL, "producer");
    tl_spawn(&c, consumer, NULL, "consumer");
    tl_spawn(&o, oops, NULL, "oops");
    ck_assert_int_eq(tl_flag_wait(done), 0);
    ck_assert_int_eq(tl_join(c, &sum), 0);
    ck_assert_int_eq((long)sum, 15);
    ck_assert_int_eq(tl_join(o, NULL), TL_EFAILED);
    tl_join(p, NULL);
    tl_queue_free(jobs);
    tl_flag_free(done);
    return NULL;
}

static void *
stuck(void *arg)
{
    (void)arg;
    tl_queue_get(never, NULL);
    return NULL;
}

static void *
deadlock_root(void *arg)
{
    tl_task *s;

    (void)arg;
    tl_queue_new(&never, 0, "never");
    tl_spawn(&s, stuck, NULL, "stuck");
    tl_join(s, NULL);
    return NULL;
}

/* Records two runs of a loop (a clean one, then a deadlock) into jpath. */
static void
record_two_runs(const char *jpath, jhook *h)
{
    tl_loop *loop;

    memset(h, 0, sizeof *h);
    ck_assert_int_eq(tl_journal_open(&h->j, jpath), 0);
    tl_journal_meta(h->j, "program", "check_trace");
    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_loop_add_hook(loop, TL_EVMASK_ALL, to_journal, h), 0);
    ck_assert_int_eq(tl_loop_run(loop, work_root, NULL, NULL), 0);
    ck_assert_int_eq(tl_loop_run(loop, deadlock_root, NULL, NULL),
                     TL_EDEADLOCK);
    tl_loop_free(loop);
    tl_queue_free(never);
}

START_TEST(import_fills_every_table)
{
    tl_import_info info = {.exited = 1, .status = 3};
    char jp[512], db[512], err[512], sql[256];
    sqlite3 *d;
    jhook h;

    record_two_runs(at(jp, "t.db.tlj"), &h);
    tl_journal_close(h.j);
    ck_assert_int_eq(tl_store_import(jp, at(db, "t.db"), &info, err,
                                     sizeof err), 0);
    ck_assert(!exists(jp));                     /* the journal is gone */
    ck_assert(!exists(at(sql, "t.db.tmp")));
    ck_assert_int_eq(tl_trace_open(&d, db, err, sizeof err), 0);
    EXPECT_INT(d, "PRAGMA user_version", TL_SCHEMA_VERSION);
    EXPECT_INT(d, "SELECT count(*) FROM events", h.n);
    EXPECT_INT(d, "SELECT min(seq) FROM events", 1);
    EXPECT_INT(d, "SELECT max(seq) FROM events", h.n);
    EXPECT_INT(d, "SELECT min(time) FROM events", 0);
    EXPECT_INT(d, "SELECT count(*) FROM events e, events f WHERE "
                  "f.seq = e.seq + 1 AND f.time < e.time", 0);
    /* Order and kinds as the hook saw them. */
    h.kinds[h.klen] = 0;
    EXPECT_TEXT(d, "SELECT group_concat(kind || ',', '') FROM "
                   "(SELECT kind FROM events ORDER BY seq)", h.kinds);
    snprintf(sql, sizeof sql, "SELECT value FROM meta WHERE key='events'");
    snprintf(err, sizeof err, "%zu", h.n);
    EXPECT_TEXT(d, sql, err);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='ended'", "normally");
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='exit_status'", "3");
    EXPECT_INT(d, "SELECT count(*) FROM meta WHERE key='signal'", 0);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='program'",
                "check_trace");
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='schema_version'", "2");
    EXPECT_INT(d, "SELECT count(*) FROM kinds", TL_EV__COUNT);
    EXPECT_TEXT(d, "SELECT name FROM kinds WHERE kind=15", "queue_put");
    /* Tasks: ids go on across runs; how each ended. */
    EXPECT_TEXT(d, "SELECT group_concat(id || ':' || name || ':' || parent "
                   "|| ':' || coalesce(end_state, '-'), ' ') FROM "
                   "(SELECT * FROM tasks ORDER BY id)",
                "1:main:0:done 2:producer:1:done 3:consumer:1:done "
                "4:oops:1:failed 5:main:0:- 6:stuck:5:-");
    EXPECT_TEXT(d, "SELECT message FROM tasks WHERE name='oops'",
                "went wrong");
    EXPECT_INT(d, "SELECT count(*) FROM tasks t JOIN events e ON "
                  "e.seq = t.spawn_seq JOIN kinds k ON k.kind = e.kind "
                  "WHERE k.name = 'spawn'", 6);
    /* Queues and sync objects. */
    EXPECT_TEXT(d, "SELECT group_concat(id || ':' || name || ':' || maxsize "
                   "|| ':' || (close_seq IS NOT NULL), ' ') FROM "
                   "(SELECT * FROM queues ORDER BY id)",
                "1:jobs:2:1 2:never:0:0");
    EXPECT_TEXT(d, "SELECT kind || ':' || name FROM syncs", "flag:done");
    /* Runs: the second deadlocked. */
    EXPECT_INT(d, "SELECT count(*) FROM runs", 2);
    snprintf(sql, sizeof sql, "SELECT group_concat(rc, ' ') FROM "
                              "(SELECT rc FROM runs ORDER BY run)");
    snprintf(err, sizeof err, "0 %d", TL_EDEADLOCK);
    EXPECT_TEXT(d, sql, err);
    EXPECT_TEXT(d, "SELECT group_concat(root, ' ') FROM "
                   "(SELECT root FROM runs ORDER BY run)", "1 5");
    /* The deadlock: main joins stuck, stuck gets from never. */
    EXPECT_TEXT(d, "SELECT group_concat(task || ':' || wait || ':' || okind "
                   "|| ':' || object, ' ') FROM (SELECT * FROM "
                   "deadlock_waits ORDER BY task)",
                "5:join:1:6 6:get:2:2");
    EXPECT_INT(d, "SELECT count(*) FROM deadlock_waits w JOIN events e ON "
                  "e.seq = w.seq JOIN kinds k ON k.kind = e.kind WHERE "
                  "k.name = 'deadlock' AND e.a = 2", 2);
    /* Payloads and the readable view. */
    EXPECT_TEXT(d, "SELECT CAST(data AS TEXT) FROM payloads p JOIN events e "
                   "USING(seq) JOIN kinds k ON k.kind = e.kind WHERE "
                   "k.name = 'spawn' AND e.object = 4", "oops");
    EXPECT_INT(d, "SELECT count(*) FROM event_log", h.n);
    EXPECT_TEXT(d, "SELECT detail FROM event_log WHERE kind='task_failed'",
                "went wrong");
    EXPECT_TEXT(d, "SELECT detail FROM event_log WHERE kind='deadlock'",
                "2 tasks blocked");
    /* Read-only. */
    ck_assert_int_eq(sqlite3_exec(d, "DELETE FROM meta", NULL, NULL, NULL),
                     SQLITE_READONLY);
    sqlite3_close(d);
}
END_TEST

START_TEST(import_of_a_cut_journal_says_abnormally)
{
    tl_import_info info = {.exited = 1, .status = 128 + 9, .signal = 9};
    char jp[512], db[512], err[512];
    sqlite3 *d;
    jhook h;

    /* Imported while still open: no END record, as if the writer died. */
    record_two_runs(at(jp, "cut.db.tlj"), &h);
    ck_assert_int_eq(tl_store_import(jp, at(db, "cut.db"), &info, err,
                                     sizeof err), 0);
    ck_assert_int_eq(tl_trace_open(&d, db, err, sizeof err), 0);
    EXPECT_INT(d, "SELECT count(*) FROM events", h.n);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='ended'", "abnormally");
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='signal'", "9");
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='exit_status'", "137");
    sqlite3_close(d);
    tl_journal_close(h.j);                      /* for ASan's sake */
}
END_TEST

START_TEST(import_refuses_a_non_journal)
{
    char jp[512], db[512], err[512] = "";

    write_file(at(jp, "x.tlj"), "not a journal\n", 14);
    ck_assert_int_eq(tl_store_import(jp, at(db, "x.db"), NULL, err,
                                     sizeof err), -1);
    ck_assert_msg(strstr(err, "not a tapeloop journal") && strstr(err, jp),
                  "err: '%s'", err);
    ck_assert(!strchr(err, '\n'));
    ck_assert(!exists(db));
    ck_assert(exists(jp));                      /* left alone */
    ck_assert(!exists(at(db, "x.db.tmp")));
    ck_assert_int_eq(tl_store_import(at(jp, "missing.tlj"), at(db, "y.db"),
                                     NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, strerror(ENOENT)), "err: '%s'", err);
    ck_assert(!exists(db));
}
END_TEST

START_TEST(check_target_refuses_existing_and_unwritable)
{
    char p[512], err[512] = "";

    ck_assert_int_eq(tl_store_check_target(at(p, "new.db"), 0, err,
                                           sizeof err), 0);
    write_file(p, "x", 1);
    ck_assert_int_eq(tl_store_check_target(p, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "already exists") && strstr(err, p),
                  "err: '%s'", err);
    ck_assert_int_eq(tl_store_check_target(p, 1, err, sizeof err), 0);
    ck_assert_int_eq(tl_store_check_target(at(p, "no/such/dir/t.db"), 1, err,
                                           sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot write"), "err: '%s'", err);
    if (geteuid() != 0) {                       /* root writes anywhere */
        ck_assert_int_eq(chmod(dir, 0555), 0);
        ck_assert_int_eq(tl_store_check_target(at(p, "t.db"), 1, err,
                                               sizeof err), -1);
        chmod(dir, 0755);
        ck_assert_msg(strstr(err, "cannot write"), "err: '%s'", err);
    }
}
END_TEST

/* ---- tl_trace_open ----------------------------------------------------- */

/* A good trace at dir/name. */
static void
make_trace(const char *name)
{
    char jp[512], db[512], err[512];
    jhook h;

    snprintf(jp, sizeof jp, "%s/%s.tlj", dir, name);
    record_two_runs(jp, &h);
    tl_journal_close(h.j);
    ck_assert_int_eq(tl_store_import(jp, at(db, name), NULL, err,
                                     sizeof err), 0);
}

/* tl_trace_open(path) fails with a one-line message containing what, and
 * leaves *db alone. */
static void
expect_refused(const char *path, const char *what)
{
    sqlite3 *d = (sqlite3 *)(uintptr_t)0x1;
    char err[512] = "";

    ck_assert_msg(tl_trace_open(&d, path, err, sizeof err) == -1,
                  "%s: opened, expected '%s'", path, what);
    ck_assert_msg(d == (sqlite3 *)(uintptr_t)0x1, "%s: *db written", path);
    ck_assert_msg(strstr(err, what) != NULL,
                  "%s: message '%s', expected it to contain '%s'", path, err,
                  what);
    ck_assert_msg(strstr(err, path) != NULL,
                  "message '%s' does not name the file", err);
    ck_assert_msg(!strchr(err, '\n'), "message '%s' is not one line", err);
}

static void
sql_on(const char *path, const char *sql)
{
    sqlite3 *d;

    ck_assert_int_eq(sqlite3_open(path, &d), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(d, sql, NULL, NULL, NULL) == SQLITE_OK,
                  "%s: %s", sql, sqlite3_errmsg(d));
    sqlite3_close(d);
}

START_TEST(trace_open_refuses_what_is_not_a_trace)
{
    char p[512], good[512], text[8192];

    expect_refused(at(p, "missing.db"), strerror(ENOENT));
    write_file(at(p, "empty.db"), "", 0);
    expect_refused(p, "empty");
    memset(text, 'x', sizeof text);
    write_file(at(p, "text.db"), text, sizeof text);
    expect_refused(p, "not a tapeloop trace");
    write_file(at(p, "short.db"), "SQLite format 3", 16);
    expect_refused(p, "not a tapeloop trace");
    /* A trace cut short. */
    make_trace("good.db");
    at(good, "good.db");
    ck_assert_int_gt(file_size(good), 3 * 4096);
    copy_file(good, at(p, "cut.db"));
    ck_assert_int_eq(truncate(p, 3 * 4096), 0);
    expect_refused(p, "truncated");
    /* A trace from a newer tapeloop. */
    copy_file(good, at(p, "newer.db"));
    sql_on(p, "PRAGMA user_version = 99");
    expect_refused(p, "schema version 99 is newer");
    /* SQLite, but not ours: no user_version, or no meta. */
    sql_on(at(p, "other.db"), "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
    expect_refused(p, "not a tapeloop trace");
    sql_on(at(p, "other1.db"), "CREATE TABLE t(x); PRAGMA user_version = 1");
    expect_refused(p, "not a tapeloop trace");
    sql_on(at(p, "nometa.db"), "CREATE TABLE meta(key TEXT, value TEXT);"
                               "PRAGMA user_version = 1");
    expect_refused(p, "not a tapeloop trace");
    /* The good one opens. */
    {
        sqlite3 *d = NULL;
        char err[512];
        ck_assert_int_eq(tl_trace_open(&d, good, err, sizeof err), 0);
        ck_assert_ptr_nonnull(d);
        EXPECT_INT(d, "SELECT count(*) FROM runs", 2);
        sqlite3_close(d);
    }
}
END_TEST

/* Child processes that record with tl_options.record, run a root that
 * yields n times, and end as told.  Events: run_start, spawn, resume,
 * n x (yield, resume), task_done, run_end = 2n + 5.  END_FORK: before it
 * exits, the recorder forks a child that runs a loop of its own (asking
 * to record too) and exits: the trace must not see it.  END_FORK_TASK:
 * a task forks halfway, and the child goes on running the same loop for
 * a while: it shares the journal's live block, and must write nothing
 * to it. */
enum { END_EXIT, END_KILL, END_WAIT, END_FORK, END_THREAD, END_FORK_TASK };


static void *
yields(void *arg)
{
    for (long i = 0; i < (long)arg; i++)
        tl_yield();
    return NULL;
}

static pid_t fork_child;         /* END_FORK_TASK's child */

/* The child waits until the parent's run is over, then goes on with it:
 * what it emits would land after the parent's last record. */
static void *
forking_yields(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        if (i == (long)arg / 2) {
            fflush(NULL);
            if ((fork_child = fork()) == 0) {
                usleep(200000);
                for (int k = 0; k < 5000; k++)  /* events, unrecorded */
                    tl_yield();
                _exit(0);
            }
            if (fork_child < 0)
                return (void *)1;
        }
        tl_yield();
    }
    return NULL;
}

/* A thread that runs a loop asking to record into the trace at arg. */
static void *
other_thread(void *arg)
{
    tl_options opt = {.record = arg};
    tl_loop *loop;

    if (tl_loop_new(&loop, &opt) != 0 ||
        tl_loop_run(loop, yields, (void *)6L, NULL) != 0)
        return (void *)1;
    tl_loop_free(loop);
    return NULL;
}

static pid_t
recorder(const char *trace, long n, int how, int ready_fd, int via_env)
{
    char errpath[512];
    pid_t pid;

    fflush(NULL);
    if ((pid = fork()) != 0)
        return pid;
    {
        tl_options opt = {.record = via_env ? NULL : trace};
        int fd = open(at(errpath, "stderr"), O_WRONLY | O_CREAT | O_TRUNC,
                      0644);
        tl_loop *loop;
        int rc;
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(14);
        if (via_env)
            setenv("TAPELOOP_RECORD", trace, 1);
        if ((rc = tl_loop_new(&loop, &opt)) != 0)
            _exit(rc == TL_EINVAL ? 10 : 11);
        if (tl_loop_run(loop, how == END_FORK_TASK ? forking_yields : yields,
                        (void *)n, NULL) != 0)
            _exit(12);
        tl_loop_free(loop);
        if (how == END_FORK_TASK) {
            int st;
            if (waitpid(fork_child, &st, 0) != fork_child ||
                !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                _exit(18);
        }
        if (ready_fd >= 0 && write(ready_fd, "r", 1) != 1)
            _exit(13);
        if (how == END_KILL)
            raise(SIGKILL);
        if (how == END_WAIT)
            for (;;)
                pause();
        if (how == END_THREAD) {
            pthread_t th;
            void *res = (void *)1;
            if (pthread_create(&th, NULL, other_thread, (void *)trace) != 0 ||
                pthread_join(th, &res) != 0 || res != NULL)
                _exit(17);
        }
        if (how == END_FORK) {
            pid_t c;
            int st;
            fflush(NULL);
            if ((c = fork()) == 0) {
                if (tl_loop_new(&loop, &opt) != 0 ||
                    tl_loop_run(loop, yields, (void *)7L, NULL) != 0)
                    _exit(15);
                tl_loop_free(loop);
                exit(0);        /* its atexit must leave the journal be */
            }
            if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) ||
                WEXITSTATUS(st) != 0)
                _exit(16);
        }
        exit(0);                /* at exit, the journal becomes the trace */
    }
}

/* The file at p is one line that contains what. */
static void
expect_one_line(const char *p, const char *what)
{
    char buf[1024] = "";
    int fd = open(p, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    char *nl;

    if (fd >= 0)
        close(fd);
    ck_assert_msg(n > 0, "%s: empty, expected a line with '%s'", p, what);
    buf[n] = 0;
    nl = strchr(buf, '\n');
    ck_assert_msg(nl && nl[1] == 0 && strstr(buf, what),
                  "%s: '%s', expected one line with '%s'", p, buf, what);
}

/* Records n yields into the trace at p, ending as told (END_EXIT,
 * END_FORK, ...), checks the recorder exited 0, and opens the trace. */
static sqlite3 *
recorded(const char *p, long n, int how, int via_env)
{
    char err[512];
    sqlite3 *d;
    pid_t pid = recorder(p, n, how, -1, via_env);
    int st;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    ck_assert_msg(tl_trace_open(&d, p, err, sizeof err) == 0, "%s", err);
    return d;
}

START_TEST(record_option_makes_a_trace_at_exit)
{
    char p[512], jp[512], err[512];
    sqlite3 *d;
    pid_t pid;
    int st;

    at(p, "rec.db");
    at(jp, "rec.db.tlj");
    pid = recorder(p, 10, END_EXIT, -1, 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    ck_assert(exists(p));
    ck_assert(!exists(jp));
    ck_assert_int_eq(tl_trace_open(&d, p, err, sizeof err), 0);
    EXPECT_INT(d, "SELECT count(*) FROM events", 2 * 10 + 5);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='ended'", "normally");
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='events'", "25");
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='env.1'", "real");
    EXPECT_INT(d, "SELECT count(*) FROM meta WHERE key IN ('program', "
                  "'argv', 'cwd', 'start_time', 'pid', 'seed.1', "
                  "'tapeloop_version')", 7);
    EXPECT_INT(d, "SELECT value FROM meta WHERE key='pid'", pid);
    EXPECT_INT(d, "SELECT count(*) FROM meta WHERE key='exit_status'", 0);
    EXPECT_INT(d, "SELECT count(*) FROM runs WHERE rc = 0", 1);
    sqlite3_close(d);
    /* Again into the same trace: refused, the trace left alone. */
    pid = recorder(p, 10, END_EXIT, -1, 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 10,
                  "second recording: status %#x, expected exit 10", st);
    expect_one_line(at(jp, "stderr"), "already exists");
    at(jp, "rec.db.tlj");
    ck_assert(!exists(jp));
    ck_assert_int_eq(tl_trace_open(&d, p, err, sizeof err), 0);
    EXPECT_INT(d, "SELECT count(*) FROM events", 25);
    sqlite3_close(d);
    /* TAPELOOP_RECORD does the same. */
    at(p, "env.db");
    pid = recorder(p, 3, END_EXIT, -1, 1);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    ck_assert_int_eq(tl_trace_open(&d, p, err, sizeof err), 0);
    EXPECT_INT(d, "SELECT count(*) FROM events", 2 * 3 + 5);
    sqlite3_close(d);
    /* A fork that runs a loop and exits: the parent's trace only. */
    at(p, "fork.db");
    d = recorded(p, 4, END_FORK, 1);
    EXPECT_INT(d, "SELECT count(*) FROM events", 2 * 4 + 5);
    EXPECT_INT(d, "SELECT count(*) FROM runs", 1);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='ended'", "normally");
    sqlite3_close(d);
    /* A fork inside a task: the child runs the loop on, unrecorded. */
    at(p, "forktask.db");
    d = recorded(p, 3000, END_FORK_TASK, 0);
    EXPECT_INT(d, "SELECT count(*) FROM events", 2 * 3000 + 5);
    EXPECT_INT(d, "SELECT count(*) FROM events WHERE kind = (SELECT kind "
                  "FROM kinds WHERE name = 'yield')", 3000);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='ended'", "normally");
    sqlite3_close(d);
    /* Another thread's loop runs unrecorded, and says so once. */
    at(p, "thread.db");
    pid = recorder(p, 5, END_THREAD, -1, 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    expect_one_line(at(jp, "stderr"), "another thread");
    ck_assert_int_eq(tl_trace_open(&d, p, err, sizeof err), 0);
    EXPECT_INT(d, "SELECT count(*) FROM events", 2 * 5 + 5);
    EXPECT_INT(d, "SELECT count(*) FROM runs", 1);
    sqlite3_close(d);
}
END_TEST

/* ---- the short hand-off record ----------------------------------------- */

static tl_queue *hq;

static void *
hgetter(void *arg)
{
    void *item;

    for (long i = 0; i < (long)arg; i++)
        if (tl_queue_get(hq, &item) != 0 || item != (void *)(i + 1))
            return (void *)1;
    return NULL;
}

static void *
hpeeker(void *arg)
{
    void *item;

    (void)arg;
    return tl_queue_peek(hq, &item) == 0 && item ? NULL : (void *)1;
}

/* Hand-offs to a waiting getter, one with a peeker waiting too (not the
 * short record), a put with nobody waiting, and the getter's rest. */
static void *
handoffs(void *arg)
{
    tl_task *g, *pk;
    void *r1 = (void *)1, *r2 = (void *)1;
    long n = (long)arg;

    (void)arg;
    if (tl_queue_new(&hq, 0, "h") != 0 ||
        tl_spawn(&g, hgetter, (void *)(n + 2), "g") != 0)
        return (void *)1;
    for (long i = 1; i <= n; i++)
        if (tl_queue_put(hq, (void *)i) != 0)
            return (void *)1;
    if (tl_spawn(&pk, hpeeker, NULL, "pk") != 0 ||
        tl_queue_put(hq, (void *)(n + 1)) != 0 ||
        tl_queue_put(hq, (void *)(n + 2)) != 0 || tl_join(g, &r1) != 0 ||
        tl_join(pk, &r2) != 0)
        return (void *)1;
    tl_queue_free(hq);
    return r1 || r2 ? (void *)1 : NULL;
}

static void
count_hook(const tl_event *ev, void *udata)
{
    (void)ev;
    ++*(long *)udata;
}

/* Records handoffs(n) into trace, with a hook beside the recorder (1) or
 * not (0), or not and leaving the journal as it is (2): the child's exit
 * status. */
static int
record_handoffs(const char *trace, long n, int hooked)
{
    pid_t pid;
    int st;

    fflush(NULL);
    if ((pid = fork()) == 0) {
        tl_options opt = {.record = trace};
        tl_loop *loop;
        long nseen = 0;
        void *res = (void *)1;
        if (hooked == 2) {      /* keep the journal: someone else imports */
            setenv("TAPELOOP_RECORD_PARENT", "1", 1);
            hooked = 0;
        }
        if (tl_loop_new(&loop, &opt) != 0 ||
            (hooked && tl_loop_add_hook(loop, TL_EVMASK_ALL, count_hook,
                                        &nseen) != 0) ||
            tl_loop_run(loop, handoffs, (void *)n, &res) != 0 || res)
            _exit(1);
        tl_loop_free(loop);
        exit(0);
    }
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st)
                                                        : -1;
}

/* The events of a journal, in order, as a reader gives them. */
typedef struct evlist {
    tl_jrec *r;
    size_t n, cap;
    const struct evlist *want;  /* when checking: a prefix of these */
} evlist;

static int
list_event(const tl_jrec *r, const void *payload, void *udata)
{
    evlist *l = udata;
    tl_jrec x = *r;

    (void)payload;
    if (x.kind == TL_JREC_META)
        return 0;
    x.commit = 0;
    if (l->want) {
        const tl_jrec *w = &l->want->r[l->n];
        ck_assert_uint_lt(l->n, l->want->n);
        ck_assert_msg(w->kind == x.kind && w->task == x.task &&
                      w->object == x.object && w->a == x.a && w->b == x.b &&
                      w->flags == x.flags && w->okind == x.okind &&
                      w->seq == x.seq && w->time == x.time &&
                      w->loop == x.loop && w->run == x.run,
                      "event %zu differs", l->n);
        l->n++;
        return 0;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->r = realloc(l->r, l->cap * sizeof *l->r);
        ck_assert_ptr_nonnull(l->r);
    }
    l->r[l->n++] = x;
    return 0;
}

/* A journal of short records (hand-offs, three-byte resumes), written by
 * a real loop, cut after every byte: each cut gives the events of the
 * records before it, the same ones, in order, never fewer as the cut
 * moves on; a hand-off record's events come all together or not at all. */
START_TEST(short_records_cut_anywhere)
{
    char trace[512], jp[512], p[512], *img;
    evlist full = {0};
    tl_journal_end end;
    size_t prev = 0;
    off_t size;

    ck_assert_int_eq(record_handoffs(at(trace, "cut.db"), 30, 2), 0);
    at(jp, "cut.db.tlj");
    ck_assert_int_eq(tl_journal_version(jp), TL_JOURNAL_VERSION);
    ck_assert_int_eq(tl_journal_read(jp, list_event, &full, &end), 0);
    ck_assert(end.clean);
    ck_assert_uint_gt(full.n, 30 * 7);
    img = read_file(jp, &size);
    at(p, "cut.tlj");
    for (off_t len = HEAD; len <= size; len++) {
        evlist got = {.want = &full};
        write_file(p, img, (size_t)len);
        ck_assert_int_eq(tl_journal_read(p, list_event, &got, &end), 0);
        ck_assert_msg(got.n >= prev && got.n <= prev + 5,
                      "cut at %lld: %zu events after %zu", (long long)len,
                      got.n, prev);
        ck_assert(end.clean == (len == size));
        prev = got.n;
    }
    ck_assert_uint_eq(prev, full.n);
    free(img);
    free(full.r);
}
END_TEST

START_TEST(short_handoff_records_are_the_same_events)
{
    char a[512], b[512], err[512], sql[1400];
    const char *cols = "seq, loop, run, time >= 0, kind, task, okind, "
                       "object, a, b, flags";
    sqlite3 *d;

    /* With a hook the loop emits every event on its own; without, a
     * hand-off is one record of four: the traces must not differ. */
    enum { N = 60000 };         /* enough records to fill a live block */

    ck_assert_int_eq(record_handoffs(at(a, "hooked.db"), N, 1), 0);
    ck_assert_int_eq(record_handoffs(at(b, "short.db"), N, 0), 0);
    ck_assert_int_eq(tl_trace_open(&d, b, err, sizeof err), 0);
    snprintf(sql, sizeof sql, "ATTACH '%s' AS h", a);
    ck_assert_int_eq(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK);
    EXPECT_INT(d, "SELECT count(*) FROM main.events", q_int(d,
               "SELECT count(*) FROM h.events"));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT %s FROM "
             "main.events EXCEPT SELECT %s FROM h.events)", cols, cols);
    EXPECT_INT(d, sql, 0);
    EXPECT_INT(d, "SELECT count(*) FROM main.events WHERE kind = (SELECT "
                  "kind FROM kinds WHERE name = 'queue_handoff')", N + 2);
    /* The four events of one hand-off share its time, and time never
     * goes back (the reader rebuilds it from differences). */
    EXPECT_INT(d, "SELECT count(*) FROM main.events p JOIN main.events w "
                  "ON w.seq = p.seq + 3 WHERE p.kind = 15 AND w.kind = 5 "
                  "AND w.time = p.time AND p.flags = 1", N + 1);
    EXPECT_INT(d, "SELECT count(*) FROM main.events a JOIN main.events b "
                  "ON b.seq = a.seq + 1 WHERE b.time < a.time", 0);
    EXPECT_INT(d, "SELECT count(*) FROM h.events a JOIN h.events b "
                  "ON b.seq = a.seq + 1 WHERE b.time < a.time", 0);
    sqlite3_close(d);
}
END_TEST

/* The hand-off records a writer leaves around a spill: the next item
 * between the same putter, queue and getter is only its time (SHORT)
 * within a block, and whole in the next block, where the reader starts
 * its memory over. */
START_TEST(handoff_records_around_a_spill)
{
    static char pay[600 << 10];
    char p[512];
    evlist got = {0};
    tl_journal_end end;
    tl_journal *j;
    tl__tape *t;
    uint64_t seq = 1;
    size_t used;

    ck_assert_int_eq(tl_journal_open(&j, at(p, "spill.tlj")), 0);
    t = (tl__tape *)(void *)j;  /* its first member (tape.h) */
    for (int64_t n = 1; n <= 3; n++) {
        tl_event ev = {.kind = TL_EV_SOCKET_RECV, .okind = TL_OBJ_SOCKET,
                       .task = 3, .object = 9, .run = 1, .time = 10 * n + 5,
                       .payload = pay, .len = sizeof pay};
        used = t->used;
        ck_assert_int_eq(tl__tape_handoff(t, tl__lr(1, 1), seq, 10 * n, 1,
                                          7, 2, n), n == 1 ? -1 : 0);
        if (n == 1) {           /* the first record: not the short kind */
            tl_event e = {.kind = TL_EV_YIELD, .task = 1, .run = 1,
                          .seq = seq};
            ck_assert_int_eq(tl_journal_append(j, 1, &e), 0);
            seq++;
            ck_assert_int_eq(tl__tape_handoff(t, tl__lr(1, 1), seq, 10, 1,
                                              7, 2, 1), 0);
            used = t->used - 7;
        }
        /* whole (7 bytes here) when first in a block, else 3 */
        ck_assert_uint_eq(t->used - used, n == 2 ? 3 : 7);
        seq += 4;
        memset(pay, (int)n, sizeof pay);
        ev.seq = seq++;
        ck_assert_int_eq(tl_journal_append(j, 1, &ev), 0);
    }
    ck_assert_uint_eq(t->n, 2);          /* two spills: three blocks */
    tl_journal_close(j);
    ck_assert_int_eq(tl_journal_read(p, list_event, &got, &end), 0);
    ck_assert(end.clean);
    ck_assert_uint_eq(got.n, 1 + 3 * 5);
    for (int64_t n = 1; n <= 3; n++) {
        const tl_jrec *h = &got.r[1 + (n - 1) * 5];
        ck_assert_int_eq(h[0].kind, TL_EV_QUEUE_PUT);
        ck_assert_int_eq(h[1].kind, TL_EV_QUEUE_HANDOFF);
        ck_assert_uint_eq(h[1].task, 1);
        ck_assert_uint_eq(h[1].object, 7);
        ck_assert_int_eq(h[1].a, n);
        ck_assert_int_eq(h[1].b, 2);
        ck_assert_int_eq(h[2].kind, TL_EV_QUEUE_GET);
        ck_assert_uint_eq(h[2].task, 2);
        ck_assert_int_eq(h[3].kind, TL_EV_WAKE);
        ck_assert_int_eq(h[1].time, 10 * n);
        ck_assert_int_eq(h[4].kind, TL_EV_SOCKET_RECV);
    }
    free(got.r);
}
END_TEST

/* Item numbers are the writer's to choose: one past INT64_MAX wraps in
 * the short record and its reading, as in the writer (no overflow for
 * UBSan to stop on). */
START_TEST(handoff_items_wrap_without_overflow)
{
    char p[512];
    evlist got = {0};
    tl_journal_end end;
    tl_journal *j;
    tl__tape *t;
    tl_event e = {.kind = TL_EV_YIELD, .task = 1, .run = 1, .seq = 1};

    ck_assert_int_eq(tl_journal_open(&j, at(p, "wrap.tlj")), 0);
    t = (tl__tape *)(void *)j;
    ck_assert_int_eq(tl_journal_append(j, 1, &e), 0);
    ck_assert_int_eq(tl__tape_handoff(t, tl__lr(1, 1), 2, 0, 1, 7, 2,
                                      INT64_MAX), 0);
    ck_assert_int_eq(tl__tape_handoff(t, tl__lr(1, 1), 6, 0, 1, 7, 2,
                                      INT64_MIN), 0);
    tl_journal_close(j);
    ck_assert_int_eq(tl_journal_read(p, list_event, &got, &end), 0);
    ck_assert_uint_eq(got.n, 9);
    ck_assert_int_eq(got.r[2].a, INT64_MAX);
    ck_assert_int_eq(got.r[6].a, INT64_MIN);
    free(got.r);
}
END_TEST

START_TEST(trace_open_recovers_a_dead_writers_journal)
{
    char p[512], jp[512], err[512] = "", want[64];
    sqlite3 *d;
    pid_t pid;
    int st, fds[2];
    char c;

    at(p, "dead.db");
    at(jp, "dead.db.tlj");
    /* While the writer lives, the trace is still being written. */
    ck_assert_int_eq(pipe(fds), 0);
    pid = recorder(p, 7, END_WAIT, fds[1], 0);
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    close(fds[0]);
    ck_assert(exists(jp));
    ck_assert(!exists(p));
    ck_assert_int_eq(tl_journal_pid(jp), (int)pid);
    snprintf(want, sizeof want, "still being written (by process %d)",
             (int)pid);
    expect_refused(p, want);
    ck_assert(exists(jp));
    /* Killed: the next open converts what it left. */
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(tl_trace_open(&d, p, err, sizeof err) == 0, "err: %s", err);
    ck_assert(!exists(jp));
    ck_assert(exists(p));
    EXPECT_INT(d, "SELECT count(*) FROM events", 2 * 7 + 5);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='ended'", "abnormally");
    EXPECT_INT(d, "SELECT count(*) FROM meta WHERE key='exit_status'", 0);
    EXPECT_INT(d, "SELECT count(*) FROM runs WHERE rc = 0", 1);
    sqlite3_close(d);
    /* Killed in the middle: the same, and once converted it stays so. */
    at(p, "dead2.db");
    pid = recorder(p, 4, END_KILL, -1, 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_int_eq(tl_trace_open(&d, p, err, sizeof err), 0);
    EXPECT_INT(d, "SELECT count(*) FROM events", 2 * 4 + 5);
    sqlite3_close(d);
    ck_assert_int_eq(tl_trace_open(&d, p, err, sizeof err), 0);
    EXPECT_TEXT(d, "SELECT value FROM meta WHERE key='ended'", "abnormally");
    sqlite3_close(d);
}
END_TEST

Suite *
tl_trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *journal = tcase_create("journal"), *store = tcase_create("store");
    TCase *open = tcase_create("open"), *limits = tcase_create("limits");
    TCase *all[] = {journal, store, open, limits};

    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        tcase_add_checked_fixture(all[i], setup, teardown);
    tcase_add_test(journal, journal_round_trip);
    tcase_add_test(journal, journal_cut_anywhere_reads_whole_records);
    tcase_add_test(journal, journal_writer_killed_mid_append);
    tcase_add_test(journal, journal_left_open_by_a_dead_writer);
    tcase_add_test(journal, journal_refuses_what_is_not_one);
    tcase_add_test(store, import_fills_every_table);
    tcase_add_test(store, import_of_a_cut_journal_says_abnormally);
    tcase_add_test(store, import_refuses_a_non_journal);
    tcase_add_test(store, check_target_refuses_existing_and_unwritable);
    tcase_add_test(store, short_handoff_records_are_the_same_events);
    tcase_add_test(store, handoff_records_around_a_spill);
    tcase_add_test(store, handoff_items_wrap_without_overflow);
    tcase_add_test(journal, short_records_cut_anywhere);
    tcase_add_test(open, trace_open_refuses_what_is_not_a_trace);
    tcase_add_test(open, record_option_makes_a_trace_at_exit);
    tcase_add_test(open, trace_open_recovers_a_dead_writers_journal);
    tcase_add_test(limits, journal_payloads_bigger_than_a_block);
    tcase_add_test(limits, repeated_payloads_read_back_whole);
    tcase_add_test(limits, journal_many_records_cross_blocks);
    tcase_add_test(limits, journal_cut_across_blocks);
    tcase_add_test(limits, journal_full_disk_stops_with_a_stop_record);
    tcase_set_timeout(journal, 60);
    tcase_set_timeout(store, 30);
    tcase_set_timeout(limits, 120);
    tcase_set_timeout(open, 30);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        suite_add_tcase(s, all[i]);
    return s;
}

TL_CHECK_MAIN(tl_trace_suite)
