/* SPDX-License-Identifier: MIT */
/* net.c -- TCP sockets as loop commands.  Every socket call goes through
 * the env (so replay can answer it from a trace): try the call, and on
 * TL_EAGAIN park the task until the env reports readiness, then try again.
 * One task at a time may wait in each direction of a socket.
 */
#include <string.h>
#include <unistd.h>

#include "loop_int.h"

struct tl_socket {
    tl__obj obj;                /* id, loop */
    int fd;                     /* -1 once closed */
    int port;                   /* bound port (listener) or peer port */
    tl_task *waiter[2];         /* parked in READ, WRITE */
    void *slot;                 /* the env's per-socket state */
};

static tl_loop *
ambient(void)
{
    return tl__running ? tl__running : tl__last;
}

static int
sock_new(tl_socket **out, tl_loop *loop)
{
    tl_socket *s = tl__calloc(sizeof *s);
    int rc;

    if (!s)
        return TL_ENOMEM;
    if ((rc = tl__obj_init(&s->obj, TL__SOCKET, NULL, 0)) != 0) {
        tl__free(s);
        return rc;
    }
    tl__obj_bind(&s->obj, loop);
    s->fd = -1;
    *out = s;
    return 0;
}

static void
sock_free(tl_socket *s)
{
    tl__obj_fini(&s->obj);
    tl__free(s);
}

static ssize_t
call(tl_loop *loop, tl_socket *s, tl_sockreq *req)
{
    req->sock = s;
    req->fd = s->fd;
    return loop->env->sock(loop->envs, req, &s->slot);
}

/* Parks t until s is ready in direction dir; clears TL_EVF_IMMEDIATE in
 * *flags once it has parked. */
static int
io_wait(tl_task *t, tl_socket *s, int dir, int wait, unsigned *flags)
{
    tl_loop *loop = t->loop;
    int rc;

    if (s->waiter[dir])
        return TL_EBUSY;
    rc = loop->env->watch(loop->envs, s, s->fd, dir, &s->slot);
    if (rc)
        return rc;
    if (loop->evmask)
        tl__block_event(t, wait, s);
    *flags = 0;
    s->waiter[dir] = t;
    loop->nio++;
    t->state = TL_TASK_BLOCKED;
    t->wait = (unsigned char)wait;
    t->wobj = s;
    return tl__suspend(t);
}

void
tl__io_ready(tl_socket *s, int dir)
{
    tl_task *t = s->waiter[dir];

    if (!t)
        return;
    s->waiter[dir] = NULL;
    t->loop->nio--;
    tl__wake(t, 0, NULL);
}

static int
dir_of(int wait)
{
    return wait == TL_WAIT_ACCEPT || wait == TL_WAIT_RECV ? TL_IO_READ
                                                          : TL_IO_WRITE;
}

void
tl__net_cancel(tl_task *t)
{
    tl_socket *s = t->wobj;
    int dir = dir_of(t->wait);

    t->loop->env->unwatch(t->loop->envs, dir, &s->slot);
    s->waiter[dir] = NULL;
    t->loop->nio--;
}

void
tl__net_detach(tl__obj *o)
{
    tl_socket *s = (tl_socket *)(void *)o;
    tl_sockreq req = {.op = TL_SOCK_FORGET};

    call(o->loop, s, &req);
    s->waiter[0] = s->waiter[1] = NULL;
}

/* The checks every task call starts with. */
static int
enter(tl_socket *s, tl_task **tp)
{
    tl_task *t;
    int rc;

    TL__TASK(t);
    if (!s || s->fd < 0)
        return TL_EINVAL;
    if ((rc = tl__obj_use(&s->obj, t)) != 0)
        return rc;
    *tp = t;
    return t->cancelled ? TL_ECANCELED : 0;
}

/* The start and ready events of each wait kind, and the data event. */
static const unsigned char ev_start[] = {
    [TL_WAIT_ACCEPT] = TL_EV_SOCKET_ACCEPT_START,
    [TL_WAIT_CONNECT] = TL_EV_SOCKET_CONNECT_START,
    [TL_WAIT_RECV] = TL_EV_SOCKET_RECV_START,
    [TL_WAIT_SEND] = TL_EV_SOCKET_SEND_START};

/* Repeats req until it does not say TL_EAGAIN, waiting in between; emits
 * <op>_start, <op>_ready (immediate if it never waited; b = the socket
 * accept made) and, for recv and send, the bytes. */
static ssize_t
retry(tl_task *t, tl_socket *s, tl_sockreq *req, int wait, unsigned made)
{
    tl_loop *loop = t->loop;
    unsigned flags = TL_EVF_IMMEDIATE;
    ssize_t n;

    TL__EV(loop, ev_start[wait], .task = t->id, .okind = TL_OBJ_SOCKET,
           .object = s->obj.id, .a = (int64_t)req->len);
    while ((n = call(loop, s, req)) == TL_EAGAIN) {
        int rc = io_wait(t, s, dir_of(wait), wait, &flags);
        if (rc) {
            n = rc;             /* cancelled, closed, busy: still a ready */
            break;
        }
    }
    TL__EV(loop, ev_start[wait] + 1, .task = t->id, .okind = TL_OBJ_SOCKET,
           .object = s->obj.id, .a = n, .b = made, .flags = (uint8_t)flags);
    if (wait == TL_WAIT_RECV || wait == TL_WAIT_SEND)
        TL__EV(loop, wait == TL_WAIT_RECV ? TL_EV_SOCKET_RECV
                                          : TL_EV_SOCKET_SEND,
               .task = t->id, .okind = TL_OBJ_SOCKET, .object = s->obj.id,
               .a = n, .payload = req->buf, .len = n > 0 ? (size_t)n : 0);
    return n;
}

int
tl_listen(tl_socket **out, const char *host, int port, int backlog)
{
    tl_loop *loop = ambient();
    tl_sockreq req = {.op = TL_SOCK_LISTEN, .host = host, .port = port,
                      .backlog = backlog > 0 ? backlog : 128};
    tl_socket *s;
    int rc;

    if (!out || !host || port < 0 || port > 65535)
        return TL_EINVAL;
    if (!loop)
        return TL_ENOLOOP;
    if ((rc = sock_new(&s, loop)) != 0)
        return rc;
    rc = (int)call(loop, s, &req);
    TL__EV(loop, TL_EV_SOCKET_LISTEN, .task = TL__ACTOR(loop),
           .okind = TL_OBJ_SOCKET, .object = s->obj.id,
           .a = rc < 0 ? rc : req.port, .b = port, .payload = host,
           .len = strlen(host));
    if (rc < 0) {
        sock_free(s);
        return rc;
    }
    s->fd = req.fd;
    s->port = req.port;
    *out = s;
    return 0;
}

TL__ENTRY(tl_connect)
int
TL__BODY(tl_connect)(tl_socket **out, const char *host, int port)
{
    tl_sockreq req = {.op = TL_SOCK_CONNECT, .host = host, .port = port};
    tl_socket *s;
    tl_task *t;
    int rc;

    unsigned flags = TL_EVF_IMMEDIATE;

    TL__TASK(t);
    if (!out || !host || port <= 0 || port > 65535)
        return TL_EINVAL;
    if (t->cancelled)
        return TL_ECANCELED;
    if ((rc = sock_new(&s, t->loop)) != 0)
        return rc;
    TL__EV(t->loop, TL_EV_SOCKET_CONNECT_START, .task = t->id,
           .okind = TL_OBJ_SOCKET, .object = s->obj.id, .a = port,
           .payload = host, .len = strlen(host));
    rc = (int)call(t->loop, s, &req);
    if (rc == TL_EAGAIN || rc == 0)
        s->fd = req.fd;
    if (rc == TL_EAGAIN && (rc = io_wait(t, s, TL_IO_WRITE, TL_WAIT_CONNECT,
                                         &flags)) == 0) {
        tl_sockreq done = {.op = TL_SOCK_CONNECTED};
        rc = (int)call(t->loop, s, &done);
    }
    TL__EV(t->loop, TL_EV_SOCKET_CONNECT_READY, .task = t->id,
           .okind = TL_OBJ_SOCKET, .object = s->obj.id, .a = rc,
           .flags = (uint8_t)flags);
    if (rc < 0) {
        tl_socket_close(s);
        return rc;
    }
    s->port = port;
    *out = s;
    return 0;
}

TL__ENTRY(tl_accept)
int
TL__BODY(tl_accept)(tl_socket *listener, tl_socket **out)
{
    tl_sockreq req = {.op = TL_SOCK_ACCEPT};
    tl_socket *s;
    tl_task *t;
    int rc;

    if ((rc = enter(listener, &t)) != 0)
        return rc;
    if (!out)
        return TL_EINVAL;
    if ((rc = sock_new(&s, t->loop)) != 0)
        return rc;
    if ((rc = (int)retry(t, listener, &req, TL_WAIT_ACCEPT, s->obj.id)) < 0) {
        sock_free(s);
        return rc;
    }
    s->fd = req.fd;
    s->port = req.port;
    *out = s;
    return 0;
}

TL__ENTRY(tl_recv)
ssize_t
TL__BODY(tl_recv)(tl_socket *s, void *buf, size_t len)
{
    tl_sockreq req = {.op = TL_SOCK_RECV, .buf = buf, .len = len};
    tl_task *t;
    int rc;

    if ((rc = enter(s, &t)) != 0)
        return rc;
    if (!buf && len)
        return TL_EINVAL;
    return retry(t, s, &req, TL_WAIT_RECV, 0);
}

TL__ENTRY(tl_send)
ssize_t
TL__BODY(tl_send)(tl_socket *s, const void *buf, size_t len)
{
    tl_sockreq req = {.op = TL_SOCK_SEND, .buf = (void *)buf, .len = len};
    tl_task *t;
    int rc;

    if ((rc = enter(s, &t)) != 0)
        return rc;
    if (!buf && len)
        return TL_EINVAL;
    return retry(t, s, &req, TL_WAIT_SEND, 0);
}

TL__ENTRY(tl_send_all)
int
TL__BODY(tl_send_all)(tl_socket *s, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = tl_send(s, p, len);
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void
tl_socket_close(tl_socket *s)
{
    tl_sockreq req = {.op = TL_SOCK_CLOSE};

    if (!s)
        return;
    if (s->obj.loop)
        TL__EV(s->obj.loop, TL_EV_SOCKET_CLOSE, .task = TL__ACTOR(s->obj.loop),
               .okind = TL_OBJ_SOCKET, .object = s->obj.id);
    for (int dir = 0; dir < 2; dir++) {
        tl_task *t = s->waiter[dir];
        if (!t)
            continue;
        tl__net_cancel(t);
        tl__wake(t, -EBADF, NULL);
    }
    if (s->obj.loop) {
        call(s->obj.loop, s, &req);
    } else if (s->slot) {       /* bytes read ahead under a freed loop */
        req.fd = s->fd;
        tl__env_real.sock(NULL, &req, &s->slot);
    } else if (s->fd >= 0) {
        close(s->fd);
    }
    sock_free(s);
}

int
tl_socket_port(const tl_socket *s)
{
    return s ? s->port : 0;
}

unsigned
tl_socket_id(const tl_socket *s)
{
    return s ? s->obj.id : 0;
}
