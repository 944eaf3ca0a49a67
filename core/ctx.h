/* SPDX-License-Identifier: MIT */
/* ctx.h -- switching between the scheduler's stack and a task's stack.
 * Only two directions exist: the scheduler enters a task, a task leaves to
 * the scheduler.  The switch is ctx_x86_64.S / ctx_aarch64.S, or glibc
 * ucontext (TL_CTX_UCONTEXT) elsewhere.  Both are annotated for ASan's fiber
 * API; stacks are registered with Valgrind by stack.c.
 */
#ifndef TL_CTX_H
#define TL_CTX_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define TL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TL_ASAN 1
#endif
#endif
#ifndef TL_ASAN
#define TL_ASAN 0
#endif

#ifdef TL_CTX_UCONTEXT
#include <ucontext.h>
#endif
#if TL_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

typedef struct tl__ctx {
#ifdef TL_CTX_UCONTEXT
    ucontext_t uc;              /* the whole register set, glibc's way */
#else
    void *sp;                   /* saved stack pointer; registers sit above */
#endif
#if TL_ASAN
    void *fake;                 /* ASan's fake stack while switched away */
    const void *bottom;         /* this context's stack, for ASan */
    size_t size;                /* its size */
#endif
} tl__ctx;

/* Prepares c to run fn(arg) on [lo, lo+size) at its first switch-in.  fn
 * must never return: it leaves with tl__ctx_leave(..., true). */
void tl__ctx_make(tl__ctx *c, void *lo, size_t size, void (*fn)(void *),
                  void *arg);

#ifndef TL_CTX_UCONTEXT
void tl__ctx_swap(void **save_sp, void *to_sp);   /* the .S file */
#endif

static inline void
tl__ctx_raw(tl__ctx *from, tl__ctx *to)
{
#ifdef TL_CTX_UCONTEXT
    swapcontext(&from->uc, &to->uc);
#else
    tl__ctx_swap(&from->sp, to->sp);
#endif
}

/* Scheduler side: run task context t until it leaves. */
static inline void
tl__ctx_enter(tl__ctx *sched, tl__ctx *t)
{
#if TL_ASAN
    __sanitizer_start_switch_fiber(&sched->fake, t->bottom, t->size);
#endif
    tl__ctx_raw(sched, t);
#if TL_ASAN
    __sanitizer_finish_switch_fiber(sched->fake, NULL, NULL);
#endif
}

/* Task side: go back to the scheduler; dying means never coming back. */
static inline void
tl__ctx_leave(tl__ctx *t, tl__ctx *sched, bool dying)
{
#if TL_ASAN
    __sanitizer_start_switch_fiber(dying ? NULL : &t->fake, sched->bottom,
                                   sched->size);
#else
    (void)dying;
#endif
    tl__ctx_raw(t, sched);
#if TL_ASAN
    __sanitizer_finish_switch_fiber(t->fake, &sched->bottom, &sched->size);
#endif
}

/* First thing a new task does: tell ASan where it came from. */
static inline void
tl__ctx_started(tl__ctx *sched)
{
#if TL_ASAN
    __sanitizer_finish_switch_fiber(NULL, &sched->bottom, &sched->size);
#else
    (void)sched;
#endif
}

#endif /* TL_CTX_H */
