/* SPDX-License-Identifier: MIT */
/* env_real.c -- the real environment: CLOCK_MONOTONIC, getrandom, TCP
 * sockets, and libevent for readiness (epoll with the changelist flag, one
 * poll per loop pass).  Each socket direction has one persistent
 * edge-triggered event, registered once; an edge marks the direction
 * ready, and a call that found it not ready is answered TL_EAGAIN without
 * a syscall.  Small reads are buffered ahead, so that a short one shows
 * the socket drained (recv_ahead).  A timerfd bounds a waiting poll to
 * the ns.  Its only caller is the loop, through struct tl_env.
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
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loop_int.h"

typedef struct real {
    struct event_base *base;    /* libevent */
    int64_t vnow;               /* the virtual env's clock, ns */
    unsigned long woken;        /* readiness callbacks so far */
    int tfd;                    /* timerfd that ends a waiting poll */
    struct event *tev;          /* its persistent event */
} real;

typedef struct io {
    struct real *real;          /* the env it belongs to */
    tl_socket *sock;            /* whose state this is */
    struct event *ev[2];        /* read, write; made at the first watch */
    unsigned char ready[2];     /* an edge came since the last EAGAIN */
    unsigned char rdhup;        /* the peer's end of stream was seen */
    char *ahead;                /* bytes read ahead, not yet taken */
    size_t at, left;            /* where they start, how many */
} io;

/* Small reads go through a buffer this big: a read that comes back short
 * says the socket is drained (unless the peer's end of stream came with
 * the edge: EV_CLOSED), so the next one waits for the next edge without
 * a recv that fails with EAGAIN. */
#define AHEAD 16384
#define DIRECT 4096             /* reads this big skip the buffer: the copy
                                   would cost more than the recv it saves */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof n);

    (void)what, (void)arg, (void)r;
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
    r->tfd = -1;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST |
                                   EVENT_BASE_FLAG_NOLOCK);
    if (!(r->base = event_base_new_with_config(cfg)))
        goto fail;
    r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r->tfd < 0 ||
        !(r->tev = event_new(r->base, r->tfd, EV_READ | EV_PERSIST, on_timer,
                             r)) ||
        event_add(r->tev, NULL) != 0)
        goto fail;
    event_config_free(cfg);
    *state = r;
    return 0;
fail:
    if (r && r->tev)
        event_free(r->tev);
    if (r && r->tfd >= 0)
        close(r->tfd);
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

    event_free(r->tev);
    close(r->tfd);
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

/* Poll once.  A timeout arms the timerfd (libevent's own timers run on a
 * coarse clock and wake up to a few ms late), so EVLOOP_ONCE returns by
 * then even if no socket becomes ready.  A timer left armed only makes a
 * later poll return early, which the loop takes in its stride. */
static int
real_poll(void *state, int64_t timeout)
{
    real *r = state;
    int flags = EVLOOP_ONCE;

    if (timeout == 0) {
        flags |= EVLOOP_NONBLOCK;
    } else if (timeout > 0) {
        struct itimerspec it = {.it_value = {
                                    .tv_sec = timeout / 1000000000,
                                    .tv_nsec = timeout % 1000000000}};
        if (timerfd_settime(r->tfd, 0, &it, NULL) != 0)
            return -errno;
    }
    return event_base_loop(r->base, flags) < 0 ? -EIO : 0;
}

static void
on_ready(evutil_socket_t fd, short what, void *arg)
{
    io *x = arg;
    int dir = (what & EV_WRITE) ? TL_IO_WRITE : TL_IO_READ;

    (void)fd;
    if (what & EV_CLOSED)
        x->rdhup = 1;
    x->ready[dir] = 1;
    x->real->woken++;
    tl__io_ready(x->sock, dir);         /* nobody may be waiting: fine */
}

/* The socket's state, made on first use: until an EAGAIN says otherwise,
 * both directions count as ready. */
static io *
io_of(real *r, void **slot, tl_socket *s)
{
    io *x = *slot;

    if (!x && (x = *slot = tl__calloc(sizeof *x)) != NULL) {
        x->real = r;
        x->sock = s;
        x->ready[0] = x->ready[1] = 1;
    } else if (x && x->real != r) {     /* kept by forget(): adopted */
        x->real = r;
        x->ready[0] = x->ready[1] = 1;
    }
    return x;
}

/* EV_CLOSED where the backend reports the peer's end of stream apart
 * (epoll: EPOLLRDHUP), else 0: then reads are not buffered ahead. */
static short
early_close(real *r)
{
    return event_base_get_features(r->base) & EV_FEATURE_EARLY_CLOSE
               ? EV_CLOSED : 0;
}

static int
real_watch(void *state, tl_socket *s, int fd, int dir, void **slot)
{
    real *r = state;
    io *x = io_of(r, slot, s);

    if (!x)
        return TL_ENOMEM;
    if (x->ev[dir])
        return 0;                       /* registered for good already */
    x->ev[dir] = event_new(r->base, fd,
                           (dir ? EV_WRITE : EV_READ | early_close(r)) |
                               EV_PERSIST | EV_ET,
                           on_ready, x);
    if (!x->ev[dir])
        return TL_ENOMEM;
    return event_add(x->ev[dir], NULL) == 0 ? 0 : TL_ENOMEM;
}

static void
real_unwatch(void *state, int dir, void **slot)
{
    (void)state, (void)dir, (void)slot; /* the event stays registered */
}

/* Drops the socket's events, and its state unless keep and bytes read
 * ahead wait in it: a socket whose loop is freed keeps them for the next
 * loop it is used in (io_of), or for tl_socket_close to free. */
static void
forget(void **slot, int keep)
{
    io *x = *slot;

    if (!x)
        return;
    for (int d = 0; d < 2; d++)
        if (x->ev[d])
            event_free(x->ev[d]);
    x->ev[0] = x->ev[1] = NULL;
    if (keep && x->left) {
        x->real = NULL;
        return;
    }
    tl__free(x->ahead);
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

/* A result as the loop wants it.  Only an EAGAIN clears the direction's
 * edge: a short read does not mean "drained" (an end of stream may still
 * be queued behind the data, and its edge has been seen already). */
static ssize_t
result(ssize_t n, io *x, int dir)
{
    if (n >= 0)
        return n;
    if (errno != EWOULDBLOCK)
        return -errno;
    if (x)
        x->ready[dir] = 0;
    return TL_EAGAIN;
}

/* A recv of up to len bytes.  Once the socket has its read event, small
 * reads fill the read-ahead buffer and are served from it; a read that
 * comes back short of what was asked (of the buffer, or of a big read)
 * clears the edge (the socket is drained), unless the end of stream was
 * seen. */
static ssize_t
recv_ahead(real *r, io *x, int fd, void *buf, size_t len)
{
    ssize_t n;

    if (x && x->left) {         /* readable: bytes wait here */
        if (!len)
            return 0;
        n = (ssize_t)(len < x->left ? len : x->left);
        memcpy(buf, x->ahead + x->at, (size_t)n);
        x->at += (size_t)n;
        x->left -= (size_t)n;
        return n;
    }
    if (x && x->ev[TL_IO_READ] && !x->ready[TL_IO_READ])
        return TL_EAGAIN;               /* no edge since it drained */
    if (!x || !x->ev[TL_IO_READ] || !early_close(r) || !len)
        return result(recv(fd, buf, len, 0), x, TL_IO_READ);
    if (len >= DIRECT || (!x->ahead && !(x->ahead = tl__alloc(AHEAD)))) {
        n = recv(fd, buf, len, 0);      /* big: no copy through the buffer */
        if (n > 0 && (size_t)n < len && !x->rdhup)
            x->ready[TL_IO_READ] = 0;
        return result(n, x, TL_IO_READ);
    }
    n = recv(fd, x->ahead, AHEAD, 0);
    if (n <= 0)
        return result(n, x, TL_IO_READ);
    if (n < AHEAD && !x->rdhup)
        x->ready[TL_IO_READ] = 0;       /* drained: wait for the next edge */
    x->at = 0;
    x->left = (size_t)n;
    return recv_ahead(r, x, fd, buf, len);
}

static ssize_t
real_sock(void *state, tl_sockreq *q, void **slot)
{
    int fd, err = 0, one = 1;
    socklen_t n = sizeof err;
    io *x = *slot;
    int dir = q->op == TL_SOCK_SEND ? TL_IO_WRITE : TL_IO_READ;

    if (q->op == TL_SOCK_RECV)
        return recv_ahead(state, x, q->fd, q->buf, q->len);
    if ((q->op == TL_SOCK_ACCEPT || q->op == TL_SOCK_SEND) && x &&
        x->ev[dir] && !x->ready[dir])
        return TL_EAGAIN;               /* no edge since the last EAGAIN */
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
            return result(-1, x, dir);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        q->fd = fd;
        q->port = port_of(fd, 1);
        return 0;
    case TL_SOCK_SEND:
        return result(send(q->fd, q->buf, q->len, MSG_NOSIGNAL), x, dir);
    case TL_SOCK_CLOSE:
        forget(slot, 0);
        if (q->fd >= 0)
            close(q->fd);
        return 0;
    case TL_SOCK_FORGET:
        forget(slot, 1);
        return 0;
    }
    return TL_EINVAL;
}

/* ---- the virtual clock: TAPELOOP_CLOCK=virtual ------------------------ */

/* Real sockets, but time that stands still while tasks run and, when all
 * of them wait and no socket is ready, jumps to the next deadline (as
 * Trio's autojump clock does): timeout-heavy code runs in no time. */
static int64_t
virt_now(void *state)
{
    return ((real *)state)->vnow;
}

static int
virt_poll(void *state, int64_t timeout)
{
    real *r = state;
    unsigned long before = r->woken;
    int rc = real_poll(state, timeout < 0 ? -1 : 0);

    if (rc == 0 && timeout > 0 && r->woken == before)
        r->vnow += timeout;
    return rc;
}

const tl_env tl__env_virtual = {
    .name = "virtual",
    .cheap_now = 1,
    .open = real_open,
    .close = real_close,
    .now = virt_now,
    .seed = real_seed,
    .poll = virt_poll,
    .watch = real_watch,
    .unwatch = real_unwatch,
    .sock = real_sock,
};

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
