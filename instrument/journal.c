/* SPDX-License-Identifier: MIT */
/* journal.c -- append and read the crash-safe event journal (format in
 * journal.h).  Appending is a copy into a shared mapping of a chunk whose
 * disk blocks were reserved (fallocate) and whose pages were faulted in
 * writable when it was added, so the hot path neither faults nor finds
 * the disk full: that is learnt, and reported, once per chunk.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

#define HEAD 4096                       /* file header: a page, as mmap
                                           offsets must be page-aligned */
#define CHUNK ((size_t)8 << 20)         /* usual chunk size */

/* The chunk header, at the start of every chunk. */
typedef struct chunk {
    uint32_t used;              /* bytes in use, header included; stored
                                   after each record */
    uint32_t state;             /* OPEN, NEXT, END or STOP */
    int64_t arg;                /* NEXT: the next chunk's size; STOP: -errno */
} chunk;

enum { OPEN, NEXT, END, STOP };

struct tl_journal {
    int fd;                     /* the file */
    char *map;                  /* the current chunk, mapped */
    size_t size;                /* its size */
    size_t used;                /* bytes used in it, header included */
    off_t off;                  /* its offset in the file */
    uint64_t seq;               /* the last record's seq ... */
    int64_t time;               /* ... and time: records store differences */
    int err;                    /* first error; appending stops */
};

/* Reserves and maps size bytes of the file at off. */
static char *
map_chunk(int fd, off_t off, size_t size, int *err)
{
    int rc = posix_fallocate(fd, off, (off_t)size);
    char *m;

    if (rc != 0) {
        *err = -rc;
        return NULL;
    }
    m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
    if (m == MAP_FAILED) {
        *err = -errno;
        return NULL;
    }
    /* A shared file mapping is populated read-only (so the kernel sees the
     * first write to each page): left so, every 4 KiB of events would pay
     * a write fault on the hot path.  Fault the pages in writable now, in
     * one call (Linux 5.14+), else by touching each. */
    if (madvise(m, size, MADV_POPULATE_WRITE) != 0)
        for (size_t i = 0; i < size; i += 4096)
            ((volatile char *)m)[i] = 0;
    return m;
}

int
tl_journal_open(tl_journal **out, const char *path)
{
    struct sigaction sa;
    tl_journal *j = calloc(1, sizeof *j);
    char head[HEAD] = TL_JOURNAL_MAGIC;
    uint32_t v = TL_JOURNAL_VERSION;
    int rc;

    if (!j)
        return -ENOMEM;
    /* Past RLIMIT_FSIZE, growing the file raises SIGXFSZ, which would kill
     * the program; ignored, the growth fails with EFBIG and recording
     * stops with a STOP record instead. */
    if (sigaction(SIGXFSZ, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGXFSZ, SIG_IGN);
    j->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        rc = -errno;
        free(j);
        return rc;
    }
    uint32_t pid = (uint32_t)getpid();
    memcpy(head + 24, &v, sizeof v);
    memcpy(head + 28, &pid, sizeof pid);
    if (pwrite(j->fd, head, HEAD, 0) != HEAD) {
        rc = errno ? -errno : -EIO;
        goto fail;
    }
    if (!(j->map = map_chunk(j->fd, HEAD, CHUNK, &rc)))
        goto fail;
    j->size = CHUNK;
    j->off = HEAD;
    j->used = sizeof(chunk);
    *out = j;
    return 0;
fail:
    close(j->fd);
    free(j);
    return rc;
}

/* ---- records: varints, so an event costs ~12 bytes, not 56 -------------- */

static uint8_t *
uvar(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *
svar(uint8_t *p, int64_t v)
{
    return uvar(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

#define MAXHEAD 80              /* the longest encoded head */

static void
seal(tl_journal *j, uint32_t state, int64_t arg)
{
    chunk *c = (chunk *)(void *)j->map;

    c->arg = arg;
    __atomic_store_n(&c->state, state, __ATOMIC_RELEASE);
}

/* Room for n more bytes in the current chunk; when there is none, maps
 * the next chunk, then marks the old one's end, then lets the old one
 * go.  NULL once appending has failed. */
static uint8_t *
reserve(tl_journal *j, size_t n)
{
    if (j->err)
        return NULL;
    if (j->used + n > j->size) {
        size_t size = n + sizeof(chunk) > CHUNK
                          ? (n + sizeof(chunk) + 4095) & ~(size_t)4095
                          : CHUNK;
        off_t off = j->off + (off_t)j->size;
        char *m = map_chunk(j->fd, off, size, &j->err);
        if (!m) {
            seal(j, STOP, j->err);
            return NULL;
        }
        seal(j, NEXT, (int64_t)size);
        munmap(j->map, j->size);
        j->map = m;
        j->size = size;
        j->used = sizeof(chunk);
        j->off = off;
    }
    return (uint8_t *)j->map + j->used;
}

/* Appends one record: kind, okind|flags<<4, loop, run, task, object, the
 * seq and time as differences from the previous record's, a, b, the
 * payload's length, the payload; then publishes it by moving `used`. */
static inline __attribute__((always_inline)) void
append(tl_journal *j, const tl_jrec *h, const void *payload, size_t len)
{
    uint8_t *r, *p;

    if (len > UINT32_MAX - 1)
        len = UINT32_MAX - 1;
    if (!(r = reserve(j, MAXHEAD + len)))
        return;
    p = r;
    *p++ = (uint8_t)(h->kind >= 0xF0 ? 0xF0 + (h->kind & 0x0F) : h->kind);
    *p++ = (uint8_t)((h->okind & 0x0F) | (h->flags << 4));
    p = uvar(p, h->loop);
    p = uvar(p, h->run);
    p = uvar(p, h->task);
    p = uvar(p, h->object);
    p = svar(p, (int64_t)(h->seq - j->seq));
    p = svar(p, h->time - j->time);
    p = svar(p, h->a);
    p = svar(p, h->b);
    p = uvar(p, len);
    if (len)
        memcpy(p, payload, len);
    p += len;
    j->seq = h->seq;
    j->time = h->time;
    j->used += (size_t)(p - r);
    __atomic_store_n(&((chunk *)(void *)j->map)->used, (uint32_t)j->used,
                     __ATOMIC_RELEASE);
}

int
tl_journal_append(tl_journal *j, uint32_t loop, const tl_event *ev)
{
    tl_jrec h = {.kind = ev->kind, .okind = ev->okind, .flags = ev->flags,
                 .task = ev->task, .object = ev->object, .run = ev->run,
                 .loop = loop, .seq = ev->seq, .time = ev->time,
                 .a = ev->a, .b = ev->b};

    append(j, &h, ev->payload, ev->payload ? ev->len : 0);
    return j->err;
}

void
tl_journal_meta(tl_journal *j, const char *key, const char *value)
{
    size_t k = strlen(key) + 1, v = strlen(value);
    char *buf = malloc(k + v);
    tl_jrec h = {.kind = TL_JREC_META};

    if (!buf) {
        j->err = -ENOMEM;
        return;
    }
    memcpy(buf, key, k);
    memcpy(buf + k, value, v);
    append(j, &h, buf, k + v);
    free(buf);
}

int
tl_journal_error(const tl_journal *j)
{
    return j ? j->err : 0;
}

void
tl_journal_close(tl_journal *j)
{
    off_t end;

    if (!j)
        return;
    if (!j->err)
        seal(j, END, 0);
    end = j->off + (off_t)j->used;
    munmap(j->map, j->size);
    if (!j->err && ftruncate(j->fd, end) != 0)
        j->err = -errno;
    close(j->fd);
    free(j);
}

/* ---- reading ------------------------------------------------------------ */

int
tl_journal_pid(const char *path)
{
    char head[HEAD];
    uint32_t pid = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (read(fd, head, HEAD) == HEAD &&
        memcmp(head, TL_JOURNAL_MAGIC, sizeof TL_JOURNAL_MAGIC) == 0)
        memcpy(&pid, head + 28, sizeof pid);
    close(fd);
    return (int)pid;
}

/* Decoders: a varint at *p (before lim); 0 when cut short. */
static int
get_u(const uint8_t **p, const uint8_t *lim, uint64_t *v)
{
    uint64_t x = 0;

    for (int shift = 0; *p < lim && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

static int
get_s(const uint8_t **p, const uint8_t *lim, int64_t *v)
{
    uint64_t u;

    if (!get_u(p, lim, &u))
        return 0;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 1;
}

/* Decodes the record at *p into r; its payload follows at the new *p. */
static int
decode(const uint8_t **p, const uint8_t *lim, tl_jrec *r, uint64_t *seq,
       int64_t *time)
{
    uint64_t loop, run, task, object, len;
    int64_t ds, dt;

    if (lim - *p < 2)
        return 0;
    r->kind = (*p)[0] >= 0xF0 ? (uint16_t)(0xFFF0 + ((*p)[0] & 0x0F))
                              : (*p)[0];
    r->okind = (*p)[1] & 0x0F;
    r->flags = (*p)[1] >> 4;
    *p += 2;
    if (!get_u(p, lim, &loop) || !get_u(p, lim, &run) ||
        !get_u(p, lim, &task) || !get_u(p, lim, &object) ||
        !get_s(p, lim, &ds) || !get_s(p, lim, &dt) ||
        !get_s(p, lim, &r->a) || !get_s(p, lim, &r->b) ||
        !get_u(p, lim, &len) || len > (uint64_t)(lim - *p))
        return 0;
    r->loop = (uint32_t)loop;
    r->run = (uint32_t)run;
    r->task = (uint32_t)task;
    r->object = (uint32_t)object;
    r->seq = *seq += (uint64_t)ds;
    r->time = *time += dt;
    r->commit = (uint32_t)len + 1;
    return 1;
}

int
tl_journal_read(const char *path,
                int (*fn)(const tl_jrec *r, const void *payload, void *udata),
                void *udata, tl_journal_end *end)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    size_t at = HEAD, csize = CHUNK, size;
    uint64_t seq = 0;
    int64_t time = 0;
    struct stat st;
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
        v != TL_JOURNAL_VERSION) {
        munmap(m, size);
        return TL_EINVAL;
    }
    /* Chunk by chunk: the records up to its `used`, then its state. */
    while (rc == 0 && at + sizeof(chunk) <= size) {
        chunk c;
        const uint8_t *p, *lim;
        int torn = 0;
        memcpy(&c, m + at, sizeof c);
        if (c.used > csize || at + c.used > size) {
            torn = 1;                   /* the file was cut short */
            c.used = (uint32_t)(size - at < csize ? size - at : csize);
        }
        p = (const uint8_t *)m + at + sizeof c;
        lim = (const uint8_t *)m + at + (c.used ? c.used : sizeof c);
        while (rc == 0 && p < lim) {
            tl_jrec r;
            if (!decode(&p, lim, &r, &seq, &time))
                break;                  /* torn: stop at the last whole one */
            if (r.kind == TL_JREC_META || r.kind < 0xFFF0)
                rc = fn(&r, p, udata);  /* other kinds: a newer writer's */
            p += r.commit - 1;
        }
        if (torn)
            break;
        if (c.state == END || c.state == STOP) {
            end->clean = c.state == END;
            end->stopped = c.state == STOP ? (int)c.arg : 0;
            break;
        }
        if (c.state != NEXT)
            break;                      /* the writer was here when it died */
        at += csize;
        csize = (size_t)c.arg;
    }
    munmap(m, size);
    return rc > 0 ? rc : 0;
}
