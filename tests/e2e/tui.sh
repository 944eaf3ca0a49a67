# SPDX-License-Identifier: MIT
# tui.sh -- end-to-end checks of `tapeloop tui`: the real binary in a
# terminal of its own (a private tmux server), driven with send-keys and
# read with capture-pane.  It opens the recorded pipeline deadlock and
# checks the why line; moves to a seq and checks every task's state;
# moves, pages, searches, filters, jumps, opens help, the swimlanes (checked
# against the trace) and a task; resizes; runs at 80x24; with and without
# colour; opens two true cycles (cycle.c) and a failure; quits (q, ^C,
# SIGTERM) and checks the terminal is left as it was found; and feeds it
# bad input (not a trace, empty, missing, still being written, no
# terminal, a terminal too small).  Every wait polls the screen with a
# deadline; nothing sleeps blindly.
# Usage: sh tests/e2e/tui.sh BUILDDIR.  Exits 1 if any check failed.

B=${1:?usage: sh tests/e2e/tui.sh BUILDDIR}
LIMIT=${TL_E2E_TIMEOUT:-60}     # seconds per run outside tmux
WAIT=${TL_TUI_WAIT:-10}         # seconds to wait for a screen
failed=0
checks=0

for p in tapeloop pipeline echo libtapeloop.a CMakeCache.txt; do
    if [ ! -e "$B/$p" ]; then
        echo "tui.sh: $B/$p not found" >&2
        exit 1
    fi
done
for tool in tmux timeout cc pkg-config python3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "tui.sh: needs $tool" >&2
        exit 1
    fi
done

# The terminal type inside tmux: its own if terminfo knows it.
term_name=tmux-256color
infocmp "$term_name" >/dev/null 2>&1 || term_name=screen-256color

B=$(cd "$B" && pwd)
here=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/tapeloop-e2e.XXXXXX") || exit 1
S=tl$$                          # the private tmux server's socket name
live=
cleanup() {
    [ -z "$live" ] || kill "$live" 2>/dev/null
    tmux -L "$S" kill-server 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
# A watchdog for when this script dies without its traps (SIGKILL, as a
# test timeout sends): it ends the tmux server, and with it the TUI, and
# the recording echo server.
me=$$
(
    while kill -0 "$me" 2>/dev/null; do sleep 1; done
    tmux -L "$S" kill-server
    [ ! -s "$T/live.pid" ] || kill "$(cat "$T/live.pid")"
    rm -rf "$T"
) >/dev/null 2>&1 &

tl="$B/tapeloop"

# ---- reporting -----------------------------------------------------------

# fail EXPECTED GOT: one failed check, with the screen as it was last read.
fail() {
    failed=$((failed + 1))
    echo "FAIL: $what"
    echo "  expected: $1"
    echo "  got:      $2"
    if [ -s "$T/screen" ]; then
        echo "  screen:"
        sed 's/^/    |/' "$T/screen"
    fi
}

# ---- the terminal --------------------------------------------------------

tm() {
    tmux -L "$S" -f /dev/null "$@"
}

nses=0
ses=
# term W H [ENV...]: a fresh session of W x H running a plain sh whose
# prompt is "tl$ ", in a clean environment (plus ENV), in $T.
term() {
    w=$1 h=$2
    shift 2
    old=$ses
    nses=$((nses + 1))
    ses=t$nses
    tm new-session -d -s "$ses" -x "$w" -y "$h" -c "$T" \
        env -i PATH="$PATH" HOME="$T" TERM="$term_name" LANG=C.UTF-8 \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
        PS1='tl$ ' "$@" sh
    tm set-option -t "$ses" status off >/dev/null
    tm set-option -t "$ses" remain-on-exit on >/dev/null
    # Only now: a server left without sessions exits.
    [ -z "$old" ] || tm kill-session -t "$old"
    what="a shell prompt in a ${w}x$h terminal"
    wait_for '^tl\$ ?$' || return 1
}

# grab: the screen into $T/screen (plain) and $T/escreen (with attributes).
grab() {
    tm capture-pane -p -t "$ses" >"$T/screen" 2>/dev/null
}

grab_attrs() {
    tm capture-pane -p -e -t "$ses" >"$T/escreen" 2>/dev/null
}

# keys KEY...: send-keys to the terminal (tmux key names: Enter, Escape,
# Tab, PageDown, ...).  lit TEXT: the text as typed, no key names.
keys() {
    tm send-keys -t "$ses" "$@"
}

lit() {
    tm send-keys -t "$ses" -l -- "$1"
}

# wait_for ERE [SECONDS]: polls the screen until a line matches; 1 when the
# deadline passes (the screen is left in $T/screen).
wait_for() {
    end=$(($(date +%s) + ${2:-$WAIT}))
    while :; do
        grab
        grep -Eq -- "$1" "$T/screen" && return 0
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# wait_gone ERE [SECONDS]: polls until no line matches.
wait_gone() {
    end=$(($(date +%s) + ${2:-$WAIT}))
    while :; do
        grab
        grep -Eq -- "$1" "$T/screen" || return 0
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# expect WHAT ERE: one check that a line matching ERE comes on screen.
expect() {
    what=$1
    checks=$((checks + 1))
    wait_for "$2" || fail "a screen line matching /$2/" "none within ${WAIT}s"
}

# expect_gone WHAT ERE: one check that no line matches, soon.
expect_gone() {
    what=$1
    checks=$((checks + 1))
    wait_gone "$2" || fail "no screen line matching /$2/" \
        "$(grep -E -- "$2" "$T/screen" | head -1)"
}

# flags: the terminal modes tmux tracks for the pane, one line.
flags() {
    tm display-message -p -t "$ses" '#{alternate_on} cursor=#{cursor_flag} keypad=#{keypad_flag} kcursor=#{keypad_cursor_flag} mouse=#{mouse_any_flag} insert=#{insert_flag} origin=#{origin_flag} wrap=#{wrap_flag} region=#{scroll_region_upper}-#{scroll_region_lower}'
}

# in_curses: the TUI holds the screen (the alternate screen is on).
in_curses() {
    [ "$(tm display-message -p -t "$ses" '#{alternate_on}')" = 1 ]
}

# ---- the TUI ---------------------------------------------------------------

# These say how the TUI's screen reads; the spec leaves the wording open.
# status_re SEQ LAST: the status line with the cursor at SEQ of LAST.
status_re() {
    echo "seq $1/$2([^0-9]|\$)"
}

# cur_seq: the cursor's seq on the status line of the last screen read.
cur_seq() {
    sed -n 's|^ seq \([0-9][0-9]*\)/[0-9].*|\1|p' "$T/screen" | head -1
}

# tui ARGS...: runs `tapeloop tui ARGS` from the prompt, then prints its
# exit status as EXIT=N.
tui() {
    printf '"%s" tui' "$tl" >"$T/cmd"
    for a in "$@"; do
        printf ' "%s"' "$a" >>"$T/cmd"
    done
    echo '; echo EXIT=$?' >>"$T/cmd"
    lit ". ./cmd"
    keys Enter
}

# opened: waits until the TUI has the screen.
opened() {
    what="the TUI takes the screen"
    checks=$((checks + 1))
    end=$(($(date +%s) + WAIT))
    while ! in_curses; do
        if [ "$(date +%s)" -ge "$end" ]; then
            grab
            fail "the alternate screen on" "off"
            return 1
        fi
        sleep 0.05
    done
}

# at_seq WHAT SEQ: the status line shows the cursor at SEQ.
at_seq() {
    expect "$1" "$(status_re "$2" "$last")"
}

# quit_clean WHAT STATUS: after q (sent by the caller), the shell is back
# with EXIT=STATUS, its prompt below, the terminal modes as before the TUI
# and the terminal settings (stty) as before.
quit_clean() {
    expect "$1: the shell is back" "^EXIT=[0-9]+\$"
    expect "$1: exit status $2" "^EXIT=$2\$"
    expect_gone "$1: no sanitizer report" 'Sanitizer|runtime error:'
    what="$1: terminal modes as before"
    checks=$((checks + 1))
    f=$(flags)
    [ "$f" = "$shell_flags" ] || fail "$shell_flags" "$f"
    keys Enter
    lit "stty -g >stty.after; echo 'plain text'"
    keys Enter
    # The output may share a line with a prompt the shell printed late
    # (keys typed ahead of it); what matters is that it runs, plainly.
    expect "$1: the shell runs commands" "(^|\\\$ )plain text\$"
    what="$1: stty settings as before"
    checks=$((checks + 1))
    cmp -s "$T/stty.before" "$T/stty.after" ||
        fail "$(cat "$T/stty.before")" "$(cat "$T/stty.after" 2>&1)"
    # The echoed line carries no attribute left on by the TUI: no escape
    # sequence before it, no colour after it.
    what="$1: no attribute left on"
    checks=$((checks + 1))
    grab_attrs
    grep -Eq '(^|[$] )plain text$' "$T/escreen" ||
        fail "'plain text' without escapes" \
            "$(grep 'plain text$' "$T/escreen" | tail -1 | od -c | head -3)"
}

# fresh W H [ENV...]: a new terminal with a baseline of its modes and stty.
fresh() {
    term "$@" || {
        checks=$((checks + 1))
        fail "a prompt" "none"
        return 1
    }
    shell_flags=$(flags)
    rm -f "$T/stty.before" "$T/stty.after"
    lit "stty -g >stty.before; clear"
    keys Enter
    i=0
    while [ ! -s "$T/stty.before" ] && [ $i -lt 200 ]; do
        sleep 0.05
        i=$((i + 1))
    done
}

# ---- traces ------------------------------------------------------------

cflags=
if grep -q '^TL_SANITIZE:BOOL=ON' "$B/CMakeCache.txt"; then
    cflags="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
# shellcheck disable=SC2046,SC2086  # split the flags on purpose
timeout "$LIMIT" cc -std=c11 -g $cflags -I"$here/include" \
    "$here/tests/e2e/cycle.c" "$B/libtapeloop.a" \
    $(pkg-config --libs libevent_core sqlite3) -lm -o "$T/cycle" || {
    echo "tui.sh: cannot build cycle.c" >&2
    exit 1
}
for t in "dead $B/pipeline" "fixed $B/pipeline --fixed" "fail $T/cycle fail" \
    "cq $T/cycle queues" "cl $T/cycle locks"; do
    # shellcheck disable=SC2086  # split the command on purpose
    set -- $t
    db=$1
    shift
    timeout "$LIMIT" "$tl" record -o "$T/$db.db" -- "$@" >/dev/null 2>&1
done
for db in dead fixed fail cq cl; do
    if [ ! -s "$T/$db.db" ]; then
        echo "tui.sh: could not record $db.db" >&2
        exit 1
    fi
done

# sql DB QUERY: the first value QUERY selects from the trace DB.
sql() {
    python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

# Landmarks of the pipeline's schedule, from the trace itself.
last=$(sql "$T/dead.db" "SELECT max(seq) FROM events")
dl=$(sql "$T/dead.db" "SELECT min(seq) FROM event_log WHERE kind = 'deadlock'")
main_joins=$(sql "$T/dead.db" "SELECT min(seq) FROM event_log
                               WHERE kind = 'block' AND task_name = 'main'")
handoffs=$(python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(" ".join(str(r[0]) for r in c.execute(
    "SELECT seq FROM event_log WHERE kind = ? ORDER BY seq", ("queue_handoff",))))
' "$T/dead.db")
# shellcheck disable=SC2086  # split the list on purpose
set -- $handoffs
h1=$1 h2=$2

# ---- open at the deadlock ------------------------------------------------

# Task ids in the pipeline: main 1, source 2, parse 3, transform 4, sink 5.
fresh 120 40
tui "$T/dead.db"
opened
at_seq "opens at the deadlock" "$dl"
expect "the deadlock is named at the top" "DEADLOCK at seq $dl\$"
expect "the cursor is on the deadlock event" "^> +$dl +[0-9.]+ +loop +deadlock "
expect "the state is at the deadlock" "tasks at $dl "
expect "the why line: sink's only producer ended without closing out" \
    '^ +sink waits get\("out"\); its only producer, transform, ended without closing it$'
# Every task's state at the deadlock: main and sink blocked, the rest done.
expect "main blocked joining sink" '^ *1 +main +blocked +join\((task )?5 "?sink"?\)'
expect "source done" '^ *2 +source +done( |$)'
expect "parse done" '^ *3 +parse +done( |$)'
expect "transform done" '^ *4 +transform +done( |$)'
expect "sink blocked getting from out" '^ *5 +sink +blocked +get\(q3 "?out"?\)'
expect "out: empty, open, sink waiting" 'q3 +out +0/2 +open +getters 5'

# ---- moving ----------------------------------------------------------------

keys k
at_seq "k moves up one" $((dl - 1))
keys j
at_seq "j moves down one" "$dl"
keys Up
at_seq "Up moves up one" $((dl - 1))
keys Down
at_seq "Down moves down one" "$dl"
keys g
at_seq "g: the first event" 1
keys G
at_seq "G: the last event" "$last"
# A page is the list's height: PgDn moves the cursor that many rows (no
# filter: that many seq) and PgUp brings it back, as in less, htop, tig.
keys :
lit "$main_joins"
keys Enter
at_seq "before paging" "$main_joins"
rows=$(grep -Ec '^[> ] +[0-9]+ +[0-9]+\.[0-9]+ ' "$T/screen")
keys PageDown
what="PgDn moves the cursor one page ($rows rows) down"
checks=$((checks + 1))
wait_gone "$(status_re "$main_joins" "$last")"
pg=$(cur_seq)
[ "$pg" = $((main_joins + rows)) ] ||
    fail "seq $((main_joins + rows))" "seq ${pg:-none}"
keys PageUp
at_seq "PgUp brings it back" "$main_joins"
keys g
at_seq "g again" 1
rows=$(grep -Ec '^[> ] +[0-9]+ +[0-9]+\.[0-9]+ ' "$T/screen")
keys PageDown
what="PgDn from the first event: one page ($rows rows)"
checks=$((checks + 1))
wait_gone "$(status_re 1 "$last")"
pg=$(cur_seq)
[ "$pg" = $((1 + rows)) ] || fail "seq $((1 + rows))" "seq ${pg:-none}"
keys PageUp
at_seq "PgUp back to the first event" 1
keys d
at_seq "d: the deadlock" "$dl"

# ---- go to a seq: every task's state there --------------------------------

keys :
lit "$main_joins"
keys Enter
at_seq ": goes to seq $main_joins" "$main_joins"
expect "the state follows the cursor" "tasks at $main_joins "
# At main's first block: main joins source; parse is blocked putting into
# the full "parsed"; sink waits get on "out"; source and transform, woken
# earlier, are ready.
expect "main blocked joining source" '^ *1 +main +blocked +join\((task )?2 "?source"?\)'
expect "source ready" '^ *2 +source +ready( |$)'
expect "parse blocked putting to parsed" '^ *3 +parse +blocked +put\(q2 "?parsed"?\)'
expect "transform ready" '^ *4 +transform +ready( |$)'
expect "sink blocked getting from out" '^ *5 +sink +blocked +get\(q3 "?out"?\)'
expect "parsed: full, parse putting" 'q2 +parsed +2/2 +open .*putters 3'
expect "why: parse waits on a live consumer" \
    "^ +task 3 \"parse\" waits put\\(q2 \"parsed\", full\\).* task 4\$"
expect_gone "no dead end or cycle here" 'ended without closing|cycle|nobody'

# [ ] the same task's previous / next event; { } the same queue's.
main_next=$(sql "$T/dead.db" "SELECT min(seq) FROM event_log
                              WHERE task_name = 'main' AND seq > $main_joins")
main_prev=$(sql "$T/dead.db" "SELECT max(seq) FROM event_log
                              WHERE task_name = 'main' AND seq < $main_joins")
keys ']'
at_seq "] the next event of main" "$main_next"
keys '[' '['
at_seq "[ [ back past main's block" "$main_prev"
sink_get=$(sql "$T/dead.db" "SELECT min(seq) FROM event_log
                             WHERE task_name = 'sink' AND kind = 'queue_get'")
out_next=$(sql "$T/dead.db" "SELECT min(e.seq) FROM events e
    JOIN queues q ON e.okind = 2 AND e.object = q.id
    WHERE q.name = 'out' AND e.seq > $sink_get")
keys :
lit "$sink_get"
keys Enter
at_seq ": to sink's first get" "$sink_get"
keys '}'
at_seq "} the next operation on out" "$out_next"
keys '{'
at_seq "{ back" "$sink_get"

# ---- search ------------------------------------------------------------------

keys g /
lit "handoff"
keys Enter
at_seq "/handoff finds the first handoff" "$h1"
expect "the cursor is on it" "^> +$h1 .* queue_handoff "
keys n
at_seq "n finds the next" "$h2"
keys N
at_seq "N finds the previous" "$h1"

# ---- filter ------------------------------------------------------------------

# event_rows: the event list's rows on screen, "seq task-column".
row_re='^[> ] +[0-9]+ +[0-9]+\.[0-9]+ '
event_rows() {
    grep -E "$row_re" "$T/screen"
}

# only_sink WHAT: one check that the list has rows, all of them sink's.
only_sink() {
    what=$1
    checks=$((checks + 1))
    rows=$(event_rows | grep -c .)
    others=$(event_rows | grep -Evc "$row_re"'5 sink ')
    [ "$rows" -gt 0 ] && [ "$others" = 0 ] ||
        fail "event rows, all of task 5 sink" "$rows rows, $others of other tasks"
}

keys f
lit "sink"
keys Enter
expect "f sink: the status line names the filter" 'filter: task 5 sink '
only_sink "f sink: only sink's events are listed"
keys G
at_seq "G through the filter: sink's last event" \
    "$(sql "$T/dead.db" "SELECT max(seq) FROM event_log WHERE task_name = 'sink'")"
only_sink "still only sink's events at the end"
keys F
expect "F clears the filter" 'filter: none '
expect "other tasks' events are back" "$row_re"'(1 main|2 source|3 parse|4 transform|loop) '
keys f
lit "kind block"
keys Enter
expect "f kind block: the status line names it" 'filter: .*block'
what="f kind block: only block events are listed"
checks=$((checks + 1))
rows=$(event_rows | grep -c .)
others=$(event_rows | grep -Evc ' block +')
[ "$rows" -gt 0 ] && [ "$others" = 0 ] ||
    fail "event rows, all blocks" "$rows rows, $others others"
keys f
lit "queue out"
keys Enter
expect "f queue out: kind block and queue out add up" \
    'filter: .*(block.*out|out.*block)'
what="only blocks on out are listed"
checks=$((checks + 1))
rows=$(event_rows | grep -c .)
others=$(event_rows | grep -Evc ' block +q3 out ')
[ "$rows" -gt 0 ] && [ "$others" = 0 ] ||
    fail "event rows, all blocks on q3 out" "$rows rows, $others others"
keys f Enter
expect "f with nothing typed clears it" 'filter: none '

# ---- help --------------------------------------------------------------------

keys '?'
expect "? opens help" '^ keys '
what="help lists every key"
checks=$((checks + 1))
missing=
for k in j k Down Up PgDn PgUp g G Home End / n N f F : '[' ']' '{' '}' e d \
    Tab Enter Esc s h l + - '?' q; do
    grep -Fwq -- "$k" "$T/screen" || missing="$missing $k"
done
[ -z "$missing" ] || fail "every key on the help screen" "missing:$missing"
# help_uncut W: one check that no line of the help screen runs into the
# right edge (a line that does has been cut: its end is lost; capture-pane
# drops trailing blanks, so a cut at a blank shows as W - 1 columns).
help_uncut() {
    what="help at width $1: no line cut at the right edge"
    checks=$((checks + 1))
    cut=$(sed '1d;$d' "$T/screen" | sed '$d' | awk -v w="$1" 'length($0) >= w - 1' |
        head -2)
    [ -z "$cut" ] || fail "lines shorter than $1 columns" "$cut"
}
help_uncut 120
keys Escape
expect_gone "Esc leaves help" '^ keys '
expect "back in the event list" '\[events\]$'

# ---- swimlanes -----------------------------------------------------------------

# At one event a column, the lane of a task that ended has its end mark
# '|' in the column of its end event, and sink's lane is blocked ('.')
# from its last block to the end of the trace.
keys d s
expect "s opens the swimlanes" '^ swimlanes '
for t in main source parse transform sink; do
    expect "a lane for $t" "^ +[0-9]+ $t +│"
done
keys + + + +
expect "+ zooms in to one event a column" ' 1 event a column '
what="the lanes match the trace"
checks=$((checks + 1))
why=$(python3 -c 'import re, sqlite3, sys
scr = open(sys.argv[2], encoding="utf-8").read().splitlines()
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
head = [l for l in scr if l.startswith(" swimlanes ")][0]
first = int(re.search(r"seq (\d+)-", head).group(1))
last = c.execute("SELECT max(seq) FROM events").fetchone()[0]
lanes = {}
for l in scr:
    m = re.match(r"^ +\d+ (\S+) +│(.*)$", l)
    if m:
        lanes[m.group(1)] = m.group(2)
for name, end in c.execute("SELECT name, end_seq FROM tasks"):
    lane = lanes[name]
    if end is not None and first <= end < first + len(lane):
        assert lane[end - first] == "|", (name, end, lane)
    if end is not None:
        assert "|" not in lane[:max(end - first, 0)], (name, "ends early", lane)
blk = c.execute("SELECT max(seq) FROM event_log WHERE task_name = ? AND "
                "kind = ?", ("sink", "block")).fetchone()[0]
want = "." * (last - max(blk, first) + 1)
got = lanes["sink"][max(blk, first) - first:last - first + 1]
assert got == want, ("sink blocked from %d" % blk, got)
' "$T/dead.db" "$T/screen" 2>&1) || fail "lanes as in the trace" "$why"
keys h h h
at_seq "h moves the cursor one column back" $((dl - 3))
keys l
at_seq "l moves it forward" $((dl - 2))
keys -
expect "- zooms out" ' [2-9] events a column '
keys Escape
expect "Esc leaves the swimlanes" '\[events\]$'

# ---- drill in ------------------------------------------------------------------

keys d Tab
expect "Tab moves to the tasks pane" '\[tasks\]$'
keys Enter
expect "Enter on a task opens it" '^ task 1 "main" +parent: '
expect "its events only" "^─ events of task 1 main "
only_main() {
    what=$1
    checks=$((checks + 1))
    rows=$(event_rows | grep -c .)
    others=$(event_rows | grep -Evc "$row_re"'1 main ')
    [ "$rows" -gt 0 ] && [ "$others" = 0 ] ||
        fail "event rows, all of task 1 main" "$rows rows, $others others"
}
only_main "the task view lists main's events"
keys Escape
expect "Esc comes back" '\[(events|tasks)\]$'
expect "with no filter" 'filter: none '

# ---- resize ------------------------------------------------------------------

keys d
at_seq "before resizing" "$dl"
tm resize-window -t "$ses" -x 100 -y 30
what="redrawn at 100x30: the status line on row 29"
checks=$((checks + 1))
wait_for "$(status_re "$dl" "$last")"
n=$(wc -l <"$T/screen")
[ "$n" = 30 ] && sed -n 29p "$T/screen" | grep -Eq "$(status_re "$dl" "$last")" ||
    fail "30 rows, row 29 the status line" \
        "$n rows, row 29: '$(sed -n 29p "$T/screen")'"
expect "100x30: the why line" 'only producer, transform, ended without closing it'
# The header is on row 1, its right end at the new right edge: drawn
# anew, not the old screen cropped or scrolled.
header_at() {
    what="redrawn at $1 columns: the header on row 1, right-aligned"
    checks=$((checks + 1))
    h1=$(sed -n 1p "$T/screen")
    case $h1 in
    " tapeloop "*"DEADLOCK at seq $dl") ;;
    *) fail "the header, ending 'DEADLOCK at seq $dl'" "'$h1'" ;;
    esac
    [ "${#h1}" -ge $(($1 - 1)) ] && [ "${#h1}" -le "$1" ] ||
        fail "a header $1 columns wide" "${#h1} columns"
}
header_at 100
tm resize-window -t "$ses" -x 140 -y 45
what="redrawn at 140x45: the status line on row 44"
checks=$((checks + 1))
end=$(($(date +%s) + WAIT))
until sed -n 44p "$T/screen" | grep -Eq "$(status_re "$dl" "$last")" ||
    [ "$(date +%s)" -ge "$end" ]; do
    sleep 0.05
    grab
done
sed -n 44p "$T/screen" | grep -Eq "$(status_re "$dl" "$last")" ||
    fail "row 44 the status line" "'$(sed -n 44p "$T/screen")'"
expect "140x45: the full header" "DEADLOCK at seq $dl\$"
header_at 140
tm resize-window -t "$ses" -x 30 -y 8
expect "shrunk to 30x8: says it is too small" '[Tt]oo small'
expect "shrunk to 30x8: says what size it needs" 'needs? (at least )?[0-9]+x[0-9]+'
what="shrunk to 30x8: still running"
checks=$((checks + 1))
in_curses || fail "the TUI still up" "it left"
tm resize-window -t "$ses" -x 120 -y 40
at_seq "back to 120x40: redrawn" "$dl"
expect_gone "the too-small message is gone" '[Tt]oo small'
header_at 120

# ---- quit --------------------------------------------------------------------

keys q
quit_clean "q from the pipeline trace" 0

# ^C and SIGTERM end it as cleanly as q does (128 + the signal).
fresh 120 40
tui "$T/dead.db"
opened
at_seq "^C: opened" "$dl"
keys C-c
quit_clean "^C" 130

fresh 120 40
tui "$T/dead.db"
opened
at_seq "SIGTERM: opened" "$dl"
sh_pid=$(tm display-message -p -t "$ses" '#{pane_pid}')
tui_pid=$(ps -A -o pid= -o ppid= | awk -v p="$sh_pid" '$2 == p { print $1; exit }')
[ -z "$tui_pid" ] || kill -TERM "$tui_pid"
quit_clean "SIGTERM" 143

# ---- 80x24 ---------------------------------------------------------------------

fresh 80 24
tui "$T/dead.db"
opened
at_seq "80x24: opens at the deadlock" "$dl"
expect "80x24: the cursor is on the deadlock" "^> +$dl +[0-9.]+ +loop +deadlock "
header_at 80
expect "80x24: the why line" \
    '^ +sink waits get\("out"\); its only producer, transform, ended without closing it$'
expect "80x24: main blocked" '^ *1 +main +blocked +join\((task )?5 "?sink"?\)'
expect "80x24: sink blocked" '^ *5 +sink +blocked +get\(q3 "?out"?\)'
keys '?'
expect "80x24: help opens" '^ keys '
expect "80x24: help shows q" '^ +q +quit'
help_uncut 80
keys G
expect "80x24: G scrolls the help to its end" 'NO_COLOR|^ +q +quit'
help_uncut 80
keys Escape
keys :
lit "$main_joins"
keys Enter
at_seq "80x24: : goes to seq" "$main_joins"
expect "80x24: parse blocked putting to parsed" '^ *3 +parse +blocked +put\(q2 "?parsed"?\)'
expect "80x24: source ready" '^ *2 +source +ready( |$)'
keys s
expect "80x24: swimlanes" '^ +5 sink +│'
keys Escape q
quit_clean "80x24: q" 0

# ---- colour ----------------------------------------------------------------

fresh 120 40
tui "$T/dead.db"
opened
at_seq "colour: opens" "$dl"
what="colour by kind on a colour terminal"
checks=$((checks + 1))
grab_attrs
grep -Eq "$(printf '\033')\\[([0-9;]*;)?(3[0-7]|9[0-7]|38;)" "$T/escreen" ||
    fail "a foreground colour" "none"
keys q
quit_clean "colour: q" 0

fresh 120 40 NO_COLOR=1
tui "$T/dead.db"
opened
at_seq "NO_COLOR: opens" "$dl"
what="no colour under NO_COLOR"
checks=$((checks + 1))
grab_attrs
! grep -Eq "$(printf '\033')\\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;|48;)" \
    "$T/escreen" || fail "no colour escapes" "$(grep -c "$(printf '\033')" "$T/escreen") lines with escapes"
keys q
quit_clean "NO_COLOR: q" 0

# ---- cycles ------------------------------------------------------------------

# ping and pong each block putting into a full queue the other consumes;
# then each holds a lock the other wants.  Both open at the deadlock with
# the cycle on screen, naming both tasks on one line.
for db in cq cl; do
    cdl=$(sql "$T/$db.db" "SELECT min(seq) FROM event_log WHERE kind = 'deadlock'")
    clast=$(sql "$T/$db.db" "SELECT max(seq) FROM events")
    fresh 120 40
    tui "$T/$db.db"
    opened
    expect "$db: opens at the deadlock" "^ seq $cdl/$clast([^0-9]|\$)"
    expect "$db: the cycle, naming ping and pong" \
        '^ cycle: (.*task 2 "ping".*task 3 "pong"|.*task 3 "pong".*task 2 "ping")'
    keys q
    quit_clean "$db: q" 0
done

# ---- failure -----------------------------------------------------------------

flast=$(sql "$T/fail.db" "SELECT max(seq) FROM events")
fseq=$(sql "$T/fail.db" "SELECT min(seq) FROM event_log WHERE kind = 'task_failed'")
fresh 120 40
tui "$T/fail.db"
opened
keys G e
expect "e: the first failure" "seq $fseq/$flast([^0-9]|\$)"
expect "the failed task and its message" '^ *2 +ping +failed +ping gave up after 3 tries'
expect "the cursor is on the failure" "^> +$fseq .* ping +task_failed "
keys q
quit_clean "q from the failure trace" 0

# ---- bad input -----------------------------------------------------------------

echo "just some text, not a trace" >"$T/text.db"
: >"$T/empty.db"
TAPELOOP_RECORD="$T/live.db" "$B/echo" --serve >/dev/null 2>&1 &
live=$!
echo "$live" >"$T/live.pid"
i=0
while [ ! -e "$T/live.db.tlj" ] && [ $i -lt 200 ]; do
    sleep 0.05
    i=$((i + 1))
done

for bad in text empty missing live; do
    fresh 120 40
    tui "$T/$bad.db"
    expect "$bad.db: an exit status" '^EXIT=[0-9]+$'
    expect "$bad.db: exit 2" '^EXIT=2$'
    expect_gone "$bad.db: no sanitizer report" 'Sanitizer|runtime error:'
    expect "$bad.db: a 'tapeloop: ...' line naming it" \
        "^tapeloop( tui)?: .*$bad\\.db"
    what="$bad.db: the screen holds the prompt, the error and the status only"
    checks=$((checks + 1))
    n=$(grep -c . "$T/screen")
    [ "$n" -le 4 ] || fail "at most 4 lines" "$n lines"
    what="$bad.db: terminal modes as before"
    checks=$((checks + 1))
    f=$(flags)
    [ "$f" = "$shell_flags" ] || fail "$shell_flags" "$f"
done
expect "live.db: says it is still being written" 'still being written'
kill "$live" 2>/dev/null
wait "$live" 2>/dev/null
live=
rm -f "$T/live.pid"

# No terminal at all: an error, no escape sequence, exit 2.
what="no terminal"
checks=$((checks + 1))
timeout "$LIMIT" "$tl" tui "$T/dead.db" </dev/null >"$T/out" 2>"$T/err"
status=$?
[ "$status" = 2 ] || fail "exit 2" "exit $status"
checks=$((checks + 1))
! grep -q "$(printf '\033')" "$T/out" "$T/err" ||
    fail "no escape sequences" "$(od -c "$T/out" "$T/err" | head -3)"
checks=$((checks + 1))
grep -Eq '^tapeloop( tui)?: ' "$T/err" ||
    fail "a 'tapeloop: ...' line" "$(head -2 "$T/err")"

# Too small: a message and a clean exit, never a screen left in curses.
fresh 30 8
tui "$T/dead.db"
expect "30x8: an exit status" '^EXIT=[0-9]+$'
expect "30x8: exit 2" '^EXIT=2$'
expect "30x8: says the terminal is too small" '[Tt]oo small|[Tt]erminal.*small'
what="30x8: terminal modes as before"
checks=$((checks + 1))
f=$(flags)
[ "$f" = "$shell_flags" ] || fail "$shell_flags" "$f"

# Bad usage.
for bad in "" "$T/dead.db $T/fixed.db" "--bogus $T/dead.db"; do
    what="tapeloop tui $bad"
    checks=$((checks + 1))
    # shellcheck disable=SC2086  # split the arguments on purpose
    timeout "$LIMIT" "$tl" tui $bad </dev/null >"$T/out" 2>"$T/err"
    status=$?
    [ "$status" = 2 ] && grep -q '^usage: tapeloop tui ' "$T/err" ||
        fail "exit 2 and a usage line" "exit $status, $(head -1 "$T/err")"
done

# ---- verdict -----------------------------------------------------------

tm kill-server 2>/dev/null
if [ $failed -ne 0 ]; then
    echo "tui.sh: $failed of $checks checks failed ($B)"
    exit 1
fi
echo "tui.sh: all $checks checks passed ($B)"
exit 0
