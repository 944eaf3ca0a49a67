/* SPDX-License-Identifier: MIT */
/* echo.c -- a TCP echo server and its clients in one loop.  Task "server"
 * accepts and spawns a detached "handler-K" per connection; tasks
 * "client-1".."client-N" each send M messages of varying sizes and check
 * every echo byte for byte.  --serve runs only the server, for ever.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapeloop.h"

#define HOST "127.0.0.1"        /* the server listens here only */
#define MSG_MAX 16384           /* largest message, in bytes */
#define CLIENTS_MAX 10000       /* --clients upper bound */
#define MESSAGES_MAX 1000000    /* --messages upper bound */

typedef struct client client;

/* The whole run's settings and tallies. */
typedef struct echo {
    client *cl;                 /* the clients' arguments, [clients] */
    tl_socket *listener;        /* the server's socket; closed by "server" */
    int port;                   /* its port once bound */
    long clients;               /* client tasks to run */
    long messages;              /* messages per client */
    bool serve;                 /* run only the server */
    unsigned connections;       /* accepted so far */
    long echoed;                /* bytes the handlers sent back */
    long done;                  /* messages whose echo was checked */
    long bytes;                 /* their bytes */
    long bad;                   /* mismatched echoes and client errors */
} echo;

/* One client task's argument. */
struct client {
    echo *e;                    /* the run */
    long index;                 /* 1..clients */
};

/* One handler task's argument; the handler frees it. */
typedef struct conn {
    echo *e;                    /* the run */
    tl_socket *sock;            /* the accepted connection; handler closes */
} conn;

/* Message m of client c: its length (1..MSG_MAX) and contents.  Both are
 * a fixed function of (c, m), so every run sends the same bytes. */
static size_t
msg_size(long c, long m)
{
    unsigned long h = (unsigned long)(c * 7919 + m * 104729) * 2654435761ul;

    return 1 + (size_t)((h >> 11) % MSG_MAX);
}

static void
msg_fill(unsigned char *buf, size_t len, long c, long m)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = (unsigned char)(c * 31 + m * 7 + (long)k);
}

/* Echoes everything it receives until the client closes its end. */
static void *
handler(void *arg)
{
    conn *c = arg;
    unsigned char buf[4096];
    ssize_t n;

    while ((n = tl_recv(c->sock, buf, sizeof buf)) > 0) {
        if (tl_send_all(c->sock, buf, (size_t)n) != 0)
            break;
        c->e->echoed += n;
    }
    tl_socket_close(c->sock);
    free(c);
    return NULL;
}

/* Accepts connections until cancelled, one detached handler each. */
static void *
server(void *arg)
{
    echo *e = arg;

    for (;;) {
        char name[32];
        conn *c;
        tl_socket *s;
        int rc = tl_accept(e->listener, &s);

        if (rc == TL_ECANCELED)
            break;
        if (rc == -ECONNABORTED || rc == -EINTR)
            continue;
        if (rc < 0) {
            fprintf(stderr, "server: accept: %s\n", tl_strerror(rc));
            break;
        }
        if (!(c = malloc(sizeof *c))) {
            tl_socket_close(s);
            continue;
        }
        c->e = e;
        c->sock = s;
        snprintf(name, sizeof name, "handler-%u", ++e->connections);
        if ((rc = tl_spawn(NULL, handler, c, name)) != 0) {
            fprintf(stderr, "server: spawn: %s\n", tl_strerror(rc));
            tl_socket_close(s);
            free(c);
        }
    }
    tl_socket_close(e->listener);
    e->listener = NULL;
    return NULL;
}

/* Reads exactly len bytes; 0, or < 0 as tl_recv (-ECONNRESET when the
 * peer closes early). */
static int
recv_all(tl_socket *s, unsigned char *buf, size_t len)
{
    while (len) {
        ssize_t n = tl_recv(s, buf, len);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return (int)n;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends each message in turn and checks that it comes back unchanged. */
static int
talk(client *c, tl_socket *s, unsigned char *out, unsigned char *in)
{
    echo *e = c->e;
    int rc;

    for (long m = 1; m <= e->messages; m++) {
        size_t len = msg_size(c->index, m);
        msg_fill(out, len, c->index, m);
        if ((rc = tl_send_all(s, out, len)) != 0 ||
            (rc = recv_all(s, in, len)) != 0)
            return rc;
        if (memcmp(out, in, len) != 0) {
            fprintf(stderr, "client-%ld: message %ld: echo differs\n",
                    c->index, m);
            e->bad++;
        }
        e->done++;
        e->bytes += (long)len;
    }
    return 0;
}

/* Connects, talks, hangs up; any error counts as a failure. */
static void *
client_task(void *arg)
{
    client *c = arg;
    unsigned char *out = malloc(MSG_MAX), *in = malloc(MSG_MAX);
    tl_socket *s = NULL;
    int rc = TL_ENOMEM;

    if (out && in && (rc = tl_connect(&s, HOST, c->e->port)) == 0)
        rc = talk(c, s, out, in);
    if (rc != 0) {
        fprintf(stderr, "client-%ld: %s\n", c->index, tl_strerror(rc));
        c->e->bad++;
    }
    tl_socket_close(s);
    free(out);
    free(in);
    return NULL;
}

/* The root task: the server, then the clients; when every client is done,
 * cancels the server.  Handlers end when their client hangs up. */
static void *
run_echo(void *arg)
{
    echo *e = arg;
    tl_task *srv, **tasks = NULL;
    long started = 0;
    int rc;

    if ((rc = tl_spawn(&srv, server, e, "server")) != 0)
        tl_fail("spawn server: %s", tl_strerror(rc));
    if (!e->serve && !(tasks = calloc((size_t)e->clients, sizeof *tasks)))
        e->bad++;
    for (long i = 0; tasks && i < e->clients; i++, started++) {
        char name[32];
        snprintf(name, sizeof name, "client-%ld", e->cl[i].index);
        if ((rc = tl_spawn(&tasks[i], client_task, &e->cl[i], name)) != 0) {
            fprintf(stderr, "spawn %s: %s\n", name, tl_strerror(rc));
            e->bad++;
            break;
        }
    }
    for (long i = 0; i < started; i++)
        tl_join(tasks[i], NULL);
    free(tasks);
    if (!e->serve)
        tl_cancel(srv);
    tl_join(srv, NULL);
    return NULL;
}

/* Prints the usage to f and returns status, the exit status. */
static int
usage(const char *prog, FILE *f, int status)
{
    fprintf(f,
            "usage: %s [--port P] [--clients N] [--messages M] [--serve]\n"
            "  An echo server on " HOST " and N clients that each send M\n"
            "  messages (1..%d bytes) and check every echo.  Exit 0 when\n"
            "  all matched, 1 otherwise.\n"
            "  --port P      listen on P (default 0: any free port)\n"
            "  --clients N   client tasks (default 8)\n"
            "  --messages M  messages per client (default 100)\n"
            "  --serve       run only the server, for ever; prints its port\n",
            prog, MSG_MAX);
    return status;
}

/* Parses a whole decimal number in [min, max]; false if s is not one. */
static bool
parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (!s || !*s)
        return false;
    v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Reads argv into e; returns -1 to go on, else the exit status. */
static int
parse_args(int argc, char **argv, echo *e)
{
    long port = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return usage(argv[0], stdout, 0);
        if (strcmp(a, "--serve") == 0)
            e->serve = true;
        else if (strcmp(a, "--port") == 0 && parse_long(v, 0, 65535, &port))
            i++;
        else if (strcmp(a, "--clients") == 0 &&
                 parse_long(v, 1, CLIENTS_MAX, &e->clients))
            i++;
        else if (strcmp(a, "--messages") == 0 &&
                 parse_long(v, 1, MESSAGES_MAX, &e->messages))
            i++;
        else
            return usage(argv[0], stderr, 2);
    }
    e->port = (int)port;
    return -1;
}

/* Prints the tallies; 0 when every message came back intact, else 1. */
static int
summary(const echo *e, int rc)
{
    long want = e->clients * e->messages;
    bool ok = rc == 0 && e->bad == 0 && e->done == want &&
              e->echoed == e->bytes;

    if (rc != 0)
        printf("echo: loop: %s\n", tl_strerror(rc));
    printf("echo: clients %ld, messages %ld/%ld, bytes %ld, "
           "connections %u, mismatches %ld: %s\n",
           e->clients, e->done, want, e->bytes, e->connections, e->bad,
           ok ? "every echo matched" : "FAILED");
    return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
    echo e = {.clients = 8, .messages = 100};
    tl_loop *loop = NULL;
    int rc, status;

    if ((status = parse_args(argc, argv, &e)) >= 0)
        return status;
    if (e.serve)
        e.clients = 0;
    if (e.clients && !(e.cl = calloc((size_t)e.clients, sizeof *e.cl)))
        return 1;
    for (long i = 0; i < e.clients; i++)
        e.cl[i] = (client){.e = &e, .index = i + 1};
    if ((rc = tl_loop_new(&loop, NULL)) != 0 ||
        (rc = tl_listen(&e.listener, HOST, e.port, 128)) != 0) {
        fprintf(stderr, "echo: %s\n", tl_strerror(rc));
        tl_loop_free(loop);
        free(e.cl);
        return 1;
    }
    e.port = tl_socket_port(e.listener);
    if (e.serve)
        printf("echo: serving on %s port %d\n", HOST, e.port);
    else
        printf("echo: server on %s port %d, %ld clients x %ld messages\n",
               HOST, e.port, e.clients, e.messages);
    fflush(stdout);
    rc = tl_loop_run(loop, run_echo, &e, NULL);
    status = summary(&e, rc);
    tl_socket_close(e.listener);        /* only if the server never ran */
    tl_loop_free(loop);
    free(e.cl);
    return status;
}
