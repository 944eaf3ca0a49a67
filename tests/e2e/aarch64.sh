#!/bin/sh
# SPDX-License-Identifier: MIT
# aarch64.sh -- the AArch64 context switch (core/ctx_aarch64.S) and stack
# setup, cross-compiled and run under qemu-user: x86-64 CI has no AArch64
# host, and an untested switch is a guess.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
cc=aarch64-linux-gnu-gcc
if ! command -v $cc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
    echo "aarch64.sh: needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user"
    echo "  (make test installs them; else: apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)"
    exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
    -I"$here/include" -I"$here/core" "$here/tests/e2e/ctx_pingpong.c" \
    "$here/core/stack.c" "$here/core/err.c" "$here/core/ctx_aarch64.S" \
    -o "$out/pingpong" || { echo "FAIL: cross-compile"; exit 1; }
qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/pingpong" || {
    echo "FAIL: the AArch64 switch lost state"; exit 1; }
echo "ok: AArch64 context switch"
