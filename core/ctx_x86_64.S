/* SPDX-License-Identifier: MIT */
/* ctx_x86_64.S -- where a new x86-64 context starts, and the one call site
 * every task call that may switch goes through (TL__ENTRY in ctx.h).  The
 * switch itself is inline assembly in ctx.h; a new context's first
 * switch-in "resumes" here with [fn, arg] on its stack (see tl__ctx_make in
 * stack.c). */
    .text
    .globl tl__ctx_trampoline
    .hidden tl__ctx_trampoline
    .type tl__ctx_trampoline, @function
tl__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip          /* the bottom of a task's call stack */
    popq %rax                   /* fn */
    popq %rdi                   /* arg */
    callq *%rax
    ud2                         /* fn never returns */
    .cfi_endproc
    .size tl__ctx_trampoline, .-tl__ctx_trampoline

    .globl tl__api_call
    .hidden tl__api_call
    .type tl__api_call, @function
/* rax = the body of a task call, entered from its stub with the task's
 * return address on top of the stack and the arguments in place. */
tl__api_call:
    .cfi_startproc
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    callq *%rax
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %rcx                   /* the return address: rax holds the */
    .cfi_adjust_cfa_offset -8   /* result, rcx is free at a return */
    .cfi_register rip, rcx
    jmpq *%rcx
    .cfi_endproc
    .size tl__api_call, .-tl__api_call

    .section .note.GNU-stack,"",@progbits
