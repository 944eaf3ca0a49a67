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
 * return address on top of the stack and the arguments in place.  A
 * frame record (rbp) so that frame-pointer unwinders see the caller.
 * Back with ret unless the body switched (tl__switched, set by every
 * switch back into a context, cleared here): that ret pairs with the
 * caller's call.  After a switch the return stack holds another task's
 * addresses, and an indirect jump back is predicted from branch history
 * instead.  (A flag left set by a switch no call consumed -- into the
 * scheduler, say -- costs one call a mispredicted return, nothing else:
 * either way returns to the same place.) */
tl__api_call:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    movq %rsp, %rbp
    callq *%rax
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbp
    movq tl__switched@gottpoff(%rip), %rcx  /* rax (and rdx, xmm0) hold */
    cmpb $0, %fs:(%rcx)                     /* the result; rcx is free */
    jne 1f
    retq
1:  movb $0, %fs:(%rcx)
    popq %rcx
    .cfi_adjust_cfa_offset -8
    .cfi_register rip, rcx
    jmpq *%rcx
    .cfi_endproc
    .size tl__api_call, .-tl__api_call

    .section .note.GNU-stack,"",@progbits
