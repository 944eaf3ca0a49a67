# SPDX-License-Identifier: MIT
# record.sh -- what recording costs: runs bench_record's workloads with
# recording off, with a counting hook only, and on; times the journal's
# import into SQLite and the trace's size; runs examples/echo with and
# without TAPELOOP_RECORD.  REPEAT rounds, one process per run, the modes
# taking turns; prints per-workload medians against the targets.
#
# Usage: sh bench/record.sh [builddir]
# Environment: REPEAT (5) rounds; CPU (the last one) the core every run is
# pinned to with taskset, "none" to not pin; INGEST_OPS (130000) queue items
# for the import trace (7 events each, ~1M events with the warm-up);
# ECHO_ARGS ("--clients 64 --messages 200") for build/echo.
# Exits non-zero if a run fails; a missed target is reported, not an error.
set -eu

build=${1:-build}
bin=$build/bench/bench_record
echo_bin=$build/echo
REPEAT=${REPEAT:-5}
INGEST_OPS=${INGEST_OPS:-130000}
ECHO_ARGS=${ECHO_ARGS:---clients 64 --messages 200}

die() {
    echo "record.sh: $*" >&2
    exit 1
}

[ -x "$bin" ] || die "no $bin: build first (make build)"
[ -x "$echo_bin" ] || die "no $echo_bin: build first (make build)"
case $REPEAT in
'' | *[!0-9]*) die "REPEAT must be a positive number" ;;
esac
[ "$REPEAT" -gt 0 ] || die "REPEAT must be a positive number"

ncpu=$(nproc 2>/dev/null || echo 1)
CPU=${CPU:-$((ncpu - 1))}
pin=
if [ "$CPU" != none ] && command -v taskset >/dev/null 2>&1; then
    pin="taskset -c $CPU"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
TMPDIR=$tmp                     # bench_record's own trace dirs go here
export TMPDIR
unset TAPELOOP_RECORD TAPELOOP_RECORD_PARENT    # "off" is off

# tag cmd...: runs one process, appends its lines prefixed with tag, fails
# loudly if it fails or prints nothing.
one() {
    tag=$1
    shift
    if ! $pin "$@" >"$tmp/out" 2>"$tmp/err"; then
        cat "$tmp/err" >&2
        die "$tag: $* failed"
    fi
    [ -s "$tmp/out" ] || die "$tag: $* printed nothing"
    sed "s/^/$tag /" "$tmp/out" >>"$tmp/all"
}

# tag [VAR=value...]: build/echo under bench_record's timer, in that
# environment; its summary must say every echo matched.
echo_run() {
    tag=$1
    shift
    # shellcheck disable=SC2086 # ECHO_ARGS is a word list
    one "$tag" env "$@" "$bin" exec "$echo_bin" $ECHO_ARGS
    grep -q "every echo matched" "$tmp/err" || {
        cat "$tmp/err" >&2
        die "$tag: echo failed"
    }
}

names=$("$bin" list) || die "$bin list failed"
: >"$tmp/all"
i=1
while [ "$i" -le "$REPEAT" ]; do
    echo "run $i/$REPEAT" >&2
    for w in $names; do
        for mode in off count on; do
            one "$mode" "$bin" "$w" "$mode" 1
        done
    done
    # The import of a ~1M-event journal, and the trace it makes.
    one record "$bin" -t "$tmp/ingest.db" queue on 1 "$INGEST_OPS"
    one ingest "$bin" import "$tmp/ingest.db.tlj" "$tmp/ingest.db"
    rm -f "$tmp/ingest.db"
    # examples/echo: without recording; journal only (the import left to
    # a parent, as under `tapeloop record`), then that import; and with the
    # import at exit, as a user of TAPELOOP_RECORD sees it.
    echo_run echo_off
    echo_run echo_journal TAPELOOP_RECORD="$tmp/echo.db" \
        TAPELOOP_RECORD_PARENT=1
    one echo_ingest "$bin" import "$tmp/echo.db.tlj" "$tmp/echo.db"
    rm -f "$tmp/echo.db"
    echo_run echo_full TAPELOOP_RECORD="$tmp/echo.db"
    rm -f "$tmp/echo.db"
    i=$((i + 1))
done

echo "tapeloop recording bench: median of $REPEAT runs per mode," \
    "${pin:-not pinned}, $ncpu CPUs," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null |
        head -n 1)"
echo

# shellcheck disable=SC2016 # awk program
awk -v repeat="$REPEAT" -v echo_args="$ECHO_ARGS" '
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
# The spread of a series: (max - min) / median, in percent.
function spread(k, m) { return m > 0 ? 100 * (hi[k] - lo[k]) / m : 0 }
function verdict(ok) {
    if (!ok)
        missed++
    return ok ? "PASS" : "MISS"
}
{
    k = $1 SUBSEP $2
    if ($2 == "exec") {
        add(k SUBSEP "ns", $3)
        next
    }
    add(k SUBSEP "ops", $3)
    add(k SUBSEP "ops_s", $4)
    add(k SUBSEP "ns", $5)
    for (f = 6; f <= NF; f++)
        if (split($f, kv, "=") == 2)
            add(k SUBSEP kv[1], kv[2])
}
# One workload: op/s off and on, the slowdown; ns per op in each mode;
# events per op (from the trace); the hook alone and the recording, per
# event.  target: the slowdown target, 0 for none.
function row(w, target, hot,    off, on, cnt_, e, ev, hook, rec, slow, s) {
    off = med("off" SUBSEP w SUBSEP "ns")
    cnt_ = med("count" SUBSEP w SUBSEP "ns")
    on = med("on" SUBSEP w SUBSEP "ns")
    ev = med("on" SUBSEP w SUBSEP "events")
    e = med("on" SUBSEP w SUBSEP "ops")
    if (off <= 0 || on <= 0 || ev <= 0 || e <= 0) {
        printf "%-10s no data\n", w
        missed++
        return
    }
    if (hot && med("count" SUBSEP w SUBSEP "loop_events") != \
        med("on" SUBSEP w SUBSEP "loop_events"))
        mismatch = mismatch " " w
    ev /= e
    hook = (cnt_ - off) / ev
    rec = (on - off) / ev
    slow = on / off
    s = target ? sprintf("%.2fx <%dx %s", slow, target, \
                         verdict(slow < target)) : sprintf("%.2fx", slow)
    printf "%-10s %12.0f %12.0f  %-16s %7.1f %7.1f %7.1f %5.1f%% %6.2f %7.1f %7.1f  %s\n", \
        w, 1e9 / off, 1e9 / on, s, off, cnt_, on, \
        spread("on" SUBSEP w SUBSEP "ns", on), ev, hook, rec, \
        hot ? (rec <= 20 ? "PASS" : "MISS") : "(payloads)"
    if (hot && rec > 20)
        missed++
    if (hot && rec > worst)
        worst = rec
}
END {
    printf "%-10s %12s %12s  %-16s %7s %7s %7s %6s %6s %7s %7s  %s\n", \
        "workload", "off op/s", "on op/s", "slowdown", "ns off", \
        "ns hook", "ns on", "spread", "ev/op", "hook/ev", "rec/ev", \
        "<=20 ns/ev"
    row("spawn_join", 0, 1)
    row("yield", 0, 1)
    row("queue", 2, 1)
    row("queue1", 0, 1)
    row("echo", 0, 0)
    print "  ns: per op (off, counting hook only, recording on); spread:" \
        " (max - min) / median of ns on;"
    print "  ev/op: events recorded per op (from the trace); hook/ev," \
        " rec/ev: ns added per event by"
    print "  the counting hook alone, and by recording: (ns on - ns off) /" \
        " ev/op"
    if (mismatch != "")
        printf "  WARNING: the trace and the counting hook disagree on" \
            " events for%s\n", mismatch
    else
        print "  events: the trace and the counting hook agree on every" \
            " loop workload'"'"'s total"
    print ""

    k = "ingest" SUBSEP "import" SUBSEP
    r = med(k "ops_s")
    b = med(k "bytes_per_event")
    printf "ingest     %.0f events/s (%.0f ns per event) importing %.0f" \
        " events, spread %.1f%%; target >= 1M/s: %s\n", r, med(k "ns"), \
        med(k "ops"), spread(k "ops_s", r), verdict(r >= 1e6)
    printf "size       %.1f bytes per event in the trace (journal %.1f);" \
        " target <= 40: %s\n", b, med(k "journal_bytes_per_event"), \
        verdict(b > 0 && b <= 40)
    k = "echo_ingest" SUBSEP "import" SUBSEP
    printf "echo trace %.0f bytes per event, %.1f without the payload" \
        " bytes (%.0f events, %.0f%% with a payload); import %.0f" \
        " events/s\n", med(k "bytes_per_event"), \
        med(k "bytes_per_event_without_payload"), med(k "ops"), \
        100 * med(k "payload_events") / med(k "ops"), med(k "ops_s")
    print ""

    n = med("on" SUBSEP "echo" SUBSEP "ops")
    off = med("off" SUBSEP "echo" SUBSEP "ops_s")
    on = med("on" SUBSEP "echo" SUBSEP "ops_s")
    printf "echo load  %.0f msg/s off, %.0f on: %.0f%% (in-loop, %d" \
        " clients); target >= 80%%: %s\n", off, on, 100 * on / off, \
        med("on" SUBSEP "echo" SUBSEP "clients"), verdict(on >= 0.8 * off)
    split(echo_args, ea, " ")
    for (i = 1; i in ea; i++) {
        if (ea[i] == "--clients") c = ea[i + 1]
        if (ea[i] == "--messages") m = ea[i + 1]
    }
    n = c * m
    off = med("echo_off" SUBSEP "exec" SUBSEP "ns")
    jo = med("echo_journal" SUBSEP "exec" SUBSEP "ns")
    fu = med("echo_full" SUBSEP "exec" SUBSEP "ns")
    printf "build/echo %s, whole process: %.0f msg/s off, %.0f journal" \
        " only (%.0f%%), %.0f with the import at exit (%.0f%%)\n", \
        echo_args, n * 1e9 / off, n * 1e9 / jo, 100 * off / jo, \
        n * 1e9 / fu, 100 * off / fu
    print ""
    print missed ? missed " target(s) missed" : "all targets met"
}' "$tmp/all"
