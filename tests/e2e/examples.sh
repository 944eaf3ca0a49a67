# SPDX-License-Identifier: MIT
# examples.sh -- end-to-end checks of the example programs (pipeline, echo,
# flaky): exit codes and what they print.  Every run is bounded by timeout,
# so a hang fails; any sanitizer report on stderr fails too.
# Usage: sh tests/e2e/examples.sh BUILDDIR.  Exits 1 if any check failed.

B=${1:?usage: sh tests/e2e/examples.sh BUILDDIR}
LIMIT=${TL_E2E_TIMEOUT:-60}     # seconds per run
failed=0
checks=0

for p in pipeline echo flaky; do
    if [ ! -x "$B/$p" ]; then
        echo "examples.sh: $B/$p not found" >&2
        exit 1
    fi
done
if ! command -v timeout >/dev/null 2>&1; then
    echo "examples.sh: needs timeout(1) (coreutils)" >&2
    exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/tapeloop-e2e.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

# run CMD...: runs a built example with stdout in $T/out, stderr in
# $T/err, its exit status in $status and its command line in $what.
run() {
    what="$*"
    timeout "$LIMIT" "$@" >"$T/out" 2>"$T/err"
    status=$?
    checks=$((checks + 1))
    if grep -Eq 'Sanitizer|runtime error:' "$T/err"; then
        fail "no sanitizer report" "$(cat "$T/err")"
    fi
}

# fail EXPECTED GOT: reports one failed check of the last run.
fail() {
    failed=$((failed + 1))
    echo "FAIL: $what"
    echo "  expected: $1"
    echo "  got:      $2"
    echo "  stdout:"
    sed 's/^/    | /' "$T/out"
    echo "  stderr:"
    sed 's/^/    | /' "$T/err"
}

# status_is N: the last run exited N (124 means timeout killed it).
status_is() {
    checks=$((checks + 1))
    if [ "$status" != "$1" ]; then
        if [ "$status" = 124 ]; then
            fail "exit $1" "killed by timeout after ${LIMIT}s (a hang)"
        else
            fail "exit $1" "exit $status"
        fi
    fi
}

# out_has REGEX / err_has REGEX: a line of stdout / stderr matches.
out_has() {
    checks=$((checks + 1))
    grep -Eq -- "$1" "$T/out" || fail "stdout matching /$1/" "no such line"
}

err_has() {
    checks=$((checks + 1))
    grep -Eq -- "$1" "$T/err" || fail "stderr matching /$1/" "no such line"
}

# ---- pipeline ----------------------------------------------------------

run "$B/pipeline"
status_is 1
out_has '^deadlock: 2 tasks blocked$'
out_has '^task 1 "main" waits join\(task [0-9]+ "sink"\)$'
out_has '^task [0-9]+ "sink" waits get\(queue [0-9]+ "out"\)$'
out_has 'sink got 10 of 10 items'

run "$B/pipeline" --items 3
status_is 1
out_has '^deadlock: '
out_has 'sink got 3 of 3 items'

run "$B/pipeline" --fixed
status_is 0
out_has '^sink got 10 items \(sum of squares 385\)$'

run "$B/pipeline" --items 57 --fixed
status_is 0
out_has '^sink got 57 items \(sum of squares 63365\)$'

run "$B/pipeline" --fixed --items 0
status_is 0
out_has '^sink got 0 items'

# ---- echo --------------------------------------------------------------

run "$B/echo"
status_is 0
out_has '^echo: clients 8, messages 800/800, bytes [1-9][0-9]*, '
out_has ', connections 8, mismatches 0: every echo matched$'

run "$B/echo" --clients 32
status_is 0
out_has '^echo: clients 32, messages 3200/3200, bytes [1-9][0-9]*, '
out_has ', connections 32, mismatches 0: every echo matched$'

run "$B/echo" --clients 3 --messages 7
status_is 0
out_has '^echo: clients 3, messages 21/21, .*mismatches 0'

# --serve never returns: it must print its port and still be serving when
# timeout stops it (exit 124).
LIMIT_SAVED=$LIMIT
LIMIT=2
run "$B/echo" --serve
LIMIT=$LIMIT_SAVED
status_is 124
out_has '^echo: serving on 127\.0\.0\.1 port [1-9][0-9]*$'

# ---- flaky -------------------------------------------------------------

run "$B/flaky" --delay-ms 1 --timeout-ms 200
status_is 0
out_has '^PASS: reply in [0-9]+ ms'

run "$B/flaky" --delay-ms 200 --timeout-ms 5
status_is 1
out_has '^FAIL: timed out after [0-9]+ ms'

run "$B/flaky" --delay-ms 7 --timeout-ms 50 --verbose
status_is 0
out_has '^server: replying after 7 ms$'

# The same TAPELOOP_SEED draws the same delay (tl_random's); other seeds
# draw others.
delays=
for seed in 1 2 3 4 5 6; do
    run env TAPELOOP_SEED=$seed "$B/flaky" --timeout-ms 20 --verbose
    first=$(grep '^server: ' "$T/out")
    run env TAPELOOP_SEED=$seed "$B/flaky" --timeout-ms 20 --verbose
    again=$(grep '^server: ' "$T/out")
    checks=$((checks + 1))
    if [ -z "$first" ] || [ "$first" != "$again" ]; then
        fail "the same delay for TAPELOOP_SEED=$seed" "'$first' then '$again'"
    fi
    delays="$delays$first
"
done
checks=$((checks + 1))
if [ "$(printf '%s' "$delays" | sort -u | wc -l)" -lt 2 ]; then
    fail "different delays for different seeds" "$delays"
fi

# ---- usage -------------------------------------------------------------

for bad in "pipeline --bogus" "pipeline --items" "pipeline --items -1" \
           "pipeline --items 12x" "echo --clients 0" "echo --port 70000" \
           "echo --messages" "flaky --timeout-ms 0" "flaky --delay-ms abc" \
           "flaky extra"; do
    # shellcheck disable=SC2086  # split "prog args" on purpose
    set -- $bad
    prog=$1
    shift
    run "$B/$prog" "$@"
    status_is 2
    err_has '^usage: '
done

for prog in pipeline echo flaky; do
    run "$B/$prog" --help
    status_is 0
    out_has '^usage: '
done

# ---- verdict -----------------------------------------------------------

if [ $failed -ne 0 ]; then
    echo "examples.sh: $failed of $checks checks failed ($B)"
    exit 1
fi
echo "examples.sh: all $checks checks passed ($B)"
exit 0
