/* SPDX-License-Identifier: MIT */
/* ctx_aarch64.S -- the AArch64 (AAPCS64) context switch.
 * Saves x19-x30, d8-d15 and FPCR in a 176-byte frame on the old stack,
 * stores sp, loads the new one and restores the same frame.  A new
 * context's frame returns (x30) into tl__ctx_trampoline with arg in x19
 * and fn in x20.  Not exercised by this machine's CI (x86-64 only). */
    .text
    .globl tl__ctx_swap
    .hidden tl__ctx_swap
    .type tl__ctx_swap, %function
tl__ctx_swap:                   /* void tl__ctx_swap(void **save, void *to) */
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldr x9, [sp, #160]
    msr fpcr, x9
    add sp, sp, #176
    ret
    .size tl__ctx_swap, .-tl__ctx_swap

    .globl tl__ctx_trampoline
    .hidden tl__ctx_trampoline
    .type tl__ctx_trampoline, %function
tl__ctx_trampoline:             /* first return of a new context */
    mov x0, x19
    blr x20
    brk #0                      /* fn never returns */
    .size tl__ctx_trampoline, .-tl__ctx_trampoline

    .section .note.GNU-stack,"",%progbits
