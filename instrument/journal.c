/* SPDX-License-Identifier: MIT */
/* journal.c -- append and read the crash-safe event journal (format in
 * journal.h).  Appending is a copy into the live block, a small shared
 * mapping that stays resident and writable; a full block is copied into
 * the file with one pwrite, at a place reserved ahead (fallocate), so the
 * hot path neither faults nor finds the disk full.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "journal.h"
#include "tape.h"
#include "varint.h"

#define HEAD 4096                       /* file header: a page, as mmap
                                           offsets must be page-aligned */
#define BLOCK TL__TAPE_BLOCK            /* the live block; the spill unit */
#define SPILL ((off_t)(HEAD + BLOCK))   /* block n is spilled at
                                           SPILL + n * BLOCK */
#define RESERVE ((off_t)8 << 20)        /* disk reserved ahead, at least */

/* The block header, at the start of the live block and of every spilled
 * copy.  `word` is the block's number << 32 | the bytes in use (header
 * included), stored in one go after each record, so a record is there
 * whole or not at all, and reusing the live block for the next number is
 * one store too. */
typedef struct block {
    uint64_t word;
    uint32_t state;             /* OPEN, END or STOP: how the journal ends
                                   if this is its last block */
    int32_t arg;                /* STOP: -errno */
} block;

enum { OPEN, END = 2, STOP };   /* 1 was v2's NEXT */

#define WORD(n, used) ((uint64_t)(n) << 32 | (uint32_t)(used))

struct tl_journal {
    tl__tape tape;              /* the live block and the encoding state */
    int fd;                     /* the file */
    off_t end;                  /* the end of the last spilled block */
    off_t reserved;             /* the file is reserved up to here */
    int err;                    /* first error; appending stops */
    char *path;                 /* for the line that says so */
};

static void
seal(tl_journal *j, uint32_t state, int arg)
{
    block *b = (block *)(void *)j->tape.live;

    b->arg = arg;
    __atomic_store_n(&b->state, state, __ATOMIC_RELEASE);
}

/* Makes sure the file is reserved up to `to`; 0 or -errno. */
static int
reserve(tl_journal *j, off_t to)
{
    int rc;

    if (to <= j->reserved)
        return 0;
    if (to - j->reserved < RESERVE)
        to = j->reserved + RESERVE;
    if ((rc = posix_fallocate(j->fd, j->reserved, to - j->reserved)) != 0)
        return -rc;
    j->reserved = to;
    return 0;
}

/* Writes all of iov at off; 0 or -errno. */
static int
write_at(int fd, struct iovec *iov, int n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwritev(fd, iov, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        off += w;
        for (; n > 0 && (size_t)w >= iov->iov_len; n--, iov++)
            w -= (ssize_t)iov->iov_len;
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Stops appending for good: the live block says why. */
static void
stop(tl_journal *j, int err)
{
    j->err = err;
    j->tape.room = 0;
    j->tape.hand = 0;
    seal(j, STOP, err);
    fprintf(stderr, "tapeloop: recording stopped: %s: %s (the trace keeps "
                    "the events before)\n", j->path, strerror(-err));
}

/* Copies the live block, when it holds records, to its place in the file,
 * then reuses it as block n + 1.  Until that one store the live block
 * still is block n, so a reader finds every record in one copy or the
 * other whenever the writer dies.  0 or -errno. */
static int
spill(tl_journal *j)
{
    tl__tape *t = &j->tape;
    off_t off = SPILL + (off_t)t->n * (off_t)BLOCK;
    struct iovec iov = {t->live, t->used};
    int rc;

    if (t->used == sizeof(block))
        return 0;
    if ((rc = reserve(j, off + (off_t)BLOCK)) != 0 ||
        (rc = write_at(j->fd, &iov, 1, off)) != 0)
        return rc;
    j->end = off + (off_t)t->used;
    t->n++;
    t->used = sizeof(block);
    tl__tape_block_start(t);    /* its records are in the file now */
    tl__tape_publish(t);
    return 0;
}

/* A record too big for the live block goes straight to the file as a
 * block of its own, spanning as many units as it needs.  Readers stop at
 * the live block's number, so they see it only once publish() moves the
 * live block past it. */
static int
spill_big(tl_journal *j, const uint8_t *head, size_t hlen,
          const void *payload, size_t len)
{
    tl__tape *t = &j->tape;
    off_t off = SPILL + (off_t)t->n * (off_t)BLOCK;
    size_t size = sizeof(block) + hlen + len;
    block b = {WORD(t->n, size), OPEN, 0};
    struct iovec iov[3] = {{&b, sizeof b}, {(void *)head, hlen},
                           {(void *)payload, len}};
    int rc;

    if ((rc = reserve(j, off + (off_t)size)) != 0 ||
        (rc = write_at(j->fd, iov, 3, off)) != 0)
        return rc;
    j->end = off + (off_t)size;
    t->n += (uint32_t)((size + BLOCK - 1) / BLOCK);
    tl__tape_block_start(t);
    tl__tape_publish(t);
    return 0;
}

int
tl_journal_open(tl_journal **out, const char *path)
{
    struct sigaction sa;
    tl_journal *j = calloc(1, sizeof *j);
    char head[HEAD] = TL_JOURNAL_MAGIC;
    uint32_t v = TL_JOURNAL_VERSION, pid = (uint32_t)getpid();
    int rc;

    if (!j || !(j->path = strdup(path))) {
        free(j);
        return -ENOMEM;
    }
    /* Past RLIMIT_FSIZE, growing the file raises SIGXFSZ, which would kill
     * the program; ignored, the growth fails with EFBIG and recording
     * stops with a STOP record instead. */
    if (sigaction(SIGXFSZ, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGXFSZ, SIG_IGN);
    j->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        rc = -errno;
        free(j->path);
        free(j);
        return rc;
    }
    memcpy(head + 24, &v, sizeof v);
    memcpy(head + 28, &pid, sizeof pid);
    if (pwrite(j->fd, head, HEAD, 0) != HEAD) {
        rc = errno ? -errno : -EIO;
        goto fail;
    }
    j->reserved = HEAD;
    if ((rc = reserve(j, SPILL)) != 0)
        goto fail;
    j->tape.live = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_SHARED,
                        j->fd, HEAD);
    if (j->tape.live == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    /* A shared file mapping is populated read-only, so that the kernel
     * sees the first write to each page: fault the live block in writable
     * now, once (Linux 5.14+), else by touching each page. */
    if (madvise(j->tape.live, BLOCK, MADV_POPULATE_WRITE) != 0)
        for (size_t i = 0; i < BLOCK; i += 4096)
            ((volatile char *)j->tape.live)[i] = 0;
    j->tape.used = sizeof(block);
    j->tape.room = BLOCK;
    tl__tape_publish(&j->tape);
    *out = j;
    return 0;
fail:
    close(j->fd);
    free(j->path);
    free(j);
    return rc;
}

/* ---- records: appended by tl__tape_put (core/tape.h) ------------------- */

/* Which of the block's last payloads equals this one: 1 for the newest,
 * 0 for none. */
static unsigned
ref_of(const tl__tape *t, const void *payload, size_t len)
{
    if (len < TL__TAPE_REF_MIN || len > TL__TAPE_REF_MAX)
        return 0;
    for (unsigned back = 1; back <= t->refs.n; back++) {
        unsigned k = tl__refs_at(&t->refs, back);
        if (t->refs.r[k].len == len &&
            memcmp(t->live + t->refs.r[k].at, payload, len) == 0)
            return back;
    }
    return 0;
}

void
tl__tape_put(tl__tape *t, const tl__trec *h, const void *payload, size_t len)
{
    uint8_t *r, *p;
    unsigned back = 0;

    if (__builtin_expect(t->used + TL__TAPE_MAXHEAD + len > t->room, 0)) {
        tl__tape_slow(t, h, payload, len);
        return;
    }
    r = t->live + t->used;
    if (h->kind != TL_EV_QUEUE_HANDOFF &&
        (back = ref_of(t, payload, len)) != 0) {
        /* Bytes recorded a moment ago (an echo, a relay): say which. */
        p = tl__tape_head(t, r, h, 0, TL__TAPE_REF);
        p = tl__tape_uvar(p, back);
    } else {
        p = tl__tape_head(t, r, h, len, 0);
        tl__refs_add(&t->refs, (size_t)(p - t->live), len);
        if (len)
            memcpy(p, payload, len);
        p += len;
    }
    t->used += (size_t)(p - r);
    tl__tape_publish(t);
}

void
tl__tape_slow(tl__tape *t, const tl__trec *h, const void *payload, size_t len)
{
    tl_journal *j = (tl_journal *)(void *)t;
    uint8_t head[TL__TAPE_MAXHEAD], *p;
    int rc;

    if (j->err)
        return;
    if (len > UINT32_MAX - BLOCK)
        len = UINT32_MAX - BLOCK;
    if ((rc = spill(j)) != 0) {
        stop(j, rc);
        return;
    }
    if (sizeof(block) + TL__TAPE_MAXHEAD + len <= BLOCK) {
        tl__tape_put(t, h, payload, len);
        return;
    }
    p = tl__tape_head(t, head, h, len, 0);
    if ((rc = spill_big(j, head, (size_t)(p - head), payload, len)) != 0)
        stop(j, rc);            /* nothing follows to read it wrong */
}

int
tl_journal_append(tl_journal *j, uint32_t loop, const tl_event *ev)
{
    tl__trec h = {.kind = ev->kind, .okind = ev->okind, .flags = ev->flags,
                  .task = ev->task, .object = ev->object, .run = ev->run,
                  .loop = loop, .seq = ev->seq, .time = ev->time,
                  .a = ev->a, .b = ev->b};

    tl__tape_put(&j->tape, &h, ev->payload, ev->payload ? ev->len : 0);
    return j->err;
}

void
tl_journal_meta(tl_journal *j, const char *key, const char *value)
{
    size_t k = strlen(key) + 1, v = strlen(value);
    char *buf = malloc(k + v);
    tl__trec h = {.kind = TL_JREC_META};

    if (!buf) {
        if (!j->err)
            stop(j, -ENOMEM);
        return;
    }
    memcpy(buf, key, k);
    memcpy(buf + k, value, v);
    tl__tape_put(&j->tape, &h, buf, k + v);
    free(buf);
}

void
tl_journal_disown(tl_journal *j)
{
    j->err = -ECHILD;           /* the parent's live block: not a byte */
    j->tape.room = 0;
    j->tape.hand = 0;
}

tl__tape *
tl_journal_tape(tl_journal *j)
{
    return &j->tape;
}

int
tl_journal_error(const tl_journal *j)
{
    return j ? j->err : 0;
}

/* Marks the end, then gives back what was reserved and not used: with
 * nothing spilled the file ends with the live block's records, else with
 * the last spilled block. */
void
tl_journal_close(tl_journal *j)
{
    off_t end;

    if (!j)
        return;
    if (!j->err)
        seal(j, END, 0);
    end = j->tape.n == 0 ? HEAD + (off_t)j->tape.used : j->end;
    munmap(j->tape.live, BLOCK);
    if (!j->err && ftruncate(j->fd, end) != 0)
        j->err = -errno;
    close(j->fd);
    free(j->path);
    free(j);
}

/* ---- reading ------------------------------------------------------------ */

/* The header's 32-bit word at off (0 if the file is not a journal), or
 * -errno. */
static int
head_word(const char *path, size_t off)
{
    char head[HEAD];
    uint32_t v = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (read(fd, head, HEAD) == HEAD &&
        memcmp(head, TL_JOURNAL_MAGIC, sizeof TL_JOURNAL_MAGIC) == 0)
        memcpy(&v, head + off, sizeof v);
    close(fd);
    return (int)v;
}

int
tl_journal_pid(const char *path)
{
    return head_word(path, 28);
}

int
tl_journal_version(const char *path)
{
    return head_word(path, 24);
}

/* What decoding carries from one record to the next (encode()). */
typedef struct ctx {
    uint64_t loop, run, seq;
    int64_t time;
    tl__refs refs;              /* the block's last payloads, from its start */
    uint64_t hp, hq, hg;        /* the block's last hand-off record: putter
                                   (0: none yet), queue, getter, item */
    int64_t hn;
} ctx;

/* Decodes the record at *p into r; its payload follows at the new *p. */
static int
decode(const uint8_t **p, const uint8_t *lim, tl_jrec *r, ctx *c)
{
    uint64_t task, object, len = 0;
    int64_t ds = 1, dt;
    int same, hand;

    if (lim - *p < 2)
        return 0;
    r->kind = (*p)[0] >= 0xF0 ? (uint16_t)(0xFFF0 + ((*p)[0] & 0x0F))
                              : (*p)[0] & (uint8_t)~TL__TAPE_FOLD;
    r->okind = (*p)[1] & 0x07;
    r->flags = ((*p)[1] >> 3) & 0x0F;
    same = (*p)[1] & TL__TAPE_SAME;
    *p += 2;
    if (!same && (!tl__uvar_get(p, lim, &c->loop) ||
                  !tl__uvar_get(p, lim, &c->run) ||
                  !tl__svar_get(p, lim, &ds) || !tl__uvar_get(p, lim, &len)))
        return 0;
    object = 0, dt = 0, r->a = r->b = 0;
    hand = r->kind == TL_EV_QUEUE_HANDOFF && (r->flags & TL__TAPE_HANDOFF);
    if (hand && (r->flags & TL__TAPE_SHORT)) {
        /* The next item between the block's last hand-off pair. */
        if (!c->hp || !tl__svar_get(p, lim, &dt))
            return 0;
        task = c->hp, object = c->hq, r->b = (int64_t)c->hg;
        r->a = (int64_t)((uint64_t)c->hn + 1);  /* damaged: wraps, no UB */
    } else if (!tl__uvar_get(p, lim, &task) ||
               (!(r->flags & TL__TAPE_SHORT) &&
                (!tl__uvar_get(p, lim, &object) ||
                 !tl__svar_get(p, lim, &dt) || !tl__svar_get(p, lim, &r->a) ||
                 !tl__svar_get(p, lim, &r->b))))
        return 0;
    r->flags &= (uint8_t)~TL__TAPE_SHORT;
    if (hand && len)
        return 0;
    if (hand)
        c->hp = task, c->hq = object, c->hg = (uint64_t)r->b, c->hn = r->a;
    if (len > (uint64_t)(lim - *p))
        return 0;
    r->loop = (uint32_t)c->loop;
    r->run = (uint32_t)c->run;
    r->task = (uint32_t)task;
    r->object = (uint32_t)object;
    r->seq = c->seq += (uint64_t)ds;
    r->time = c->time = (int64_t)((uint64_t)c->time + (uint64_t)dt);
    r->commit = (uint32_t)len + 1;
    return 1;
}

/* The four or five events of a hand-off record (journal.h), to fn. */
static int
handoff(const tl_jrec *h, ctx *c,
        int (*fn)(const tl_jrec *r, const void *payload, void *udata),
        void *udata)
{
    uint32_t p = h->task, g = (uint32_t)h->b;
    tl_jrec e[5] = {
        {.kind = TL_EV_QUEUE_PUT, .okind = TL_OBJ_QUEUE, .task = p,
         .object = h->object, .a = h->a, .flags = TL_EVF_IMMEDIATE},
        {.kind = TL_EV_QUEUE_HANDOFF, .okind = TL_OBJ_QUEUE, .task = p,
         .object = h->object, .a = h->a, .b = g},
        {.kind = TL_EV_QUEUE_GET, .okind = TL_OBJ_QUEUE, .task = g,
         .object = h->object, .a = h->a},
        {.kind = TL_EV_WAKE, .task = g, .b = p},
        {.kind = TL_EV_RESUME, .task = g}};
    int rc = 0, n = h->flags & TL__TAPE_RESUMED ? 5 : 4;

    for (int i = 0; i < n && rc == 0; i++) {
        e[i].commit = 1;
        e[i].loop = h->loop;
        e[i].run = h->run;
        e[i].seq = h->seq + (uint64_t)i;
        e[i].time = h->time;
        rc = fn(&e[i], NULL, udata);
    }
    c->seq = h->seq + (uint64_t)n - 1;
    return rc;
}

/* Calls fn for the whole records in [p, lim), and returns what fn last
 * returned; sets *torn if it stopped at a record cut short. */
static int
walk_block(const uint8_t *p, const uint8_t *lim, ctx *c,
           int (*fn)(const tl_jrec *r, const void *payload, void *udata),
           void *udata, int *torn)
{
    const uint8_t *base = p;            /* references stay in a block */
    int rc = 0;

    c->refs.n = c->refs.next = 0;
    c->hp = 0;
    while (rc == 0 && p < lim) {
        const uint8_t *pay = NULL;
        int fold = *p < 0xF0 && (*p & TL__TAPE_FOLD);
        size_t len;
        tl_jrec r;
        if (!decode(&p, lim, &r, c)) {
            *torn = 1;                  /* stop at the last whole one */
            break;
        }
        len = r.commit - 1;
        if (r.kind != TL_EV_QUEUE_HANDOFF && (r.flags & TL__TAPE_REF)) {
            uint64_t back;              /* the payload is an earlier one's */
            unsigned k;
            if (!tl__uvar_get(&p, lim, &back) || back == 0 ||
                back > c->refs.n) {
                *torn = 1;
                break;
            }
            k = tl__refs_at(&c->refs, (unsigned)back);
            pay = base + c->refs.r[k].at;
            r.commit = c->refs.r[k].len + 1;
            r.flags &= (uint8_t)~TL__TAPE_REF;
        } else {
            pay = p;
            p += len;
            tl__refs_add(&c->refs, (size_t)(pay - base), len);
        }
        if (r.kind == TL_EV_QUEUE_HANDOFF && (r.flags & TL__TAPE_HANDOFF))
            rc = handoff(&r, c, fn, udata);
        else if (r.kind == TL_JREC_META || r.kind < 0xFFF0)
            rc = fn(&r, pay, udata);    /* other kinds: a newer writer's */
        if (fold && rc == 0 && p < lim) {
            /* The resume that followed, its task's id after the record
             * (none at the very end: the writer died before publishing
             * it).  At the same time, woken with 0. */
            tl_jrec e = {.commit = 1, .kind = TL_EV_RESUME, .loop = r.loop,
                         .run = r.run, .seq = ++c->seq, .time = r.time};
            uint64_t id;
            if (!tl__uvar_get(&p, lim, &id)) {
                *torn = 1;
                break;
            }
            e.task = (uint32_t)id;
            rc = fn(&e, NULL, udata);
        }
    }
    return rc;
}

/* Blocks in number order: block n is the live block when that one says
 * n, else its spilled copy, which must say n too.  The walk ends at the
 * live block, or where the writer died (a block that is not there), or
 * where the file was cut. */
int
tl_journal_read(const char *path,
                int (*fn)(const tl_jrec *r, const void *payload, void *udata),
                void *udata, tl_journal_end *end)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0, torn = 0;
    uint64_t n = 0;
    ctx c = {0, 0, 0, 0};
    struct stat st;
    size_t size;
    block live = {0, 0, 0};
    uint32_t v;
    char *m;

    end->clean = end->stopped = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || st.st_size < HEAD) {
        close(fd);
        return TL_EINVAL;
    }
    size = (size_t)st.st_size;
    m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -errno;
    memcpy(&v, m + 24, sizeof v);
    if (memcmp(m, TL_JOURNAL_MAGIC, sizeof TL_JOURNAL_MAGIC) != 0 ||
        !TL_JOURNAL_READS(v)) {
        munmap(m, size);
        return TL_EINVAL;
    }
    if (size >= HEAD + sizeof live)
        memcpy(&live, m + HEAD, sizeof live);
    while (rc == 0 && !torn) {
        size_t at, used;
        block b;
        if ((uint32_t)(live.word >> 32) == n &&
            (live.word & 0xFFFFFFFF) >= sizeof b) {
            used = live.word & 0xFFFFFFFF;
            at = HEAD;
            if (used > BLOCK)
                break;
            if (at + used > size) {
                torn = 1;               /* the file was cut short */
                used = size - at;
            }
            rc = walk_block((const uint8_t *)m + at + sizeof b,
                            (const uint8_t *)m + at + used, &c, fn,
                            udata, &torn);
            if (!torn && live.state == END)
                end->clean = 1;
            if (!torn && live.state == STOP)
                end->stopped = live.arg;
            break;
        }
        if (n > (live.word >> 32))
            break;                      /* past the live block: never */
        at = (size_t)SPILL + n * BLOCK;
        if (at + sizeof b > size)
            break;                      /* the writer died, or a cut */
        memcpy(&b, m + at, sizeof b);
        used = b.word & 0xFFFFFFFF;
        if ((b.word >> 32) != n || used < sizeof b || at + used > size)
            break;
        rc = walk_block((const uint8_t *)m + at + sizeof b,
                        (const uint8_t *)m + at + used, &c, fn,
                        udata, &torn);
        n += (used + BLOCK - 1) / BLOCK;
    }
    munmap(m, size);
    return rc > 0 ? rc : 0;
}
