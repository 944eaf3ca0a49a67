# SPDX-License-Identifier: MIT
# deadlocks.sh -- end-to-end checks of `tapeloop deadlocks` on real traces:
# the pipeline that hangs because transform never closes "out" (a dead
# end, not a cycle), the same pipeline at earlier steps and --fixed, and
# flaky while its tasks sleep (no deadlock), two true cycles from cycle.c (queues and locks, built here
# against the library), and bad input and usage.  Every run is bounded by
# timeout; a sanitizer report fails.
# Usage: sh tests/e2e/deadlocks.sh BUILDDIR.  Exits 1 if any check failed.

B=${1:?usage: sh tests/e2e/deadlocks.sh BUILDDIR}
LIMIT=${TL_E2E_TIMEOUT:-60}     # seconds per run
here=$(cd "$(dirname "$0")/../.." && pwd)
failed=0
checks=0

for p in tapeloop pipeline echo flaky libtapeloop.a CMakeCache.txt; do
    if [ ! -e "$B/$p" ]; then
        echo "deadlocks.sh: $B/$p not found" >&2
        exit 1
    fi
done
for tool in timeout cc pkg-config python3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "deadlocks.sh: needs $tool" >&2
        exit 1
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/tapeloop-e2e.XXXXXX") || exit 1
live=
trap '[ -z "$live" ] || kill "$live" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP PIPE
# A watchdog for when this script dies without its traps (SIGKILL, as a
# test timeout sends): it ends the recording echo server.
me=$$
(
    while kill -0 "$me" 2>/dev/null; do sleep 1; done
    [ ! -s "$T/live.pid" ] || kill "$(cat "$T/live.pid")"
    rm -rf "$T"
) >/dev/null 2>&1 &

# run CMD...: stdout in $T/out, stderr in $T/err, exit status in $status.
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
    head -40 "$T/out" | sed 's/^/    | /'
    echo "  stderr:"
    head -20 "$T/err" | sed 's/^/    | /'
}

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

out_has() {
    checks=$((checks + 1))
    grep -Eq -- "$1" "$T/out" || fail "stdout matching /$1/" "no such line"
}

out_lacks() {
    checks=$((checks + 1))
    ! grep -Eq -- "$1" "$T/out" || fail "no stdout line matching /$1/" \
        "$(grep -E -- "$1" "$T/out" | head -1)"
}

# out_count N ERE: exactly N stdout lines match.
out_count() {
    checks=$((checks + 1))
    n=$(grep -Ec -- "$2" "$T/out")
    [ "$n" = "$1" ] || fail "$1 stdout lines matching /$2/" "$n"
}

# one_line_error: stdout empty, stderr exactly one "tapeloop: ..." line.
one_line_error() {
    checks=$((checks + 1))
    if [ -s "$T/out" ] || [ "$(wc -l <"$T/err")" -ne 1 ] ||
        ! grep -q '^tapeloop: ' "$T/err"; then
        fail "no output and one 'tapeloop: ...' line on stderr" \
            "$(wc -c <"$T/out") bytes out, $(wc -l <"$T/err") lines err"
    fi
}

tl="$B/tapeloop"

# ---- the cycle program, built like the build it tests ------------------

cflags=
if grep -q '^TL_SANITIZE:BOOL=ON' "$B/CMakeCache.txt"; then
    cflags="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
# shellcheck disable=SC2046,SC2086  # split the flags on purpose
run cc -std=c11 -Wall -Wextra -g $cflags -I"$here/include" \
    "$here/tests/e2e/cycle.c" "$B/libtapeloop.a" \
    $(pkg-config --libs libevent_core sqlite3) -lm -o "$T/cycle"
status_is 0

# ---- traces ------------------------------------------------------------

run "$tl" record -o "$T/dead.db" -- "$B/pipeline"
status_is 1
run "$tl" record -o "$T/fixed.db" -- "$B/pipeline" --fixed
status_is 0
run "$tl" record -o "$T/cq.db" -- "$T/cycle" queues
status_is 1
run "$tl" record -o "$T/cl.db" -- "$T/cycle" locks
status_is 1
run "$tl" record -o "$T/flaky.db" -- "$B/flaky" --delay-ms 20 --timeout-ms 200
status_is 0

# sql DB QUERY: prints the one value QUERY selects from the trace DB.
sql() {
    python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

# Every task's last_seq is its last event as the acting task: at its end
# for the tasks that ended, wherever it is for those still blocked.
for db in dead fixed cq flaky; do
    what="$db.db: tasks.last_seq"
    checks=$((checks + 1))
    wrong=$(sql "$T/$db.db" "SELECT count(*) FROM tasks t WHERE last_seq IS NOT
                 (SELECT max(seq) FROM events e WHERE e.loop = t.loop
                  AND e.task = t.id)")
    [ "$wrong" = 0 ] || fail "0 tasks with a wrong last_seq" "$wrong"
done
blocked=$(sql "$T/dead.db" "SELECT count(*) FROM tasks WHERE end_seq IS NULL
                            AND last_seq IS NOT NULL")
what="dead.db: last_seq of the tasks left blocked"
checks=$((checks + 1))
[ "$blocked" -ge 2 ] || fail "at least 2 (main, sink)" "$blocked"

# ---- the pipeline's dead end ---------------------------------------------

# Steps of the pipeline's schedule, from the trace: its last event, the
# first block (source, on the full "raw", before parse exists) and main's
# first block (joining source, while parse and sink wait on live peers).
last=$(sql "$T/dead.db" "SELECT max(seq) FROM events")
first_block=$(sql "$T/dead.db" "SELECT min(seq) FROM event_log WHERE kind = 'block'")
main_joins=$(sql "$T/dead.db" "SELECT min(seq) FROM event_log
                               WHERE kind = 'block' AND task_name = 'main'")
spawn_parse=$(sql "$T/dead.db" "SELECT spawn_seq FROM tasks WHERE name = 'parse'")

# At the trace's deadlock (its last event but one): main joins sink, sink
# waits get on "out", and transform, the only task that ever put to "out",
# has ended without closing it.  That is not a cycle.
run "$tl" deadlocks "$T/dead.db"
status_is 1
out_has ': the run deadlocked$'
out_has '^  task 1 "main" waits join\(task [0-9]+ "sink"\)'
out_has '^  task [0-9]+ "sink" waits get\(q[0-9]+ "out"\)'
out_has 'sink.* get\("out"\).* only producer, transform, ended without closing it'
out_lacks '^  cycle:'
out_lacks '^  .*(parse|source)'

# --at the last seq says the same; --at past the end is clamped to it.
for at in "$last" 999999; do
    run "$tl" deadlocks --at "$at" "$T/dead.db"
    status_is 1
    out_has " at seq $last of $last: the run deadlocked\$"
    out_has 'only producer, transform, ended without closing it'
done

# Early steps, nothing stuck.  Before the first block every task is
# running or ready.
at=$((first_block - 1))
run "$tl" deadlocks "$T/dead.db" --at $at
status_is 0
out_has " at seq $at of $last\$"
out_has '^  no task is blocked$'
out_lacks '^  .*(deadlock|cycle|ended without)'
out_lacks 'the run deadlocked'

# The first block: source blocked putting into the full "raw" before
# parse, its consumer, has even been spawned (main is ready and about to
# spawn it).  A normal pipeline start: no hang.
checks=$((checks + 1))
[ "$first_block" -lt "$spawn_parse" ] ||
    fail "source blocks before parse is spawned" "$first_block >= $spawn_parse"
run "$tl" deadlocks "$T/dead.db" --at "$first_block"
status_is 0
out_has '^  task 2 "source" waits put\(q1 "raw", full\)'
out_lacks '^  .*(deadlock|cycle|nobody|ended without)'
out_lacks 'the run deadlocked'

# Main's first block: three tasks blocked, each on a live peer that will
# release it.
run "$tl" deadlocks "$T/dead.db" --at "$main_joins"
status_is 0
out_has '^  task 1 "main" waits join\(task 2 "source"\)'
out_has '^  task 3 "parse" waits put\(q2 "parsed", full\)'
out_has '^  task 5 "sink" waits get\(q3 "out"\).* task 4$'
out_lacks '^  .*(deadlock|cycle|nobody|ended without)'
out_lacks 'the run deadlocked'

# flaky: the client waits get on "first" while the server and the timer,
# the two tasks that will put into it, sleep.  Sleepers wake: no hang.
wait_first=$(sql "$T/flaky.db" "SELECT min(seq) FROM event_log
    WHERE kind = 'block' AND task_name = 'client' AND object_name = 'first'")
run "$tl" deadlocks "$T/flaky.db" --at "$wait_first"
status_is 0
out_has '^  task [0-9]+ "client" waits get\(q[0-9]+ "first"\)'
out_lacks '^  .*(deadlock|cycle|nobody|ended without)'
out_lacks 'the run deadlocked'

# ---- the fixed pipeline ----------------------------------------------------

run "$tl" deadlocks "$T/fixed.db"
status_is 0
flast=$(sql "$T/fixed.db" "SELECT max(seq) FROM events")
out_has " at seq $flast of $flast\$"
out_has '^  no task is blocked$'
out_lacks '^  .*(deadlock|cycle|waits)'
out_lacks 'the run deadlocked'

# ---- true cycles -------------------------------------------------------------

# ping puts into "ping->pong" (full) which pong consumes; pong puts into
# "pong->ping" (full) which ping consumes.
run "$tl" deadlocks "$T/cq.db"
status_is 1
out_has ': the run deadlocked$'
out_has '^  task 2 "ping" waits put\(q1 "ping->pong", full\)'
out_has '^  task 3 "pong" waits put\(q2 "pong->ping", full\)'
out_count 1 '^  cycle:'
out_has '^  cycle: .*task 2 "ping"'
out_has '^  cycle: .*task 3 "pong"'
out_lacks '^  cycle: .*"main"'

# ping holds "a" and wants "b"; pong holds "b" and wants "a".
run "$tl" deadlocks "$T/cl.db"
status_is 1
out_has ': the run deadlocked$'
out_has '^  task 2 "ping" waits lock\(lock 2 "b"\).* task 3'
out_has '^  task 3 "pong" waits lock\(lock 1 "a"\).* task 2'
out_count 1 '^  cycle:'
out_has '^  cycle: .*task 2 "ping"'
out_has '^  cycle: .*task 3 "pong"'
out_lacks '^  cycle: .*"main"'

# A ring of tasks, each joining the next: a cycle deeper than a thread's
# stack would take walked recursively (100k tasks crashed the recursive
# walk), named in one line that says how long it is.
ring=100000
[ -z "$cflags" ] || ring=20000  # ASan: smaller, its stacks are bigger
run "$tl" record -o "$T/ring.db" -- "$T/cycle" ring "$ring"
status_is 1
run "$tl" deadlocks "$T/ring.db"
status_is 1
out_count 1 '^  cycle:'
out_has "^  cycle: task .* more \($ring tasks in the cycle\)\$"
out_has '^  task 1 "main" waits join\(task 2\)'

# ---- bad input and usage -----------------------------------------------

echo "just some text, not a trace" >"$T/text.db"
: >"$T/empty.db"
for bad in text.db empty.db missing.db; do
    run "$tl" deadlocks "$T/$bad"
    status_is 2
    one_line_error
    run "$tl" deadlocks --at 5 "$T/$bad"
    status_is 2
    one_line_error
done

# A trace still being written: its journal's writer is alive.
TAPELOOP_RECORD="$T/live.db" "$B/echo" --serve >/dev/null 2>&1 &
live=$!
echo "$live" >"$T/live.pid"
i=0
while [ ! -e "$T/live.db.tlj" ] && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
run "$tl" deadlocks "$T/live.db"
status_is 2
one_line_error
checks=$((checks + 1))
grep -q 'still being written' "$T/err" ||
    fail "'still being written'" "$(cat "$T/err")"
kill "$live" 2>/dev/null
wait "$live" 2>/dev/null
live=
rm -f "$T/live.pid"

for bad in "" "--at" "--at 5" "--at -1 $T/dead.db" "--at x $T/dead.db" \
           "--at 5x $T/dead.db" "--bogus $T/dead.db" "$T/dead.db $T/fixed.db"; do
    # shellcheck disable=SC2086  # split the arguments on purpose
    run "$tl" deadlocks $bad
    status_is 2
    checks=$((checks + 1))
    grep -q '^usage: tapeloop deadlocks ' "$T/err" || fail "a usage line" "none"
    checks=$((checks + 1))
    [ ! -s "$T/out" ] || fail "nothing on stdout" "$(head -1 "$T/out")"
done

run "$tl" deadlocks --help
status_is 0
out_has '^usage: tapeloop deadlocks trace\.db \[--at SEQ\]$'

# ---- verdict -----------------------------------------------------------

if [ $failed -ne 0 ]; then
    echo "deadlocks.sh: $failed of $checks checks failed ($B)"
    exit 1
fi
echo "deadlocks.sh: all $checks checks passed ($B)"
exit 0
