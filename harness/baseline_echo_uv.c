/*
 * baseline_echo_uv.c — baseline_echo/libuv/<conns>: the echo workload (echo.h) as a
 * plain libuv program, callbacks only, no greenlets: the limit the hub can approach.
 * Writes use uv_try_write (a 64-byte write into an empty socket buffer completes at
 * once), as a tuned libuv server would, so no write request is allocated per message.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>
#include "cases.h"
#include "echo.h"

typedef struct uv_echo uv_echo;

typedef struct uv_conn {
    uv_tcp_t tcp; /* first: the handle pointer is the connection pointer */
    uv_echo *run;
    int is_client;
    int have;
    uint64_t sent_ns;
    char buf[ECHO_MSG];
} uv_conn;

struct uv_echo {
    uv_loop_t loop;
    echo_stats stats;
    const char *error;
};

static char message[ECHO_MSG] = "switchyard echo: 64 bytes of payload, one message in flight.";

static void fail(uv_echo *r, const char *what)
{
    if (!r->error)
        r->error = what;
    uv_stop(&r->loop);
}

static void send_message(uv_conn *c)
{
    uv_buf_t b = uv_buf_init(message, ECHO_MSG);
    c->sent_ns = echo_now_ns();
    if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != ECHO_MSG)
        fail(c->run, "client write fell short");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    uv_conn *c = (uv_conn *)h;
    *buf = uv_buf_init(c->buf + c->have, (unsigned)(ECHO_MSG - c->have));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    uv_conn *c = (uv_conn *)s;
    uv_echo *r = c->run;
    if (n <= 0) {
        if (n < 0)
            fail(r, n == UV_EOF ? "peer closed" : "read failed");
        return; /* 0: EAGAIN */
    }
    if (!c->is_client) {
        uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
        if (uv_try_write(s, &b, 1) != n)
            fail(r, "server write fell short");
        return;
    }
    c->have += (int)n;
    if (c->have < ECHO_MSG)
        return;
    c->have = 0;
    if (echo_stats_add(&r->stats, c->sent_ns))
        uv_stop(&r->loop);
    send_message(c);
}

static void on_watchdog(uv_timer_t *t)
{
    uv_echo *r = t->data;
    if (echo_stats_stalled(&r->stats))
        fail(r, "no round trip completed for 10 s");
}

static void set_linger_zero(uv_handle_t *h, void *arg)
{
    (void)arg;
    uv_os_fd_t fd;
    if (h->type == UV_TCP && uv_fileno(h, &fd) == 0) {
        struct linger lg = {1, 0}; /* abortive close: no TIME_WAIT left behind */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void baseline_echo_uv(bench_state *st, void *arg)
{
    int conns = ((const echo_case *)arg)->conns;
    int *fds = malloc(2 * (size_t)conns * sizeof *fds);
    uv_conn *cs = calloc(2 * (size_t)conns, sizeof *cs);
    uv_echo *r = calloc(1, sizeof *r);
    char err[256];
    int loop_ok = 0;
    for (int i = 0; fds && i < 2 * conns; i++)
        fds[i] = -1;
    if (!fds || !cs || !r || echo_stats_init(&r->stats, conns) != 0) {
        bench_fail(st, "out of memory");
        goto out;
    }
    if (uv_loop_init(&r->loop) != 0) {
        bench_fail(st, "uv_loop_init failed");
        goto out;
    }
    loop_ok = 1;
    if (echo_open(conns, fds, fds + conns, err, sizeof err) != 0) {
        bench_fail(st, "%s", err);
        goto out;
    }
    for (int i = 0; i < 2 * conns; i++) {
        cs[i].run = r;
        cs[i].is_client = i < conns;
        int rc = uv_tcp_init(&r->loop, &cs[i].tcp);
        if (rc == 0 && (rc = uv_tcp_open(&cs[i].tcp, fds[i])) == 0)
            fds[i] = -1; /* the handle owns it now */
        if (rc == 0)
            rc = uv_read_start((uv_stream_t *)&cs[i].tcp, on_alloc, on_read);
        if (rc != 0) {
            bench_fail(st, "libuv: %s", uv_strerror(rc));
            goto out;
        }
    }
    uv_timer_t watchdog;
    uv_timer_init(&r->loop, &watchdog);
    watchdog.data = r;
    uv_timer_start(&watchdog, on_watchdog, 1000, 1000);
    uv_unref((uv_handle_t *)&watchdog);

    for (int i = 0; i < conns && !r->error; i++)
        send_message(&cs[i]);
    while (bench_keep_running_batch(st, 1)) {
        echo_stats_start(&r->stats);
        while (!r->error && !r->stats.done)
            uv_run(&r->loop, UV_RUN_DEFAULT);
        if (r->error)
            bench_fail(st, "%s", r->error);
    }
    if (!r->error)
        echo_stats_report(&r->stats, st, conns);
out:
    if (loop_ok) {
        /* Every handle (the watchdog included) is closed; libuv owns the fds it opened. */
        uv_walk(&r->loop, set_linger_zero, NULL);
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_loop_close(&r->loop);
    }
    if (fds)
        echo_close(conns, fds, fds + conns); /* those not yet handed to libuv */
    if (r)
        echo_stats_free(&r->stats);
    free(r);
    free(cs);
    free(fds);
}

void bench_baselines_echo_uv(void)
{
    echo_register(baseline_echo_uv, "libuv", "baseline_echo");
}
