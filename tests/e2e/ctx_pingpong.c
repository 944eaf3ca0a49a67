/* SPDX-License-Identifier: MIT */
/* ctx_pingpong.c -- the context switch alone, for CPUs this machine can
 * only emulate: a task and the main stack switch 1001 times, both keeping
 * floating-point and integer state live across switches.  Built and run
 * by aarch64.sh under qemu-user. */
#include <stdio.h>

#include "loop_int.h"

_Thread_local tl_loop *tl__running;     /* stack.c's fault reporter reads */
_Thread_local tl_loop *tl__last;        /* these; no loop here */

static tl__ctx mainc, task;
static volatile double acc;

static void
body(void *arg)
{
    double x = 1.5;

    for (long i = 0; i < 1000; i++) {
        x = x * 1.0001 + (double)(long)arg;
        tl__ctx_switch(&task, &mainc, false);
    }
    acc = x;
    tl__ctx_switch(&task, &mainc, true);
}

int
main(void)
{
    tl__pool pool = {.size = 65536};
    tl__stack s;
    double keep = 3.25;
    long n = 0;

    if (tl__stack_get(&pool, &s) != 0)
        return 2;
    tl__ctx_make(&task, s.lo, s.size, body, (void *)2);
    for (int i = 0; i < 1001; i++, n++) {
        tl__ctx_switch(&mainc, &task, false);
        keep += 1.0;
    }
    tl__stack_put(&pool, &s);
    tl__pool_fini(&pool);
    printf("switches %ld, main kept %.2f, task computed %.4f\n", n, keep, acc);
    return keep == 1004.25 && n == 1001 && acc > 2104.96 && acc < 2104.97
               ? 0 : 1;
}
