/* SPDX-License-Identifier: MIT */
/* env.h -- the seam through which everything a run depends on from outside
 * enters the loop: the clock, socket readiness and its order, the results
 * of socket calls, the random seed.  The scheduler never calls the OS for
 * these; env_real.c does (CLOCK_MONOTONIC, libevent), and a replay env can
 * serve the same calls from a trace without touching the OS.
 */
#ifndef TL_ENV_H
#define TL_ENV_H

#include <stdint.h>
#include <sys/types.h>

#include "tapeloop.h"

enum { TL_IO_READ = 0, TL_IO_WRITE = 1 };

enum tl_sockop {
    TL_SOCK_LISTEN,             /* host, port, backlog -> fd, port */
    TL_SOCK_CONNECT,            /* host, port -> fd; 0 or TL_EAGAIN */
    TL_SOCK_CONNECTED,          /* fd -> the connect's outcome, port */
    TL_SOCK_ACCEPT,             /* fd -> fd (new), port (peer's) */
    TL_SOCK_RECV,               /* fd, buf, len -> bytes */
    TL_SOCK_SEND,               /* fd, buf, len -> bytes */
    TL_SOCK_CLOSE,              /* fd; also drops the env's socket state */
    TL_SOCK_FORGET              /* drop the env's socket state, keep fd */
};

/* One socket call.  Results are >= 0 or -errno; TL_EAGAIN means "wait for
 * readiness and ask again". */
typedef struct tl_sockreq {
    int op;                     /* enum tl_sockop */
    tl_socket *sock;            /* the socket it is about (NULL: new one) */
    int fd;                     /* in: the socket's fd; out: a new fd */
    const char *host;           /* listen, connect */
    int port;                   /* in: listen/connect; out: bound/peer */
    int backlog;                /* listen */
    void *buf;                  /* recv: filled; send: sent */
    size_t len;                 /* its size */
} tl_sockreq;

struct tl_env {
    const char *name;                                   /* "real", ... */
    int cheap_now;      /* now() costs little (virtual): events use it */
    int replay;         /* serves a recording: its seed beats TAPELOOP_SEED */
    int (*open)(void **state, tl_loop *loop);           /* 0 or TL_E* */
    void (*close)(void *state);
    int64_t (*now)(void *state);                        /* ns, monotonic */
    uint64_t (*seed)(void *state);                      /* for tl_random */
    /* Waits up to timeout_ns (< 0: until something is ready) and reports
     * each ready socket with tl__io_ready, in the order it learnt them. */
    int (*poll)(void *state, int64_t timeout_ns);
    /* One-shot interest in s becoming readable/writable (dir). */
    int (*watch)(void *state, tl_socket *s, int fd, int dir, void **slot);
    void (*unwatch)(void *state, int dir, void **slot);
    ssize_t (*sock)(void *state, tl_sockreq *req, void **slot);
};

/* Called by an env's poll: s is ready in direction dir. */
void tl__io_ready(tl_socket *s, int dir);

extern const tl_env tl__env_real;
extern const tl_env tl__env_virtual;    /* real I/O, a clock that jumps */

#endif /* TL_ENV_H */
