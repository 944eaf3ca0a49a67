/* SPDX-License-Identifier: MIT */
/* ctx_x86_64.S -- the x86-64 (System V) context switch.
 * Saves what the ABI says a callee keeps (rbx, rbp, r12-r15, the MXCSR
 * control bits and the x87 control word) on the old stack, stores rsp,
 * loads the new one and pops the same frame.  Frame, from the saved sp up:
 *   [mxcsr:4 fpucw:2 pad:2] r15 r14 r13 r12 rbx rbp return-address
 * A new context's frame (ctx_x86_64 part of stack.c's tl__ctx_make) returns
 * into tl__ctx_trampoline with arg in r12 and fn in r13. */
    .text
    .globl tl__ctx_swap
    .hidden tl__ctx_swap
    .type tl__ctx_swap, @function
tl__ctx_swap:                   /* void tl__ctx_swap(void **save, void *to) */
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size tl__ctx_swap, .-tl__ctx_swap

    .globl tl__ctx_trampoline
    .hidden tl__ctx_trampoline
    .type tl__ctx_trampoline, @function
tl__ctx_trampoline:             /* first return of a new context */
    .cfi_startproc
    .cfi_undefined rip          /* the bottom of a task's call stack */
    movq %r12, %rdi
    callq *%r13
    ud2                         /* fn never returns */
    .cfi_endproc
    .size tl__ctx_trampoline, .-tl__ctx_trampoline

    .section .note.GNU-stack,"",@progbits
