# SPDX-License-Identifier: MIT
# tour.sh -- runs the example programs and says what each one did: the
# pipeline that deadlocks (by design) and its fixed twin, the echo server,
# and the flaky test under a few seeds.  `make tour` runs it.
# Usage: sh examples/tour.sh [BUILDDIR]   (default: build)
# Exits 0 when every example behaves as designed, the deadlock included.

B=${1:-build}
unexpected=0

for p in pipeline echo flaky; do
    if [ ! -x "$B/$p" ]; then
        echo "demo: $B/$p not found; build first (make build)" >&2
        exit 1
    fi
done

if command -v timeout >/dev/null 2>&1; then
    LIMIT="timeout 60"
else
    LIMIT=
fi

out=$(mktemp "${TMPDIR:-/tmp}/tapeloop-demo.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT TERM

# show WANT CMD...: prints the command, its output indented, and its exit
# status; WANT is the status it should have ("any" for the flaky test).
show() {
    want=$1
    shift
    echo "\$ $*"
    $LIMIT "$@" >"$out" 2>&1
    status=$?
    sed 's/^/    /' "$out"
    echo "    (exit $status)"
    if [ "$want" != any ] && [ "$status" != "$want" ]; then
        echo "    ^ unexpected: should exit $want"
        unexpected=1
    fi
}

cat <<EOF

== 1. pipeline: source -> parse -> transform -> sink over queues of 2.
   transform forgets to close its output queue "out" when its input runs
   dry, so sink waits for ever.  The loop notices that nothing can wake it
   and tl_loop_run returns TL_EDEADLOCK; the program prints who waits on
   what and exits 1.
EOF
show 1 "$B/pipeline"

cat <<EOF

== 2. The same pipeline with --fixed: every stage closes its output queue,
   the pipeline drains and exits 0.
EOF
show 0 "$B/pipeline" --fixed

cat <<EOF

== 3. echo: a TCP server task on 127.0.0.1 and 8 client tasks in one loop;
   each client sends 100 messages of 1..16384 bytes and checks every echo.
EOF
show 0 "$B/echo"

cat <<EOF

== 4. flaky: the client waits 100 ms for a reply the server sends after a
   random delay, so the test fails about one run in three.  TAPELOOP_SEED
   fixes tl_random's seed, and with it the outcome.
EOF
for seed in 1 2 3 4 5 6; do
    show any env TAPELOOP_SEED=$seed "$B/flaky"
done

echo
if [ $unexpected -ne 0 ]; then
    echo "demo: some example did not behave as designed (see above)"
    exit 1
fi
echo "demo: every example behaved as designed."
exit 0
