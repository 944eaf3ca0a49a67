# SPDX-License-Identifier: MIT
# stats_export.sh -- end-to-end checks of `tapeloop stats` and `tapeloop
# export`: real traces recorded from the examples, the numbers checked
# against the trace itself (python3's sqlite3) and the Chrome JSON checked
# for structure.  Every run is bounded by timeout; a sanitizer report fails.
# Usage: sh tests/e2e/stats_export.sh BUILDDIR.  Exits 1 if any check failed.

B=${1:?usage: sh tests/e2e/stats_export.sh BUILDDIR}
LIMIT=${TL_E2E_TIMEOUT:-60}     # seconds per run
failed=0
checks=0

for p in tapeloop pipeline echo flaky; do
    if [ ! -x "$B/$p" ]; then
        echo "stats_export.sh: $B/$p not found" >&2
        exit 1
    fi
done
for tool in timeout python3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "stats_export.sh: needs $tool" >&2
        exit 1
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/tapeloop-e2e.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

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

# one_line_error: stdout empty, stderr exactly one "tapeloop: ..." line.
one_line_error() {
    checks=$((checks + 1))
    if [ -s "$T/out" ] || [ "$(wc -l <"$T/err")" -ne 1 ] ||
        ! grep -q '^tapeloop: ' "$T/err"; then
        fail "no output and one 'tapeloop: ...' line on stderr" \
            "$(wc -c <"$T/out") bytes out, $(wc -l <"$T/err") lines err"
    fi
}

# pycheck MODE ARGS...: runs a check below; its output is the reason.
pycheck() {
    checks=$((checks + 1))
    why=$(timeout "$LIMIT" python3 "$T/check.py" "$@" 2>&1) ||
        fail "python check '$1' passes" "$why"
}

cat >"$T/check.py" <<'EOF'
import collections, json, sqlite3, sys

def db_counts(path):
    """Per-kind counts and per-(loop, task) resume counts, from SQL."""
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    kinds = dict(c.execute("SELECT k.name, count(e.seq) FROM kinds k "
                           "LEFT JOIN events e ON e.kind = k.kind GROUP BY 1"))
    cols = [r[1] for r in c.execute("PRAGMA table_info(events)")]
    loop = "e.loop" if "loop" in cols else \
        "(SELECT loop FROM runs r WHERE r.run = e.run)"
    resumes = {(l, t): n for l, t, n in c.execute(
        "SELECT %s, e.task, count(*) FROM events e JOIN kinds k "
        "ON k.kind = e.kind WHERE k.name = 'resume' GROUP BY 1, 2" % loop)}
    tasks = c.execute("SELECT loop, id, coalesce(name, '') FROM tasks"
                      ).fetchall()
    return kinds, resumes, tasks

def stats(db, js, items):
    d = json.load(open(js))
    kinds, resumes, tasks = db_counts(db)
    assert d["events"] == sum(kinds.values()), "events total"
    assert d["kinds"] == kinds, "kinds %r != %r" % (d["kinds"], kinds)
    assert len(d["tasks"]) == len(tasks), "one entry per task"
    for t in d["tasks"]:
        assert t["steps"] == resumes.get((t["loop"], t["id"]), 0), t
        assert 0 <= t["running_ns"] and 0 <= t["blocked_ns"], t
        assert t["running_ns"] + t["blocked_ns"] <= d["duration_ns"], t
        assert sum(t["blocked_by"].values()) == t["blocked_ns"], t
    if items is not None:
        q = {q["name"]: q for q in d["queues"]}
        for name in ("raw", "parsed", "out"):
            assert q[name]["puts"] == int(items), q[name]
            assert q[name]["gets"] == int(items), q[name]
            assert 1 <= q[name]["peak_depth"] <= q[name]["maxsize"], q[name]
            assert q[name]["closed"], q[name]
        ends = {t["name"]: t["end_state"] for t in d["tasks"]}
        assert set(ends.values()) == {"done"}, ends
        assert d["runs"][0]["rc"] == 0, d["runs"]

def deadlock(js):
    d = json.load(open(js))
    stuck = {t["name"]: t["blocked_at_end"] for t in d["tasks"]
             if t["end_state"] is None}
    assert stuck.get("main", "").startswith("join t"), stuck
    assert stuck.get("sink", "").endswith(" out"), stuck
    assert stuck["sink"].startswith("get q"), stuck
    assert d["runs"][0]["rc_name"] == "TL_EDEADLOCK", d["runs"]

def export(db, js, items, spawns):
    d = json.load(open(js))
    ev = d["traceEvents"]
    kinds, resumes, tasks = db_counts(db)
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
             if e["ph"] == "M" and e["name"] == "thread_name"}
    for loop, tid, name in tasks:
        want = "%d %s" % (tid, name) if name else "%d" % tid
        assert names.get((loop, tid)) == want, (loop, tid, names)
    tracks = collections.defaultdict(list)
    running = collections.Counter()
    for e in ev:
        assert e["ph"] in "XisfCM", e
        assert isinstance(e["ts"], (int, float)), e
        if e["ph"] == "X":
            assert e["dur"] >= 0 and e["cat"] in ("running", "blocked"), e
            tracks[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
            running[(e["pid"], e["tid"])] += e["cat"] == "running"
    assert running == collections.Counter(resumes), (running, resumes)
    for k, spans in tracks.items():
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            assert b[0] >= a[1] - 1e-9, ("slices overlap", k, a, b)
    flows = collections.defaultdict(dict)
    for e in ev:
        if e["ph"] in "sf":
            assert e["ph"] not in flows[e["id"]], ("flow id reused", e)
            flows[e["id"]][e["ph"]] = e
    byname = collections.Counter()
    for i, f in flows.items():
        assert set(f) == {"s", "f"}, ("unpaired flow", f)
        assert f["s"]["name"] == f["f"]["name"], f
        assert f["f"].get("bp") == "e" and f["s"]["ts"] <= f["f"]["ts"], f
        byname[f["s"]["name"]] += 1
    assert byname["spawn"] == int(spawns), byname
    if items is not None:
        assert byname["item"] == 3 * int(items), byname
        # The source (task 2) puts into raw, and parse (task 3) gets.
        assert any(f["s"]["name"] == "item" and f["s"]["tid"] == 2 and
                   f["f"]["tid"] == 3 for f in flows.values()), "2 -> 3"
    return d

def export_deadlock(db, js):
    d = export(db, js, None, 4)
    ev = d["traceEvents"]
    dl = [e for e in ev if e["ph"] == "i" and e["name"] == "deadlock"]
    assert len(dl) == 1 and len(dl[0]["args"]["waits"]) == 2, dl
    never = [e for e in ev if e["ph"] == "X" and
             e["args"].get("ended") == "never woken"]
    assert sorted(e["name"].split()[0] for e in never) == ["get", "join"], \
        never

mode, args = sys.argv[1], sys.argv[2:]
try:
    {"stats": lambda: stats(args[0], args[1], args[2] if args[2:] else None),
     "deadlock": lambda: deadlock(args[0]),
     "export": lambda: export(args[0], args[1],
                              args[2] if args[2] != "-" else None, args[3]),
     "export_deadlock": lambda: export_deadlock(args[0], args[1]),
     "json": lambda: json.load(open(args[0]))}[mode]()
except AssertionError as e:
    print("assertion:", str(e)[:600])
    sys.exit(1)
EOF

tl="$B/tapeloop"

# ---- traces ------------------------------------------------------------

run "$tl" record -o "$T/fixed.db" -- "$B/pipeline" --fixed --items 10
status_is 0
run "$tl" record -o "$T/fixed57.db" -- "$B/pipeline" --fixed --items 57
status_is 0
run "$tl" record -o "$T/dead.db" -- "$B/pipeline"
status_is 1
run "$tl" record -o "$T/echo.db" -- "$B/echo" --clients 3 --messages 5
status_is 0
run "$tl" record -o "$T/flaky.db" -- "$B/flaky" --delay-ms 1 --timeout-ms 200
status_is 0

# ---- stats -------------------------------------------------------------

run "$tl" stats "$T/fixed.db"
status_is 0
out_has '^events by kind$'
out_has '^  resume +[1-9][0-9]*$'
# loop 1, queue 1 "raw": max 2, 10 puts, 10 gets, peak 1..2, closed
out_has '^ +1 +1 +raw +2 +10 +10 +[12] .* yes$'
out_has '^ +1 +5 +sink +[1-9][0-9]* .* done +get '

for db in fixed fixed57 dead echo flaky; do
    run "$tl" stats --json "$T/$db.db"
    status_is 0
    cp "$T/out" "$T/$db.stats.json"
    case $db in
    fixed) pycheck stats "$T/$db.db" "$T/$db.stats.json" 10 ;;
    fixed57) pycheck stats "$T/$db.db" "$T/$db.stats.json" 57 ;;
    *) pycheck stats "$T/$db.db" "$T/$db.stats.json" ;;
    esac
done
pycheck deadlock "$T/dead.stats.json"

run "$tl" stats "$T/dead.db"
status_is 0
out_has '^ +1 +1 +main .* blocked: join t[0-9]+ sink'
out_has '^ +1 +[0-9]+ +sink .* blocked: get q[0-9]+ out'
out_has '^ +1 +1 +1 +-35 TL_EDEADLOCK$'

run "$tl" stats "$T/echo.db"
status_is 0
out_has 'client-1 .* done .*recv '

# ---- export ------------------------------------------------------------

run "$tl" export --format chrome "$T/fixed.db"
status_is 0
cp "$T/out" "$T/fixed.stdout.json"
pycheck export "$T/fixed.db" "$T/fixed.stdout.json" 10 4

run "$tl" export --format=chrome -o "$T/fixed.json" "$T/fixed.db"
status_is 0
checks=$((checks + 1))
cmp -s "$T/fixed.json" "$T/fixed.stdout.json" ||
    fail "-o writes what stdout gets" "they differ"

run "$tl" export -o "$T/fixed57.json" "$T/fixed57.db"
status_is 0
pycheck export "$T/fixed57.db" "$T/fixed57.json" 57 4

run "$tl" export -o "$T/dead.json" "$T/dead.db"
status_is 0
pycheck export_deadlock "$T/dead.db" "$T/dead.json"

run "$tl" export -o "$T/echo.json" "$T/echo.db"
status_is 0
pycheck export "$T/echo.db" "$T/echo.json" - 7

run "$tl" export -o "$T/flaky.json" "$T/flaky.db"
status_is 0
pycheck export "$T/flaky.db" "$T/flaky.json" - 3

# ---- bad input and usage -----------------------------------------------

echo "just some text, not a trace" >"$T/text.db"
: >"$T/empty.db"
for bad in text.db empty.db missing.db; do
    for cmd in "stats" "stats --json" "export" "export -o $T/x.json"; do
        # shellcheck disable=SC2086  # split the command on purpose
        run "$tl" $cmd "$T/$bad"
        status_is 2
        one_line_error
    done
    checks=$((checks + 1))
    [ ! -e "$T/x.json" ] || fail "no output file for bad input" "$T/x.json"
done

for bad in "stats" "stats --bogus $T/fixed.db" "stats $T/fixed.db $T/dead.db" \
           "export" "export --format svg $T/fixed.db" "export --format" \
           "export -o" "export --bogus $T/fixed.db"; do
    # shellcheck disable=SC2086
    run "$tl" $bad
    status_is 2
    checks=$((checks + 1))
    grep -q '^usage: tapeloop ' "$T/err" || fail "a usage line" "none"
done

run "$tl" export -o "$T/no/such/dir/x.json" "$T/fixed.db"
status_is 2
one_line_error

for cmd in stats export; do
    run "$tl" $cmd --help
    status_is 0
    out_has "^usage: tapeloop $cmd "
done

# ---- verdict -----------------------------------------------------------

if [ $failed -ne 0 ]; then
    echo "stats_export.sh: $failed of $checks checks failed ($B)"
    exit 1
fi
echo "stats_export.sh: all $checks checks passed ($B)"
exit 0
