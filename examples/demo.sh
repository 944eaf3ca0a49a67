# SPDX-License-Identifier: MIT
# demo.sh -- what `make demo` does: records the pipeline example, which
# deadlocks by design, and opens the trace in the TUI at the deadlock; with
# no terminal, prints `tapeloop deadlocks` and `tapeloop stats` instead.
# Usage: sh examples/demo.sh [BUILDDIR]   (default: build)
B=${1:-build}
tl="$B/tapeloop"
trace="$B/demo/pipeline.db"

for f in "$tl" "$B/pipeline"; do
    [ -x "$f" ] || { echo "demo: $f not found; build first (make build)" >&2; exit 1; }
done
mkdir -p "$B/demo" || exit 1
echo '== Recording examples/pipeline.c: source -> parse -> transform -> sink over'
echo '   queues of 2.  transform forgets to close its output queue "out", so sink'
echo '   waits for ever; the loop sees that nothing can wake it and stops.'
echo
echo "\$ $tl record -f -o $trace -- $B/pipeline"
"$tl" record -f -o "$trace" -- "$B/pipeline" | sed 's/^/    /'
echo "    (exit status 1: the program reported the deadlock)"
echo
if [ -t 0 ] && [ -t 1 ] && [ -z "${TAPELOOP_DEMO_NO_TUI:-}" ]; then
    echo "Opening the TUI at the deadlock (? lists the keys, q quits)..."
    sleep 1
    exec "$tl" tui "$trace"
fi
echo "No terminal here, so instead of the TUI: why the run hung."
echo
echo "\$ $tl deadlocks $trace"
"$tl" deadlocks "$trace"
echo
echo "\$ $tl stats $trace"
"$tl" stats "$trace"
echo
echo "Browse it: $tl tui $trace    Replay it: $tl replay $trace"
exit 0
