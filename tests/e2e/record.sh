# SPDX-License-Identifier: MIT
# record.sh -- end-to-end checks of recording: every example recorded with
# `tapeloop record` and with TAPELOOP_RECORD, exit statuses that are the
# program's own, what the traces hold (read with sqlite3, or python3's
# sqlite3 module), refusals (existing trace, unwritable directory), crashes
# (abort, a segfault in a task, SIGKILL) after which the trace holds every
# event recorded before, the recovery of a journal whose writer died, and a
# full disk.  The crashes use tests/e2e/recorded.c, built here against
# BUILDDIR/libtapeloop.a, whose event counts are exact.
# Usage: sh tests/e2e/record.sh BUILDDIR.  Exits 1 if any check failed.

B=${1:?usage: sh tests/e2e/record.sh BUILDDIR}
LIMIT=${TL_E2E_TIMEOUT:-60}     # seconds per run
HERE=$(cd "$(dirname "$0")/../.." && pwd)
failed=0
checks=0

for p in tapeloop pipeline echo flaky libtapeloop.a; do
    if [ ! -e "$B/$p" ]; then
        echo "record.sh: $B/$p not found" >&2
        exit 1
    fi
done
if ! command -v timeout >/dev/null 2>&1; then
    echo "record.sh: needs timeout(1) (coreutils)" >&2
    exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/tapeloop-record.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
B=$(cd "$B" && pwd)             # traces record absolute program paths

# ---- helpers -------------------------------------------------------------

# sql DB QUERY: prints the rows, columns joined by '|', read-only.
if command -v sqlite3 >/dev/null 2>&1; then
    sql() {
        timeout "$LIMIT" sqlite3 -readonly "$1" "$2"
    }
elif command -v python3 >/dev/null 2>&1; then
    sql() {
        timeout "$LIMIT" python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
' "$1" "$2"
    }
else
    echo "record.sh: needs sqlite3 or python3 to read traces" >&2
    exit 1
fi

# run CMD...: runs CMD with stdout in $T/out, stderr in $T/err, its exit
# status in $status and its command line in $what.
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
    sed 's/^/    | /' "$T/out" | head -20
    echo "  stderr:"
    sed 's/^/    | /' "$T/err" | head -20
}

# status_is N: the last run exited N (124: timeout killed it).
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

# err_lines N: stderr has exactly N lines.
err_lines() {
    checks=$((checks + 1))
    n=$(wc -l <"$T/err" | tr -d ' ')
    [ "$n" = "$1" ] || fail "$1 line(s) on stderr" "$n"
}

# out_empty: the program printed nothing (it did not run).
out_empty() {
    checks=$((checks + 1))
    [ ! -s "$T/out" ] || fail "no output (the program must not run)" \
        "$(head -3 "$T/out")"
}

# is_file PATH / no_file PATH
is_file() {
    checks=$((checks + 1))
    [ -f "$1" ] || fail "$1 exists" "it does not"
}

no_file() {
    checks=$((checks + 1))
    [ ! -e "$1" ] || fail "no $1" "it exists"
}

# expect_sql DB QUERY EXPECTED: the query prints exactly EXPECTED.
expect_sql() {
    checks=$((checks + 1))
    got=$(sql "$1" "$2" 2>&1)
    if [ "$got" != "$3" ]; then
        fail "$(basename "$1"): $2 -> '$3'" "'$got'"
    fi
}

# meta DB KEY: the value of a meta key ('' if none).
meta() {
    sql "$1" "SELECT value FROM meta WHERE key='$2'"
}

# n_kind DB KIND: how many events of that kind.
n_kind() {
    sql "$1" "SELECT count(*) FROM events JOIN kinds USING(kind) WHERE name='$2'"
}

# ended DB HOW [STATUS [SIGNAL]]: meta ended (and exit_status, signal as
# written by `tapeloop record`; '' for none: TAPELOOP_RECORD writes none).
ended() {
    expect_sql "$1" "SELECT value FROM meta WHERE key='ended'" "$2"
    expect_sql "$1" "SELECT value FROM meta WHERE key='exit_status'" "${3:-}"
    expect_sql "$1" "SELECT value FROM meta WHERE key='signal'" "${4:-}"
    expect_sql "$1" "SELECT (SELECT count(*) FROM events) = (SELECT value FROM meta WHERE key='events')" 1
    no_file "$1.tlj"
}

# ---- what each example's trace holds --------------------------------------

# TL_EDEADLOCK is -EDEADLK: -35 on Linux.
EDEADLOCK=-35

check_pipeline_deadlock() {
    db=$1
    expect_sql "$db" "SELECT group_concat(name, ',') FROM (SELECT name FROM tasks ORDER BY id)" \
        "main,source,parse,transform,sink"
    expect_sql "$db" "SELECT count(*) FROM events JOIN kinds USING(kind) WHERE name='deadlock'" 1
    expect_sql "$db" "SELECT e.a FROM events e JOIN kinds k USING(kind) WHERE k.name='deadlock'" 2
    # deadlock_waits names the sink, waiting to get from "out".
    expect_sql "$db" "SELECT t.name || ' ' || w.wait || ' ' || coalesce(q.name, o.name)
                      FROM deadlock_waits w JOIN tasks t ON t.id = w.task
                      LEFT JOIN queues q ON w.okind = 2 AND q.id = w.object
                      LEFT JOIN tasks o ON w.okind = 1 AND o.id = w.object
                      ORDER BY w.task" "main join sink
sink get out"
    expect_sql "$db" "SELECT rc FROM runs" "$EDEADLOCK"
    expect_sql "$db" "SELECT coalesce(end_state, '-') FROM tasks WHERE name='sink'" "-"
    expect_sql "$db" "SELECT group_concat(name || ':' || maxsize, ' ') FROM (SELECT * FROM queues ORDER BY id)" \
        "raw:2 parsed:2 out:2"
    expect_sql "$db" "SELECT count(*) FROM queues WHERE close_seq IS NULL" 1
}

check_pipeline_fixed() {
    db=$1
    expect_sql "$db" "SELECT count(*) FROM tasks WHERE end_state = 'done'" 5
    expect_sql "$db" "SELECT count(*) FROM queues WHERE close_seq IS NOT NULL" 3
    expect_sql "$db" "SELECT count(*) FROM events JOIN kinds USING(kind) WHERE name='deadlock'" 0
    # Ten items through three queues: 30 puts, 30 gets.
    expect_sql "$db" "SELECT count(*) FROM events JOIN kinds USING(kind) WHERE name='queue_put'" 30
    expect_sql "$db" "SELECT count(*) FROM events JOIN kinds USING(kind) WHERE name='queue_get'" 30
    expect_sql "$db" "SELECT rc FROM runs" 0
}

check_echo() {
    db=$1
    expect_sql "$db" "SELECT role || ':' || count(*) FROM sockets GROUP BY role ORDER BY role" \
        "accepted:8
client:8
listener:1"
    # Every byte sent arrives: both ends are in the trace; payloads whole.
    expect_sql "$db" "SELECT (SELECT sum(a) FROM events JOIN kinds USING(kind) WHERE name='socket_send' AND a > 0)
                           = (SELECT sum(a) FROM events JOIN kinds USING(kind) WHERE name='socket_recv' AND a > 0)" 1
    expect_sql "$db" "SELECT sum(e.a) = sum(length(p.data)) FROM events e JOIN kinds k USING(kind)
                      JOIN payloads p USING(seq) WHERE k.name='socket_recv'" 1
    expect_sql "$db" "SELECT end_state FROM tasks WHERE name='server'" cancelled
    expect_sql "$db" "SELECT count(*) FROM tasks WHERE name LIKE 'client-%' AND end_state = 'done'" 8
    expect_sql "$db" "SELECT rc FROM runs" 0
}

# check_flaky DB DELAY_MS TIMEOUT_MS WINNER LOSER
check_flaky() {
    db=$1
    expect_sql "$db" "SELECT group_concat(s, ' ') FROM (SELECT t.name || ':' || e.a AS s
                      FROM events e JOIN kinds k USING(kind) JOIN tasks t ON t.id = e.task
                      WHERE k.name = 'sleep' ORDER BY e.seq)" \
        "server:$(($2 * 1000000)) timer:$(($3 * 1000000))"
    expect_sql "$db" "SELECT end_state FROM tasks WHERE name='$4'" done
    expect_sql "$db" "SELECT end_state FROM tasks WHERE name='$5'" cancelled
    expect_sql "$db" "SELECT count(*) >= 2 FROM events JOIN kinds USING(kind) WHERE name='clock'" 1
    expect_sql "$db" "SELECT count(*) FROM events JOIN kinds USING(kind) WHERE name='random'" 0
}

# ---- every example, with `tapeloop record` ------------------------------

run "$B/tapeloop" record -o "$T/p.db" -- "$B/pipeline"
status_is 1
out_has '^deadlock: 2 tasks blocked$'
out_has '^task [0-9]+ "sink" waits get\(queue [0-9]+ "out"\)$'
ended "$T/p.db" normally 1
check_pipeline_deadlock "$T/p.db"

run "$B/tapeloop" record -o "$T/pf.db" -- "$B/pipeline" --fixed
status_is 0
out_has '^sink got 10 items \(sum of squares 385\)$'
ended "$T/pf.db" normally 0
check_pipeline_fixed "$T/pf.db"

run "$B/tapeloop" record -o "$T/e.db" -- "$B/echo"
status_is 0
out_has 'mismatches 0: every echo matched$'
ended "$T/e.db" normally 0
check_echo "$T/e.db"

run "$B/tapeloop" record -o "$T/f.db" -- "$B/flaky" --delay-ms 1 --timeout-ms 200
status_is 0
out_has '^PASS: reply in [0-9]+ ms'
ended "$T/f.db" normally 0
check_flaky "$T/f.db" 1 200 server timer

run "$B/tapeloop" record -o "$T/ff.db" -- "$B/flaky" --delay-ms 200 --timeout-ms 5
status_is 1
out_has '^FAIL: timed out after [0-9]+ ms'
ended "$T/ff.db" normally 1
check_flaky "$T/ff.db" 200 5 timer server

# ---- the same with TAPELOOP_RECORD ---------------------------------------

run env TAPELOOP_RECORD="$T/ep.db" "$B/pipeline"
status_is 1
out_has '^deadlock: 2 tasks blocked$'
ended "$T/ep.db" normally
check_pipeline_deadlock "$T/ep.db"

run env TAPELOOP_RECORD="$T/epf.db" "$B/pipeline" --fixed
status_is 0
ended "$T/epf.db" normally
check_pipeline_fixed "$T/epf.db"

run env TAPELOOP_RECORD="$T/ee.db" "$B/echo"
status_is 0
ended "$T/ee.db" normally
check_echo "$T/ee.db"

run env TAPELOOP_RECORD="$T/ef.db" "$B/flaky" --delay-ms 1 --timeout-ms 200
status_is 0
ended "$T/ef.db" normally
check_flaky "$T/ef.db" 1 200 server timer

run env TAPELOOP_RECORD="$T/eff.db" "$B/flaky" --delay-ms 200 --timeout-ms 5
status_is 1
ended "$T/eff.db" normally
check_flaky "$T/eff.db" 200 5 timer server

# ---- refusals ---------------------------------------------------------------

before=$(cksum <"$T/p.db")
run "$B/tapeloop" record -o "$T/p.db" -- "$B/pipeline" --fixed
status_is 2
err_lines 1
err_has 'p\.db: already exists'
out_empty
checks=$((checks + 1))
[ "$(cksum <"$T/p.db")" = "$before" ] || fail "$T/p.db untouched" "it changed"
no_file "$T/p.db.tlj"

run "$B/tapeloop" record -f -o "$T/p.db" -- "$B/pipeline" --fixed
status_is 0
ended "$T/p.db" normally 0
check_pipeline_fixed "$T/p.db"

before=$(cksum <"$T/p.db")
run env TAPELOOP_RECORD="$T/p.db" "$B/pipeline"
checks=$((checks + 1))
[ "$status" != 0 ] || fail "a non-zero exit (no loop without its recording)" "exit 0"
err_has 'p\.db: already exists'
checks=$((checks + 1))
[ "$(cksum <"$T/p.db")" = "$before" ] || fail "$T/p.db untouched" "it changed"
no_file "$T/p.db.tlj"

run "$B/tapeloop" record -o "$T/no/such/dir/t.db" -- "$B/pipeline"
status_is 2
err_lines 1
err_has 'cannot write'
out_empty
no_file "$T/no"

if [ "$(id -u)" != 0 ]; then    # root writes in any directory
    mkdir "$T/ro" && chmod 555 "$T/ro"
    run "$B/tapeloop" record -o "$T/ro/t.db" -- "$B/pipeline"
    status_is 2
    err_lines 1
    err_has 'cannot write'
    no_file "$T/ro/t.db"
    chmod 755 "$T/ro"
fi

# ---- crashes, with a program whose event counts are exact ----------------

SAN=
if grep -q 'TL_SANITIZE:BOOL=ON' "$B/CMakeCache.txt" 2>/dev/null; then
    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
fi
P="$T/recorded"
what="cc tests/e2e/recorded.c"
# shellcheck disable=SC2086  # word splitting of flags on purpose
timeout "$LIMIT" cc -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror $SAN \
    -I"$HERE/include" -I"$HERE/instrument" "$HERE/tests/e2e/recorded.c" \
    "$B/libtapeloop.a" $(pkg-config --libs libevent_core sqlite3) -lm \
    -o "$P" >"$T/out" 2>"$T/err"
status=$?
status_is 0
[ -x "$P" ] || { echo "record.sh: cannot build recorded.c; $failed of $checks checks failed"; exit 1; }

# events_printed: the count the program printed last ("events N").
events_printed() {
    sed -n 's/^events \([0-9][0-9]*\)$/\1/p' "$T/out" | tail -1
}

# same_prefix DB REF N [loose]: DB holds N events, REF's first N, field by
# field but time (loose: kind, task, object only -- ports differ).
same_prefix() {
    same="e.kind = r.kind AND e.task = r.task AND e.okind = r.okind
          AND e.object = r.object AND e.run = r.run"
    [ "${4:-}" = loose ] || same="$same AND e.a = r.a AND e.b = r.b AND e.flags = r.flags"
    expect_sql "$1" "ATTACH '$2' AS ref;
        SELECT count(*) FROM events e JOIN ref.events r USING(seq) WHERE $same" "$3"
    expect_sql "$1" "SELECT count(*) FROM events" "$3"
}

run "$B/tapeloop" record -o "$T/ref.db" -- "$P" none 20 0
status_is 0
out_has '^sum 210$'
ref=$(events_printed)
ended "$T/ref.db" normally 0
expect_sql "$T/ref.db" "SELECT count(*) FROM events" "$ref"

# crash MODE SIGNAL: under `tapeloop record`, then without a parent.
crash() {
    mode=$1 sig=$2
    code=$((128 + sig))
    # Under ASan a segfault must stay a segfault, not an ASan abort.
    asan=${ASAN_OPTIONS:-}
    [ "$mode" = segv ] && asan="${asan:+$asan:}handle_segv=0"

    run env ASAN_OPTIONS="$asan" "$B/tapeloop" record -o "$T/$mode.db" -- "$P" "$mode" 20 7
    status_is "$code"
    n=$(events_printed)
    checks=$((checks + 1))
    if [ -z "$n" ] || [ "$n" -ge "$ref" ]; then
        fail "a count below the clean run's $ref" "'$n'"
        n=0
    fi
    is_file "$T/$mode.db"
    ended "$T/$mode.db" abnormally "$code" "$sig"
    same_prefix "$T/$mode.db" "$T/ref.db" "$n"
    expect_sql "$T/$mode.db" "SELECT count(*) FROM runs WHERE rc IS NULL AND end_seq IS NULL" 1
    expect_sql "$T/$mode.db" "SELECT coalesce(end_state, '-') FROM tasks WHERE name='consumer'" -
    [ "$mode" = segv ] && err_has '^tapeloop: fatal signal 11 in task [0-9]+ "consumer"$'

    # No parent: the journal stays, and the next opener converts it.
    run env ASAN_OPTIONS="$asan" TAPELOOP_RECORD="$T/x-$mode.db" "$P" "$mode" 20 7
    status_is "$code"
    checks=$((checks + 1))
    [ "$(events_printed)" = "$n" ] || fail "events $n again" "events $(events_printed)"
    no_file "$T/x-$mode.db"
    is_file "$T/x-$mode.db.tlj"
    if [ "$mode" = kill ]; then        # the tool a user would run next
        run "$B/tapeloop" stats "$T/x-$mode.db"
        status_is 0
        out_has "[^0-9]$n events"
    else                                # tl_trace_open itself
        run "$P" open "$T/x-$mode.db"
        status_is 0
        out_has "^events $n ended abnormally\$"
    fi
    ended "$T/x-$mode.db" abnormally
    same_prefix "$T/x-$mode.db" "$T/ref.db" "$n"
}

crash abort 6
crash segv 11
crash kill 9

# exit(3) inside a task: atexit still closes the journal.
run "$B/tapeloop" record -o "$T/exit.db" -- "$P" exit 20 7
status_is 3
n=$(events_printed)
ended "$T/exit.db" normally 3
same_prefix "$T/exit.db" "$T/ref.db" "$n"

# ---- SIGKILL of a real example, the recorded child only ------------------

# serve DB PIDFILE [env...]: starts echo --serve in the background (its pid
# in PIDFILE, written by the shell that execs it), waits until it serves,
# kills it with SIGKILL; the command's status in $status.
serve() {
    db=$1 pidfile=$2
    shift 2
    rm -f "$pidfile"
    what="echo --serve, killed: $*"
    ( timeout "$LIMIT" "$@" sh -c 'echo $$ >"$0"; exec "$1" --serve' \
          "$pidfile" "$B/echo" >"$T/out" 2>"$T/err"
      echo $? >"$T/serve.status" ) &
    bg=$!
    i=0
    while ! grep -q '^echo: serving on' "$T/out" 2>/dev/null && [ $i -lt 200 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    out_has '^echo: serving on 127\.0\.0\.1 port [1-9][0-9]*$'
    port=$(sed -n 's/^echo: serving on 127\.0\.0\.1 port //p' "$T/out")
    [ -s "$pidfile" ] && kill -9 "$(cat "$pidfile")"
    wait "$bg"
    status=$(cat "$T/serve.status")
}

serve "$T/s.db" "$T/s.pid" "$B/tapeloop" record -o "$T/s.db" --
status_is 137
ended "$T/s.db" abnormally 137 9
expect_sql "$T/s.db" "SELECT a FROM events JOIN kinds USING(kind) WHERE name='socket_listen'" "${port:-?}"
# Killed while idle: the server waits to accept, main to join it.
expect_sql "$T/s.db" "SELECT group_concat(s, ', ') FROM (SELECT t.name || ' ' || w.name AS s FROM
    (SELECT task, max(seq) AS seq FROM events JOIN kinds USING(kind) WHERE name = 'block' GROUP BY task) b
    JOIN events e ON e.seq = b.seq JOIN waits w ON w.kind = e.a JOIN tasks t ON t.id = e.task
    ORDER BY t.id)" "main join, server accept"
expect_sql "$T/s.db" "SELECT count(*) FROM runs WHERE rc IS NULL" 1

serve "$T/xs.db" "$T/xs.pid" env TAPELOOP_RECORD="$T/xs.db"
status_is 137
is_file "$T/xs.db.tlj"
run "$P" open "$T/xs.db"
status_is 0
out_has '^events [0-9]+ ended abnormally$'
ended "$T/xs.db" abnormally
# Both runs recorded the same events up to the kill.
same_prefix "$T/xs.db" "$T/s.db" "$(sql "$T/s.db" "SELECT count(*) FROM events")" loose

# ---- a full disk --------------------------------------------------------------

# 20000 blocks: the first journal chunk fits, the next does not.  Only the
# recorded program has the limit; `tapeloop record` converts unhindered.
run "$B/tapeloop" record -o "$T/full.db" -- sh -c 'ulimit -f 20000 && exec "$0" spam 300000' "$P"
status_is 0
out_has '^sum 45000150000$'
err_lines 1
err_has '^tapeloop: recording stopped: .*full\.db\.tlj: File too large'
total=$(events_printed)
ended "$T/full.db" abnormally 0
expect_sql "$T/full.db" "SELECT value FROM meta WHERE key='recording_stopped'" "File too large"
expect_sql "$T/full.db" "SELECT count(*) > 100000 AND count(*) < ${total:-0} FROM events" 1
expect_sql "$T/full.db" "SELECT count(*) FROM runs WHERE rc IS NULL" 1

# The same without a parent: the program converts its own journal at
# exit, under the same limit, which the trace may not fit in; then the
# journal stays, and says why in one line naming the file, and the next
# opener converts it.
run sh -c 'ulimit -f 20000 && TAPELOOP_RECORD="$1" exec "$0" spam 300000' "$P" "$T/xfull.db"
status_is 0
out_has '^sum 45000150000$'
checks=$((checks + 1))
first=$(head -1 "$T/err")
case $first in
*"recording stopped: $T/xfull.db.tlj: File too large"*) ;;
*) fail "first line: recording stopped: $T/xfull.db.tlj: File too large" "$first" ;;
esac
checks=$((checks + 1))
others=$(sed 1d "$T/err" | grep -v "xfull\.db" )
[ -z "$others" ] || fail "every other line of stderr names the trace or journal" "$others"
if [ ! -f "$T/xfull.db" ]; then
    is_file "$T/xfull.db.tlj"
    run "$P" open "$T/xfull.db"
    status_is 0
    out_has '^events [0-9]+ ended abnormally$'
fi
ended "$T/xfull.db" abnormally
expect_sql "$T/xfull.db" "SELECT value FROM meta WHERE key='recording_stopped'" "File too large"
expect_sql "$T/xfull.db" "SELECT count(*) > 100000 FROM events" 1

# ---- verdict -----------------------------------------------------------------

if [ $failed -ne 0 ]; then
    echo "record.sh: $failed of $checks checks failed ($B)"
    exit 1
fi
echo "record.sh: all $checks checks passed ($B)"
exit 0
