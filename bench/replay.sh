#!/bin/sh
# SPDX-License-Identifier: MIT
# replay.sh -- replay speed: a recorded trace of about a million events
# replays in less time than the recording run took (target: at least 2x
# faster on the queue and sleep workloads).  Both timed as whole commands
# (tapeloop record: the run and its import; tapeloop replay: loading the
# trace and the checked re-run), median of REPEAT runs.
# Usage: sh bench/replay.sh [builddir]
set -u
b=$(cd "${1:-build}" && pwd)
n=${REPEAT:-5}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
pin=""
command -v taskset >/dev/null && pin="taskset -c 1"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %9s %9s %9s %7s %8s\n' workload events record_ms replay_ms ratio result
fails=0
for w in "queue 150000" "sleep0 460000"; do
    set -- $w
    : >"$d/rec"; : >"$d/rep"
    i=0
    while [ $i -lt "$n" ]; do
        i=$((i + 1))
        rm -f "$d/t.db"
        t=$(date +%s%N)
        $pin "$b/tapeloop" record -o "$d/t.db" -- "$b/bench/bench_loop" "$1" 1 "$2" >/dev/null
        ms "$t" >>"$d/rec"
        t=$(date +%s%N)
        $pin "$b/tapeloop" replay "$d/t.db" >/dev/null 2>"$d/err" ||
            { echo "replay failed:"; cat "$d/err"; exit 1; }
        ms "$t" >>"$d/rep"
    done
    ev=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])' "$d/t.db")
    rec=$(median <"$d/rec")
    rep=$(median <"$d/rep")
    ratio=$(awk -v a="$rec" -v b="$rep" 'BEGIN {printf "%.2f", a / b}')
    ok=$(awk -v r="$ratio" 'BEGIN {print (r >= 2 ? "PASS" : "MISS")}')
    [ "$ok" = PASS ] || fails=$((fails + 1))
    printf '%-8s %9s %9s %9s %6sx %8s\n' "$1" "$ev" "$rec" "$rep" "$ratio" "$ok"
done
echo "median of $n runs; target: replay at least 2x faster than the recording run"
exit 0
