#!/bin/sh
# SPDX-License-Identifier: MIT
# valgrind.sh -- runs Check suites and the examples under Valgrind, which
# must see every task stack (VALGRIND_STACK_REGISTER) and report nothing.
# Skipped in sanitizer builds (ASan and Valgrind do not mix): exit 77,
# which CTest reports as skipped, not passed.
set -u
b=${1:-build}
if grep -q 'TL_SANITIZE:BOOL=ON' "$b/CMakeCache.txt" 2>/dev/null; then
    echo "valgrind.sh: sanitizer build, skipped"; exit 77
fi
if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind not installed, skipped"; exit 77
fi
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
fail=0
run() {
    expect=$1; shift
    timeout 300 $vg "$@" >/tmp/tl_vg.$$ 2>&1
    rc=$?
    if [ "$rc" -ne "$expect" ]; then
        echo "FAIL: $* exited $rc under valgrind (expected $expect)"
        tail -30 /tmp/tl_vg.$$
        fail=1
    else
        echo "ok: $*"
    fi
}
run 0 "$b/tests/check_queue"
run 0 "$b/tests/check_sync"
run 0 "$b/tests/check_net"
run 1 "$b/pipeline"
run 0 "$b/pipeline" --fixed
run 0 "$b/echo" --clients 4 --messages 20
run 0 "$b/flaky" --delay-ms 1 --timeout-ms 200
rm -f /tmp/tl_vg.$$
exit $fail
