/* Faults on sockets, against the hub's stream server and socket calls: a peer that
 * resets mid-message, half-closes, sends one byte at a time, or idles; the descriptor
 * limit reached while accepting; greenlets killed in recv, send and accept. Nothing
 * crashes, a well-behaved peer loses and garbles no byte, no descriptor is left open.
 * Misbehaving peers are forked processes with plain blocking sockets (they stop by
 * themselves: an alarm, and timeouts on every call); loopback only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "greenlet.h"
#include "hub.h"
#include "hub_cases.h"
#include "suite.h"

/* ---- the peer side: a forked process with blocking sockets ---------------------------- */

static int server_port;

/* A blocking connection to the server, every call bounded by 10 s; -1 on failure. */
static int peer_connect(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {10, 0};
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int peer_send(int fd, const void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes and compares them with `expected`: 0 if equal. */
static int peer_expect(int fd, const void *expected, size_t len)
{
    char buf[4096];
    for (size_t got = 0; got < len;) {
        size_t want = len - got < sizeof buf ? len - got : sizeof buf;
        ssize_t n = recv(fd, buf, want, 0);
        if (n <= 0 || memcmp(buf, (const char *)expected + got, (size_t)n) != 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs peer() in a child process; its exit status is its verdict (0: all well). */
static pid_t fork_peer(int (*peer)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(30); /* stops by itself, whatever happens */
        _exit(peer(arg));
    }
    return pid;
}

/* Waits (in the hub: the server keeps running) for the peer to exit; its status. */
static int peer_status(pid_t pid)
{
    int status = 0;
    for (int i = 0; i < 60000; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        CHECK_OK(hub_sleep(0.001));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* ---- the server side -------------------------------------------------------------------- */

static hub_server *start_server(hub_handler_fn handle)
{
    int lfd;
    hub_server *s;
    CHECK_OK(hub_tcp_listen(NULL, 0, 128, &lfd));
    server_port = hub_socket_port(lfd);
    CHECK_OK(hub_server_new(&s, lfd, handle, NULL));
    CHECK_OK(hub_server_start(s));
    return s;
}

static void stop_server(hub_server *s, double timeout)
{
    CHECK_OK(hub_server_stop(s, timeout));
    CHECK_OK(hub_server_free(s));
}

/* A well-behaved client greenlet of the case's own process: `arg` round trips of
 * messages whose length and content depend on the round, all checked. */
static void *good_client(void *arg)
{
    long rounds = (long)(intptr_t)arg;
    int fd;
    int rc = hub_tcp_connect(NULL, (uint16_t)server_port, 10.0, &fd);
    for (long r = 0; rc == HUB_OK && r < rounds; r++) {
        char out[512], in[512];
        size_t len = 1 + (size_t)(r * 37 % 500), got = 0, n;
        for (size_t i = 0; i < len; i++)
            out[i] = (char)('a' + (r + i) % 26);
        rc = hub_send_all(fd, out, len, 10.0, NULL);
        while (rc == HUB_OK && got < len) {
            rc = hub_recv(fd, in + got, len - got, 10.0, &n);
            if (rc == HUB_OK && n == 0)
                rc = gl_throw(gl_current(), GL_EUSER, NULL, "round %ld: closed early", r);
            got += n;
        }
        if (rc == HUB_OK && memcmp(in, out, len) != 0)
            rc = gl_throw(gl_current(), GL_EUSER, NULL, "round %ld: echo garbled", r);
    }
    if (fd >= 0)
        hub_close(fd);
    return rc == HUB_OK ? NULL : gl_reraise();
}

static void run_good_clients(int n, long rounds)
{
    hub_greenlet *g[16];
    CHECK(n <= 16);
    for (int i = 0; i < n; i++)
        CHECK_OK(hub_spawn(&g[i], good_client, (void *)(intptr_t)rounds));
    for (int i = 0; i < n; i++) {
        CHECK_OK(hub_get(g[i], HUB_FOREVER, NULL));
        CHECK_OK(hub_greenlet_release(g[i]));
    }
}

/* ---- a peer that resets mid-message ------------------------------------------------------ */

static int resets_mid_message(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        int fd = peer_connect();
        if (fd < 0 || peer_send(fd, "half a mess", 11) != 0)
            return 1;
        pause_ms(2);
        struct linger lg = {1, 0}; /* close with RST */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    return 0;
}

CASE(hub, peer_reset_mid_message_ends_only_its_own_connection)
{
    hub_server_stats st;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    hub_server *s = start_server(hub_cases_echo_handler);
    pid_t peer = fork_peer(resets_mid_message, NULL);
    run_good_clients(8, 50);
    CHECK_INT(peer_status(peer), 0);
    run_good_clients(2, 5); /* and it still serves */
    CHECK_OK(hub_server_get_stats(s, &st));
    CHECK_INT(st.accepted, 15);
    stop_server(s, 5.0);
    CHECK_INT(hub_cases_open_fds(), before);
}

/* ---- half-close ---------------------------------------------------------------------------- */

#define HALF_CLOSE_BYTES (256 * 1024)

/* Sends HALF_CLOSE_BYTES then shuts its side down, reading the echo all along (poll):
 * every byte must come back, then the end of the stream. */
static int sends_then_half_closes(void *arg)
{
    (void)arg;
    static char out[HALF_CLOSE_BYTES], in[HALF_CLOSE_BYTES];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + i / 251);
    int fd = peer_connect();
    if (fd < 0)
        return 1;
    size_t sent = 0, got = 0;
    while (got < sizeof in) {
        struct pollfd p = {fd, POLLIN | (sent < sizeof out ? POLLOUT : 0), 0};
        if (poll(&p, 1, 10000) <= 0)
            return 2;
        if ((p.revents & POLLOUT) && sent < sizeof out) {
            ssize_t n = send(fd, out + sent, sizeof out - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN)
                return 3;
            if (n > 0 && (sent += (size_t)n) == sizeof out && shutdown(fd, SHUT_WR) != 0)
                return 4;
        }
        if (p.revents & (POLLIN | POLLHUP)) {
            ssize_t n = recv(fd, in + got, sizeof in - got, MSG_DONTWAIT);
            if (n == 0)
                return 5; /* the end came before every byte */
            if (n < 0 && errno != EAGAIN)
                return 6;
            if (n > 0)
                got += (size_t)n;
        }
    }
    char extra;
    if (memcmp(in, out, sizeof in) != 0)
        return 7;
    return recv(fd, &extra, 1, 0) == 0 ? 0 : 8; /* then the server closes */
}

CASE(hub, half_closed_peer_gets_every_byte_back_then_the_end_of_the_stream)
{
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    hub_server *s = start_server(hub_cases_echo_handler);
    pid_t peer = fork_peer(sends_then_half_closes, NULL);
    CHECK_INT(peer_status(peer), 0);
    stop_server(s, 5.0);
    CHECK_INT(hub_cases_open_fds(), before);
}

/* ---- a peer that sends one byte at a time ---------------------------------------------- */

#define MESSAGE_BYTES 200

/* Reads whole messages of MESSAGE_BYTES, however they arrive, and returns each whole. */
static void *message_handler(int fd, void *arg)
{
    (void)arg;
    char msg[MESSAGE_BYTES];
    for (;;) {
        size_t got = 0, n;
        int rc = HUB_OK;
        while (rc == HUB_OK && got < sizeof msg) {
            rc = hub_recv(fd, msg + got, sizeof msg - got, HUB_FOREVER, &n);
            if (rc == HUB_OK && n == 0)
                return NULL;
            got += n;
        }
        if (rc == HUB_OK)
            rc = hub_send_all(fd, msg, sizeof msg, HUB_FOREVER, NULL);
        if (rc != HUB_OK)
            return gl_reraise();
    }
}

static int trickles(void *arg)
{
    (void)arg;
    char msg[MESSAGE_BYTES];
    int fd = peer_connect();
    if (fd < 0)
        return 1;
    for (int m = 0; m < 2; m++) {
        for (int i = 0; i < MESSAGE_BYTES; i++)
            msg[i] = (char)('A' + (i + m) % 26);
        for (int i = 0; i < MESSAGE_BYTES; i++) {
            if (peer_send(fd, msg + i, 1) != 0)
                return 2;
            if (i % 10 == 0)
                pause_ms(1);
        }
        if (peer_expect(fd, msg, MESSAGE_BYTES) != 0)
            return 3;
    }
    close(fd);
    return 0;
}

static void *message_client(void *arg)
{
    (void)arg;
    int fd;
    char out[MESSAGE_BYTES], in[MESSAGE_BYTES];
    memset(out, 'z', sizeof out);
    int rc = hub_tcp_connect(NULL, (uint16_t)server_port, 10.0, &fd);
    for (int m = 0; rc == HUB_OK && m < 20; m++) {
        size_t got = 0, n;
        rc = hub_send_all(fd, out, sizeof out, 10.0, NULL);
        while (rc == HUB_OK && got < sizeof in) {
            rc = hub_recv(fd, in + got, sizeof in - got, 10.0, &n);
            if (rc == HUB_OK && n == 0)
                rc = gl_throw(gl_current(), GL_EUSER, NULL, "closed early");
            got += n;
        }
        if (rc == HUB_OK && memcmp(in, out, sizeof in) != 0)
            rc = gl_throw(gl_current(), GL_EUSER, NULL, "garbled");
    }
    if (fd >= 0)
        hub_close(fd);
    return rc == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, peer_sending_one_byte_at_a_time_gets_whole_messages_back)
{
    hub_greenlet *g[4];
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    hub_server *s = start_server(message_handler);
    pid_t peer = fork_peer(trickles, NULL);
    for (int i = 0; i < 4; i++) /* the others meanwhile */
        CHECK_OK(hub_spawn(&g[i], message_client, NULL));
    for (int i = 0; i < 4; i++)
        CHECK_OK(hub_get(g[i], HUB_FOREVER, NULL));
    CHECK_INT(peer_status(peer), 0);
    stop_server(s, 5.0);
    CHECK_INT(hub_cases_open_fds(), before);
}

/* ---- idle peers ---------------------------------------------------------------------------- */

static int ctl[2]; /* the case tells a peer to finish by writing a byte */

static int waits_for_ctl(void)
{
    char c;
    struct pollfd p = {ctl[0], POLLIN, 0};
    return poll(&p, 1, 20000) == 1 && read(ctl[0], &c, 1) == 1 ? 0 : -1;
}

/* Opens 40 connections that never send, and keeps them until told. */
static int idles(void *arg)
{
    (void)arg;
    int fds[40];
    for (int i = 0; i < 40; i++)
        if ((fds[i] = peer_connect()) < 0)
            return 1;
    if (waits_for_ctl() != 0)
        return 2;
    for (int i = 0; i < 40; i++) {
        char c;
        if (recv(fds[i], &c, 1, 0) != 0) /* the server ended them: end of stream */
            return 3;
        close(fds[i]);
    }
    return 0;
}

CASE(hub, idle_peers_hold_up_no_one_and_a_stop_ends_them)
{
    hub_server_stats st;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    CHECK_INT(pipe(ctl), 0);
    hub_server *s = start_server(hub_cases_echo_handler);
    pid_t peer = fork_peer(idles, NULL);
    close(ctl[0]);
    do
        CHECK_OK(hub_sleep(0.002));
    while (hub_server_get_stats(s, &st) == HUB_OK && st.accepted < 40);
    run_good_clients(8, 50); /* 40 idle handlers wait meanwhile */
    for (int i = 0; i < 5000 && hub_server_get_stats(s, &st) == HUB_OK && st.active > 40; i++)
        CHECK_OK(hub_sleep(0.001)); /* the good clients' handlers see them leave */
    CHECK_INT(st.active, 40);
    stop_server(s, 0.05); /* they are killed */
    CHECK_INT(write(ctl[1], "x", 1), 1);
    CHECK_INT(peer_status(peer), 0);
    close(ctl[1]);
    CHECK_INT(hub_cases_open_fds(), before);
}

/* ---- the descriptor limit reached while accepting ------------------------------------- */

#define HOLDERS 4 /* connections the server has descriptors for */
#define WAITERS 8 /* connections left in the backlog until some of those close */

static int fills_the_descriptor_table(void *arg)
{
    (void)arg;
    int holders[HOLDERS], waiters[WAITERS];
    char text[32];
    for (int i = 0; i < HOLDERS; i++) {
        int n = snprintf(text, sizeof text, "hold %d", i);
        if ((holders[i] = peer_connect()) < 0 || peer_send(holders[i], text, (size_t)n) != 0 ||
            peer_expect(holders[i], text, (size_t)n) != 0)
            return 1;
    }
    for (int i = 0; i < WAITERS; i++) { /* connected (backlog), not accepted: no descriptor */
        int n = snprintf(text, sizeof text, "wait %d", i);
        if ((waiters[i] = peer_connect()) < 0 || peer_send(waiters[i], text, (size_t)n) != 0)
            return 2;
    }
    /* While the server is out of descriptors, the connections it has go on working. */
    for (int tick = 0;; tick++) {
        struct pollfd p = {ctl[0], POLLIN, 0};
        if (poll(&p, 1, 20) == 1)
            break;
        if (tick > 1000)
            return 3;
        for (int i = 0; i < HOLDERS; i++) {
            int n = snprintf(text, sizeof text, "tick %d %d", tick, i);
            if (peer_send(holders[i], text, (size_t)n) != 0 ||
                peer_expect(holders[i], text, (size_t)n) != 0)
                return 4;
        }
    }
    for (int i = 0; i < HOLDERS; i++)
        close(holders[i]); /* the server's descriptors free up */
    for (int i = 0; i < WAITERS; i++) {
        int n = snprintf(text, sizeof text, "wait %d", i);
        if (peer_expect(waiters[i], text, (size_t)n) != 0) /* accepted and served at last */
            return 5;
        close(waiters[i]);
    }
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru); /* every thread of the process */
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The server runs out of descriptors with connections waiting: it keeps serving those
 * it has, does not spin (a handful of accept attempts and little CPU over a second,
 * where retrying at once makes millions and burns the whole second), and accepts the
 * others once descriptors free up. The limit is lowered in this case's process only. */
CASE(hub, descriptor_limit_while_accepting_backs_off_serves_the_others_and_recovers)
{
    hub_server_stats st;
    if (HUB_CASES_VALGRIND())
        SKIP("valgrind emulates the descriptor limit and keeps descriptors of its own");
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    CHECK_INT(pipe(ctl), 0);
    hub_server *s = start_server(hub_cases_echo_handler);
    pid_t peer = fork_peer(fills_the_descriptor_table, NULL);
    close(ctl[0]);
    long limit = hub_cases_nofile_for(HOLDERS);
    CHECK(limit > 0);
    struct rlimit rl;
    CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
    CHECK((rlim_t)limit <= rl.rlim_cur); /* lowered, never raised */
    rl.rlim_cur = (rlim_t)limit;
    CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
    for (int i = 0; i < 10000 && hub_server_get_stats(s, &st) == HUB_OK && !st.accept_errors; i++)
        CHECK_OK(hub_sleep(0.001));
    CHECK_INT(st.accepted, HOLDERS);
    CHECK(st.accept_errors > 0); /* EMFILE */
    uint64_t errors = st.accept_errors;
    double cpu = cpu_seconds(), wall = hub_now();
    CHECK_OK(hub_sleep(1.0)); /* out of descriptors, for a second */
    double cpu_used = cpu_seconds() - cpu, wall_used = hub_now() - wall;
    CHECK_OK(hub_server_get_stats(s, &st));
    fprintf(stderr, "out of descriptors for %.2f s: %llu accept attempts, %.3f s of CPU\n",
            wall_used, (unsigned long long)(st.accept_errors - errors), cpu_used);
    CHECK(st.accept_errors - errors <= 20); /* back-off: ~7 in a second */
    CHECK(cpu_used < 0.5 * wall_used);      /* a spin burns all of it */
    CHECK_INT(st.accepted, HOLDERS);
    CHECK_INT(write(ctl[1], "r", 1), 1); /* the peer closes its holders */
    CHECK_INT(peer_status(peer), 0);     /* every waiter was served, every byte right */
    CHECK_OK(hub_server_get_stats(s, &st));
    CHECK_INT(st.accepted, HOLDERS + WAITERS);
    stop_server(s, 5.0);
    close(ctl[1]);
    CHECK_INT(hub_cases_open_fds(), before);
}

/* ---- greenlets killed in recv, send and accept ------------------------------------------ */

static int pair[2];

static void *recv_one(void *arg)
{
    (void)arg;
    char buf[8];
    size_t n;
    int rc = hub_recv(pair[0], buf, sizeof buf, HUB_FOREVER, &n);
    LOG("recv:%s", hub_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, greenlet_killed_in_recv_leaves_the_descriptor_usable)
{
    hub_greenlet *g;
    char buf[8];
    size_t n;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    CHECK_OK(hub_spawn(&g, recv_one, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_kill(g, HUB_FOREVER));
    CHECK(hub_greenlet_successful(g));
    CHECK_OK(hub_send_all(pair[1], "data", 4, HUB_FOREVER, NULL));
    CHECK_OK(hub_recv(pair[0], buf, sizeof buf, 5.0, &n)); /* no stale waiter: not EBUSY */
    CHECK_INT(n, 4);
    CHECK(memcmp(buf, "data", 4) == 0);
    CHECK_LOG("recv:GreenletExit");
    CHECK_OK(hub_close(pair[0]));
    CHECK_OK(hub_close(pair[1]));
    CHECK_INT(hub_cases_open_fds(), before);
}

#define BIG (4 << 20)
static char big[BIG];
static size_t big_sent;

static void *send_big(void *arg)
{
    (void)arg;
    int rc = hub_send_all(pair[0], big, BIG, HUB_FOREVER, &big_sent);
    LOG("send:%s", hub_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, greenlet_killed_in_send_all_tells_what_went_out_and_leaves_the_descriptor_usable)
{
    static char got[BIG];
    hub_greenlet *g;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)(i % 251);
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    CHECK_OK(hub_spawn(&g, send_big, NULL));
    CHECK_OK(hub_sleep(0)); /* it fills the socket's buffers and waits */
    CHECK_OK(hub_kill(g, HUB_FOREVER));
    CHECK_LOG("send:GreenletExit");
    CHECK(big_sent > 0 && big_sent < BIG);
    size_t have = 0, n;
    while (have < big_sent) { /* exactly what it says went out, unchanged */
        CHECK_OK(hub_recv(pair[1], got + have, big_sent - have, 5.0, &n));
        CHECK(n > 0);
        have += n;
    }
    CHECK(memcmp(got, big, big_sent) == 0);
    CHECK_INT(hub_recv(pair[1], got, 1, 0, &n), HUB_ETIMEOUT); /* and nothing more */
    CHECK_OK(hub_send_all(pair[0], "after", 5, 5.0, NULL)); /* no stale waiter */
    CHECK_OK(hub_recv(pair[1], got, sizeof got, 5.0, &n));
    CHECK_INT(n, 5);
    CHECK_OK(hub_close(pair[0]));
    CHECK_OK(hub_close(pair[1]));
    CHECK_INT(hub_cases_open_fds(), before);
}

static int listener;

static void *accept_one(void *arg)
{
    (void)arg;
    int fd;
    int rc = hub_accept(listener, HUB_FOREVER, &fd);
    LOG("accept:%s", hub_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, greenlet_killed_in_accept_leaves_the_listener_usable)
{
    hub_greenlet *g;
    int client, accepted;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    CHECK_OK(hub_tcp_listen(NULL, 0, 8, &listener));
    CHECK_OK(hub_spawn(&g, accept_one, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_kill(g, HUB_FOREVER));
    CHECK_LOG("accept:GreenletExit");
    CHECK_OK(hub_tcp_connect(NULL, (uint16_t)hub_socket_port(listener), 5.0, &client));
    CHECK_OK(hub_accept(listener, 5.0, &accepted));
    CHECK_OK(hub_send_all(client, "hi", 2, 5.0, NULL));
    char buf[2];
    size_t n;
    CHECK_OK(hub_recv(accepted, buf, 2, 5.0, &n));
    CHECK_INT(n, 2);
    CHECK_OK(hub_close(client));
    CHECK_OK(hub_close(accepted));
    CHECK_OK(hub_close(listener));
    CHECK_INT(hub_cases_open_fds(), before);
}
