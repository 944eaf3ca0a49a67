# SPDX-License-Identifier: MIT
# asyncio_peer.py -- bench_loop's workloads written for Python's asyncio
# (stdlib only, default event loop), printed in bench_loop's line format.
"""Usage: python3 asyncio_peer.py [all|list|WORKLOAD] [REPEAT] [OPS]

Each run prints `name ops ops_per_sec ns_per_op [key=value ...]`, like
bench_loop, after an untimed warm-up run at a tenth of the count (as
bench_loop does).  Counts are a tenth of bench_loop's; every rate is per op.
Any failure raises, so the exit status is non-zero.  Timing uses
time.monotonic_ns (CLOCK_MONOTONIC), as bench_loop does.
"""

import asyncio
import sys
import time

NYIELDERS = 16          # tasks taking turns in the sleep(0) run
MSG_LEN = 32            # bytes per socket ping


async def _return_arg(v):
    return v


async def spawn_join(ops):
    """Create one task at a time and await it."""
    t0 = time.monotonic_ns()
    for i in range(ops):
        v = await asyncio.create_task(_return_arg(i + 1))
        if v != i + 1:
            raise RuntimeError(f"spawn_join: task {i} returned {v}")
    return ops, time.monotonic_ns() - t0, ""


async def _yielder(go, n):
    await go.wait()
    for _ in range(n):
        await asyncio.sleep(0)


async def sleep0(ops):
    """NYIELDERS tasks each yield ops/NYIELDERS times via sleep(0)."""
    n = ops // NYIELDERS
    go = asyncio.Event()
    tasks = [asyncio.create_task(_yielder(go, n)) for _ in range(NYIELDERS)]
    await asyncio.sleep(0)              # let them all park on the event
    t0 = time.monotonic_ns()
    go.set()
    for t in tasks:
        await t
    return n * NYIELDERS, time.monotonic_ns() - t0, f"tasks={NYIELDERS}"


async def _consumer(q, n):
    for i in range(n):
        item = await q.get()
        if item != i + 1:
            raise RuntimeError(f"queue: item {i} out of order")


async def _queue(ops, maxsize, handoff=False):
    q = asyncio.Queue(maxsize)
    c = asyncio.create_task(_consumer(q, ops))
    await asyncio.sleep(0)              # the consumer waits in get
    maxlen = 0
    t0 = time.monotonic_ns()
    for i in range(ops):
        await q.put(i + 1)
        if handoff:
            await asyncio.sleep(0)      # let the consumer take it now
        maxlen = max(maxlen, q.qsize())
    await c
    return (ops, time.monotonic_ns() - t0,
            f"maxsize={maxsize} maxlen={maxlen}")


async def queue(ops):
    """Producer to a waiting consumer through an unbounded queue."""
    return await _queue(ops, 0)


async def queue1(ops):
    """The same through a maxsize=1 queue."""
    return await _queue(ops, 1)


async def queue_handoff(ops):
    """Reference only: an unbounded queue whose producer yields after each
    put, so the consumer takes every item before the next, as tapeloop's
    put does by itself.  asyncio's put never yields on an unbounded queue,
    so `queue` above lets the producer run ahead and the consumer drain."""
    return await _queue(ops, 0, handoff=True)


async def _echo(reader, writer):
    try:
        while True:
            try:
                msg = await reader.readexactly(MSG_LEN)
            except asyncio.IncompleteReadError as e:
                if e.partial:
                    raise
                break
            writer.write(msg)
            await writer.drain()
    finally:
        writer.close()


async def _ping(reader, writer, i):
    out = f"ping {i}".encode().ljust(MSG_LEN, b"x")
    writer.write(out)
    await writer.drain()
    back = await reader.readexactly(MSG_LEN)
    if back != out:
        raise RuntimeError(f"socket: round trip {i} came back wrong")


async def socket(ops):
    """Ping-pong over loopback TCP with asyncio streams."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _ping(reader, writer, -1)     # the connection is up both ways
    t0 = time.monotonic_ns()
    for i in range(ops):
        await _ping(reader, writer, i)
    ns = time.monotonic_ns() - t0
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return ops, ns, f"msg={MSG_LEN}"


WORKLOADS = {               # name: (coroutine, default count)
    "spawn_join": (spawn_join, 10000),
    "sleep0": (sleep0, 100000),
    "queue": (queue, 100000),
    "queue1": (queue1, 100000),
    "queue_handoff": (queue_handoff, 100000),
    "socket": (socket, 10000),
}


def run(name, ops):
    fn, default = WORKLOADS[name]
    ops = ops or default
    # Warm up at a tenth of the count, untimed: the first socket run in a
    # process is over twice as slow as every later one.
    asyncio.run(fn(max(1, ops // 10)))
    n, ns, extra = asyncio.run(fn(ops))
    if n <= 0 or ns <= 0:
        raise RuntimeError(f"{name}: nothing measured")
    line = f"{name} {n} {n * 1e9 / ns:.0f} {ns / n:.2f}"
    print(line + (" " + extra if extra else ""), flush=True)


def number(s):
    n = int(s)
    if n <= 0:
        raise ValueError(f"not a positive count: {s}")
    return n


def main(argv):
    if len(argv) > 4:
        sys.exit(__doc__)
    which = argv[1] if len(argv) > 1 else "all"
    repeat = number(argv[2]) if len(argv) > 2 else 1
    ops = number(argv[3]) if len(argv) > 3 else 0
    if which == "list":
        print("\n".join(WORKLOADS))
        return
    names = list(WORKLOADS) if which == "all" else [which]
    for name in names:
        if name not in WORKLOADS:
            sys.exit(__doc__)
        for _ in range(repeat):
            run(name, ops)


if __name__ == "__main__":
    main(sys.argv)
