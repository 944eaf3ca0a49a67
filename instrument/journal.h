/* SPDX-License-Identifier: MIT */
/* journal.h -- the crash-safe event journal.  A recording process appends
 * each event as a record to a file it maps shared, so every record it
 * finished survives abort(), a segfault or SIGKILL (the pages belong to
 * the kernel's page cache, not to the process).  store.c turns a journal
 * into a SQLite trace; the journal is never the format users see.
 *
 * File: a 4096-byte header (magic, version at 24, writer pid at 28), the
 * live block (1 MiB at 4096), then the spilled blocks, block n at
 * 4096 + 1 MiB * (n + 1).  A block starts with {word, state, arg}: word
 * is its number << 32 | the bytes in use, header included, stored after
 * each record (so a record is there whole or not at all); state says how
 * the journal ends if this block is its last: OPEN (the writer is still
 * at it, or died), END (closed cleanly) or STOP (appending failed, arg =
 * -errno, e.g. a full disk; the program ran on).  Records fill the live
 * block; a full one is copied to its place and the live block goes on as
 * the next number.  A record too big for it is a spilled block of its
 * own, as many units long as it needs.  Block n is read from the live
 * block when that one says n, else from its spilled copy; the live block
 * is the last.  A record is two bytes (kind; object kind | flags << 3 |
 * SAME) and varints: unless SAME, the loop, the run, the seq's difference
 * from the previous record's, the payload length; then the task, the
 * object, the time's difference, a, b; then the payload.  SAME means the
 * previous record's loop and run, the next seq, no payload.  An event
 * costs about 9 bytes.  Since version 4 a queue_handoff record with the
 * HANDOFF flag (8, never an event's) stands for the four events of a put
 * that hands its item to a waiting getter -- queue_put (the task, the
 * queue, a = the item's number, b = 0, immediate), queue_handoff (a = the
 * same number: the queue was empty, b = the getter), the getter's
 * queue_get and its wake (b = the putter) -- its a the item's number, its
 * b the getter.  They take four seqs and one time.  With flag 2 as well,
 * a fifth: the getter's resume (a = 0), at the same time.  Since
 * version 5, flag 4 on such a record says it is the next item between
 * the same putter, queue and getter as the block's last hand-off record
 * (its item + 1): only the time's difference follows.  Flag 4 on any
 * other kind says the object, the time's difference, a and b are all 0
 * and left out: a resume is then three bytes.  Since version 5, an event
 * kind byte with bit 0x40 set (kinds are below 64) says the record was
 * followed by a resume at its time, of the task whose id is a varint
 * after it (a = 0; absent at the very end of a block, where the writer
 * died before publishing it).  Flag 2 on any other kind (a
 * reference): the payload is that of one of the last four records of
 * this block with a payload of 64 bytes to 64 KiB (an echo sends what it
 * received), a varint after b says which, 1 the newest; the record's own
 * length is 0.  An event's own flags use only bit 1 (TL_EVF_IMMEDIATE).
 * Readers get every event on its own (tl_journal_read); versions 3
 * and 4 are read too.
 */
#ifndef TL_JOURNAL_H
#define TL_JOURNAL_H

#include <stdint.h>

#include "tapeloop.h"

#define TL_JOURNAL_MAGIC "TAPELOOP-JOURNAL"
#define TL_JOURNAL_VERSION 5

/* Record kinds beyond tl_event_kind. */
enum {
    TL_JREC_META = 0xFFF0,      /* payload "key\0value" */
    TL_JREC_END = 0xFFF2        /* not stored: kept for readers' switches */
};

typedef struct tl_jrec {         /* a record, decoded */
    uint32_t commit;            /* payload length + 1 */
    uint16_t kind;              /* tl_event_kind or TL_JREC_* */
    uint8_t okind;              /* TL_OBJ_* */
    uint8_t flags;              /* TL_EVF_* */
    uint32_t task;              /* acting task id */
    uint32_t object;            /* object id */
    uint32_t run;               /* run id (process-wide) */
    uint32_t loop;              /* loop id (process-wide, from 1) */
    uint64_t seq;               /* the loop's event seq */
    int64_t time;               /* ns, CLOCK_MONOTONIC scale */
    int64_t a, b;               /* per kind */
} tl_jrec;

typedef struct tl_journal tl_journal;

/* Creates (replacing) the journal at path.  0, or -errno. */
int tl_journal_open(tl_journal **out, const char *path);
/* Marks the end (state END), trims the file, closes.  NULL is a no-op. */
void tl_journal_close(tl_journal *j);
/* Appends one event of the given loop; returns tl_journal_error(j). */
int tl_journal_append(tl_journal *j, uint32_t loop, const tl_event *ev);
/* Appends a META record. */
void tl_journal_meta(tl_journal *j, const char *key, const char *value);
/* In a forked child: appending does nothing from now on, and nothing of
 * the live block, which the parent shares, is touched. */
void tl_journal_disown(tl_journal *j);
/* Its writer's side, which the loop appends to inline (core/tape.h). */
struct tl__tape *tl_journal_tape(tl_journal *j);
/* 0, or the first error that stopped appending (-ENOSPC, ...); the first
 * such error also prints one line. */
int tl_journal_error(const tl_journal *j);

/* The pid of the process that wrote the journal at path (0 if unknown),
 * or -errno. */
int tl_journal_pid(const char *path);
/* The format version of the journal at path (0 if not a journal), or
 * -errno. */
int tl_journal_version(const char *path);
/* Whether this tapeloop reads journals of version v. */
#define TL_JOURNAL_READS(v) ((v) >= 3 && (v) <= TL_JOURNAL_VERSION)

/* How a journal ended, as tl_journal_read found it. */
typedef struct tl_journal_end {
    int clean;                  /* an END record: the writer closed it */
    int stopped;                /* a STOP record: -errno, recording failed */
} tl_journal_end;

/* Calls fn for every finished record of the journal at path, in order,
 * and says in *end how it ended.  fn returning non-zero stops the walk
 * and is returned.  -errno for I/O, TL_EINVAL if path is not a journal
 * (or of a newer version). */
int tl_journal_read(const char *path,
                    int (*fn)(const tl_jrec *r, const void *payload,
                              void *udata),
                    void *udata, tl_journal_end *end);

#endif /* TL_JOURNAL_H */
