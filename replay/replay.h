/* SPDX-License-Identifier: MIT */
/* replay.h -- what tl_loop_new needs from replay/: the env that serves a
 * loop's inputs from a trace (TAPELOOP_REPLAY), and the hook that checks its
 * events. */
#ifndef TL_REPLAY_H
#define TL_REPLAY_H

#include "env.h"

/* The replay env for the trace at path (opened once per process).  0, or
 * TL_EINVAL after printing one line naming the file. */
int tl__replay_env(const tl_env **out, const char *path);
/* Installs the checking hook on a loop whose env is the replay env. */
int tl__replay_attach(tl_loop *loop);

#endif
