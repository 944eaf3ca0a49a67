/* SPDX-License-Identifier: MIT */
/* ctx.h -- switching between the scheduler's stack and a task's stack.
 * The scheduler's context is the thread's own stack; tasks switch to it or,
 * within a pass, straight to the next task.  The switch is ctx_x86_64.S / ctx_aarch64.S, or glibc
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
 * must never return: it leaves with tl__ctx_switch(..., true). */
void tl__ctx_make(tl__ctx *c, void *lo, size_t size, void (*fn)(void *),
                  void *arg);

#if defined(__x86_64__) && !defined(TL_CTX_UCONTEXT)
/* x86-64: the switch is inlined where it happens, with no call and no
 * ret, so the CPU's return-stack predictor stays balanced (a called switch
 * mispredicts the next few returns on both sides: +15 ns a step here).
 * The compiler saves whatever it holds in the clobbered registers; the asm
 * saves rbp, the resume address, and the MXCSR and x87 control words
 * (callee-saved by the ABI).  Reloading those always is cheaper than
 * comparing first: the compare's load waits for stmxcsr's store.
 * Frame at a saved sp: [mxcsr:4 fpucw:2 pad:2] resume-address rbp. */
static inline void
tl__ctx_raw(tl__ctx *from, tl__ctx *to)
{
    void **save = &from->sp, *sp = to->sp;

    __asm__ volatile(
        "leaq -128(%%rsp), %%rsp\n\t"   /* step over the red zone */
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rbp\n\t"
        "pushq %%rax\n\t"
        "subq $8, %%rsp\n\t"
        "stmxcsr (%%rsp)\n\t"
        "fnstcw 4(%%rsp)\n\t"
        "movq %%rsp, (%%rdi)\n\t"
        "movq %%rsi, %%rsp\n\t"
        "ldmxcsr (%%rsp)\n\t"
        "fldcw 4(%%rsp)\n\t"
        "addq $8, %%rsp\n\t"
        "popq %%rax\n\t"
        "popq %%rbp\n\t"
        "jmpq *%%rax\n"
        "1:\n\t"
        "leaq 128(%%rsp), %%rsp\n\t"
        : "+D"(save), "+S"(sp)
        :
        : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12",
          "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
          "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}
#else
void tl__ctx_swap(void **save_sp, void *to_sp);   /* the .S file */

static inline void
tl__ctx_raw(tl__ctx *from, tl__ctx *to)
{
#ifdef TL_CTX_UCONTEXT
    swapcontext(&from->uc, &to->uc);
#else
    tl__ctx_swap(&from->sp, to->sp);
#endif
}
#endif

/* Every switch out of a task call happens in a body entered through a
 * stub (docs/loop.md, "Return prediction" lists them): TL__ENTRY(name)
 * above the body, named TL__BODY(name).  On x86-64 the stub jumps to
 * tl__api_call, which calls the body from one call site shared by every
 * such call.  After a switch the return stack predictor holds the other
 * task's return addresses: with a plain ret, every switch between tasks
 * waiting at different call sites mispredicted its first return (+7 ns a
 * switch here, two per queue hand-off).  Now the body returns to the
 * shared call site, which the other task also came through, and
 * tl__api_call goes back with an indirect jump, predicted from branch
 * history -- or, when the body did not switch, with the ret that pairs
 * with the caller's call (tl__switched says which).  Only for functions
 * whose arguments all travel in registers, none variadic: the stub moves
 * the stack by a frame. */
#if defined(__x86_64__) && !defined(TL_CTX_UCONTEXT)
#define TL__API_CALL 1
extern _Thread_local unsigned char tl__switched
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
#define TL__ENTRY(name)                                                    \
    __typeof__(name) tl__body_##name                                       \
        __attribute__((used, visibility("hidden")));                       \
    __asm__(".text\n\t.globl " #name "\n\t.type " #name ", @function\n"  \
            #name ":\n\t.cfi_startproc\n\t"                               \
            "leaq tl__body_" #name "(%rip), %rax\n\t"                    \
            "jmp tl__api_call\n\t.cfi_endproc\n\t"                       \
            ".size " #name ", .-" #name "\n\t.previous");
#define TL__BODY(name) tl__body_##name
#else
#define TL__API_CALL 0
#define TL__ENTRY(name)
#define TL__BODY(name) name
#endif

/* Switches from one context to another (scheduler or task, either way);
 * dying means from is never resumed, so ASan may drop its fake stack. */
static inline void
tl__ctx_switch(tl__ctx *from, tl__ctx *to, bool dying)
{
#if TL_ASAN
    __sanitizer_start_switch_fiber(dying ? NULL : &from->fake, to->bottom,
                                   to->size);
#else
    (void)dying;
#endif
    tl__ctx_raw(from, to);
#if TL_ASAN
    __sanitizer_finish_switch_fiber(from->fake, NULL, NULL);
#endif
#if TL__API_CALL
    tl__switched = 1;           /* back in from: it was switched away */
#endif
}

/* First thing a new context does after its first switch-in. */
static inline void
tl__ctx_started(void)
{
#if TL_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

/* Describes the calling thread's own stack in c, for ASan's sake. */
void tl__ctx_main(tl__ctx *c);

#endif /* TL_CTX_H */
