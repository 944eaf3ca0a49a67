/* SPDX-License-Identifier: MIT */
/* journal.c -- append and read the crash-safe event journal (format in
 * journal.h).  Appending is a copy into a shared mapping of a chunk whose
 * disk blocks were reserved (fallocate) and whose pages were faulted in
 * (MAP_POPULATE) when it was added, so the hot path neither faults nor
 * finds the disk full: that is learnt, and reported, once per chunk.
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

struct tl_journal {
    int fd;                     /* the file */
    char *map;                  /* the current chunk, mapped */
    size_t size;                /* its size */
    size_t used;                /* bytes used in it */
    off_t off;                  /* its offset in the file */
    int err;                    /* first error; appending stops */
};

static size_t
pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

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
    m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
             fd, off);
    if (m == MAP_FAILED) {
        *err = -errno;
        return NULL;
    }
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
    *out = j;
    return 0;
fail:
    close(j->fd);
    free(j);
    return rc;
}

/* Room for a record of n bytes (head included) in the current chunk,
 * leaving room for a NEXT marker after it; when there is none, maps the
 * next chunk, then marks the old one's end, then lets the old one go.
 * NULL once appending has failed. */
static tl_jrec *
reserve(tl_journal *j, size_t n)
{
    if (j->err)
        return NULL;
    if (j->used + n + sizeof(tl_jrec) > j->size) {
        size_t size = n + sizeof(tl_jrec) > CHUNK
                          ? (n + sizeof(tl_jrec) + 4095) & ~(size_t)4095
                          : CHUNK;
        off_t off = j->off + (off_t)j->size;
        char *m = map_chunk(j->fd, off, size, &j->err);
        tl_jrec *next = (tl_jrec *)(void *)(j->map + j->used);
        memset(next, 0, sizeof *next);
        next->kind = m ? TL_JREC_NEXT : TL_JREC_STOP;
        next->a = m ? (int64_t)size : j->err;
        __atomic_store_n(&next->commit, 1, __ATOMIC_RELEASE);
        if (!m) {
            j->used += sizeof *next;
            return NULL;
        }
        munmap(j->map, j->size);
        j->map = m;
        j->size = size;
        j->used = 0;
        j->off = off;
    }
    return (tl_jrec *)(void *)(j->map + j->used);
}

/* Appends head + payload. */
static void
append(tl_journal *j, const tl_jrec *h, const void *payload, size_t len)
{
    tl_jrec *r;

    if (len > UINT32_MAX - 1)
        len = UINT32_MAX - 1;
    if (!(r = reserve(j, sizeof *h + pad8(len))))
        return;
    *r = *h;
    r->commit = 0;
    if (len)
        memcpy(r + 1, payload, len);
    j->used += sizeof *r + pad8(len);
    __atomic_store_n(&r->commit, (uint32_t)len + 1, __ATOMIC_RELEASE);
}

void
tl_journal_append(tl_journal *j, uint32_t loop, const tl_event *ev)
{
    tl_jrec h = {.kind = ev->kind, .okind = ev->okind, .flags = ev->flags,
                 .task = ev->task, .object = ev->object, .run = ev->run,
                 .loop = loop, .seq = ev->seq, .time = ev->time,
                 .a = ev->a, .b = ev->b};

    append(j, &h, ev->payload, ev->payload ? ev->len : 0);
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
    tl_jrec h = {.kind = TL_JREC_END};
    off_t end;

    if (!j)
        return;
    if (!j->err)
        append(j, &h, NULL, 0);
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

int
tl_journal_read(const char *path,
                int (*fn)(const tl_jrec *r, const void *payload, void *udata),
                void *udata, tl_journal_end *end)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    struct stat st;
    char *m;
    size_t pos = HEAD, size;
    uint32_t v;


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
        v > TL_JOURNAL_VERSION) {
        munmap(m, size);
        return TL_EINVAL;
    }
    size_t chunk = HEAD, csize = CHUNK;
    while (pos + sizeof(tl_jrec) <= size) {
        const tl_jrec *r = (const tl_jrec *)(const void *)(m + pos);
        uint32_t c = __atomic_load_n(&r->commit, __ATOMIC_ACQUIRE);
        size_t len;
        if (c == 0)
            break;                      /* nothing finished beyond here */
        len = c - 1;
        if (pos + sizeof *r + len > size)
            break;                      /* torn: stop at the last good one */
        if (r->kind == TL_JREC_END || r->kind == TL_JREC_STOP) {
            end->clean = r->kind == TL_JREC_END;
            end->stopped = r->kind == TL_JREC_STOP ? (int)r->a : 0;
            break;
        }
        if (r->kind == TL_JREC_NEXT) {
            chunk += csize;
            csize = (size_t)r->a;
            pos = chunk;
            continue;
        }
        if ((rc = fn(r, r + 1, udata)) != 0)
            break;
        pos += sizeof *r + pad8(len);
    }
    munmap(m, size);
    return rc;
}
