# SPDX-License-Identifier: MIT
# bench_tui.sh -- how fast `tapeloop tui` answers on a big trace, measured
# from outside like a user would see it: the real binary in a private tmux
# server, keys sent with send-keys, the screen read with capture-pane until
# it shows what the key asked for.  Prints the time to open (until the
# first screen is drawn), the latency of jumps and searches (median and
# worst of REPEAT), and the TUI's resident memory, against the targets:
# open < 0.5 s, any key < 50 ms, RSS < 64 MiB.
#
# A figure is an upper bound: it includes one send-keys and at least one
# capture-pane, whose cost the "floor" line gives (the same round trip for
# a key that only moves the cursor by one row).  When the TUI keeps its own
# times (TAPELOOP_TUI_TIMES), their worst figures are printed too.  The
# trace is read warm (from the page cache).
#
# Usage: sh bench/bench_tui.sh [builddir] [trace.db]
#   With no trace, records one of about 1.3M events with bench_loop
#   (OPS queue items, 170000 by default).
# Environment: REPEAT (5) times each key; OPS; TL_TUI_WAIT (10) seconds
# before a screen that never comes counts as a failure.
# Exits non-zero if the TUI cannot be run or a screen never comes; a missed
# target is reported, not an error.
set -u

build=${1:-build}
trace=${2:-}
REPEAT=${REPEAT:-5}
OPS=${OPS:-170000}
WAIT=${TL_TUI_WAIT:-10}

die() {
    echo "bench_tui.sh: $*" >&2
    exit 1
}

tl=$(cd "$build" 2>/dev/null && pwd)/tapeloop
[ -x "$tl" ] || die "no $build/tapeloop: build first (make build)"
for tool in tmux python3; do
    command -v $tool >/dev/null 2>&1 || die "needs $tool"
done
case $REPEAT in
'' | *[!0-9]* | 0) die "REPEAT must be a positive number" ;;
esac
case $(date +%N) in
*[!0-9]*) die "needs a date(1) that knows %N (GNU coreutils)" ;;
esac

term_name=tmux-256color
infocmp "$term_name" >/dev/null 2>&1 || term_name=screen-256color

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tapeloop-bench.XXXXXX") || exit 1
S=tlb$$
cleanup() {
    tmux -L "$S" kill-server 2>/dev/null
    [ -z "${KEEP_TIMES:-}" ] || cp "$tmp/times" "$KEEP_TIMES" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
# Should this script die without its traps (SIGKILL), a watchdog ends the
# tmux server, and with it the TUI.
me=$$
(
    while kill -0 "$me" 2>/dev/null; do sleep 1; done
    tmux -L "$S" kill-server
    rm -rf "$tmp"
) >/dev/null 2>&1 &

if [ -z "$trace" ]; then
    [ -x "$build/bench/bench_loop" ] || die "no $build/bench/bench_loop"
    trace=$tmp/big.db
    TAPELOOP_RECORD=$trace "$build/bench/bench_loop" queue 1 "$OPS" \
        >/dev/null || die "recording the trace failed"
fi
[ -s "$trace" ] || die "no trace $trace"
trace=$(cd "$(dirname "$trace")" && pwd)/$(basename "$trace")

# sql QUERY: the first value QUERY selects from the trace.
sql() {
    python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
r = c.execute(sys.argv[2]).fetchone()
print("" if r is None or r[0] is None else r[0])' "$trace" "$1"
}

last=$(sql "SELECT max(seq) FROM events")
mid=$((last / 2 + 1))
far=$((last - last / 24))
# The earliest end of a task: `]` there looks for a later event of that
# task through the rest of the trace and finds none.
early_end=$(sql "SELECT end_seq FROM tasks WHERE end_seq IS NOT NULL
                 ORDER BY end_seq LIMIT 1")
# A search whose match is far: from the last run's start to its end.
run_start=$(sql "SELECT max(e.seq) FROM events e JOIN kinds k USING(kind)
                 WHERE k.name = 'run_start'")
run_end=$(sql "SELECT max(e.seq) FROM events e JOIN kinds k USING(kind)
               WHERE k.name = 'run_end'")
run_end1=$(sql "SELECT min(e.seq) FROM events e JOIN kinds k USING(kind)
                WHERE k.name = 'run_end'")
# The task spawned last (as loop/id): a filter on it seeks to its events.
# The status line says "task ID" when the trace has one loop.
late_task=$(sql "SELECT loop || '/' || id FROM tasks
                 ORDER BY spawn_seq DESC LIMIT 1")
late_re="filter: task ([0-9]+/)?${late_task#*/}"
# A search that matches nothing: a kind the trace knows but never has.
absent=$(sql "SELECT name FROM kinds WHERE kind NOT IN
              (SELECT DISTINCT kind FROM events) ORDER BY name DESC LIMIT 1")
size=$(($(wc -c <"$trace") / 1048576))

# ---- the terminal ---------------------------------------------------------

tm() {
    tmux -L "$S" -f /dev/null "$@"
}

now_ns() {
    date +%s%N
}

# wait_for ERE: polls the screen until a line matches; 1 after WAIT s.
wait_for() {
    end=$(($(date +%s) + WAIT))
    while :; do
        tm capture-pane -p -t "$sess" >"$tmp/screen" 2>/dev/null
        grep -Eq -- "$1" "$tmp/screen" && return 0
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.001     # a capture costs ~3 ms already: poll at that pace
    done
}

# status_re SEQ: the status line with the cursor at SEQ.
status_re() {
    echo "seq $1/$last([^0-9]|\$)"
}

# timed ERE KEY...: sends the keys and prints the ms until the screen
# shows ERE (the keys are sent after the clock starts).
timed() {
    t_re=$1
    shift
    t0=$(now_ns)
    tm send-keys -t "$sess" "$@"
    if ! wait_for "$t_re"; then
        echo "bench_tui.sh: no /$t_re/ on screen after $* within ${WAIT}s:" >&2
        sed 's/^/  |/' "$tmp/screen" >&2
        exit 1
    fi
    t1=$(now_ns)
    echo $(((t1 - t0) / 1000)) | awk '{ printf "%.1f\n", $1 / 1000 }'
}

# stats: median and worst of the numbers on stdin, "12.3 45.6".
stats() {
    sort -n | awk '{ v[NR] = $1 } END {
        printf "%.1f %.1f\n", v[int((NR + 1) / 2)], v[NR] }'
}

# tui_pid: the TUI process: the shell exec'd it, so the pane's process.
tui_pid() {
    p=$(tm display-message -p -t "$sess" '#{pane_pid}')
    case $(ps -o comm= -p "$p") in
    tapeloop*) echo "$p" ;;
    esac
}

# rss_kib PID: resident now and at peak (VmHWM where /proc has it), KiB.
rss_kib() {
    now=$(ps -o rss= -p "$1" | tr -d ' ')
    peak=$now
    if [ -r "/proc/$1/status" ]; then
        peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status")
    fi
    echo "$now ${peak:-$now}"
}

# start: a fresh 120x40 terminal with a shell, the TUI's command typed but
# not entered.
nsess=0
sess=
start() {
    old=$sess
    nsess=$((nsess + 1))
    sess=t$nsess
    tm new-session -d -s "$sess" -x 120 -y 40 \
        env -i PATH="$PATH" HOME="$tmp" TERM="$term_name" LANG=C.UTF-8 \
        TAPELOOP_TUI_TIMES="$tmp/times" PS1='tl$ ' sh
    tm set-option -t "$sess" status off >/dev/null
    [ -z "$old" ] || tm kill-session -t "$old"
    wait_for '^tl\$ ?$' || die "no shell prompt in tmux"
    tm send-keys -t "$sess" -l -- "exec \"$tl\" tui \"$trace\""
    wait_for 'tui' || die "could not type the command"
}

# ---- opening ----------------------------------------------------------------

# The first screen: the status line with the cursor somewhere.
first_screen="$(status_re '[0-9]+')"
: >"$tmp/open"
i=0
while [ $i -lt "$REPEAT" ]; do
    i=$((i + 1))
    start
    timed "$first_screen" Enter >>"$tmp/open"
done
set -- $(stats <"$tmp/open")
open_med=$1 open_max=$2
pid=$(tui_pid)
[ -n "$pid" ] || die "cannot find the TUI's process"
set -- $(rss_kib "$pid")
rss_open=$1

# ---- keys -------------------------------------------------------------------

# send_wait ERE KEY...: sends the keys and waits for the screen to show
# ERE; a setup step, not timed.  Each ERE below can only show once every
# key before it has been handled, so no key is still queued when the
# timed one is sent.
send_wait() {
    sw_re=$1
    shift
    tm send-keys -t "$sess" "$@"
    wait_for "$sw_re" || die "no /$sw_re/ on screen after $*"
}

# key NAME SETUP ERE KEY...: REPEAT times, runs the function SETUP, then
# times KEY... until the screen shows ERE.  Appends "NAME median worst".
: >"$tmp/keys"
key() {
    name=$1 setup=$2 key_re=$3
    shift 3
    : >"$tmp/one"
    i=0
    while [ $i -lt "$REPEAT" ]; do
        i=$((i + 1))
        $setup
        timed "$key_re" "$@" >>"$tmp/one"
    done
    echo "$name $(stats <"$tmp/one")" >>"$tmp/keys"
}

# The setups.  The main view with no filter and no message, at seq 1, at
# the last event, at a far seq; a prompt typed but not entered; the
# swimlanes at a given zoom.
events_at() {
    send_wait "$(status_re "$1").*filter: none +\[events\]\$" Escape F : "$1" Enter
    send_wait "^j/k move " Escape
}
at_first() { events_at 1; }
at_last() { events_at "$last"; }
at_far() { events_at "$far"; }
goto_far() { at_first; send_wait ":$far\$" : "$far"; }
goto_mid() { at_last; send_wait ":$mid\$" : "$mid"; }
search_far() { events_at "$run_start"; send_wait "/run_end\$" / run_end; }
search_absent() { at_first; send_wait "/$absent\$" / "$absent"; }
at_early_end() { events_at "$early_end"; }
filter_typed() {
    at_first
    send_wait "[)]: kind run_end\$" f kind Space run_end
}
task_typed() {
    at_first
    send_wait "[)]: task $late_task\$" f task Space "$late_task"
}
filtered_first() {
    at_first
    send_wait "$(status_re "$run_end1").*filter: kind run_end" \
        f kind Space run_end Enter
}
# lanes ZOOM: the swimlanes at the far seq, ZOOM events a column, reached
# from one event a column (where every "+" ends).
lanes() {
    at_far
    send_wait "^ swimlanes .* 1 event a column " s + + + + + + + + + + + + + +
    z=1
    while [ "$z" -lt "$1" ]; do
        z=$((z * 2))
        send_wait "^ swimlanes .* $z events? a column " -
    done
}
lanes_256() { lanes 256; }
lanes_512() { lanes 512; }

key "floor (j)" at_first "$(status_re 2)" j
key "G (last event)" at_first "$(status_re "$last")" G
key "g (first event)" at_last "$(status_re 1)" g
key ":seq, far" goto_far "$(status_re "$far")" Enter
key ":seq, middle" goto_mid "$(status_re "$mid")" Enter
key "PgDn" at_first "$(status_re '([2-9]|[1-9][0-9]+)')" PageDown
# A search that has far to go answers first with its progress, then with
# the match: "1st" is the time to the first answer, "all" to the match.
key "/search, far: 1st" search_far "searching|$(status_re "$run_end")" Enter
key "/search, far: all" search_far "$(status_re "$run_end")" Enter
if [ -n "$absent" ]; then
    key "/search, no match: 1st" search_absent "searching|not found" Enter
    key "/search, no match: all" search_absent "not found" Enter
fi
if [ -n "$early_end" ] && [ "$early_end" != None ]; then
    key "] past a task's end" at_early_end "no later event" ]
fi
key "state at cursor, far" goto_far "tasks at $far " Enter
key "f kind run_end (sparse)" filter_typed "filter: kind run_end" Enter
key "G through that filter" filtered_first "$(status_re "$run_end")" G
if [ -n "$late_task" ]; then
    key "f task (the last spawned)" task_typed "$late_re" Enter
fi
key "s swimlanes" at_far "^ swimlanes " s
key "- zoom out, to 512/col" lanes_256 "^ swimlanes .* 512 events a column" -
key "- zoom out, sampled" lanes_512 \
    "^ swimlanes .* events a column \\(sampled\\)" -
tm send-keys -t "$sess" Escape

set -- $(rss_kib "$pid")
rss_now=$1 rss_peak=$2

# ---- report -----------------------------------------------------------------

ms_ok() {
    awk -v v="$1" -v t="$2" 'BEGIN { print (v < t) ? "ok" : "MISSED" }'
}

echo "tapeloop tui on $trace: $last events, $size MiB ($REPEAT runs each)"
printf '%-24s %10s %10s   %s\n' "" "median ms" "worst ms" "target"
printf '%-24s %10s %10s   %s\n' "open (first screen)" "$open_med" \
    "$open_max" "< 500 ms: $(ms_ok "$open_max" 500)"
worst=0
while read -r line; do
    name=${line% * *}
    set -- ${line##"$name" }
    printf '%-24s %10s %10s   %s\n' "$name" "$1" "$2" \
        "< 50 ms: $(ms_ok "$2" 50)"
    case $name in
    floor*) ;;
    *) worst=$(awk -v a="$worst" -v b="$2" 'BEGIN { print (b > a) ? b : a }') ;;
    esac
done <"$tmp/keys"
printf '%-24s %10s %10s   %s\n' "worst key" "" "$worst" \
    "< 50 ms: $(ms_ok "$worst" 50)"
# What the TUI's own clock says (TAPELOOP_TUI_TIMES, if it keeps one):
# from its start, and from reading a key, to the frame drawn.
if [ -s "$tmp/times" ]; then
    awk '
        $1 == "open" { n++; o[n] = $2 }
        $1 == "key" && $3 > k { k = $3; kk = $2 }
        $1 == "scan" && $2 > sc { sc = $2 }
        END {
            m = 0; for (i = 1; i <= n; i++) if (o[i] > m) m = o[i]
            printf "the TUI'"'"'s own clock: open <= %.1f ms; slowest key %.1f ms (key %d); slowest scan %.1f ms\n", m, k, kk, sc
        }' "$tmp/times"
fi
for r in "after open:$rss_open" "after the keys:$rss_now" "peak:$rss_peak"; do
    kib=${r#*:}
    printf '%-24s %10s MiB          %s\n' "RSS, ${r%%:*}" \
        "$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "< 64 MiB: $(awk -v k="$kib" 'BEGIN { print (k < 65536) ? "ok" : "MISSED" }')"
done
exit 0
