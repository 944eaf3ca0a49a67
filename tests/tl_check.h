/* SPDX-License-Identifier: MIT */
/* tl_check.h -- what every Check suite shares: the runner's main, and
 * running a root task on a fresh loop that must end with nothing left
 * behind.  Each suite file defines Suite *tl_<module>_suite(void). */
#ifndef TL_CHECK_H
#define TL_CHECK_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapeloop.h"

#define TL_CHECK_MAIN(suite_fn)                                             \
    int main(void)                                                          \
    {                                                                       \
        SRunner *sr = srunner_create(suite_fn());                           \
        int nf;                                                             \
        srunner_run_all(sr, CK_NORMAL);                                     \
        nf = srunner_ntests_failed(sr);                                     \
        srunner_free(sr);                                                   \
        return nf ? EXIT_FAILURE : EXIT_SUCCESS;                            \
    }

/* Runs fn(arg) as the root of a new loop, frees the loop, returns what
 * tl_loop_run returned. */
static inline int
tl_check_run(tl_task_fn fn, void *arg, void **result)
{
    tl_loop *loop;
    int rc;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    rc = tl_loop_run(loop, fn, arg, result);
    tl_loop_free(loop);
    return rc;
}

/* ---- the event log: tasks note words, a test compares the line ------- */

static inline char *
tl_log(void)
{
    static char buf[8192];      /* words separated by one space */
    return buf;
}

static inline void
log_reset(void)
{
    tl_log()[0] = '\0';
}

static inline void TL_PRINTF(1, 2)
note(const char *fmt, ...)
{
    char *tlog = tl_log();
    size_t n = strlen(tlog), cap = 8192;
    va_list ap;

    if (n + 2 >= cap)
        return;
    if (n)
        tlog[n++] = ' ';
    va_start(ap, fmt);
    vsnprintf(tlog + n, cap - n, fmt, ap);
    va_end(ap);
}

/* "ok" for 0, else the code's name: what a task logs for a result. */
static inline const char *
rcs(int rc)
{
    return rc == 0 ? "ok" : tl_err_name(rc);
}

#ifdef SQLITE_VERSION           /* suites that read traces: sqlite3.h first */
/* The first column of the first row of sql. */
static inline long long
q_int(sqlite3 *d, const char *sql)
{
    sqlite3_stmt *s;
    long long v;

    ck_assert_msg(sqlite3_prepare_v2(d, sql, -1, &s, NULL) == SQLITE_OK,
                  "%s: %s", sql, sqlite3_errmsg(d));
    ck_assert_msg(sqlite3_step(s) == SQLITE_ROW, "%s: no row", sql);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}
#endif

#endif
