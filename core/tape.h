/* SPDX-License-Identifier: MIT */
/* tape.h -- recording's hot path: an event appended as one record to the
 * live block of the crash-safe journal, inline where the loop emits it,
 * without building a hook's tl_event.  The format is instrument/journal.h's;
 * opening, spilling and reading the journal are instrument/journal.c's.
 */
#ifndef TL_TAPE_H
#define TL_TAPE_H

#include <stdint.h>

#include "tapeloop.h"

#define TL__TAPE_BLOCK ((size_t)1 << 20)        /* the live block */
#define TL__TAPE_MAXHEAD 80                     /* the longest record head */
#define TL__TAPE_SAME 0x80                      /* see journal.h */
#define TL__TAPE_HANDOFF 0x08                   /* a flag: see journal.h */
#define TL__TAPE_RESUMED 0x02                   /* ... and with it */
#define TL__TAPE_SHORT 0x04                     /* a flag: object, time, a
                                                   and b are 0, not there;
                                                   on a hand-off: the next
                                                   of the same pair */
#define TL__TAPE_REF 0x02                       /* not a hand-off: the payload
                                                   is an earlier one's */
#define TL__TAPE_FOLD 0x40                      /* in the kind byte: the
                                                   resume that followed */
#define TL__TAPE_NREF 4                         /* payloads remembered */
#define TL__TAPE_REF_MIN 64                     /* ... worth a reference */
#define TL__TAPE_REF_MAX 65536                  /* ... and worth comparing */

/* The last payloads of a block worth a reference, as the writer and the
 * reader both keep them: where each starts in the block, how long. */
typedef struct tl__refs {
    struct {
        uint32_t at, len;
    } r[TL__TAPE_NREF];         /* r[next - 1] the newest */
    unsigned n, next;           /* how many, where the next goes */
} tl__refs;

static inline void
tl__refs_add(tl__refs *f, size_t at, size_t len)
{
    if (len < TL__TAPE_REF_MIN || len > TL__TAPE_REF_MAX)
        return;
    f->r[f->next].at = (uint32_t)at;
    f->r[f->next].len = (uint32_t)len;
    f->next = (f->next + 1) % TL__TAPE_NREF;
    if (f->n < TL__TAPE_NREF)
        f->n++;
}

/* The payload back places before the next (1: the newest). */
static inline unsigned
tl__refs_at(const tl__refs *f, unsigned back)
{
    return (f->next + TL__TAPE_NREF - back) % TL__TAPE_NREF;
}

/* The writer's side of a journal: the live block and what the next record
 * is encoded against.  The first member of instrument's tl_journal. */
typedef struct tl__tape {
    uint8_t *live;              /* the live block, mapped shared */
    size_t used;                /* bytes used in it, header included */
    uint32_t n;                 /* its block number */
    uint64_t lr;                /* the last record's loop and run (tl__lr),
                                   ... */
    uint64_t seq;               /* ... seq ... */
    int64_t time;               /* ... and time: records store differences */
    size_t room;                /* the block's size; 0 once stopped */
    size_t hand;                /* the last record's flags byte while it
                                   can take the resume that follows: a
                                   hand-off's, or any inline event's
                                   but a short one; else 0 */
    uint32_t hp, hq;            /* this block's last hand-off record: its
                                   putter (0: none yet), queue, ... */
    uint32_t hg;                /* ... getter ... */
    int64_t hn;                 /* ... and item */
    tl__refs refs;              /* this block's last payloads */
} tl__tape;

/* A loop and run as one key. */
static inline uint64_t
tl__lr(uint32_t loop, uint32_t run)
{
    return (uint64_t)run << 32 | loop;
}

/* What a record is encoded against that starts over with each block. */
static inline void
tl__tape_block_start(tl__tape *t)
{
    t->hand = 0;
    t->hp = 0;
    t->refs.n = 0;
}

/* A record, as the writer takes it. */
typedef struct tl__trec {
    uint16_t kind;              /* tl_event_kind, or 0xFFF0 + n: journal's */
    uint8_t okind, flags;
    uint32_t task, object, loop, run;
    uint64_t seq;
    int64_t time, a, b;
} tl__trec;

/* instrument/journal.c: spills the live block, then appends the record
 * (a record too big for the live block goes to the file on its own); on
 * failure stops the journal.  Does nothing once it has stopped. */
void tl__tape_slow(tl__tape *t, const tl__trec *h, const void *payload,
                   size_t len);

static inline __attribute__((always_inline)) uint8_t *
tl__tape_uvar(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline __attribute__((always_inline)) uint8_t *
tl__tape_svar(uint8_t *p, int64_t v)
{
    return tl__tape_uvar(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* A record's second byte: its object kind, the event's flags (only
 * TL_EVF_IMMEDIATE) and the journal's own (jf), SAME or not. */
#define TL__TAPE_FLAGS(okind, flags, jf, same)                             \
    ((uint8_t)(((okind) & 0x07) | (((flags) & 0x01) | (jf)) << 3 |         \
               ((same) ? TL__TAPE_SAME : 0)))

/* Whether a payload-less record numbered seq of this loop and run (lr)
 * can be the short kind (SAME: the previous record's loop and run, the
 * next seq) and fits in the live block. */
static inline __attribute__((always_inline)) int
tl__tape_fits(const tl__tape *t, uint64_t lr, uint64_t seq)
{
    return t->used + TL__TAPE_MAXHEAD <= t->room && seq == t->seq + 1 &&
           lr == t->lr;
}

/* Encodes a record's head at p and returns its end (journal.h).  Of an
 * event's flags only TL_EVF_IMMEDIATE is kept: the others are the
 * journal's own (hand-off, resumed, short, ref), given in jflags. */
static inline __attribute__((always_inline)) uint8_t *
tl__tape_head(tl__tape *t, uint8_t *p, const tl__trec *h, size_t len,
              unsigned jflags)
{
    uint64_t lr = tl__lr(h->loop, h->run);
    int same = h->seq == t->seq + 1 && lr == t->lr && len == 0;

    *p++ = (uint8_t)(h->kind >= 0xF0 ? 0xF0 + (h->kind & 0x0F) : h->kind);
    *p++ = TL__TAPE_FLAGS(h->okind, h->flags, jflags, same);
    if (!same) {
        p = tl__tape_uvar(p, h->loop);
        p = tl__tape_uvar(p, h->run);
        p = tl__tape_svar(p, (int64_t)(h->seq - t->seq));
        p = tl__tape_uvar(p, len);
    }
    p = tl__tape_uvar(p, h->task);
    p = tl__tape_uvar(p, h->object);
    p = tl__tape_svar(p, h->time - t->time);
    p = tl__tape_svar(p, h->a);
    p = tl__tape_svar(p, h->b);
    t->lr = lr;
    t->seq = h->seq;
    t->time = h->time;
    t->hand = 0;
    return p;
}

/* Makes the live block's records up to t->used visible: one store of its
 * word (number << 32 | bytes used), so a record is there whole or not. */
static inline __attribute__((always_inline)) void
tl__tape_publish(tl__tape *t)
{
    __atomic_store_n((uint64_t *)(void *)t->live,
                     (uint64_t)t->n << 32 | (uint32_t)t->used,
                     __ATOMIC_RELEASE);
}

/* instrument/journal.c: appends one record with its payload (a payload
 * of 64 bytes to 64 KiB equal to one of the last four of this block is
 * recorded as a reference to it); a stopped journal takes nothing. */
void tl__tape_put(tl__tape *t, const tl__trec *h, const void *payload,
                  size_t len);

/* The resume, with 0, at the same time, that follows the record just
 * written (journal.h): the getter of a hand-off is a bit set in it; after
 * another record, the bit is in its kind byte and the task's id follows
 * (written first, then the bit, then published: a reader of a writer
 * that died between the two sees the record alone).  1 if that was so,
 * else 0 (and nothing changed).  lr: the resume's loop and run. */
static inline __attribute__((always_inline)) int
tl__tape_resumed(tl__tape *t, uint64_t lr, uint64_t seq, int64_t time,
                 uint32_t task, int64_t rc)
{
    if (!t->hand || rc != 0 || seq != t->seq + 1 || time != t->time ||
        lr != t->lr)
        return 0;
    if (t->live[t->hand] & TL__TAPE_HANDOFF << 3) {
        if (task != t->hg)      /* a hand-off's: its getter, or nothing */
            return 0;
        t->live[t->hand] |= TL__TAPE_RESUMED << 3;
    } else {
        uint8_t *p = tl__tape_uvar(t->live + t->used, task);
        t->live[t->hand - 1] |= TL__TAPE_FOLD;
        t->used = (size_t)(p - t->live);
        tl__tape_publish(t);
    }
    t->seq = seq;
    t->hand = 0;
    return 1;
}

/* A put that hands its item to a waiting getter, as one record of its
 * four events (journal.h): put (task p, queue q, item n), hand-off (item
 * n, to g), g's get, g's wake, numbered seq .. seq + 3 and timed time.
 * (The queue was empty: the n-th item in is the n-th out.)  The next
 * item between the same pair as the block's last hand-off record is only
 * its time (SHORT).  0, or -1 when this record cannot be the short kind
 * (another loop's or run's last, a gap in seq, a full block): then the
 * caller emits the four events one by one. */
static inline __attribute__((always_inline)) int
tl__tape_handoff(tl__tape *t, uint64_t lr, uint64_t seq, int64_t time,
                 uint32_t p, uint32_t q, uint32_t g, int64_t n)
{
    uint8_t *r;

    if (__builtin_expect(!tl__tape_fits(t, lr, seq), 0))
        return -1;
    r = t->live + t->used;
    t->hand = t->used + 1;
    r[0] = TL_EV_QUEUE_HANDOFF;
    if (p == t->hp && q == t->hq && g == t->hg &&
        (uint64_t)n == (uint64_t)t->hn + 1) {
        r[1] = TL__TAPE_FLAGS(TL_OBJ_QUEUE, 0,
                              TL__TAPE_HANDOFF | TL__TAPE_SHORT, 1);
        r = tl__tape_svar(r + 2, time - t->time);
    } else {
        r[1] = TL__TAPE_FLAGS(TL_OBJ_QUEUE, 0, TL__TAPE_HANDOFF, 1);
        r = tl__tape_uvar(r + 2, p);
        r = tl__tape_uvar(r, q);
        r = tl__tape_svar(r, time - t->time);
        r = tl__tape_svar(r, n);
        r = tl__tape_svar(r, g);
        t->hp = p;
        t->hq = q;
        t->hg = g;
    }
    t->hn = n;
    t->seq = seq + 3;
    t->time = time;
    t->used = (size_t)(r - t->live);
    tl__tape_publish(t);
    return 0;
}

#endif /* TL_TAPE_H */
