/* SPDX-License-Identifier: MIT */
/* stack.c -- task stacks: mmap'd lazily, a PROT_NONE guard page below each
 * while the process's map budget allows, pooled per loop for reuse, and a
 * SIGSEGV reporter that names the task whose stack overflowed.  Also the
 * initial frame of a new context for the assembly switches.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "loop_int.h"

#if TL_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TL_VALGRIND 1
#endif
#endif

#define POOL_MAX 1024           /* free stacks kept per loop */

/* Guarded stacks cost two mappings each (vm.max_map_count is ~65530);
 * beyond this many the rest go unguarded rather than failing. */
static atomic_long nguarded;
static long guard_limit = -1;

static size_t
page_size(void)
{
    static size_t pg;
    if (!pg)
        pg = (size_t)sysconf(_SC_PAGESIZE);
    return pg;
}

static long
max_guarded(void)
{
    if (guard_limit < 0) {
        long maps = 65530;
        FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
        if (f) {
            if (fscanf(f, "%ld", &maps) != 1)
                maps = 65530;
            fclose(f);
        }
        guard_limit = maps / 2 - 4096;
        if (guard_limit < 0)
            guard_limit = 0;
    }
    return guard_limit;
}

static int
stack_map(size_t size, tl__stack *s)
{
    size_t pg = page_size();
    int guard = atomic_fetch_add(&nguarded, 1) < max_guarded();

    if (!guard)
        atomic_fetch_sub(&nguarded, 1);
    s->maplen = size + (guard ? pg : 0);
    s->map = mmap(NULL, s->maplen, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                  -1, 0);
    if (s->map == MAP_FAILED) {
        if (guard)
            atomic_fetch_sub(&nguarded, 1);
        return TL_ENOMEM;
    }
    if (guard && mprotect(s->map, pg, PROT_NONE) != 0) {
        munmap(s->map, s->maplen);
        atomic_fetch_sub(&nguarded, 1);
        return TL_ENOMEM;
    }
    s->guard = guard;
    s->lo = (char *)s->map + (guard ? pg : 0);
    s->size = size;
#ifdef TL_VALGRIND
    s->vg_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + size);
#endif
    return 0;
}

static void
stack_unmap(tl__stack *s)
{
#ifdef TL_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->vg_id);
#endif
#if TL_ASAN
    /* Frames abandoned on it stay poisoned, and the next mapping at
     * these addresses (a journal, say) would inherit that. */
    __asan_unpoison_memory_region(s->lo, s->size);
#endif
    munmap(s->map, s->maplen);
    if (s->guard)
        atomic_fetch_sub(&nguarded, 1);
}

int
tl__stack_get(tl__pool *p, tl__stack *out)
{
    int rc = 0;

    if (p->nfree)
        *out = p->free[--p->nfree];
    else
        rc = stack_map(p->size, out);
#if TL_ASAN
    /* A task that ended left its last frames' scopes poisoned (it switched
     * away from them for good): a stack starts clean. */
    if (rc == 0)
        __asan_unpoison_memory_region(out->lo, out->size);
#endif
    return rc;
}

void
tl__stack_put(tl__pool *p, tl__stack *s)
{
    if (!s->map)
        return;
    if (p->nfree == p->cap && p->cap < POOL_MAX) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        tl__stack *n = tl__realloc(p->free, cap * sizeof *n);
        if (n) {
            p->free = n;
            p->cap = cap;
        }
    }
    if (p->nfree < p->cap)
        p->free[p->nfree++] = *s;
    else
        stack_unmap(s);
    s->map = NULL;
}

void
tl__pool_fini(tl__pool *p)
{
    while (p->nfree)
        stack_unmap(&p->free[--p->nfree]);
    tl__free(p->free);
    p->free = NULL;
    p->cap = 0;
}

#ifndef TL_CTX_UCONTEXT
void tl__ctx_trampoline(void);

/* The frame tl__ctx_swap pops for a context that has never run: see the
 * layout at the top of ctx_x86_64.S and ctx_aarch64.S. */
void
tl__ctx_make(tl__ctx *c, void *lo, size_t size, void (*fn)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* The frame ctx.h's switch pops, then what the trampoline pops: fn and
     * arg.  sp = top-56 leaves rsp 16-aligned at the trampoline's call. */
    uint64_t *sp = (uint64_t *)(top - 56);
    memset(sp, 0, 56);
    sp[0] = 0x1F80 | ((uint64_t)0x037F << 32);  /* MXCSR, x87 CW defaults */
    sp[1] = (uint64_t)(uintptr_t)tl__ctx_trampoline;     /* resume */
    sp[2] = 0;                                  /* rbp */
    sp[3] = (uint64_t)(uintptr_t)fn;
    sp[4] = (uint64_t)(uintptr_t)arg;
    c->sp = sp;
#elif defined(__aarch64__)
    uint64_t *sp = (uint64_t *)(top - 176);
    memset(sp, 0, 176);
    sp[0] = (uint64_t)(uintptr_t)arg;           /* x19 */
    sp[1] = (uint64_t)(uintptr_t)fn;            /* x20 */
    sp[11] = (uint64_t)(uintptr_t)tl__ctx_trampoline;    /* x30 */
    c->sp = sp;
#else
#error "no assembly context switch for this CPU: build with TL_CTX=ucontext"
#endif
#if TL_ASAN
    c->bottom = lo;
    c->size = size;
#endif
}
#endif

void
tl__ctx_main(tl__ctx *c)
{
#if TL_ASAN
    pthread_attr_t a;
    void *lo;
    size_t n;

    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        if (pthread_attr_getstack(&a, &lo, &n) == 0) {
            c->bottom = lo;
            c->size = n;
        }
        pthread_attr_destroy(&a);
    }
#else
    (void)c;
#endif
}

/* ---- the overflow reporter ----------------------------------------- */

static struct sigaction old_segv, old_bus;     /* chained to */
static atomic_int guard_installed;

static void
say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

/* Runs on the alternate stack.  Names the task and whether the fault hit
 * its guard page, restores the previous handler and returns, so the fault
 * repeats and ends the process the way it would have without us. */
static void
on_fault(int sig, siginfo_t *si, void *uc)
{
    tl_loop *loop = tl__running;
    tl_task *t = loop ? loop->cur : NULL;
    char buf[256];

    (void)uc;
    if (t) {
        char *a = si->si_addr, *lo = t->stack.lo;
        int overflow = t->stack.guard && a >= (char *)t->stack.map && a < lo;
        overflow |= a < lo && a >= lo - 4096 * 16;     /* near, unguarded */
        if (overflow)
            snprintf(buf, sizeof buf,
                     "tapeloop: task %u \"%s\" overflowed its %zu-byte stack"
                     " (raise tl_options.stack_size)\n",
                     t->id, t->name ? t->name : "", t->stack.size);
        else
            snprintf(buf, sizeof buf,
                     "tapeloop: fatal signal %d in task %u \"%s\"\n", sig,
                     t->id, t->name ? t->name : "");
        say(buf);
    }
    sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

void
tl__stack_guard_install(void)
{
    static _Thread_local int has_alt;
    stack_t ss;

    if (!atomic_exchange(&guard_installed, 1)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &old_segv);
        sigaction(SIGBUS, &sa, &old_bus);
    }
    if (has_alt)
        return;
    has_alt = 1;
    if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE))
        return;                 /* the thread has one (ASan sets its own) */
    /* Kept for the thread's life: a signal may arrive at any time. */
    ss.ss_size = 64 * 1024;
    ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ss.ss_flags = 0;
    if (ss.ss_sp != MAP_FAILED)
        sigaltstack(&ss, NULL);
}
