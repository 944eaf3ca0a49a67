/* SPDX-License-Identifier: MIT */
/* ctx_ucontext.c -- the portable context switch over glibc ucontext.
 * About 40x slower than the assembly one (swapcontext makes a sigprocmask
 * syscall per switch), used where no assembly version exists. */
#include <stdint.h>

#include "ctx.h"

static void
entry(unsigned hi, unsigned lo, unsigned fhi, unsigned flo)
{
    void *arg = (void *)(uintptr_t)(((uint64_t)hi << 32) | lo);
    void (*fn)(void *) = (void (*)(void *))(uintptr_t)(((uint64_t)fhi << 32) | flo);
    fn(arg);
}

void
tl__ctx_make(tl__ctx *c, void *lo, size_t size, void (*fn)(void *), void *arg)
{
    uint64_t a = (uintptr_t)arg, f = (uintptr_t)fn;

    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, (void (*)(void))entry, 4, (unsigned)(a >> 32),
                (unsigned)a, (unsigned)(f >> 32), (unsigned)f);
#if TL_ASAN
    c->bottom = lo;
    c->size = size;
#endif
}
