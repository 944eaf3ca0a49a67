/* SPDX-License-Identifier: MIT */
/* varint.h -- LEB128 varints, and zigzag for signed values: the journal's
 * records and the checkpoints' tasks, where most numbers are small.
 */
#ifndef TL_VARINT_H
#define TL_VARINT_H

#include <stdint.h>

/* Writes v at p (at most 10 bytes); returns the end. */
static inline uint8_t *
tl__uvar_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *
tl__svar_put(uint8_t *p, int64_t v)
{
    return tl__uvar_put(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Reads a varint at *p, before lim, and moves *p past it; 0 when cut
 * short (or longer than 64 bits). */
static inline int
tl__uvar_get(const uint8_t **p, const uint8_t *lim, uint64_t *v)
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

static inline int
tl__svar_get(const uint8_t **p, const uint8_t *lim, int64_t *v)
{
    uint64_t u;

    if (!tl__uvar_get(p, lim, &u))
        return 0;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 1;
}

#endif /* TL_VARINT_H */
