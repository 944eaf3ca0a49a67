# SPDX-License-Identifier: MIT
# run.sh -- runs bench_loop and asyncio_peer.py REPEAT times each, one process
# per workload and run, alternating, then prints per-workload medians vs targets.
#
# Usage: sh bench/run.sh [builddir]        (`make bench` runs it on build/)
# Environment: REPEAT (5) runs per side; CPU (the last one) the core both
# sides are pinned to with taskset, "none" to not pin; PYTHON (python3).
# Exits non-zero if a run fails; a missed target is reported, not an error.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bin=$build/bench/bench_loop
peer=$here/asyncio_peer.py
REPEAT=${REPEAT:-5}
PYTHON=${PYTHON:-python3}

die() {
    echo "run.sh: $*" >&2
    exit 1
}

[ -x "$bin" ] || die "no $bin: build first (make build)"
case $REPEAT in
'' | *[!0-9]*) die "REPEAT must be a positive number" ;;
esac
[ "$REPEAT" -gt 0 ] || die "REPEAT must be a positive number"
command -v "$PYTHON" >/dev/null 2>&1 || die "no $PYTHON"

ncpu=$(nproc 2>/dev/null || echo 1)
CPU=${CPU:-$((ncpu - 1))}
pin=
if [ "$CPU" != none ] && command -v taskset >/dev/null 2>&1; then
    pin="taskset -c $CPU"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# side name cmd...: runs one benchmark process, appends its lines tagged
# with the side, fails loudly if it fails or prints nothing.
one() {
    side=$1
    name=$2
    shift 2
    if ! $pin "$@" "$name" 1 >"$tmp/out" 2>"$tmp/err"; then
        cat "$tmp/err" >&2
        die "$side $name failed"
    fi
    [ -s "$tmp/out" ] || die "$side $name printed nothing"
    sed "s/^/$side /" "$tmp/out" >>"$tmp/all"
}

tl_names=$("$bin" list) || die "$bin list failed"
py_names=$("$PYTHON" "$peer" list) || die "$PYTHON $peer list failed"
tl_set=" $(printf '%s\n' "$tl_names" | tr '\n' ' ')"   # " a b ... "
py_set=" $(printf '%s\n' "$py_names" | tr '\n' ' ')"
: >"$tmp/all"
i=1
while [ "$i" -le "$REPEAT" ]; do
    echo "run $i/$REPEAT" >&2
    for w in $tl_names; do
        one tl "$w" "$bin"
        case $py_set in
        *" $w "*) one py "$w" "$PYTHON" "$peer" ;;
        esac
    done
    for w in $py_names; do      # the peer's reference-only workloads
        case $tl_set in
        *" $w "*) ;;
        *) one py "$w" "$PYTHON" "$peer" ;;
        esac
    done
    i=$((i + 1))
done

echo "tapeloop bench: median of $REPEAT runs per side," \
    "${pin:-not pinned}, $(nproc 2>/dev/null || echo '?') CPUs," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null |
        head -n 1)"
echo

awk -v repeat="$REPEAT" '
function add(k, x) { vals[k, ++cnt[k]] = x + 0 }
function med(k,    m, i, j, a, t) {
    m = cnt[k]
    if (!m)
        return -1
    for (i = 1; i <= m; i++)
        a[i] = vals[k, i]
    for (i = 2; i <= m; i++) {
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--)
            a[j + 1] = a[j]
        a[j + 1] = t
    }
    lo[k] = a[1]
    hi[k] = a[m]
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
# The spread of a side: (max - min) / median, in percent.
function spread(k, m) { return m > 0 ? 100 * (hi[k] - lo[k]) / m : 0 }
{
    k = $1 SUBSEP $2
    add(k SUBSEP "ops", $3)
    add(k SUBSEP "ops_s", $4)
    add(k SUBSEP "ns", $5)
    for (f = 6; f <= NF; f++)
        if (split($f, kv, "=") == 2)
            add(k SUBSEP kv[1], kv[2])
}
function row(name, peer, target, what,    t, p, ratio, res) {
    t = med("tl" SUBSEP name SUBSEP "ops_s")
    p = med("py" SUBSEP peer SUBSEP "ops_s")
    if (t < 0 || p <= 0) {
        printf "%-12s %14s %7s   %14s %7s %9s %8s  %s\n", name, \
            t < 0 ? "-" : sprintf("%.0f", t), "", \
            p < 0 ? "-" : sprintf("%.0f", p), "", "-", ">=" target "x", \
            "MISS (no data)"
        missed++
        return
    }
    ratio = t / p
    res = ratio >= target ? "PASS" : "MISS"
    if (res == "MISS")
        missed++
    printf "%-12s %14.0f %6.1f%%   %14.0f %6.1f%% %8.1fx %8s  %s%s\n", \
        name, t, spread("tl" SUBSEP name SUBSEP "ops_s", t), p, \
        spread("py" SUBSEP peer SUBSEP "ops_s", p), ratio, \
        ">=" target "x", res, what
}
END {
    printf "%-12s %14s %7s   %14s %7s %9s %8s  %s\n", "workload", \
        "tapeloop op/s", "spread", "asyncio op/s", "spread", "ratio", \
        "target", "result"
    row("spawn_join", "spawn_join", 50, "")
    row("sleep0", "sleep0", 50, "")
    row("yield", "sleep0", 50, "  (asyncio: sleep(0))")
    row("queue", "queue", 20, "")
    row("queue1", "queue1", 20, "")
    row("socket", "socket", 2, "")
    print ""
    y = med("tl" SUBSEP "sleep0" SUBSEP "ns")
    res = y >= 0 && y <= 25 ? "PASS" : "MISS"
    if (res == "MISS")
        missed++
    printf "yield step   %.1f ns per tl_sleep(0) among 16 tasks;" \
        " target <= 25 ns: %s\n", y, res
    printf "             %.1f ns per tl_yield among 16 tasks, %.1f ns" \
        " alone (each step a pass of its own)\n", \
        med("tl" SUBSEP "yield" SUBSEP "ns"), \
        med("tl" SUBSEP "yield1" SUBSEP "ns")
    printf "             %.1f ns per tl_yield between 2 tasks yielding from" \
        " different call sites\n", med("tl" SUBSEP "yield_apart" SUBSEP "ns")
    printf "nonblocking  %.1f ns per put + get that do not block, made three" \
        " helper calls deep\n", med("tl" SUBSEP "nonblock" SUBSEP "ns")
    a = "tl" SUBSEP "alive" SUBSEP
    if (cnt[a "ok"] == repeat && med(a "ok") == 1)
        printf "100k alive   ok in %.0f ms: %.2f KiB resident, %.1f KiB" \
            " virtual per task; %d stacks guarded, +%d mappings\n", \
            med(a "ns") * med(a "ops") / 1e6, \
            med(a "rss_per_task") / 1024, med(a "vsz_per_task") / 1024, \
            med(a "guarded"), med(a "maps")
    else {
        print "100k alive   MISS: no clean run"
        missed++
    }
    h = med("py" SUBSEP "queue_handoff" SUBSEP "ops_s")
    t = med("tl" SUBSEP "queue" SUBSEP "ops_s")
    if (h > 0 && t > 0)
        printf "reference    asyncio queue with put + sleep(0) (a hand-off" \
            " like tapeloop'\''s): %.0f op/s, %.1fx\n", h, t / h
    print ""
    print missed ? missed " target(s) missed" : "all targets met"
}' "$tmp/all"
