/* SPDX-License-Identifier: MIT */
/* store.h -- the SQLite trace: turning a journal into one (import), and
 * opening one for reading (with recovery of a journal left by a process
 * that died).  The schema is schema.sql, documented in docs/trace-schema.md.
 */
#ifndef TL_STORE_H
#define TL_STORE_H

#include <stddef.h>

#define TL_SCHEMA_VERSION 2

typedef struct sqlite3 sqlite3;

/* How the recorded process ended, when its parent knows. */
typedef struct tl_import_info {
    int exited;                 /* 1: exit status below; 0: unknown */
    int status;                 /* exit code, or 128 + signal */
    int signal;                 /* the signal that killed it, or 0 */
} tl_import_info;

/* Refuses a recording target that exists (unless force > 0; force < 0
 * words the refusal for TAPELOOP_RECORD, which has no -f) or whose
 * directory cannot be written.  0, or -1 with a one-line message. */
int tl_store_check_target(const char *path, int force, char *err,
                          size_t errlen);

/* Turns the journal at jpath into the trace at dbpath (written beside it,
 * then renamed over it) and removes the journal.  info may be NULL.
 * 0, or -1 with a one-line message naming the file. */
int tl_store_import(const char *jpath, const char *dbpath,
                    const tl_import_info *info, char *err, size_t errlen);

/* Opens the trace at path read-only, first converting a journal its
 * recording process left behind.  Refuses what is not a tapeloop trace,
 * a newer schema, and a trace still being written.  0, or -1 with a
 * one-line message naming the file. */
int tl_trace_open(sqlite3 **db, const char *path, char *err, size_t errlen);

#endif /* TL_STORE_H */
