/* SPDX-License-Identifier: MIT */
/* check_net.c -- sockets on loopback (127.0.0.1 only): listen, connect,
 * accept, recv, send, send_all, end of stream, refused connections,
 * cancellation and close of a blocked socket call, misuse.
 */
#include <stdlib.h>
#include <string.h>

#include "tl_check.h"

static tl_socket *lsn;

static void *
echo_once(void *arg)
{
    tl_socket *c;
    char buf[256];
    ssize_t n;
    (void)arg;
    ck_assert_int_eq(tl_accept(lsn, &c), 0);
    ck_assert_int_gt(tl_socket_port(c), 0);
    while ((n = tl_recv(c, buf, sizeof buf)) > 0)
        ck_assert_int_eq(tl_send_all(c, buf, (size_t)n), 0);
    ck_assert_int_eq(n, 0);                     /* end of stream */
    tl_socket_close(c);
    return NULL;
}

static void *
echo_root(void *arg)
{
    tl_task *srv;
    tl_socket *c;
    char buf[64];
    (void)arg;
    ck_assert_int_eq(tl_listen(&lsn, "127.0.0.1", 0, 16), 0);
    ck_assert_int_gt(tl_socket_port(lsn), 0);
    tl_spawn(&srv, echo_once, NULL, "server");  /* blocks in accept */
    ck_assert_int_eq(tl_sleep(0.01), 0);        /* I/O wait is not deadlock */
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", tl_socket_port(lsn)), 0);
    ck_assert_uint_eq(tl_socket_id(lsn), 1);
    ck_assert_uint_gt(tl_socket_id(c), 1);
    for (int i = 0; i < 100; i++) {
        size_t got = 0;
        int len = snprintf(buf, sizeof buf, "ping %d", i);
        ck_assert_int_eq(tl_send_all(c, buf, (size_t)len), 0);
        while (got < (size_t)len) {
            ssize_t n = tl_recv(c, buf + got, sizeof buf - got);
            ck_assert_int_gt(n, 0);
            got += (size_t)n;
        }
        buf[got] = 0;
        ck_assert_int_eq(strncmp(buf, "ping ", 5), 0);
        ck_assert_int_eq(atoi(buf + 5), i);
    }
    tl_socket_close(c);                         /* server sees EOF */
    ck_assert_int_eq(tl_join(srv, NULL), 0);
    tl_socket_close(lsn);
    return NULL;
}

START_TEST(echo_round_trips)
{
    ck_assert_int_eq(tl_check_run(echo_root, NULL, NULL), 0);
}
END_TEST

#define BIG (4 * 1024 * 1024)

static void *
big_reader(void *arg)
{
    tl_socket *c;
    char *buf = malloc(65536);
    size_t total = 0, sum = 0;
    ssize_t n;
    (void)arg;
    tl_accept(lsn, &c);
    while ((n = tl_recv(c, buf, 65536)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            sum += (unsigned char)buf[i];
        total += (size_t)n;
    }
    free(buf);
    tl_socket_close(c);
    ck_assert_uint_eq(total, BIG);
    return (void *)sum;
}

static void *
send_all_root(void *arg)
{
    char *data = malloc(BIG);
    size_t sum = 0;
    tl_task *r;
    tl_socket *c;
    void *got;
    (void)arg;
    for (size_t i = 0; i < BIG; i++)
        sum += (unsigned char)(data[i] = (char)(i * 7));
    tl_listen(&lsn, "127.0.0.1", 0, 4);
    tl_spawn(&r, big_reader, NULL, "reader");
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", tl_socket_port(lsn)), 0);
    ck_assert_int_eq(tl_send_all(c, data, BIG), 0);     /* must block */
    tl_socket_close(c);
    ck_assert_int_eq(tl_join(r, &got), 0);
    ck_assert_uint_eq((size_t)got, sum);
    tl_socket_close(lsn);
    free(data);
    return NULL;
}

START_TEST(send_all_larger_than_buffers)
{
    ck_assert_int_eq(tl_check_run(send_all_root, NULL, NULL), 0);
}
END_TEST

static void *
refused_root(void *arg)
{
    tl_socket *s, *c;
    int port;
    (void)arg;
    tl_listen(&s, "127.0.0.1", 0, 1);
    port = tl_socket_port(s);
    tl_socket_close(s);                         /* nobody listens now */
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", port), -ECONNREFUSED);
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", 0), TL_EINVAL);
    ck_assert_int_eq(tl_connect(&c, "no.such.host.invalid", 80),
                     TL_EINVAL);                /* names: not resolved */
    ck_assert_int_eq(tl_connect(NULL, "127.0.0.1", 80), TL_EINVAL);
    return NULL;
}

START_TEST(connect_errors)
{
    ck_assert_int_eq(tl_check_run(refused_root, NULL, NULL), 0);
}
END_TEST

static tl_socket *peer;

static void *
blocked_reader(void *arg)
{
    char b;
    return (void *)(long)tl_recv(arg, &b, 1);
}

static void *
blocked_recv_root(void *arg)
{
    tl_task *r1, *r2;
    tl_socket *c;
    void *v;
    char b;
    (void)arg;
    tl_listen(&lsn, "127.0.0.1", 0, 4);
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", tl_socket_port(lsn)), 0);
    ck_assert_int_eq(tl_accept(lsn, &peer), 0);
    tl_spawn(&r1, blocked_reader, c, "r1");
    /* A second reader on the same socket is refused, not queued. */
    ck_assert_int_eq(tl_recv(c, &b, 1), TL_EBUSY);
    ck_assert_int_eq(tl_cancel(r1), 0);
    ck_assert_int_eq(tl_join(r1, &v), TL_ECANCELED);
    tl_spawn(&r2, blocked_reader, c, "r2");
    tl_socket_close(c);                         /* wakes r2 with EBADF */
    ck_assert_int_eq(tl_join(r2, &v), 0);
    ck_assert_int_eq((long)v, -EBADF);
    tl_socket_close(peer);
    tl_socket_close(lsn);
    return NULL;
}

START_TEST(blocked_recv_cancel_and_close)
{
    ck_assert_int_eq(tl_check_run(blocked_recv_root, NULL, NULL), 0);
}
END_TEST

static void *
listen_errors_root(void *arg)
{
    tl_socket *a, *b;
    (void)arg;
    ck_assert_int_eq(tl_listen(&a, "127.0.0.1", 0, 1), 0);
    ck_assert_int_eq(tl_listen(&b, "127.0.0.1", tl_socket_port(a), 1),
                     -EADDRINUSE);
    ck_assert_int_eq(tl_listen(&b, "127.0.0.1", 70000, 1), TL_EINVAL);
    ck_assert_int_eq(tl_listen(&b, NULL, 0, 1), TL_EINVAL);
    ck_assert_int_eq(tl_listen(&b, "not-an-address.invalid", 0, 1),
                     TL_EINVAL);
    ck_assert_int_eq(tl_listen(&b, "localhost", 0, 1), 0);
    tl_socket_close(b);
    tl_socket_close(a);
    return NULL;
}

/* The reader parks in recv before any byte comes, then takes them one at
 * a time: the data and the end of stream behind it both arrive (the
 * read-ahead must not take the short read for "drained" while the end
 * of stream waits, and must not lose bytes between reads). */
static void *
dribble_reader(void *arg)
{
    tl_socket *c;
    char b;
    ssize_t n;
    long got = 0;

    (void)arg;
    ck_assert_int_eq(tl_accept(lsn, &c), 0);
    for (int round = 0; round < 3; round++) {
        while ((n = tl_recv(c, &b, 1)) == 1) {
            ck_assert_int_eq(b, 'a' + (int)(got % 26));
            got++;
            if (got % 100 == 0)
                break;          /* a round of 100 bytes */
        }
        ck_assert_int_eq(n, 1);
    }
    ck_assert_int_eq(got, 300);
    {                           /* then big reads, which skip the buffer */
        static char big[8192];
        long more = 0;
        while ((n = tl_recv(c, big, sizeof big)) > 0)
            more += n;
        ck_assert_int_eq(more, 5000);
    }
    ck_assert_int_eq(n, 0);                     /* end of stream, no hang */
    tl_socket_close(c);
    return NULL;
}

static void *
dribble_root(void *arg)
{
    tl_task *r;
    tl_socket *c;
    char buf[100];

    (void)arg;
    ck_assert_int_eq(tl_listen(&lsn, "127.0.0.1", 0, 4), 0);
    tl_spawn(&r, dribble_reader, NULL, "reader");
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", tl_socket_port(lsn)), 0);
    ck_assert_int_eq(tl_sleep(0.01), 0);       /* the reader parks */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++)
            buf[i] = (char)('a' + (round * 100 + i) % 26);
        ck_assert_int_eq(tl_send_all(c, buf, sizeof buf), 0);
        if (round < 2)
            ck_assert_int_eq(tl_sleep(0.005), 0);
    }
    ck_assert_int_eq(tl_sleep(0.005), 0);
    {
        static char big[5000];
        memset(big, 'z', sizeof big);
        ck_assert_int_eq(tl_send_all(c, big, sizeof big), 0);
    }
    tl_socket_close(c);                         /* FIN right behind */
    ck_assert_int_eq(tl_join(r, NULL), 0);
    tl_socket_close(lsn);
    return NULL;
}

START_TEST(small_reads_see_every_byte_and_the_end)
{
    ck_assert_int_eq(tl_check_run(dribble_root, NULL, NULL), 0);
}
END_TEST

/* Bytes read ahead under one loop are the next loop's to read: the
 * reader takes one byte of ten, its loop is freed with the sockets open,
 * and a second loop reads the other nine, then the end of stream. */
static tl_socket *rd, *wr;

static void *
first_byte(void *arg)
{
    char b = 0;

    (void)arg;
    ck_assert_int_eq(tl_accept(lsn, &rd), 0);
    ck_assert_int_eq(tl_recv(rd, &b, 1), 1);    /* parks first: buffered */
    ck_assert_int_eq(b, '0');
    return NULL;
}

static void *
loop_one(void *arg)
{
    tl_task *r;

    (void)arg;
    ck_assert_int_eq(tl_listen(&lsn, "127.0.0.1", 0, 4), 0);
    tl_spawn(&r, first_byte, NULL, "reader");
    ck_assert_int_eq(tl_connect(&wr, "127.0.0.1", tl_socket_port(lsn)), 0);
    ck_assert_int_eq(tl_sleep(0.01), 0);       /* the reader parks */
    ck_assert_int_eq(tl_send_all(wr, "0123456789", 10), 0);
    ck_assert_int_eq(tl_join(r, NULL), 0);
    return NULL;                /* the sockets outlive this loop */
}

static void *
loop_two(void *arg)
{
    char buf[16];
    size_t got = 0;
    ssize_t n;

    (void)arg;
    ck_assert_int_eq(tl_recv(rd, NULL, 0), 0);  /* takes nothing */
    while (got < 9 && (n = tl_recv(rd, buf + got, sizeof buf - got)) > 0)
        got += (size_t)n;
    ck_assert_uint_eq(got, 9);
    ck_assert_int_eq(memcmp(buf, "123456789", 9), 0);
    tl_socket_close(wr);
    ck_assert_int_eq(tl_recv(rd, buf, sizeof buf), 0);
    tl_socket_close(rd);
    tl_socket_close(lsn);
    return NULL;
}

START_TEST(bytes_read_ahead_outlive_their_loop)
{
    ck_assert_int_eq(tl_check_run(loop_one, NULL, NULL), 0);
    ck_assert_int_eq(tl_check_run(loop_two, NULL, NULL), 0);
}
END_TEST

/* The same, but the sockets are closed with no loop at all: the bytes
 * read ahead are freed (a leak checker would say otherwise). */
START_TEST(bytes_read_ahead_freed_without_a_loop)
{
    ck_assert_int_eq(tl_check_run(loop_one, NULL, NULL), 0);
    tl_socket_close(rd);
    tl_socket_close(wr);
    tl_socket_close(lsn);
}
END_TEST

START_TEST(listen_errors)
{
    ck_assert_int_eq(tl_check_run(listen_errors_root, NULL, NULL), 0);
}
END_TEST

START_TEST(outside_a_task)
{
    tl_socket *s;
    char b;
    ck_assert_int_eq(tl_listen(&s, "127.0.0.1", 0, 1), TL_ENOLOOP);
    ck_assert_int_eq(tl_connect(&s, "127.0.0.1", 1), TL_ENOTASK);
    ck_assert_int_eq(tl_accept(NULL, &s), TL_ENOTASK);
    ck_assert_int_eq(tl_recv(NULL, &b, 1), TL_ENOTASK);
    ck_assert_int_eq(tl_send(NULL, &b, 1), TL_ENOTASK);
    ck_assert_int_eq(tl_send_all(NULL, &b, 1), TL_ENOTASK);
    ck_assert_int_eq(tl_socket_port(NULL), 0);
    tl_socket_close(NULL);
}
END_TEST

static void *
accept_listened(void *arg)
{
    tl_socket *c, *s = arg;
    ck_assert_int_eq(tl_accept(s, &c), 0);
    tl_socket_close(c);
    return NULL;
}

static void *
prelisten_root(void *arg)
{
    tl_task *t;
    tl_socket *c;
    tl_spawn(&t, accept_listened, arg, "acceptor");
    ck_assert_int_eq(tl_connect(&c, "127.0.0.1", tl_socket_port(arg)), 0);
    tl_join(t, NULL);
    tl_socket_close(c);
    return NULL;
}

START_TEST(listen_before_run)
{
    tl_loop *loop;
    tl_socket *s;

    ck_assert_int_eq(tl_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(tl_listen(&s, "127.0.0.1", 0, 4), 0);
    ck_assert_int_eq(tl_loop_run(loop, prelisten_root, s, NULL), 0);
    tl_socket_close(s);
    tl_loop_free(loop);
}
END_TEST

Suite *
tl_net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *core = tcase_create("core"), *errors = tcase_create("errors");

    tcase_add_test(core, echo_round_trips);
    tcase_add_test(core, send_all_larger_than_buffers);
    tcase_add_test(core, blocked_recv_cancel_and_close);
    tcase_add_test(core, listen_before_run);
    tcase_add_test(core, small_reads_see_every_byte_and_the_end);
    tcase_add_test(core, bytes_read_ahead_outlive_their_loop);
    tcase_add_test(core, bytes_read_ahead_freed_without_a_loop);
    tcase_set_timeout(core, 30);
    tcase_add_test(errors, connect_errors);
    tcase_add_test(errors, listen_errors);
    tcase_add_test(errors, outside_a_task);
    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    return s;
}

TL_CHECK_MAIN(tl_net_suite)
