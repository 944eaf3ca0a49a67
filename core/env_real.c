/* SPDX-License-Identifier: MIT */
/* env_real.c -- the real environment: CLOCK_MONOTONIC, getrandom, TCP
 * sockets, and libevent for readiness (epoll with the changelist flag, one
 * poll per loop pass, one-shot events).  Its only caller is the loop,
 * through struct tl_env.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop_int.h"

typedef struct real {
    struct event_base *base;    /* libevent */
    struct event *wake;         /* timer that ends a waiting poll */
} real;

typedef struct io {
    struct event *ev[2];        /* read, write; created on first watch */
} io;

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

static int
real_open(void **state, tl_loop *loop)
{
    struct event_config *cfg = event_config_new();
    real *r = tl__calloc(sizeof *r);

    (void)loop;
    if (!cfg || !r)
        goto fail;
    /* PRECISE_TIMER: with the coarse clock, a wait that epoll ended on
     * time looks early to libevent, which waits again (sleeps ran ~4 ms
     * late). */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST |
                                   EVENT_BASE_FLAG_NOLOCK |
                                   EVENT_BASE_FLAG_PRECISE_TIMER);
    if (!(r->base = event_base_new_with_config(cfg)))
        goto fail;
    if (!(r->wake = evtimer_new(r->base, on_timer, NULL)))
        goto fail;
    event_config_free(cfg);
    *state = r;
    return 0;
fail:
    if (r && r->base)
        event_base_free(r->base);
    if (cfg)
        event_config_free(cfg);
    tl__free(r);
    return TL_ENOMEM;
}

static void
real_close(void *state)
{
    real *r = state;

    event_free(r->wake);
    event_base_free(r->base);
    tl__free(r);
}

static int64_t
real_now(void *state)
{
    struct timespec ts;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t
real_seed(void *state)
{
    uint64_t s = 0;

    (void)state;
    if (getrandom(&s, sizeof s, 0) != sizeof s)
        s = (uint64_t)real_now(NULL) ^ (uint64_t)getpid();
    return s;
}

/* Poll once.  A timeout arms the wake timer so EVLOOP_ONCE returns by then
 * even if no socket becomes ready. */
static int
real_poll(void *state, int64_t timeout)
{
    real *r = state;
    int flags = EVLOOP_ONCE;

    if (timeout == 0) {
        flags |= EVLOOP_NONBLOCK;
    } else if (timeout > 0) {
        struct timeval tv = {.tv_sec = timeout / 1000000000,
                             .tv_usec = (timeout % 1000000000 + 999) / 1000};
        evtimer_add(r->wake, &tv);
    }
    if (event_base_loop(r->base, flags) < 0)
        return -EIO;
    if (timeout > 0)
        evtimer_del(r->wake);
    return 0;
}

static void
on_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    tl__io_ready(arg, (what & EV_WRITE) ? TL_IO_WRITE : TL_IO_READ);
}

static int
real_watch(void *state, tl_socket *s, int fd, int dir, void **slot)
{
    real *r = state;
    io *x = *slot;

    if (!x && !(x = *slot = tl__calloc(sizeof *x)))
        return TL_ENOMEM;
    if (!x->ev[dir] &&
        !(x->ev[dir] = event_new(r->base, fd, dir ? EV_WRITE : EV_READ,
                                 on_ready, s)))
        return TL_ENOMEM;
    return event_add(x->ev[dir], NULL) == 0 ? 0 : TL_ENOMEM;
}

static void
real_unwatch(void *state, int dir, void **slot)
{
    io *x = *slot;

    (void)state;
    if (x && x->ev[dir])
        event_del(x->ev[dir]);
}

static void
forget(void **slot)
{
    io *x = *slot;

    if (!x)
        return;
    for (int d = 0; d < 2; d++)
        if (x->ev[d])
            event_free(x->ev[d]);
    tl__free(x);
    *slot = NULL;
}

/* Resolves host:port.  Only numeric addresses and "localhost": a DNS
 * lookup would block the whole loop. */
static int
resolve(const char *host, int port, int passive, struct addrinfo **ai)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV |
                                         (passive ? AI_PASSIVE : 0)};
    char serv[16];

    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    hints.ai_flags |= AI_NUMERICHOST;
    snprintf(serv, sizeof serv, "%d", port);
    return getaddrinfo(host, serv, &hints, ai) == 0 ? 0 : TL_EINVAL;
}

static int
port_of(int fd, int peer)
{
    struct sockaddr_storage ss;
    socklen_t n = sizeof ss;

    if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss, &n))
        return 0;
    return ntohs(ss.ss_family == AF_INET6
                     ? ((struct sockaddr_in6 *)&ss)->sin6_port
                     : ((struct sockaddr_in *)&ss)->sin_port);
}

static int
open_socket(const char *host, int port, tl_sockreq *req, int listening)
{
    struct addrinfo *ai;
    int fd, rc = resolve(host, port, listening, &ai), one = 1;

    if (rc)
        return rc;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
    } else if (listening) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) ||
            listen(fd, req->backlog))
            rc = -errno;
        req->port = port_of(fd, 0);
    } else {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen))
            rc = errno == EINPROGRESS ? TL_EAGAIN : -errno;
    }
    freeaddrinfo(ai);
    if (rc < 0 && rc != TL_EAGAIN && fd >= 0)
        close(fd);
    else
        req->fd = fd;
    return rc;
}

static ssize_t
neg_errno(ssize_t n)
{
    return n >= 0 ? n : (errno == EWOULDBLOCK ? TL_EAGAIN : -errno);
}

static ssize_t
real_sock(void *state, tl_sockreq *q, void **slot)
{
    int fd, err = 0, one = 1;
    socklen_t n = sizeof err;

    (void)state;
    switch (q->op) {
    case TL_SOCK_LISTEN:
        return open_socket(q->host, q->port, q, 1);
    case TL_SOCK_CONNECT:
        return open_socket(q->host, q->port, q, 0);
    case TL_SOCK_CONNECTED:
        if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &n))
            return -errno;
        return -err;
    case TL_SOCK_ACCEPT:
        fd = accept4(q->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return neg_errno(-1);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        q->fd = fd;
        q->port = port_of(fd, 1);
        return 0;
    case TL_SOCK_RECV:
        return neg_errno(recv(q->fd, q->buf, q->len, 0));
    case TL_SOCK_SEND:
        return neg_errno(send(q->fd, q->buf, q->len, MSG_NOSIGNAL));
    case TL_SOCK_CLOSE:
        forget(slot);
        if (q->fd >= 0)
            close(q->fd);
        return 0;
    case TL_SOCK_FORGET:
        forget(slot);
        return 0;
    }
    return TL_EINVAL;
}

const tl_env tl__env_real = {
    .name = "real",
    .cheap_now = 0,
    .open = real_open,
    .close = real_close,
    .now = real_now,
    .seed = real_seed,
    .poll = real_poll,
    .watch = real_watch,
    .unwatch = real_unwatch,
    .sock = real_sock,
};
