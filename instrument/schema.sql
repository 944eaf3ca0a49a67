-- SPDX-License-Identifier: MIT
-- schema.sql -- the tapeloop trace, schema version 1 (PRAGMA user_version).
-- Ids of tasks and objects are per loop: key them with the event's loop.  Times are ns since the trace's first event.  Documented,
-- with example queries, in docs/trace-schema.md.

CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;

CREATE TABLE kinds(
    kind INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    events INTEGER              -- how many events of this kind the trace has
);

CREATE TABLE runs(
    run INTEGER PRIMARY KEY,    -- tl_loop_run call, process-wide from 1
    loop INTEGER NOT NULL,      -- the loop it ran (process-wide from 1)
    root INTEGER,               -- the root task's id
    start_seq INTEGER, end_seq INTEGER,
    rc INTEGER                  -- what tl_loop_run returned; NULL: died
);

CREATE TABLE tasks(
    loop INTEGER NOT NULL, id INTEGER NOT NULL,
    parent INTEGER,             -- spawner's id, 0 for a root
    name TEXT,
    run INTEGER,                -- the run it was spawned in
    spawn_seq INTEGER, end_seq INTEGER,
    end_state TEXT,             -- done, failed, cancelled; NULL: never ended
    message TEXT,               -- a failed task's message
    last_seq INTEGER,           -- its last event as the acting task
    seqs BLOB,                  -- all of them, when at most 64: varints,
                                -- each the difference from the one before
    PRIMARY KEY(loop, id)
) WITHOUT ROWID;

CREATE TABLE queues(
    loop INTEGER NOT NULL, id INTEGER NOT NULL,
    name TEXT, maxsize INTEGER, -- 0: unbounded
    new_seq INTEGER, close_seq INTEGER,
    PRIMARY KEY(loop, id)
) WITHOUT ROWID;

CREATE TABLE syncs(             -- flags, locks, conditions, latches
    loop INTEGER NOT NULL, id INTEGER NOT NULL,
    kind TEXT, name TEXT, count INTEGER, new_seq INTEGER,
    PRIMARY KEY(loop, id)
) WITHOUT ROWID;

CREATE TABLE sockets(
    loop INTEGER NOT NULL, id INTEGER NOT NULL,
    host TEXT, port INTEGER,    -- listen: bound port; connect: peer port
    role TEXT,                  -- listener, client, accepted
    open_seq INTEGER, close_seq INTEGER,
    PRIMARY KEY(loop, id)
) WITHOUT ROWID;

CREATE TABLE events(
    seq INTEGER PRIMARY KEY,    -- order in the trace, from 1
    loop INTEGER NOT NULL,      -- the loop it happened in
    run INTEGER NOT NULL,       -- its run; 0 before the loop's first run
    time INTEGER NOT NULL,      -- ns since the first event
    kind INTEGER NOT NULL,      -- kinds.kind
    task INTEGER,               -- the task that acted, 0: the loop
    okind INTEGER,              -- what object is: 0 none, 1 task, 2 queue,
                                -- 3 socket, 4 flag, 5 lock, 6 cond, 7 latch
    object INTEGER,
    a INTEGER, b INTEGER,       -- per kind
    flags INTEGER               -- 1: immediate (did not block)
);
-- events_kind ON events(kind) is created at the end of the import.

CREATE TABLE payloads(seq INTEGER PRIMARY KEY, data BLOB);  -- socket bytes,
                                                            -- names, messages
CREATE TABLE deadlock_waits(    -- one row per task blocked at a deadlock
    seq INTEGER, task INTEGER, wait TEXT, okind INTEGER, object INTEGER
);

CREATE TABLE checkpoints(       -- the whole state (instrument/state.c)
    seq INTEGER PRIMARY KEY,    -- after this event; every 4096 events
    data BLOB
);

CREATE TABLE waits(kind INTEGER PRIMARY KEY, name TEXT);   -- tl_wait_kind
INSERT INTO waits VALUES (0,'none'),(1,'join'),(2,'sleep'),(3,'get'),
    (4,'put'),(5,'peek'),(6,'flag'),(7,'lock'),(8,'cond'),(9,'latch'),
    (10,'accept'),(11,'connect'),(12,'recv'),(13,'send'),(14,'command');

CREATE VIEW event_log AS
SELECT e.seq, e.time / 1e9 AS time, e.task,
       CASE WHEN e.task = 0 THEN 'loop' ELSE t.name END AS task_name,
       k.name AS kind, e.object,
       CASE e.okind WHEN 1 THEN ot.name WHEN 2 THEN q.name
                    WHEN 3 THEN 'socket ' || e.object
                    WHEN 0 THEN NULL ELSE sy.name END AS object_name,
       CASE
         WHEN k.name IN ('queue_put', 'queue_get') THEN
           'item #' || e.a || ', len ' || e.b
           || CASE WHEN e.flags & 1 THEN ' (immediate)' ELSE '' END
         WHEN k.name = 'queue_peek' THEN 'item #' || e.a
           || CASE WHEN e.flags & 1 THEN ' (immediate)' ELSE '' END
         WHEN k.name = 'queue_handoff' THEN
           'item #' || e.a || ' to task ' || e.b
         WHEN k.name = 'block' THEN 'on ' || w.name
         WHEN k.name = 'wake' THEN
           CASE WHEN e.b = 0 THEN 'by the loop' ELSE 'by task ' || e.b END
           || CASE WHEN e.a = 0 THEN '' ELSE ', rc ' || e.a END
         WHEN k.name = 'resume' THEN
           CASE WHEN e.a = 0 THEN '' ELSE 'rc ' || e.a END
         WHEN k.name = 'sleep' THEN
           CASE WHEN e.flags & 1 THEN 'yield' ELSE (e.a / 1e9) || ' s' END
         WHEN k.name = 'task_failed' THEN
           (SELECT CAST(p.data AS TEXT) FROM payloads p WHERE p.seq = e.seq)
         WHEN k.name IN ('socket_recv', 'socket_send') THEN e.a || ' bytes'
         WHEN k.name = 'socket_listen' THEN 'port ' || e.a
         WHEN k.name = 'socket_connect_start' THEN 'port ' || e.a
         WHEN k.name LIKE 'socket_%_ready' OR k.name = 'socket_connect_ready'
           THEN 'rc ' || e.a
           || CASE WHEN e.flags & 1 THEN ' (immediate)' ELSE '' END
         WHEN k.name = 'deadlock' THEN e.a || ' tasks blocked'
         WHEN k.name IN ('join', 'flag_wait', 'latch_wait')
           THEN CASE WHEN e.flags & 1 THEN 'immediate' ELSE '' END
         WHEN k.name = 'lock_acquire'
           THEN CASE WHEN e.flags & 1 THEN 'immediate' ELSE 'handed over' END
         WHEN k.name = 'lock_release'
           THEN CASE WHEN e.b = 0 THEN 'free' ELSE 'to task ' || e.b END
         WHEN k.name = 'run_end' THEN 'rc ' || e.a
         WHEN k.name IN ('clock', 'random') THEN CAST(e.a AS TEXT)
         ELSE ''
       END AS detail
FROM events e
JOIN kinds k ON k.kind = e.kind
LEFT JOIN tasks t ON t.loop = e.loop AND t.id = e.task
LEFT JOIN tasks ot ON e.okind = 1 AND ot.loop = e.loop AND ot.id = e.object
LEFT JOIN queues q ON e.okind = 2 AND q.loop = e.loop AND q.id = e.object
LEFT JOIN syncs sy ON e.okind >= 4 AND sy.loop = e.loop AND sy.id = e.object
LEFT JOIN waits w ON k.name = 'block' AND w.kind = e.a;
