/* SPDX-License-Identifier: MIT */
/* bench.h -- what the benchmarks share: a benchmark that fails silently
 * measures nothing, so every call is checked and the first failure stops
 * the run with where and why; the clock; ints carried as pointers. */
#ifndef TL_BENCH_H
#define TL_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tapeloop.h"

#define CHECK(call) check_rc((long)(call), #call, __LINE__)

static inline _Noreturn void TL_PRINTF(1, 2)
die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", program_invocation_short_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static inline void
check_rc(long rc, const char *what, int line)
{
    if (rc < 0)
        die("line %d: %s: %s (%s)", line, what, tl_err_name((int)rc),
            tl_strerror((int)rc));
}

static inline int64_t
now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime failed");
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void *
int_ptr(long i)
{
    return (void *)(intptr_t)i;
}

#endif
