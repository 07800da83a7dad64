/* Hub I/O: waiting on descriptors, closing under a waiter, the socket helpers (an echo
 * server on 127.0.0.1 with concurrent clients), descriptor errors, loop selection. */
#define _GNU_SOURCE /* sched_setaffinity */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "greenlet.h"
#include "hub.h"
#include "hub_cases.h"
#include "suite.h"

static int sv[2]; /* a socketpair: sv[0] is waited on, sv[1] is the peer */

static void make_pair(void)
{
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static void *reader(void *arg)
{
    (void)arg;
    char buf[16];
    size_t n = 0;
    int rc = hub_recv(sv[0], buf, sizeof buf - 1, HUB_FOREVER, &n);
    if (rc != HUB_OK) {
        LOG("recv:%s", hub_strerror(rc));
        return gl_reraise();
    }
    buf[n] = 0;
    LOG("recv:%s", buf);
    return NULL;
}

static void *ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        LOG("tick%d", i);
        if (hub_sleep(0) != HUB_OK)
            return gl_reraise();
    }
    return NULL;
}

CASE(hub, wait_read_wakes_when_data_arrives)
{
    hub_greenlet *g;
    make_pair();
    CHECK_OK(hub_spawn(&g, reader, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK(!hub_greenlet_dead(g));
    LOG("send");
    CHECK_OK(hub_send_all(sv[1], "hi", 2, HUB_FOREVER, NULL));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("send recv:hi");
}

CASE(hub, greenlet_blocked_in_recv_does_not_block_the_others)
{
    hub_greenlet *g[2];
    make_pair();
    CHECK_OK(hub_spawn(&g[0], reader, NULL));
    CHECK_OK(hub_spawn(&g[1], ticker, NULL));
    CHECK_OK(hub_join(g[1], HUB_FOREVER));
    CHECK(!hub_greenlet_dead(g[0]));
    CHECK_OK(hub_send_all(sv[1], "late", 4, HUB_FOREVER, NULL));
    CHECK_OK(hub_join(g[0], HUB_FOREVER));
    CHECK_LOG("tick0 tick1 tick2 recv:late");
}

CASE(hub, wait_read_times_out_without_data)
{
    make_pair();
    CHECK_INT(hub_wait_read(sv[0], 0.002), HUB_ETIMEOUT);
    CHECK_INT(hub_wait_read(sv[0], 0), HUB_ETIMEOUT);
    size_t n;
    char c;
    CHECK_INT(hub_recv(sv[0], &c, 1, 0.002, &n), HUB_ETIMEOUT);
    CHECK_OK(hub_send_all(sv[1], "x", 1, 0, NULL));
    CHECK_OK(hub_wait_read(sv[0], 0));
    CHECK_OK(hub_wait_read(sv[0], HUB_FOREVER));
}

CASE(hub, wait_write_on_a_writable_socket_returns)
{
    make_pair();
    CHECK_OK(hub_wait_write(sv[0], HUB_FOREVER));
    CHECK_OK(hub_wait_write(sv[0], 0));
}

CASE(hub, closing_a_descriptor_wakes_its_waiter_with_eclosed)
{
    hub_greenlet *g;
    make_pair();
    CHECK_OK(hub_spawn(&g, reader, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_close(sv[0]));
    CHECK(!hub_greenlet_dead(g)); /* woken later, by the hub */
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("recv:descriptor closed while waiting");
    CHECK_INT(hub_greenlet_error(g)->code, HUB_ECLOSED);
}

CASE(hub, invalid_or_closed_descriptors_are_errors)
{
    char c;
    size_t n;
    CHECK_INT(hub_wait_read(-1, HUB_FOREVER), GL_EINVAL);
    CHECK_INT(hub_close(-1), GL_EINVAL);
    CHECK_OK(hub_sleep(0)); /* the loop's own descriptors are open before ours close */
    make_pair();
    CHECK_OK(hub_close(sv[0]));
    CHECK_INT(hub_wait_read(sv[0], HUB_FOREVER), HUB_ESYS);
    CHECK_INT(hub_errno(), EBADF);
    CHECK_INT(hub_wait_write(sv[0], HUB_FOREVER), HUB_ESYS);
    CHECK_INT(hub_recv(sv[0], &c, 1, HUB_FOREVER, &n), HUB_ESYS);
    CHECK_INT(hub_errno(), EBADF);
    CHECK_INT(hub_send_all(sv[0], "x", 1, HUB_FOREVER, NULL), HUB_ESYS);
    CHECK_INT(hub_close(sv[0]), HUB_ESYS);
    CHECK_INT(hub_errno(), EBADF);
}

CASE(hub, second_reader_on_a_descriptor_is_busy)
{
    hub_greenlet *g;
    make_pair();
    CHECK_OK(hub_spawn(&g, reader, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_INT(hub_wait_read(sv[0], HUB_FOREVER), HUB_EBUSY);
    CHECK_OK(hub_wait_write(sv[0], HUB_FOREVER)); /* the other direction is free */
    CHECK_OK(hub_send_all(sv[1], "ok", 2, HUB_FOREVER, NULL));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("recv:ok");
}

CASE(hub, regular_file_is_always_ready)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK_OK(hub_wait_read(fileno(f), HUB_FOREVER));
    CHECK_OK(hub_wait_write(fileno(f), HUB_FOREVER));
    fclose(f);
}

CASE(hub, recv_returns_zero_at_end_of_stream)
{
    char buf[4];
    size_t n = 99;
    make_pair();
    CHECK_OK(hub_close(sv[1]));
    CHECK_OK(hub_recv(sv[0], buf, sizeof buf, HUB_FOREVER, &n));
    CHECK_INT(n, 0);
}

/* ---- TCP echo --------------------------------------------------------------------- */

#define CLIENTS 10
#define MESSAGES 3

static int echo_port;
static int echo_listener;

static void *echo_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[256];
    for (;;) {
        size_t n;
        int rc = hub_recv(fd, buf, sizeof buf, HUB_FOREVER, &n);
        if (rc == HUB_OK && n == 0)
            break;
        if (rc == HUB_OK)
            rc = hub_send_all(fd, buf, n, HUB_FOREVER, NULL);
        if (rc != HUB_OK) {
            hub_close(fd);
            return gl_reraise();
        }
    }
    hub_close(fd);
    return NULL;
}

static void *echo_server(void *arg)
{
    (void)arg;
    for (;;) {
        int fd;
        int rc = hub_accept(echo_listener, HUB_FOREVER, &fd);
        if (rc != HUB_OK)
            return gl_reraise();
        rc = hub_spawn(NULL, echo_connection, (void *)(intptr_t)fd);
        if (rc != HUB_OK)
            return gl_reraise();
    }
}

static long clients_done;

static void *echo_client(void *arg)
{
    long id = (long)(intptr_t)arg;
    int fd;
    int rc = hub_tcp_connect("127.0.0.1", (uint16_t)echo_port, 10.0, &fd);
    if (rc != HUB_OK)
        return gl_reraise();
    for (int m = 0; m < MESSAGES; m++) {
        /* Lengths differ per message, so a mixed-up echo cannot match by chance. */
        char out[128], in[128];
        int len = snprintf(out, sizeof out, "client %ld message %d %.*s", id, m, (int)(id * 3 + m),
                           "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        rc = hub_send_all(fd, out, (size_t)len, 10.0, NULL);
        size_t got = 0;
        while (rc == HUB_OK && got < (size_t)len) {
            size_t n;
            rc = hub_recv(fd, in + got, sizeof in - got, 10.0, &n);
            if (rc == HUB_OK && n == 0)
                rc = gl_throw(gl_current(), GL_EUSER, NULL, "client %ld: server closed", id);
            got += n;
        }
        if (rc == HUB_OK && (got != (size_t)len || memcmp(in, out, (size_t)len) != 0))
            rc = gl_throw(gl_current(), GL_EUSER, NULL, "client %ld: echo differs", id);
        if (rc != HUB_OK) {
            hub_close(fd);
            return gl_reraise();
        }
    }
    hub_close(fd);
    clients_done++;
    return NULL;
}

CASE(hub, tcp_echo_server_echoes_10_concurrent_clients_in_order)
{
    hub_greenlet *server, *clients[CLIENTS];
    CHECK_OK(hub_tcp_listen("127.0.0.1", 0, 64, &echo_listener));
    echo_port = hub_socket_port(echo_listener);
    CHECK(echo_port > 0);
    CHECK_OK(hub_spawn(&server, echo_server, NULL));
    for (long i = 0; i < CLIENTS; i++)
        CHECK_OK(hub_spawn(&clients[i], echo_client, (void *)(intptr_t)i));
    for (int i = 0; i < CLIENTS; i++)
        CHECK_OK(hub_get(clients[i], HUB_FOREVER, NULL));
    CHECK_INT(clients_done, CLIENTS);
    CHECK_OK(hub_kill(server, HUB_FOREVER));
    CHECK(hub_greenlet_successful(server));
    CHECK_OK(hub_close(echo_listener));
}

CASE(hub, connecting_to_a_closed_port_is_refused_with_errno)
{
    int lfd, fd;
    CHECK_OK(hub_tcp_listen(NULL, 0, 1, &lfd));
    int port = hub_socket_port(lfd);
    CHECK_OK(hub_close(lfd));
    CHECK_INT(hub_tcp_connect(NULL, (uint16_t)port, 10.0, &fd), HUB_ESYS);
    CHECK_INT(hub_errno(), ECONNREFUSED);
    CHECK_INT(fd, -1);
    CHECK_INT(hub_tcp_connect("not-an-address", 1, 1.0, &fd), GL_EINVAL);
}

CASE(hub, accept_times_out_without_a_client)
{
    int lfd, fd;
    CHECK_OK(hub_tcp_listen(NULL, 0, 1, &lfd));
    CHECK_INT(hub_accept(lfd, 0.002, &fd), HUB_ETIMEOUT);
    CHECK_INT(fd, -1);
    CHECK_OK(hub_close(lfd));
}

/* ---- loop backends ------------------------------------------------------------------- */

CASE(hub, loop_backend_follows_switchyard_loop_libev_by_default)
{
    const char *env = getenv("SWITCHYARD_LOOP");
    const char *name = hub_loop_name();
    CHECK(name != NULL);
    CHECK_STR(name, env && *env ? env : "libev");
}

CASE(hub, hub_set_loop_chooses_the_backend_of_new_hubs)
{
    CHECK_INT(hub_set_loop("no-such-loop"), GL_EINVAL);
    CHECK_OK(hub_set_loop("libuv"));
    CHECK_STR(hub_loop_name(), "libuv");
    CHECK_OK(hub_sleep(0.001));
    CHECK_OK(hub_destroy());
    CHECK_OK(hub_set_loop("libev"));
    CHECK_STR(hub_loop_name(), "libev");
    CHECK_OK(hub_sleep(0.001));
}

CASE(hub, unknown_backend_in_the_environment_is_a_clear_error)
{
    setenv("SWITCHYARD_LOOP", "no-such-loop", 1);
    CHECK_INT(hub_sleep(0), HUB_ELOOP);
    CHECK(strstr(gl_last_error()->message, "no-such-loop") != NULL);
    CHECK_PTR(hub_loop_name(), NULL);
}

CASE(hub, data_arriving_while_nobody_waits_is_there_for_the_next_wait)
{
    char buf[8];
    size_t n;
    make_pair();
    CHECK_OK(hub_send_all(sv[1], "a", 1, HUB_FOREVER, NULL));
    CHECK_OK(hub_recv(sv[0], buf, sizeof buf, HUB_FOREVER, &n)); /* ready: no wait */
    CHECK_INT(hub_wait_read(sv[0], 0.002), HUB_ETIMEOUT);          /* watched, then not */
    CHECK_OK(hub_send_all(sv[1], "b", 1, HUB_FOREVER, NULL));
    CHECK_OK(hub_sleep(0.005)); /* the loop polls while nobody waits on sv[0] */
    CHECK_OK(hub_wait_read(sv[0], HUB_FOREVER));
    CHECK_OK(hub_recv(sv[0], buf, sizeof buf, HUB_FOREVER, &n));
    CHECK_INT(n, 1);
    CHECK_INT(buf[0], 'b');
}

CASE(hub, descriptor_number_reused_after_hub_close_can_be_waited_on)
{
    int first;
    hub_greenlet *g;
    make_pair();
    first = sv[0];
    CHECK_INT(hub_wait_read(sv[0], 0.002), HUB_ETIMEOUT); /* the hub now knows this fd */
    CHECK_OK(hub_close(sv[0]));
    CHECK_OK(hub_close(sv[1]));
    make_pair();
    CHECK_INT(sv[0], first); /* the lowest free number comes back */
    CHECK_OK(hub_spawn(&g, reader, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_send_all(sv[1], "new", 3, HUB_FOREVER, NULL));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("recv:new");
}

/* A plain close(2) instead of hub_close(): the hub still has a record of the number,
 * and the loop's registration went with the file. A wait on the next file to get that
 * number must see it. */
static void close_plainly_and_reuse_the_number(void)
{
    int first = sv[0];
    CHECK_OK(hub_send_all(sv[1], "a", 1, HUB_FOREVER, NULL));
    CHECK_OK(hub_wait_read(sv[0], HUB_FOREVER)); /* a completed wait: the loop watched it */
    CHECK_INT(close(sv[0]), 0);
    CHECK_INT(close(sv[1]), 0);
    make_pair();
    CHECK_INT(sv[0], first); /* the lowest free number comes back */
}

CASE(hub, wait_on_a_number_reused_after_a_plain_close_sees_the_new_descriptor)
{
    hub_greenlet *g;
    make_pair();
    close_plainly_and_reuse_the_number();
    CHECK_OK(hub_spawn(&g, reader, NULL));
    CHECK_OK(hub_sleep(0)); /* it waits on the new descriptor... */
    CHECK_OK(hub_send_all(sv[1], "new", 3, HUB_FOREVER, NULL)); /* ...which gets data */
    CHECK_OK(hub_join(g, 5.0)); /* it timed out before */
    CHECK_LOG("recv:new");
    close_plainly_and_reuse_the_number();
    CHECK_OK(hub_send_all(sv[1], "b", 1, HUB_FOREVER, NULL)); /* data before the wait */
    CHECK_OK(hub_wait_read(sv[0], 5.0));
    /* A regular file is always ready; a socket that gets its number is not. */
    CHECK_INT(close(sv[0]), 0);
    CHECK_INT(close(sv[1]), 0);
    FILE *f = tmpfile();
    CHECK(f != NULL);
    int file_fd = fileno(f);
    CHECK_OK(hub_wait_read(file_fd, HUB_FOREVER));
    fclose(f);
    make_pair();
    CHECK(sv[0] == file_fd || sv[1] == file_fd);
    CHECK_INT(hub_wait_read(file_fd, 0.002), HUB_ETIMEOUT); /* nothing to read yet */
}

/* Reads twice; after the first read it sets the event (arg) and sleeps, so that the
 * peer acts while it does not wait: its second hub_recv finds what came meanwhile. */
static void *recv_twice(void *arg)
{
    hub_event *first_read = arg;
    for (int i = 0; i < 2; i++) {
        char buf[8];
        size_t n = 0;
        int rc = hub_recv(sv[0], buf, sizeof buf - 1, HUB_FOREVER, &n);
        if (rc != HUB_OK)
            return gl_reraise();
        buf[n] = 0;
        LOG("got:%s", n ? buf : "eof");
        if (i == 0 && (hub_event_set(first_read) != HUB_OK || hub_sleep(0.002) != HUB_OK))
            return gl_reraise();
    }
    return NULL;
}

/* The reader has waited in hub_recv once, read "a" and now sleeps; then `then` runs. */
static void recv_twice_with(int (*then)(void))
{
    hub_greenlet *g;
    hub_event *first_read;
    make_pair();
    CHECK_OK(hub_event_new(&first_read));
    CHECK_OK(hub_spawn(&g, recv_twice, first_read));
    CHECK_OK(hub_sleep(0)); /* its first recv waits */
    CHECK_OK(hub_send_all(sv[1], "a", 1, HUB_FOREVER, NULL));
    CHECK_OK(hub_event_wait(first_read, HUB_FOREVER));
    CHECK_OK(then()); /* before its next recv */
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_event_free(first_read));
}

static int send_b(void) { return hub_send_all(sv[1], "b", 1, HUB_FOREVER, NULL); }
static int close_peer(void) { return hub_close(sv[1]); }

CASE(hub, recv_after_a_wait_still_gets_data_that_came_before_the_call)
{
    recv_twice_with(send_b);
    CHECK_LOG("got:a got:b");
}

CASE(hub, recv_after_a_wait_still_sees_an_end_of_stream_that_came_before_the_call)
{
    recv_twice_with(close_peer);
    CHECK_LOG("got:a got:eof");
}

/* ---- a timer while another greenlet waits on an idle descriptor ---------------------- */

/* Each of SLEEPER_THREADS OS threads runs a hub in which one greenlet waits on a
 * descriptor nothing is ever written to, while the thread's main greenlet sleeps 1 ms
 * SLEEPS times. Its sleep must end although the poll has a descriptor to wait for and
 * no I/O will come. The threads share one CPU, so one is often preempted between
 * arming the wake-up and polling: a backend that arms its wake-up on a clock the loop
 * moves again before polling lets it fire too early, and the poll then waits forever
 * (it did on libuv). */
#define SLEEPER_THREADS 32
#define SLEEPS 1000

static int idle_pair[SLEEPER_THREADS][2];
static atomic_long sleeps_done[SLEEPER_THREADS];

static void *wait_on_idle(void *arg)
{
    int fd = *(int *)arg;
    return hub_wait_read(fd, HUB_FOREVER) == HUB_OK ? NULL : gl_reraise();
}

static void *sleeper_thread(void *arg)
{
    long i = (long)(intptr_t)arg;
    hub_greenlet *g;
    intptr_t rc = hub_spawn(&g, wait_on_idle, &idle_pair[i][0]);
    for (int k = 0; rc == HUB_OK && k < SLEEPS; k++)
        if ((rc = hub_sleep(0.001)) == HUB_OK)
            atomic_fetch_add(&sleeps_done[i], 1);
    /* Done (or rescued by the case): wake the waiter, which then ends. */
    if (rc == HUB_OK && write(idle_pair[i][1], "x", 1) != 1)
        rc = -1;
    if (rc == HUB_OK)
        rc = hub_join(g, HUB_FOREVER);
    hub_greenlet_release(g);
    hub_close(idle_pair[i][0]);
    close(idle_pair[i][1]);
    return (void *)rc;
}

CASE(hub, sleep_ends_while_another_greenlet_waits_on_an_idle_descriptor)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    CHECK_INT(sched_setaffinity(0, sizeof one, &one), 0); /* this case's process only */
    pthread_t t[SLEEPER_THREADS];
    for (long i = 0; i < SLEEPER_THREADS; i++) {
        CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, idle_pair[i]), 0);
        CHECK_INT(hub_cases_thread(&t[i], sleeper_thread, (void *)(intptr_t)i), 0);
    }
    /* A thread whose sleeps stop advancing for 5 s (each takes ~1 ms) is stuck in its
     * poll: note it, and write to its descriptor so that the case still ends. */
    long seen[SLEEPER_THREADS] = {0};
    int still[SLEEPER_THREADS] = {0}, stuck = -1;
    long stuck_at = 0;
    for (int running = SLEEPER_THREADS; running;) {
        usleep(100 * 1000);
        running = 0;
        for (int i = 0; i < SLEEPER_THREADS; i++) {
            long n = atomic_load(&sleeps_done[i]);
            if (n == SLEEPS)
                continue;
            running++;
            still[i] = n == seen[i] ? still[i] + 1 : 0;
            seen[i] = n;
            if (still[i] == 50) {
                if (stuck < 0)
                    stuck = i, stuck_at = n;
                CHECK_INT(write(idle_pair[i][1], "r", 1), 1);
            }
        }
    }
    for (int i = 0; i < SLEEPER_THREADS; i++) {
        void *rc;
        CHECK_INT(pthread_join(t[i], &rc), 0);
        if (stuck < 0)
            CHECK_INT((intptr_t)rc, HUB_OK);
    }
    if (stuck >= 0)
        suite_fail(__FILE__, __LINE__,
                   "thread %d: hub_sleep(0.001) number %ld did not end in 5 s (loop %s)", stuck,
                   stuck_at + 1, hub_loop_name());
}
