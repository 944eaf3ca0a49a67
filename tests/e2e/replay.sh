#!/bin/sh
# SPDX-License-Identifier: MIT
# replay.sh -- deterministic replay, end to end, on the real examples:
# a flaky failure recorded once fails identically on every replay; the echo
# server replays with no network at all; a replay's own trace equals the
# original; an edited program diverges (status 3); bad traces are refused
# (status 2); --stop-at traps; the virtual clock runs an hour in no time.
set -u
b=$(cd "${1:-build}" && pwd)
tl="$b/tapeloop"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail=0
T="timeout 120"

check() {   # check WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
    else
        echo "FAIL: $1: expected [$2], got [$3]"
        fail=1
    fi
}

q() {       # q DB SQL: one value
    python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$1" "$2"
}

same_events() {     # same_events A B: every event equal but for time
    python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
cols = "seq, loop, run, kind, task, okind, object, a, b, flags"
a = sqlite3.connect(sys.argv[1]).execute(f"select {cols} from events order by seq").fetchall()
b = sqlite3.connect(sys.argv[2]).execute(f"select {cols} from events order by seq").fetchall()
pa = sqlite3.connect(sys.argv[1]).execute("select seq, data from payloads order by seq").fetchall()
pb = sqlite3.connect(sys.argv[2]).execute("select seq, data from payloads order by seq").fetchall()
print("same" if a == b and pa == pb and a else f"differ ({len(a)} vs {len(b)} events)")
EOF
}

# 1. The flaky test: record until a run fails, then replay it 100 times.
n=0
while :; do
    n=$((n + 1))
    rm -f "$d/flaky.db"
    start=$(date +%s%N)
    $T "$tl" record -o "$d/flaky.db" -- "$b/flaky" >"$d/rec.out" 2>&1
    rc=$?
    rec_ns=$(( $(date +%s%N) - start ))
    [ "$rc" -ne 0 ] && break
    [ "$n" -ge 200 ] && { echo "FAIL: flaky never failed in 200 runs"; exit 1; }
done
check "flaky recording failed (after $n runs)" 1 "$rc"
want=$(grep -o 'FAIL.*' "$d/rec.out")
last=$(q "$d/flaky.db" "select max(seq) from events")
slow=0
i=0
while [ $i -lt 100 ]; do
    i=$((i + 1))
    start=$(date +%s%N)
    $T "$tl" replay "$d/flaky.db" >"$d/rep.out" 2>&1
    rc=$?
    ns=$(( $(date +%s%N) - start ))
    got=$(grep -o 'FAIL.*' "$d/rep.out")
    if [ "$rc" -ne 1 ] || [ "$got" != "$want" ] ||
       ! grep -q 'complete, every event matched' "$d/rep.out"; then
        echo "FAIL: replay $i: status $rc, output:"; cat "$d/rep.out"
        fail=1
        break
    fi
    [ "$ns" -gt "$rec_ns" ] && slow=$((slow + 1))
done
check "100 replays fail the same way, every event matched" 100 "$i"
echo "   recording took $((rec_ns / 1000000)) ms; replays slower than it: $slow"
check "replays faster than the recording (at most 5 slower of 100)" yes \
    "$( [ "$slow" -le 5 ] && echo yes || echo no )"
rm -f "$d/again.db"
$T "$tl" replay -o "$d/again.db" "$d/flaky.db" >/dev/null 2>&1
check "the replay's trace equals the flaky recording" same \
    "$(same_events "$d/flaky.db" "$d/again.db")"
check "the replay's trace ends at the same seq" "$last" \
    "$(q "$d/again.db" "select max(seq) from events")"

# 2. Every example: replay, and its own trace equals the original.
for ex in "pipeline" "pipeline --fixed" "echo --clients 4 --messages 20" \
          "flaky --delay-ms 2"; do
    name=$(echo "$ex" | tr ' ' '_')
    # shellcheck disable=SC2086
    $T "$tl" record -o "$d/$name.db" -- "$b/"$ex >/dev/null 2>&1
    want=$?
    $T "$tl" replay -o "$d/$name.again.db" "$d/$name.db" >/dev/null 2>&1
    check "replay of $ex exits as recorded" "$want" "$?"
    check "replay of $ex records the same events" same \
        "$(same_events "$d/$name.db" "$d/$name.again.db")"
done

# 3. The echo server replayed with no network: socket(2) itself made to
# fail (a preloaded shim), and where the machine allows it, inside a
# network namespace without even loopback.
cat >"$d/nosock.c" <<'EOF2'
#include <errno.h>
int socket(int domain, int type, int protocol)
{
    (void)domain, (void)type, (void)protocol;
    errno = EACCES;
    return -1;
}
EOF2
echo_db="$d/echo_--clients_4_--messages_20.db"
if cc -shared -fPIC -o "$d/nosock.so" "$d/nosock.c" 2>"$d/cc.out"; then
    LD_PRELOAD="$d/nosock.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        $T "$tl" replay "$echo_db" >"$d/net.out" 2>&1
    check "echo replays with socket(2) failing (status)" 0 "$?"
    check "echo replays with socket(2) failing (every echo matched)" 1 \
        "$(grep -c 'every echo matched' "$d/net.out")"
    LD_PRELOAD="$d/nosock.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        $T "$b/echo" --clients 1 --messages 1 >/dev/null 2>&1
    check "while a real run with socket(2) failing fails" yes \
        "$( [ $? -ne 0 ] && echo yes || echo no)"
else
    echo "FAIL: cannot build the socket shim"; cat "$d/cc.out"; fail=1
fi
u=""
unshare -n true 2>/dev/null && u="unshare -n"
[ -z "$u" ] && unshare -rn true 2>/dev/null && u="unshare -rn"
if [ -n "$u" ]; then
    $T $u "$tl" replay "$echo_db" >"$d/net.out" 2>&1
    check "echo replays in a namespace with no network (status)" 0 "$?"
    check "echo replays in a namespace with no network (every echo matched)" 1 \
        "$(grep -c 'every echo matched' "$d/net.out")"
else
    echo "note: no network namespace here (unshare -n refused); the socket shim stands for it"
fi

# 4. A different or edited program diverges: status 3, a report, no hang.
$T "$tl" replay "$d/pipeline.db" -- "$b/pipeline" --fixed >"$d/div.out" 2>&1
check "pipeline trace against pipeline --fixed diverges" 3 "$?"
check "the report names the seq" 1 "$(grep -c '^tapeloop replay: DIVERGED at seq' "$d/div.out")"
check "the report shows trace and program" 2 "$(grep -cE '^  (trace|program):' "$d/div.out")"
$T "$tl" replay "$d/echo_--clients_4_--messages_20.db" -- "$b/echo" \
    --clients 4 --messages 21 >"$d/div2.out" 2>&1
check "echo trace against more messages diverges" 3 "$?"
$T "$tl" replay "$d/pipeline.db" -- "$b/flaky" >"$d/div3.out" 2>&1
check "another program entirely diverges" 3 "$?"

# 5. Bad traces: one line, status 2.
printf 'not a trace\n' >"$d/text.db"
: >"$d/empty.db"
head -c 4096 "$d/pipeline.db" >"$d/cut.db"
cp "$d/pipeline.db" "$d/newer.db"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("pragma user_version=99"); c.commit()' "$d/newer.db"
for f in text empty cut newer missing; do
    $T "$tl" replay "$d/$f.db" >"$d/bad.out" 2>&1
    rc=$?
    check "replay of a $f trace: status 2" 2 "$rc"
    check "replay of a $f trace: one line naming the file" 1 \
        "$(grep -c "$d/$f.db" "$d/bad.out")"
done
TAPELOOP_REPLAY="$d/text.db" $T "$b/pipeline" >"$d/env.out" 2>&1
check "TAPELOOP_REPLAY of a bad file: the loop refuses to start" 1 \
    "$(grep -c "tapeloop: $d/text.db" "$d/env.out")"

# 6. --stop-at raises SIGTRAP just before that step.
$T "$tl" replay --stop-at 20 "$d/pipeline.db" >"$d/stop.out" 2>&1
check "--stop-at 20 ends with SIGTRAP" 133 "$?"
check "--stop-at 20 says where" 1 "$(grep -c 'stopping before seq 20' "$d/stop.out")"

# 7. The virtual clock: an hour of sleeping in no time, and it replays.
cat >"$d/hour.c" <<'EOF'
#include <stdio.h>
#include "tapeloop.h"
static void *nap(void *a) { return (void *)(long)tl_sleep((double)(long)a); }
static void *root(void *a) {
    tl_task *t[3];
    double t0 = tl_now();
    (void)a;
    for (long i = 0; i < 3; i++) tl_spawn(&t[i], nap, (void *)(1200 * (i + 1)), "nap");
    for (int i = 0; i < 3; i++) tl_join(t[i], NULL);
    printf("slept %.0f s\n", tl_now() - t0);
    return NULL;
}
int main(void) { tl_loop *l; int rc = tl_loop_new(&l, NULL); if (rc) return 2;
    rc = tl_loop_run(l, root, NULL, NULL); tl_loop_free(l); return rc != 0; }
EOF
san=""
grep -q 'TL_SANITIZE:BOOL=ON' "$b/CMakeCache.txt" && san="-fsanitize=address,undefined"
# shellcheck disable=SC2046,SC2086
if cc $san -I"$(dirname "$0")/../../include" "$d/hour.c" \
      "$b/libtapeloop.a" $(pkg-config --libs libevent_core sqlite3) -lm \
      -o "$d/hour" 2>"$d/cc.out"; then
    start=$(date +%s)
    out=$(TAPELOOP_CLOCK=virtual $T "$tl" record -o "$d/hour.db" -- "$d/hour")
    took=$(( $(date +%s) - start ))
    check "virtual clock: an hour of sleeps" "slept 3600 s" "$out"
    check "virtual clock: in under 5 s" yes "$( [ "$took" -lt 5 ] && echo yes || echo no)"
    check "virtual clock: the trace says so" virtual \
        "$(q "$d/hour.db" "select value from meta where key='env.1'")"
    out=$($T "$tl" replay "$d/hour.db" 2>/dev/null)
    check "virtual recording replays" "slept 3600 s" "$out"
else
    echo "FAIL: cannot build the hour test"; cat "$d/cc.out"; fail=1
fi

# 8. Several loops and runs in one process: one trace, told apart by loop
# and run ids, and replayed loop by loop.
cat >"$d/loops.c" <<'EOF2'
#include <stdio.h>
#include "tapeloop.h"
static void *work(void *a) { tl_sleep(0.001); return (void *)(long)(tl_random() % 7 + (long)a); }
static void *root(void *a) { tl_task *t; void *r; tl_spawn(&t, work, a, "w"); tl_join(t, &r); return r; }
int main(void) {
    tl_loop *a, *b; void *r1, *r2, *r3;
    if (tl_loop_new(&a, NULL) || tl_loop_new(&b, NULL)) return 2;
    tl_loop_run(a, root, (void *)1, &r1);
    tl_loop_run(b, root, (void *)2, &r2);
    tl_loop_run(b, root, (void *)3, &r3);
    printf("%ld %ld %ld\n", (long)r1, (long)r2, (long)r3);
    tl_loop_free(a); tl_loop_free(b); return 0;
}
EOF2
# shellcheck disable=SC2046,SC2086
if cc $san -I"$(dirname "$0")/../../include" "$d/loops.c" "$b/libtapeloop.a" \
      $(pkg-config --libs libevent_core sqlite3) -lm -o "$d/loops" 2>"$d/cc.out"; then
    want=$($T "$tl" record -o "$d/loops.db" -- "$d/loops")
    check "two loops, three runs: runs table" "1:1 2:2 3:2" \
        "$(python3 -c 'import sqlite3,sys; print(" ".join(f"{r}:{l}" for r, l in sqlite3.connect(sys.argv[1]).execute("select run, loop from runs order by run")))' "$d/loops.db")"
    check "two loops: each loop's tasks apart" 2 \
        "$(q "$d/loops.db" "select count(distinct loop) from tasks")"
    got=$($T "$tl" replay "$d/loops.db" 2>"$d/loops.err")
    check "two loops replay to the same results" "$want" "$got"
    check "two loops replay, both checked" 1 \
        "$(grep -c 'every event matched (2 loops)' "$d/loops.err")"
else
    echo "FAIL: cannot build the loops test"; cat "$d/cc.out"; fail=1
fi
exit $fail
