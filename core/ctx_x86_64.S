/* SPDX-License-Identifier: MIT */
/* ctx_x86_64.S -- where a new x86-64 context starts.  The switch itself is
 * inline assembly in ctx.h; a new context's first switch-in "resumes" here
 * with [fn, arg] on its stack (see tl__ctx_make in stack.c). */
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

    .section .note.GNU-stack,"",@progbits
